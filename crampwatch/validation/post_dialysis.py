"""Checks on the hour after dialysis (``after_min``): urea rebound from the slow pools and eKt/V from the
equilibrated urea, on the seeded virtual population."""

from __future__ import annotations

from functools import cache

import numpy as np

from crampwatch.kinetics import ekt_v_rate, sp_ktv_daugirdas
from crampwatch.signals import UREA_MMOL_L
from crampwatch.simulator import BatchResult, patient_parameters, session_controls, simulate_parameters
from crampwatch.validation.fixtures import POPULATION_N, POPULATION_SEED
from crampwatch.validation.registry import Check, register

#: Population size of these checks (each session is simulated for 2 more hours).
N_SESSIONS = min(POPULATION_N, 300)


@cache
def _rebound_runs() -> tuple[list, BatchResult, BatchResult]:
    """The population with 2 h after dialysis: as it is, and with urea generation and residual clearance off
    (redistribution alone)."""
    from crampwatch.population import virtual_population

    pop = virtual_population(N_SESSIONS, POPULATION_SEED)
    ctrl = session_controls(pop, 1.0, 120.0)
    with_generation = simulate_parameters(patient_parameters(pop), ctrl)
    p = patient_parameters(pop)
    p.g_urea = np.zeros(p.n)
    p.kr = np.zeros(p.n)
    return pop, with_generation, simulate_parameters(p, ctrl)


def _urea_after(res: BatchResult, minutes: float) -> np.ndarray:
    col = np.rint(res.duration_min + minutes).astype(int)
    return res.signals[UREA_MMOL_L][np.arange(len(res)), col]


def _rebound(minutes: float) -> np.ndarray:
    _, _, res = _rebound_runs()
    ok = ~res.failed
    return 100.0 * (_urea_after(res, minutes)[ok] / _urea_after(res, 0.0)[ok] - 1.0)


def _rebound_size() -> tuple[float, str]:
    return float(np.median(_rebound(120.0))), f"median of {N_SESSIONS} virtual sessions, redistribution alone"


def _rebound_by_30() -> tuple[float, str]:
    return float(
        np.min(_rebound(30.0) / _rebound(120.0))
    ), "smallest share of the 2-h rebound reached at 30 min"


def _rebound_by_60() -> tuple[float, str]:
    return float(
        np.min(_rebound(60.0) / _rebound(120.0))
    ), "smallest share of the 2-h rebound reached at 60 min"


def _ekt_v_30() -> tuple[float, str]:
    pop, res, _ = _rebound_runs()
    diffs = []
    for i, sc in enumerate(pop):
        if res.failed[i]:
            continue
        hours = sc.prescription.duration_min / 60.0
        pre = res.signals[UREA_MMOL_L][i, 0]
        args = (hours, sc.uf_volume_l, sc.post_weight_kg)
        sp = sp_ktv_daugirdas(pre, _urea_after(res, 0.0)[i], *args)
        eq = sp_ktv_daugirdas(pre, _urea_after(res, 30.0)[i], *args)
        diffs.append(float(eq - ekt_v_rate(sp, hours, sc.patient.access)))
    return float(np.mean(diffs)), f"mean over {len(diffs)} virtual sessions (30-min post-dialysis urea)"


for _c in (
    Check(
        "urea_rebound_size",
        "post-dialysis",
        "Urea rebound after dialysis (% of the post-dialysis urea)",
        "Tattersall JE et al. Kidney Int 1996;50:2094; Daugirdas & Schneditz ASAIO J 1995",
        "virtual population, 2 h after dialysis, urea generation off",
        "typically 10-20 %",
        "%",
        10.0,
        20.0,
        _rebound_size,
    ),
    Check(
        "urea_rebound_by_30_min",
        "post-dialysis",
        "Urea rebound mostly complete 30 min after dialysis",
        "Tattersall JE et al. Kidney Int 1996;50:2094",
        "virtual population, share of the 2-h rebound at 30 min",
        "mostly complete (>= 0.8)",
        "1",
        0.8,
        1.0,
        _rebound_by_30,
    ),
    Check(
        "urea_rebound_by_60_min",
        "post-dialysis",
        "Urea rebound finished about 60 min after dialysis",
        "Tattersall JE et al. Kidney Int 1996;50:2094",
        "virtual population, share of the 2-h rebound at 60 min",
        "finished (>= 0.95)",
        "1",
        0.95,
        1.0,
        _rebound_by_60,
    ),
    Check(
        "ekt_v_from_30_min_urea",
        "post-dialysis",
        "eKt/V from the 30-min post-dialysis urea vs the Daugirdas rate equation",
        "Daugirdas JT & Schneditz D. ASAIO J 1995;41:M719",
        "virtual population, urea generation on",
        "difference 0 (rate equation)",
        "Kt/V",
        -0.05,
        0.05,
        _ekt_v_30,
    ),
):
    register(_c)
