"""The numerical library and its commands work without the optional extras; the others name their extra."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crampwatch.optional import EXTRA_OF_MODULE

ROOT = Path(__file__).resolve().parents[1]

#: A sitecustomize that makes the extras' packages unimportable, as on a machine with the core install only.
BLOCKER = """
import sys
BLOCKED = {blocked!r}
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""


@pytest.fixture(scope="module")
def core_only(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    site = tmp_path_factory.mktemp("core_only")
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(EXTRA_OF_MODULE)))
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crampwatch", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        input="",
    )


def test_blocker_really_hides_the_extras(core_only: dict[str, str]) -> None:
    probe = subprocess.run([sys.executable, "-c", "import sqlalchemy"], env=core_only, capture_output=True)
    assert probe.returncode != 0


def test_core_commands_run_without_extras(core_only: dict[str, str], tmp_path: Path) -> None:
    scenario = str(ROOT / "examples" / "high_uf.yaml")
    trace = str(tmp_path / "trace.csv")
    done = _cli(core_only, tmp_path, "simulate", scenario, "--out", trace)
    assert done.returncode == 0, done.stderr
    done = _cli(core_only, tmp_path, "analyze", trace, "--scenario", scenario, "--json")
    assert done.returncode == 0, done.stderr
    assert '"overall_risk"' in done.stdout


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("serve", "--port", "1"), "app"),
        (("user", "add", "bob", "--role", "clinician", "--password-stdin"), "app"),
        (("cohort", "--patients", "20"), "cohort"),
    ],
)
def test_commands_of_an_extra_name_it(
    core_only: dict[str, str], tmp_path: Path, args: tuple[str, ...], extra: str
) -> None:
    done = _cli(core_only, tmp_path, *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"crampwatch[{extra}]" in lines[0]


def test_fhir_commands_name_the_fhir_extra(tmp_path: Path) -> None:
    site = tmp_path / "no_fhir"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked={"fhir"}))
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    bundle = tmp_path / "bundle.json"
    bundle.write_text('{"resourceType": "Bundle", "type": "collection", "entry": []}')
    db = f"sqlite:///{tmp_path / 'x.db'}"
    done = _cli(env, tmp_path, "import", str(bundle), "--database-url", db)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "crampwatch[fhir]" in lines[0] and "'fhir'" in lines[0], done.stderr


def _guarded(fn: ast.AST) -> set[int]:
    """``id`` of the import statements inside ``with optional.extra_imports():`` blocks of ``fn``."""
    inside: set[int] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call)
            and getattr(item.context_expr.func, "attr", getattr(item.context_expr.func, "id", None))
            == "extra_imports"
            for item in node.items
        ):
            inside |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)}
    return inside


def _local_optional_imports(source: str) -> list[str]:
    """Import statements inside functions that import a package of an extra outside a
    ``with optional.extra_imports():`` block (:func:`crampwatch.optional.extra_imports`)."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        guarded = _guarded(fn)
        for node in ast.walk(fn):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if id(node) not in guarded:
                found += [f"{fn.name}: {n}" for n in names if n.split(".")[0] in EXTRA_OF_MODULE]
    return found


def test_optional_packages_are_imported_through_the_optional_module() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} {hit}"
        for path in sorted((ROOT / "crampwatch").rglob("*.py"))
        for hit in _local_optional_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_optional_import_check_can_fail() -> None:
    planted = "def run():\n    import dask.dataframe as dd\n    from distributed import Client\n    import os"
    assert _local_optional_imports(planted) == ["run: dask.dataframe", "run: distributed"]
    guarded = "def run():\n    with optional.extra_imports():\n        import dask\n    import redis"
    assert _local_optional_imports(guarded) == ["run: redis"]


def test_a_missing_optional_package_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from crampwatch import optional

    monkeypatch.setitem(sys.modules, "distributed", None)  # import of it raises ModuleNotFoundError
    missing = pytest.raises(optional.MissingExtra, match=r"pip install 'crampwatch\[cohort\]'")
    with missing, optional.extra_imports():
        import distributed  # noqa: F401
    with pytest.raises(ModuleNotFoundError) as other, optional.extra_imports():  # not an extra: as it is
        import crampwatch_no_such_module  # noqa: F401
    assert not isinstance(other.value, optional.MissingExtra)
