"""The live early warning's model card (docs/warning.md): virtual patients split into training and test
patients, held-out sessions streamed minute by minute through ``crampwatch.live``.

Prints, for the test patients: AUROC and AUPRC of the 30-min cramp risk over every update, sensitivity
(cramps with an alert 5-30 min before), false alert episodes per session, median lead time, cause accuracy
and the coverage and width of the 90 % RBV and SBP bands 30 min ahead; for the engine with and without the
twin, for the two baselines (current RBV alone; logistic regression on the current signals trained on the
training patients), and for the model-mismatch arm (``warning_cohort.MISMATCH``). The alert policy is
chosen on the training patients (most sensitive with <= 0.2 false alert episodes per session) and applied
unchanged to the test patients; baselines get their own thresholds chosen the same way. Then the speed of
one update and the chairs one core serves at one update per minute.

    python3 benchmarks/warning.py [--train-patients 30] [--train-sessions 6] [--test-patients 40]
        [--sessions 2] [--workers 2] [--save-runs FILE] [--load-runs FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pickle
import time

import numpy as np
from warning_cohort import MISMATCH, RBV_SD, SBP_SD, Session, make_patients, make_sessions
from warning_metrics import (
    Series,
    alert_scores,
    auroc_ci,
    choose_policy,
    coverage,
    discrimination,
    logistic,
    rbv_alone,
    rise,
    train_logistic,
)

from crampwatch.live import AlertPolicy, LiveEngine, observe_many

MAX_FALSE_PER_SESSION = 0.2
#: A policy that never warns: the runs record the risk series and the policy is replayed afterwards (so no
#: action is simulated during the accuracy runs; the speed runs use the default policy).
SILENT = AlertPolicy(watch_on=1.0, watch_off=1.0, alert_on=1.0)
#: Minutes of the batch speed run (64 chairs advanced together).
BATCH_MINUTES = 90

ARMS: dict[str, tuple[list[Session], bool]] = {}
TWINS: dict[int, object] = {}


def run_sessions(sessions: list[Session], use_twin: bool) -> list[Series]:
    """Stream every session through its own engine, all advanced together (observe_many)."""
    engines = [
        LiveEngine(s.view, twin=TWINS[s.patient] if use_twin else None, policy=SILENT, seed=k)
        for k, s in enumerate(sessions)
    ]
    rows: list[list] = [[] for _ in sessions]
    longest = max(len(s.stream) for s in sessions)
    for i in range(longest):
        calls = [(e, *s.stream[i]) for e, s in zip(engines, sessions, strict=True) if i < len(s.stream)]
        idx = [k for k, s in enumerate(sessions) if i < len(s.stream)]
        for k, u in zip(idx, observe_many(calls), strict=True):
            f = u.forecast_30min
            rows[k].append((u.t_min, u.cramp_risk_30min, u.cause, u.confirming_bp,
                            [f["rbv_pct"], f["rbv_pct_lo"], f["rbv_pct_hi"],
                             f["sbp_mmhg"], f["sbp_mmhg_lo"], f["sbp_mmhg_hi"]]))  # fmt: skip
    out = []
    for r in rows:
        t, risk, cause, conf, bands = zip(*r, strict=True)
        out.append(
            Series(np.array(t, float), np.array(risk), list(cause), np.array(conf), np.array(bands, float))
        )
    return out


def _task(job: tuple[str, list[int]]) -> tuple[str, list[int], list[Series], float]:
    arm, idx = job
    sessions, use_twin = ARMS[arm]
    start = time.process_time()
    series = run_sessions([sessions[i] for i in idx], use_twin)
    return arm, idx, series, time.process_time() - start


def run_arms(workers: int, chunk: int, arms: list[str]) -> tuple[dict[str, list[Series]], float, int]:
    jobs = [
        (arm, list(range(k, min(k + chunk, len(ARMS[arm][0])))))
        for arm in arms
        for k in range(0, len(ARMS[arm][0]), chunk)
    ]
    results: dict[str, list] = {arm: [None] * len(ARMS[arm][0]) for arm in arms}
    cpu = 0.0
    with mp.get_context("fork").Pool(workers) as pool:
        for arm, idx, series, used in pool.imap_unordered(_task, jobs):
            cpu += used
            for i, s in zip(idx, series, strict=True):
                results[arm][i] = s
    updates = sum(len(s.stream) for arm in arms for s in ARMS[arm][0])
    return results, cpu, updates


def speed(sessions: list[Session], n_single: int, n_batch: int) -> dict[str, float]:
    """CPU time of one update (default policy, so warnings simulate their actions) for single engines, and
    per update when ``n_batch`` engines are advanced together."""
    per = []
    for k, s in enumerate(sessions[:n_single]):
        e = LiveEngine(s.view, twin=TWINS[s.patient], seed=k)
        for t, v in s.stream:
            a = time.thread_time()
            e.observe(t, v)
            per.append(time.thread_time() - a)
    chosen = [sessions[k % len(sessions)] for k in range(n_batch)]
    engines = [LiveEngine(s.view, twin=TWINS[s.patient], seed=k) for k, s in enumerate(chosen)]
    a = time.thread_time()
    steps = min(BATCH_MINUTES, *(len(s.stream) for s in chosen))
    for i in range(steps):
        observe_many([(e, *s.stream[i]) for e, s in zip(engines, chosen, strict=True)])
    batch_per = (time.thread_time() - a) / (steps * n_batch)
    per_ms = np.array(per) * 1e3
    return {
        "p50_ms": float(np.percentile(per_ms, 50)),
        "p95_ms": float(np.percentile(per_ms, 95)),
        "mean_ms": float(per_ms.mean()),
        "batch_mean_ms": batch_per * 1e3,
        "chairs_single": 60.0 / (per_ms.mean() / 1e3),
        "chairs_batch": 60.0 / batch_per,
        "n_updates": len(per),
    }


def _row(name: str, disc: tuple, al, cov: dict | None) -> str:
    auroc, auprc, _ = disc
    bands = "— | —"
    if cov:
        bands = (
            f"{cov['rbv_pct_coverage']:.3f} / {cov['rbv_pct_width']:.2f} | "
            f"{cov['sbp_mmhg_coverage']:.3f} / {cov['sbp_mmhg_width']:.1f}"
        )
    cause = f"{al.cause_accuracy:.2f}" if name.startswith("engine") else "—"
    return (
        f"| {name} | {auroc:.3f} | {auprc:.3f} | {al.sensitivity:.2f} ({al.n_detected}/{al.n_cramps}) | "
        f"{al.sensitivity_predictable:.2f} | {al.false_per_session:.3f} | {al.median_lead_min:.0f} | "
        f"{cause} | {bands} |"
    )


HEADER = (
    "| arm | AUROC | AUPRC | sensitivity 5-30 min | sens. (mechanism) | false alert episodes / session | "
    "median lead (min) | cause accuracy | RBV band coverage / width (%-pts) | "
    "SBP band coverage / width (mmHg) |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)
POLICY_KEYS = (
    "watch_on",
    "watch_off",
    "alert_on",
    "consecutive_updates",
    "escalate_on_cuff_bp",
    "relative_to_start",
)


def _cohort_line(train_p, test_p, train, test, mism, per: int) -> str:
    causes = ", ".join(
        f"{c} {sum(s.cramp_cause == c for s in test)}" for c in ("hypovolemia", "osmotic", "other")
    )
    return (
        f"cohort: {len(train_p)} training patients ({len(train)} streamed sessions, cramps in "
        f"{sum(s.cramp_t is not None for s in train)}) / {len(test_p)} test patients "
        f"({per} streamed sessions "
        "each); "
        f"cramps in {sum(s.cramp_t is not None for s in test)} of {len(test)} test sessions ({causes}); "
        "mismatch arm "
        f"{sum(s.cramp_t is not None for s in mism)} of {len(mism)}"
    )


def _policy_line(policy: AlertPolicy, train_scores) -> str:
    chosen = {
        k: round(v, 4) if isinstance(v, float) else v
        for k, v in policy.model_dump().items()
        if k in POLICY_KEYS
    }
    same = all(abs(float(getattr(AlertPolicy(), k)) - float(v)) < 5e-4 for k, v in chosen.items())
    return (
        f"alert policy chosen on the training patients: {chosen} (training: sensitivity "
        f"{train_scores.sensitivity:.2f}, false alert episodes/session "
        f"{train_scores.false_per_session:.3f}); "
        f"code defaults {'equal' if same else 'DIFFER'}"
    )


def _report(res: dict, train: list, test: list, mism: list, seed: int) -> None:
    """The model card's table: engine arms (policy chosen on the training patients) and the baselines."""
    policy, train_scores = choose_policy(res["train"], train, MAX_FALSE_PER_SESSION)
    rbv_policy, _ = choose_policy([rbv_alone(s) for s in train], train, MAX_FALSE_PER_SESSION)
    model = train_logistic(train)
    log_policy, _ = choose_policy([logistic(model, s) for s in train], train, MAX_FALSE_PER_SESSION)
    print(_policy_line(policy, train_scores))
    print(HEADER)
    noise = {"test": (RBV_SD, SBP_SD), "mismatch": (MISMATCH["rbv_sd"], MISMATCH["sbp_sd"])}
    extra = []
    for name, arm, sessions, kind in (
        ("engine + twin", "test", test, "test"),
        ("engine, no twin", "test_no_twin", test, "test"),
        ("engine + twin, mismatch arm", "mismatch", mism, "mismatch"),
        ("engine, no twin, mismatch arm", "mismatch_no_twin", mism, "mismatch"),
    ):
        s = res[arm]
        cov = coverage(s, sessions, *noise[kind], seed)
        print(_row(name, discrimination(s, sessions), alert_scores(policy, s, sessions), cov))
        extra.append((name, s, sessions))
    for suffix, sessions in (("", test), (", mismatch arm", mism)):
        for name, series, pol in (
            ("current RBV alone", [rbv_alone(s) for s in sessions], rbv_policy),
            ("logistic, current signals", [logistic(model, s) for s in sessions], log_policy),
        ):
            print(
                _row(
                    name + suffix, discrimination(series, sessions), alert_scores(pol, series, sessions), None
                )
            )
            extra.append((name + suffix, series, sessions))
    for name, series, sessions in extra:
        lo, hi = auroc_ci(series, sessions, seed=seed)
        line = f"{name}: AUROC 95 % interval over test patients (bootstrap of patients) {lo:.3f}-{hi:.3f}"
        if name.startswith("engine"):
            auroc, auprc, _ = discrimination([rise(s) for s in series], sessions)
            line += (
                f"; rise of the risk above the session's first update: AUROC {auroc:.3f}, AUPRC {auprc:.3f}"
            )
        print(line)
    print(
        f"baseline policies (chosen the same way): RBV alone alert_on {rbv_policy.alert_on:.3g} x "
        f"{rbv_policy.consecutive_updates} ({_mode(rbv_policy)}); "
        f"logistic alert_on {log_policy.alert_on:.3g} x "
        f"{log_policy.consecutive_updates} ({_mode(log_policy)})"
    )


