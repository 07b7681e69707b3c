"""The job registry (yuqing/tasks/registry.py) is the one place jobs are named."""

from __future__ import annotations

import ast
from pathlib import Path

from rq.utils import import_attribute

from yuqing.tasks import registry
from yuqing.tasks.scheduler import periodic_jobs

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("yuqing", "crawlers", "analysis", "alerts", "queue", "dashboards")
ENQUEUERS = {"enqueue", "enqueue_many"}


def _product_files() -> list[Path]:
    return [p for folder in PRODUCT for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts]


def test_every_registered_job_is_a_function() -> None:
    jobs = registry.all_jobs()
    assert len(jobs) >= 20
    for name, path in [*jobs.items(), *(("PRELOAD", p) for p in registry.PRELOAD)]:
        assert callable(import_attribute(path)), f"{name} = {path!r} names no function"


def test_the_periodic_table_names_registered_jobs() -> None:
    known = set(registry.all_jobs().values())
    table = periodic_jobs(15, 60)
    assert {path for _, path, _ in table} <= known
    assert len({path for _, path, _ in table}) == len(table), "a periodic job registered twice"


def test_no_module_names_a_job_by_its_own_string() -> None:
    """A job path typed anywhere but the registry is a second home that can drift from it."""
    paths = set(registry.all_jobs().values()) | set(registry.PRELOAD)
    found = []
    for file in _product_files():
        if file == REPO / "yuqing" / "tasks" / "registry.py":
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in paths:
                found.append(f"{file.relative_to(REPO)}:{node.lineno} {node.value}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in ENQUEUERS:
                job = node.args[1] if len(node.args) > 1 else None
                if isinstance(job, ast.Constant):
                    found.append(f"{file.relative_to(REPO)}:{node.lineno} enqueues {job.value!r}")
    assert not found, "job paths outside yuqing/tasks/registry.py:\n" + "\n".join(found)
