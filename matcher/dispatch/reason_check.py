"""Independent recomputation of why demands are left out, and of plans better than an answer's.

Written from ``docs/contracts/dispatch.md`` and the README's *Reading the answer* alone: it shares
no code with the model builder nor with the engine's own explanations
(:mod:`matcher.dispatch.reasons`), and measures distances with :mod:`matcher.verifier_geo`.
:func:`matcher.dispatch.verify.verify` uses it for its ``"reason"`` and ``"bound"`` checks.

Reasons of the problem (each needs the ones before it to be false, in this order):

* ``no_skill``: nobody holds the skills — for one person, nobody holds all of them; for a crew,
  the members together do not. For a team-only demand only members of standing teams count.
* ``out_of_range``: among the members within their own distance limits, nobody holds them (for a
  crew: fewer than ``crew_size`` are in range, or together they do not hold them).
* ``no_availability``: no crew of ``crew_size`` in range and covering the skills (for team-only
  demands, from one team) is free together for the whole task at one start of the demand's time
  grid inside its window.

Reasons of the plan, when none of the above holds. A member is *free* for the demand when in
range (and, for one person, holding the skills) with a start at which the whole task lies in one
of the member's availability intervals:

* ``priority``: either the demand can be added to the plan as it stands, but the cheapest way
  costs at least what leaving it out costs (``w.unassigned · priority``); or it cannot, and every
  task the plan gives the free members is more urgent (higher priority).
* ``capacity``: it cannot be added, and every free member is full: the task's hours do not fit
  what is left of the member's ``capacity_hours``.
* ``conflict``: it cannot be added, and some free member has the hours: the free time clashes with
  tasks the plan gives them.

A plan *can take* a demand at a start when a crew of free members exists there whose members
each have the hours left (``hours + duration <= capacity_hours``) and no task of theirs overlaps
or comes closer than ``changeover_minutes``.

:func:`better_plan` looks for one plan with a smaller objective than the answer's, one change
away: add a demand left out, drop a task (not a pinned one), or give a one-person task to another
member. Such a plan proves that a ``bound`` above its objective is no lower bound.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from matcher.dispatch.answer import Assignment
from matcher.dispatch.problem import Demand, Member, Problem
from matcher.verifier_geo import EARTH_RADIUS_KM, haversine_km

__all__ = [
    "PLAN_REASONS",
    "PROBLEM_REASONS",
    "Assessment",
    "Improvement",
    "ReasonChecker",
    "better_plan",
    "fairness_hours_penalty",
]

PROBLEM_REASONS = ("no_skill", "out_of_range", "no_availability")
PLAN_REASONS = ("priority", "capacity", "conflict")

_RANGE_TOL_KM = 1e-9  # as rule 5
_HOURS_TOL = 1e-9  # as rule 7 (absolute, or relative for large capacities)
_COST_TOL = 1e-6  # relative and absolute, as the objective check
_SEARCH_MARGIN_KM = 1e-3  # the tree is asked a little wider, then every distance is exact


def fairness_hours_penalty(hours: float, capacity_hours: float) -> float:
    """This project's load-balance term for one member (README, *Fairness*).

    Parameters
    ----------
    hours
        Hours assigned to the member (sum of the durations of the tasks the member serves).
    capacity_hours
        The member's capacity.

    Returns
    -------
    float
        ``max(0, h - 0.5 c) + 2 max(0, h - 0.75 c)``, or ``0`` when ``c <= 0``.
    """
    c = capacity_hours
    if not c > 0:
        return 0.0
    return max(0.0, hours - 0.5 * c) + 2.0 * max(0.0, hours - 0.75 * c)


def _timedelta(**kw: float) -> timedelta | None:
    try:
        value = next(iter(kw.values()))
        if not math.isfinite(value):
            return None
        return timedelta(**kw)
    except (OverflowError, ValueError, TypeError):
        return None


def _aware(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _chord(km: float) -> float:
    """Straight-line distance between two unit vectors ``km`` apart on the Earth's surface."""
    return 2.0 * math.sin(min(km / EARTH_RADIUS_KM, math.pi) / 2.0)


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


