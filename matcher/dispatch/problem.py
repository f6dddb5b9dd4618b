"""Frozen value objects for a dispatch problem (contract: ``docs/contracts/dispatch.md``).

Times are timezone-aware :class:`datetime.datetime`; locations are WGS84 degrees. Objects are
built by :func:`service.contracts.dispatch.load_problem` from JSON, or directly in Python; either
way :func:`matcher.dispatch.validation.validate_problem` checks the references between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True)
class Interval:
    """A half-open time interval ``[start, end)``."""

    start: datetime
    end: datetime

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True)
class Member:
    id: str
    location: Location
    skills: tuple[str, ...]
    availability: tuple[Interval, ...]
    capacity_hours: float
    max_distance_km: float | None = None
    preferences: tuple[str, ...] = ()
    reliability: float = 1.0
    unit: str | None = None  # the member's work unit (单位), for unit–community pairs


@dataclass(frozen=True)
class Team:
    id: str
    members: tuple[str, ...]
    leader: str | None = None


@dataclass(frozen=True)
class Pin:
    """An assignment already accepted: the demand must keep these members at this start."""

    members: tuple[str, ...]
    start: datetime


@dataclass(frozen=True)
class Demand:
    id: str
    category: str
    skills: tuple[str, ...]
    location: Location
    window: Interval
    duration_hours: float
    priority: int
    crew_size: int = 1
    team_only: bool = False
    resident: str | None = None
    preferred_members: tuple[str, ...] = ()
    pinned: Pin | None = None
    community: str | None = None  # the community the demand belongs to, for unit pairs


@dataclass(frozen=True)
class Weights:
    unassigned: float = 100.0
    distance: float = 1.0
    preference: float = 2.0
    continuity: float = 5.0
    reliability: float = 10.0
    fairness: float = 1.0
    paired_unit: float = 2.0


@dataclass(frozen=True)
class UnitPair:
    """A unit paired with a community (结对共建), as ``linli match units`` allocates them."""

    unit: str
    community: str


@dataclass(frozen=True)
class Options:
    time_limit_s: float = 10.0
    seed: int = 0
    workers: int = 0
    max_distance_km: float = 5.0
    changeover_minutes: float = 15.0
    time_step_minutes: float = 15.0
    weights: Weights = field(default_factory=Weights)
    unit_pairs: tuple[UnitPair, ...] = ()


@dataclass(frozen=True)
class Problem:
    members: tuple[Member, ...]
    demands: tuple[Demand, ...]
    teams: tuple[Team, ...] = ()
    options: Options = field(default_factory=Options)

    def replace(self, **changes: object) -> Problem:
        """A copy with some fields changed (``problem.replace(options=...)``)."""
        return replace(self, **changes)  # type: ignore[arg-type]
