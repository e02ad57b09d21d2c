"""Advice that follows the causes: the cause registry's levers, the optimizer's search of them, the one-line
reason when none helps, merged equal options, and recommendations that never ask for what the prescription
already does."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crampwatch.causes.registry import CAUSE_REGISTRY, CAUSE_SPECS
from crampwatch.cli.main import app
from crampwatch.model import Prescription, Scenario, dump_scenario, load_scenario, parse_scenario
from crampwatch.optimizer import Constraints, OptimizationResult, optimize
from crampwatch.optimizer.candidates import lattice
from crampwatch.optimizer.constraints import options_for, project
from crampwatch.optimizer.levers import leading_causes, lever_knobs, searched_knobs
from crampwatch.optimizer.result import LeadingCause
from crampwatch.optimizer.space import apply_knobs, changed_knobs, knobs_from
from crampwatch.prescription_settings import SETTING_BY_NAME
from crampwatch.web.pages import TEMPLATES
from crampwatch.web.wording import cause_label


def test_every_lever_is_a_prescription_setting_and_a_typo_fails_at_import_time():
    for spec in CAUSE_SPECS:
        assert all(name in SETTING_BY_NAME for name in spec.levers), spec.id
    with pytest.raises(KeyError, match="dialysate_ca_mmoll"):
        replace(CAUSE_REGISTRY["hypocalcemia"], levers=("dialysate_ca_mmoll",))


def test_the_dialysis_mechanisms_have_levers_and_the_others_none():
    with_levers = {spec.id for spec in CAUSE_SPECS if spec.levers}
    assert with_levers == {
        "hypovolemia",
        "osmotic",
        "hypocalcemia",
        "hypomagnesemia",
        "disequilibrium",
        "underdialysis",
    }
    assert CAUSE_REGISTRY["hypocalcemia"].levers[0] == "dialysate_ca_mmol_l"
    assert CAUSE_REGISTRY["osmotic"].levers == ("dialysate_na_mmol_l",)


# ---------------------------------------------------------------------- a test per cause (real simulator)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _variant(name: str, *, patient=None, labs=None, rx=None, dialysate=None) -> Scenario:
    data = dump_scenario(load_scenario(EXAMPLES / f"{name}.yaml"))
    data["patient"].update(patient or {})
    data["patient"]["labs"].update(labs or {})
    data["prescription"].update(rx or {})
    data["prescription"]["dialysate"].update(dialysate or {})
    return parse_scenario(data)


#: A patient led by each cause: the examples where one exists, else the stable patient with the one
#: finding that makes the cause lead.
LED_BY: dict[str, Callable[[], Scenario]] = {
    "hypovolemia": lambda: load_scenario(EXAMPLES / "high_uf.yaml"),
    "osmotic": lambda: load_scenario(EXAMPLES / "low_na_dialysate.yaml"),
    "hypocalcemia": lambda: load_scenario(EXAMPLES / "low_ca_first_year.yaml"),
    "hypomagnesemia": lambda: _variant("stable", labs={"mg_mmol_l": 0.6}, dialysate={"mg_mmol_l": 0.25}),
    "disequilibrium": lambda: load_scenario(EXAMPLES / "first_session_high_bun.yaml"),
    "encephalopathy": lambda: _variant("stable", labs={"aluminium_ug_l": 120}),
    "neuropathy": lambda: _variant("stable", patient={"peripheral_neuropathy": True, "diabetes": True}),
    "underdialysis": lambda: _variant(
        "stable",
        patient={"pre_weight_kg": 102, "dry_weight_kg": 100},
        rx={"qb_ml_min": 250, "duration_min": 180, "dialyzer_koa_ml_min": 700},
    ),
}

#: The clinic's example: pre-dialysis ionized Ca 0.85 mmol/L (total Ca 7.98 mg/dL, albumin 4.7 g/dL) with
#: dialysate Ca already 1.5 mmol/L, dialysate Na 5.6 mmol/L below plasma Na.
LOW_CA_BEFORE_DIALYSIS = {
    "patient": {
        "id": "CLINIC-CA",
        "sex": "male",
        "age_years": 57.4,
        "height_cm": 169.0,
        "pre_weight_kg": 67.2,
        "dry_weight_kg": 64.69,
        "vintage_months": 14.2,
        "active_vitamin_d": True,
        "access": "catheter",
        "baroreflex_strength": 0.633,
        "refill_capacity": 2.061,
        "pre_sbp_mmhg": 161.0,
        "labs": {
            "na_mmol_l": 143.6,
            "k_mmol_l": 4.13,
            "bun_mg_dl": 53.2,
            "ca_total_mg_dl": 7.98,
            "albumin_g_dl": 4.7,
            "mg_mmol_l": 0.99,
            "hco3_mmol_l": 25.8,
            "hct_pct": 35.4,
            "glucose_mg_dl": 79.0,
        },
    },
    "prescription": {
        "duration_min": 270.0,
        "uf_volume_l": 2.47,
        "qb_ml_min": 270.0,
        "qd_ml_min": 500.0,
        "dialyzer_koa_ml_min": 840.0,
        "dialysate": {
            "na_mmol_l": 138.0,
            "k_mmol_l": 3.0,
            "ca_mmol_l": 1.5,
            "mg_mmol_l": 0.5,
            "hco3_mmol_l": 35.0,
        },
    },
}


@pytest.fixture(scope="module")
def led_results() -> dict[str, OptimizationResult]:
    return {cause: optimize(make()) for cause, make in LED_BY.items()}


def _changed_settings(rec) -> set[str]:
    return {code.split(" ")[0] for code in rec.changes}


def _check_leading(result: OptimizationResult, cause: str) -> LeadingCause:
    """The cause leads; an option acts on one of its levers, or each lever has its one line."""
    assert max(result.current.causes, key=result.current.causes.get) == cause
    lead = next(lc for lc in result.leading_causes if lc.cause == cause)
    spec = CAUSE_REGISTRY[cause]
    assert lead.levers == spec.levers
    if lead.recommendations:
        assert not lead.why_not
        for number in lead.recommendations:
            rec = result.recommendations[number - 1]
            levers = set(spec.levers) | (
                {"dialysate_na_profile"} if "dialysate_na_mmol_l" in spec.levers else set()
            )
            assert _changed_settings(rec) & levers, (cause, rec.changes)
            assert cause in rec.addresses
            assert rec.outcome.causes[cause] < result.current.causes[cause]
    else:
        assert len(lead.why_not) == max(1, len(spec.levers))
        for line, setting_name in zip(lead.why_not, spec.levers, strict=False):
            assert line.startswith(SETTING_BY_NAME[setting_name].label)
        if not spec.levers:
            assert (
                lead.why_not[0].startswith(spec.label)
                and "no dialysis prescription setting" in lead.why_not[0]
            )
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", " ".join(lead.why_not)), lead.why_not  # no code names
    return lead


@pytest.mark.parametrize("cause", list(LED_BY))
def test_a_patient_led_by_each_cause_gets_an_option_on_its_levers_or_the_reason_why_not(led_results, cause):
    lead = _check_leading(led_results[cause], cause)
    if CAUSE_REGISTRY[cause].levers:  # these patients' leading causes do respond to their levers
        assert lead.recommendations
    else:
        assert lead.why_not


def test_the_clinic_example_gets_one_sodium_option_and_the_reasons_calcium_cannot_help():
    result = optimize(parse_scenario(LOW_CA_BEFORE_DIALYSIS))
    assert result.current.causes["hypocalcemia"] == pytest.approx(0.90, abs=0.01)
    lead = _check_leading(result, "hypocalcemia")
    # no Ca or bicarbonate value lowers a hypocalcemia that comes from before the session: one line each
    assert not lead.recommendations
    ca_line, hco3_line = lead.why_not
    assert "Dialysate Ca" in ca_line and "1.75 mmol/L" in ca_line and "0.90" in ca_line
    assert "Dialysate bicarbonate" in hco3_line and "0.90" in hco3_line
    # the sodium options of equal risk are one option, the others listed as its equivalents
    na_options = [
        r
        for r in result.recommendations
        if _changed_settings(r) <= {"dialysate_na_mmol_l", "dialysate_na_profile"}
    ]
    assert len(na_options) == 1 and na_options[0].equivalent_changes
    assert all("Dialysate Na" in text for text in na_options[0].equivalent_changes)
    shown = [(tuple(sorted(_changed_settings(r))), round(r.outcome.risk, 2)) for r in result.recommendations]
    assert len(shown) == len(set(shown))
    d = result.to_dict()
    assert d["leading_causes"][0]["cause"] == "hypocalcemia" and d["leading_causes"][0]["why_not"] == list(
        lead.why_not
    )
    assert d["recommendations"][0]["equivalent_changes"] == na_options[0].equivalent_changes


def test_a_lever_at_its_bound_says_so():
    # serum Mg low although the dialysate Mg is already at the highest value the search allows
    result = optimize(_variant("stable", labs={"mg_mmol_l": 0.5}, dialysate={"mg_mmol_l": 1.0}))
    lead = _check_leading(result, "hypomagnesemia")
    assert not lead.recommendations
    assert lead.why_not[0].startswith("Dialysate Mg is at the highest allowed value, 1 mmol/L")


def test_only_the_levers_of_active_causes_and_unmet_constraints_are_searched():
    none = searched_knobs([{"hypovolemia": 0.05}], uf_short=False, dose_short=False, first_session=False)
    assert none == frozenset()
    osmotic = searched_knobs([{"osmotic": 0.5}], uf_short=False, dose_short=False, first_session=False)
    assert osmotic == {"na_mmol_l"}
    short = searched_knobs([{"osmotic": 0.5}], uf_short=True, dose_short=True, first_session=False)
    assert short == {"na_mmol_l", "duration_min", "sessions_per_week", "uf_profile", "qb_ml_min"}
    assert "qd_ml_min" in searched_knobs([{}], uf_short=False, dose_short=False, first_session=True)
    assert leading_causes({"hypocalcemia": 0.9, "osmotic": 0.5, "neuropathy": 0.2}) == [
        "hypocalcemia",
        "osmotic",
    ]


def test_the_stable_patient_changes_nothing_and_simulates_only_its_own_prescription():
    result = optimize(load_scenario(EXAMPLES / "stable.yaml"))
    assert result.n_simulations == 8 and result.leading_causes == []
    assert [r.changes for r in result.recommendations] == [[]]


def test_isolated_uf_is_searched_as_a_lever_of_hypovolemia():
    assert "isolated_uf_min" in lever_knobs("hypovolemia")
    sc = load_scenario(EXAMPLES / "high_uf.yaml")
    c = Constraints()
    base = project(knobs_from(sc), options_for(sc, c, allow_high_ca=False))
    varied = searched_knobs([{"hypovolemia": 0.9}], uf_short=False, dose_short=False, first_session=False)
    options = options_for(sc, c, allow_high_ca=False).only(base, varied)
    assert options.isolated_uf_min == (0.0, 15.0, 30.0, 45.0, 60.0)
    moves = [k for k in lattice(base, options) if changed_knobs(base, k) == ["isolated_uf_min"]]
    assert sorted(k.isolated_uf_min for k in moves) == [15.0, 30.0, 45.0, 60.0]
    rx = apply_knobs(sc, moves[0], sc.uf_volume_l).prescription
    assert Prescription.model_validate(rx.model_dump()).isolated_uf_min == moves[0].isolated_uf_min
    # an osmotic cause alone leaves isolated UF as prescribed
    osmotic = options_for(sc, c, allow_high_ca=False).only(base, frozenset({"na_mmol_l"}))
    assert osmotic.isolated_uf_min == (0.0,)


def test_the_reasons_are_shown_by_the_session_page_and_the_command_line(tmp_path):
    result = optimize(parse_scenario(LOW_CA_BEFORE_DIALYSIS))
    lines = result.leading_causes[0].why_not
    html = TEMPLATES.env.get_template("optimize_result.html").render(
        result=result.to_dict(), session_id="s1", error=None, cause_label=cause_label
    )
    assert "<strong>Hypocalcemia</strong> (0.90): no option acts on it." in html
    assert all(line in html for line in lines)
    path = tmp_path / "clinic.yaml"
    path.write_text(json.dumps(LOW_CA_BEFORE_DIALYSIS))
    out = CliRunner().invoke(app, ["optimize", str(path)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "Hypocalcemia (0.90): no option acts on it" in out.stdout
    assert lines[0] in out.stdout
