"""A Lagrangian lower bound that scales to any district.

The LP of the assignment model is too big to solve in seconds once a district has millions of
candidate triples, so the bound comes from Lagrangian relaxation of the same relaxation: capacity
(rule 7), the time knapsack of each free interval (rule 6 relaxed) and the two fairness rows get
multipliers; what is left splits into one tiny problem per demand (serve it with its cheapest
reduced-cost option, or leave it out). Crews are relaxed further: their members need not share a
start or cover the skills, only be ``crew_size`` distinct members, each taking time in one of
their free intervals. Every multiplier vector gives a
valid lower bound; projected subgradient steps (Polyak step towards the best plan's objective)
raise it for as long as the time allows.

Capacity and fairness count each candidate's ``use_s`` (the duration for dispatch problems);
the interval time counts the duration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matcher.dispatch.arrays import FloatArray, IntArray, ProblemArrays
from matcher.dispatch.candidates import Candidates
from matcher.dispatch.model import interval_room_h
from matcher.dispatch.plan import Plan

_MIN_THETA = 1e-4  # the ascent stops when its step factor falls below this


@dataclass(frozen=True)
class Multipliers:
    """Prices of the relaxed rules: hours per member, interval time, fairness thresholds."""

    capacity: FloatArray  # per member, >= 0
    interval: FloatArray  # per availability interval, >= 0
    fairness: tuple[FloatArray, FloatArray]  # per member, in [0, w.fairness] and [0, 2 w.fairness]

    @staticmethod
    def zeros(arr: ProblemArrays) -> Multipliers:
        n, k = arr.n_members, len(arr.av_start)
        return Multipliers(np.zeros(n), np.zeros(k), (np.zeros(n), np.zeros(n)))

    def __add__(self, other: Multipliers) -> Multipliers:
        """Both sets of prices together (those of disjoint batches touch disjoint members)."""
        return Multipliers(
            self.capacity + other.capacity,
            self.interval + other.interval,
            (self.fairness[0] + other.fairness[0], self.fairness[1] + other.fairness[1]),
        )


@dataclass(frozen=True)
class Lagrangian:
    """A Lagrangian bound and the multipliers that give it."""

    bound: float
    multipliers: Multipliers
    iterations: int
    theta: float  # the step factor reached: a warm start (``start=multipliers``) goes on with it


def lagrangian_bound(
    arr: ProblemArrays,
    cands: Candidates,
    demands: IntArray,
    pinned: Plan,
    *,
    upper: float,
    deadline: float,
    stop: Callable[[], bool] = lambda: False,
    max_iterations: int = 2000,
    theta0: float = 1.0,
    patience: int = 8,
    start: Multipliers | None = None,
) -> float:
    """A lower bound on the part of the objective that depends on ``demands``
    (:func:`lagrangian`'s bound)."""
    return lagrangian(
        arr,
        cands,
        demands,
        pinned,
        upper=upper,
        deadline=deadline,
        stop=stop,
        max_iterations=max_iterations,
        theta0=theta0,
        patience=patience,
        start=start,
    ).bound


def lagrangian(
    arr: ProblemArrays,
    cands: Candidates,
    demands: IntArray,
    pinned: Plan,
    *,
    upper: float,
    deadline: float,
    stop: Callable[[], bool] = lambda: False,
    max_iterations: int = 2000,
    theta0: float = 1.0,
    patience: int = 8,
    start: Multipliers | None = None,
    relaxation: Relaxation | None = None,
) -> Lagrangian:
    """A lower bound on the part of the objective that depends on ``demands``, and its
    multipliers (the prices of :func:`reduced_costs`).

    The bound counts ``w.unassigned * priority`` of those demands, their members' terms and the
    fairness of the members who could serve them (with their pinned hours), like the batch
    models of :mod:`matcher.dispatch.model`. ``upper`` is the same part for a known plan.
    ``relaxation``: the :class:`Relaxation` of these demands, when the caller set it up
    already (a warm start goes on without setting it up again).
    """
    if start is None:
        start = Multipliers.zeros(arr)
    rel = Relaxation(arr, cands, demands, pinned) if relaxation is None else relaxation
    if rel.empty:
        return Lagrangian(rel.constant, start, 0, theta0)
    members_used, bins_used = rel.members_used, rel.bins_used
    w = arr.problem.options.weights
    fair_max = (w.fairness, 2.0 * w.fairness)
    lam, mu, nu = start.capacity.copy(), start.interval.copy(), [x.copy() for x in start.fairness]
    best = -np.inf
    best_at = start
    theta, stall = theta0, 0
    iterations = 0
    for _ in range(max_iterations):
        if time.perf_counter() >= deadline or stop():
            break
        value, hours, used = rel.evaluate(lam, mu, nu)
        iterations += 1
        if not np.isfinite(best) or value > best + 1e-9 * max(1.0, abs(best)):
            best, stall = value, 0
            best_at = Multipliers(lam, mu, (nu[0], nu[1]))
        else:
            stall += 1
            if stall >= patience:
                theta, stall = theta / 2.0, 0
                if theta < _MIN_THETA:
                    break
        g_lam = hours - rel.cap_left
        g_mu = used - rel.room_h
        g_nu = [hours - rel.fair_rhs[0], hours - rel.fair_rhs[1]]
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
    if not np.isfinite(best):
        best = rel.evaluate(lam, mu, nu)[0]
    return Lagrangian(float(best), best_at, iterations, theta)


class Relaxation:
    """The Lagrangian relaxation of a batch of demands: the arrays every evaluation reads, set
    up once (about as long as a few dozen evaluations at M)."""

    def __init__(self, arr: ProblemArrays, cands: Candidates, demands: IntArray, pinned: Plan):
        w = arr.problem.options.weights
        co = arr.changeover_s
        self.arr = arr
        in_set = np.zeros(arr.n_demands, dtype=bool)
        in_set[demands] = True
        rows = np.flatnonzero(in_set[cands.demand])
        penalty = w.unassigned * arr.d_priority.astype(np.float64)
        self.penalty = penalty
        self.constant = float(penalty[demands].sum())
        self.empty = len(rows) == 0
        member, demand = cands.member[rows], cands.demand[rows]
        bins = cands.interval[rows]
        dur_s = arr.d_duration_s[demand]
        use_h = cands.use_s[rows] / 3600.0  # capacity taken (the duration for dispatch problems)
        size_h = (dur_s + co) / 3600.0
        self.room_h = interval_room_h(
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
        self.cap_left = cap_h - pinned_h
        self.fair_rhs = (0.5 * cap_h - pinned_h, 0.75 * cap_h - pinned_h)

        crew = arr.d_crew[demand] > 1
        solo = np.flatnonzero(~crew)
        self.n_solo = len(solo)
        self.s_member, self.s_bins = member[solo], bins[solo]
        self.s_dur, self.s_size = use_h[solo], size_h[solo]
        s_demand = demand[solo]
        self.s_base = cands.cost[rows][solo] - penalty[s_demand]
        starts = np.flatnonzero(np.r_[True, s_demand[1:] != s_demand[:-1]]) if len(solo) else solo
        self.s_starts = starts
        self.s_seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(solo)]))
        self.crews = _CrewPairs.build(
            arr,
            demand[crew],
            member[crew],
            cands.cost[rows][crew],
            use_h[crew],
            bins[crew],
            size_h[crew],
        )
        self.members_used = np.unique(member)
        self.bins_used = np.unique(bins)

    def evaluate(
        self, lam: FloatArray, mu: FloatArray, nu: list[FloatArray]
    ) -> tuple[float, FloatArray, FloatArray]:
        """Lagrangian value, hours per member and interval use in the relaxed problem's choice."""
        arr = self.arr
        price = lam + nu[0] + nu[1]
        value = self.constant
        hours = np.zeros(arr.n_members)
        used = np.zeros(len(arr.av_start))
        if self.n_solo:
            seg = self.s_seg
            vals = self.s_base + price[self.s_member] * self.s_dur + mu[self.s_bins] * self.s_size
            mins = np.minimum.reduceat(vals, self.s_starts)
            value += float(np.minimum(mins, 0.0).sum())
            picked = _first_in_segment(np.flatnonzero((vals <= mins[seg]) & (vals < 0)), seg)
            hours += np.bincount(
                self.s_member[picked], weights=self.s_dur[picked], minlength=arr.n_members
            )
            used += np.bincount(
                self.s_bins[picked], weights=self.s_size[picked], minlength=len(arr.av_start)
            )
        value += self.crews.terms(price, mu, self.penalty, hours, used)
        mu_, bu = self.members_used, self.bins_used
        value -= float((lam[mu_] * self.cap_left[mu_]).sum())
        value -= float((mu[bu] * self.room_h[bu]).sum())
        for k in (0, 1):
            value -= float((nu[k][mu_] * self.fair_rhs[k][mu_]).sum())
        return value, hours, used