def _mode(policy: AlertPolicy) -> str:
    return "rise above the session's first update" if policy.relative_to_start else "absolute"


def _speed_line(sp: dict) -> str:
    return (
        f"speed (CPU time, default policy): one update p50 {sp['p50_ms']:.1f} ms, p95 {sp['p95_ms']:.1f} ms "
        f"(mean {sp['mean_ms']:.1f} ms, {sp['n_updates']} updates) -> {sp['chairs_single']:.0f} chairs per "
        f"core at one update per minute; 64 chairs per observe_many call: {sp['batch_mean_ms']:.1f} ms per "
        f"update -> {sp['chairs_batch']:.0f} chairs per core"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-patients", type=int, default=30)
    ap.add_argument("--test-patients", type=int, default=40)
    ap.add_argument("--sessions", type=int, default=2, help="streamed sessions per test patient")
    ap.add_argument("--train-sessions", type=int, default=6, help="streamed sessions per training patient")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--save-runs", help="pickle the engine runs to this file")
    ap.add_argument(
        "--load-runs", help="reuse the arms of a pickle of --save-runs (arms of another size are run again)"
    )
    args = ap.parse_args()
    wall = time.perf_counter()
    load0 = os.getloadavg()[0]
    train_p = make_patients(args.train_patients, args.seed, first_index=0)
    test_p = make_patients(args.test_patients, args.seed, first_index=10_000)
    TWINS.update({p.index: p.twin for p in train_p + test_p})
    train = make_sessions(train_p, args.train_sessions, args.seed)
    test = make_sessions(test_p, args.sessions, args.seed + 1)
    mism = make_sessions(test_p, args.sessions, args.seed + 1, mismatch=True)
    ARMS.update({
        "train": (train, True), "test": (test, True), "test_no_twin": (test, False),
        "mismatch": (mism, True), "mismatch_no_twin": (mism, False),
    })  # fmt: skip
    cohort_s = time.perf_counter() - wall
    res, cpu, updates = {}, 0.0, 0
    if args.load_runs:
        with open(args.load_runs, "rb") as fh:
            saved, cpu, updates = pickle.load(fh)
        res = {arm: s for arm, s in saved.items() if arm in ARMS and len(s) == len(ARMS[arm][0])}
        print(
            f"reused runs of {args.load_runs}: {', '.join(res)} "
            f"(all its arms: {updates} updates, {cpu:.0f} s CPU)"
        )
        cpu, updates = 0.0, 0
    missing = [arm for arm in ARMS if arm not in res]
    if missing:
        ran, cpu_now, updates_now = run_arms(args.workers, max(4, len(test) // 4), missing)
        res.update(ran)
        cpu, updates = cpu_now, updates_now
    if args.save_runs:
        with open(args.save_runs, "wb") as fh:
            pickle.dump((res, cpu, updates), fh)
    print(_cohort_line(train_p, test_p, train, test, mism, args.sessions))
    _report(res, train, test, mism, args.seed)
    print(_speed_line(speed(test, n_single=2, n_batch=64)))
    print(
        f"accuracy runs now: {updates} updates, {cpu:.0f} s CPU "
        f"({1e3 * cpu / max(updates, 1):.1f} ms per update in "
        f"batches); cohort {cohort_s:.0f} s; total wall {time.perf_counter() - wall:.0f} s with "
        f"{args.workers} workers; load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()
