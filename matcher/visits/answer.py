"""The visit schedule answer (``docs/contracts/visits.md``) as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

STATUSES = ("optimal", "feasible", "no_solution")
REASONS = ("quorum", "capacity", "too_far")
"""Why households stay unvisited: the team cannot gather a quorum on any usable date; the
community's days (or the spacing between repeat visits) are full; the household lies too far
from the area's start for one session."""


@dataclass(frozen=True)
class VisitSession:
    """One team's outing on one date: who goes and the households in walking order."""

    team: str
    date: date
    start: time
    end: time
    attendees: tuple[str, ...]
    route: tuple[str, ...]
    walk_km: float


@dataclass(frozen=True)
class UnscheduledVisits:
    """Households of one team that miss some of their required visits, and why.

    ``proven`` is ``True`` when the reason holds for every plan (``matcher.visits.reasons``),
    ``False`` when it only says why this scheduler found no date (not part of the JSON answer).
    """

    team: str | None
    households: tuple[str, ...]
    reason: str
    detail: str
    proven: bool = True


@dataclass(frozen=True)
class ScheduleStats:
    sessions: int
    walk_km: float
    solve_s: float
    objective: float
    lower_bound_sessions: int
    attendees_above_quorum: int
    leader_present: int
    missing_visits: int


@dataclass(frozen=True)
class Schedule:
    status: str
    sessions: tuple[VisitSession, ...]
    unscheduled: tuple[UnscheduledVisits, ...]
    stats: ScheduleStats
