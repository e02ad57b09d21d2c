"""The import graph is the architecture: the layer contract in pyproject.toml holds (import-linter)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_layer_contract_is_kept() -> None:
    result = _lint_imports("--no-cache")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_contract_detects_an_upward_import(tmp_path: Path) -> None:
    """The contract can fail: a kinetics module importing the web layer is reported."""
    package = tmp_path / "crampwatch"
    shutil.copytree(ROOT / "crampwatch", package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    (package / "kinetics_probe.py").write_text("import crampwatch.web\n")
    config = (
        (ROOT / "pyproject.toml")
        .read_text()
        .replace('    "kinetics",\n', '    "kinetics : kinetics_probe",\n')
    )
    (tmp_path / "pyproject.toml").write_text(config)
    result = subprocess.run(
        [shutil.which("lint-imports") or "lint-imports", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "crampwatch.kinetics_probe is not allowed to import crampwatch.web" in result.stdout


def import_cycles(package: str = "crampwatch") -> list[list[str]]:
    """Every import circle among the modules of ``package``, also inside one sub-package.

    The graph holds every import statement (grimp, which import-linter uses): module level, function-local
    and under ``TYPE_CHECKING``, so a circle hidden by a deferred import still counts. A circle is a strongly
    connected component of more than one module (Tarjan); each is returned sorted.
    """
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return sorted(circles)


def test_no_import_circle() -> None:
    assert import_cycles() == []


def test_circle_check_detects_a_deferred_circle(tmp_path: Path) -> None:
    """The circle check can fail: two modules importing each other, one inside a function, are reported."""
    package = tmp_path / "circ"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "inner" / "__init__.py").write_text("")
    (package / "inner" / "a.py").write_text("from circ.inner import b\n")
    (package / "inner" / "b.py").write_text("def f():\n    from circ.inner import a\n    return a\n")
    (package / "c.py").write_text("from circ.inner import a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert import_cycles("circ") == [["circ.inner.a", "circ.inner.b"]]
    finally:
        sys.path.remove(str(tmp_path))
