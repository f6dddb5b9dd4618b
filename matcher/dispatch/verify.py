"""Independent checker for dispatch answers, written from ``docs/contracts/dispatch.md`` alone.

This module shares no code with the solver: it imports only the value objects
(:mod:`matcher.dispatch.problem`, :mod:`matcher.dispatch.answer`), the verifiers' geometry
(:mod:`matcher.verifier_geo`) and its own reason checker, and recomputes everything it needs from
the contract's text. It checks the nine numbered rules of the spec
literally, plus the answer's own bookkeeping (coverage, objective, bound and gap, status, reported
distances, end times, loads, and each reason recomputed by :mod:`matcher.dispatch.reason_check`),
and reports every break as a :class:`Violation`.

It never raises on a malformed answer: unknown demands, members or teams, naive datetimes and
non-finite numbers all become violations. The problem itself is assumed to have passed
:func:`matcher.dispatch.validation.validate_problem`; on an unvalidated problem it still avoids
raising
where it can, but its findings are then only as good as the input.

Conventions
-----------
* Times are compared exactly (``datetime`` arithmetic, microsecond resolution); a task occupies
  the half-open interval ``[start, start + duration_hours)`` computed from the problem, not the
  answer's ``end`` (which is checked separately, rule ``"end"``).
* Hours are compared to ``1e-9`` (absolute, or relative for large values); rule 5 allows
  ``1e-9`` km of floating-point slack.
* When a demand is assigned more than once, only its first assignment counts for rules 2-9,
  the objective and the loads; the repeats are reported under rule 1.
* Within one assignment only distinct, known crew members count for rules 3-8 and the
  objective; duplicates and unknown ids are reported under rule 1.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from matcher.dispatch.answer import (
    REASON_PARAMS,
    REASONS,
    STATUSES,
    Answer,
    Assignment,
    Unassigned,
)
from matcher.dispatch.problem import Demand, Interval, Location, Member, Problem, Team
from matcher.dispatch.reason_check import (
    ReasonChecker,
    better_plan,
    fairness_hours_penalty,
)
from matcher.verifier_geo import EARTH_RADIUS_KM, haversine_km

__all__ = [
    "EARTH_RADIUS_KM",
    "ENGINE_ALLOWANCES",
    "OPTIMAL_GAP_TOL",
    "PINNED_RULES",
    "RULES",
    "Violation",
    "check_assignments",
    "fairness_hours_penalty",
    "haversine_km",
    "location_km",
    "recompute_objective",
    "verify",
]

RULES = ("1", "2", "3", "4", "5", "6", "7", "8", "9")
PINNED_RULES = ("2", "3", "4", "5", "6", "7", "8")

_OBJECTIVE_TOL = 1e-6  # relative and absolute
_GAP_TOL = 1e-6
OPTIMAL_GAP_TOL = 1e-5
"""README, *Reading the answer*: ``optimal`` exactly when the gap is at most this."""
_GAP_SLACK = 1e-12  # floating-point slack on that tolerance
_REPORTED_DISTANCE_TOL_KM = 1e-3
_RANGE_TOL_KM = 1e-9
_HOURS_TOL = 1e-9
_END_TOL = timedelta(seconds=1)
_NO_TIME = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Violation:
    """One break of the contract found by :func:`verify`.

    Attributes
    ----------
    rule
        ``"1"`` .. ``"9"`` for the spec's numbered rules, or one of ``"coverage"``,
        ``"objective"``, ``"bound"``, ``"status"``, ``"distance"``, ``"end"``, ``"load"``,
        ``"reason"`` for the answer's bookkeeping.
    message
        A sentence a dispatcher or developer can read.
    demand, member
        The demand and member concerned, when there is one.
    """

    rule: str
    message: str
    demand: str | None = None
    member: str | None = None


def location_km(a: Location, b: Location) -> float:
    """Great-circle distance between two locations, in km (:mod:`matcher.verifier_geo`)."""
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


# --------------------------------------------------------------------------------------------
# Shared context: dictionaries built once per call.


def _is_aware(value: object) -> bool:
    if not isinstance(value, datetime):
        return False
    tz = value.tzinfo
    if tz is None:
        return False
    return type(tz) is timezone or value.utcoffset() is not None


def _as_timedelta_hours(hours: float) -> timedelta | None:
    try:
        if not math.isfinite(hours) or hours < 0:
            return None
        return timedelta(hours=hours)
    except (OverflowError, ValueError, TypeError):
        return None


def _as_timedelta_minutes(minutes: float) -> timedelta | None:
    try:
        if not math.isfinite(minutes):
            return None
        return timedelta(minutes=minutes)
    except (OverflowError, ValueError, TypeError):
        return None


def _num(value: float) -> str:
    return f"{value:.6g}"


def _close(a: float, b: float, tol: float) -> bool:
    """``|a - b| <= tol * max(1, |b|)``; false when either is nan."""
    try:
        return abs(a - b) <= tol * max(1.0, abs(b))
    except TypeError:
        return False


class _Task(NamedTuple):
    """The first assignment of a known demand, with everything the rules need."""

    order: int  # position in the assignments
    assignment: Assignment
    demand: Demand
    crew: tuple[Member, ...]  # distinct, known, in the answer's order
    distances_km: tuple[float, ...]  # haversine home -> demand, per crew member
    start: datetime | None  # None: the answer's start is not an aware datetime
    end: datetime | None  # start + duration_hours; None when not computable


class _Context:
    def __init__(self, problem: Problem, assignments: Sequence[Assignment]):
        self.problem = problem
        self.assignments = assignments
        self.members: dict[str, Member] = {}
        for m in problem.members:
            self.members.setdefault(m.id, m)
        self.demands: dict[str, Demand] = {}
        for d in problem.demands:
            self.demands.setdefault(d.id, d)
        self.teams: dict[str, Team] = {}
        for t in problem.teams:
            self.teams.setdefault(t.id, t)
        self._team_sets: dict[str, frozenset[str]] = {}
        self._member_teams: dict[str, list[str]] | None = None
        self._availability: dict[str, tuple[list[datetime], list[datetime]]] = {}
        self.member_hours: dict[str, tuple[float, int]] | None = None

        self.tasks: list[_Task] = []
        self.task_of: dict[str, _Task] = {}
        for index, a in enumerate(assignments):
            demand = self.demands.get(a.demand)
            if demand is None or a.demand in self.task_of:
                continue
            crew: tuple[Member, ...]
            if len(a.members) == 1:
                member = self.members.get(a.members[0])
                crew = (member,) if member is not None else ()
            else:
                known = {mid: self.members.get(mid) for mid in a.members}  # ordered, distinct
                crew = tuple(m for m in known.values() if m is not None)
            distances = tuple(location_km(m.location, demand.location) for m in crew)
            start = a.start if _is_aware(a.start) else None
            end = self._end_of(demand, start)
            task = _Task(index, a, demand, crew, distances, start, end)
            self.tasks.append(task)
            self.task_of[a.demand] = task

        self.by_member: dict[str, list[_Task]] = {}
        for task in self.tasks:
            for m in task.crew:
                self.by_member.setdefault(m.id, []).append(task)
        for tasks in self.by_member.values():
            tasks.sort(key=lambda t: (t.start is None, t.start or _NO_TIME, t.order))

    @staticmethod
    def _end_of(demand: Demand, start: datetime | None) -> datetime | None:
        duration = _as_timedelta_hours(demand.duration_hours)
        if start is None or duration is None:
            return None
        try:
            return start + duration
        except OverflowError:
            return None

    def team_set(self, team_id: str) -> frozenset[str]:
        found = self._team_sets.get(team_id)
        if found is None:
            found = frozenset(self.teams[team_id].members)
            self._team_sets[team_id] = found
        return found

    def teams_holding(self, member_ids: Iterable[str]) -> list[str]:
        """Ids of the teams of ``problem.teams`` that contain every given member, in order."""
        if self._member_teams is None:
            self._member_teams = {}
            for team_id in self.teams:
                for mid in self.team_set(team_id):
                    self._member_teams.setdefault(mid, []).append(team_id)
        common: set[str] | None = None
        for mid in member_ids:
            here = set(self._member_teams.get(mid, ()))
            common = here if common is None else common & here
            if not common:
                return []
        if common is None:
            return []
        return [team_id for team_id in self.teams if team_id in common]

    def available(self, member: Member, start: datetime, end: datetime) -> bool:
        """``[start, end)`` lies inside one availability interval of the member.

        Intervals are sorted by start with a running maximum of ends, so that the test is one
        bisection and stays correct even if intervals overlap.
        """
        index = self._availability.get(member.id)
        if index is None:
            valid: list[Interval] = [
                iv for iv in member.availability if _is_aware(iv.start) and _is_aware(iv.end)
            ]
            valid.sort(key=lambda iv: iv.start)
            starts = [iv.start for iv in valid]
            max_ends: list[datetime] = []
            for iv in valid:
                max_ends.append(iv.end if not max_ends or iv.end > max_ends[-1] else max_ends[-1])
            index = (starts, max_ends)
            self._availability[member.id] = index
        starts, max_ends = index
        i = bisect_right(starts, start) - 1
        return i >= 0 and max_ends[i] >= end

    def distance_limit_km(self, member: Member) -> float:
        if member.max_distance_km is not None:
            return member.max_distance_km
        return self.problem.options.max_distance_km


# --------------------------------------------------------------------------------------------
# The nine rules.


def _rule_1(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """Each demand at most once; exactly ``crew_size`` distinct known members."""
    for index, a in enumerate(ctx.assignments):
        demand = ctx.demands.get(a.demand)
        if demand is None:
            continue  # reported under "coverage"
        first = ctx.task_of[a.demand]
        if first.order != index:
            yield Violation(
                "1",
                f"demand {a.demand!r} is assigned more than once "
                f"(assignments[{first.order}] and assignments[{index}])",
                demand=a.demand,
            )
            continue
        if len(a.members) != demand.crew_size:
            yield Violation(
                "1",
                f"demand {a.demand!r} needs a crew of {demand.crew_size}, "
                f"the answer gives {len(a.members)}",
                demand=a.demand,
            )
        seen: set[str] = set()
        for mid in a.members:
            if mid in seen:
                yield Violation(
                    "1",
                    f"member {mid!r} is listed twice in the crew of {a.demand!r}",
                    demand=a.demand,
                    member=mid,
                )
            seen.add(mid)
            if mid not in ctx.members:
                yield Violation(
                    "1",
                    f"unknown member {mid!r} in the crew of {a.demand!r}",
                    demand=a.demand,
                    member=mid,
                )


def _rule_2(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """Inside the window; on the ``time_step_minutes`` grid unless the start is the pinned one."""
    step = _as_timedelta_minutes(ctx.problem.options.time_step_minutes)
    for t in ctx.tasks:
        d = t.demand
        window = d.window
        if t.start is None:
            yield Violation("2", f"start of {d.id!r} is not a datetime with an offset", demand=d.id)
            continue
        if not (_is_aware(window.start) and _is_aware(window.end)) or t.end is None:
            yield Violation(
                "2", f"the window or duration of {d.id!r} cannot be checked", demand=d.id
            )
            continue
        if t.start < window.start:
            yield Violation(
                "2",
                f"{d.id!r} starts at {t.start.isoformat()}, "
                f"before its window opens at {window.start.isoformat()}",
                demand=d.id,
            )
        if t.end > window.end:
            yield Violation(
                "2",
                f"{d.id!r} ends at {t.end.isoformat()}, "
                f"after its window closes at {window.end.isoformat()}",
                demand=d.id,
            )
        pinned_start = d.pinned is not None and t.start == d.pinned.start
        on_grid = (
            not grid
            or pinned_start
            or step is None
            or step <= timedelta(0)
            or (t.start - window.start) % step == timedelta(0)
        )
        if not on_grid:
            yield Violation(
                "2",
                f"{d.id!r} starts at {t.start.isoformat()}, not on the "
                f"{_num(ctx.problem.options.time_step_minutes)}-minute grid from "
                f"{window.start.isoformat()}",
                demand=d.id,
            )


def _rule_3(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """For each crew member, ``[start, end)`` inside one availability interval."""
    for t in ctx.tasks:
        if t.start is None or t.end is None:
            continue
        for m in t.crew:
            if not ctx.available(m, t.start, t.end):
                yield Violation(
                    "3",
                    f"member {m.id!r} is not available for the whole of "
                    f"[{t.start.isoformat()}, {t.end.isoformat()}) ({t.demand.id!r})",
                    demand=t.demand.id,
                    member=m.id,
                )


def _rule_4(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """One member holds every skill; a crew holds every skill between them."""
    for t in ctx.tasks:
        d = t.demand
        if d.crew_size == 1:
            for m in t.crew:
                missing = [s for s in d.skills if s not in m.skills]
                if missing:
                    yield Violation(
                        "4",
                        f"member {m.id!r} lacks {', '.join(map(repr, missing))} for {d.id!r}",
                        demand=d.id,
                        member=m.id,
                    )
        else:
            held = {s for m in t.crew for s in m.skills}
            missing = [s for s in d.skills if s not in held]
            if missing:
                yield Violation(
                    "4",
                    f"no crew member of {d.id!r} holds {', '.join(map(repr, missing))}",
                    demand=d.id,
                )


def _rule_5(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """Each crew member within the member's (or the default) ``max_distance_km``."""
    for t in ctx.tasks:
        for m, km in zip(t.crew, t.distances_km, strict=True):
            limit = ctx.distance_limit_km(m)
            if not km <= limit + _RANGE_TOL_KM:
                yield Violation(
                    "5",
                    f"member {m.id!r} lives {_num(km)} km from {t.demand.id!r}, "
                    f"limit {_num(limit)} km",
                    demand=t.demand.id,
                    member=m.id,
                )


