"""mypy on the product code, laid out as it installs.

pyproject.toml maps ``yuqing.<subsystem>`` to folders at the repository root (package-dir), and
the editable install resolves them through an import hook that mypy cannot follow: checked where
they lie, the folders are top-level packages (``analysis``, and ``queue``, which shadows the
standard library), so every ``from yuqing.analysis ...`` is missing and every relative import in
them fails ("No parent module -- cannot perform relative import"). ``mypy_path`` and
``explicit_package_bases`` only name bases a module's path is read from; they cannot rename a
folder. So this script builds the installed layout as symbolic links under build/typecheck/ (from
the same package-dir table, so a new subsystem needs no change here), runs ``mypy -p yuqing``
there with the settings in [tool.mypy], and prints the findings under the files' real paths.

    python .ci/typecheck.py            # what .ci/test runs; extra arguments go to mypy
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"  # build/ is ignored by git; kept so mypy's cache stays valid


def lay_out() -> dict[str, str]:
    """Link each mapped package into TREE; returns {path in TREE: real path} for the report."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    if TREE.exists():
        shutil.rmtree(TREE)
    shown: dict[str, str] = {}
    # Parents first, so "yuqing" is a real folder before "yuqing.analysis" is linked inside it.
    for package, folder in sorted(mapping.items(), key=lambda kv: kv[0].count(".")):
        target = TREE.joinpath(*package.split("."))
        source = ROOT / folder
        if package.count("."):
            target.symlink_to(source, target_is_directory=True)
        else:  # the root package: a real folder holding links to its entries
            target.mkdir(parents=True)
            for entry in source.iterdir():
                if entry.name != "__pycache__":
                    (target / entry.name).symlink_to(entry)
        shown[os.path.relpath(target, ROOT) + os.sep] = folder + os.sep
    return shown


def main(argv: list[str]) -> int:
    shown = lay_out()
    env = {**os.environ, "MYPYPATH": str(TREE)}
    proc = subprocess.run([sys.executable, "-m", "mypy", "-p", "yuqing", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    # Longest prefix first: build/typecheck/yuqing/analysis/ before build/typecheck/yuqing/.
    prefixes = sorted(shown.items(), key=lambda kv: -len(kv[0]))
    for line in (proc.stdout + proc.stderr).splitlines():
        for linked, real in prefixes:
            if line.startswith(linked):
                line = real + line[len(linked):]
                break
        print(line)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
