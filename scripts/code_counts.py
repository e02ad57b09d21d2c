"""Size and structure counts of crampwatch/ (docs/architecture.md "Size and import checks").

Usage: ``python scripts/code_counts.py [REPO]`` (default: this checkout). Prints functions over 80 and 120
lines (first decorator to last line, nested functions included), modules over 500 lines (Alembic migrations
excepted, as in tests/test_code_size.py), import circles (strongly connected components of the grimp graph of
every import statement, function-local and ``TYPE_CHECKING`` ones included), function-local import
statements, and string literals (docstrings excepted) that spell a signal name (or the time axis
``t_min``) outside crampwatch/signals.py or a cause id outside crampwatch/causes/ids.py, and how many of
those the allowlist of tests/test_name_constants.py does not name (the guard test fails on any).
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _length(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    start = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    return (fn.end_lineno or fn.lineno) - start + 1


def _circles(package: str) -> list[list[str]]:
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # recursive Tarjan: the graph is a few hundred modules deep at most
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in edges.get(node, ()):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for module in edges:
        if module not in index:
            visit(module)
    return sorted(circles)


def main(repo: Path) -> None:
    sys.path.insert(0, str(repo))
    from crampwatch.causes.ids import CAUSE_IDS
    from crampwatch.signals import SIGNAL_SPECS, TIME

    package = repo / "crampwatch"
    guard = _name_guard(repo)
    long80, long120, big, local_imports = [], [], [], 0
    signal_literals, signal_files, cause_literals, cause_files = 0, set(), 0, set()
    time_literals, time_files = 0, set()
    for path in sorted(package.rglob("*.py")):
        rel = str(path.relative_to(repo))
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        if "migrations" in path.parts:
            continue
        if len(source.splitlines()) > 500:
            big.append(f"{rel} ({len(source.splitlines())})")
        local: set[int] = set()
        for fn in _functions(tree):
            n = _length(fn)
            if n > 80:
                long80.append(f"{rel}:{fn.name} ({n})")
            if n > 120:
                long120.append(f"{rel}:{fn.name} ({n})")
            local |= {s.lineno for s in ast.walk(fn) if isinstance(s, ast.Import | ast.ImportFrom)}
        local_imports += len(local)
        docs = guard.docstring_ids(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                if node.value in SIGNAL_SPECS and path.name != "signals.py":
                    signal_literals += 1
                    signal_files.add(rel)
                if node.value == TIME.name and path.name != "signals.py":
                    time_literals += 1
                    time_files.add(rel)
                if node.value in CAUSE_IDS and path.name != "ids.py":
                    cause_literals += 1
                    cause_files.add(rel)
    circles = _circles("crampwatch")
    print(f"functions over 80 lines: {len(long80)}: {', '.join(sorted(long80))}")
    print(f"functions over 120 lines: {len(long120)}: {', '.join(sorted(long120))}")
    print(f"modules over 500 lines: {len(big)}: {', '.join(big)}")
    print(f"import circles: {len(circles)}: {circles}")
    print(f"function-local import statements: {local_imports}")
    print(f"signal-name string literals: {signal_literals} in {len(signal_files)} files")
    print(f"time-axis (t_min) string literals: {time_literals} in {len(time_files)} files")
    print(f"cause-id string literals: {cause_literals} in {len(cause_files)} files")
    unlisted = guard.unlisted_literals(package, guard.ALLOWED)
    print(f"name literals outside the allowlist of tests/test_name_constants.py: {len(unlisted)}")


def _name_guard(repo: Path) -> ModuleType:
    """The name guard test module (tests/test_name_constants.py): its literal scan and allowlist."""
    spec = importlib.util.spec_from_file_location("name_guard", repo / "tests" / "test_name_constants.py")
    assert spec is not None and spec.loader is not None
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    return guard


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
