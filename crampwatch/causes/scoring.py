"""The vectorized scoring core shared by :func:`assess` (n = 1) and the optimizer (thousands of sessions).

``overall_risk`` combines the cause scores by a weighted noisy-OR, ``1 - prod_c (1 - w_c s_c^g)``: each
mechanism is treated as an independent route to a cramp, and ``w_c`` is how often a fully present
mechanism leads to cramps. The weights are modelling choices ordered by the strength of the published
evidence: volume and sodium/osmotic mechanisms and disequilibrium (direct, well documented), Ca and Mg
(dialysate trials), then neuropathy, aluminium and underdialysis (no quantitative anchor).

A cause score measures how strongly the session shows a mechanism; weak, partial evidence (a UF rate just
above 10 mL/kg/h, a small Na gradient) rarely ends in a cramp, so scores enter the risk raised to the
power ``g = 2.5``. Calibration (modelling choice): with ``g`` and the weights below, the mean risk over 2 000
virtual sessions (``virtual_population(2000, seed=1)``) is 0.22, close to the ~20 % of sessions accompanied by
cramps (13 % Fresenius BVM, 9.8 % Akkabut 2021), and rises with the UF rate band
(< 6, 6-10, 10-13, > 13 mL/kg/h: 0.11, 0.15, 0.30, 0.45).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crampwatch.causes.context import Context, build_context
from crampwatch.causes.features import Features, compute_features
from crampwatch.causes.ids import HYPOVOLEMIA
from crampwatch.causes.registry import CAUSE_SPECS, CAUSES
from crampwatch.model import Scenario
from crampwatch.signals import T_MIN
from crampwatch.trace import SIGNALS, Trace

#: Noisy-OR weights of the overall cramp risk, from the cause registry (see module docstring).
RISK_WEIGHTS: dict[str, float] = {c.id: c.risk_weight for c in CAUSE_SPECS}

Parts = dict[str, np.ndarray]

#: Exponent applied to each cause score before the noisy-OR (see module docstring).
RISK_SCORE_EXPONENT = 2.5


@dataclass(frozen=True)
class Evaluation:
    """Features, sub-scores and scores of a batch."""

    ctx: Context
    features: Features
    parts: dict[str, dict[str, np.ndarray]]
    scores: dict[str, np.ndarray]


def overall_risk(scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """Weighted noisy-OR of the cause scores."""
    keep = np.ones_like(np.asarray(scores[CAUSES[0]], dtype=float))
    for cause in CAUSES:
        strength = np.clip(scores[cause], 0.0, 1.0) ** RISK_SCORE_EXPONENT
        keep = keep * (1.0 - RISK_WEIGHTS[cause] * strength)
    return 1.0 - keep


def evaluate(t_min: np.ndarray, signals: Mapping[str, np.ndarray], ctx: Context) -> Evaluation:
    """Features, sub-scores and scores of every session of the batch."""
    F = compute_features(t_min, signals, ctx)
    P: dict[str, Parts] = {}
    S: dict[str, np.ndarray] = {}
    for spec in CAUSE_SPECS:  # registry order: a cause may read the scores of those before it
        P[spec.id] = spec.parts(F, ctx, S)
        S[spec.id] = spec.score(P[spec.id])
    S = {c: np.clip(S[c], 0.0, 1.0) for c in CAUSES}
    S["overall_risk"] = overall_risk(S)
    S["idh_risk"] = np.clip(P[HYPOVOLEMIA]["idh"], 0.0, 1.0)
    return Evaluation(ctx, F, P, S)


def score_batch(
    t_min: np.ndarray,
    signals: Mapping[str, np.ndarray],
    scenarios: Sequence[Scenario] | Context,
) -> dict[str, np.ndarray]:
    """Cause scores of ``n`` sessions on one time grid.

    ``signals`` maps signal names (docs/formats.md) to arrays ``[n, steps]`` (NaN = missing/padded; a
    ``[1, steps]`` or ``[steps]`` array applies to every session);
    ``scenarios`` has one scenario per session, or a single scenario for all of them, or a prebuilt
    :class:`Context`. Returns one array ``[n]`` per cause id plus ``overall_risk`` and ``idh_risk``.
    """
    t = np.asarray(t_min, dtype=float)
    ctx = scenarios if isinstance(scenarios, Context) else build_context(list(scenarios))
    n = _batch_size(signals) or ctx.n
    if ctx.n == 1 and n > 1:
        ctx = ctx.take(np.zeros(n, dtype=int))
    if ctx.n != n:
        raise ValueError(f"scenarios: {ctx.n} scenarios for {n} sessions")
    return evaluate(t, signals, ctx).scores


def stack_traces(
    traces: Sequence[Trace], signals: Sequence[str] | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time grid and ``[n, steps]`` signal arrays of ``traces`` for :func:`score_batch`.

    The grid is the union of the traces' times (one shared grid when they agree); a trace's missing
    times and signals are NaN.
    """
    if not traces:
        raise ValueError("traces: need at least one trace")
    blocks, columns = [], []
    for tr in traces:
        cols = [c for c in tr.data.columns if c == T_MIN or c in SIGNALS]
        frame = tr.data[cols] if len(cols) != tr.data.shape[1] else tr.data
        blocks.append(frame.to_numpy(dtype=float, na_value=np.nan))
        columns.append({c: k for k, c in enumerate(cols)})
    if signals is None:
        present = {
            c
            for b, cm in zip(blocks, columns, strict=True)
            for c, k in cm.items()
            if c != T_MIN and not np.isnan(b[:, k]).all()
        }
        names = sorted(present)
    else:
        names = list(signals)
    times = [b[:, cm[T_MIN]] for b, cm in zip(blocks, columns, strict=True)]
    same = all(tt.shape == times[0].shape and np.array_equal(tt, times[0]) for tt in times)
    grid = times[0] if same else np.unique(np.concatenate(times))
    out = {name: np.full((len(traces), grid.size), np.nan) for name in names}
    for i, (b, cm, tt) in enumerate(zip(blocks, columns, times, strict=True)):
        idx = slice(None) if same else np.searchsorted(grid, tt)
        for name in names:
            k = cm.get(name)
            if k is not None:
                out[name][i, idx] = b[:, k]
    return grid, out


def _batch_size(signals: Mapping[str, np.ndarray]) -> int | None:
    sizes = {np.asarray(v).shape[0] if np.ndim(v) == 2 else 1 for v in signals.values()}
    if not sizes:
        return None
    if len(sizes) > 1:  # rows of one session broadcast over the batch
        sizes.discard(1)
    if len(sizes) > 1:
        raise ValueError(f"signals: inconsistent batch sizes {sorted(sizes)}")
    return sizes.pop()
