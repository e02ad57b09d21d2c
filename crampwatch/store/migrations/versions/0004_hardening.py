"""login-failure counts, aggregated audit rows, list views' patients, app settings, jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Failed logins counted per account and told to the account's owner at the next login (kept with that
login session until shown); audit rows that
stand for several anonymous refusals (``count``) and the patients shown by a list view
(``audit_patients``), with indexes for filtering by user and action; settings generated once and kept
(``app_settings``: the secret key of every server process); heavy work that runs one at a time per
subject (``jobs``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_failed_login_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("login_sessions") as batch:
        batch.add_column(sa.Column("notice_failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("notice_last_failed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("count", sa.Integer(), server_default="1", nullable=False))
    op.create_index(op.f("ix_audit_log_username"), "audit_log", ["username"], unique=False)
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"], unique=False)
    op.create_table(
        "audit_patients",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit_log.id"],
            name=op.f("fk_audit_patients_audit_id_audit_log"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("audit_id", "patient_id", name=op.f("pk_audit_patients")),
    )
    op.create_index(op.f("ix_audit_patients_patient_id"), "audit_patients", ["patient_id"], unique=False)
    op.create_table(
        "app_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_settings")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("active_key", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("active_key", name=op.f("uq_jobs_active_key")),
    )
    op.create_index(op.f("ix_jobs_submitted_at"), "jobs", ["submitted_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_jobs_submitted_at"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("app_settings")
    op.drop_index(op.f("ix_audit_patients_patient_id"), table_name="audit_patients")
    op.drop_table("audit_patients")
    op.drop_index(op.f("ix_audit_log_action"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_username"), table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("count")
    with op.batch_alter_table("login_sessions") as batch:
        batch.drop_column("notice_last_failed_at")
        batch.drop_column("notice_failed_logins")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_login_at")
        batch.drop_column("last_failed_login_at")
        batch.drop_column("failed_logins")
