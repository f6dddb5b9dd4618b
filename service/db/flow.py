"""The menu flow's tables (点单 → 下单 → 接单): demands, the tasks offered for them, dispatch runs.

Built by the Alembic revisions after ``0003``; members and communities are in
:mod:`service.db.registration`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime, utcnow
from service.db.registration import ID_LENGTH, NAME_LENGTH, new_id  # noqa: F401

DEMAND_STATUSES = ("open", "dispatched", "accepted", "completed", "closed", "cancelled")
"""open: on the demand list; dispatched: offered to a member; accepted: a member serves it;
completed: served, the resident not yet told back; closed: the feedback is recorded (诉求反馈)."""

SOURCES = ("team_visit", "building_branch", "qq_group", "sms", "phone", "walk_in", "system")
"""诉求来源: 组团走访, 楼(院)党支部, QQ群, 短信平台, 电话, 来访, another system."""

CONTENT_LENGTH = 500
"""需求内容, a feedback's summary, a visit note: at most this many characters."""

DEMAND_ACTIONS = (
    "ordered",
    "dispatched",
    "declined",
    "claimed",
    "accepted",
    "completed",
    "rated",
    "cancelled",
    "feedback",
)
"""The steps of a demand's history (群众诉求台账), in the order they can happen."""

TOLD_VIA = ("phone", "visit", "sms", "wechat", "in_person", "other")
"""How the resident was told back: 电话, 上门, 短信, 微信, 当面, 其他."""

SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
"""满意, 基本满意, 不满意."""

TASK_STATUSES = ("offered", "accepted", "completed", "declined")
ACTIVE_TASK_STATUSES = ("offered", "accepted", "completed")
"""A member has at most one task of a demand in these states (a partial unique index); a demand
served by a crew has one such task per member of its crew (``0013_crews``)."""

_ACTIVE_TASK = text("status IN ('offered', 'accepted', 'completed')")


class Demand(Base):
    """A resident's order (群众点单): an opaque resident id, and optionally the resident's phone
    and address for the member who serves it, stored only encrypted
    (:mod:`service.domain.personal_data`) and purged ``LINLI_RETENTION_DAYS`` after the demand
    closed."""

    __tablename__ = "demands"
    __table_args__ = (Index("ix_demands_community_id_status", "community_id", "status"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    skills: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    duration_hours: Mapped[float] = mapped_column(Float, nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    crew_size: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    content: Mapped[str | None] = mapped_column(String(CONTENT_LENGTH), nullable=True)
    """需求内容: what the resident asks, in their words (null on rows before ``0012``)."""
    source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """诉求来源 (:data:`SOURCES`)."""
    building_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    """The building it is served at, if any (checked when the demand is written)."""
    household_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    """The household it is for, if any (checked when the demand is written)."""
    resident_ref: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    contact_phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    address_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When it was completed or cancelled (the retention period counts from here)."""
    contact_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Task(Base):
    """A demand given to one member (one of its crew): offered by a dispatch, or accepted
    directly by a claim."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index(
            "uq_tasks_active_demand_id_member_id",
            "demand_id",
            "member_id",
            unique=True,
            sqlite_where=_ACTIVE_TASK,
            postgresql_where=_ACTIVE_TASK,
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    demand_id: Mapped[str] = mapped_column(
        ForeignKey("demands.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    decline_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --------------------------------------------------------------------------------------------
# The requests and feedback ledgers (群众诉求台账, 诉求反馈台账): built by ``0012_records``
# --------------------------------------------------------------------------------------------


class DemandEvent(Base):
    """One step of a demand's history: who did what, when (the requests ledger's rows)."""

    __tablename__ = "demand_events"
    __table_args__ = (Index("ix_demand_events_demand_id_at", "demand_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    demand_id: Mapped[str] = mapped_column(
        ForeignKey("demands.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    member_id: Mapped[str | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), nullable=True
    )
    """The member the step concerns (offered to, declined by, claimed by, served by)."""
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    """Who did it, by name (a person's display name, a key's name, or the member)."""
    note: Mapped[str | None] = mapped_column(String(CONTENT_LENGTH), nullable=True)
    """A decline's reason, the hours served, the rating, …"""


class DemandFeedback(Base):
    """What the resident was told back (诉求反馈): one per demand; recording it closes a
    completed demand."""

    __tablename__ = "demand_feedback"

    demand_id: Mapped[str] = mapped_column(
        ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(CONTENT_LENGTH), nullable=False)
    """What was done (办理结果)."""
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    told_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    satisfaction: Mapped[str | None] = mapped_column(String(24), nullable=True)
    no_feedback_reason: Mapped[str | None] = mapped_column(String(CONTENT_LENGTH), nullable=True)
    """Why the resident could not be told (exactly one of this and ``told_at`` is set)."""
    recorded_by: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


# --------------------------------------------------------------------------------------------
# A community's dispatch as a job: built by ``0008_dispatch_runs``
# --------------------------------------------------------------------------------------------

RUN_STATUSES = ("queued", "running", "succeeded", "failed")
ACTIVE_RUN_STATUSES = ("queued", "running")


class DispatchRun(Base):
    """One dispatch of a community's open demand list, run in the background."""

    __tablename__ = "dispatch_runs"
    __table_args__ = (
        Index("ix_dispatch_runs_community_id_created_at", "community_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    time_limit_s: Mapped[float] = mapped_column(Float, nullable=False)
    actor_role: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[int] = mapped_column(Integer, nullable=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
