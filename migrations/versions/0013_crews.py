"""Demands served by a crew (issue #18): one active task per member of a demand, not per demand.

The partial unique index ``uq_tasks_active_demand_id`` (one offered, accepted or completed task
per demand) becomes ``uq_tasks_active_demand_id_member_id`` (one per member of the demand): a
crew of three holds three tasks of one demand. Every writer of the flow still changes the
demand's row first, so the crew's tasks are written under its lock.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "status IN ('offered', 'accepted', 'completed')"


def upgrade() -> None:
    op.drop_index("uq_tasks_active_demand_id", table_name="tasks")
    op.create_index(
        "uq_tasks_active_demand_id_member_id",
        "tasks",
        ["demand_id", "member_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )


def downgrade() -> None:
    # The old index holds one active task per demand: a database where a crew serves a demand
    # cannot go back without losing whose service it was, so the downgrade stops instead.
    crews = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT COUNT(*) FROM (SELECT demand_id FROM tasks WHERE "
                f"{_ACTIVE} GROUP BY demand_id HAVING COUNT(*) > 1) AS crews"
            )
        )
        .scalar()
    )
    if crews:
        raise RuntimeError(
            f"{crews} demands are served by crews; 0013 cannot be undone without losing them"
        )
    op.drop_index("uq_tasks_active_demand_id_member_id", table_name="tasks")
    op.create_index(
        "uq_tasks_active_demand_id",
        "tasks",
        ["demand_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )
