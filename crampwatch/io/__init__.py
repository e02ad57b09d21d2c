"""Readers and writers: trace files (CSV/Parquet) and FHIR R4."""