# --------------------------------------------------------------------------------------------
# Skills as bit masks of one demand's required skills, and crews.


def _mask(member: Member, skills: Sequence[str]) -> int:
    held = set(member.skills)
    return sum(1 << k for k, s in enumerate(skills) if s in held)


def _fewest_to_cover(masks: Iterable[int], full: int) -> int:
    """Fewest members whose masks together give ``full`` (a large number if none can)."""
    if full == 0:
        return 0
    distinct = {m & full for m in masks} - {0}
    fewest = {0: 0}
    frontier = [0]
    while frontier and full not in fewest:
        nxt = []
        for covered in frontier:
            for m in distinct:
                union = covered | m
                if union not in fewest:
                    fewest[union] = fewest[covered] + 1
                    nxt.append(union)
        frontier = nxt
    return fewest.get(full, 1 << 30)


def _crew_exists(masks: Sequence[int], size: int, full: int) -> bool:
    """Can ``size`` distinct members among these cover the skills together?"""
    return len(masks) >= size and _fewest_to_cover(masks, full) <= size


def _cheapest_crew(
    options: Sequence[tuple[int, float, str]], size: int, full: int
) -> tuple[float, tuple[str, ...]] | None:
    """The cheapest ``size`` members among ``(mask, cost, id)`` covering the skills together."""
    if len(options) < size:
        return None
    if size == 1:
        fit = [(cost, mid) for mask, cost, mid in options if mask & full == full]
        return (min(fit)[0], (min(fit)[1],)) if fit else None
    # exact dynamic programme over (members taken, skills covered)
    best: dict[tuple[int, int], tuple[float, tuple[str, ...]]] = {(0, 0): (0.0, ())}
    for mask, cost, mid in sorted(options, key=lambda o: (o[1], o[2])):
        for (taken, covered), (total, crew) in list(best.items()):
            if taken == size:
                continue
            key = (taken + 1, covered | (mask & full))
            value = (total + cost, (*crew, mid))
            if key not in best or value[0] < best[key][0]:
                best[key] = value
    return best.get((size, full))


# --------------------------------------------------------------------------------------------
# The plan as it stands.


class _Block(NamedTuple):
    start: datetime
    end: datetime
    demand: str


@dataclass(frozen=True)
class _Task:
    demand: Demand
    crew: tuple[str, ...]  # distinct, known member ids
    start: datetime | None


class _Plan:
    """The first assignment of each known demand; blocks and hours per member."""

    def __init__(self, problem: Problem, assignments: Sequence[Assignment]):
        demands = {d.id: d for d in problem.demands}
        known = {m.id for m in problem.members}
        self.tasks: dict[str, _Task] = {}
        self.blocks: dict[str, list[_Block]] = {}
        self.hours: dict[str, float] = {}
        for a in assignments:
            demand = demands.get(a.demand)
            if demand is None or a.demand in self.tasks:
                continue
            crew = tuple(dict.fromkeys(m for m in a.members if m in known))
            start = a.start if _aware(a.start) else None
            self.tasks[a.demand] = _Task(demand, crew, start)
            hours = demand.duration_hours
            duration = timedelta(hours=hours) if 0 <= hours < 1e6 else None
            for mid in crew:
                self.hours[mid] = self.hours.get(mid, 0.0) + demand.duration_hours
                if start is not None and duration is not None:
                    self.blocks.setdefault(mid, []).append(
                        _Block(start, start + duration, a.demand)
                    )
        for blocks in self.blocks.values():
            blocks.sort()
        self.block_starts = {mid: [b.start for b in blocks] for mid, blocks in self.blocks.items()}

    def clear(
        self, mid: str, start: datetime, end: datetime, gap: timedelta, skip: str | None = None
    ) -> bool:
        """No task of the member (but ``skip``) overlaps ``[start, end)`` or is within ``gap``."""
        blocks = self.blocks.get(mid)
        if not blocks:
            return True
        i = bisect_left(self.block_starts[mid], end + gap)  # later blocks start far enough
        return not any(b.end + gap > start and b.demand != skip for b in blocks[:i])


