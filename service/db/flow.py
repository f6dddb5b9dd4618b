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

DEMAND_STATUSES = ("open", "dispatched", "accepted", "completed", "cancelled")
"""open: on the demand list; dispatched: offered to a member; accepted: a member serves it."""

TASK_STATUSES = ("offered", "accepted", "completed", "declined")
ACTIVE_TASK_STATUSES = ("offered", "accepted", "completed")
"""A demand has at most one task in these states (a partial unique index guarantees it)."""

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
    resident_ref: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    contact_phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    address_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When it was completed or cancelled (the retention period counts from here)."""
    contact_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Task(Base):
    """A demand given to one member: offered by a dispatch, or accepted directly by a claim."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index(
            "uq_tasks_active_demand_id",
            "demand_id",
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
