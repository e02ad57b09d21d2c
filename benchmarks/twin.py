"""Patient twin: fit time for one patient with 12 sessions, and parameter recovery on virtual patients.

Virtual patients (``crampwatch.twin.virtual``) have known refill capacity (log-uniform 0.4-2.5 x population,
a 6-fold range), vascular reserve (log-normal, sigma 0.3) and blood volume (log-normal, sigma 0.1), a
day-to-day refill variation of 10 %, and are recorded like machine exports (RBV every 5 min, SBP every
30 min, with noise). Prints Spearman rank correlations and 95 % interval coverage for RBV+BP and BP-only data.

    python3 benchmarks/twin.py [--patients 40] [--sessions 12]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import spearmanr

from crampwatch.twin import fit_twin
from crampwatch.twin.priors import NAMES, population_blood_volume_l
from crampwatch.twin.virtual import virtual_sessions

KEYS = {
    "refill_capacity": "refill_capacity",
    "vascular_reserve": "vascular_reserve",
    "blood_volume": "blood_volume_l",
}


def draw_truth(rng: np.random.Generator) -> dict[str, float]:
    return {
        "refill_capacity": float(np.exp(rng.uniform(np.log(0.4), np.log(2.5)))),
        "vascular_reserve": float(np.clip(np.exp(rng.normal(0.0, 0.3)), 0.3, 2.5)),
        "blood_volume": float(np.clip(np.exp(rng.normal(0.0, 0.1)), 0.75, 1.35)),
    }


def recovery(n_patients: int, n_sessions: int, rbv: bool, seed: int = 11) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    truth = {k: [] for k in NAMES}
    est = {k: [] for k in NAMES}
    inside = {k: [] for k in NAMES}
    times = []
    for i in range(n_patients):
        t = draw_truth(rng)
        recs = virtual_sessions(t, n_sessions, seed=seed, rbv=rbv, patient_index=i)
        t0 = time.perf_counter()
        twin = fit_twin(recs)
        times.append(time.perf_counter() - t0)
        p = recs[0].scenario.patient
        for k in NAMES:
            par = twin.parameters[KEYS[k]]
            scale = population_blood_volume_l(p.sex, p.dry_weight_kg) if k == "blood_volume" else 1.0
            truth[k].append(t[k])
            est[k].append(par["value"] / scale)
            inside[k].append(par["ci"][0] / scale <= t[k] <= par["ci"][1] / scale)
    out = {}
    for k in NAMES:
        out[k] = {
            "spearman": float(spearmanr(truth[k], est[k]).statistic),
            "coverage_95": float(np.mean(inside[k])),
            "median_abs_log_error": float(np.median(np.abs(np.log(np.array(est[k]) / np.array(truth[k]))))),
        }
    out["fit_time_s"] = {"median": float(np.median(times)), "max": float(np.max(times))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=40)
    ap.add_argument("--sessions", type=int, default=12)
    args = ap.parse_args()
    recs = virtual_sessions({"refill_capacity": 0.6}, 12, seed=3)
    fit_twin(recs)  # warm-up
    t0 = time.perf_counter()
    for _ in range(3):
        fit_twin(recs)
    print(f"fit time, one patient with 12 sessions (RBV+BP): {(time.perf_counter() - t0) / 3:.2f} s")
    for rbv in (True, False):
        res = recovery(args.patients, args.sessions, rbv)
        label = "RBV every 5 min + SBP every 30 min" if rbv else "SBP every 30 min only"
        print(f"\nrecovery, {args.patients} virtual patients x {args.sessions} sessions, {label}")
        print(f"{'parameter':<18} {'Spearman':>9} {'95% CI coverage':>16} {'median |log error|':>19}")
        for k in NAMES:
            r = res[k]
            print(
                f"{k:<18} {r['spearman']:>9.3f} {r['coverage_95']:>16.2f} {r['median_abs_log_error']:>19.3f}"
            )
        ft = res["fit_time_s"]
        print(f"fit time per patient: median {ft['median']:.2f} s, max {ft['max']:.2f} s")


if __name__ == "__main__":
    main()
