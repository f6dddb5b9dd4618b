"""Login sessions that end (issue #17): ``people.session_version``.

A login session carries the person's session version; logging out, and a lockout after too many
failed logins, raise the version, so every session of that person, on every device, stops
working at once (the signed cookie alone could not be revoked). Added in place with a server
default, so SQLite needs no table rebuild.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "people",
        sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("people", "session_version")
