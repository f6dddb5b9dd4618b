"""Turning the model's choices into a plan that keeps every rule.

The model decides who serves what and, for crews, in which start class; it does not order tasks
inside a free interval. Repair places every chosen task (crews and one-person tasks together)
earliest-latest-start first at its members' earliest common legal start; when one does not fit,
the few tasks already placed that share a member with it are re-sequenced in every order. A task
that still does not fit is released and offered again, to anyone, by the greedy fill that
follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np

from matcher.dispatch.arrays import ProblemArrays
from matcher.dispatch.candidates import Candidates
from matcher.dispatch.model import DispatchModel
from matcher.dispatch.plan import Plan, Task
from matcher.dispatch.timetable import Timetable, snap_up

_MAX_ROUNDS = 200
_MAX_REORDER = 5  # re-sequence at most this many placed tasks plus the new one (720 orders)


def common_start(
    tt: Timetable, members: list[int], lo: int, hi: int, window_start: int, duration_s: int
) -> int | None:
    """Earliest grid start in ``[lo, hi]`` at which every member is clear, or ``None``."""
    s = snap_up(lo, window_start, tt.arr.step_s)
    for _ in range(_MAX_ROUNDS):
        if s > hi:
            return None
        moved = False
        for m in members:
            t = tt.earliest_fit(m, s, hi, window_start, duration_s)
            if t is None:
                return None
            if t > s:
                s, moved = t, True
        if not moved:
            return s
    return None


def team_of(arr: ProblemArrays, members: tuple[int, ...]) -> int | None:
    """The first standing team that holds all these members."""
    wanted = set(members)
    for t, team in enumerate(arr.team_members):
        if wanted <= set(team):
            return t
    return None


def repair(
    arr: ProblemArrays, cands: Candidates, model: DispatchModel, values: np.ndarray, base: Plan
) -> Plan:
    """A rule-keeping plan from model values, starting from a copy of ``base``."""
    plan = base.copy()
    repair_into(plan, cands, model, values)
    return plan


def repair_into(plan: Plan, cands: Candidates, model: DispatchModel, values: np.ndarray) -> None:
    """Add the model's tasks to ``plan`` (in place) wherever they still keep every rule.

    Crews and one-person tasks are placed together, earliest latest-start first, each at its
    earliest legal start: a task that must finish early is not pushed out by a flexible one.
    """
    arr, tt = plan.arr, plan.timetable
    items: list[tuple[int, int, int, list[int], int | None, int]] = []  # last, first, d, ms, team
    for crew in model.crews:
        picked = np.flatnonzero(values[crew.y] > 0.5)
        if len(picked) == 0:
            continue
        c = int(picked[0])
        rows = crew.x_rows[(crew.x_class == c) & (values[crew.x] > 0.5)]
        members = [int(m) for m in cands.member[rows]]
        d = crew.demand
        if len(set(members)) != int(arr.d_crew[d]):
            continue
        # the chosen rows' own common range, not the class's: a later start that only these
        # members share may be the one that leaves room for their other tasks
        lo = int(cands.first_start[rows].max())
        hi = int(cands.last_start[rows].min())
        team = team_of(arr, tuple(members)) if arr.d_team_only[d] else None
        if arr.d_team_only[d] and team is None:
            continue
        items.append((hi, lo, d, members, team, 1))
    for r in model.solo_rows[values[model.solo_x] > 0.5]:
        m, d = int(cands.member[r]), int(cands.demand[r])
        items.append((int(cands.last_start[r]), int(cands.first_start[r]), d, [m], None, 0))
    items.sort(key=lambda it: (it[0], it[1], -it[5], it[2]))
    placed: list[_Item] = []  # tasks this repair has placed, for re-sequencing
    for hi, lo, d, members, team, _is_crew in items:
        item = _Item(d, tuple(members), lo, hi, team)
        if d in plan.tasks or not all(tt.has_room(m, tt.use_s(m, d)) for m in members):
            continue
        if _place(plan, item) or _reorder(plan, placed, item):
            placed.append(item)


@dataclass(frozen=True)
class _Item:
    demand: int
    members: tuple[int, ...]
    lo: int  # earliest start the model allows
    hi: int  # latest start
    team: int | None


def _place(plan: Plan, item: _Item) -> bool:
    """Put the task at its members' earliest common legal start in ``[lo, hi]``."""
    arr = plan.arr
    dur = int(arr.d_duration_s[item.demand])
    ws = int(arr.d_window_start[item.demand])
    s = common_start(plan.timetable, list(item.members), item.lo, item.hi, ws, dur)
    if s is None:
        return False
    plan.assign(item.demand, Task(item.members, s, item.team))
    return True


def _reorder(plan: Plan, placed: list[_Item], new: _Item) -> bool:
    """Fit ``new`` by re-sequencing the placed tasks that share a member with it (all orders)."""
    shared = set(new.members)
    related = [it for it in placed if shared & set(it.members)]
    if len(related) > _MAX_REORDER:
        return False
    old = [(it, plan.tasks[it.demand]) for it in related]
    for it, _ in old:
        plan.unassign(it.demand)
    for order in permutations([*related, new]):
        done: list[_Item] = []
        for it in order:
            if not _place(plan, it):
                break
            done.append(it)
        if len(done) == len(related) + 1:
            return True
        for it in done:
            plan.unassign(it.demand)
    for it, task in old:
        plan.assign(it.demand, task)
    return False
