"""The quarterly visit problem (``docs/contracts/visits.md``) as frozen dataclasses.

Dates are :class:`datetime.date` in the problem's ``timezone``; the session start is a
:class:`datetime.time`. Lists are tuples so that problems hash and never change under a solver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as the contract spells them, in :meth:`date.weekday` order."""

DEFAULT_MIN_DAYS_BETWEEN_VISITS = 21
"""Two visits to one household at least three weeks apart unless the problem says otherwise."""


@dataclass(frozen=True)
class Point:
    """WGS-84 degrees."""

    lat: float
    lon: float


@dataclass(frozen=True)
class Quarter:
    """The inclusive date range the schedule covers."""

    start: date
    end: date


@dataclass(frozen=True)
class Session:
    """When outings start and how long one may take."""

    start: time = time(9, 0)
    max_hours: float = 3.0

    @property
    def max_minutes(self) -> float:
        return self.max_hours * 60.0


@dataclass(frozen=True)
class VisitMember:
    """A member's dates: ``available_dates`` (only those) or ``unavailable_dates`` (all but)."""

    id: str
    unavailable_dates: tuple[date, ...] = ()
    available_dates: tuple[date, ...] | None = None

    def is_available(self, day: date) -> bool:
        if self.available_dates is not None:
            return day in self.available_dates
        return day not in self.unavailable_dates


@dataclass(frozen=True)
class VisitTeam:
    """A standing team and the area it is responsible for."""

    id: str
    members: tuple[str, ...]
    area: str
    quorum: int = 1
    leader: str | None = None


@dataclass(frozen=True)
class Household:
    """A household to be visited ``visits`` times a quarter (3 = monthly)."""

    id: str
    location: Point
    visit_minutes: float = 20.0
    visits: int = 1


@dataclass(frozen=True)
class Area:
    """A responsibility area: outings start and end at ``start``."""

    id: str
    start: Point
    households: tuple[Household, ...] = ()


@dataclass(frozen=True)
class VisitOptions:
    time_limit_s: float = 30.0
    seed: int = 0
    min_days_between_visits: int = DEFAULT_MIN_DAYS_BETWEEN_VISITS


@dataclass(frozen=True)
class VisitProblem:
    """One community's (or district's) quarter of team visits."""

    quarter: Quarter
    members: tuple[VisitMember, ...]
    teams: tuple[VisitTeam, ...]
    areas: tuple[Area, ...]
    timezone: str = "Asia/Shanghai"
    visit_weekdays: tuple[str, ...] = WEEKDAYS
    blackout_dates: tuple[date, ...] = ()
    max_sessions_per_day: int = 4
    session: Session = field(default_factory=Session)
    walking_speed_kmh: float = 4.0
    options: VisitOptions = field(default_factory=VisitOptions)
