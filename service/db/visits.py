"""Stored quarterly visits (组团走访) and their attendance: the visit half of the ledger (活动台账).

Built by the Alembic revision ``0007_visits_and_ledger``. A community's quarter schedule
(:class:`VisitSchedule`, ``vs-…``) holds one :class:`VisitSessionRecord` (``vss-…``) per
outing: a team, a date, start and end, the households in walking order and the planned
attendees. Attendance is recorded afterwards on the session (households actually visited,
notes) with one :class:`VisitAttendance` row per member who came, so that the ledger can count
a member's visits in SQL.

Nothing personal is stored: members and households are ids; the households' locations of the
problem are not kept.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime, utcnow
from service.db.registration import ID_LENGTH

SESSION_STATUSES = ("planned", "attended")
"""planned: as scheduled; attended: attendance was recorded (it may be recorded again)."""

NOTES_LENGTH = 1000


class VisitSchedule(Base):
    """A community's quarter of team visits, as solved and verified when it was stored."""

    __tablename__ = "visit_schedules"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    quarter_start: Mapped[date] = mapped_column(Date, nullable=False)
    quarter_end: Mapped[date] = mapped_column(Date, nullable=False)
    timezone: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    teams: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    """Per team: ``id``, ``members``, ``leader``, ``quorum``, ``area`` and the area's
    ``households`` (ids): what attendance is checked against."""
    unscheduled: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    """The households left out, as the engine explained them (team, households, reason, detail)."""
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class VisitSessionRecord(Base):
    """One team's outing of a stored schedule, and what was recorded after it."""

    __tablename__ = "visit_sessions"
    __table_args__ = (
        Index("ix_visit_sessions_community_id_starts_at", "community_id", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    schedule_id: Mapped[str] = mapped_column(
        ForeignKey("visit_schedules.id", ondelete="CASCADE"), nullable=False, index=True
    )
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    team: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    visit_date: Mapped[date] = mapped_column(Date, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    duration_hours: Mapped[float] = mapped_column(Float, nullable=False)
    """``ends_at - starts_at`` in hours: a visit's hours in the ledger."""
    walk_km: Mapped[float] = mapped_column(Float, nullable=False)
    households: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    """The planned route: household ids in walking order."""
    attendees: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    """The planned attendees (member ids)."""
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="planned")
    visited_households: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    notes: Mapped[str | None] = mapped_column(String(NOTES_LENGTH), nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VisitAttendance(Base):
    """A member who attended a session (recorded afterwards)."""

    __tablename__ = "visit_attendances"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("visit_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


# --------------------------------------------------------------------------------------------
# The visit notes ledger (民情走访台账): built by ``0012_records``
# --------------------------------------------------------------------------------------------

NOTE_LENGTH = 500


class VisitNote(Base):
    """What one household said on one visit (a team outing or a member's own call), and the
    demand it became, if any."""

    __tablename__ = "visit_notes"
    __table_args__ = (
        Index("ix_visit_notes_community_id_visited_on", "community_id", "visited_on"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("visit_sessions.id", ondelete="SET NULL"), nullable=True
    )
    """The team outing it was taken on (null: a visit outside the quarter's schedule)."""
    visited_on: Mapped[date] = mapped_column(Date, nullable=False)
    visitors: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    """Member ids of those who called."""
    content: Mapped[str] = mapped_column(String(NOTE_LENGTH), nullable=False)
    """走访情况: what the household said or needs."""
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The demand category it suggests, if any."""
    demand_id: Mapped[str | None] = mapped_column(
        ForeignKey("demands.id", ondelete="SET NULL"), nullable=True
    )
    """The demand the note became (one action: :func:`service.domain.visit_notes.to_demand`)."""
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
