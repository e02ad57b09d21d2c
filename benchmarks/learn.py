"""Unit cramp model on virtual units that record what a unit records: known rules, held-out units.

For each virtual unit (:mod:`crampwatch.learn.virtual`: cramps follow the analyzer's own risk, the plasma-Na
fall, the serum-Mg nadir or the plasma-K fall, each partly through a session factor nothing records; the
model sees noisy, partly missing machine signals, monthly labs with error and reported cramps, some missed)
it trains the unit model, then checks the decision on a held-out unit (new patients under the same rule).

Printed per unit: reported cramp rate; the ceiling (AUROC of the rule's session risk on the reported
cramps, the patient effect left out) and the driver ceiling (the rule's measurable part alone); the
analyzer's AUROC; the unit model's patient-grouped CV AUROC; whether threshold and interaction terms were
kept; the
decision; on the held-out unit the AUROC, Brier score and log loss of the analyzer and of the unit model,
the clustered z of the unit model's log-loss gain, and whether the decision was right there (the unit
model is used and beats the analyzer on the held-out unit, or the analyzer is kept and the unit model does
not beat it with z >= 1.645). Times: input table (two simulations + scoring) and training.

    python3 benchmarks/learn.py                                   # 4 units x 10 000 sessions, held out 5 000
    python3 benchmarks/learn.py --patients-per-unit 200 --holdout-patients 100   # reduced
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np

from crampwatch.learn import train_unit_model
from crampwatch.learn.fit import clustered_gain, metrics, prior_logit
from crampwatch.learn.inputs import PRIOR_COLUMN
from crampwatch.learn.train import GAIN_Z
from crampwatch.learn.virtual import RULES, virtual_unit

SESSIONS_PER_PATIENT = 10


def held_out(model, unit) -> dict[str, object]:  # noqa: ANN001
    """Analyzer and unit model on a held-out unit; the unit model's figures even where the prior is kept."""
    prior = unit.table[PRIOR_COLUMN].to_numpy()
    learned = dataclasses.replace(model, uses_prior=False).risk(unit.table)
    gain, z = clustered_gain(unit.cramp, learned, prior, unit.patient_ids)
    right = (not model.uses_prior and gain > 0) or (model.uses_prior and not (gain > 0 and z >= GAIN_Z))
    return {
        "prior": metrics(unit.cramp, prior),
        "model": metrics(unit.cramp, learned),
        "gain": gain,
        "z": z,
        "right": right,
        "ceiling": unit.ceiling_auroc(),
    }


def run_unit(rule: str, n_patients: int, n_holdout: int, seed: int) -> dict[str, object]:
    t0, c0 = time.perf_counter(), time.process_time()
    u = virtual_unit(rule, n_patients, SESSIONS_PER_PATIENT, seed=seed)
    t1, c1 = time.perf_counter(), time.process_time()
    model = train_unit_model(u.table, u.cramp, u.patient_ids)
    t2, c2 = time.perf_counter(), time.process_time()
    h = held_out(model, virtual_unit(rule, n_holdout, SESSIONS_PER_PATIENT, seed=seed + 1000))
    tr = model.training
    return {
        "rule": rule,
        "sessions": len(u.cramp),
        "cramp_rate": tr["cramp_rate"],
        "true_rate": float(np.mean(u.true_cramp)),
        "ceiling": u.ceiling_auroc(),
        "driver_ceiling": u.driver_ceiling_auroc(),
        "prior_auroc": tr["prior"]["auroc"],
        "cv_auroc": tr["cv_model"]["auroc"],
        "thresholds": tr["thresholds"]["used"],
        "thr_z": tr["thresholds"]["gain_z"],
        "interactions": tr["interactions"]["used"],
        "int_z": tr["interactions"]["gain_z"],
        "used": "analyzer" if model.uses_prior else "unit model",
        "cv_z": tr["gain_z"],
        "holdout": h,
        "table_s": t1 - t0,
        "train_s": t2 - t1,
        "table_cpu_s": c1 - c0,
        "train_cpu_s": c2 - c1,
        "weights": _largest_weights(model, u.table),
        "cause_weights": {w["cause"]: w["learned_log_odds_per_score"] for w in model.cause_weights()},
    }


