"""Who may see and change what, and the audit trail of it: the service layer under pages and API.

Roles: ``clinician`` sees every patient of the unit; ``nurse`` reads every patient's record and watches the
running chairs; ``admin`` manages users and reads the audit log (no
clinical data); ``patient`` sees only their own record, sessions and reports. Every read of a patient's
record, every administrative view and every change goes through a function here, which writes the audit
entry; the pages and the API only translate requests and answers.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from crampwatch.errors import InputError
from crampwatch.store.audit import AuditQuery
from crampwatch.web.errors import Forbidden, NotFound


def can_view_patient(user: Any, patient_id: str) -> bool:
    """Clinicians and nurses see every patient; a patient sees only their own record; admins see none."""
    if user.role in ("clinician", "nurse"):
        return True
    return user.role == "patient" and user.patient_id is not None and user.patient_id == patient_id


def ensure_patient_access(user: Any, patient_id: str) -> None:
    if not can_view_patient(user, patient_id):
        raise Forbidden("no access to this patient's record")


def require_role(user: Any, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden(f"requires role {' or '.join(roles)}")


def load_patient(store: Any, user: Any, patient_id: str, action: str, where: str = "") -> Any:
    """The patient record if this user may see it (403 otherwise); the view is written to the audit log."""
    ensure_patient_access(user, patient_id)
    rec = store.get_patient(patient_id)
    if rec is None:
        raise NotFound("patient")
    store.audit(username=user.username, action=action, patient_id=patient_id, detail=where)
    return rec


def record_view(store: Any, user: Any, patient_id: str, action: str, where: str = "") -> None:
    """For a view whose content is at hand: 403 unless this user may see the patient's record, then the
    view is written to the audit log."""
    ensure_patient_access(user, patient_id)
    store.audit(username=user.username, action=action, patient_id=patient_id, detail=where)


def load_session(store: Any, user: Any, session_id: str, action: str, where: str = "") -> tuple[Any, Any]:
    """(session, patient record) if this user may see the session's patient; audited."""
    rec = store.get_session(session_id)
    if rec is None:
        require_role(user, "clinician", "nurse", "patient")
        raise NotFound("session")
    patient = load_patient(store, user, rec.patient_id, action, where)
    return rec, patient


def patient_summary(store: Any, patient_id: str) -> Any | None:
    """The list entry (session and cramp counts) of one patient, without auditing (callers did)."""
    return next(iter(store.list_patients(patient_id)), None)


def list_patients(store: Any, user: Any) -> list[Any]:
    """Every patient with session counts (clinicians only); audited."""
    require_role(user, "clinician")
    patients = store.list_patients()
    store.audit(username=user.username, action="list_patients", patient_ids=[p.id for p in patients])
    return patients


def list_reports(store: Any, user: Any, patient_id: str | None, where: str = "") -> list[Any]:
    """Reports of one patient (patients: their own; ``patient_id`` defaults to it); audited."""
    if patient_id is None:
        if user.role != "patient":
            raise InputError("patient_id: required (query parameter)", "patient_id")
        patient_id = user.patient_id
    load_patient(store, user, patient_id, "view_reports", where)
    return store.list_reports(patient_id)


def scoped_idempotency_key(username: str, key: str) -> str:
    """The stored form of a client's idempotency key: one key space per user, 66 characters whatever the
    lengths of the username (up to 64) and the key (up to 128)."""
    return "u:" + hashlib.sha256(f"{username}\n{key}".encode()).hexdigest()