# --------------------------------------------------------------------------------------------
# One demand left out.


class Insertion(NamedTuple):
    """The cheapest way to add a demand to the plan as it stands."""

    cost: float  # objective change of serving it, fairness included (the penalty not yet saved)
    members: tuple[str, ...]
    start: datetime


@dataclass(frozen=True)
class Assessment:
    """What the problem and the plan say about one demand left out.

    Attributes
    ----------
    demand
        Its id.
    problem_reason
        The first of ``no_skill``, ``out_of_range``, ``no_availability`` that holds, else ``None``.
    penalty
        ``w.unassigned · priority``: what leaving it out costs.
    insertion
        The cheapest way to add it to the plan, when the plan can take it.
    all_full
        Every member free for it has no hours left for it.
    busy_with
        Priorities of the tasks the plan gives the members free for it.
    fact
        A sentence naming the nearest fact behind the recomputed reasons.
    """

    demand: str
    problem_reason: str | None
    penalty: float
    insertion: Insertion | None = None
    all_full: bool = False
    busy_with: tuple[int, ...] = ()
    priority: int = 0
    fact: str = ""

    def true_reasons(self) -> frozenset[str]:
        """The reason codes that hold for this demand (none: the plan should have served it)."""
        if self.problem_reason is not None:
            return frozenset({self.problem_reason})
        if self.insertion is not None:
            cheap = self.insertion.cost < self.penalty - _COST_TOL * max(1.0, abs(self.penalty))
            return frozenset() if cheap else frozenset({"priority"})
        found = set()
        if self.busy_with and min(self.busy_with) > self.priority:
            found.add("priority")
        found.add("capacity" if self.all_full else "conflict")
        return frozenset(found)


