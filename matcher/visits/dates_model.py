"""Dates and attendees of a group of teams as one CP-SAT model.

The greedy in :mod:`matcher.visits.schedule` dates outings one at a time. When it leaves
households short, the teams concerned — with every team linked to them by shared members — are
planned again as one model over their outings × usable dates: quorum from the members available
that date, no member in two outings a day, the community's day limit (what other teams already
booked stays), and the spacing between a household's visits. Outings are the greedy's (routes
unchanged, each already fits the session) plus one single-household outing per missing visit.
The greedy plan is the hint; its outings must keep a date (perhaps another one), so no
household loses a visit, and the single outings are placed where the rest allows.

Variables are named after ids (``x[o3,t-1,2027-01-09]``, ``a[m-4,t-1,2027-01-09]``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ortools.sat.python import cp_model

from matcher.visits.outings import Outing
from matcher.visits.problem import VisitProblem, VisitTeam

VISIT_WEIGHT = 1_000
"""A visit placed outweighs any number of sessions saved (at most this many outings)."""


def area_components(problem: VisitProblem) -> dict[str, int]:
    """Areas joined when one team covers both or two of their teams share a member."""
    parent: dict[str, str] = {a.id: a.id for a in problem.areas}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    area_of_member: dict[str, str] = {}
    for team in problem.teams:
        for member in team.members:
            if member in area_of_member:
                parent[find(area_of_member[member])] = find(team.area)
            else:
                area_of_member[member] = team.area
    roots = sorted({find(a) for a in parent})
    index = {root: k for k, root in enumerate(roots)}
    return {a: index[find(a)] for a in parent}


@dataclass(frozen=True)
class Dated:
    """One outing's place in the model's answer: team, date and a quorum of attendees."""

    outing: int
    team: str
    day: date
    crew: tuple[str, ...]


def solve_dates(
    problem: VisitProblem,
    outings: Sequence[Outing],
    teams: Sequence[VisitTeam],
    dates: Sequence[date],
    room: Mapping[date, int],
    hint: Mapping[int, tuple[str, date, Sequence[str]]],
    *,
    time_limit_s: float,
) -> list[Dated] | None:
    """Date and staff as many visits of ``outings`` as possible, then use fewest outings.

    Args:
        problem: The quarter (members' dates, spacing).
        outings: The outings of ``teams``' areas to date.
        teams: The teams that may take them (members not shared with anybody else).
        dates: The usable dates.
        room: Outings each date still holds under ``max_sessions_per_day``.
        hint: The greedy's (team, date, quorum crew) per outing index: a complete plan, so
            CP-SAT starts from it.
        time_limit_s: CP-SAT's budget.

    Returns:
        The dated outings, or ``None`` when CP-SAT found no plan (then keep the greedy's).

    Raises:
        RuntimeError: If CP-SAT calls the model invalid (a bug of this module).
    """
    members = {m.id: m for m in problem.members}
    teams_of_area: dict[str, list[VisitTeam]] = defaultdict(list)
    for team in teams:
        teams_of_area[team.area].append(team)
    able = {
        (t.id, d): [m for m in dict.fromkeys(t.members) if members[m].is_available(d)]
        for t in teams
        for d in dates
    }
    model = cp_model.CpModel()
    x: dict[tuple[int, str, date], cp_model.IntVar] = {}
    for o, outing in enumerate(outings):
        for t in teams_of_area.get(outing.area, []):
            for d in dates:
                if room.get(d, 0) > 0 and len(able[(t.id, d)]) >= t.quorum:
                    x[o, t.id, d] = model.new_bool_var(f"x[o{o},{t.id},{d}]")
    by_outing: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_team_day: dict[tuple[str, date], list[cp_model.IntVar]] = defaultdict(list)
    by_day: dict[date, list[cp_model.IntVar]] = defaultdict(list)
    for (o, tid, d), var in x.items():
        by_outing[o].append(var)
        by_team_day[tid, d].append(var)
        by_day[d].append(var)
    for o in range(len(outings)):
        if o in hint:  # the greedy's outings keep a date (perhaps another): nobody loses a visit
            model.add_exactly_one(by_outing[o])
        else:
            model.add_at_most_one(by_outing[o])
    for d, vars_ in by_day.items():
        model.add(sum(vars_) <= room[d])
    quorum = {team.id: team.quorum for team in teams}
    attend: dict[tuple[str, date], list[cp_model.IntVar]] = defaultdict(list)
    a: dict[tuple[str, str, date], cp_model.IntVar] = {}
    for (tid, d), vars_ in by_team_day.items():
        for m in able[(tid, d)]:
            a[m, tid, d] = model.new_bool_var(f"a[{m},{tid},{d}]")
            attend[m, d].append(a[m, tid, d])
        model.add(sum(a[m, tid, d] for m in able[(tid, d)]) >= quorum[tid] * sum(vars_))
    for vars_ in attend.values():
        model.add_at_most_one(vars_)
    _spacing(problem, outings, x, dates, model)
    visits = sum(VISIT_WEIGHT * len(outings[o].route) * var for (o, _, _), var in x.items())
    model.maximize(visits - sum(x.values()))
    hinted_crew: set[tuple[str, str, date]] = set()
    for tid, d, crew in hint.values():
        hinted_crew.update((m, tid, d) for m in crew)
    for (o, tid, d), var in x.items():
        placed = hint.get(o)
        model.add_hint(var, placed is not None and placed[:2] == (tid, d))
    for key, var in a.items():
        model.add_hint(var, key in hinted_crew)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit_s)
    solver.parameters.num_workers = 2  # the routing pool has finished: both cores are free
    solver.parameters.random_seed = problem.options.seed
    status = solver.solve(model)
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"dates model invalid: {model.validate()}")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    result = []
    crews: dict[tuple[str, date], list[str]] = {
        (tid, d): [m for m in able[(tid, d)] if solver.boolean_value(a[m, tid, d])]
        for (tid, d) in by_team_day
    }
    for (o, tid, d), var in sorted(x.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        if solver.boolean_value(var):
            pool = crews[(tid, d)]
            crew, crews[(tid, d)] = pool[: quorum[tid]], pool[quorum[tid] :]
            result.append(Dated(outing=o, team=tid, day=d, crew=tuple(crew)))
    return result


def _spacing(
    problem: VisitProblem,
    outings: Sequence[Outing],
    x: Mapping[tuple[int, str, date], cp_model.IntVar],
    dates: Sequence[date],
    model: cp_model.CpModel,
) -> None:
    """At most one visit of a household in any ``min_days_between_visits`` days."""
    gap = problem.options.min_days_between_visits
    if gap <= 0:
        return
    outings_of: dict[str, list[int]] = defaultdict(list)
    for o, outing in enumerate(outings):
        for household in outing.route:
            outings_of[household].append(o)
    groups = {frozenset(os) for os in outings_of.values() if len(os) > 1}
    on: dict[tuple[int, date], list[cp_model.IntVar]] = defaultdict(list)
    for (o, _, d), var in x.items():
        on[o, d].append(var)
    for group in sorted(groups, key=sorted):
        for first in dates:
            window = [
                var
                for o in group
                for d in dates
                if 0 <= (d - first).days < gap
                for var in on.get((o, d), ())
            ]
            if len(window) > 1:
                model.add(sum(window) <= 1)
