"""A Lagrangian lower bound that scales to any district.

The LP of the assignment model is too big to solve in seconds once a district has millions of
candidate triples, so the bound comes from Lagrangian relaxation of the same relaxation: capacity
(rule 7), the time knapsack of each free interval (rule 6 relaxed) and the two fairness rows get
multipliers; what is left splits into one tiny problem per demand (serve it with its cheapest
reduced-cost option, or leave it out). Crews are relaxed further: their members need not share a
start or cover the skills, only be ``crew_size`` distinct members. Every multiplier vector gives a
valid lower bound; projected subgradient steps (Polyak step towards the best plan's objective)
raise it for as long as the time allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from matcher.arrays import FloatArray, IntArray, ProblemArrays
from matcher.candidates import Candidates
from matcher.model import interval_room_h
from matcher.plan import Plan


def lagrangian_bound(
    arr: ProblemArrays,
    cands: Candidates,
    demands: IntArray,
    pinned: Plan,
    *,
    upper: float,
    deadline: float,
    stop: Callable[[], bool] = lambda: False,
    max_iterations: int = 400,
) -> float:
    """A lower bound on the part of the objective that depends on ``demands``.

    The result counts ``w.unassigned * priority`` of those demands, their members' terms and the
    fairness of the members who could serve them (with their pinned hours), like the batch
    models of :mod:`matcher.model`. ``upper`` is the same part for a known plan.
    """
    w = arr.problem.options.weights
    co = arr.changeover_s
    in_set = np.zeros(arr.n_demands, dtype=bool)
    in_set[demands] = True
    rows = np.flatnonzero(in_set[cands.demand])
    if len(rows) == 0:
        return float(w.unassigned * arr.d_priority[demands].sum())
    member, demand = cands.member[rows], cands.demand[rows]
    bins = cands.interval[rows]
    dur_s = arr.d_duration_s[demand]
    dur_h = dur_s / 3600.0
    size_h = (dur_s + co) / 3600.0
    room_h = interval_room_h(
        arr,
        member,
        bins,
        cands.first_start[rows],
        cands.last_start[rows] + dur_s,
        pinned,
        len(arr.av_start),
    )
    pinned_h = np.array(pinned.timetable.used_s, dtype=np.float64) / 3600.0
    cap_h = arr.m_capacity_s / 3600.0
    cap_left = cap_h - pinned_h
    fair_rhs = (0.5 * cap_h - pinned_h, 0.75 * cap_h - pinned_h)
    fair_max = (w.fairness, 2.0 * w.fairness)
    penalty = w.unassigned * arr.d_priority.astype(np.float64)
    constant = float(penalty[demands].sum())

    crew = arr.d_crew[demand] > 1
    solo_rows = np.flatnonzero(~crew)
    crew_rows = np.flatnonzero(crew)
    solo_d = demand[solo_rows]
    solo_starts = np.flatnonzero(np.r_[True, solo_d[1:] != solo_d[:-1]]) if len(solo_d) else []
    solo_first_d = solo_d[solo_starts] if len(solo_d) else np.empty(0, np.int64)

    members_used = np.unique(member)
    bins_used = np.unique(bins)
    lam = np.zeros(arr.n_members)
    mu = np.zeros(len(arr.av_start))
    nu = [np.zeros(arr.n_members), np.zeros(arr.n_members)]
    cost = cands.cost[rows]

    def evaluate() -> tuple[float, FloatArray]:
        """Lagrangian value and, per row, 1 if the row is chosen in the relaxed problem."""
        rc = cost + (lam[member] + nu[0][member] + nu[1][member]) * dur_h + mu[bins] * size_h
        chosen = np.zeros(len(rows))
        value = constant
        if len(solo_rows):
            vals = rc[solo_rows] - penalty[solo_d]
            mins = np.minimum.reduceat(vals, solo_starts)
            value += float(np.minimum(mins, 0.0).sum())
            best_of_d = np.full(arr.n_demands, np.inf)
            best_of_d[solo_first_d] = mins
            hit = (vals <= best_of_d[solo_d]) & (vals < 0)
            first_hit = np.unique(solo_d[hit], return_index=True)[1]
            chosen[solo_rows[np.flatnonzero(hit)[first_hit]]] = 1.0
        if len(crew_rows):
            value += _crew_terms(arr, demand, member, crew_rows, rc, penalty, chosen)
        value -= float((lam[members_used] * cap_left[members_used]).sum())
        value -= float((mu[bins_used] * room_h[bins_used]).sum())
        for k in (0, 1):
            value -= float((nu[k][members_used] * fair_rhs[k][members_used]).sum())
        return value, chosen

    best = -np.inf
    theta, stall = 1.0, 0
    for _ in range(max_iterations):
        if time.perf_counter() >= deadline or stop():
            break
        value, chosen = evaluate()
        if value > best + 1e-9 * max(1.0, abs(best)):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 8:
                theta, stall = theta / 2.0, 0
                if theta < 1e-4:
                    break
        hours = np.bincount(member, weights=chosen * dur_h, minlength=arr.n_members)
        g_lam = hours - cap_left
        g_mu = np.bincount(bins, weights=chosen * size_h, minlength=len(arr.av_start)) - room_h
        g_nu = [hours - fair_rhs[0], hours - fair_rhs[1]]
        norm = float(
            (g_lam[members_used] ** 2).sum()
            + (g_mu[bins_used] ** 2).sum()
            + sum((g[members_used] ** 2).sum() for g in g_nu)
        )
        if norm <= 1e-12 or upper - value <= 1e-9 * max(1.0, abs(upper)):
            break
        step = theta * (upper - value) / norm
        lam = np.maximum(0.0, lam + step * g_lam)
        mu = np.maximum(0.0, mu + step * g_mu)
        for k in (0, 1):
            nu[k] = np.clip(nu[k] + step * g_nu[k], 0.0, fair_max[k])
    return float(best) if np.isfinite(best) else float(evaluate()[0])


def _crew_terms(
    arr: ProblemArrays,
    demand: IntArray,
    member: IntArray,
    crew_rows: IntArray,
    rc: FloatArray,
    penalty: FloatArray,
    chosen: FloatArray,
) -> float:
    """Each crew demand: its ``crew_size`` cheapest distinct members, if that beats leaving it."""
    d, m, v = demand[crew_rows], member[crew_rows], rc[crew_rows]
    order = np.lexsort((v, m, d))
    d, m, v, r = d[order], m[order], v[order], crew_rows[order]
    first = np.r_[True, (d[1:] != d[:-1]) | (m[1:] != m[:-1])]  # cheapest row per member
    d, m, v, r = d[first], m[first], v[first], r[first]
    order = np.lexsort((v, d))
    d, v, r = d[order], v[order], r[order]
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
    rank = np.arange(len(d)) - np.repeat(starts, np.diff(np.r_[starts, len(d)]))
    in_crew = rank < arr.d_crew[d]
    sums = np.bincount(d[in_crew], weights=v[in_crew], minlength=arr.n_demands)
    counts = np.bincount(d[in_crew], minlength=arr.n_demands)
    value = sums - penalty
    served = (counts >= arr.d_crew) & (value < 0)  # too few members: it cannot be served
    chosen[r[in_crew & served[d]]] = 1.0
    return float(value[served].sum())
