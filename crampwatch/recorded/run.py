"""``crampwatch cohort --recorded``: a unit's recorded history analysed on Dask, partition by partition.

1. The source is staged once into ``OUT/staged``: its records and sessions are streamed into Parquet
   partitions by patient (:mod:`crampwatch.recorded.hemobp_tables`, :mod:`crampwatch.recorded.traces`),
   as many as keep each partition within ``memory_mb`` (never the whole history in memory).
2. Every partition is one Dask task: prepare, analyse its sessions in chunks
   (:func:`crampwatch.recorded.batch.analyze_prepared`), summarise its patients, fit their twins, detect
   prescription changes; each output file is written whole (temporary name, then renamed) and a
   ``done/part-K.json`` marker last, so a killed run resumes with the partitions it had not finished.
3. The unit report (:mod:`crampwatch.recorded.report`) is built from the outputs.

Outputs in ``OUT``: ``sessions/`` (one row per session), ``patients/`` (one row per patient),
``changes/`` (prescription changes), ``twins/`` (JSON per partition), ``quality.json``, ``report.html``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crampwatch import optional
from crampwatch.cohort import dask_scheduler
from crampwatch.errors import InputError
from crampwatch.recorded.batch import CHUNK_SESSIONS, analyze_prepared
from crampwatch.recorded.hemobp_tables import hemobp_files, is_hemobp_folder, stage_hemobp
from crampwatch.recorded.prepare import PreparedPartition, prepare_hemobp_partition
from crampwatch.recorded.summary import patient_summary, prescription_changes
from crampwatch.recorded.traces import dataset_files, is_trace_dataset, prepare_traces_partition, stage_traces
from crampwatch.recorded.twins import fit_partition_twins

#: Staged bytes of source text per partition, as a share of the memory budget (modelling choice: parsed
#: records take about twice their text, and the analysis of a chunk needs the rest).
TEXT_SHARE_OF_BUDGET = 0.25
#: Most source text per partition, bytes (modelling choice: ~5 000 HEMOBP sessions, so that a history
#: spreads over many tasks for the workers to share and a resumed run loses little).
PARTITION_TEXT_BYTES = 8 * 2**20
#: Default memory budget of one partition's task, MB.
DEFAULT_MEMORY_MB = 256
#: Memory the analysis of one session takes, bytes (modelling estimate: the fill-in simulation ~110 kB, the
#: grid arrays and features ~90 kB); half the budget goes to the sessions analysed at once.
SESSION_BYTES = 200_000
MIN_CHUNK = 20
OUTPUTS = ("sessions", "patients", "changes", "twins")


@dataclass(frozen=True)
class RecordedRun:
    """What a run did: sessions in the table and analysed, partitions run and resumed, seconds."""

    sessions: int
    analysed: int
    partitions: int
    resumed: int
    seconds: float
    scheduler: str
    out: str

    @property
    def sessions_per_s(self) -> float:
        return self.sessions / self.seconds if self.seconds > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sessions_per_s": round(self.sessions_per_s, 1)}


def _fingerprint(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _source(source: Path) -> tuple[str, list[Path]]:
    """The kind of a recorded history and the files it consists of."""
    if is_hemobp_folder(source):
        return "hemobp", list(hemobp_files(source).values())
    if is_trace_dataset(source):
        return "traces", dataset_files(source)
    if not source.exists():
        raise InputError(f"recorded: {source} does not exist", "recorded")
    raise InputError(
        f"recorded: {source} is neither a HEMOBP folder (idp.csv, d1.csv, vip.csv) nor a trace dataset "
        "(sessions.parquet and traces/)",
        "recorded",
    )


def _stage(source: Path, out: Path, memory_mb: float, partitions: int | None) -> dict[str, Any]:
    """Stage ``source`` into ``out/staged`` unless a finished staging of the same files is there."""
    staged = out / "staged"
    manifest_path = staged / "manifest.json"
    kind, files = _source(source)
    fingerprint = _fingerprint(files)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("fingerprint") == fingerprint:
            return manifest
    if partitions is None:
        text_bytes = sum(p.stat().st_size for p in files)
        by_budget = math.ceil(text_bytes / (TEXT_SHARE_OF_BUDGET * memory_mb * 2**20))
        partitions = max(1, by_budget, math.ceil(text_bytes / PARTITION_TEXT_BYTES))
    stage = stage_hemobp if kind == "hemobp" else stage_traces
    quality = stage(source, staged, partitions)
    manifest = {
        "kind": kind,
        "source": str(source.resolve()),
        "fingerprint": fingerprint,
        "partitions": partitions,
        "quality": quality,
    }
    _write_atomic(manifest_path, lambda p: p.write_text(json.dumps(manifest, indent=1)))
    return manifest


def _prepare(staged: Path, k: int) -> PreparedPartition:
    manifest = json.loads((staged / "manifest.json").read_text())
    if manifest["kind"] == "hemobp":
        return prepare_hemobp_partition(staged, k, pd.read_parquet(staged / "patients.parquet"))
    return prepare_traces_partition(staged, k, Path(manifest["source"]))


def run_partition(
    out: str, k: int, fingerprint: str, twins: bool, chunk: int, learning: bool
) -> dict[str, Any]:
    """Analyse staged partition ``k`` and write its outputs (see the module docstring)."""
    base = Path(out)
    prep = _prepare(base / "staged", k)
    inputs: list[pd.DataFrame] | None = [] if learning else None
    table = analyze_prepared(prep, chunk, inputs)
    patients = patient_summary(table)
    fitted: dict[str, Any] = {}
    if twins and len(patients):
        twin_cols, fitted = fit_partition_twins(prep)
        if len(twin_cols):
            patients = patients.merge(twin_cols, on="patient_id", how="left")
    name = f"part-{k:05d}"
    frames = [("sessions", table), ("patients", patients), ("changes", prescription_changes(table))]
    if inputs is not None:
        frames.append(("learning", pd.concat(inputs, ignore_index=True) if inputs else pd.DataFrame()))
    for folder, frame in frames:
        (base / folder).mkdir(exist_ok=True)
        _write_atomic(base / folder / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False))
    (base / "twins").mkdir(exist_ok=True)
    _write_atomic(base / "twins" / f"{name}.json", lambda p: p.write_text(json.dumps(fitted)))
    done = {"fingerprint": fingerprint, "sessions": len(table), "quality": prep.quality}
    (base / "done").mkdir(exist_ok=True)
    _write_atomic(base / "done" / f"{name}.json", lambda p: p.write_text(json.dumps(done)))
    return done


def _finished(out: Path, k: int, fingerprint: str) -> dict[str, Any] | None:
    marker = out / "done" / f"part-{k:05d}.json"
    if not marker.exists():
        return None
    done = json.loads(marker.read_text())
    return done if done.get("fingerprint") == fingerprint else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    # Unix only: imported where the peak memory is read
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _execute(
    sched: Any, todo: list[int], args: Callable[[int], tuple], tick: Callable[[], None]
) -> list[dict]:
    """Run :func:`run_partition` for the partitions ``todo`` on ``sched`` (a distributed client or the name
    of a local dask scheduler), calling ``tick`` as each one finishes."""
    with optional.extra_imports():
        import dask
        from dask.callbacks import Callback
    if isinstance(sched, str):

        class _Ticks(Callback):
            def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
                tick()

        tasks = [dask.delayed(run_partition, pure=False)(*args(k)) for k in todo]
        with _Ticks():
            return list(dask.compute(*tasks, scheduler=sched))
    with optional.extra_imports():
        from distributed import as_completed
    futures = [sched.submit(run_partition, *args(k), pure=False) for k in todo]
    results = []
    for future in as_completed(futures):
        results.append(future.result())
        tick()
    return results


def _peak_memory(sched: Any) -> list[float]:
    if isinstance(sched, str):
        return [round(peak_rss_mb(), 1)]
    return [round(v, 1) for v in sched.run(peak_rss_mb).values()]


def run_recorded(
    source: str | Path,
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    memory_mb: float = DEFAULT_MEMORY_MB,
    twins: bool = True,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    report: bool = True,
    partitions: int | None = None,
    learning: bool = False,
) -> RecordedRun:
    """Analyse the recorded history at ``source`` into ``out`` (see the module docstring). ``scheduler``:
    ``None`` starts a LocalCluster of ``workers`` single-threaded processes, an address uses that cluster,
    ``"synchronous"`` runs here; ``progress(done, total)`` is called as partitions finish; ``partitions``
    and ``chunk`` (sessions analysed at once) override the numbers the memory budget gives; ``learning``
    also writes the unit model's input table of every analysed session (``learning/``)."""
    if chunk is None:
        chunk = max(MIN_CHUNK, min(CHUNK_SESSIONS, int(0.5 * memory_mb * 2**20 / SESSION_BYTES)))
    t0 = time.perf_counter()
    base = Path(out)
    base.mkdir(parents=True, exist_ok=True)
    manifest = _stage(Path(source), base, memory_mb, partitions)
    fingerprint, total = manifest["fingerprint"], int(manifest["partitions"])
    finished = {k: d for k in range(total) if (d := _finished(base, k, fingerprint)) is not None}
    todo = [k for k in range(total) if k not in finished]
    count = [len(finished)]

    def tick() -> None:
        count[0] += 1
        if progress is not None:
            progress(count[0], total)

    if progress is not None:
        progress(count[0], total)
    label = "resumed: nothing left to run"
    memory: list[float] = []
    if todo:
        with dask_scheduler(scheduler, workers=workers) as (sched, label):
            _execute(sched, todo, lambda k: (str(base), k, fingerprint, twins, chunk, learning), tick)
            memory = _peak_memory(sched)
    done = [_finished(base, k, fingerprint) or {} for k in range(total)]
    quality = dict(manifest.get("quality", {}))
    for d in done:
        for name, value in d.get("quality", {}).items():
            quality[name] = quality.get(name, 0) + value
    sessions = sum(int(d.get("sessions", 0)) for d in done)
    analysed = int(
        pd.concat(
            [
                pd.read_parquet(p, columns=["status"])
                for p in sorted((base / "sessions").glob("part-*.parquet"))
            ]
        )["status"]
        .eq("analysed")
        .sum()
    )
    run = RecordedRun(sessions, analysed, total, len(finished), time.perf_counter() - t0, label, str(base))
    info = {
        "run": run.to_dict(),
        "worker_peak_memory_mb": memory,
        "client_peak_memory_mb": round(peak_rss_mb(), 1),
        "quality": quality,
    }
    _write_atomic(base / "quality.json", lambda p: p.write_text(json.dumps(info, indent=1, default=str)))
    if report:
        # imports matplotlib (0.4 s): only when a figure is drawn
        from crampwatch.recorded.report import write_report

        write_report(base, base / "report.html")
    return run
