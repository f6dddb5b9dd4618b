"""Tiny builders for hand-made dispatch problems and answers in tests.

All times are on 2026-12-05 in +08:00 unless a ``day`` is given. Locations default to a point in
Zhengzhou; :func:`north_of` places a point a given number of km due north, where the haversine
distance is exactly ``R · Δlat`` (so tests can compute distances by hand).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

from matcher.dispatch.answer import Answer, Assignment, Load, Unassigned
from matcher.dispatch.problem import (
    Demand,
    Interval,
    Location,
    Member,
    Options,
    Pin,
    Problem,
    Team,
    Weights,
)
from matcher.dispatch.verify import location_km, recompute_objective

TZ = timezone(timedelta(hours=8))
EARTH_RADIUS_KM = 6371.0088
HOME = Location(34.7466, 113.6253)


def at(hour: int, minute: int = 0, second: int = 0, *, day: int = 5) -> datetime:
    """A time on 2026-12-``day`` in +08:00."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=TZ)


def north_of(origin: Location, km: float) -> Location:
    """The point ``km`` due north of ``origin`` (same meridian)."""
    return Location(origin.lat + math.degrees(km / EARTH_RADIUS_KM), origin.lon)


def make_member(
    id: str,
    *,
    location: Location = HOME,
    skills: Iterable[str] = ("elderly_care", "mediation"),
    availability: Iterable[tuple[datetime, datetime]] = ((at(8), at(18)),),
    capacity_hours: float = 8.0,
    max_distance_km: float | None = None,
    preferences: Iterable[str] = (),
    reliability: float = 1.0,
) -> Member:
    """A member at ``location`` (default: ``HOME``), free 08:00-18:00 with 8 h of capacity."""
    return Member(
        id=id,
        location=location,
        skills=tuple(skills),
        availability=tuple(Interval(s, e) for s, e in availability),
        capacity_hours=capacity_hours,
        max_distance_km=max_distance_km,
        preferences=tuple(preferences),
        reliability=reliability,
    )


def make_demand(
    id: str,
    *,
    category: str = "elderly_care",
    skills: Iterable[str] | None = None,
    location: Location | None = None,
    window: tuple[datetime, datetime] = (at(9), at(12)),
    duration_hours: float = 1.0,
    priority: int = 3,
    crew_size: int = 1,
    team_only: bool = False,
    resident: str | None = None,
    preferred_members: Iterable[str] = (),
    pinned: tuple[Sequence[str], datetime] | None = None,
) -> Demand:
    """A demand 1 km north of ``HOME``, window 09:00-12:00, one hour; skills default to the
    category."""
    return Demand(
        id=id,
        category=category,
        skills=tuple(skills) if skills is not None else (category,),
        location=location if location is not None else north_of(HOME, 1.0),
        window=Interval(*window),
        duration_hours=duration_hours,
        priority=priority,
        crew_size=crew_size,
        team_only=team_only,
        resident=resident,
        preferred_members=tuple(preferred_members),
        pinned=Pin(tuple(pinned[0]), pinned[1]) if pinned is not None else None,
    )


def make_team(id: str, members: Iterable[str], leader: str | None = None) -> Team:
    """A standing team."""
    return Team(id=id, members=tuple(members), leader=leader)


def make_problem(
    members: Iterable[Member],
    demands: Iterable[Demand],
    teams: Iterable[Team] = (),
    *,
    weights: dict[str, float] | None = None,
    **options: float,
) -> Problem:
    """A problem; ``options`` are :class:`Options` fields, ``weights`` :class:`Weights` fields."""
    return Problem(
        members=tuple(members),
        demands=tuple(demands),
        teams=tuple(teams),
        options=Options(weights=Weights(**(weights or {})), **options),  # type: ignore[arg-type]
    )


def make_assignment(
    problem: Problem,
    demand: str,
    members: Sequence[str],
    start: datetime,
    *,
    team: str | None = None,
) -> Assignment:
    """An assignment whose ``end`` and ``distance_km`` are filled in correctly (0 km for an
    unknown member)."""
    d = next(x for x in problem.demands if x.id == demand)
    homes = {m.id: m.location for m in problem.members}
    return Assignment(
        demand=demand,
        members=tuple(members),
        start=start,
        end=start + timedelta(hours=d.duration_hours),
        distance_km=tuple(
            location_km(homes[mid], d.location) if mid in homes else 0.0 for mid in members
        ),
        team=team,
    )


def make_answer(
    problem: Problem,
    assignments: Iterable[Assignment] = (),
    *,
    status: str = "feasible",
    unassigned: Iterable[Unassigned] | None = None,
    load: Iterable[Load] | None = None,
    objective: float | None = None,
    bound: float | None = None,
    gap: float | None = None,
) -> Answer:
    """An answer with consistent bookkeeping around the given assignments.

    By default: every other demand is unassigned with reason ``priority``; the load counts the
    first assignment of each demand and distinct known members; the objective is recomputed;
    the bound equals the objective and the gap follows from them.
    """
    assignments = tuple(assignments)
    demand_hours = {d.id: d.duration_hours for d in problem.demands}
    member_ids = {m.id for m in problem.members}
    if unassigned is None:
        assigned = {a.demand for a in assignments}
        unassigned = [
            Unassigned(d.id, "priority", "outranked by more urgent demands")
            for d in problem.demands
            if d.id not in assigned
        ]
    if load is None:
        totals: dict[str, list[float]] = {}
        seen: set[str] = set()
        for a in assignments:
            if a.demand in seen or a.demand not in demand_hours:
                continue
            seen.add(a.demand)
            for mid in dict.fromkeys(a.members):
                if mid in member_ids:
                    entry = totals.setdefault(mid, [0.0, 0])
                    entry[0] += demand_hours[a.demand]
                    entry[1] += 1
        load = [Load(mid, hours, int(tasks)) for mid, (hours, tasks) in totals.items()]
    draft = Answer(status=status, objective=0.0, bound=0.0, gap=0.0, assignments=assignments)
    if objective is None:
        objective = recompute_objective(problem, draft)
    if bound is None:
        bound = objective
    if gap is None:
        gap = (objective - bound) / max(abs(objective), 1.0)
    return Answer(
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        assignments=assignments,
        unassigned=tuple(unassigned),
        load=tuple(load),
    )
