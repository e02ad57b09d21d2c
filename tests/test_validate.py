"""``crampwatch validate``: every published check passes, the outputs are complete, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crampwatch.cli.main import app
from crampwatch.validation import REGISTRY, Check, register, run_checks
from crampwatch.validation.registry import REGISTRY as REG

DOCS = Path(__file__).resolve().parents[1] / "docs" / "validation.md"


def test_every_published_check_passes(tmp_path: Path) -> None:
    runner = CliRunner()
    md = tmp_path / "validation.md"
    res = runner.invoke(app, ["validate", "--json", "--markdown", str(md)])
    data = json.loads(res.stdout)
    # every check passes except the documented gaps of the model, and no gap passes unnoticed
    failed = [(c["id"], c["model_value"], c["pass_range"]) for c in data["checks"] if not c["passed"]]
    unexpected = [f for f in failed if not REGISTRY[f[0]].gap]
    assert not unexpected, unexpected
    closed = [c["id"] for c in data["checks"] if c["passed"] and c["known_gap"]]
    assert not closed, f"gaps now pass, remove their gap note: {closed}"
    assert res.exit_code == 0
    assert {c["id"] for c in data["checks"]} == set(REGISTRY)
    for c in data["checks"]:
        assert c["source"] and c["published"] and c["conditions"], c["id"]
    text = md.read_text()
    assert all(f"`{cid}`" in text for cid in REGISTRY)
    # the committed report lists every check and no failure
    committed = DOCS.read_text()
    assert all(f"`{cid}`" in committed for cid in REGISTRY)
    assert "| FAIL |" not in committed
    assert committed.count("| gap |") == sum(1 for c in data["checks"] if c["known_gap"])


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["validate", "--check", "no_such_check"])
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "no_such_check" in res.stderr
    res = runner.invoke(
        app, ["validate", "--check", "tv_watson", "--markdown", str(tmp_path / "no" / "v.md")]
    )
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "no").exists()


def test_a_failing_check_fails_the_command() -> None:
    check = Check(
        "test_always_fails",
        "test",
        "a check outside its range",
        "none",
        "none",
        "1",
        "1",
        0.0,
        0.5,
        lambda: (1.0, "constant"),
    )
    register(check)
    try:
        (result,) = run_checks(["test_always_fails"])
        assert not result.passed
        res = CliRunner().invoke(app, ["validate", "--check", "test_always_fails", "--check", "tv_watson"])
        assert res.exit_code == 1
        with pytest.raises(ValueError, match="twice"):
            register(check)
    finally:
        REG.pop("test_always_fails", None)
