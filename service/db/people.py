"""The ``people`` table: logins of people (what :mod:`service.domain.people` manages)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime, utcnow

PERSON_ROLES = ("district", "dispatcher", "unit_organiser", "member")


USERNAME_LENGTH = 64


class Person(Base):
    """A login of a person, with the role that scopes what they see."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    communities: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    unit_id: Mapped[str | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), nullable=True
    )
    member_id: Mapped[str | None] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), nullable=True, unique=True
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    session_version: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )  # raised to end every login session of the person (logout, lockout)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
