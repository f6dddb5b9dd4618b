"""The five evaluations (五评议): reports, reviews, surveys, points, vetoes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    # service.db.base.UTCDateTime stores this type (UTC, read back timezone-aware).
    return sa.DateTime(timezone=True)


def _fk(table: str, column: str, referred: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete=ondelete,
    )


def _id() -> sa.String:
    return sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "self_evaluations",
        sa.Column("id", _id(), nullable=False),
        sa.Column("member_id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(length=5000), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("submitted_at", _utc(), nullable=False),
        _fk("self_evaluations", "member_id", "members", "RESTRICT"),
        _fk("self_evaluations", "community_id", "communities", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_evaluations")),
        sa.UniqueConstraint(
            "member_id", "period", name=op.f("uq_self_evaluations_member_id_period")
        ),
    )
    op.create_index(op.f("ix_self_evaluations_community_id"), "self_evaluations", ["community_id"])
    op.create_table(
        "leader_reviews",
        sa.Column("id", _id(), nullable=False),
        sa.Column("member_id", _id(), nullable=False),
        sa.Column("unit_id", _id(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=False),
        sa.Column("mark", sa.String(length=16), nullable=False),
        sa.Column("reviewer_role", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("leader_reviews", "member_id", "members", "RESTRICT"),
        _fk("leader_reviews", "unit_id", "units", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leader_reviews")),
        sa.UniqueConstraint("member_id", "period", name=op.f("uq_leader_reviews_member_id_period")),
    )
    op.create_index(op.f("ix_leader_reviews_unit_id"), "leader_reviews", ["unit_id"])
    op.create_table(
        "survey_responses",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("member_id", _id(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("respondent_kind", sa.String(length=32), nullable=False),
        sa.Column("respondent_ref", _id(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("survey_responses", "community_id", "communities", "RESTRICT"),
        _fk("survey_responses", "member_id", "members", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint(
            "member_id",
            "period",
            "respondent_ref",
            name=op.f("uq_survey_responses_member_id_period_respondent_ref"),
        ),
    )
    op.create_index(
        "ix_survey_responses_community_id_period",
        "survey_responses",
        ["community_id", "period"],
    )
    op.create_table(
        "points_schemes",
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        _fk("points_schemes", "community_id", "communities", "CASCADE"),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_points_schemes")),
    )
    op.create_table(
        "veto_statements",
        sa.Column("id", _id(), nullable=False),
        sa.Column("community_id", _id(), nullable=False),
        sa.Column("member_id", _id(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("statement", sa.String(length=2000), nullable=False),
        sa.Column("recorded_by_role", sa.String(length=16), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("veto_statements", "community_id", "communities", "RESTRICT"),
        _fk("veto_statements", "member_id", "members", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_veto_statements")),
        sa.UniqueConstraint(
            "community_id",
            "member_id",
            "period",
            name=op.f("uq_veto_statements_community_id_member_id_period"),
        ),
    )
    op.create_index(op.f("ix_veto_statements_member_id"), "veto_statements", ["member_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_veto_statements_member_id"), table_name="veto_statements")
    op.drop_table("veto_statements")
    op.drop_table("points_schemes")
    op.drop_index("ix_survey_responses_community_id_period", table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index(op.f("ix_leader_reviews_unit_id"), table_name="leader_reviews")
    op.drop_table("leader_reviews")
    op.drop_index(op.f("ix_self_evaluations_community_id"), table_name="self_evaluations")
    op.drop_table("self_evaluations")
