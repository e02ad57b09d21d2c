"""The roles of the clinic application's users (one definition for the store, the app and the CLI)."""

from __future__ import annotations

from crampwatch.errors import InputError

#: clinician: reads every patient, runs what-if and the optimizer; admin: users, audit log, unit model;
#: patient: reports cramps and reads their own sessions in plain words; nurse: watches the running chairs
#: (chairside view), acknowledges alerts and reads the patients' records.
ROLES = ("clinician", "admin", "patient", "nurse")
#: Roles that see the chairside view and acknowledge its alerts.
CHAIRSIDE_ROLES = ("nurse", "clinician")


def require_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else an :class:`InputError` naming the allowed roles."""
    if role not in ROLES:
        raise InputError(f"role: {role!r} is not a role (allowed {', '.join(ROLES)})", "role")
    return role
