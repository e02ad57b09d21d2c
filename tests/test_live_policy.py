"""The alert policy as a state machine: consecutive updates, hysteresis, one alert per episode, escalation
on a confirming cuff BP, acknowledgement and snooze."""

from __future__ import annotations

from pathlib import Path

import pytest

from crampwatch.errors import InputError
from crampwatch.live import AlertPolicy, PolicyState
from crampwatch.live.policy import acknowledged, step

POLICY = AlertPolicy(
    watch_on=0.1,
    watch_off=0.05,
    alert_on=0.2,
    consecutive_updates=3,
    clear_updates=4,
    escalate_on_cuff_bp=True,
    relative_to_start=False,
)
RISE = POLICY.model_copy(update={"relative_to_start": True})


def run(risks: list[float], confirming: set[int] = frozenset(), state: PolicyState | None = None):
    state = state or PolicyState()
    levels, states = [], []
    for k, r in enumerate(risks):
        state = step(state, POLICY, float(k), r, k in confirming)
        levels.append(state.level)
        states.append(state)
    return levels, states


def test_fires_only_after_consecutive_updates() -> None:
    levels, _ = run([0.3, 0.3, 0.0, 0.3, 0.3, 0.3])
    assert levels == ["none", "none", "none", "none", "none", "alert"]


def test_watch_then_alert() -> None:
    levels, states = run([0.12, 0.12, 0.12, 0.25, 0.25, 0.25])
    assert levels == ["none", "none", "watch", "watch", "watch", "alert"]
    assert states[-1].alert_t_min == 5.0 and states[-1].episode == 1


def test_hysteresis_keeps_the_episode_between_the_thresholds() -> None:
    levels, states = run([0.12] * 3 + [0.07] * 10 + [0.01] * 4)
    assert levels[2:13] == ["watch"] * 11  # 0.07 is below watch_on but above watch_off
    assert levels[-1] == "none" and levels[-2] == "watch"  # cleared after 4 updates below watch_off
    assert not states[-1].in_episode


def test_one_alert_per_episode_and_a_new_one_after_it_closes() -> None:
    risks = [0.3] * 3 + [0.15, 0.3, 0.3, 0.3] + [0.0] * 4 + [0.3] * 3
    levels, states = run(risks)
    fired = [
        k
        for k in range(1, len(states))
        if states[k].alert_t_min != states[k - 1].alert_t_min and states[k].alerted
    ]
    assert fired == [2, 13]  # the rise at 4-6 inside the first episode does not fire again
    assert not states[12].in_episode and states[13].episode == 2
    assert levels[3] == "alert"  # the fired alert stands through the dip


def test_relative_thresholds_count_the_rise_above_the_first_update() -> None:
    state, levels = PolicyState(), []
    for k, r in enumerate([0.3] * 5 + [0.45] * 3 + [0.55] * 3):
        state = step(state, RISE, float(k), r, False)
        levels.append(state.level)
    assert state.start_risk == 0.3
    assert levels == ["none"] * 5 + ["none", "none", "watch"] + ["watch", "watch", "alert"]
    levels, _ = run([0.3] * 11)
    assert levels[-1] == "alert"  # the same series against absolute thresholds alerts from the start


def test_confirming_cuff_bp_escalates_a_watch_at_once() -> None:
    levels, states = run([0.12] * 4, confirming={3})
    assert levels == ["none", "none", "watch", "alert"]
    assert states[-1].escalated
    levels, _ = run([0.0] * 4, confirming={1, 2, 3})
    assert levels == ["none"] * 4  # a BP fall without a forecast is not this warning's alert


def test_snooze_holds_the_alert_but_not_a_confirming_bp() -> None:
    _, states = run([0.12] * 3)
    snoozed = acknowledged(states[-1], POLICY, 2.0, "patient repositioned", 10.0)
    assert snoozed.acknowledged and snoozed.ack_reason == "patient repositioned"
    state, levels = snoozed, []
    for k in range(3, 9):
        state = step(state, POLICY, float(k), 0.3, False)
        levels.append(state.level)
    assert levels == ["watch"] * 6  # the risk alone cannot fire during the snooze (until t = 12)
    state = step(state, POLICY, 9.0, 0.3, True)
    assert state.level == "alert" and state.escalated
    later, _ = run([0.3] * 3, state=snoozed)
    assert later[-1] == "watch"


@pytest.mark.parametrize(
    ("reason", "snooze", "field"),
    [("", 0.0, "reason"), ("   ", 0.0, "reason"), ("x" * 201, 0.0, "reason"), ("ok", 61.0, "snooze_min"),
     ("ok", -1.0, "snooze_min"), ("ok", "soon", "snooze_min")],
)  # fmt: skip
def test_acknowledgement_needs_a_reason_and_a_valid_snooze(reason, snooze, field) -> None:
    with pytest.raises(InputError) as err:
        acknowledged(PolicyState(), POLICY, 0.0, reason, snooze)
    assert err.value.field == field


def test_policy_round_trips_through_json() -> None:
    p = AlertPolicy(watch_on=0.2, watch_off=0.1, alert_on=0.3, consecutive_updates=2)
    assert AlertPolicy.from_json(p.model_dump_json()) == p
    with pytest.raises(InputError, match="policy: not valid JSON"):
        AlertPolicy.from_json("{")


def test_docs_and_readme_quote_the_default_policy() -> None:
    """The defaults have one home (AlertPolicy); docs/warning.md and the README quote them."""
    root = Path(__file__).resolve().parents[1]
    card = (root / "docs" / "warning.md").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    p = AlertPolicy()
    assert p.relative_to_start and "| `relative_to_start` | yes |" in card
    assert f"| `watch_on` | rise {p.watch_on:g} |" in card
    assert f"| `alert_on`, `consecutive_updates` | rise {p.alert_on:g}, {p.consecutive_updates} |" in card
    assert f"| `watch_off`, `clear_updates` | rise {p.watch_off:g}, {p.clear_updates} |" in card
    assert f"| `escalate_on_cuff_bp` | {'on' if p.escalate_on_cuff_bp else 'off'} |" in card
    assert f"| `max_snooze_min` | {p.max_snooze_min:g} min |" in card
    for value in (p.alert_on, p.watch_on, p.watch_off):
        assert f"+{value:g}" in readme
    assert f"{p.consecutive_updates} consecutive updates" in readme
