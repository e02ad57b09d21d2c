"""Patient cramp reports, idempotent by key and committed before the answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from crampwatch.errors import InputError, require_range
from crampwatch.signals import MAX_T_MIN, T_MIN
from crampwatch.store.base import StoreBase, as_utc, require_patient, require_session
from crampwatch.store.records import ReportRecord
from crampwatch.store.schema import ReportRow
from crampwatch.store.validation import optional_text, require_datetime, require_text

#: Limits on free text (modelling choices): a muscle-group name, a note, an idempotency key.
MAX_MUSCLE_CHARS = 64
MAX_NOTE_CHARS = 2000
MAX_KEY_CHARS = 128


class ReportStore(StoreBase):
    """Cramp reports of the patients."""

    def add_report(
        self,
        *,
        patient_id: str,
        reported_at: datetime,
        muscle: str,
        severity: int,
        note: str,
        session_id: str | None = None,
        t_min: float | None = None,
        idempotency_key: str,
    ) -> tuple[ReportRecord, bool]:
        """Store a cramp report durably (committed before returning); ``created`` is False for a repeated key.

        A key already used for a different patient raises InputError.
        """
        require_datetime(reported_at, "reported_at")
        muscle = require_text(muscle, "muscle", MAX_MUSCLE_CHARS)
        if (
            isinstance(severity, bool)
            or not isinstance(severity, int | float)
            or float(severity) != int(severity)
        ):
            raise InputError(f"severity: {severity!r} is not a whole number (allowed 0–10)", "severity")
        severity = int(require_range("severity", severity, 0, 10))
        note = optional_text(note, "note", MAX_NOTE_CHARS) or ""
        if t_min is not None:
            t_min = require_range(T_MIN, t_min, 0, MAX_T_MIN, "min")
        key = require_text(idempotency_key, "idempotency_key", MAX_KEY_CHARS)
        try:
            with self._write() as s:
                existing = s.scalars(select(ReportRow).where(ReportRow.idempotency_key == key)).first()
                if existing is not None:
                    return _existing_report(existing, patient_id), False
                require_patient(s, patient_id)
                if session_id is not None:
                    sess = require_session(s, session_id)
                    if sess.patient_id != patient_id:
                        raise InputError(
                            f"session_id: {session_id!r} belongs to another patient (allowed a session of "
                            f"{patient_id!r})",
                            "session_id",
                        )
                row = ReportRow(
                    idempotency_key=key,
                    patient_id=patient_id,
                    session_id=session_id,
                    reported_at=reported_at,
                    t_min=t_min,
                    muscle=muscle,
                    severity=severity,
                    note=note,
                )
                s.add(row)
                s.flush()
                record = _report_record(row)
        except InputError:
            # A concurrent request with the same key won the race (unique constraint): return its report.
            with self._read() as s:
                existing = s.scalars(select(ReportRow).where(ReportRow.idempotency_key == key)).first()
            if existing is None:
                raise
            return _existing_report(existing, patient_id), False
        return record, True

    def list_reports(self, patient_id: str) -> list[ReportRecord]:
        """The patient's cramp reports, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(ReportRow)
                .where(ReportRow.patient_id == patient_id)
                .order_by(ReportRow.reported_at, ReportRow.id)
            ).all()
        return [_report_record(r) for r in rows]

    def count_reports(self) -> int:
        with self._read() as s:
            return int(s.scalar(select(func.count(ReportRow.id))) or 0)


def _report_record(row: ReportRow) -> ReportRecord:
    return ReportRecord(
        id=row.id,
        patient_id=row.patient_id,
        session_id=row.session_id,
        reported_at=as_utc(row.reported_at),
        muscle=row.muscle,
        severity=row.severity,
        note=row.note,
        created_at=as_utc(row.created_at),
        t_min=row.t_min,
        idempotency_key=row.idempotency_key,
    )


def _existing_report(row: ReportRow, patient_id: str) -> ReportRecord:
    if row.patient_id != patient_id:
        raise InputError(
            "idempotency_key: already used for another patient's report (allowed a new key)",
            "idempotency_key",
        )
    return _report_record(row)