class ReasonChecker:
    """Recomputes reasons against one problem and the plan of one answer.

    Parameters
    ----------
    problem
        The problem (assumed validated).
    assignments
        The answer's assignments (the plan); only the first assignment of each known demand and
        its distinct known members count.
    """

    def __init__(self, problem: Problem, assignments: Sequence[Assignment]):
        self.problem = problem
        self.assignments = tuple(assignments)
        options = problem.options
        self.weights = options.weights
        self.pairs = {(p.unit, p.community) for p in options.unit_pairs}
        self.step = _timedelta(minutes=options.time_step_minutes)
        self.gap = _timedelta(minutes=options.changeover_minutes) or timedelta(0)
        self.members = problem.members
        self.index = {m.id: i for i, m in reversed(list(enumerate(self.members)))}
        self.limit_km = [
            options.max_distance_km if m.max_distance_km is None else m.max_distance_km
            for m in self.members
        ]
        member_ids = set(self.index)
        self.teams = [
            sorted({self.index[mid] for mid in t.members if mid in member_ids})
            for t in problem.teams
        ]
        self.team_sets = [set(team) for team in self.teams]
        self.team_pool = {i for team in self.teams for i in team}
        self.holders: dict[str, set[int]] = {}
        for i, m in enumerate(self.members):
            for s in m.skills:
                self.holders.setdefault(s, set()).add(i)
        self._tree: cKDTree | None = None
        self._widest_km = max(self.limit_km, default=0.0)  # nan or inf: every member is asked
        if math.isnan(self._widest_km) or any(math.isnan(x) for x in self.limit_km):
            self._widest_km = math.inf
        self._assessed: dict[str, Assessment] = {}
        self._held: dict[tuple[tuple[str, ...], bool, bool], bool] = {}

    @cached_property
    def plan(self) -> _Plan:
        """The answer's plan, built when a reason of the plan is first needed."""
        return _Plan(self.problem, self.assignments)

    def plan_with(
        self, demand: Demand, members: Sequence[str], start: datetime | None
    ) -> tuple[Assignment, ...]:
        """The answer's assignments with ``demand`` given to ``members`` at ``start`` instead
        (no members: left out), for the caller to check with its own rules."""
        kept = tuple(a for a in self.assignments if a.demand != demand.id)
        if not members or start is None:
            return kept
        duration = _timedelta(hours=demand.duration_hours) or timedelta(0)
        homes = {m.id: m for m in self.members}
        team = None
        if demand.team_only:
            team = next((t.id for t in self.problem.teams if set(members) <= set(t.members)), None)
        new = Assignment(
            demand=demand.id,
            members=tuple(members),
            start=start,
            end=start + duration,
            distance_km=tuple(_km(homes[mid], demand) for mid in members),
            team=team,
        )
        return (*kept, new)

    # -- geometry ----------------------------------------------------------------------------

    def near(self, demand: Demand) -> dict[int, float]:
        """Members within their own distance limit of the demand, with the distance in km."""
        if not self.members:
            return {}
        if self._tree is None:
            lat = np.array([m.location.lat for m in self.members], dtype=np.float64)
            lon = np.array([m.location.lon for m in self.members], dtype=np.float64)
            self._tree = cKDTree(np.nan_to_num(_unit_vectors(lat, lon), nan=9.0))
        if not math.isfinite(self._widest_km):
            rows: Iterable[int] = range(len(self.members))
        else:
            phi, lam = math.radians(demand.location.lat), math.radians(demand.location.lon)
            here = (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))
            radius = _chord(self._widest_km + _SEARCH_MARGIN_KM)
            rows = self._tree.query_ball_point(here, radius)
        found = {}
        for i in rows:
            m = self.members[i]
            km = haversine_km(
                m.location.lat, m.location.lon, demand.location.lat, demand.location.lon
            )
            if km <= self.limit_km[i] + _RANGE_TOL_KM:
                found[int(i)] = km
        return found

    # -- time --------------------------------------------------------------------------------

    def starts(self, demand: Demand) -> list[datetime]:
        """The demand's grid starts that keep the whole task inside its window."""
        duration = _timedelta(hours=demand.duration_hours)
        ws, we = demand.window.start, demand.window.end
        if self.step is None or self.step <= timedelta(0) or duration is None:
            return []
        if we - ws < duration:
            return []
        last = (we - ws - duration) // self.step
        return [ws + k * self.step for k in range(last + 1)]

    def free_at(self, member: Member, starts: Sequence[datetime], duration: timedelta) -> list[int]:
        """Indices of the starts at which the whole task lies in one availability interval."""
        found: set[int] = set()
        if not starts:
            return []
        for iv in member.availability:
            lo = bisect_left(starts, iv.start)
            hi = bisect_left(starts, iv.end - duration + timedelta.resolution)
            found.update(range(lo, hi))
        return sorted(found)

    # -- costs -------------------------------------------------------------------------------

    def cost(self, member: Member, demand: Demand, km: float) -> float:
        """What serving the demand adds to the objective for this crew member, fairness aside."""
        w = self.weights
        value = w.distance * km + w.reliability * demand.priority * (1.0 - member.reliability)
        if demand.category in member.preferences:
            value -= w.preference
        if member.id in demand.preferred_members:
            value -= w.continuity
        if (member.unit, demand.community) in self.pairs:
            value -= w.paired_unit
        return value

    def fairness_change(self, member: Member, hours_change: float) -> float:
        """The weighted fairness change of giving the member ``hours_change`` more hours."""
        before = self.plan.hours.get(member.id, 0.0)
        after = fairness_hours_penalty(before + hours_change, member.capacity_hours)
        return self.weights.fairness * (
            after - fairness_hours_penalty(before, member.capacity_hours)
        )

    def has_room(self, member: Member, hours: float, *, giving_back: float = 0.0) -> bool:
        """Can the member take ``hours`` more (after giving back ``giving_back``)?"""
        cap = member.capacity_hours
        used = self.plan.hours.get(member.id, 0.0) - giving_back
        return used + hours <= cap + _HOURS_TOL * max(1.0, abs(cap))

    # -- one demand -------------------------------------------------------------------------------

    def _skills_held(self, skills: tuple[str, ...], team_only: bool, alone: bool) -> bool:
        """Does one member (``alone``), or do the members together, hold the skills (only
        members of standing teams for ``team_only``)? Cached: demands share skill sets."""
        key = (skills, team_only, alone)
        found = self._held.get(key)
        if found is None:
            pool = self.team_pool if team_only else None
            held = [
                self.holders.get(s, set()) if pool is None else self.holders.get(s, set()) & pool
                for s in skills
            ]
            if pool is not None and not pool:
                found = False  # team-only, and no standing team
            elif not alone:
                found = all(held)
            elif not held:
                found = bool(self.members) if pool is None else bool(pool)
            else:
                found = bool(set.intersection(*held))
            self._held[key] = found
        return found

    def assess(self, demand: Demand) -> Assessment:
        """Recompute what the problem and the plan say about a demand left out."""
        found = self._assessed.get(demand.id)
        if found is None:
            found = self._assessed[demand.id] = self._assess(demand)
        return found

    def _assess(self, demand: Demand) -> Assessment:
        skills = list(dict.fromkeys(demand.skills))
        full = (1 << len(skills)) - 1
        size = demand.crew_size
        penalty = self.weights.unassigned * demand.priority
        groups: list[set[int] | None] = list(self.team_sets) if demand.team_only else [None]
        pool = self.team_pool if demand.team_only else None  # None: every member
        masks = _Masks(self.members, skills)

        def covered(members: Sequence[int]) -> bool:
            if size == 1:
                return any(masks[i] & full == full for i in members)
            union = 0
            for i in members:
                union |= masks[i]
            return len(members) >= size and union & full == full

        base = Assessment(demand.id, None, penalty, priority=demand.priority)
        if not self._skills_held(tuple(skills), demand.team_only, size == 1):
            who = "no standing team" if demand.team_only else "nobody"
            return _with(base, "no_skill", f"{who} holds {', '.join(map(repr, skills))}")

        near = self.near(demand)

        def able(i: int) -> bool:  # may serve as a crew member at all
            return (pool is None or i in pool) and (size > 1 or masks[i] & full == full)

        in_range = sorted(i for i in near if able(i))
        if not covered(in_range):
            return _with(base, "out_of_range", _nearest_text(self, demand, near, size))

        starts = self.starts(demand)
        duration = _timedelta(hours=demand.duration_hours) or timedelta(0)
        free = {i: self.free_at(self.members[i], starts, duration) for i in in_range}
        free = {i: ks for i, ks in free.items() if ks}
        at_start: list[list[int]] = [[] for _ in starts]
        for i, ks in free.items():
            for k in ks:
                at_start[k].append(i)

        def crew_free_together() -> bool:
            for inside in groups:
                for here in at_start:
                    masks_here = [masks[i] for i in here if inside is None or i in inside]
                    if _crew_exists(masks_here, size, full):
                        return True
            return False

        if not crew_free_together():
            return _with(
                base,
                "no_availability",
                f"{len(free)} member(s) in range are free at some start, never a full crew"
                if free and size > 1
                else "nobody in range with the skills is free for the whole task in the window",
            )

        room = {i: self.has_room(self.members[i], demand.duration_hours) for i in free}
        clear = {
            (i, k): self.plan.clear(self.members[i].id, starts[k], starts[k] + duration, self.gap)
            for i, ks in free.items()
            if room[i]
            for k in ks
        }
        busy = tuple(
            self.plan.tasks[b.demand].demand.priority
            for i in free
            for b in self.plan.blocks.get(self.members[i].id, ())
        )
        insertion = self._cheapest_insertion(
            demand, groups, at_start, starts, masks, full, near, room, clear
        )
        if insertion is not None:
            who = ", ".join(insertion.members)
            return _with(
                base,
                None,
                f"{who} could serve it at {insertion.start.isoformat()} for {insertion.cost:.6g} "
                f"against {penalty:.6g} for leaving it out",
                insertion=insertion,
            )
        full_members = sum(1 for i in free if not room[i])
        fact = (
            f"{len(free)} member(s) are free for it; {full_members} of them have no hours left"
            + ("" if full_members == len(free) else ", the others' tasks clash with it")
        )
        return Assessment(
            demand.id, None, penalty, None, full_members == len(free), busy, demand.priority, fact
        )

    def _cheapest_insertion(
        self,
        demand: Demand,
        groups: Sequence[set[int] | None],
        at_start: Sequence[Sequence[int]],
        starts: Sequence[datetime],
        masks: Mapping[int, int],
        full: int,
        near: dict[int, float],
        room: dict[int, bool],
        clear: dict[tuple[int, int], bool],
    ) -> Insertion | None:
        member_cost = {
            i: self.cost(self.members[i], demand, near[i])
            + self.fairness_change(self.members[i], demand.duration_hours)
            for i in room
            if room[i]
        }
        best: Insertion | None = None
        for inside in groups:
            for k, here in enumerate(at_start):
                options = [
                    (masks[i], member_cost[i], self.members[i].id)
                    for i in here
                    if (inside is None or i in inside) and room[i] and clear[i, k]
                ]
                found = _cheapest_crew(options, demand.crew_size, full)
                if found is not None and (best is None or found[0] < best.cost):
                    best = Insertion(found[0], found[1], starts[k])
        return best


