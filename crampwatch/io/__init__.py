"""Readers and writers: trace and event files (CSV/Parquet, HEMOBP exports) and FHIR R4."""

from crampwatch.io.traces import DataQualityReport, read_events, read_hemobp, read_trace, write_trace

__all__ = ["DataQualityReport", "read_events", "read_hemobp", "read_trace", "write_trace"]
