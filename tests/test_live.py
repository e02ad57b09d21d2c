"""The live early-warning engine: contract fields, replay determinism, batch = single, never looking ahead,
bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import crampwatch as cw
from crampwatch.causes import CAUSES
from crampwatch.errors import InputError
from crampwatch.live import AlertPolicy, LiveEngine, assimilate_many, observe_many
from crampwatch.live.policy import LEVELS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def high_uf() -> tuple[cw.Scenario, cw.Trace]:
    sc = cw.load_scenario(f"{EXAMPLES}/high_uf.yaml")
    return sc, cw.simulate(sc)


def stream(trace: cw.Trace, until_min: float, seed: int = 0) -> list[tuple[float, dict[str, float]]]:
    """Machine-like observations: RBV and UF rate every minute (RBV noise 0.5 %-points), SBP every 15 min."""
    rng = np.random.default_rng(seed)
    d = trace.data
    out = []
    for t, rbv, sbp, uf in zip(d["t_min"], d["rbv_pct"], d["sbp_mmhg"], d["uf_rate_ml_h"], strict=True):
        if t > until_min:
            break
        values = {"rbv_pct": round(rbv + rng.normal(0.0, 0.5), 1), "uf_rate_ml_h": uf}
        if t % 15 == 0:
            values["sbp_mmhg"] = round(sbp + rng.normal(0.0, 8.0))
        out.append((float(t), values))
    return out


def replay(engine: LiveEngine, obs: list[tuple[float, dict[str, float]]]) -> list[dict]:
    return [engine.observe(t, v).to_dict() for t, v in obs]


def test_every_update_has_the_contract_fields(high_uf) -> None:
    sc, tr = high_uf
    lines = replay(LiveEngine(sc), stream(tr, 40))
    assert [d["t_min"] for d in lines] == list(range(41))
    for d in lines:
        assert 0.0 <= d["cramp_risk_30min"] <= 1.0
        assert d["level"] in LEVELS
        assert d["cause"] is None or d["cause"] in CAUSES
        assert d["action"] is None or d["level"] != "none"
        f = d["forecast_30min"]
        for name in ("rbv_pct", "sbp_mmhg"):
            assert f[name + "_lo"] <= f[name] <= f[name + "_hi"]
        assert isinstance(f["sbp_mmhg"], int)
        assert [p["t_min"] for p in d["forecast"]] == [d["t_min"] + k for k in range(0, 61, 5)]


def test_replaying_the_same_calls_gives_the_same_updates(high_uf) -> None:
    sc, tr = high_uf
    obs = stream(tr, 30)
    first = LiveEngine(sc, seed=3)
    a = replay(first, obs[:20])
    a.append(first.acknowledge(20, "legs repositioned", snooze_min=10).to_dict())
    a += replay(first, obs[20:])
    second = LiveEngine(sc, seed=3)
    b = replay(second, obs[:20])
    b.append(second.acknowledge(20, "legs repositioned", snooze_min=10).to_dict())
    b += replay(second, obs[20:])
    assert a == b
    other_seed = replay(LiveEngine(sc, seed=4), obs)
    assert other_seed != a[:20] + a[21:]


def test_batch_updates_equal_single_updates(high_uf) -> None:
    sc, tr = high_uf
    obs_a, obs_b = stream(tr, 20, seed=1), stream(tr, 20, seed=2)
    single_a = replay(LiveEngine(sc, seed=1), obs_a)
    single_b = replay(LiveEngine(sc, seed=2), obs_b)
    ea, eb = LiveEngine(sc, seed=1), LiveEngine(sc, seed=2)
    batched_a, batched_b = [], []
    for (ta, va), (tb, vb) in zip(obs_a, obs_b, strict=True):
        ua, ub = observe_many([(ea, ta, va), (eb, tb, vb)])
        batched_a.append(ua.to_dict())
        batched_b.append(ub.to_dict())
    assert batched_a == single_a and batched_b == single_b


def test_assimilated_observations_give_the_forecast_of_observing_each(high_uf) -> None:
    """Folding observations into a later update (a service behind its input) loses none of them: the
    forecast and risk after it are those of observing each in turn; the alert policy counts one update."""
    sc, tr = high_uf
    obs = stream(tr, 24, seed=5)
    each = replay(LiveEngine(sc, seed=5), obs)
    folded = LiveEngine(sc, seed=5)
    replay(folded, obs[:10])
    assimilate_many([(folded, t, v) for t, v in obs[10:24]])
    last = folded.observe(*obs[24]).to_dict()
    for key in ("t_min", "cramp_risk_30min", "cause", "forecast_30min", "forecast"):
        assert last[key] == each[24][key]
    skipped = LiveEngine(sc, seed=5)  # dropping the folded observations changes the forecast
    replay(skipped, obs[:10])
    assert skipped.observe(*obs[24]).to_dict()["forecast_30min"] != last["forecast_30min"]


def test_an_update_never_uses_later_observations(high_uf) -> None:
    """Changing everything after t = 25 leaves every update up to 25 as it was."""
    sc, tr = high_uf
    obs = stream(tr, 40)
    base = replay(LiveEngine(sc), obs)
    changed = obs[:26] + [(t, {**v, "rbv_pct": v["rbv_pct"] - 6.0}) for t, v in obs[26:]]
    other = replay(LiveEngine(sc), changed)
    assert other[:26] == base[:26]
    assert other[30] != base[30]


@pytest.mark.parametrize(
    ("t", "values", "field"),
    [
        (5.0, {"rbv_pct": 300.0}, "rbv_pct"),
        (5.0, {"no_such_signal": 1.0}, "no_such_signal"),
        (5.0, {"sbp_mmhg": "high"}, "sbp_mmhg"),
        (math.inf, {"rbv_pct": 99.0}, "t_min"),
        (1.0, {"rbv_pct": 99.0}, "t_min"),  # before the last update (t = 2)
    ],
)
def test_bad_observations_are_refused_with_the_field(high_uf, t, values, field) -> None:
    sc, _ = high_uf
    engine = LiveEngine(sc)
    engine.observe(2.0, {"rbv_pct": 99.5})
    before = engine.last.to_dict()
    with pytest.raises(InputError) as err:
        engine.observe(t, values)
    assert err.value.field == field
    assert engine.last.to_dict() == before  # nothing changed


def test_policy_validation_names_the_field() -> None:
    with pytest.raises(InputError, match="consecutive_updates"):
        AlertPolicy.from_dict({"consecutive_updates": 0})
    with pytest.raises(InputError, match="watch_off <= watch_on <= alert_on"):
        AlertPolicy.from_dict({"watch_on": 0.5, "alert_on": 0.3})
    with pytest.raises(InputError, match="unknown_knob"):
        AlertPolicy.from_dict({"unknown_knob": 1})
