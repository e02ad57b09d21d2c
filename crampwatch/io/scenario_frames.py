"""Scenarios as a table (one row per scenario) and as a Parquet dataset of scenarios: the input of a cohort
(``crampwatch cohort --in``)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crampwatch import optional
from crampwatch.errors import InputError
from crampwatch.model import Scenario, dump_scenario, parse_scenario

SCENARIO_JSON_COLUMN = "scenario_json"


def scenarios_to_frame(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """One row per scenario: the scenario as JSON (lossless) plus a few readable columns."""
    return pd.DataFrame(
        {
            "patient_id": [s.patient.id for s in scenarios],
            SCENARIO_JSON_COLUMN: [json.dumps(dump_scenario(s)) for s in scenarios],
        }
    )


def frame_to_scenarios(frame: pd.DataFrame) -> list[Scenario]:
    """Scenarios from a frame with a ``scenario_json`` column or flattened ``patient.*``/``prescription.*``
    columns (``patient.labs.na_mmol_l``, ``prescription.dialysate.temp_c``, ...; NaN = not given)."""
    if SCENARIO_JSON_COLUMN in frame.columns:
        out = []
        for i, text in enumerate(frame[SCENARIO_JSON_COLUMN]):
            try:
                data = json.loads(text)
            except (TypeError, json.JSONDecodeError):
                raise InputError(
                    f"{SCENARIO_JSON_COLUMN}[{i}]: not valid JSON", SCENARIO_JSON_COLUMN
                ) from None
            out.append(_parse_row(data, i))
        return out
    flat = [c for c in frame.columns if c.startswith(("patient.", "prescription."))]
    if not flat:
        raise InputError(
            f"cohort input: needs a {SCENARIO_JSON_COLUMN!r} column or 'patient.*' columns",
            SCENARIO_JSON_COLUMN,
        )
    out = []
    for i, row in enumerate(frame[flat].itertuples(index=False, name=None)):
        nested: dict[str, Any] = {}
        for key, value in zip(flat, row, strict=True):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            node = nested
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value.item() if isinstance(value, np.generic) else value
        out.append(_parse_row(nested, i))
    return out


def _parse_row(data: Any, i: int) -> Scenario:
    try:
        return parse_scenario(data)
    except InputError as exc:
        raise InputError(f"row {i}: {exc.message}", exc.field) from None


def write_scenarios_parquet(scenarios: Sequence[Scenario], path: str | Path, partitions: int = 8) -> Path:
    """Write ``scenarios`` as a Parquet dataset of ``partitions`` files (input of ``parquet_in=``)."""
    with optional.extra_imports():
        import dask.dataframe as dd

    frame = scenarios_to_frame(scenarios)
    nparts = max(1, min(partitions, len(frame)))
    dd.from_pandas(frame, npartitions=nparts, sort=False).to_parquet(str(path), write_index=False)
    return Path(path)
