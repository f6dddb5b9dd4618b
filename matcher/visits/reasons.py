"""Why households stay short of their visits, with a reason that holds for every plan.

The scheduler may fail to place a visit; what it reports must not depend on its own earlier
choices. For each household short of its ``visits`` this module looks for a *certificate*, a
fact of the problem alone that no schedule can get around, in this order:

``capacity`` (spacing)
    Even on every allowed date, at most ``k < visits`` visits fit ``min_days_between_visits``
    apart (the greedy count from the first date is the largest such set).
``quorum`` (this household's team)
    On the dates where a team of its area has ``quorum`` available members (availability
    alone, as if no other team went out), at most ``k < visits`` visits fit the spacing.
``quorum`` (members shared between teams)
    The teams linked by shared members (and their areas) need at least ``B`` outings for all
    their households (the areas' lower bounds), while on each allowed date their available
    members can staff at most ``⌊members / smallest quorum⌋`` outings, fewer than ``B`` over
    the quarter.
``capacity`` (the day limit)
    All areas together need at least ``B`` outings while the allowed dates hold at most
    ``max_sessions_per_day`` each (or fewer, what the members can staff), fewer than ``B``.

The last two say that *some* households of those areas must miss visits in every plan; which
ones is the scheduler's choice. A household short of visits without any certificate keeps the
scheduler's own reason with ``proven=False``; the tests and the benchmark count these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from matcher.visits.answer import UnscheduledVisits
from matcher.visits.dates_model import area_components
from matcher.visits.problem import VisitProblem, VisitTeam
from matcher.visits.schedule import usable_dates


def spaced_capacity(dates: Sequence[date], gap_days: int) -> int:
    """The most of ``dates`` (sorted) that can be chosen pairwise ``gap_days`` apart."""
    count = 0
    last: date | None = None
    for day in dates:
        if last is None or (day - last).days >= gap_days:
            count += 1
            last = day
    return count


@dataclass(frozen=True)
class Shortfall:
    """A household short of its visits, the scheduler's own reason and detail for it."""

    household: str
    area: str
    team: str | None
    reason: str
    detail: str


@dataclass(frozen=True)
class _Limits:
    """What the problem alone allows, computed once."""

    dates: tuple[date, ...]
    quorum_dates: Mapping[str, tuple[date, ...]]  # per area
    component_of_area: Mapping[str, int]
    component_teams: Mapping[int, tuple[str, ...]]
    component_need: Mapping[int, int]
    component_staff: Mapping[int, int]
    staffed_per_day: Mapping[date, int]  # all components, capped by the day limit
    need: int


def _limits(problem: VisitProblem, bound_of_area: Mapping[str, int]) -> _Limits:
    dates = tuple(usable_dates(problem))
    members = {m.id: m for m in problem.members}
    teams_of_area: dict[str, list[VisitTeam]] = defaultdict(list)
    for team in problem.teams:
        teams_of_area[team.area].append(team)

    def quorum_on(team: VisitTeam, day: date) -> bool:
        return sum(members[m].is_available(day) for m in set(team.members)) >= team.quorum

    quorum_dates = {
        a.id: tuple(d for d in dates if any(quorum_on(t, d) for t in teams_of_area[a.id]))
        for a in problem.areas
    }
    component_of_area = area_components(problem)
    teams_of: dict[int, list[VisitTeam]] = defaultdict(list)
    need: dict[int, int] = defaultdict(int)
    for team in problem.teams:
        teams_of[component_of_area[team.area]].append(team)
    for area in problem.areas:
        need[component_of_area[area.id]] += bound_of_area.get(area.id, 0)
    per_day = problem.max_sessions_per_day
    staff: dict[int, int] = {}
    staffed: dict[date, int] = dict.fromkeys(dates, 0)
    for k, teams in teams_of.items():
        pool = {m for t in teams for m in t.members}
        smallest = min(t.quorum for t in teams)
        total = 0
        for day in dates:
            on_day = sum(members[m].is_available(day) for m in pool) // smallest
            total += on_day
            staffed[day] += on_day
        staff[k] = total
    return _Limits(
        dates=dates,
        quorum_dates=quorum_dates,
        component_of_area=component_of_area,
        component_teams={k: tuple(t.id for t in ts) for k, ts in teams_of.items()},
        component_need=dict(need),
        component_staff=staff,
        staffed_per_day={d: min(per_day, n) for d, n in staffed.items()},
        need=sum(need.values()),
    )


def _certificate(
    problem: VisitProblem, limits: _Limits, visits: int, area: str
) -> tuple[str, str] | None:
    gap = problem.options.min_days_between_visits
    fit_all = spaced_capacity(limits.dates, gap)
    if fit_all < visits:
        return (
            "capacity",
            f"the quarter's {len(limits.dates)} allowed dates hold at most {fit_all} of its "
            f"{visits} visits {gap} days apart; allow more weekdays or shorten the spacing",
        )
    quorum_dates = limits.quorum_dates.get(area, ())
    fit_quorum = spaced_capacity(quorum_dates, gap)
    if fit_quorum < visits:
        where = (
            f"only on {len(quorum_dates)} allowed dates ({quorum_dates[0]} to {quorum_dates[-1]})"
            if quorum_dates
            else "on no allowed date"
        )
        return (
            "quorum",
            f"the team of area {area} has its quorum of available members {where}, which hold "
            f"at most {fit_quorum} of its {visits} visits {gap} days apart; add members or ask "
            "them to free dates",
        )
    k = limits.component_of_area[area]
    need, staff = limits.component_need.get(k, 0), limits.component_staff.get(k, 0)
    if need > staff:
        teams = ", ".join(limits.component_teams.get(k, ()))
        return (
            "quorum",
            f"teams {teams} (sharing members) need at least {need} outings for all their "
            f"households, and their available members can staff at most {staff} on the allowed "
            "dates; add members or ask them to free dates",
        )
    held = sum(limits.staffed_per_day.values())
    if limits.need > held:
        return (
            "capacity",
            f"all areas need at least {limits.need} outings, and the allowed dates hold at most "
            f"{held} ({problem.max_sessions_per_day} a day, and what the members can staff); "
            "raise max_sessions_per_day or allow more dates",
        )
    return None


def explain_shortfalls(
    problem: VisitProblem, shortfalls: Sequence[Shortfall], bound_of_area: Mapping[str, int]
) -> list[UnscheduledVisits]:
    """One entry per (team, reason, detail), certified where a certificate exists."""
    if not shortfalls:
        return []
    limits = _limits(problem, bound_of_area)
    visits = {h.id: h.visits for a in problem.areas for h in a.households}
    grouped: dict[tuple[str | None, str, str, bool], list[str]] = defaultdict(list)
    for s in shortfalls:
        certified = _certificate(problem, limits, visits[s.household], s.area)
        if certified is None:
            key = (s.team, s.reason, s.detail, False)
        else:
            key = (s.team, certified[0], certified[1], True)
        grouped[key].append(s.household)
    return [
        UnscheduledVisits(
            team=team, households=tuple(hs), reason=reason, detail=detail, proven=proven
        )
        for (team, reason, detail, proven), hs in grouped.items()
    ]
