"""Registration tables (建档亮身份): communities, grids, buildings, units and members.

Built by the Alembic revision ``0003_workspace_registration``. Ids of communities are slugs
chosen by the district administrator; every other id is set by the server (``g-…``, ``b-…``,
``u-…``, ``m-…``). A member's home is a location (WGS84) with optional grid and building
references (no free-text address). A member's name is shown on purpose (建档亮身份: to those who
work with them and on the publicity board); their phone is stored only encrypted and shown
masked, in clear only to their community's managers, audited (``0012_records``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime, utcnow

MEMBER_STATUSES = ("registered", "active", "left")
"""registered: the card is on file; active: the member reported (报到) and serves; left."""

MEMBER_TRANSITIONS = frozenset({("registered", "active"), ("active", "left")})
"""The only status changes a client may make."""

ID_LENGTH = 64
NAME_LENGTH = 200
PERSON_NAME_LENGTH = 50
"""A person's name (姓名): Chinese names are 2–4 characters, others longer."""


def new_id(prefix: str) -> str:
    """A server-chosen id such as ``m-3f2a9c0d1e4b``."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


class Community(Base):
    """A residential community (社区): the dispatching authority."""

    __tablename__ = "communities"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Grid(Base):
    """A grid (网格): a sub-area of one community."""

    __tablename__ = "grids"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Building(Base):
    """A building or courtyard of one grid."""

    __tablename__ = "buildings"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    grid_id: Mapped[str] = mapped_column(
        ForeignKey("grids.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    """Where it stands (WGS84), if known: a demand can take its location from its building."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Unit(Base):
    """A member's employer (单位) and its Party organisation."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    party_organisation: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Member(Base):
    """An in-service Party member registered at the community where they live."""

    __tablename__ = "members"
    __table_args__ = (Index("ix_members_community_id_status", "community_id", "status"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.id", ondelete="RESTRICT"), nullable=False
    )
    unit_id: Mapped[str | None] = mapped_column(
        ForeignKey("units.id", ondelete="SET NULL"), nullable=True, index=True
    )
    card_number: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False, unique=True)
    name: Mapped[str | None] = mapped_column(String(PERSON_NAME_LENGTH), nullable=True)
    """姓名; null only on rows registered before names were kept (``0012``)."""
    phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    """联系电话, encrypted (:mod:`service.domain.personal_data`)."""
    party_organisation: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    """所在党组织: the Party organisation the member belongs to (often the unit's)."""
    position: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    """职务 at the unit."""
    card_issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    """When the unit issued the registration card (报到卡)."""
    reported_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    """When the member reported to the community (报到), as the community recorded it."""
    occupation: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    specialties: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    preferences: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    grid_id: Mapped[str | None] = mapped_column(
        ForeignKey("grids.id", ondelete="SET NULL"), nullable=True
    )
    building_id: Mapped[str | None] = mapped_column(
        ForeignKey("buildings.id", ondelete="SET NULL"), nullable=True
    )
    weekly_availability: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, nullable=False, default=list
    )
    capacity_hours_per_week: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="registered")
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


# --------------------------------------------------------------------------------------------
# The menu flow (点单 → 下单 → 接单 → 完成 → 评价): built by ``0004_menu_flow``
# --------------------------------------------------------------------------------------------
