"""Turning the model's choices into a plan that keeps every rule.

The model decides who serves what and, for crews, in which start class; it does not order tasks
inside a free interval. Repair places crews first (their start is shared), then every member's
one-person tasks earliest-deadline-first at their earliest legal start. A task that does not fit
is released and offered again, to anyone, by the greedy fill that follows.
"""

from __future__ import annotations

import numpy as np

from matcher.arrays import ProblemArrays
from matcher.candidates import Candidates
from matcher.model import DispatchModel
from matcher.plan import Plan, Task
from matcher.timetable import Timetable, snap_up

_MAX_ROUNDS = 200


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
    """A rule-keeping plan from model values, starting from ``base`` (the pinned tasks)."""
    plan = base.copy()
    tt = plan.timetable
    for crew in model.crews:
        picked = np.flatnonzero(values[crew.y] > 0.5)
        if len(picked) == 0:
            continue
        c = int(picked[0])
        sel = (crew.x_class == c) & (values[crew.x] > 0.5)
        rows = crew.x_rows[sel]
        d = crew.demand
        members = [int(m) for m in cands.member[rows]]
        dur = int(arr.d_duration_s[d])
        if len(set(members)) != int(arr.d_crew[d]) or not all(tt.has_room(m, dur) for m in members):
            continue
        lo = max(crew.classes[c].first_start, int(cands.first_start[rows].max()))
        hi = min(crew.classes[c].last_start, int(cands.last_start[rows].min()))
        s = common_start(tt, members, lo, hi, int(arr.d_window_start[d]), dur)
        if s is None:
            continue
        team = team_of(arr, tuple(members)) if arr.d_team_only[d] else None
        if arr.d_team_only[d] and team is None:
            continue
        plan.assign(d, Task(tuple(members), s, team))

    chosen = model.solo_rows[values[model.solo_x] > 0.5]
    order = np.lexsort((cands.first_start[chosen], cands.last_start[chosen]))
    for r in chosen[order]:
        m, d = int(cands.member[r]), int(cands.demand[r])
        dur = int(arr.d_duration_s[d])
        if d in plan.tasks or not tt.has_room(m, dur):
            continue
        ws = int(arr.d_window_start[d])
        s = tt.earliest_fit(m, int(cands.first_start[r]), int(cands.last_start[r]), ws, dur)
        if s is not None:
            plan.assign(d, Task((m,), s))
    return plan
