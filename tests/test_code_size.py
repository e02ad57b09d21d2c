"""Readable sizes, measured on the source: no module of crampwatch/ over 500 lines, no function over 120.

Lines are physical lines; a function counts from its first decorator to its last line, nested functions
inside it included. Alembic migrations (``crampwatch/store/migrations/``) are excepted: a migration is a
frozen record of one schema change and is never edited after release.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 120


def _sources(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "migrations" not in p.relative_to(package).parts)


def long_modules(package: Path, limit: int = MAX_MODULE_LINES) -> list[str]:
    """``path: n lines`` of every module over ``limit`` lines."""
    found = []
    for path in _sources(package):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > limit:
            found.append(f"{path.relative_to(package.parent)}: {n} lines")
    return found


def long_functions(package: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``path:line name: n lines`` of every function or method over ``limit`` lines."""
    found = []
    for path in _sources(package):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                n = (node.end_lineno or node.lineno) - start + 1
                if n > limit:
                    found.append(f"{path.relative_to(package.parent)}:{start} {node.name}: {n} lines")
    return found


def test_no_module_over_500_lines() -> None:
    assert long_modules(ROOT / "crampwatch") == []


def test_no_function_over_120_lines() -> None:
    assert long_functions(ROOT / "crampwatch") == []


def test_the_size_checks_can_fail(tmp_path: Path) -> None:
    """A planted 501-line module and a 121-line function are reported; a long migration is not."""
    package = tmp_path / "crampwatch"
    (package / "store" / "migrations").mkdir(parents=True)
    body = "".join(f"    x{i} = {i}\n" for i in range(120))
    (package / "planted.py").write_text("def planted():\n" + body + "\n" * 380)
    (package / "store" / "migrations" / "0001_frozen.py").write_text("x = 1\n" * 600)
    assert long_modules(package) == ["crampwatch/planted.py: 501 lines"]
    assert long_functions(package) == ["crampwatch/planted.py:1 planted: 121 lines"]
    assert long_functions(package, limit=121) == []
