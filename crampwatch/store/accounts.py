"""Users, their passwords, and their server-side login sessions.

A login session is a random token held by the browser; the database keeps only its SHA-256, so a copy of
the database gives no usable cookie. A session ends when it is revoked (logout, password change, an
administrator ending the user's sessions), when it has been idle too long, or at its absolute end.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from crampwatch.errors import InputError
from crampwatch.roles import require_role
from crampwatch.store import security
from crampwatch.store.base import StoreBase, as_utc, require_patient
from crampwatch.store.records import UserRecord
from crampwatch.store.schema import LoginSessionRow, UserRow, utcnow
from crampwatch.store.validation import require_username

Role = Literal["clinician", "admin", "patient"]

#: ``last_seen_at`` is written at most this often per session, so that reading pages does not turn every
#: request into a disk-synced write; idle expiry is exact to this resolution (modelling choice).
LAST_SEEN_RESOLUTION_S = 60.0
#: Ended or expired login sessions are deleted this long after their end (audit_log keeps the history).
SESSION_ROW_RETENTION = timedelta(days=7)


def token_hash(token: str) -> str:
    """SHA-256 hex of a session token (the only form in which the database holds it)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class AccountStore(StoreBase):
    """Users and login sessions."""

    # --------------------------------------------------------------------------------------------- users

    def add_user(self, username: str, password: str, role: Role, patient_id: str | None = None) -> UserRecord:
        """Create a user; ``patient`` users must name their patient, other roles must not."""
        username = require_username(username)
        require_role(role)
        if role == "patient" and not patient_id:
            raise InputError("patient_id: required for role 'patient'", "patient_id")
        if role != "patient" and patient_id:
            raise InputError(f"patient_id: only for role 'patient' (role is {role!r})", "patient_id")
        password_hash = security.hash_password(password, username)  # slow on purpose: outside the transaction
        with self._write() as s:
            if s.scalars(select(UserRow).where(UserRow.username == username)).first() is not None:
                raise InputError(
                    f"username: {username!r} already exists (allowed a new username)", "username"
                )
            if patient_id is not None:
                require_patient(s, patient_id)
            row = UserRow(username=username, password_hash=password_hash, role=role, patient_id=patient_id)
            s.add(row)
            s.flush()
            return _user_record(row)

    def set_password(self, username: str, password: str) -> int:
        """Replace the user's password and end all their login sessions; returns how many were ended."""
        password_hash = security.hash_password(password, username)
        with self._write() as s:
            row = _require_user(s, username)
            row.password_hash = password_hash
            return _revoke(s, row.id)

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The user if ``password`` is right, else ``None`` (unknown users cost the same Argon2 time)."""
        if not isinstance(username, str) or not isinstance(password, str):
            return None
        with self._read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
        if not security.verify_password(None if row is None else row.password_hash, password):
            return None
        assert row is not None
        if security.needs_rehash(row.password_hash):
            new_hash = security.rehash(password)  # same password: the sessions stay
            with self._write() as s:
                _require_user(s, username).password_hash = new_hash
        return _user_record(row)

    def get_user(self, username: str) -> UserRecord | None:
        with self._read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
            return None if row is None else _user_record(row)

    def list_users(self) -> list[UserRecord]:
        with self._read() as s:
            return [_user_record(r) for r in s.scalars(select(UserRow).order_by(UserRow.username))]

    # ------------------------------------------------------------------------------------ login sessions

    def record_failed_login(self, username: str) -> bool:
        """Count a failed login against an existing account (told to its owner at the next login);
        ``False`` when no account has that name."""
        if not isinstance(username, str) or not username:
            return False
        with self._write() as s:
            result = s.execute(
                update(UserRow)
                .where(UserRow.username == username)
                .values(failed_logins=UserRow.failed_logins + 1, last_failed_login_at=utcnow())
            )
            return bool(result.rowcount)

    def has_recent_login(self, username: str, client_ip: str) -> bool:
        """Whether ``username`` logged in from ``client_ip`` within the kept session history (7 days)."""
        with self._read() as s:
            found = s.execute(
                select(LoginSessionRow.token_hash)
                .join(UserRow, UserRow.id == LoginSessionRow.user_id)
                .where(UserRow.username == username, LoginSessionRow.client.startswith(f"{client_ip} "))
                .limit(1)
            ).first()
        return found is not None

    def clear_login_notice(self, token: str) -> None:
        """The failed-login notice of this login session has been shown."""
        with self._write() as s:
            s.execute(
                update(LoginSessionRow)
                .where(LoginSessionRow.token_hash == token_hash(token))
                .values(notice_failed_logins=0, notice_last_failed_at=None)
            )

    def start_login_session(
        self, username: str, token: str, *, absolute_s: float, client: str = ""
    ) -> datetime:
        """Record a new login session of ``username`` for ``token``; returns its absolute end (UTC).

        The account's failed logins since its last login move to the new session (shown once to the user).
        """
        now = utcnow()
        expires = now + timedelta(seconds=absolute_s)
        with self._write() as s:
            user = _require_user(s, username)
            failed, last_failed = user.failed_logins or 0, user.last_failed_login_at
            user.failed_logins, user.last_failed_login_at, user.last_login_at = 0, None, now
            s.execute(
                delete(LoginSessionRow).where(
                    or_(
                        LoginSessionRow.expires_at < now - SESSION_ROW_RETENTION,
                        LoginSessionRow.revoked_at < now - SESSION_ROW_RETENTION,
                    )
                )
            )
            s.add(
                LoginSessionRow(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                    client=str(client)[:200],
                    notice_failed_logins=failed,
                    notice_last_failed_at=last_failed,
                )
            )
        return expires

    def resolve_login_session(self, token: str, *, idle_s: float) -> UserRecord | None:
        """The user of a live session (not revoked, not idle > ``idle_s``, before its end), else ``None``.

        Marks the session as seen now (at most every :data:`LAST_SEEN_RESOLUTION_S`).
        """
        if not isinstance(token, str) or not token:
            return None
        key = token_hash(token)
        now = utcnow()
        with self._read() as s:
            found = s.execute(_RESOLVE_SESSION, {"token_hash": key}).first()
        if found is None:
            return None
        revoked_at, expires_at, last_seen_at, failed, last_failed_at = found[:5]
        last_seen = as_utc(last_seen_at)
        if revoked_at is not None or now >= as_utc(expires_at) or (now - last_seen).total_seconds() > idle_s:
            return None
        notice = {"notice_failed_logins": failed or 0, "notice_last_failed_at": as_utc(last_failed_at)}
        if (now - last_seen).total_seconds() >= LAST_SEEN_RESOLUTION_S:
            with self._write() as s:
                s.execute(
                    update(LoginSessionRow)
                    .where(LoginSessionRow.token_hash == key, LoginSessionRow.revoked_at.is_(None))
                    .values(last_seen_at=now)
                )
        return _user_record(found, **notice)

    def end_login_session(self, token: str) -> bool:
        """Revoke one session (logout); ``False`` when there was no live session with that token."""
        with self._write() as s:
            result = s.execute(
                update(LoginSessionRow)
                .where(LoginSessionRow.token_hash == token_hash(token), LoginSessionRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return bool(result.rowcount)

    def end_user_sessions(self, username: str) -> int:
        """Revoke every session of ``username``; returns how many were live."""
        with self._write() as s:
            return _revoke(s, _require_user(s, username).id)

    def count_live_sessions(self, username: str) -> int:
        """Sessions of ``username`` that are neither revoked nor past their absolute end."""
        with self._read() as s:
            user = _require_user(s, username)
            rows = s.scalars(
                select(LoginSessionRow.expires_at).where(
                    LoginSessionRow.user_id == user.id, LoginSessionRow.revoked_at.is_(None)
                )
            ).all()
        now = utcnow()
        return sum(1 for expires in rows if as_utc(expires) > now)


def _require_user(s: Session, username: str) -> UserRow:
    row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
    if row is None:
        raise InputError(f"username: {username!r} does not exist", "username")
    return row


def _revoke(s: Session, user_id: int) -> int:
    result = s.execute(
        update(LoginSessionRow)
        .where(LoginSessionRow.user_id == user_id, LoginSessionRow.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)


#: The login session and its user by token hash (parameter ``token_hash``), built once: every request
#: of a logged-in user reads it.
_RESOLVE_SESSION = (
    select(
        LoginSessionRow.revoked_at,
        LoginSessionRow.expires_at,
        LoginSessionRow.last_seen_at,
        LoginSessionRow.notice_failed_logins,
        LoginSessionRow.notice_last_failed_at,
        UserRow.id,
        UserRow.username,
        UserRow.role,
        UserRow.patient_id,
        UserRow.created_at,
    )
    .join(UserRow, UserRow.id == LoginSessionRow.user_id)
    .where(LoginSessionRow.token_hash == bindparam("token_hash"))
)


def _user_record(row: Any, **notice: Any) -> UserRecord:
    """The user of a :class:`UserRow` or of a result row with the same column names."""
    return UserRecord(
        id=row.id,
        username=row.username,
        role=row.role,
        patient_id=row.patient_id,
        created_at=as_utc(row.created_at),
        **notice,
    )
