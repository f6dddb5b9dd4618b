"""The menu flow (issue #7): demands and tasks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE_TASK = "status IN ('offered', 'accepted', 'completed')"


def _utc() -> sa.DateTime:
    # service.db.base.UTCDateTime stores this type (UTC, read back timezone-aware).
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "demands",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("window_start", _utc(), nullable=False),
        sa.Column("window_end", _utc(), nullable=False),
        sa.Column("duration_hours", sa.Float(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("crew_size", sa.Integer(), nullable=False),
        sa.Column("resident_ref", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_demands_community_id_communities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demands")),
    )
    op.create_index("ix_demands_community_id_status", "demands", ["community_id", "status"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("demand_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("start", _utc(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decline_reason", sa.String(length=500), nullable=True),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demands.id"],
            name=op.f("fk_tasks_demand_id_demands"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_tasks_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_demand_id"), "tasks", ["demand_id"])
    op.create_index(op.f("ix_tasks_member_id"), "tasks", ["member_id"])
    # One active task per demand, even under concurrent writers.
    op.create_index(
        "uq_tasks_active_demand_id",
        "tasks",
        ["demand_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE_TASK),
        postgresql_where=sa.text(_ACTIVE_TASK),
    )


def downgrade() -> None:
    op.drop_index("uq_tasks_active_demand_id", table_name="tasks")
    op.drop_index(op.f("ix_tasks_member_id"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_demand_id"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("ix_demands_community_id_status", table_name="demands")
    op.drop_table("demands")
