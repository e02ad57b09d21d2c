"""Prescription optimizer: the prescription that removes the cramp causes without giving up dose or UF.

``optimize(scenario)`` searches session time, UF profile, dialysate Na (constant or profile), Ca, Mg and
temperature, blood flow and (optionally) an extra weekly session; it scores every candidate with the batch
simulator and the cause analyzer over a small ensemble of plausible patients, and returns the best few
prescriptions that meet the constraints (UF goal removed, spKt/V target or first-session limits, time and
guideline ranges). See :mod:`crampwatch.optimizer.search` for the method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crampwatch.errors import require_range
from crampwatch.model import Scenario
from crampwatch.optimizer.constraints import Constraints
from crampwatch.optimizer.evaluate import Evaluation, SimulatorEvaluator
from crampwatch.optimizer.result import OptimizationResult, Outcome, Recommendation
from crampwatch.optimizer.search import search

if TYPE_CHECKING:  # the twin is imported by the callers that have one
    from crampwatch.twin.result import PatientTwin

#: Output resolution of the simulated traces scored by the analyzer, minutes: the simulator's default, so
#: that every whole-minute session ends on a recorded sample (exact post-dialysis urea and UF).
RECORD_EVERY_MIN = 1.0
#: Threads of the compiled simulation kernel (results do not depend on it). One by default: the batches
#: are small (8 to ~100 sessions), and on a busy machine a thread that waits for a core holds up the
#: others (measured at load 19 on 2 cores: 0.35 s with one thread, 0.75 s with two).
DEFAULT_WORKERS = 1


def optimize(
    scenario: Scenario,
    *,
    constraints: Constraints | None = None,
    n_ensemble: int = 8,
    top_k: int = 3,
    seed: int = 0,
    risk_model: Callable | None = None,
    twin: PatientTwin | None = None,
    workers: int = DEFAULT_WORKERS,
) -> OptimizationResult:
    """The ``top_k`` lowest-risk prescriptions for ``scenario`` that satisfy ``constraints``.

    Candidates are simulated with :func:`crampwatch.simulator.simulate_batch` and scored with
    :func:`crampwatch.causes.score_batch`; ``risk`` is the mean over ``n_ensemble`` plausible patients
    (seeded by ``seed``). When no candidate meets the constraints, ``recommendations`` is empty and
    ``infeasible`` says why. ``risk_model(t_min, signals, scenarios)``, when given, replaces the analyzer's
    overall risk of each simulated session (a unit model: :meth:`crampwatch.learn.UnitModel.batch_risk`).
    With a ``twin`` (:class:`crampwatch.twin.PatientTwin`) the patient is the
    fitted twin and the ensemble is drawn from the twin's uncertainty. ``workers`` threads run the
    simulation kernel (the same results with any number).
    """
    require_range("n_ensemble", n_ensemble, 1, 64)
    require_range("top_k", top_k, 1, 10)
    return search(
        scenario,
        evaluator=SimulatorEvaluator(
            record_every_min=RECORD_EVERY_MIN, risk_model=risk_model, workers=workers
        ),
        constraints=constraints,
        n_ensemble=int(n_ensemble),
        top_k=int(top_k),
        seed=seed,
        twin=twin,
    )


__all__ = [
    "Constraints",
    "Evaluation",
    "OptimizationResult",
    "Outcome",
    "Recommendation",
    "SimulatorEvaluator",
    "optimize",
    "search",
]
