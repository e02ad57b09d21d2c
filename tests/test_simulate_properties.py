"""Property tests: random and hostile scenarios either simulate to finite traces or fail with InputError."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crampwatch.errors import InputError
from crampwatch.model import Scenario, parse_scenario
from crampwatch.simulator import simulate, simulate_batch
from crampwatch.trace import Trace

finite = st.floats(allow_nan=False, allow_infinity=False)
hostile = st.one_of(
    finite,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)


#: Plausible ranges of the numeric scenario fields (both ends are valid input), shared by the hostile and
#: the extreme-but-valid scenarios below.
PATIENT_RANGES = {
    "age_years": (18, 110),
    "height_cm": (120, 230),
    "pre_weight_kg": (25, 250),
    "dry_weight_kg": (25, 250),
}
PATIENT_OPTIONAL_RANGES = {
    "baroreflex_strength": (0, 3),
    "refill_capacity": (0.1, 4),
    "residual_kr_ml_min": (0, 30),
}
LAB_RANGES = {
    "na_mmol_l": (110, 170),
    "k_mmol_l": (1.5, 9.5),
    "bun_mg_dl": (2, 300),
    "ca_total_mg_dl": (4, 16),
    "albumin_g_dl": (1, 6),
    "mg_mmol_l": (0.2, 3),
    "hco3_mmol_l": (8, 45),
    "hct_pct": (15, 60),
    "glucose_mg_dl": (30, 1000),
    "ica_mmol_l": (0.5, 2.0),
}
PRESCRIPTION_RANGES = {
    "duration_min": (30, 600),
    "uf_volume_l": (0, 10),
    "qb_ml_min": (50, 600),
    "qd_ml_min": (100, 1000),
    "dialyzer_koa_ml_min": (200, 2000),
}
DIALYSATE_RANGES = {
    "na_mmol_l": (120, 160),
    "k_mmol_l": (0, 5),
    "ca_mmol_l": (0.5, 2.5),
    "mg_mmol_l": (0, 2),
    "hco3_mmol_l": (20, 45),
    "temp_c": (33, 39),
}
access = st.sampled_from(["fistula", "graft", "catheter"])
uf_profiles = st.sampled_from(["constant", "linear_decreasing", "step"])


def valid(lo: float, hi: float) -> st.SearchStrategy:
    return st.one_of(st.floats(lo, hi, allow_nan=False), st.sampled_from([lo, hi]))


def num(lo: float, hi: float) -> st.SearchStrategy:
    """Mostly plausible values, sometimes at the edges, sometimes hostile."""
    return st.one_of(valid(lo, hi), hostile)


def each(ranges: dict[str, tuple[float, float]], values: Callable[[float, float], st.SearchStrategy]) -> dict:
    """A strategy ``values(lo, hi)`` per field of ``ranges``."""
    return {name: values(lo, hi) for name, (lo, hi) in ranges.items()}


labs = st.fixed_dictionaries({}, optional=each(LAB_RANGES, num))
patient = st.fixed_dictionaries(
    {"sex": st.one_of(st.sampled_from(["male", "female"]), hostile), **each(PATIENT_RANGES, num)},
    optional={
        "labs": labs,
        "diabetes": st.booleans(),
        **each(PATIENT_OPTIONAL_RANGES, num),
        "access": access,
        "vintage_months": num(0, 600),
    },
)
dialysate = st.fixed_dictionaries(
    {},
    optional={
        **each(DIALYSATE_RANGES, num),
        "na_profile": st.lists(st.tuples(st.floats(0, 600), st.floats(120, 160)), min_size=1, max_size=4).map(
            lambda pts: sorted(pts)
        ),
    },
)
prescription = st.fixed_dictionaries(
    {},
    optional={
        **each(PRESCRIPTION_RANGES, num),
        "dialysate": dialysate,
        "uf_profile": st.one_of(
            uf_profiles,
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


def _simulate_or_fail_cleanly(data: dict) -> tuple[Scenario, Trace] | None:
    """Parse and simulate ``data`` (5-min records): either a checked trace, or None after an InputError with a
    one-line message."""
    try:
        sc = parse_scenario(data)
        trace = simulate(sc, record_every_min=5.0)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc)
        return None
    _check_trace(trace)
    return sc, trace


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_random_scenarios_simulate_or_fail_cleanly(data: dict) -> None:
    simulated = _simulate_or_fail_cleanly(data)
    if simulated is not None:
        sc, trace = simulated
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


extreme = st.fixed_dictionaries(
    {
        "patient": st.fixed_dictionaries(
            {
                "sex": st.sampled_from(["male", "female"]),
                **each(PATIENT_RANGES, valid),
                **each(PATIENT_OPTIONAL_RANGES, valid),
                "access": access,
                # every lab given, Ca as the ionized value only
                "labs": st.fixed_dictionaries(
                    each({k: r for k, r in LAB_RANGES.items() if k != "ca_total_mg_dl"}, valid)
                ),
            }
        ),
        "prescription": st.fixed_dictionaries(
            {
                **each(PRESCRIPTION_RANGES, valid),
                "uf_profile": uf_profiles,
                "dialysate": st.fixed_dictionaries(each(DIALYSATE_RANGES, valid)),
            }
        ),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extreme)
def test_extreme_valid_scenarios(data: dict) -> None:
    _simulate_or_fail_cleanly(data)
