"""Unit cramp model: known rules recovered on three virtual units; training time at 10^4 and 10^5 sessions.

For each virtual unit (:mod:`crampwatch.learn.virtual`: cramps follow the analyzer's own risk, the plasma-Na
fall, or the serum-Mg nadir) it prints the rule's ceiling AUROC, the analyzer's (prior) AUROC and Brier
score, the unit model's patient-grouped cross-validated AUROC and Brier score, the AUROC of the model that
is used (the unit model, or the prior when it is kept) and the decision; then the time to build the input
table (simulation + batch scoring core) and the time to train (nested patient-grouped CV + final fit).

    python3 benchmarks/learn.py                     # three units of 10 000 sessions, then 100 000 sessions
    python3 benchmarks/learn.py --sessions 10000 --patients-per-unit 1000 --skip-large
"""

from __future__ import annotations

import argparse
import os
import time

from sklearn.metrics import brier_score_loss, roc_auc_score

from crampwatch.learn import train_unit_model
from crampwatch.learn.inputs import PRIOR_COLUMN
from crampwatch.learn.virtual import RULES, virtual_unit

SESSIONS_PER_PATIENT = 10


def run_unit(rule: str, n_patients: int, seed: int) -> dict[str, object]:
    t0, c0 = time.perf_counter(), time.process_time()
    u = virtual_unit(rule, n_patients, SESSIONS_PER_PATIENT, seed=seed)
    t1, c1 = time.perf_counter(), time.process_time()
    model = train_unit_model(u.table, u.cramp, u.patient_ids)
    t2, c2 = time.perf_counter(), time.process_time()
    tr = model.training
    prior = u.table[PRIOR_COLUMN].to_numpy()
    return {
        "rule": rule,
        "sessions": len(u.cramp),
        "patients": tr["patients"],
        "cramp_rate": tr["cramp_rate"],
        "ceiling_auroc": u.ceiling_auroc(),
        "prior_auroc": roc_auc_score(u.cramp, prior),
        "prior_brier": brier_score_loss(u.cramp, prior),
        "cv_auroc": tr["cv_model"]["auroc"],
        "cv_brier": tr["cv_model"]["brier"],
        "used": "prior" if model.uses_prior else "unit model",
        "used_cv_auroc": tr["prior"]["auroc"] if model.uses_prior else tr["cv_model"]["auroc"],
        "used_cv_brier": tr["prior"]["brier"] if model.uses_prior else tr["cv_model"]["brier"],
        "table_s": t1 - t0,
        "train_s": t2 - t1,
        "table_cpu_s": c1 - c0,
        "train_cpu_s": c2 - c1,
        "weights": {w["cause"]: w["learned_log_odds_per_score"] for w in model.cause_weights()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients-per-unit", type=int, default=1000, help="patients of each small unit")
    parser.add_argument("--large-patients", type=int, default=10_000, help="patients of the large unit")
    parser.add_argument("--skip-large", action="store_true", help="do not run the large unit")
    args = parser.parse_args()
    print(f"CPUs available: {len(os.sched_getaffinity(0))}; {SESSIONS_PER_PATIENT} sessions per patient")
    header = (
        f"{'unit':<10}{'sessions':>9}{'cramps':>8}{'ceiling':>9}{'prior':>8}{'learned':>9}{'used':>8}"
        f"{'Brier prior':>12}{'Brier learned':>14}{'table s':>9}{'train s':>9}  decision"
    )
    print("AUROC: ceiling = the rule's own risk; prior = analyzer; learned = unit model, patient-grouped CV")
    print(header)
    rows = [run_unit(rule, args.patients_per_unit, seed=11) for rule in RULES]
    if not args.skip_large:
        rows.append(run_unit("sodium", args.large_patients, seed=12))
    for r in rows:
        print(
            f"{r['rule']:<10}{r['sessions']:>9}{100 * r['cramp_rate']:>7.1f}%{r['ceiling_auroc']:>9.3f}"
            f"{r['prior_auroc']:>8.3f}{r['cv_auroc']:>9.3f}{r['used_cv_auroc']:>8.3f}{r['prior_brier']:>12.4f}"
            f"{r['cv_brier']:>14.4f}{r['table_s']:>9.1f}{r['train_s']:>9.1f}  {r['used']}"
        )
    for r in rows:
        print(
            f"{r['rule']} unit, {r['sessions']} sessions: input table {r['table_s']:.1f} s wall / "
            f"{r['table_cpu_s']:.1f} s CPU; training {r['train_s']:.1f} s wall / {r['train_cpu_s']:.1f} s CPU"
        )
    for r in rows:
        weights = ", ".join(f"{c} {w:+.2f}" for c, w in r["weights"].items())
        print(f"learned cause weights, {r['rule']} unit ({r['sessions']} sessions): {weights}")
    print(
        "training = nested patient-grouped CV (5 outer x 3 inner folds, 6 penalties) + final fit; "
        f"largest unit {max(r['sessions'] for r in rows)} sessions"
    )


if __name__ == "__main__":
    main()
