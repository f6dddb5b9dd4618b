"""The records a community keeps (issue #18): names, demand content, the three ledgers.

- ``members``: name (姓名), phone (encrypted), Party organisation, position, the date the unit
  issued the registration card and the date the member reported;
- ``buildings``: a location, so a demand can take its building's;
- ``demands``: content (需求内容), source channel (诉求来源), building and household;
- ``demand_events`` (群众诉求台账: each step of a demand's history), ``demand_feedback``
  (诉求反馈台账) and ``visit_notes`` (民情走访台账).

Rows registered before keep null names and contents; the console says so. Existing demands'
history starts with an ``ordered`` step at their creation time, and every task they had
becomes its steps (dispatched, declined, completed), so the requests ledger is whole.
Every column is added in place (no table rebuild: SQLite could not rebuild tables that other
tables reference).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    # service.db.base.UTCDateTime stores this type (UTC, read back timezone-aware).
    return sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild): members, buildings and demands are referenced by
    # other tables, and SQLite could not drop and rebuild them with foreign keys on.
    for column in (
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("party_organisation", sa.String(length=200), nullable=True),
        sa.Column("position", sa.String(length=200), nullable=True),
        sa.Column("card_issued_on", sa.Date(), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=True),
    ):
        op.add_column("members", column)
    op.add_column("buildings", sa.Column("lat", sa.Float(), nullable=True))
    op.add_column("buildings", sa.Column("lon", sa.Float(), nullable=True))
    op.add_column("demands", sa.Column("content", sa.String(length=500), nullable=True))
    op.add_column("demands", sa.Column("source", sa.String(length=16), nullable=True))
    # The building and household a demand names are checked when it is written
    # (service.domain.flow); no foreign key, so SQLite adds them without a table rebuild.
    op.add_column("demands", sa.Column("building_id", sa.String(length=64), nullable=True))
    op.add_column("demands", sa.Column("household_id", sa.String(length=64), nullable=True))
    op.create_table(
        "demand_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("demand_id", sa.String(length=64), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        _fk("demand_events", "demand_id", "demands.id", "CASCADE"),
        _fk("demand_events", "member_id", "members.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_events")),
    )
    op.create_index("ix_demand_events_demand_id_at", "demand_events", ["demand_id", "at"])
    op.create_table(
        "demand_feedback",
        sa.Column("demand_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=500), nullable=False),
        sa.Column("told_at", _utc(), nullable=True),
        sa.Column("told_via", sa.String(length=16), nullable=True),
        sa.Column("satisfaction", sa.String(length=24), nullable=True),
        sa.Column("no_feedback_reason", sa.String(length=500), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        _fk("demand_feedback", "demand_id", "demands.id", "CASCADE"),
        sa.PrimaryKeyConstraint("demand_id", name=op.f("pk_demand_feedback")),
    )
    op.create_table(
        "visit_notes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("visitors", sa.JSON(), nullable=False),
        sa.Column("content", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("demand_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("visit_notes", "community_id", "communities.id", "RESTRICT"),
        _fk("visit_notes", "household_id", "households.id", "RESTRICT"),
        _fk("visit_notes", "session_id", "visit_sessions.id", "SET NULL"),
        _fk("visit_notes", "demand_id", "demands.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_notes")),
    )
    op.create_index(op.f("ix_visit_notes_household_id"), "visit_notes", ["household_id"])
    op.create_index(
        "ix_visit_notes_community_id_visited_on", "visit_notes", ["community_id", "visited_on"]
    )
    _history_of_existing_demands()


def _history_of_existing_demands() -> None:
    """Each existing demand's steps, from its row and its tasks (actor: 系统迁移)."""
    actor = "'系统迁移'"
    op.execute(
        "INSERT INTO demand_events (demand_id, at, action, member_id, actor, note) "
        f"SELECT id, created_at, 'ordered', NULL, {actor}, NULL FROM demands"
    )
    op.execute(
        "INSERT INTO demand_events (demand_id, at, action, member_id, actor, note) "
        f"SELECT demand_id, created_at, 'dispatched', member_id, {actor}, NULL FROM tasks"
    )
    op.execute(
        "INSERT INTO demand_events (demand_id, at, action, member_id, actor, note) "
        f"SELECT demand_id, created_at, 'declined', member_id, {actor}, decline_reason "
        "FROM tasks WHERE status = 'declined'"
    )
    op.execute(
        "INSERT INTO demand_events (demand_id, at, action, member_id, actor, note) "
        f"SELECT demand_id, COALESCE(completed_at, created_at), 'completed', member_id, {actor}, "
        "NULL FROM tasks WHERE status = 'completed'"
    )
    op.execute(
        "INSERT INTO demand_events (demand_id, at, action, member_id, actor, note) "
        f"SELECT id, closed_at, 'cancelled', NULL, {actor}, NULL FROM demands "
        "WHERE status = 'cancelled' AND closed_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_visit_notes_community_id_visited_on", table_name="visit_notes")
    op.drop_index(op.f("ix_visit_notes_household_id"), table_name="visit_notes")
    op.drop_table("visit_notes")
    op.drop_table("demand_feedback")
    op.drop_index("ix_demand_events_demand_id_at", table_name="demand_events")
    op.drop_table("demand_events")
    op.execute("UPDATE demands SET status = 'completed' WHERE status = 'closed'")
    op.drop_column("demands", "household_id")
    op.drop_column("demands", "building_id")
    op.drop_column("demands", "source")
    op.drop_column("demands", "content")
    op.drop_column("buildings", "lon")
    op.drop_column("buildings", "lat")
    for column in (
        "reported_on",
        "card_issued_on",
        "position",
        "party_organisation",
        "phone_enc",
        "name",
    ):
        op.drop_column("members", column)
