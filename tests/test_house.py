"""The drawing of the house: imports between the subsystems run one way, and no file imports in a circle.

    core ← crawlers, analysis, alerts ← foresight, queue ← dashboards ← app

``core`` is the package ``yuqing`` itself (settings, profile, store, models, documents, the
plumbing in yuqing/tasks/ ...); ``app`` is the composition root that starts everything
(yuqing/cli.py, yuqing/runner.py, yuqing/__main__.py). For the order every import counts, at
the top of a module, inside a function or under TYPE_CHECKING; for circles between files only
those that run (an import under TYPE_CHECKING never executes, so it cannot close a circle).
``python tests/test_house.py`` prints the drawing: each subsystem with what it imports.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FOLDERS = {"crawlers": "yuqing.crawlers", "analysis": "yuqing.analysis", "alerts": "yuqing.alerts",
           "queue": "yuqing.queue", "dashboards": "yuqing.dashboards", "profiles": "yuqing.profiles",
           "yuqing": "yuqing"}
APP = {"yuqing.cli", "yuqing.runner", "yuqing.__main__"}
# Lower layers first; a subsystem may import its own layer's core and anything below its layer.
LAYERS = [{"core"}, {"crawlers", "analysis", "alerts"}, {"foresight", "queue"}, {"dashboards"}, {"app"}]
SUBSYSTEMS = ("crawlers", "analysis", "alerts", "queue", "dashboards", "foresight")


def modules() -> dict[str, Path]:
    """{dotted module name: file} of the product code."""
    out = {}
    for folder, package in FOLDERS.items():
        for path in (REPO / folder).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([package, *parts])] = path
    return out


def subsystem(module: str) -> str:
    if module in APP:
        return "app"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in SUBSYSTEMS:
        return parts[1]
    return "core"


def _type_only(tree: ast.Module) -> set[ast.AST]:
    """Import statements under ``if TYPE_CHECKING:``."""
    out: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(n for stmt in node.body for n in ast.walk(stmt))
    return out


def imports(module: str, path: Path, known: set[str], runtime_only: bool = False) -> set[str]:
    """The product modules ``module`` imports (``from x import y`` counts x.y when it is a module)."""
    is_package = path.name == "__init__.py"
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] + [f"{target}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def graph(runtime_only: bool = False) -> dict[str, set[str]]:
    files = modules()
    return {m: imports(m, p, set(files), runtime_only) for m, p in files.items()}


def layer(name: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if name in names)


def subsystem_edges(g: dict[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for m, targets in g.items():
        for t in targets:
            a, b = subsystem(m), subsystem(t)
            if a != b:
                edges[(a, b)].append(f"{m} → {t}")
    return edges


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def house() -> dict[str, set[str]]:
    return graph()


def test_no_file_imports_in_a_circle() -> None:
    found = cycles(graph(runtime_only=True))
    assert not found, "import cycles between files:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_subsystems_import_only_downwards(house: dict[str, set[str]]) -> None:
    upward = {(a, b): why for (a, b), why in subsystem_edges(house).items() if layer(b) >= layer(a)}
    assert not upward, "imports against the house's order:\n" + "\n".join(
        f"{a} → {b}: {', '.join(sorted(why)[:4])}" for (a, b), why in sorted(upward.items()))


def draw() -> str:
    edges = subsystem_edges(graph())
    lines = []
    for names in reversed(LAYERS):
        for name in sorted(names):
            below = sorted({b for (a, b) in edges if a == name}, key=lambda b: (layer(b), b))
            counts = ", ".join(f"{b} ({len(edges[(name, b)])})" for b in below)
            lines.append(f"{name:<11} → {counts or '-'}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(draw())


# The subsystems' command modules are imported by `yuqing` on every start; their commands load
# the subsystem only when run: `yuqing --help` takes 0.45 s so, against 8.4 s for importing the
# subsystems it lists (measured on the shared 2-core machine). Their local imports need no note.
COMMAND_MODULES = {f"yuqing.{name}.cli" for name in SUBSYSTEMS}


def _justified(lines: list[str], node: ast.stmt, block_start: int) -> bool:
    """A ``# local:`` reason on the import's line or just above the import block it belongs to."""
    return "# local:" in lines[node.lineno - 1] or "# local:" in lines[block_start - 2]


def _statement_lists(fn: ast.AST) -> list[list[ast.stmt]]:
    """Every list of statements inside ``fn`` (its body, and those of its if/try/with/for blocks)."""
    out = []
    for node in ast.walk(fn):
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                out.append(value)
    return out


def local_imports_without_reason() -> list[str]:
    found = []
    for module, path in modules().items():
        if subsystem(module) not in SUBSYSTEMS:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        seen: set[int] = set()
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for block in _statement_lists(fn):
                start = None
                for stmt in block:
                    if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
                        start = None
                        continue
                    start = start or stmt.lineno
                    if stmt.lineno in seen:
                        continue
                    seen.add(stmt.lineno)
                    names = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else [stmt.module or ""]
                    ours = isinstance(stmt, ast.ImportFrom) and stmt.level > 0 or any(
                        n == "yuqing" or n.startswith("yuqing.") for n in names)
                    plumbing = any(n.startswith("yuqing.tasks") for n in names)
                    if (plumbing or ours and module not in COMMAND_MODULES) and not _justified(lines, stmt, start):
                        found.append(f"{path.relative_to(REPO)}:{stmt.lineno} {ast.unparse(stmt)}")
    return found


def test_subsystems_import_the_house_at_the_top() -> None:
    """Imports inside functions only with a reason (``# local: ...``), and the plumbing never."""
    found = local_imports_without_reason()
    assert not found, "function-level imports without a `# local:` reason:\n" + "\n".join(found)
