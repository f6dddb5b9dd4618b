"""Posts and commitments, groups, pairs (the long-term records).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE_PAIR = "end_date IS NULL"


def _utc() -> sa.DateTime:
    # service.db.base.UTCDateTime stores this type (UTC, read back timezone-aware).
    return sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def _id() -> sa.String:
    return sa.String(length=64)


def upgrade() -> None:
    _posts()
    _groups()
    _pairs()


def _posts() -> None:
    op.create_table(
        "posts",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("desired_skills", sa.JSON(), nullable=False),
        sa.Column("grid_id", _id(), nullable=True),
        sa.Column("commitment_service", sa.String(length=500), nullable=True),
        sa.Column("commitment_deadline", sa.Date(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("posts", "community_id", "communities.id", "RESTRICT"),
        _fk("posts", "grid_id", "grids.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    op.create_index(op.f("ix_posts_community_id"), "posts", ["community_id"])
    op.create_table(
        "post_choices",
        sa.Column("member_id", _id(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("post_id", _id(), nullable=False),
        _fk("post_choices", "member_id", "members.id", "CASCADE"),
        _fk("post_choices", "post_id", "posts.id", "CASCADE"),
        sa.PrimaryKeyConstraint("member_id", "rank", name=op.f("pk_post_choices")),
        sa.UniqueConstraint("member_id", "post_id", name=op.f("uq_post_choices_member_id_post_id")),
    )
    op.create_index(op.f("ix_post_choices_post_id"), "post_choices", ["post_id"])
    op.create_table(
        "post_allocations",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("bound", sa.Float(), nullable=False),
        sa.Column("unassigned", sa.JSON(), nullable=False),
        sa.Column("vacancies", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("post_allocations", "community_id", "communities.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_allocations")),
    )
    op.create_index(
        "ix_post_allocations_community_id_created_at",
        "post_allocations",
        ["community_id", "created_at"],
    )
    op.create_table(
        "commitments",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("allocation_id", _id(), nullable=False),
        sa.Column("member_id", _id(), nullable=False),
        sa.Column("post_id", _id(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("fit", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=500), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("marked_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("commitments", "allocation_id", "post_allocations.id", "RESTRICT"),
        _fk("commitments", "community_id", "communities.id", "RESTRICT"),
        _fk("commitments", "member_id", "members.id", "RESTRICT"),
        _fk("commitments", "post_id", "posts.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )
    op.create_index(op.f("ix_commitments_allocation_id"), "commitments", ["allocation_id"])
    op.create_index("ix_commitments_community_id_status", "commitments", ["community_id", "status"])
    op.create_index(op.f("ix_commitments_member_id"), "commitments", ["member_id"])
    op.create_index(op.f("ix_commitments_post_id"), "commitments", ["post_id"])


def _groups() -> None:
    op.create_table(
        "groups",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("leader_id", _id(), nullable=True),
        sa.Column("area_buildings", sa.JSON(), nullable=False),
        sa.Column("area_grids", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("groups", "community_id", "communities.id", "RESTRICT"),
        _fk("groups", "leader_id", "members.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
    )
    op.create_index(op.f("ix_groups_community_id"), "groups", ["community_id"])
    op.create_table(
        "group_members",
        sa.Column("group_id", _id(), nullable=False),
        sa.Column("member_id", _id(), nullable=False),
        _fk("group_members", "group_id", "groups.id", "CASCADE"),
        _fk("group_members", "member_id", "members.id", "CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "member_id", name=op.f("pk_group_members")),
        sa.UniqueConstraint("member_id", name=op.f("uq_group_members_member_id")),
    )
    op.create_table(
        "households",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("building_id", _id(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("households", "building_id", "buildings.id", "RESTRICT"),
        _fk("households", "community_id", "communities.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
    )
    op.create_index(op.f("ix_households_building_id"), "households", ["building_id"])
    op.create_index(op.f("ix_households_community_id"), "households", ["community_id"])


def _pairs() -> None:
    op.create_table(
        "hand_in_hand_pairs",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("member_id", _id(), nullable=False),
        sa.Column("resident_ref", _id(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("hand_in_hand_pairs", "community_id", "communities.id", "RESTRICT"),
        _fk("hand_in_hand_pairs", "member_id", "members.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hand_in_hand_pairs")),
    )
    op.create_index(
        "ix_hand_in_hand_pairs_community_id_period",
        "hand_in_hand_pairs",
        ["community_id", "period"],
    )
    op.create_index(op.f("ix_hand_in_hand_pairs_member_id"), "hand_in_hand_pairs", ["member_id"])
    # One active pair per resident, even under concurrent writers.
    op.create_index(
        "uq_hand_in_hand_pairs_active_resident",
        "hand_in_hand_pairs",
        ["community_id", "resident_ref"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE_PAIR),
        postgresql_where=sa.text(_ACTIVE_PAIR),
    )
    op.create_table(
        "unit_pairs",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("unit_id", _id(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("unit_pairs", "community_id", "communities.id", "RESTRICT"),
        _fk("unit_pairs", "unit_id", "units.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_pairs")),
    )
    op.create_index("ix_unit_pairs_community_id_period", "unit_pairs", ["community_id", "period"])
    op.create_index(op.f("ix_unit_pairs_unit_id"), "unit_pairs", ["unit_id"])
    # One active pair per unit and community.
    op.create_index(
        "uq_unit_pairs_active_unit_community",
        "unit_pairs",
        ["unit_id", "community_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE_PAIR),
        postgresql_where=sa.text(_ACTIVE_PAIR),
    )


def downgrade() -> None:
    op.drop_index("uq_unit_pairs_active_unit_community", table_name="unit_pairs")
    op.drop_index(op.f("ix_unit_pairs_unit_id"), table_name="unit_pairs")
    op.drop_index("ix_unit_pairs_community_id_period", table_name="unit_pairs")
    op.drop_table("unit_pairs")
    op.drop_index("uq_hand_in_hand_pairs_active_resident", table_name="hand_in_hand_pairs")
    op.drop_index(op.f("ix_hand_in_hand_pairs_member_id"), table_name="hand_in_hand_pairs")
    op.drop_index("ix_hand_in_hand_pairs_community_id_period", table_name="hand_in_hand_pairs")
    op.drop_table("hand_in_hand_pairs")
    op.drop_index(op.f("ix_households_community_id"), table_name="households")
    op.drop_index(op.f("ix_households_building_id"), table_name="households")
    op.drop_table("households")
    op.drop_table("group_members")
    op.drop_index(op.f("ix_groups_community_id"), table_name="groups")
    op.drop_table("groups")
    op.drop_index(op.f("ix_commitments_post_id"), table_name="commitments")
    op.drop_index(op.f("ix_commitments_member_id"), table_name="commitments")
    op.drop_index("ix_commitments_community_id_status", table_name="commitments")
    op.drop_index(op.f("ix_commitments_allocation_id"), table_name="commitments")
    op.drop_table("commitments")
    op.drop_index("ix_post_allocations_community_id_created_at", table_name="post_allocations")
    op.drop_table("post_allocations")
    op.drop_index(op.f("ix_post_choices_post_id"), table_name="post_choices")
    op.drop_table("post_choices")
    op.drop_index(op.f("ix_posts_community_id"), table_name="posts")
    op.drop_table("posts")
