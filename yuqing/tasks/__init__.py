"""The plumbing (任务管道): Redis and RQ, which every subsystem uses and none owns.

* :mod:`.connection` — the Redis connection, and the embedded ``redis-server`` of ``yuqing run``.
* :mod:`.dispatch` — the four queues and the one way work is enqueued (``enqueue``, ``enqueue_many``).
* :mod:`.worker` — the RQ worker, and recovery of jobs abandoned by dead workers.
* :mod:`.scheduler` — the periodic jobs and the one scheduler that runs them.

Import from the modules (``from yuqing.tasks.dispatch import enqueue``): this package imports
none of them itself, because :mod:`yuqing.runtime` needs the connection while dispatch, the
worker and the scheduler need the runtime.
"""
