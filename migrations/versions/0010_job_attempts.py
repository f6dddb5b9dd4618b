"""Job attempts and hand-over time (issue #6: retries and cluster-wide per-tenant caps).

``jobs.attempts`` counts the times a worker took the job (a job whose worker is lost is queued
again until it reaches ``LINLI_JOB_ATTEMPTS``); ``jobs.sent_at`` is when a job runner handed the
queued job to its executor (``NULL`` while the runner holds it), so that every front-end can
count a tenant's jobs in flight. Both columns are added in place (nullable, or with a server
default), so SQLite needs no table rebuild, neither up nor down.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch rebuild of ``jobs`` would null
    # the references to it (see 0002)
    op.drop_column("jobs", "sent_at")
    op.drop_column("jobs", "attempts")
