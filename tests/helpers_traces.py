"""Constructed sessions with a known mechanism: a scenario plus a trace shaped by that mechanism only.

The trace shapes follow the physiology the findings test for (e.g. a steep RBV fall with a BP fall for
hypovolemia) and are written independently of any simulator, so the tests check the analyzer against the
mechanism, not against a model.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from crampwatch.model import Scenario, parse_scenario
from crampwatch.trace import Trace, empty_events

BASE: dict[str, Any] = {
    "patient": {
        "id": "T-BASE",
        "sex": "male",
        "age_years": 60,
        "height_cm": 175,
        "pre_weight_kg": 77.0,
        "dry_weight_kg": 75.0,
        "vintage_months": 36,
        "diabetes": False,
        "peripheral_neuropathy": False,
        "active_vitamin_d": True,
        "cramps_outside_sessions": False,
        "labs": {
            "na_mmol_l": 138,
            "k_mmol_l": 5.0,
            "bun_mg_dl": 60,
            "ca_total_mg_dl": 9.2,
            "albumin_g_dl": 4.0,
            "mg_mmol_l": 0.9,
            "hco3_mmol_l": 22,
            "hct_pct": 33,
            "glucose_mg_dl": 100,
            "aluminium_ug_l": 5,
        },
    },
    "prescription": {
        "duration_min": 240,
        "uf_volume_l": 2.0,
        "uf_profile": "constant",
        "qb_ml_min": 350,
        "qd_ml_min": 500,
        "dialyzer_koa_ml_min": 1200,
        "dialysate": {
            "na_mmol_l": 138,
            "k_mmol_l": 2.0,
            "ca_mmol_l": 1.5,
            "mg_mmol_l": 0.5,
            "hco3_mmol_l": 32,
            "temp_c": 36.0,
        },
    },
}


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def scenario(patch: dict[str, Any] | None = None) -> Scenario:
    return parse_scenario(_merge(BASE, patch or {}))


def _curve(t: np.ndarray, start: float, end: float, shape: float = 1.0) -> np.ndarray:
    """From ``start`` to ``end`` over the session; ``shape`` < 1 front-loaded, > 1 back-loaded."""
    x = np.clip(t / t[-1], 0, 1) ** shape
    return start + (end - start) * x


def stable_signals(t: np.ndarray, uf_l: float = 2.0) -> dict[str, np.ndarray]:
    """A calm session: RBV to ~92 %, small BP fall, flat Na, normal iCa/Mg, URR ~70 %."""
    dur = t[-1]
    return {
        "rbv_pct": _curve(t, 100.0, 92.0, 0.8),
        "sbp_mmhg": _curve(t, 138.0, 128.0),
        "dbp_mmhg": _curve(t, 78.0, 74.0),
        "hr_bpm": _curve(t, 72.0, 76.0),
        "uf_cum_l": uf_l * t / dur,
        "uf_rate_ml_h": np.full_like(t, uf_l * 1000.0 / (dur / 60.0)),
        "plasma_na_mmol_l": _curve(t, 138.0, 138.5),
        "osm_mosm_kg": _curve(t, 308.0, 292.0, 0.7),
        "ica_mmol_l": _curve(t, 1.18, 1.22),
        "mg_mmol_l": _curve(t, 0.9, 0.8, 0.7),
        "hco3_mmol_l": _curve(t, 22.0, 26.0, 0.7),
        "urea_mmol_l": 21.4 * np.exp(-1.2 * t / dur),
        "dialysate_na_mmol_l": np.full_like(t, 138.0),
    }


def make(
    kind: str, *, step_min: float = 1.0, events: list[tuple[float, str]] | None = None
) -> tuple[Trace, Scenario]:
    """A (trace, scenario) pair whose only abnormal mechanism is ``kind`` (``mixed_*`` combine two)."""
    patch: dict[str, Any] = {}
    dur = 240.0
    if kind in {"hypovolemia", "mixed_hypo_osmotic"}:
        patch = {
            "patient": {"pre_weight_kg": 64.5, "dry_weight_kg": 60.0, "sex": "female", "height_cm": 160},
            "prescription": {"duration_min": 210, "uf_volume_l": 4.2},
        }
        dur = 210.0
    if kind in {"osmotic", "mixed_hypo_osmotic"}:
        patch = _merge(
            patch,
            {"patient": {"labs": {"na_mmol_l": 140}}, "prescription": {"dialysate": {"na_mmol_l": 131}}},
        )
    if kind == "hypocalcemia":
        patch = {
            "patient": {
                "vintage_months": 6,
                "active_vitamin_d": False,
                "labs": {"ca_total_mg_dl": 8.2, "albumin_g_dl": 3.8, "hco3_mmol_l": 25},
            },
            "prescription": {"dialysate": {"ca_mmol_l": 1.0, "hco3_mmol_l": 40}},
        }
    if kind == "hypomagnesemia":
        patch = {"patient": {"labs": {"mg_mmol_l": 0.72}}, "prescription": {"dialysate": {"mg_mmol_l": 0.25}}}
    if kind == "disequilibrium":
        patch = {
            "patient": {"vintage_months": 0, "labs": {"bun_mg_dl": 160}},
            "prescription": {"uf_volume_l": 1.0},
        }
    if kind == "encephalopathy":
        patch = {"patient": {"labs": {"aluminium_ug_l": 160}}}
    if kind == "neuropathy":
        patch = {
            "patient": {"peripheral_neuropathy": True, "diabetes": True, "cramps_outside_sessions": True}
        }
    if kind == "underdialysis":
        patch = {"prescription": {"qb_ml_min": 200, "dialyzer_koa_ml_min": 500, "duration_min": 180}}
        dur = 180.0
    sc = scenario(patch)
    t = np.arange(0.0, dur + 1e-9, step_min)
    s = stable_signals(t, sc.uf_volume_l)
    if kind in {"hypovolemia", "mixed_hypo_osmotic"}:
        s["rbv_pct"] = _curve(t, 100.0, 80.0, 0.9)
        s["sbp_mmhg"] = np.where(
            t < 120, _curve(t, 150.0, 128.0), np.interp(t, [120, 170, 210], [128, 84, 92])
        )
        s["dbp_mmhg"] = s["sbp_mmhg"] * 0.55
    if kind in {"osmotic", "mixed_hypo_osmotic"}:
        s["plasma_na_mmol_l"] = _curve(t, 140.0, 134.5, 0.6)
        s["dialysate_na_mmol_l"] = np.full_like(t, 131.0)
        s["osm_mosm_kg"] = _curve(t, 312.0, 285.0, 0.7)
    if kind == "hypocalcemia":
        s["ica_mmol_l"] = _curve(t, 1.08, 0.93, 0.7)
        s["hco3_mmol_l"] = _curve(t, 25.0, 31.0, 0.7)
    if kind == "hypomagnesemia":
        s["mg_mmol_l"] = _curve(t, 0.72, 0.56, 0.7)
    if kind == "disequilibrium":
        s["urea_mmol_l"] = 57.1 * np.exp(-1.1 * t / dur)
        s["osm_mosm_kg"] = _curve(t, 340.0, 300.0, 0.7)
        s["brain_urea_mmol_l"] = 57.1 * np.exp(-0.6 * t / dur)
    if kind == "underdialysis":
        s["urea_mmol_l"] = 25.0 * np.exp(-0.62 * t / dur)
    data = pd.DataFrame({"t_min": t, **s})
    ev = empty_events()
    if events:
        ev = pd.DataFrame(
            {
                "t_min": [e[0] for e in events],
                "kind": [e[1] for e in events],
                "severity": [5.0] * len(events),
                "note": [""] * len(events),
            }
        )
    return Trace(data, ev, session_id=f"T-{kind}"), sc


def drop(trace: Trace, *names: str) -> Trace:
    """A copy of ``trace`` without the signals ``names`` (to test missing-signal handling)."""
    data = trace.data.drop(columns=[n for n in names if n in trace.data.columns])
    return Trace(
        data,
        trace.events.copy(),
        {k: v for k, v in trace.sources.items() if k not in names},
        trace.session_id,
    )
