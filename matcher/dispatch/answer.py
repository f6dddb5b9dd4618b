"""Frozen value objects for the engine's answer (contract: ``docs/contracts/dispatch.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

STATUSES = ("optimal", "feasible", "no_solution")
REASONS = ("no_skill", "out_of_range", "no_availability", "capacity", "conflict", "priority")


@dataclass(frozen=True)
class Assignment:
    demand: str
    members: tuple[str, ...]
    start: datetime
    end: datetime
    distance_km: tuple[float, ...]
    team: str | None = None


@dataclass(frozen=True)
class Unassigned:
    demand: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Load:
    member: str
    hours: float
    tasks: int


@dataclass(frozen=True)
class Stats:
    candidates: int = 0
    components: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0
    greedy_objective: float | None = None
    method: str = ""
    search_s: float = 0.0  # wall time of the neighbourhood search
    neighbourhoods: int = 0  # neighbourhoods the search re-solved
    moves: int = 0  # of which improved the plan


@dataclass(frozen=True)
class Answer:
    status: str
    objective: float
    bound: float
    gap: float
    assignments: tuple[Assignment, ...] = ()
    unassigned: tuple[Unassigned, ...] = ()
    load: tuple[Load, ...] = ()
    stats: Stats = field(default_factory=Stats)