def reduced_costs(arr: ProblemArrays, cands: Candidates, prices: Multipliers) -> FloatArray:
    """Each candidate row's cost plus the prices of what it takes: its member's hours
    (capacity and fairness multipliers times ``use_h``) and its interval's time (the interval
    multiplier times duration plus changeover). The Lagrangian heuristic's cost."""
    hours = prices.capacity + prices.fairness[0] + prices.fairness[1]
    size_h = (arr.d_duration_s[cands.demand] + arr.changeover_s) / 3600.0
    return cands.cost + hours[cands.member] * cands.use_h + prices.interval[cands.interval] * size_h


def _first_in_segment(positions: IntArray, segment: IntArray) -> IntArray:
    """Of sorted positions, the first one in each segment."""
    if len(positions) == 0:
        return positions
    seg = segment[positions]
    return positions[np.r_[True, seg[1:] != seg[:-1]]]


@dataclass(frozen=True)
class _CrewPairs:
    """Crew demands relaxed to "``crew_size`` distinct members", one entry per (demand, member).

    A pair stands for its member's cheapest row at the current prices: the row's cost, its
    member's hours at the hour prices and its interval's time (duration and changeover) at the
    interval's price, so each crew member's time counts against one of the member's free
    intervals, as a one-person task's does. (Before, interval time was not priced for crews, a
    valid but weaker relaxation.)
    """

    demand: IntArray  # per pair
    member: IntArray  # per pair
    row_cost: FloatArray  # per row, rows sorted by pair
    row_dur_h: FloatArray  # capacity hours the row takes
    row_bin: IntArray  # the row's availability interval
    row_size_h: FloatArray  # interval time the row takes (duration and changeover)
    pair_starts: IntArray  # first row of each pair
    row_pair: IntArray  # the pair of each row
    row_member: IntArray  # the member of each row
    starts: IntArray  # first pair of each demand
    seats: IntArray  # crew size of each demand

    @staticmethod
    def build(
        arr: ProblemArrays,
        demand: IntArray,
        member: IntArray,
        cost: FloatArray,
        use_h: FloatArray,
        bins: IntArray,
        size_h: FloatArray,
    ) -> _CrewPairs:
        order = np.lexsort((cost, member, demand))
        d, m = demand[order], member[order]
        if len(d):
            new_pair = np.r_[True, (d[1:] != d[:-1]) | (m[1:] != m[:-1])]
        else:
            new_pair = np.empty(0, bool)
        pair_starts = np.flatnonzero(new_pair)
        row_pair = np.cumsum(new_pair) - 1
        pd, pm = d[pair_starts], m[pair_starts]
        starts = (
            np.flatnonzero(np.r_[True, pd[1:] != pd[:-1]]) if len(pd) else np.empty(0, np.int64)
        )
        seats = arr.d_crew[pd[starts]] if len(pd) else np.empty(0, np.int64)
        return _CrewPairs(
            pd,
            pm,
            cost[order],
            use_h[order],
            bins[order],
            size_h[order],
            pair_starts,
            row_pair,
            m,
            starts,
            seats,
        )

    def terms(
        self,
        price: FloatArray,
        mu: FloatArray,
        penalty: FloatArray,
        hours: FloatArray,
        used: FloatArray,
    ) -> float:
        """Sum over crew demands of min(0, cheapest crew - penalty); adds the crews' hours and
        interval time."""
        if len(self.demand) == 0:
            return 0.0
        row_vals = (
            self.row_cost
            + price[self.row_member] * self.row_dur_h
            + mu[self.row_bin] * self.row_size_h
        )
        vals = np.minimum.reduceat(row_vals, self.pair_starts)
        best_row = _first_in_segment(np.flatnonzero(row_vals <= vals[self.row_pair]), self.row_pair)
        seg = np.repeat(np.arange(len(self.starts)), np.diff(np.r_[self.starts, len(vals)]))
        counts = np.diff(np.r_[self.starts, len(vals)])
        total = np.zeros(len(self.starts))
        taken: list[IntArray] = []
        work = vals.copy()
        for seat in range(int(self.seats.max())):
            mins = np.minimum.reduceat(work, self.starts)
            active = (seat < self.seats) & np.isfinite(mins)
            total += np.where(active, mins, 0.0)
            pick = _first_in_segment(np.flatnonzero(work <= mins[seg]), seg)
            pick = pick[active[seg[pick]]]
            work[pick] = np.inf
            taken.append(pick)
        value = total - penalty[self.demand[self.starts]]
        served = (counts >= self.seats) & (value < 0)
        picked = np.concatenate([pick[served[seg[pick]]] for pick in taken])
        rows = best_row[picked]
        hours += np.bincount(
            self.member[picked], weights=self.row_dur_h[rows], minlength=len(hours)
        )
        used += np.bincount(self.row_bin[rows], weights=self.row_size_h[rows], minlength=len(used))
        return float(value[served].sum())
