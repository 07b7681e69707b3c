"""The `yuqing` command run in this process: ``yuqing.cli.main`` with its own argv, environment,
working folder and streams, as `python -m yuqing` would run it, without paying a child process
(about 3 s of imports each on the 2-core machine) for tests that are about what the command
says, not about the process. Tests about processes (signals, embedded Redis, workers) keep
starting real ones."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from yuqing import runtime as runtime_module
from yuqing.cli import main
from yuqing.runtime import set_runtime

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Ran:
    """What a run of the command left: like subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


def run_yuqing(monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str] | None = None) -> Ran:
    """``yuqing ARGS`` with only ``env``'s YUQING_ variables, from the repository root."""
    out, err = io.StringIO(), io.StringIO()
    before = runtime_module._runtime  # the command installs its own runtime; the test's comes back
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    umask = os.umask(0o022)
    os.umask(umask)
    with monkeypatch.context() as m:
        for key in [k for k in os.environ if k.startswith("YUQING_")]:
            m.delenv(key)
        for key, value in (env or {}).items():
            m.setenv(key, value)
        m.setattr(sys, "argv", ["yuqing", *args])
        m.chdir(REPO)
        code: int = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.umask(umask)
            set_runtime(before)
            root.setLevel(level)
            root.handlers[:] = handlers
    return Ran(code, out.getvalue(), err.getvalue())