def create_report(
    store: Any,
    user: Any,
    *,
    patient_id: str | None,
    session_id: str | None,
    reported_at: datetime | None,
    t_min: float | None,
    muscle: str,
    severity: int,
    note: str,
    idempotency_key: str,
) -> tuple[Any, bool]:
    """Store a cramp report for the user's own record (patient) or any patient (clinician); audited."""
    if user.role == "patient":
        if patient_id not in (None, user.patient_id):
            raise Forbidden("patients can only report their own cramps")
        patient_id = user.patient_id
    elif user.role == "clinician":
        if not patient_id:
            raise InputError("patient_id: required when a clinician reports for a patient", "patient_id")
    else:
        raise Forbidden("requires role clinician or patient")
    if patient_id is None or store.get_patient(patient_id) is None:
        raise NotFound("patient")
    if session_id is not None:
        session = store.get_session(session_id)
        if session is None or session.patient_id != patient_id:
            raise InputError("session_id: no session of this patient has that id", "session_id")
    reported_at = reported_at or datetime.now(UTC)
    if reported_at.tzinfo is None:
        reported_at = reported_at.replace(tzinfo=UTC)
    record, created = store.add_report(
        patient_id=patient_id,
        reported_at=reported_at,
        muscle=muscle.strip(),
        severity=severity,
        note=note,
        session_id=session_id,
        t_min=t_min,
        idempotency_key=scoped_idempotency_key(user.username, idempotency_key),
    )
    if record.patient_id != patient_id:  # same key used for another patient: never leak that report
        raise InputError("idempotency_key: already used for another report", "idempotency_key")
    if created:
        store.audit(
            username=user.username, action="report_cramp", patient_id=patient_id, detail=str(record.id)
        )
    return record, created


# --------------------------------------------------------------------------------------------- admin


def list_users(store: Any, admin: Any, where: str = "") -> list[Any]:
    """Every user (administrators only); the view is audited."""
    require_role(admin, "admin")
    users = store.list_users()
    shown = [u.patient_id for u in users if u.patient_id]
    store.audit(username=admin.username, action="list_users", detail=where, patient_ids=shown)
    return users


def list_audit(store: Any, admin: Any, query: AuditQuery, where: str = "") -> list[Any]:
    """Audit entries by ``query`` (administrators only); reading the log is itself audited, with the
    filters used."""
    require_role(admin, "admin")
    entries = store.list_audit(query=query)
    filters = {k: v for k, v in vars(query).items() if v is not None and k != "limit"}
    detail = where + ("?" + "&".join(f"{k}={v}" for k, v in filters.items()) if filters else "")
    store.audit(username=admin.username, action="view_audit", patient_id=query.patient_id, detail=detail)
    return entries


def admin_overview(store: Any, admin: Any, where: str = "") -> dict[str, list[Any]]:
    """What the administration page shows: users, the latest 200 audit entries, patient ids; audited."""
    require_role(admin, "admin")
    overview = {
        "users": store.list_users(),
        "audit": store.list_audit(limit=200),
        "patients": store.list_patients(),
    }
    shown = [p.id for p in overview["patients"]] + [u.patient_id for u in overview["users"] if u.patient_id]
    shown += [a.patient_id for a in overview["audit"] if a.patient_id]
    store.audit(username=admin.username, action="view_admin", detail=where, patient_ids=shown)
    return overview


def create_user(
    store: Any, admin: Any, *, username: str, password: str, role: str, patient_id: str | None
) -> Any:
    """Create a user (administrators only); audited."""
    require_role(admin, "admin")
    if role == "patient" and (not patient_id or store.get_patient(patient_id) is None):
        raise InputError("patient_id: a patient user needs the id of an existing patient", "patient_id")
    if role != "patient" and patient_id:
        raise InputError("patient_id: only patient users are linked to a patient", "patient_id")
    if store.get_user(username) is not None:
        raise InputError("username: already exists (allowed a new username)", "username")
    created = store.add_user(username, password, role, patient_id=patient_id)
    store.audit(username=admin.username, action="add_user", detail=f"{created.username} ({created.role})")
    return created


def end_user_sessions(store: Any, admin: Any, username: str) -> int:
    """End every login session of ``username`` (administrators only); audited."""
    require_role(admin, "admin")
    if store.get_user(username) is None:
        raise NotFound("user")
    ended = store.end_user_sessions(username)
    store.audit(username=admin.username, action="end_sessions", detail=f"{username}: {ended} ended")
    return ended
