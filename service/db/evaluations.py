"""The five evaluations (五评议): self-evaluations, leader reviews, residents' surveys, the
community's points scheme and veto statements.

Built by the Alembic revision ``0009_evaluations``. Ids are set by the server with
:func:`service.db.registration.new_id` (``se-…`` self-evaluations, ``lr-…`` leader reviews,
``sr-…`` survey responses, ``vt-…`` veto statements); a points scheme is keyed by its community.
A period is a half year written ``2026H1`` (January–June, Asia/Shanghai) or ``2026H2``.

The points themselves are never stored: they are tallied from the recorded facts (the ledger,
tasks, commitments, attendance) each time they are asked for
(:mod:`service.domain.evaluations`), so that every number can be traced to its facts.

Who wrote a review or a veto is the request's principal: ``*_role`` and ``*_id`` (a person's
login id, or an API key's id); no name is stored. A survey's respondent is an opaque reference.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime, utcnow
from service.db.registration import ID_LENGTH

PERIOD_LENGTH = 8
REPORT_LENGTH = 5000
"""The longest self-evaluation text (党员自评)."""
COMMENT_LENGTH = 2000
STATEMENT_LENGTH = 2000

MARKS = ("excellent", "good", "fair", "poor")
"""A leader review's mark: 优秀, 良好, 一般, 较差."""

RESPONDENT_KINDS = ("representative", "served_resident")
"""群众测评: resident representatives, residents the member served."""


class SelfEvaluation(Base):
    """A member's half-yearly written report (党员自评), submitted once per period.

    ``figures`` keeps the ledger figures the member saw in the pre-filled draft when they
    submitted (the live figures are always recomputed).
    """

    __tablename__ = "self_evaluations"
    __table_args__ = (UniqueConstraint("member_id", "period"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), nullable=False
    )
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    period: Mapped[str] = mapped_column(String(PERIOD_LENGTH), nullable=False)
    text: Mapped[str] = mapped_column(String(REPORT_LENGTH), nullable=False)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class LeaderReview(Base):
    """The member's unit reviews them (领导点评) for a period: a comment and a mark."""

    __tablename__ = "leader_reviews"
    __table_args__ = (UniqueConstraint("member_id", "period"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), nullable=False
    )
    unit_id: Mapped[str] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    period: Mapped[str] = mapped_column(String(PERIOD_LENGTH), nullable=False)
    comment: Mapped[str] = mapped_column(String(COMMENT_LENGTH), nullable=False)
    mark: Mapped[str] = mapped_column(String(16), nullable=False)
    reviewer_role: Mapped[str] = mapped_column(String(16), nullable=False)
    reviewer_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SurveyResponse(Base):
    """One respondent's score (1..5) of a member in a half-yearly survey (群众测评)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("member_id", "period", "respondent_ref"),
        Index("ix_survey_responses_community_id_period", "community_id", "period"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), nullable=False
    )
    period: Mapped[str] = mapped_column(String(PERIOD_LENGTH), nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    respondent_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    respondent_ref: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class PointsScheme(Base):
    """A community's points scheme (社区参评): weights, penalties, tiers, stars, shortlist.

    ``config`` is validated by ``PointsSchemeSchema``; a community without a row uses
    :data:`service.domain.evaluations.scheme.DEFAULT_SCHEME`.
    """

    __tablename__ = "points_schemes"

    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class VetoStatement(Base):
    """A community's written statement that a member never served (一票否决) in a period: it
    vetoes the member's excellence ratings of that year."""

    __tablename__ = "veto_statements"
    __table_args__ = (UniqueConstraint("community_id", "member_id", "period"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    period: Mapped[str] = mapped_column(String(PERIOD_LENGTH), nullable=False)
    statement: Mapped[str] = mapped_column(String(STATEMENT_LENGTH), nullable=False)
    recorded_by_role: Mapped[str] = mapped_column(String(16), nullable=False)
    recorded_by_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
