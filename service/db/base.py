"""The service's tables (SQLAlchemy 2 ORM); the schema itself is built by Alembic (``migrations/``).

Times are stored in UTC and always read back timezone-aware, on SQLite too. Large JSON documents
(problems, answers) are deferred: listing jobs never loads them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    DateTime,
    MetaData,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_clock_offset = timedelta(0)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (moved by :func:`set_clock_offset`, if ever)."""
    return datetime.now(UTC) + _clock_offset


def machine_now() -> datetime:
    """The machine's time, timezone-aware UTC, never moved: the job runner's leases, heartbeats
    and reaper compare times written by other processes, which do not share a moved clock."""
    return datetime.now(UTC)


def set_clock_offset(offset: timedelta) -> None:
    """Move the service's clock by ``offset`` (rehearsals and tests only: a task can be
    completed only after it started, so a test that completes one moves the clock past its
    start instead of waiting). ``timedelta(0)`` puts it back. The job runner keeps the machine's
    time (:func:`machine_now`)."""
    global _clock_offset
    _clock_offset = offset


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
