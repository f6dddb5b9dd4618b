"""The long-term records (issue #7): posts and commitments, groups, households, pairs.

Built by the Alembic revision ``0006_posts_groups_pairs``. Every id is set by the server with
:func:`service.db.registration.new_id` (``p-…`` posts, ``pa-…`` allocations, ``cm-…``
commitments, ``gr-…`` groups, ``h-…`` households, ``hp-…`` hand-in-hand pairs, ``up-…``
unit–community pairs). Every row carries its ``community_id`` or is reached through a row that
does (a member's choices through the member, a group's members through the group).

No resident is named: a household is an id, a building, a location and needs; a vulnerable
resident in a hand-in-hand pair is an opaque ``resident_ref`` and a category.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime, utcnow
from service.db.registration import ID_LENGTH, NAME_LENGTH

SERVICE_LENGTH = 500
"""The longest commitment text (承诺)."""

COMMITMENT_STATUSES = ("open", "kept", "missed", "withdrawn")
"""open: promised; kept / missed: marked by the dispatcher; withdrawn: a later allocation of
the community replaced the one that made it (set by the server only)."""

COMMITMENT_MARKS = ("kept", "missed")
"""What a dispatcher may mark an open commitment as."""

VULNERABLE_CATEGORIES = ("elderly", "student", "orphan", "disabled", "poor")
"""助老、助学、助孤、助残、助贫: whom a hand-in-hand pair serves (docs/contracts/pairs.md)."""

_ACTIVE_PAIR = text("end_date IS NULL")


class Post(Base):
    """A standing service post (服务岗位) of one community's menu, with ``seats`` places."""

    __tablename__ = "posts"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    title: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    seats: Mapped[int] = mapped_column(Integer, nullable=False)
    skills: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    desired_skills: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    grid_id: Mapped[str | None] = mapped_column(
        ForeignKey("grids.id", ondelete="SET NULL"), nullable=True
    )
    commitment_service: Mapped[str | None] = mapped_column(String(SERVICE_LENGTH), nullable=True)
    commitment_deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class PostChoice(Base):
    """One of a member's ranked choices (选岗): ``rank`` 1 is their first choice."""

    __tablename__ = "post_choices"
    __table_args__ = (UniqueConstraint("member_id", "post_id"),)

    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[str] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), nullable=False, index=True
    )


class PostAllocation(Base):
    """One run of the posts model over a community's menu: the engine's figures and reasons.

    ``unassigned`` holds ``{member_id, reason, detail}`` and ``vacancies`` ``{post_id,
    seats_left}``: ids and the engine's sentences only, no personal data.
    """

    __tablename__ = "post_allocations"
    __table_args__ = (
        Index("ix_post_allocations_community_id_created_at", "community_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    objective: Mapped[float] = mapped_column(Float, nullable=False)
    bound: Mapped[float] = mapped_column(Float, nullable=False)
    unassigned: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    vacancies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Commitment(Base):
    """A member allocated to a post (认岗) and what they promise (承诺) by the deadline.

    ``service`` and ``deadline`` are the post's commitment when it was allocated (null when the
    post has none). ``rank`` is the member's rank of the post (null: placed by fit).
    """

    __tablename__ = "commitments"
    __table_args__ = (Index("ix_commitments_community_id_status", "community_id", "status"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    allocation_id: Mapped[str] = mapped_column(
        ForeignKey("post_allocations.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    post_id: Mapped[str] = mapped_column(
        ForeignKey("posts.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fit: Mapped[int] = mapped_column(Integer, nullable=False)
    service: Mapped[str | None] = mapped_column(String(SERVICE_LENGTH), nullable=True)
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Group(Base):
    """A standing group (分组) of one community, its elected leader and responsibility area.

    The area (责任区) is a list of building ids and a list of grid ids of the community.
    """

    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    leader_id: Mapped[str | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), nullable=True
    )
    area_buildings: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    area_grids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class GroupMember(Base):
    """A member of a group; a member belongs to at most one group."""

    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, unique=True
    )


class Household(Base):
    """A household of a community (for group visits): a building, a location and needs only."""

    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    building_id: Mapped[str] = mapped_column(
        ForeignKey("buildings.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    needs: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class HandInHandPair(Base):
    """A member taking a vulnerable resident by the hand (拉手式) for a period.

    A resident has at most one active pair (no ``end_date``); the next period is a new row.
    """

    __tablename__ = "hand_in_hand_pairs"
    __table_args__ = (
        Index("ix_hand_in_hand_pairs_community_id_period", "community_id", "period"),
        Index(
            "uq_hand_in_hand_pairs_active_resident",
            "community_id",
            "resident_ref",
            unique=True,
            sqlite_where=_ACTIVE_PAIR,
            postgresql_where=_ACTIVE_PAIR,
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    resident_ref: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    category: Mapped[str] = mapped_column(String(16), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class UnitPair(Base):
    """A unit paired with a community (结对共建) for a period; the next period is a new row."""

    __tablename__ = "unit_pairs"
    __table_args__ = (
        Index("ix_unit_pairs_community_id_period", "community_id", "period"),
        Index(
            "uq_unit_pairs_active_unit_community",
            "unit_id",
            "community_id",
            unique=True,
            sqlite_where=_ACTIVE_PAIR,
            postgresql_where=_ACTIVE_PAIR,
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    unit_id: Mapped[str] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
