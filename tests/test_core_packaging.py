"""The layout guard: queue/ never shadows the standard library, and every folder ships."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_stdlib_queue_is_not_shadowed_from_repo_root() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import queue, sys; q = queue.Queue(); print(queue.__file__)"],
        cwd=REPO, capture_output=True, text=True, check=True)
    assert "site-packages" not in out.stdout and not out.stdout.startswith(str(REPO)), out.stdout
    assert not (REPO / "queue" / "__init__.py").exists()


@pytest.mark.slow
def test_yuqing_queue_imports_from_repo_root() -> None:
    out = subprocess.run([sys.executable, "-c", "import yuqing.queue.jobs, yuqing.tasks.dispatch as d; print(d.QUEUE_NAMES)"],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "crawl" in out.stdout


def _python_folders() -> set[str]:
    skip = {"tests", "bench", ".git", ".ci"}
    folders = set()
    for path in REPO.rglob("*.py"):
        rel = path.relative_to(REPO)
        if rel.parts[0] in skip or any(p.startswith(".") or p == "__pycache__" or p.endswith(".egg-info")
                                       or p == "build" for p in rel.parts):
            continue
        if len(rel.parts) > 1:
            folders.add(str(rel.parent))
    return folders


def _package_of(folder: str, package_dir: dict[str, str]) -> str | None:
    """The import name setuptools gives ``folder``, from the longest mapped parent folder."""
    best = None
    for pkg, root in package_dir.items():
        root = root.rstrip("/")
        if folder == root or folder.startswith(root + "/"):
            if best is None or len(root) > len(best[1]):
                best = (pkg, root)
    if best is None:
        return None
    rest = folder[len(best[1]):].strip("/")
    return best[0] + ("." + rest.replace("/", ".") if rest else "")


def test_every_python_folder_is_a_listed_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    unlisted = sorted(f for f in _python_folders()
                      if _package_of(f, config["package-dir"]) not in config["packages"])
    assert not unlisted, f"folders with .py files missing from [tool.setuptools] packages: {unlisted}"


@pytest.mark.slow
def test_wheel_ships_every_subsystem(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("yuqing-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("yuqing/queue/jobs.py", "yuqing/tasks/dispatch.py", "yuqing/crawlers/__init__.py", "yuqing/analysis/__init__.py",
                     "yuqing/alerts/__init__.py", "yuqing/dashboards/__init__.py",
                     "yuqing/profiles/zezhou-emergency.yaml", "yuqing/data/divisions.csv.gz",
                     "yuqing/migrations/versions/0001_initial_schema.py"):
        assert expected in names, expected
    assert not any(n.startswith("yuqing/queue/__init__") for n in names)
