"""Patient twin: fit time, and recovery of known physiology from records that are wrong in realistic ways.

Virtual patients (``crampwatch.twin.virtual``) have known refill capacity (log-uniform 0.4-2.5 x population,
a 6-fold range), vascular reserve (log-normal, sigma 0.3) and blood volume (log-normal, sigma 0.1), a
day-to-day refill variation of 10 %, and are recorded like machine exports (RBV every 5 min, SBP every 30
min, with noise). Each arm makes the record worse in one way (``ARMS``); every arm fits the same patients
(same truths per seed). Reported per arm and parameter: coverage of the 95 % intervals (share of patients
whose interval holds the truth) with its Wilson 95 % interval, Spearman rank correlation of fitted and true
values (over all seeds' patients, and the lowest of the seeds), median absolute log error. The blood volume
is compared as the twin's litres over the population value at the true dry weight (so that neither body size
nor a wrong dry weight ranks it). The refill share (``crampwatch.twin.refill``) is compared with its true
value in the same sessions under the refill law that generated them, and also ranked against the true
refill capacity. ``--exact-inputs`` fits with the entered inputs taken as exact (the rest of the fit
unchanged). Seeds are ``--first-seed`` onwards (default 11).

    python3 benchmarks/twin.py [--patients 30] [--seeds 3] [--sessions 12] [--first-seed 11]
        [--arms exact,albumin] [--json F]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from crampwatch.twin import fit_twin
from crampwatch.twin.priors import NAMES, population_blood_volume_l
from crampwatch.twin.refill import REFILL_SHARE
from crampwatch.twin.virtual import EXACT, RecordErrors, virtual_sessions, virtual_sessions_and_truth

KEYS = {
    "refill_capacity": "refill_capacity",
    "vascular_reserve": "vascular_reserve",
    "blood_volume": "blood_volume_l",
    "refill_share": REFILL_SHARE,
}
#: What each arm reports: the fitted parameters, and the refill share (:mod:`crampwatch.twin.refill`)
#: against its true value in the same sessions under the law that generated them.
REPORTED = (*NAMES, "refill_share")
#: Spread of the errors drawn per patient in the arms (the issue's real-world spreads): dry weight entered
#: uniformly within +-5 % of the truth, albumin with SD 0.4 g/dL, hematocrit with SD 3.4 %-points.
WEIGHT_ERROR_MAX = 0.05
ALBUMIN_ERROR_SD_G_DL = 0.4
HCT_ERROR_SD_PCT = 3.4
WILSON_Z = 1.959963984540054


@dataclass(frozen=True)
class Arm:
    name: str
    text: str
    errors: Callable[[np.random.Generator], RecordErrors]
    rbv: bool = True
    rank_only: bool = False


ARMS: tuple[Arm, ...] = (
    Arm("exact", "inputs exact, export noise only", lambda rng: EXACT),
    Arm("machine", "machine-like signal errors (RBV drift and artefacts, BP outliers)",
        lambda rng: RecordErrors(machine_noise=True)),
    Arm("missing", "20 % of samples missing", lambda rng: RecordErrors(missing_fraction=0.2)),
    Arm("weight", "dry weight entered within +-5 % of the truth",
        lambda rng: RecordErrors(dry_weight_error=float(rng.uniform(-WEIGHT_ERROR_MAX, WEIGHT_ERROR_MAX)))),
    Arm("albumin", "albumin entered with an error of SD 0.4 g/dL",
        lambda rng: RecordErrors(albumin_error_g_dl=float(rng.normal(0.0, ALBUMIN_ERROR_SD_G_DL)))),
    Arm("combined", "all of the above, and hematocrit with an error of SD 3.4 %-points",
        lambda rng: RecordErrors(
            machine_noise=True,
            missing_fraction=0.2,
            dry_weight_error=float(rng.uniform(-WEIGHT_ERROR_MAX, WEIGHT_ERROR_MAX)),
            albumin_error_g_dl=float(rng.normal(0.0, ALBUMIN_ERROR_SD_G_DL)),
            hct_error_pct=float(rng.normal(0.0, HCT_ERROR_SD_PCT)),
        )),
    Arm("refill_law", "RBV from a refill law of another form (deficit law), RBV only; rank only",
        lambda rng: RecordErrors(refill_law="deficit"), rank_only=True),
    Arm("bp_only", "inputs exact, SBP every 30 min only", lambda rng: EXACT, rbv=False),
)  # fmt: skip
BY_NAME = {a.name: a for a in ARMS}


def draw_truth(rng: np.random.Generator) -> dict[str, float]:
    return {
        "refill_capacity": float(np.exp(rng.uniform(np.log(0.4), np.log(2.5)))),
        "vascular_reserve": float(np.clip(np.exp(rng.normal(0.0, 0.3)), 0.3, 2.5)),
        "blood_volume": float(np.clip(np.exp(rng.normal(0.0, 0.1)), 0.75, 1.35)),
    }


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score 95 % interval of a proportion k / n (Wilson EB, J Am Stat Assoc 1927;22:209)."""
    if n == 0:
        return float("nan"), float("nan")
    p, z2 = k / n, WILSON_Z**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = WILSON_Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def fit_patients(arm: Arm, seed: int, n_patients: int, n_sessions: int, exact_inputs: bool) -> dict:
    """True and fitted values, interval hits and fit times of ``n_patients`` patients of one seed."""
    rng_truth = np.random.default_rng([seed, 0])
    rng_err = np.random.default_rng([seed, 1])
    rows = {k: {"truth": [], "est": [], "inside": []} for k in REPORTED}
    times = []
    for i in range(n_patients):
        truth = draw_truth(rng_truth)
        errors = arm.errors(rng_err)
        recs, share = virtual_sessions_and_truth(
            truth, n_sessions, seed=seed, rbv=arm.rbv, patient_index=i, errors=errors
        )
        truth = {**truth, "refill_share": 100.0 * share}
        t0 = time.perf_counter()
        twin = fit_twin(recs, uncertain_inputs=not exact_inputs)
        times.append(time.perf_counter() - t0)
        p = recs[0].scenario.patient
        true_dry_kg = p.dry_weight_kg / (1.0 + errors.dry_weight_error)
        for k in REPORTED:
            par = twin.parameters[KEYS[k]]
            # the blood volume in litres over the population value at the true dry weight
            scale = population_blood_volume_l(p.sex, true_dry_kg) if k == "blood_volume" else 1.0
            rows[k]["truth"].append(truth[k])
            rows[k]["est"].append(par["value"] / scale)
            rows[k]["inside"].append(bool(par["ci"][0] / scale <= truth[k] <= par["ci"][1] / scale))
    return {"rows": rows, "times": times}


