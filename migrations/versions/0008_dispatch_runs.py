"""Dispatch runs (a community's dispatch as a job); when a task was completed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    # service.db.base.UTCDateTime stores this type (UTC, read back timezone-aware).
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dispatch_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("time_limit_s", sa.Float(), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("started_at", _utc(), nullable=True),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_dispatch_runs_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_runs")),
    )
    op.create_index(
        "ix_dispatch_runs_community_id_created_at",
        "dispatch_runs",
        ["community_id", "created_at"],
    )
    op.add_column("tasks", sa.Column("completed_at", _utc(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("completed_at")
    op.drop_index("ix_dispatch_runs_community_id_created_at", table_name="dispatch_runs")
    op.drop_table("dispatch_runs")
