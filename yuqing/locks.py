"""A Redis lock kept alive while its holder works (续期锁): the one scheduler (yuqing/tasks/scheduler.py)
and analysis's grouping step (analysis/decision.py) both hold one.

The lock has a short timeout so a holder killed with SIGKILL frees it within that time; a thread
renews it every third of the timeout for as long as the holder runs, however long the work
takes. Renewal is compare-and-set (the lock's token), so a holder never extends a lock another
process took; if Redis lost the key (a restart), the holder takes it back when it is still free.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

log = logging.getLogger(__name__)


@contextmanager
def kept_alive(lock: Lock, what: str) -> Iterator[None]:
    """Renew the held ``lock`` until the block ends, then release it. ``what`` names the lock
    in log lines and in the renewing thread's name."""
    assert lock.timeout is not None, "a lock kept alive needs a timeout to renew"
    every = lock.timeout / 3
    done = threading.Event()

    def renew() -> None:
        while not done.wait(every):
            try:
                lock.reacquire()
            except LockNotOwnedError:  # the key is gone (Redis restarted) or another holds it
                token = lock.local.token
                if token is None or not lock.do_acquire(token):
                    log.warning("%s lock lost to another holder", what)
            except Exception:  # noqa: BLE001 - Redis away for a moment: try again next tick
                log.warning("could not renew the %s lock", what, exc_info=True)

    keeper = threading.Thread(target=renew, daemon=True, name=f"{what}-lock")
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - it lapsed or was taken over: nothing left to release
            log.warning("%s lock had lapsed before release", what)