class _Masks(dict[int, int]):
    """Members' bit masks of one demand's skills, computed when first asked for."""

    def __init__(self, members: Sequence[Member], skills: Sequence[str]):
        super().__init__()
        self.members, self.skills = members, skills

    def __missing__(self, i: int) -> int:
        value = self[i] = _mask(self.members[i], self.skills)
        return value


def _with(base: Assessment, reason: str | None, fact: str, **kw: object) -> Assessment:
    return Assessment(
        base.demand,
        reason,
        base.penalty,
        priority=base.priority,
        fact=fact,
        **kw,  # type: ignore[arg-type]
    )


def _nearest_text(checker: ReasonChecker, demand: Demand, near: dict[int, float], size: int) -> str:
    who = "nobody holding the skills" if size == 1 else f"no crew of {size} covering the skills"
    if not near:
        return f"{who} lives within range; nobody at all does"
    i = min(near, key=lambda j: (near[j], j))
    return (
        f"{who} lives within range; {len(near)} member(s) without them do, the nearest "
        f"{checker.members[i].id} at {near[i]:.3g} km"
    )


# --------------------------------------------------------------------------------------------
# A better plan, one change away.


class Improvement(NamedTuple):
    """A plan one change away from the answer's, and how much the checker finds it lowers the
    objective (the caller confirms both with its own rules and objective)."""

    change: float  # objective of the other plan minus the answer's objective (negative)
    description: str
    assignments: tuple[Assignment, ...]


