"""Job kinds: ``jobs.kind`` ("dispatch" or "visits") gets the server default "dispatch".

The column exists since 0001 (always written by the service, so every existing row is a
dispatch job); the default keeps rows written without it valid now that visit-schedule jobs
share the table.

SQLite cannot change a column's default in place: the table is rebuilt (batch mode). With
foreign keys on, dropping the old table sets the references to it to NULL
(``jobs.resubmitted_from``, ``idempotency_records.job_id``, both ``ON DELETE SET NULL``), so they
are read before and written back after the rebuild.

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFERENCES = (
    ("jobs", "resubmitted_from"),
    ("idempotency_records", "job_id"),
)


def _set_kind_default(default: str | None) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    saved: list[tuple[str, str, list[sa.Row[tuple[object, object]]]]] = []
    if sqlite:
        for table, column in _REFERENCES:
            rows = bind.execute(
                sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")
            ).all()
            saved.append((table, column, list(rows)))
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column(
            "kind",
            existing_type=sa.String(length=32),
            existing_nullable=False,
            server_default=default,
        )
    for table, column, rows in saved:
        for row_id, target in rows:
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :target WHERE id = :id"),
                {"target": target, "id": row_id},
            )


def upgrade() -> None:
    _set_kind_default("dispatch")


def downgrade() -> None:
    _set_kind_default(None)