def summarize(per_seed: list[dict], rank_only: bool) -> dict:
    out: dict = {}
    for k in REPORTED:
        truth = np.concatenate([s["rows"][k]["truth"] for s in per_seed])
        est = np.concatenate([s["rows"][k]["est"] for s in per_seed])
        inside = np.concatenate([s["rows"][k]["inside"] for s in per_seed])
        by_seed = [float(spearmanr(s["rows"][k]["truth"], s["rows"][k]["est"]).statistic) for s in per_seed]
        entry = {
            "spearman": float(spearmanr(truth, est).statistic),
            "spearman_lowest_seed": min(by_seed),
            "n": int(inside.size),
        }
        if not rank_only:
            hits = int(inside.sum())
            lo, hi = wilson(hits, inside.size)
            entry.update(
                coverage_95=hits / inside.size,
                coverage_hits=hits,
                coverage_wilson_95=[lo, hi],
                median_abs_log_error=float(np.median(np.abs(np.log(est / truth)))),
            )
        out[k] = entry
    refill = np.concatenate([s["rows"]["refill_capacity"]["truth"] for s in per_seed])
    share = np.concatenate([s["rows"]["refill_share"]["est"] for s in per_seed])
    out["refill_share"]["spearman_vs_true_refill_capacity"] = float(spearmanr(refill, share).statistic)
    times = np.concatenate([s["times"] for s in per_seed])
    out["fit_time_s"] = {"median": float(np.median(times)), "max": float(np.max(times))}
    return out


def print_arm(arm: Arm, res: dict, n_seeds: int, n_patients: int, n_sessions: int) -> None:
    print(f"\n[{arm.name}] {arm.text}; {n_seeds} seeds x {n_patients} patients x {n_sessions} sessions")
    head = ("parameter", "Spearman", "(lowest seed)", "95% coverage", "Wilson 95% CI")
    print("{:<18} {:>9} {:>13} {:>13} {:>15}".format(*head))
    for k in REPORTED:
        r = res[k]
        cov = "rank only" if arm.rank_only else f"{r['coverage_hits']}/{r['n']} {r['coverage_95']:.2f}"
        ci = "" if arm.rank_only else "{:.2f}-{:.2f}".format(*r["coverage_wilson_95"])
        print(f"{k:<18} {r['spearman']:>9.3f} {r['spearman_lowest_seed']:>13.3f} {cov:>13} {ci:>15}")
    print(
        "refill share ranked against the true refill capacity: Spearman "
        f"{res['refill_share']['spearman_vs_true_refill_capacity']:.3f}"
    )
    ft = res["fit_time_s"]
    print(f"fit time per patient: median {ft['median']:.2f} s, max {ft['max']:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=30, help="virtual patients per seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=11, help="seeds are first-seed, first-seed + 1, ...")
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--arms", default=",".join(a.name for a in ARMS))
    ap.add_argument("--exact-inputs", action="store_true", help="fit with the entered inputs taken as exact")
    ap.add_argument("--json", help="write the results to this JSON file")
    args = ap.parse_args()
    arms = [BY_NAME[name] for name in args.arms.split(",")]
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    recs = virtual_sessions({"refill_capacity": 0.6}, 12, seed=3)
    fit_twin(recs, uncertain_inputs=not args.exact_inputs)  # warm-up
    t0 = time.perf_counter()
    for _ in range(3):
        fit_twin(recs, uncertain_inputs=not args.exact_inputs)
    fit_time = (time.perf_counter() - t0) / 3
    print(f"fit time, one patient with 12 sessions (RBV+BP): {fit_time:.2f} s")
    results = {"fit_time_12_sessions_s": fit_time, "exact_inputs": args.exact_inputs, "arms": {}}
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for arm in arms:
        per_seed = [fit_patients(arm, s, args.patients, args.sessions, args.exact_inputs) for s in seeds]
        res = summarize(per_seed, arm.rank_only)
        results["arms"][arm.name] = {"text": arm.text, "seeds": seeds, "patients": args.patients, **res}
        print_arm(arm, res, len(seeds), args.patients, args.sessions)
    results["load_average_end"] = list(os.getloadavg())
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