def better_plan(
    checker: ReasonChecker, *, within: float = math.inf, most: int = 5
) -> list[Improvement]:
    """Plans one change away that lower the objective by more than ``within``, best first.

    Parameters
    ----------
    checker
        The reason checker of the problem and the answer's plan.
    within
        Only changes lowering the objective by more than this are returned (and one-person moves
        that cannot are not searched).
    most
        At most this many are returned.

    Returns
    -------
    list[Improvement]
        Additions of a demand left out, drops of a task (never a pinned one) and moves of a
        one-person task to another member, that lower the objective by more than ``within``.
    """
    found: list[Improvement] = []
    problem = checker.problem
    if within >= _largest_change(checker):
        return found
    plan = checker.plan

    def offer(change: float, text: str, make: Callable[[], tuple[Assignment, ...]]) -> None:
        if change < -within:
            found.append(Improvement(change, text, make()))

    for d in problem.demands:
        if d.id in plan.tasks or d.pinned is not None:
            continue
        insertion = checker.assess(d).insertion
        if insertion is not None:
            offer(
                insertion.cost - checker.weights.unassigned * d.priority,
                f"serving {d.id!r} by {', '.join(insertion.members)} at "
                f"{insertion.start.isoformat()}",
                partial(checker.plan_with, d, insertion.members, insertion.start),
            )
    w = checker.weights
    floor = -(w.preference + w.continuity + w.paired_unit)  # no member costs less than this
    for did, task in plan.tasks.items():
        d = task.demand
        if d.pinned is not None:
            continue
        crew = [checker.members[checker.index[mid]] for mid in task.crew]
        # what each crew member's part adds now: its terms and its share of the fairness term
        served = [
            checker.cost(m, d, _km(m, d)) - checker.fairness_change(m, -d.duration_hours)
            for m in crew
        ]
        offer(
            w.unassigned * d.priority - math.fsum(served),
            f"leaving {did!r} out",
            partial(checker.plan_with, d, (), None),
        )
        if len(crew) != 1 or task.start is None or len(task.crew) != d.crew_size:
            continue
        if served[0] - floor <= within:
            continue
        _try_moves(checker, task, crew[0], served[0], offer)
    found.sort(key=lambda imp: imp.change)
    return found[:most]


