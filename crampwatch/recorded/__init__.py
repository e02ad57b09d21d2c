"""Recorded histories of a unit analysed at scale: the HEMOBP tables, a Parquet dataset of traces or the
store, staged into partitions by patient and analysed on Dask (:func:`run_recorded`), with a synthetic
HEMOBP-shaped history for tests and benchmarks (:func:`write_synthetic_hemobp`)."""

from crampwatch.recorded.run import RecordedRun, run_recorded
from crampwatch.recorded.synthetic import write_synthetic_hemobp

__all__ = ["RecordedRun", "run_recorded", "write_synthetic_hemobp"]
