"""The optimizer's candidate is an immutable value: stages attach their records with ``replace``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from crampwatch.model import load_scenario
from crampwatch.optimizer.ranking import (
    CHANGE_PENALTY,
    INFEASIBLE_OFFSET,
    Candidate,
    EnsembleScores,
    Scores,
    pick,
    rank_key,
)
from crampwatch.optimizer.space import change_size, knobs_from

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _candidate(**knob_changes: float) -> Candidate:
    knobs = knobs_from(load_scenario(EXAMPLES / "stable.yaml")).with_(**knob_changes)
    return Candidate(knobs=knobs, uf_required_l=2.0, idwg_change_kg=0.0, static=(), penalty=CHANGE_PENALTY)


def test_candidate_and_its_records_cannot_be_mutated():
    cd = _candidate()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cd.penalty = 0.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cd.scores = Scores(risk=0.1)  # type: ignore[misc]
    sc = Scores(risk=0.3, causes={"hypovolemia": 0.5})
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.risk = 0.0  # type: ignore[misc]
    ens = EnsembleScores(risk=np.array([0.2, 0.4]), idh_risk=np.array([0.1, 0.1]), causes={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        ens.risk = np.zeros(2)  # type: ignore[misc]
    with pytest.raises(AttributeError):  # slots: no stray attributes either
        object.__setattr__(cd, "risk", 0.0)


def test_stage_records_are_attached_by_replace_and_leave_the_original_alone():
    cd = _candidate()
    assert not cd.evaluated and np.isnan(cd.nominal.risk) and cd.mean_risk == 1.0
    scored = dataclasses.replace(cd, scores=Scores(risk=0.3))
    assert scored.evaluated and scored.feasible and scored.key == cd.key
    assert scored.objective == pytest.approx(0.3 + CHANGE_PENALTY)
    ens = EnsembleScores(risk=np.array([0.2, 0.4]), idh_risk=np.array([0.1, 0.1]), causes={})
    robust = dataclasses.replace(scored, ensemble=ens)
    assert robust.mean_risk == pytest.approx(0.3) and scored.ensemble is None
    missed = dataclasses.replace(cd, scores=Scores(risk=0.3, violations=("UF goal not removed",), miss=2.0))
    assert not missed.feasible and missed.objective == pytest.approx(INFEASIBLE_OFFSET + 2.0 + 0.3 + 0.02)
    assert not cd.evaluated  # the unscored value is unchanged


def test_pick_tells_candidates_apart_by_their_settings_not_their_identity():
    current = knobs_from(load_scenario(EXAMPLES / "stable.yaml"))
    longer = dataclasses.replace(_candidate(duration_min=current.duration_min + 30), scores=Scores(risk=0.1))
    same_settings = dataclasses.replace(longer, scores=Scores(risk=0.1))
    cooler = dataclasses.replace(_candidate(temp_c=current.temp_c - 0.5), scores=Scores(risk=0.2))
    chosen = pick([longer, same_settings, cooler], 3, current)
    assert [cd.key for cd in chosen] == [longer.key, cooler.key]


def test_equally_good_candidates_rank_smaller_change_first_whatever_the_round_off():
    current = knobs_from(load_scenario(EXAMPLES / "stable.yaml"))
    ca = current.ca_mmol_l
    # risks equal up to round-off: the larger Ca step is listed first and is 1e-12 "better"
    big = dataclasses.replace(_candidate(ca_mmol_l=ca + 0.5), scores=Scores(risk=0.1 - 1e-12, idh_risk=0.0))
    small = dataclasses.replace(_candidate(ca_mmol_l=ca + 0.25), scores=Scores(risk=0.1, idh_risk=0.0))
    ranked = sorted([big, small], key=lambda cd: rank_key(cd, current))
    assert [c.knobs.ca_mmol_l for c in ranked] == [ca + 0.25, ca + 0.5]
    # the same settings changed with the same shown risks are one option: the smaller change
    assert [c.knobs.ca_mmol_l for c in pick([big, small], 2, current)] == [ca + 0.25]
    # a real risk difference still wins over a smaller change
    better = dataclasses.replace(big, scores=Scores(risk=0.05, idh_risk=0.0))
    assert pick([small, better], 1, current)[0].knobs.ca_mmol_l == ca + 0.5
    # then IDH risk, then the size of the change
    safer = dataclasses.replace(big, scores=Scores(risk=0.1, idh_risk=0.01))
    riskier_bp = dataclasses.replace(small, scores=Scores(risk=0.1, idh_risk=0.02))
    assert rank_key(safer, current) < rank_key(riskier_bp, current)
    assert change_size(current, small.knobs) == pytest.approx(1.0)
    assert change_size(current, big.knobs) == pytest.approx(2.0)
    assert change_size(current, current) == 0.0