def _largest_weights(model, table, k: int = 5) -> list[tuple[str, float]]:  # noqa: ANN001
    """The ``k`` inputs with the largest learned weight per SD of the input in the training table."""
    per_sd = []
    for w in model.feature_weights():
        name = w["feature"]
        if name in table.columns:
            sd = float(np.nanstd(table[name].to_numpy(dtype=float)))
        elif name == "prior_logit":
            sd = float(np.std(prior_logit(table[PRIOR_COLUMN].to_numpy(dtype=float))))
        else:  # threshold term: used only when its weight is not 0
            sd = 1.0
        per_sd.append((name, w["learned_log_odds_per_unit"] * sd))
    return sorted(per_sd, key=lambda fw: -abs(fw[1]))[:k]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _print(rows: list[dict]) -> None:
    print(
        f"{'unit':<10}{'sessions':>9}{'reported':>9}{'ceiling':>8}{'driver':>7}{'analyzer':>9}{'CV':>7}"
        f"{'thr/int':>8}  {'decision':<11}|{'held-out:':>10}{'ceiling':>8}{'analyzer':>9}{'model':>7}"
        f"{'Brier a/m':>15}{'logloss a/m':>15}{'z':>6}  right"
    )
    for r in rows:
        h = r["holdout"]
        print(
            f"{r['rule']:<10}{r['sessions']:>9}{100 * r['cramp_rate']:>8.1f}%{r['ceiling']:>8.3f}"
            f"{r['driver_ceiling']:>7.3f}{r['prior_auroc']:>9.3f}{r['cv_auroc']:>7.3f}"
            f"{_yes(r['thresholds']) + '/' + _yes(r['interactions']):>8}  {r['used']:<11}|{'':>10}"
            f"{h['ceiling']:>8.3f}"
            f"{h['prior']['auroc']:>9.3f}{h['model']['auroc']:>7.3f}"
            f"{h['prior']['brier']:>8.4f}/{h['model']['brier']:.4f}"
            f"{h['prior']['log_loss']:>8.4f}/{h['model']['log_loss']:.4f}{h['z']:>6.1f}  "
            f"{'yes' if h['right'] else 'NO'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients-per-unit", type=int, default=1000, help="patients of each unit")
    parser.add_argument("--holdout-patients", type=int, default=500, help="patients of each held-out unit")
    parser.add_argument("--rules", nargs="*", default=list(RULES), choices=RULES)
    args = parser.parse_args()
    print(
        f"CPUs available: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f}; "
        f"{SESSIONS_PER_PATIENT} sessions per patient"
    )
    rows = [run_unit(rule, args.patients_per_unit, args.holdout_patients, seed=11) for rule in args.rules]
    print(
        "AUROC: ceiling = the rule's session risk (incl. the unmeasured factor) on the reported cramps; "
        "driver = its measurable part alone; analyzer = the analyzer's risk; CV = unit model, "
        "patient-grouped CV; held-out = a unit of new patients under the same rule (a/m: analyzer/model; "
        "z: clustered z of the model's log-loss gain)"
    )
    _print(rows)
    for r in rows:
        h = r["holdout"]
        used = h["prior" if r["used"] == "analyzer" else "model"]["auroc"]
        gap = h["ceiling"] - used
        print(
            f"{r['rule']} unit: true cramps {100 * r['true_rate']:.1f} %, "
            f"reported {100 * r['cramp_rate']:.1f} %; "
            f"CV gain z {r['cv_z']:.2f}; thresholds z {r['thr_z']:.2f}, interactions z {r['int_z']:.2f}; "
            f"held-out gap to the ceiling "
            f"{gap:.3f} (used risk's held-out AUROC {used:.3f}); input table {r['table_s']:.1f} s wall / "
            f"{r['table_cpu_s']:.1f} s CPU; training "
            f"{r['train_s']:.1f} s / {r['train_cpu_s']:.1f} s CPU"
        )
        weights = ", ".join(f"{f} {w:+.3g}" for f, w in r["weights"])
        print(f"  largest learned weights (log-odds per SD of the input): {weights}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
