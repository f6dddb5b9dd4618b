"""The cheapest way to add one demand to a plan as it stands, and the pass that adds every demand
whose cheapest way costs less than leaving it out.

An insertion gives the demand to members (one, or a crew covering the skills together, for
``team_only`` from one standing team) who each have the hours left and a legal start in common:
inside one of their free candidate intervals, on the demand's grid, ``changeover`` clear of their
other tasks. Its cost is what serving adds to the objective: the candidate rows' costs plus each
member's fairness step; leaving the demand out costs ``w.unassigned · priority``.

The search is exact. For a one-person demand every row with room is tried (cheapest first; a
fairness step is never negative, so it stops once a row's cost alone is no better). For a crew
the members free at a start change only where a candidate interval begins or a task of theirs
ends (plus the changeover), snapped to the grid; at each such start the cheapest covering crew of
the members free there is found by a small dynamic programme over (members taken, skills
covered). So the crew found is the cheapest at any start of the window.

:func:`complete` runs before an answer is written (``matcher.dispatch.solve.make_answer``): the
plan then leaves out no demand it could take at a profit, which is what a ``priority`` reason
"costs more than leaving it out" says.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.dispatch.arrays import IntArray, ProblemArrays
from matcher.dispatch.candidates import Candidates
from matcher.dispatch.greedy import demand_rows, greedy_order
from matcher.dispatch.plan import Plan, Task, fairness_step
from matcher.dispatch.timetable import snap_up

__all__ = ["Insertion", "cheapest_insertion", "complete", "penalty_of"]

BoolArray = NDArray[np.bool_]

PROFIT_TOL = 1e-9  # an insertion is taken when it saves more than this (relative to the penalty)


@dataclass(frozen=True)
class Insertion:
    """One way to serve a demand left out: who, when, in which team, and what it adds."""

    demand: int
    members: tuple[int, ...]
    start: int  # seconds from the origin
    team: int | None
    cost: float  # objective change of serving it, before the penalty saved


def penalty_of(arr: ProblemArrays, demand: int) -> float:
    """What leaving the demand out costs: ``w.unassigned · priority``."""
    return float(arr.problem.options.weights.unassigned * arr.d_priority[demand])


def is_profitable(arr: ProblemArrays, insertion: Insertion) -> bool:
    """Does serving this way cost less than leaving the demand out?"""
    penalty = penalty_of(arr, insertion.demand)
    return insertion.cost < penalty - PROFIT_TOL * max(1.0, abs(penalty))


def cheapest_insertion(
    plan: Plan, cands: Candidates, lo: int, hi: int, demand: int, used: IntArray | None = None
) -> Insertion | None:
    """The cheapest way to add ``demand`` (candidate rows ``lo:hi``) to ``plan``, or ``None``.

    ``used``: the capacity each member has used, in seconds, if the caller keeps it as an array
    (it must match the plan's timetable).
    """
    if hi <= lo or demand in plan.tasks:
        return None
    if plan.arr.d_crew[demand] > 1:
        return _cheapest_crew(plan, cands, lo, hi, demand, used)
    return _cheapest_solo(plan, cands, lo, hi, demand, used)


def _score(plan: Plan, member: int, use_s: int, cost: float) -> float:
    w_fair = plan.arr.problem.options.weights.fairness
    if not w_fair:
        return cost
    return cost + w_fair * fairness_step(plan.arr, member, plan.timetable.used_s[member], use_s)


def _room(plan: Plan, cands: Candidates, lo: int, hi: int, used: IntArray | None) -> BoolArray:
    """Per row ``lo:hi``: has its member the hours for it? (``used``: hours used per member, in
    seconds, when the caller keeps them; else read from the timetable.)"""
    members = cands.member[lo:hi]
    if used is None:
        tt_used = plan.timetable.used_s
        now = np.array([tt_used[m] for m in members.tolist()], dtype=np.int64)
    else:
        now = used[members]
    room: BoolArray = now + cands.use_s[lo:hi] <= plan.arr.m_capacity_s[members]
    return room


def _cheapest_solo(
    plan: Plan, cands: Candidates, lo: int, hi: int, d: int, used: IntArray | None
) -> Insertion | None:
    arr, tt = plan.arr, plan.timetable
    dur, ws = int(arr.d_duration_s[d]), int(arr.d_window_start[d])
    best: Insertion | None = None
    for r in (lo + np.flatnonzero(_room(plan, cands, lo, hi, used))).tolist():
        cost = float(cands.cost[r])
        if best is not None and cost >= best.cost:
            break  # rows are sorted by cost and fairness steps are not negative
        m = int(cands.member[r])
        s = tt.earliest_fit(m, int(cands.first_start[r]), int(cands.last_start[r]), ws, dur)
        if s is None:
            continue
        score = _score(plan, m, int(cands.use_s[r]), cost)
        if best is None or score < best.cost:
            best = Insertion(d, (m,), s, None, score)
    return best


def _cheapest_crew(
    plan: Plan, cands: Candidates, lo: int, hi: int, d: int, used: IntArray | None
) -> Insertion | None:
    arr, tt = plan.arr, plan.timetable
    dur, ws, step = int(arr.d_duration_s[d]), int(arr.d_window_start[d]), arr.step_s
    co = arr.changeover_s
    team_only = bool(arr.d_team_only[d])
    rows = np.arange(lo, hi)
    members = cands.member[rows]
    usable = _room(plan, cands, lo, hi, used)
    if team_only:
        usable &= np.fromiter((bool(arr.member_teams[int(m)]) for m in members), bool, len(rows))
    rows = rows[usable]
    if len(np.unique(cands.member[rows])) < int(arr.d_crew[d]):
        return None
    first, last = cands.first_start[rows], cands.last_start[rows]
    lo_s, hi_s = int(first.min()), int(last.max())
    events = {snap_up(int(s), ws, step) for s in first.tolist()}
    for m in set(cands.member[rows].tolist()):
        ends = tt.ends[m]
        for e in ends[bisect_left(ends, lo_s - co) : bisect_right(ends, hi_s)]:
            events.add(snap_up(e + co, ws, step))
    member_l, use_l = cands.member[rows].tolist(), cands.use_s[rows].tolist()
    cost_l, first_l, last_l = cands.cost[rows].tolist(), first.tolist(), last.tolist()
    best: Insertion | None = None
    seen: dict[tuple[int, ...], tuple[float, tuple[int, ...], int | None] | None] = {}
    for s in sorted(events):
        if s > hi_s:
            break
        free: dict[int, float] = {}
        for i, m in enumerate(member_l):
            if first_l[i] <= s <= last_l[i] and m not in free and tt.fits_at(m, s, dur):
                free[m] = _score(plan, m, use_l[i], cost_l[i])
        key = tuple(sorted(free))
        if key not in seen:
            seen[key] = _best_crew(arr, d, free)
        found = seen[key]
        if found is not None and (best is None or found[0] < best.cost):
            best = Insertion(d, found[1], s, found[2], found[0])
    return best


def _best_crew(
    arr: ProblemArrays, d: int, free: dict[int, float]
) -> tuple[float, tuple[int, ...], int | None] | None:
    """The cheapest crew among ``free`` (member: score) covering the skills (one team's for
    ``team_only``): cost, members, team."""
    if not arr.d_team_only[d]:
        found = _cover(arr, d, free)
        return None if found is None else (found[0], found[1], None)
    best: tuple[float, tuple[int, ...], int | None] | None = None
    for t in sorted({t for m in free for t in arr.member_teams[m]}):
        inside = {m: free[m] for m in arr.team_members[t] if m in free}
        found = _cover(arr, d, inside)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], found[1], t)
    return best


def _cover(
    arr: ProblemArrays, d: int, free: dict[int, float]
) -> tuple[float, tuple[int, ...]] | None:
    """Exact: the ``crew_size`` members of ``free`` of least total score covering the skills."""
    need, full = int(arr.d_crew[d]), arr.d_skill_bits[d]
    if len(free) < need:
        return None
    bits = arr.m_skill_bits
    states: dict[tuple[int, int], tuple[float, tuple[int, ...]]] = {(0, 0): (0.0, ())}
    for m in sorted(free, key=lambda m: (free[m], m)):
        for (taken, covered), (total, crew) in list(states.items()):
            if taken == need:
                continue
            key = (taken + 1, covered | (bits[m] & full))
            value = total + free[m]
            if key not in states or value < states[key][0]:
                states[key] = (value, (*crew, m))
    return states.get((need, full))


def complete(plan: Plan, cands: Candidates, no_way: set[int] | None = None) -> int:
    """Add, in place and in the greedy's order, every demand left out whose cheapest insertion
    costs less than leaving it out; the number added.

    ``no_way``, if given, receives the demands the plan could not take at all when they were
    tried: as the plan only gains tasks afterwards, it cannot take them at the end either.
    """
    arr = plan.arr
    left = np.flatnonzero(~plan.served & ~arr.d_pinned)
    if len(left) == 0:
        return 0
    rows = demand_rows(cands, arr.n_demands)
    tt = plan.timetable
    used = np.asarray(tt.used_s, dtype=np.int64)
    added = 0
    for d in greedy_order(arr, cands, left, rows).tolist():
        found = cheapest_insertion(plan, cands, int(rows[d]), int(rows[d + 1]), d, used)
        if found is None:
            if no_way is not None:
                no_way.add(d)
        elif is_profitable(arr, found):
            plan.assign(d, Task(found.members, found.start, found.team))
            for m in found.members:
                used[m] = tt.used_s[m]
            added += 1
    return added
