"""Stored visit schedules, their sessions and attendance (the visit half of the ledger).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    # service.db.base.UTCDateTime stores this type (UTC, read back timezone-aware).
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "visit_schedules",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("quarter_start", sa.Date(), nullable=False),
        sa.Column("quarter_end", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("unscheduled", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_visit_schedules_community_id_communities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_schedules")),
    )
    op.create_index(op.f("ix_visit_schedules_community_id"), "visit_schedules", ["community_id"])
    op.create_table(
        "visit_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("schedule_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("starts_at", _utc(), nullable=False),
        sa.Column("ends_at", _utc(), nullable=False),
        sa.Column("duration_hours", sa.Float(), nullable=False),
        sa.Column("walk_km", sa.Float(), nullable=False),
        sa.Column("households", sa.JSON(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("visited_households", sa.JSON(), nullable=True),
        sa.Column("notes", sa.String(length=1000), nullable=True),
        sa.Column("recorded_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["visit_schedules.id"],
            name=op.f("fk_visit_sessions_schedule_id_visit_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_visit_sessions_community_id_communities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_sessions")),
    )
    op.create_index(op.f("ix_visit_sessions_schedule_id"), "visit_sessions", ["schedule_id"])
    op.create_index(
        "ix_visit_sessions_community_id_starts_at",
        "visit_sessions",
        ["community_id", "starts_at"],
    )
    op.create_table(
        "visit_attendances",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["visit_sessions.id"],
            name=op.f("fk_visit_attendances_session_id_visit_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_visit_attendances_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("session_id", "member_id", name=op.f("pk_visit_attendances")),
    )
    op.create_index(op.f("ix_visit_attendances_member_id"), "visit_attendances", ["member_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_visit_attendances_member_id"), table_name="visit_attendances")
    op.drop_table("visit_attendances")
    op.drop_index("ix_visit_sessions_community_id_starts_at", table_name="visit_sessions")
    op.drop_index(op.f("ix_visit_sessions_schedule_id"), table_name="visit_sessions")
    op.drop_table("visit_sessions")
    op.drop_index(op.f("ix_visit_schedules_community_id"), table_name="visit_schedules")
    op.drop_table("visit_schedules")
