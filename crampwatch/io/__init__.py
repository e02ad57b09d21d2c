"""Readers and writers: trace and event files (CSV/Parquet, HEMOBP exports) and FHIR R4."""

from crampwatch.io.events import read_events
from crampwatch.io.hemobp import read_hemobp
from crampwatch.io.quality import DataQualityReport
from crampwatch.io.traces import read_trace, write_trace

__all__ = ["DataQualityReport", "read_events", "read_hemobp", "read_trace", "write_trace"]
