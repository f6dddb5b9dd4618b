"""The greedy construction: highest priority first, cheapest member who can still fit it.

"Fit" means time (the task's duration at a legal start) and capacity (the candidate's
``use_s``, which is the duration for dispatch problems).

It is the floor under every answer (the solver never returns worse) and the fill step after the
model's plan is repaired. It keeps every rule by construction: each task is placed at the earliest
legal start of the chosen member(s) in the current timetable.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heapify, heappop, heappush

import numpy as np

from matcher.dispatch.arrays import IntArray, ProblemArrays
from matcher.dispatch.candidates import Candidates
from matcher.dispatch.plan import Plan, Task, fairness_step

_CREW_START_TRIES = 24
_CREW_POOL = 3  # members gathered per crew seat before choosing a crew
_SOLO_COMPARE = 4  # feasible candidates compared (with fairness) before choosing


def demand_rows(cands: Candidates, n_demands: int) -> IntArray:
    """``rows[d]:rows[d+1]`` are the candidate rows of demand ``d``."""
    return np.searchsorted(cands.demand, np.arange(n_demands + 1)).astype(np.int64)


def greedy_order(
    arr: ProblemArrays, cands: Candidates, demands: IntArray, rows: IntArray | None = None
) -> IntArray:
    """Urgent first; among equals, the demand with fewer candidates and the earlier deadline.

    ``rows``: :func:`demand_rows` of ``cands``, when the caller has them (a search calls this
    in every round).
    """
    if rows is None:
        counts = np.bincount(cands.demand, minlength=arr.n_demands)[demands]
    else:
        counts = rows[demands + 1] - rows[demands]
    keys = (arr.d_window_end[demands], counts, -arr.d_priority[demands])
    return demands[np.lexsort(keys)]


def place_solo(plan: Plan, cands: Candidates, lo: int, hi: int, demand: int) -> bool:
    """Give a one-person demand to the best of its cheapest candidates that still fit.

    Rows are sorted by cost; the first few that fit are compared with their fairness step added.
    """
    arr, tt = plan.arr, plan.timetable
    dur = int(arr.d_duration_s[demand])
    ws = int(arr.d_window_start[demand])
    w_fair = arr.problem.options.weights.fairness
    use_s = cands.use_s
    best: tuple[float, int, int] | None = None
    found = 0
    for r in range(lo, hi):
        m = int(cands.member[r])
        use = int(use_s[r])
        if not tt.has_room(m, use):
            continue
        s = tt.earliest_fit(m, int(cands.first_start[r]), int(cands.last_start[r]), ws, dur)
        if s is None:
            continue
        score = float(cands.cost[r])
        if w_fair:
            score += w_fair * fairness_step(arr, m, tt.used_s[m], use)
        if best is None or score < best[0] - 1e-12:
            best = (score, m, s)
        found += 1
        if found >= _SOLO_COMPARE or not w_fair:
            break
    if best is None or best[0] >= _penalty(arr, demand):
        return False  # nobody fits, or serving costs more than leaving it out
    plan.assign(demand, Task((best[1],), best[2]))
    return True


def _penalty(arr: ProblemArrays, demand: int) -> float:
    return float(arr.problem.options.weights.unassigned * arr.d_priority[demand])


def _choose_crew(
    arr: ProblemArrays, demand: int, members: list[int], scores: dict[int, float]
) -> tuple[int, ...] | None:
    """Cover the demand's skills, then fill the crew with the cheapest; ``None`` if impossible."""
    need = int(arr.d_crew[demand])
    if len(members) < need:
        return None
    skills = arr.m_skill_bits
    missing = arr.d_skill_bits[demand]
    crew: list[int] = []
    pool = sorted(members, key=lambda m: scores[m])
    while missing:
        gains = [((skills[m] & missing).bit_count(), -scores[m], m) for m in pool if m not in crew]
        if not gains:
            return None
        best = max(gains)
        if best[0] == 0:
            return None
        crew.append(best[2])
        missing &= ~skills[best[2]]
    for m in pool:
        if len(crew) >= need:
            break
        if m not in crew:
            crew.append(m)
    if len(crew) != need:
        return None
    return tuple(crew)