def _largest_change(checker: ReasonChecker) -> float:
    """No single addition, drop or move lowers the objective by more than this."""
    w = checker.weights
    bonus = abs(w.preference) + abs(w.continuity) + abs(w.paired_unit)
    reach = max((x for x in checker.limit_km if math.isfinite(x)), default=0.0)
    if not all(math.isfinite(x) for x in checker.limit_km):
        return math.inf
    largest = 0.0
    for d in checker.problem.demands:
        served = d.crew_size * (
            abs(w.distance) * reach
            + abs(w.reliability) * abs(d.priority)
            + 3.0 * abs(w.fairness) * abs(d.duration_hours)
            + bonus
        )
        largest = max(largest, abs(w.unassigned * d.priority) + served)
    return largest


def _km(member: Member, demand: Demand) -> float:
    return haversine_km(
        member.location.lat, member.location.lon, demand.location.lat, demand.location.lon
    )


def _try_moves(
    checker: ReasonChecker,
    task: _Task,
    member: Member,
    served: float,
    offer: Callable[[float, str, Callable[[], tuple[Assignment, ...]]], None],
) -> None:
    """Give a one-person task to another member at the first legal start."""
    d = task.demand
    skills = list(dict.fromkeys(d.skills))
    full = (1 << len(skills)) - 1
    pool = {i for team in checker.teams for i in team} if d.team_only else None
    starts = checker.starts(d)
    duration = _timedelta(hours=d.duration_hours) or timedelta(0)
    for i, km in checker.near(d).items():
        other = checker.members[i]
        if other.id == member.id or (pool is not None and i not in pool):
            continue
        if _mask(other, skills) & full != full or not checker.has_room(other, d.duration_hours):
            continue
        clear = [
            starts[k]
            for k in checker.free_at(other, starts, duration)
            if checker.plan.clear(other.id, starts[k], starts[k] + duration, checker.gap)
        ]
        if not clear:
            continue
        change = checker.cost(other, d, km) + checker.fairness_change(other, d.duration_hours)
        offer(
            change - served,
            f"giving {d.id!r} to {other.id!r} instead of {member.id!r}",
            partial(checker.plan_with, d, (other.id,), clear[0]),
        )
