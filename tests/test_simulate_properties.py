"""Property tests: random and hostile scenarios either simulate to finite traces or fail with InputError."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crampwatch.errors import InputError
from crampwatch.model import parse_scenario
from crampwatch.simulate import simulate, simulate_batch

finite = st.floats(allow_nan=False, allow_infinity=False)
hostile = st.one_of(
    finite,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)


def num(lo: float, hi: float) -> st.SearchStrategy:
    """Mostly plausible values, sometimes at the edges, sometimes hostile."""
    return st.one_of(
        st.floats(lo, hi, allow_nan=False),
        st.sampled_from([lo, hi]),
        hostile,
    )


labs = st.fixed_dictionaries(
    {},
    optional={
        "na_mmol_l": num(110, 170),
        "k_mmol_l": num(1.5, 9.5),
        "bun_mg_dl": num(2, 300),
        "ca_total_mg_dl": num(4, 16),
        "albumin_g_dl": num(1, 6),
        "mg_mmol_l": num(0.2, 3),
        "hco3_mmol_l": num(8, 45),
        "hct_pct": num(15, 60),
        "glucose_mg_dl": num(30, 1000),
        "ica_mmol_l": num(0.5, 2.0),
    },
)
patient = st.fixed_dictionaries(
    {
        "sex": st.one_of(st.sampled_from(["male", "female"]), hostile),
        "age_years": num(18, 110),
        "height_cm": num(120, 230),
        "pre_weight_kg": num(25, 250),
        "dry_weight_kg": num(25, 250),
    },
    optional={
        "labs": labs,
        "diabetes": st.booleans(),
        "baroreflex_strength": num(0, 3),
        "refill_capacity": num(0.1, 4),
        "access": st.sampled_from(["fistula", "graft", "catheter"]),
        "residual_kr_ml_min": num(0, 30),
        "vintage_months": num(0, 600),
    },
)
dialysate = st.fixed_dictionaries(
    {},
    optional={
        "na_mmol_l": num(120, 160),
        "k_mmol_l": num(0, 5),
        "ca_mmol_l": num(0.5, 2.5),
        "mg_mmol_l": num(0, 2),
        "hco3_mmol_l": num(20, 45),
        "temp_c": num(33, 39),
        "na_profile": st.lists(st.tuples(st.floats(0, 600), st.floats(120, 160)), min_size=1, max_size=4).map(
            lambda pts: sorted(pts)
        ),
    },
)
prescription = st.fixed_dictionaries(
    {},
    optional={
        "duration_min": num(30, 600),
        "uf_volume_l": num(0, 10),
        "qb_ml_min": num(50, 600),
        "qd_ml_min": num(100, 1000),
        "dialyzer_koa_ml_min": num(200, 2000),
        "dialysate": dialysate,
        "uf_profile": st.one_of(
            st.sampled_from(["constant", "linear_decreasing", "step"]),
            st.lists(st.tuples(st.floats(0, 600), st.floats(0, 5)), min_size=1, max_size=4).map(
                lambda pts: sorted(pts)
            ),
        ),
    },
)
scenario = st.fixed_dictionaries({"patient": patient, "prescription": prescription})


def _check_trace(trace: object) -> None:
    values = trace.data.to_numpy(dtype=float)
    assert np.isfinite(values).all()
    assert (trace.data["plasma_volume_l"] > 0).all()
    assert (trace.data["sbp_mmhg"] > trace.data["dbp_mmhg"]).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_random_scenarios_simulate_or_fail_cleanly(data: dict) -> None:
    try:
        sc = parse_scenario(data)
        trace = simulate(sc, record_every_min=5.0)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    _check_trace(trace)
    assert math.isclose(trace.data["t_min"].iloc[-1], 5.0 * (sc.prescription.duration_min // 5.0))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(scenario, min_size=2, max_size=4))
def test_random_batches(datas: list[dict]) -> None:
    scs = []
    for d in datas:
        try:
            scs.append(parse_scenario(d))
        except InputError:
            continue
    if not scs:
        return
    try:
        res = simulate_batch(scs, record_every_min=5.0)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    for i in range(len(res)):
        if res.failed[i]:
            with pytest.raises(InputError):
                res.trace(i)
        else:
            _check_trace(res.trace(i))


def valid(lo: float, hi: float) -> st.SearchStrategy:
    return st.one_of(st.floats(lo, hi, allow_nan=False), st.sampled_from([lo, hi]))


extreme = st.fixed_dictionaries(
    {
        "patient": st.fixed_dictionaries(
            {
                "sex": st.sampled_from(["male", "female"]),
                "age_years": valid(18, 110),
                "height_cm": valid(120, 230),
                "pre_weight_kg": valid(25, 250),
                "dry_weight_kg": valid(25, 250),
                "baroreflex_strength": valid(0, 3),
                "refill_capacity": valid(0.1, 4),
                "access": st.sampled_from(["fistula", "graft", "catheter"]),
                "residual_kr_ml_min": valid(0, 30),
                "labs": st.fixed_dictionaries(
                    {
                        "na_mmol_l": valid(110, 170),
                        "k_mmol_l": valid(1.5, 9.5),
                        "bun_mg_dl": valid(2, 300),
                        "albumin_g_dl": valid(1, 6),
                        "hco3_mmol_l": valid(8, 45),
                        "hct_pct": valid(15, 60),
                        "ica_mmol_l": valid(0.5, 2.0),
                        "mg_mmol_l": valid(0.2, 3),
                        "glucose_mg_dl": valid(30, 1000),
                    }
                ),
            }
        ),
        "prescription": st.fixed_dictionaries(
            {
                "duration_min": valid(30, 600),
                "uf_volume_l": valid(0, 10),
                "qb_ml_min": valid(50, 600),
                "qd_ml_min": valid(100, 1000),
                "dialyzer_koa_ml_min": valid(200, 2000),
                "uf_profile": st.sampled_from(["constant", "linear_decreasing", "step"]),
                "dialysate": st.fixed_dictionaries(
                    {
                        "na_mmol_l": valid(120, 160),
                        "k_mmol_l": valid(0, 5),
                        "ca_mmol_l": valid(0.5, 2.5),
                        "mg_mmol_l": valid(0, 2),
                        "hco3_mmol_l": valid(20, 45),
                        "temp_c": valid(33, 39),
                    }
                ),
            }
        ),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extreme)
def test_extreme_valid_scenarios(data: dict) -> None:
    try:
        sc = parse_scenario(data)
        trace = simulate(sc, record_every_min=5.0)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    _check_trace(trace)
