"""Turning the model's choices into a plan that keeps every rule.

The model decides who serves what and, for crews, in which start class; it does not order tasks
inside a free interval. Repair places crews first (their start is shared), then every member's
one-person tasks earliest-deadline-first at their earliest legal start. A task that does not fit
is released and offered again, to anyone, by the greedy fill that follows.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from matcher.arrays import ProblemArrays
from matcher.candidates import Candidates
from matcher.model import DispatchModel
from matcher.plan import Plan, Task
from matcher.timetable import Timetable, snap_up

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
        lo = max(crew.classes[c].first_start, int(cands.first_start[rows].max()))
        hi = min(crew.classes[c].last_start, int(cands.last_start[rows].min()))
        team = team_of(arr, tuple(members)) if arr.d_team_only[d] else None
        if arr.d_team_only[d] and team is None:
            continue
        items.append((hi, lo, d, members, team, 1))
    for r in model.solo_rows[values[model.solo_x] > 0.5]:
        m, d = int(cands.member[r]), int(cands.demand[r])
        items.append((int(cands.last_start[r]), int(cands.first_start[r]), d, [m], None, 0))
    items.sort(key=lambda it: (it[0], it[1], -it[5], it[2]))
    placed: dict[
        int, list[tuple[int, int, int]]
    ] = {}  # member -> solo (demand, lo, hi) placed here
    for hi, lo, d, members, team, is_crew in items:
        dur = int(arr.d_duration_s[d])
        if d in plan.tasks or not all(tt.has_room(m, dur) for m in members):
            continue
        s = common_start(tt, members, lo, hi, int(arr.d_window_start[d]), dur)
        if s is not None:
            plan.assign(d, Task(tuple(members), s, team))
            if not is_crew:
                placed.setdefault(members[0], []).append((d, lo, hi))
        elif not is_crew and _reorder(
            plan, members[0], placed.setdefault(members[0], []), (d, lo, hi)
        ):
            placed[members[0]].append((d, lo, hi))


def _reorder(
    plan: Plan, member: int, placed: list[tuple[int, int, int]], new: tuple[int, int, int]
) -> bool:
    """Fit ``new`` by re-sequencing the member's tasks placed by this repair (few: all orders)."""
    if len(placed) >= _MAX_REORDER:
        return False
    arr, tt = plan.arr, plan.timetable
    old = [(d, plan.tasks[d]) for d, _, _ in placed]
    for d, _ in old:
        plan.unassign(d)
    tasks = [*placed, new]
    for order in permutations(tasks):
        done: list[int] = []
        for d, lo, hi in order:
            dur = int(arr.d_duration_s[d])
            s = tt.earliest_fit(member, lo, hi, int(arr.d_window_start[d]), dur)
            if s is None:
                break
            plan.assign(d, Task((member,), s))
            done.append(d)
        if len(done) == len(tasks):
            return True
        for d in done:
            plan.unassign(d)
    for d, task in old:
        plan.assign(d, task)
    return False
