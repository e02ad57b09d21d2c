"""``crampwatch validate``: every published check passes or shows its documented gap, roles are honest
(no validation check compares the model with a source of its own parameters), the card covers every lever
and signal, the outputs are complete, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crampwatch.cli.main import app
from crampwatch.physiology import PARAMETERS
from crampwatch.physiology.publications import PARAMETER_SOURCES, PUBLICATIONS
from crampwatch.prescription_settings import SETTING_BY_NAME
from crampwatch.signals import SIGNAL_SPECS
from crampwatch.validation import REGISTRY, ROLES, Check, register, run_checks
from crampwatch.validation.coverage import AFTER, COVERABLE, LEVERS, SIGNALS
from crampwatch.validation.limitations import COMPARISONS, LIMITATIONS
from crampwatch.validation.registry import REGISTRY as REG
from crampwatch.validation.registry import register_all, source_conflicts

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
        assert c["role"] in ROLES and c["range_basis"], c["id"]
    assert {r: v["checks"] for r, v in data["roles"].items()} == {
        role: sum(c.role == role for c in REGISTRY.values()) for role in ROLES
    }
    text = md.read_text()
    # the card leads with the independent validation and counts every role
    assert text.index("## Independent validation") < text.index("## Calibration")
    assert all(f"| {role} |" in text for role in ROLES)
    assert "## Coverage of levers and signals" in text and "## Known limitations" in text
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
        role="verification",
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


def test_a_gap_must_name_a_check_registered_with_it() -> None:
    check = Check(
        "test_with_gap",
        "test",
        "a check with a known shortfall",
        "none",
        "none",
        "1",
        "1",
        0.0,
        1.0,
        lambda: (0.5, "constant"),
        role="verification",
    )
    try:
        register_all([check], {"test_with_gap": "known shortfall"})
        assert REG["test_with_gap"].gap == "known shortfall"
        with pytest.raises(ValueError, match="test_misspelt"):
            register_all([], {"test_misspelt": "a gap for no check"})
    finally:
        REG.pop("test_with_gap", None)


def test_no_validation_check_compares_the_model_with_a_source_of_its_parameters() -> None:
    """A validation check must be independent: none of its compared publications may be one a parameter
    was taken from or fitted to (that makes it calibration). Every parameter records its sources."""
    assert set(PARAMETER_SOURCES) == {p.name for p in PARAMETERS}
    assert all(k in PUBLICATIONS for keys in PARAMETER_SOURCES.values() for k in keys)
    conflicts = {c.id: sorted(source_conflicts(c)) for c in REGISTRY.values() if c.role == "validation"}
    assert not {cid: pubs for cid, pubs in conflicts.items() if pubs}
    assert sum(c.role == "validation" for c in REGISTRY.values()) >= 10


def test_a_validation_check_against_a_parameter_source_is_caught() -> None:
    """The independence rule bites: a check comparing the session model with the cohort its Na equilibrium
    was fitted to is flagged, the same check on a closed-form formula is not."""
    check = Check(
        "test_na_against_its_own_fit",
        "test",
        "post-dialysis Na against the fitted cohort",
        "Munoz Mendoza 2011",
        "none",
        "141.3",
        "mmol/L",
        140.0,
        142.0,
        lambda: (141.0, ""),
        role="validation",
        publications=("munoz_mendoza_2011",),
    )
    assert source_conflicts(check) == {"munoz_mendoza_2011"}
    formula = Check(**{**check.__dict__, "id": "test_formula", "depends": "formula"})
    assert source_conflicts(formula) == frozenset()
    with pytest.raises(ValueError, match="role"):
        Check(**{**check.__dict__, "role": "independent"})
    with pytest.raises(ValueError, match="publication"):
        Check(**{**check.__dict__, "publications": ("no_such_paper",)})


def test_every_lever_and_signal_is_in_the_coverage_table() -> None:
    """The coverage table lists the optimizer's levers (prescription settings) and the model's signals, and
    every check, reported comparison and limitation names only those."""
    assert set(LEVERS) - {"uf_rate"} <= set(SETTING_BY_NAME)
    assert "isolated_uf_min" in LEVERS
    assert set(SIGNALS) <= set(SIGNAL_SPECS)
    assert {name.removeprefix("after:") for name in AFTER} <= set(SIGNALS)
    named = [x for c in REGISTRY.values() for x in c.covers]
    named += [x for c in COMPARISONS for x in c.covers] + [x for lim in LIMITATIONS for x in lim.covers]
    assert set(named) <= set(COVERABLE)
    committed = DOCS.read_text()
    for label in (*LEVERS.values(), *SIGNALS.values()):
        assert f"| {label} (" in committed, label