def _rule_6(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """No overlap, and at least ``changeover_minutes`` between consecutive tasks of a member."""
    changeover = _as_timedelta_minutes(ctx.problem.options.changeover_minutes)
    if changeover is None:
        changeover = timedelta(0)
    for mid, tasks in ctx.by_member.items():
        latest: _Task | None = None  # among earlier tasks, the one that ends last
        for t in tasks:
            if t.start is None or t.end is None:
                continue
            if latest is None or latest.end is None:
                latest = t
                continue
            if t.start < latest.end + changeover:
                kind = "overlaps" if t.start < latest.end else "follows too closely on"
                yield Violation(
                    "6",
                    f"for member {mid!r}, {t.demand.id!r} at {t.start.isoformat()} {kind} "
                    f"{latest.demand.id!r} ending {latest.end.isoformat()} "
                    f"(changeover {_num(ctx.problem.options.changeover_minutes)} min)",
                    demand=t.demand.id,
                    member=mid,
                )
            if t.end > latest.end:
                latest = t


def _rule_7(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """Assigned hours at most ``capacity_hours`` (reported at the task that crosses it)."""
    for mid, tasks in ctx.by_member.items():
        capacity = ctx.members[mid].capacity_hours
        hours = 0.0
        for t in tasks:
            hours += t.demand.duration_hours
            if not hours <= capacity + _HOURS_TOL * max(1.0, abs(capacity)):
                total = math.fsum(u.demand.duration_hours for u in tasks)
                yield Violation(
                    "7",
                    f"member {mid!r} is given {_num(total)} h, capacity {_num(capacity)} h "
                    f"(exceeded at {t.demand.id!r})",
                    demand=t.demand.id,
                    member=mid,
                )
                break


def _rule_8(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """``team_only``: one listed team holds the crew and is named; any named team is real."""
    for t in ctx.tasks:
        d = t.demand
        team_id = t.assignment.team
        crew_ids = [m.id for m in t.crew]
        if team_id is None:
            if d.team_only:
                holding = ctx.teams_holding(crew_ids)
                if holding:
                    message = f"team_only demand {d.id!r} must name its team (e.g. {holding[0]!r})"
                else:
                    message = (
                        f"team_only demand {d.id!r}: no team in teams holds all of "
                        f"{', '.join(map(repr, crew_ids))}"
                    )
                yield Violation("8", message, demand=d.id)
            continue
        if team_id not in ctx.teams:
            yield Violation("8", f"{d.id!r} names unknown team {team_id!r}", demand=d.id)
            continue
        members = ctx.team_set(team_id)
        for mid in crew_ids:
            if mid not in members:
                yield Violation(
                    "8",
                    f"member {mid!r} of the crew of {d.id!r} is not in team {team_id!r}",
                    demand=d.id,
                    member=mid,
                )


def _rule_9(ctx: _Context, grid: bool) -> Iterator[Violation]:
    """A pinned demand keeps exactly its members (as a set) and its start."""
    for d in ctx.demands.values():
        pin = d.pinned
        if pin is None:
            continue
        t = ctx.task_of.get(d.id)
        if t is None:
            yield Violation("9", f"pinned demand {d.id!r} is not assigned", demand=d.id)
            continue
        if set(t.assignment.members) != set(pin.members):
            yield Violation(
                "9",
                f"pinned demand {d.id!r} must keep {sorted(pin.members)}, "
                f"the answer gives {sorted(t.assignment.members)}",
                demand=d.id,
            )
        if t.assignment.start != pin.start:
            yield Violation(
                "9",
                f"pinned demand {d.id!r} must start at {pin.start.isoformat()}, "
                f"the answer gives {t.assignment.start!s}",
                demand=d.id,
            )


_RULE_CHECKS = {
    "1": _rule_1,
    "2": _rule_2,
    "3": _rule_3,
    "4": _rule_4,
    "5": _rule_5,
    "6": _rule_6,
    "7": _rule_7,
    "8": _rule_8,
    "9": _rule_9,
}


def _run_rules(ctx: _Context, rules: Iterable[str], grid: bool) -> list[Violation]:
    found: list[Violation] = []
    for rule in rules:
        found.extend(_RULE_CHECKS[rule](ctx, grid))
    return found


def check_assignments(
    problem: Problem,
    assignments: Sequence[Assignment],
    *,
    rules: Collection[str] = RULES,
    grid: bool = True,
) -> list[Violation]:
    """Check a set of assignments against some of the spec's numbered rules.

    This is the rule part of :func:`verify`, exposed so that
    :func:`matcher.dispatch.validation.validate_problem` can check pinned assignments on their own.

    Parameters
    ----------
    problem
        The problem (assumed validated).
    assignments
        The assignments, taken as everything that is assigned (rule 9 flags pinned demands
        missing from them).
    rules
        Which rules to check, among ``"1"`` .. ``"9"``; checked in numeric order.
    grid
        Whether rule 2 checks the ``time_step_minutes`` grid (the window is always checked).

    Returns
    -------
    list[Violation]
        The breaks found, rule by rule; empty if none.

    Raises
    ------
    ValueError
        If ``rules`` names an unknown rule.
    """
    unknown = set(rules) - set(RULES)
    if unknown:
        raise ValueError(f"unknown rules: {sorted(unknown)}")
    ctx = _Context(problem, assignments)
    return _run_rules(ctx, [r for r in RULES if r in rules], grid)


# --------------------------------------------------------------------------------------------
# Objective.


def _member_hours(ctx: _Context) -> dict[str, tuple[float, int]]:
    """Member id -> (assigned hours, number of tasks), for members with at least one task."""
    if ctx.member_hours is None:
        ctx.member_hours = {
            mid: (math.fsum(t.demand.duration_hours for t in tasks), len(tasks))
            for mid, tasks in ctx.by_member.items()
        }
    return ctx.member_hours


def _objective(ctx: _Context) -> float:
    problem = ctx.problem
    w = problem.options.weights
    pairs = {(p.unit, p.community) for p in problem.options.unit_pairs}
    terms: list[float] = [
        w.unassigned * d.priority for d in problem.demands if d.id not in ctx.task_of
    ]
    for t in ctx.tasks:
        d = t.demand
        for m, km in zip(t.crew, t.distances_km, strict=True):
            terms.append(w.distance * km)
            if d.category in m.preferences:
                terms.append(-w.preference)
            if m.id in d.preferred_members:
                terms.append(-w.continuity)
            if (m.unit, d.community) in pairs:
                terms.append(-w.paired_unit)
            terms.append(w.reliability * d.priority * (1.0 - m.reliability))
    hours = _member_hours(ctx)
    fairness = math.fsum(
        fairness_hours_penalty(hours[mid][0], m.capacity_hours)
        for mid, m in ctx.members.items()
        if mid in hours
    )
    terms.append(w.fairness * fairness)
    return math.fsum(terms)


def recompute_objective(problem: Problem, answer: Answer) -> float:
    """The spec's objective for the answer's assignments, computed from scratch.

    Parameters
    ----------
    problem
        The problem.
    answer
        The answer; only its ``assignments`` are read.

    Returns
    -------
    float
        ``Σ_unassigned w.unassigned·priority + Σ_assigned Σ_crew (w.distance·km
        - w.preference·[category ∈ preferences] - w.continuity·[member ∈ preferred_members]
        - w.paired_unit·[(member.unit, demand.community) ∈ unit_pairs]
        + w.reliability·priority·(1 - reliability)) + w.fairness·fairness``, where
        ``fairness = Σ_m max(0, h - 0.5c) + 2·max(0, h - 0.75c)`` over members with capacity
        ``c > 0`` and assigned hours ``h``. Demands of the problem absent from the assignments
        count as unassigned; unknown demands and members in the answer are ignored.
    """
    return _objective(_Context(problem, answer.assignments))


# --------------------------------------------------------------------------------------------
# The answer's bookkeeping.


def _check_coverage(ctx: _Context, answer: Answer) -> Iterator[Violation]:
    for a in answer.assignments:
        if a.demand not in ctx.demands:
            yield Violation(
                "coverage", f"assignment for unknown demand {a.demand!r}", demand=a.demand
            )
    unassigned_seen: set[str] = set()
    for u in answer.unassigned:
        if u.demand not in ctx.demands:
            yield Violation(
                "coverage", f"unassigned entry for unknown demand {u.demand!r}", demand=u.demand
            )
        elif u.demand in ctx.task_of:
            yield Violation(
                "coverage",
                f"demand {u.demand!r} is both assigned and unassigned",
                demand=u.demand,
            )
        elif u.demand in unassigned_seen:
            yield Violation(
                "coverage", f"demand {u.demand!r} is unassigned more than once", demand=u.demand
            )
        unassigned_seen.add(u.demand)
    for d in ctx.demands.values():
        if d.id not in ctx.task_of and d.id not in unassigned_seen:
            yield Violation(
                "coverage",
                f"demand {d.id!r} is neither assigned nor unassigned",
                demand=d.id,
            )


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


_PROOF_METHODS = frozenset({"fixed", "exact", "lagrangian", "lp", "trivial"})
"""How a bound may be proved (``stats.bound_proof``: README, *Reading the answer*)."""


def _check_proof(answer: Answer, own: bool) -> Iterator[Violation]:
    """``stats.bound_proof`` counts parts by known methods; this project's own answers (``own``)
    record it whenever they call themselves ``optimal`` with demands to serve."""
    proof = answer.stats.bound_proof or {}
    for method, parts in proof.items():
        if method not in _PROOF_METHODS:
            yield Violation("status", f"stats.bound_proof names an unknown method {method!r}")
        elif isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
            yield Violation(
                "status", f"stats.bound_proof[{method!r}] is {parts!r}, not a count of parts"
            )
    if own and answer.status == "optimal" and not proof and answer.objective != 0:
        yield Violation(
            "status", "status is optimal but stats.bound_proof says nothing of the bound"
        )


def _check_status(answer: Answer) -> Iterator[Violation]:
    """``optimal`` exactly when the gap that objective and bound give is within
    :data:`OPTIMAL_GAP_TOL`; ``no_solution`` only without a plan."""
    status, gap = answer.status, answer.gap
    if _finite(answer.objective) and _finite(answer.bound):  # a wrong gap is a "bound" violation
        gap = (answer.objective - answer.bound) / max(abs(answer.objective), 1.0)
    within = _finite(gap) and gap <= OPTIMAL_GAP_TOL + _GAP_SLACK
    if status not in STATUSES:
        yield Violation("status", f"status {status!r} is not one of {', '.join(STATUSES)}")
    elif status == "optimal" and not within:
        yield Violation(
            "status", f"status is optimal but gap is {gap!r} (optimal means <= {OPTIMAL_GAP_TOL:g})"
        )
    elif status == "feasible" and within and gap >= -_GAP_TOL:  # (a bound above: "bound")
        yield Violation(
            "status",
            f"status is feasible but gap is {gap!r}, within the {OPTIMAL_GAP_TOL:g} that makes a "
            "plan optimal",
        )
    elif status == "no_solution" and answer.assignments:
        yield Violation(
            "status",
            f"status is no_solution but the answer has a plan of {len(answer.assignments)} "
            "assignment(s)",
        )


def _check_numbers(ctx: _Context, answer: Answer) -> Iterator[Violation]:
    """Status, objective, bound and gap."""
    yield from _check_status(answer)

    objective = answer.objective
    if not _finite(objective):
        if answer.status != "no_solution":
            yield Violation("objective", f"objective {objective!r} is not a finite number")
        return
    expected = _objective(ctx)
    if not abs(objective - expected) <= _OBJECTIVE_TOL * max(1.0, abs(expected)):
        yield Violation(
            "objective",
            f"reported objective {objective!r} differs from recomputed {expected!r}",
        )

    bound = answer.bound
    if not isinstance(bound, int | float) or math.isnan(bound):
        yield Violation("bound", f"bound {bound!r} is not a number")
        return
    if bound > objective + _OBJECTIVE_TOL * max(1.0, abs(objective)):
        yield Violation("bound", f"bound {bound!r} is above the objective {objective!r}")
    expected_gap = (objective - bound) / max(abs(objective), 1.0)
    gap = answer.gap
    if math.isinf(expected_gap):
        ok = gap == expected_gap
    else:
        ok = _finite(gap) and abs(gap - expected_gap) <= _GAP_TOL
    if not ok:
        yield Violation(
            "bound",
            f"gap {gap!r} is not (objective - bound) / max(|objective|, 1) = {expected_gap!r}",
        )


def _check_distances_and_ends(ctx: _Context) -> Iterator[Violation]:
    for t in ctx.tasks:
        a = t.assignment
        d = t.demand
        reported = tuple(a.distance_km)
        if len(reported) != len(a.members):
            yield Violation(
                "distance",
                f"{d.id!r} lists {len(reported)} distances for {len(a.members)} members",
                demand=d.id,
            )
        else:
            true_by_member = {m.id: km for m, km in zip(t.crew, t.distances_km, strict=True)}
            for mid, km in zip(a.members, reported, strict=True):
                true_km = true_by_member.get(mid)
                if true_km is None:
                    continue  # unknown member, reported under rule 1
                if not (_finite(km) and abs(km - true_km) <= _REPORTED_DISTANCE_TOL_KM):
                    yield Violation(
                        "distance",
                        f"{d.id!r} reports {km!r} km for {mid!r}, haversine gives "
                        f"{_num(true_km)} km",
                        demand=d.id,
                        member=mid,
                    )
        if t.end is None:
            continue  # start reported under rule 2
        if not _is_aware(a.end):
            yield Violation("end", f"end of {d.id!r} is not a datetime with an offset", demand=d.id)
        elif abs(a.end - t.end) > _END_TOL:
            yield Violation(
                "end",
                f"{d.id!r} reports end {a.end.isoformat()}, start + duration is "
                f"{t.end.isoformat()}",
                demand=d.id,
            )


def _check_load(ctx: _Context, answer: Answer) -> Iterator[Violation]:
    expected = _member_hours(ctx)
    listed: set[str] = set()
    for entry in answer.load:
        mid = entry.member
        if mid not in ctx.members:
            yield Violation("load", f"load lists unknown member {mid!r}", member=mid)
            continue
        if mid in listed:
            yield Violation("load", f"load lists member {mid!r} twice", member=mid)
            continue
        listed.add(mid)
        hours, tasks = expected.get(mid, (0.0, 0))
        if not _close(entry.hours, hours, _HOURS_TOL):
            yield Violation(
                "load",
                f"load of {mid!r} says {entry.hours!r} h, the assignments give {_num(hours)} h",
                member=mid,
            )
        if entry.tasks != tasks:
            yield Violation(
                "load",
                f"load of {mid!r} says {entry.tasks!r} tasks, the assignments give {tasks}",
                member=mid,
            )
    for mid in ctx.members:
        if mid not in listed:
            what = "has tasks but" if mid in expected else "is idle and has"
            yield Violation(
                "load",
                f"member {mid!r} {what} no load entry (every member is listed, idle ones at 0 h)",
                member=mid,
            )


ENGINE_ALLOWANCES: frozenset[str] = frozenset()
"""Known engine bugs that :func:`verify` lets pass unless told not to with ``allow=()``: none
left. The two of issue 17 (``crew_fit_unchecked``: a crew demand a crew could still take called
``capacity`` or ``conflict``; ``unweighed_priority``: ``priority`` "costs more than leaving it
out" without the costs compared) are fixed in the engine (``matcher/dispatch/insertion.py``).
"""


def _confirmed(problem: Problem, assignments: Sequence[Assignment]) -> float | None:
    """The objective of another plan, if it keeps rules 1-9 (else ``None``)."""
    other = _Context(problem, assignments)
    if _run_rules(other, RULES, grid=True):
        return None
    return _objective(other)


def _param_value_ok(value: object) -> bool:
    """A JSON number (finite), a string, or a list of them."""
    if isinstance(value, list):
        return all(_param_value_ok(v) and not isinstance(v, list) for v in value)
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    return isinstance(value, str)


def _check_params(u: Unassigned, required: bool) -> Iterator[Violation]:
    """``params``: an object with exactly the keys of one of :data:`REASON_PARAMS` for the code
    (``priority`` told apart by ``basis``), values JSON numbers, strings or lists of them."""
    params = u.params
    if not isinstance(params, Mapping):
        yield Violation("reason", f"params of {u.demand!r} is not an object", demand=u.demand)
        return
    if not params:
        if required:
            yield Violation("reason", f"no params for unassigned {u.demand!r}", demand=u.demand)
        return
    allowed = REASON_PARAMS.get(u.reason, ())
    keys = frozenset(params)
    if keys not in allowed:
        want = " or ".join("{" + ", ".join(sorted(k)) + "}" for k in allowed) or "none"
        yield Violation(
            "reason",
            f"params of {u.demand!r} ({u.reason}) have keys {{{', '.join(sorted(keys))}}}, "
            f"documented: {want}",
            demand=u.demand,
        )
    elif u.reason == "priority" and params.get("basis") != (
        "cost" if "cost" in keys else "outranked"
    ):
        yield Violation(
            "reason", f"params of {u.demand!r} name basis {params.get('basis')!r}", demand=u.demand
        )
    bad = sorted(k for k, v in params.items() if not _param_value_ok(v))
    if bad:
        yield Violation(
            "reason",
            f"params of {u.demand!r} hold values that are not JSON numbers, strings or lists "
            f"of them: {', '.join(map(str, bad))}",
            demand=u.demand,
        )


def _check_reasons(
    ctx: _Context,
    answer: Answer,
    checker: ReasonChecker,
    allow: Collection[str],
    *,
    require_params: bool = False,
) -> Iterator[Violation]:
    """Known codes with a sentence and documented params, and each code true of the problem and
    the plan (:mod:`matcher.dispatch.reason_check`)."""
    seen: set[str] = set()
    for u in answer.unassigned:
        if u.reason not in REASONS:
            yield Violation(
                "reason",
                f"reason {u.reason!r} for {u.demand!r} is not one of {', '.join(REASONS)}",
                demand=u.demand,
            )
        if not isinstance(u.detail, str) or not u.detail.strip():
            yield Violation("reason", f"no detail for unassigned {u.demand!r}", demand=u.demand)
        if u.reason in REASONS:
            yield from _check_params(u, require_params)
        demand = ctx.demands.get(u.demand)
        if (
            u.reason not in REASONS
            or demand is None
            or demand.pinned is not None  # rule 9
            or u.demand in ctx.task_of  # coverage
            or u.demand in seen
        ):
            continue
        seen.add(u.demand)
        found = checker.assess(demand)
        holds = found.true_reasons()
        if u.reason in holds:
            continue
        insertion = found.insertion
        if insertion is not None:
            plan = checker.plan_with(demand, insertion.members, insertion.start)
            if _confirmed(ctx.problem, plan) is None:
                continue  # the checker's way to serve it breaks a rule: say nothing
        if holds:
            expected = " or ".join(sorted(holds))
            message = f"{u.demand!r} is left out for {u.reason!r}, but the reason is {expected}"
        else:
            message = f"{u.demand!r} is left out for {u.reason!r}, but no reason holds"
        yield Violation("reason", f"{message}: {found.fact}", demand=u.demand)


def _check_better_plan(
    ctx: _Context, answer: Answer, checker: ReasonChecker
) -> Iterator[Violation]:
    """A plan one change away whose objective is below the bound disproves the bound."""
    objective, bound = answer.objective, answer.bound
    if not (_finite(objective) and _finite(bound)):
        return
    tol = _OBJECTIVE_TOL * max(1.0, abs(bound))
    for other in better_plan(checker, within=objective - bound + tol):
        value = _confirmed(ctx.problem, other.assignments)
        if value is not None and value < bound - tol:
            yield Violation(
                "bound",
                f"bound {bound!r} is no lower bound: {other.description} keeps every rule and "
                f"gives objective {value!r}",
            )
            return


def verify(
    problem: Problem,
    answer: Answer,
    *,
    allow: Collection[str] = ENGINE_ALLOWANCES,
    require_params: bool = False,
) -> list[Violation]:
    """Check an answer against the dispatch contract.

    Parameters
    ----------
    problem
        The problem, as validated by :func:`matcher.dispatch.validation.validate_problem`.
    answer
        The engine's (or anyone's) answer to it.
    allow
        Names from :data:`ENGINE_ALLOWANCES` of known engine bugs to let pass; ``()`` checks the
        contract alone.
    require_params
        This project's own answer: every ``unassigned[]`` entry must carry ``params``, and an
        ``optimal`` answer must record how its bound was proved (``stats.bound_proof``); an
        answer read back through a form without them may not. Params and a proof that are
        present are always checked (:data:`matcher.dispatch.answer.REASON_PARAMS`, the proof's
        methods and counts).

    Returns
    -------
    list[Violation]
        Every break found: rules ``"1"`` .. ``"9"`` in order, then ``"coverage"``, ``"status"``,
        ``"objective"``, ``"bound"``, ``"distance"``, ``"end"``, ``"load"`` and ``"reason"``.
        An empty list means the answer is feasible and its bookkeeping is right.

    Notes
    -----
    ``status`` is ``optimal`` exactly when the gap is at most :data:`OPTIMAL_GAP_TOL`, and
    ``no_solution`` only without assignments. The bound is checked against plans one change away
    (:func:`matcher.dispatch.reason_check.better_plan`, each confirmed with rules 1-9 and the
    objective here): one below the bound proves it is no lower bound. ``load`` lists every
    member. Each reason is recomputed from the problem and the plan
    (:class:`matcher.dispatch.reason_check.ReasonChecker`). It never raises on a malformed
    answer.
    """
    ctx = _Context(problem, answer.assignments)
    checker = ReasonChecker(problem, answer.assignments)
    found = _run_rules(ctx, RULES, grid=True)
    found.extend(_check_coverage(ctx, answer))
    found.extend(_check_numbers(ctx, answer))
    if not found:  # a plan one change away only means something for a feasible plan
        found.extend(_check_better_plan(ctx, answer, checker))
    found.extend(_check_distances_and_ends(ctx))
    found.extend(_check_load(ctx, answer))
    found.extend(_check_reasons(ctx, answer, checker, allow, require_params=require_params))
    found.extend(_check_proof(answer, own=require_params))
    return found