def place_crew(plan: Plan, cands: Candidates, lo: int, hi: int, demand: int) -> bool:
    """Place a crew demand at the cheapest of its early common starts; ``False`` if none.

    For each tried start, members are taken in cost order until enough are free to choose a
    covering crew from (or the rows run out).
    """
    arr, tt = plan.arr, plan.timetable
    dur = int(arr.d_duration_s[demand])
    need = int(arr.d_crew[demand])
    ws = int(arr.d_window_start[demand])
    w_fair = arr.problem.options.weights.fairness
    if hi <= lo:
        return False
    first, last = cands.first_start[lo:hi], cands.last_start[lo:hi]
    # the rows as Python lists once: the loop below reads them for every tried start
    row_member = cands.member[lo:hi].tolist()
    row_use = cands.use_s[lo:hi].tolist()
    row_last = last.tolist()
    row_cost = cands.cost[lo:hi].tolist()
    team_only = bool(arr.d_team_only[demand])
    # the rows whose member has room (and, team-only, a team): the same for every tried start
    used = tt.used_s
    used_rows = np.fromiter((used[m] for m in row_member), dtype=np.int64, count=len(row_member))
    usable = used_rows + cands.use_s[lo:hi] <= arr.m_capacity_s[cands.member[lo:hi]]
    if team_only:
        teams = arr.member_teams
        usable &= np.fromiter((bool(teams[m]) for m in row_member), dtype=bool, count=len(usable))
    best: tuple[float, int, tuple[int, ...], int | None] | None = None
    starts = [int(x) for x in np.unique(first)]
    heapify(starts)
    tried: set[int] = set()
    while starts and len(tried) < _CREW_START_TRIES:
        s = heappop(starts)
        if s in tried:
            continue
        tried.add(s)
        scores: dict[int, float] = {}
        held = 0
        need_bits = arr.d_skill_bits[demand]
        for i in np.flatnonzero((first <= s) & (last >= s) & usable).tolist():
            m = row_member[i]
            use = row_use[i]
            if m in scores:
                continue
            if not tt.fits_at(m, s, dur):  # try again when this member is free
                later = tt.earliest_fit(m, s, row_last[i], ws, dur)
                if later is not None and later not in tried:
                    heappush(starts, later)
                continue
            fair = fairness_step(arr, m, tt.used_s[m], use) if w_fair else 0.0
            scores[m] = row_cost[i] + w_fair * fair
            held |= arr.m_skill_bits[m]
            covered = (held & need_bits) == need_bits
            if covered and len(scores) >= _CREW_POOL * need and not team_only:
                break
        groups: list[tuple[int | None, list[int]]]
        if arr.d_team_only[demand]:
            by_team: dict[int, list[int]] = {}
            for m in scores:
                for t in arr.member_teams[m]:
                    by_team.setdefault(t, []).append(m)
            groups = [(t, ms) for t, ms in by_team.items() if len(ms) >= need]
        else:
            groups = [(None, list(scores))]
        for team, members in groups:
            crew = _choose_crew(arr, demand, members, scores)
            if crew is None:
                continue
            total = sum(scores[m] for m in crew)
            if best is None or total < best[0] - 1e-9:
                best = (total, s, crew, team)
    if best is None or best[0] >= _penalty(arr, demand):
        return False
    plan.assign(demand, Task(best[2], best[1], best[3]))
    return True


def fill(
    plan: Plan,
    cands: Candidates,
    demands: IntArray,
    *,
    stop: Callable[[], bool] | None = None,
    rows: IntArray | None = None,
) -> None:
    """Try to place each demand (in the given order) that the plan does not serve yet.

    ``stop`` is polled every few hundred demands; the plan stays valid wherever it stops.
    ``rows``: :func:`demand_rows` of ``cands``, when the caller has them.
    """
    rows = demand_rows(cands, plan.arr.n_demands) if rows is None else rows
    for i, d in enumerate(demands):
        if stop is not None and i % 256 == 0 and stop():
            return
        d = int(d)
        if d in plan.tasks:
            continue
        lo, hi = int(rows[d]), int(rows[d + 1])
        if lo == hi:
            continue
        if plan.arr.d_crew[d] > 1:
            place_crew(plan, cands, lo, hi, d)
        else:
            place_solo(plan, cands, lo, hi, d)
