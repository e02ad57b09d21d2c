"""Session manifest (docs/formats.md): a CSV with columns ``trace,scenario[,events]``, one row per session,
paths relative to the manifest file.

:func:`parse_manifest` checks the table and that every listed file exists (cheap, before any file is read);
:func:`read_manifest_sessions` reads each row's scenario, trace and events with the ordinary readers.
Commands add their own rules on top (``fit``: one patient; ``calibrate``: an ``events`` column).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from crampwatch.errors import InputError
from crampwatch.io.events import read_events
from crampwatch.io.hemobp import looks_like_hemobp, read_hemobp
from crampwatch.io.traces import read_trace, write_trace
from crampwatch.model import Scenario, dump_scenario, load_scenario
from crampwatch.trace import Trace, empty_events

#: Columns every manifest has; ``events`` is optional.
REQUIRED_COLUMNS = ("trace", "scenario")
EVENTS_COLUMN = "events"
COLUMNS_HINT = "columns: trace,scenario[,events]"


@dataclass(frozen=True)
class ManifestRow:
    """One row of a manifest: resolved paths (each an existing file) and where the row stands."""

    trace: Path
    scenario: Path
    events: Path | None
    where: str


@dataclass(frozen=True)
class Manifest:
    """A checked manifest: its file, its (lower-case) columns and its rows."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[ManifestRow, ...]

    def require_column(self, column: str, why: str) -> None:
        """:class:`InputError` naming ``column`` when the manifest lacks it (``why``: what needs it)."""
        if column not in self.columns:
            raise InputError(f"manifest {self.path.name}: missing column {column} ({why})", column)


@dataclass(frozen=True)
class RecordedSession:
    """One recorded session: scenario, trace, events (``t_min, kind, ...``) and identifier."""

    scenario: Scenario
    trace: Trace
    events: pd.DataFrame = field(default_factory=empty_events)
    session_id: str = ""


def parse_manifest(path: str | Path) -> Manifest:
    """Read and check the manifest CSV at ``path``: required columns, at least one row, every listed file
    present. :class:`InputError` (one line naming the column and the row) otherwise."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"manifest: {p} does not exist", "manifest")
    if p.is_dir():
        raise InputError(f"manifest: {p} is a directory (expected a CSV file)", "manifest")
    try:  # header=None: a row longer than the header is an error, never an index column
        cells = pd.read_csv(p, header=None, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"manifest {p.name}: not valid CSV ({str(exc).splitlines()[0]})", "manifest"
        ) from None
    columns = tuple(str(c).strip().lower() for c in cells.iloc[0])
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"manifest {p.name}: missing column {missing[0]} ({COLUMNS_HINT})", missing[0])
    if len(cells) < 2:
        raise InputError(f"manifest {p.name}: no sessions listed (one row per session)", "manifest")
    rows = []
    for line, values in enumerate(cells.iloc[1:].itertuples(index=False), start=2):
        where = f"manifest {p.name} line {line}"
        record = dict(zip(columns, values, strict=True))
        events = _cell(record, EVENTS_COLUMN)
        rows.append(
            ManifestRow(
                trace=_resolve(p.parent, _cell(record, "trace"), where, "trace"),
                scenario=_resolve(p.parent, _cell(record, "scenario"), where, "scenario"),
                events=_resolve(p.parent, events, where, EVENTS_COLUMN) if events else None,
                where=where,
            )
        )
    return Manifest(path=p, columns=columns, rows=tuple(rows))


def read_manifest_sessions(manifest: Manifest) -> list[RecordedSession]:
    """The sessions of a checked manifest; a row's events are its events file's, else the trace's own.
    A reader's :class:`InputError` is prefixed with the manifest row."""
    return [_read_row(row) for row in manifest.rows]


def read_session_manifest(path: str | Path) -> list[RecordedSession]:
    """:func:`parse_manifest` then :func:`read_manifest_sessions`."""
    return read_manifest_sessions(parse_manifest(path))


def write_session_manifest(sessions: Sequence[RecordedSession], folder: str | Path) -> Path:
    """Write ``sessions`` as trace CSVs, scenario YAMLs and events CSVs plus ``manifest.csv`` (written last)
    in ``folder``; returns the manifest's path."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, rec in enumerate(sessions, start=1):
        stem = rec.session_id or f"session{k:02d}"
        write_trace(rec.trace, root / f"{stem}.csv")
        (root / f"{stem}.yaml").write_text(
            yaml.safe_dump(dump_scenario(rec.scenario), sort_keys=False), encoding="utf-8"
        )
        row = {"trace": f"{stem}.csv", "scenario": f"{stem}.yaml", EVENTS_COLUMN: ""}
        if rec.events is not None and not rec.events.empty:
            rec.events.to_csv(root / f"{stem}_events.csv", index=False)
            row[EVENTS_COLUMN] = f"{stem}_events.csv"
        rows.append(row)
    path = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _cell(record: dict[str, object], column: str) -> str:
    value = record.get(column)
    return value.strip() if isinstance(value, str) else ""


def _resolve(base: Path, value: str, where: str, column: str) -> Path:
    if not value:
        raise InputError(f"{where}: {column} is empty (a path relative to the manifest)", column)
    path = base / value
    if not path.is_file():
        raise InputError(f"{where}: {column} file {value} does not exist", column)
    return path


def _read_row(row: ManifestRow) -> RecordedSession:
    try:
        scenario = load_scenario(row.scenario)
        trace, _ = read_hemobp(row.trace) if looks_like_hemobp(row.trace) else read_trace(row.trace)
        events = read_events(row.events) if row.events is not None else trace.events
    except InputError as exc:
        raise InputError(f"{row.where}: {exc.message}", exc.field) from None
    sid = trace.session_id or row.trace.stem
    return RecordedSession(scenario=scenario, trace=trace, events=events, session_id=str(sid))
