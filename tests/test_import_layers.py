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
