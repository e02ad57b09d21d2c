"""live sessions: machine messages, engine updates

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Treatments in progress fed by machine messages (HL7 v2, JSON, FHIR), their stored messages in arrival order
(duplicates recognised by sender and control id) and the early-warning engine's update after each message.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prescription", sa.JSON(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_live_sessions_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_sessions")),
    )
    op.create_index(op.f("ix_live_sessions_patient_id"), "live_sessions", ["patient_id"])
    op.create_index(op.f("ix_live_sessions_closed_at"), "live_sessions", ["closed_at"])
    op.create_table(
        "live_messages",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("live_session_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("t_min", sa.Float(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_session_id"],
            ["live_sessions.id"],
            name=op.f("fk_live_messages_live_session_id_live_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_live_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_live_messages_key")),
    )
    op.create_index(op.f("ix_live_messages_live_session_id"), "live_messages", ["live_session_id"])
    op.create_table(
        "live_updates",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("live_session_id", sa.String(length=64), nullable=False),
        sa.Column("t_min", sa.Float(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["live_messages.seq"], name=op.f("fk_live_updates_seq_live_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["live_session_id"],
            ["live_sessions.id"],
            name=op.f("fk_live_updates_live_session_id_live_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_live_updates")),
    )
    op.create_index(op.f("ix_live_updates_live_session_id"), "live_updates", ["live_session_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_live_updates_live_session_id"), table_name="live_updates")
    op.drop_table("live_updates")
    op.drop_index(op.f("ix_live_messages_live_session_id"), table_name="live_messages")
    op.drop_table("live_messages")
    op.drop_index(op.f("ix_live_sessions_closed_at"), table_name="live_sessions")
    op.drop_index(op.f("ix_live_sessions_patient_id"), table_name="live_sessions")
    op.drop_table("live_sessions")
