"""Large-neighbourhood search: free a cluster of demands, re-solve it exactly-ish, keep if better.

A neighbourhood grows from a seed demand (mostly one left out) through the members who could
serve it to the demands those members hold and the left-out demands they could take. Everything
else stays fixed. The sub-model sees each member's *free gaps* between fixed tasks, so the knapsack
relaxation of rule 6 is nearly exact there, and the sub-MIP is small enough for HiGHS to solve in
a fraction of a second. Its solution is repaired against the fixed tasks and accepted only if the
plan's true objective improves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from matcher.dispatch.arrays import IntArray, ProblemArrays
from matcher.dispatch.candidates import Candidates, concat, select
from matcher.dispatch.greedy import demand_rows, fill, greedy_order
from matcher.dispatch.model import (
    DispatchModel,
    HighsInput,
    ModelResult,
    build_model,
    highs_input,
    hint_from_plan,
    run_highs,
    solve_model,
)
from matcher.dispatch.plan import Plan, Task, fairness_hours
from matcher.dispatch.repair import repair_into
from matcher.dispatch.timetable import snap_up

_MEMBER_CLUSTER_SHARE = 0.5  # rounds that free the tasks of nearby members rather than a demand's
_CLUSTER_MEMBERS = 12
_MIN_SIZE_SHARE = 0.05  # adaptive sizes shrink at most to this share of the given ones
SUB_MAX_NODES = 5_000  # branch-and-bound nodes of a fanned-out sub-model: a limit of work, not time


def gap_candidates(
    arr: ProblemArrays, cands: Candidates, rows: IntArray, base: Plan
) -> tuple[Candidates, int]:
    """Split candidate rows along the free gaps left by ``base``'s tasks; number the gaps."""
    co, step = arr.changeover_s, arr.step_s
    tt = base.timetable
    out: dict[str, list] = {k: [] for k in ("member", "demand", "interval", "first", "last", "i")}
    gap_id: dict[tuple[int, int], int] = {}
    for r in rows:
        m, d, iv = int(cands.member[r]), int(cands.demand[r]), int(cands.interval[r])
        a_lo, a_hi = int(arr.av_start[iv]), int(arr.av_end[iv])
        starts, ends = tt.starts[m], tt.ends[m]
        bounds = [a_lo - co]
        for s, e in zip(starts, ends, strict=True):
            if e > a_lo and s < a_hi:
                bounds.extend((s, e))
        bounds.append(a_hi + co)
        ws, dur = int(arr.d_window_start[d]), int(arr.d_duration_s[d])
        first, last = int(cands.first_start[r]), int(cands.last_start[r])
        for k in range(0, len(bounds), 2):
            g_lo, g_hi = bounds[k] + co, bounds[k + 1] - co  # the gap, changeovers kept clear
            lo = snap_up(max(first, g_lo), ws, step)
            hi = min(last, g_hi - dur)
            hi = ws + ((hi - ws) // step) * step
            if lo > hi:
                continue
            gid = gap_id.setdefault((m, g_lo), len(gap_id))
            for key, val in zip(out, (m, d, gid, lo, hi, int(r)), strict=True):
                out[key].append(val)
    src = np.array(out["i"], dtype=np.int64)
    sub = Candidates(
        member=np.array(out["member"], dtype=np.int64),
        demand=np.array(out["demand"], dtype=np.int64),
        interval=np.array(out["interval"], dtype=np.int64),
        first_start=np.array(out["first"], dtype=np.int64),
        last_start=np.array(out["last"], dtype=np.int64),
        distance_km=cands.distance_km[src] if len(src) else np.empty(0),
        cost=cands.cost[src] if len(src) else np.empty(0),
        use_h=cands.use_h[src] if len(src) else np.empty(0),
    )
    order = np.lexsort((sub.interval, sub.member, sub.cost, sub.demand))
    return select(sub, order), len(gap_id)


class Neighbourhoods:
    """Index of candidates by demand and by member, for growing neighbourhoods.

    ``cands`` are the search rows (a shortlist); ``full``, when given, every candidate: the
    sub-model of a neighbourhood then also offers each demand its current members
    (:meth:`pool`), whether or not the shortlist holds them.
    """

    def __init__(
        self,
        arr: ProblemArrays,
        cands: Candidates,
        rng: np.random.Generator,
        *,
        left_out_share: float = 0.5,
        full: Candidates | None = None,
    ):
        self.arr, self.cands, self.rng = arr, cands, rng
        self.full = full
        self.f_ptr = None if full is None else demand_rows(full, arr.n_demands)
        self.left_out_share = left_out_share
        self.d_ptr = np.searchsorted(cands.demand, np.arange(arr.n_demands + 1))
        self.by_member = np.argsort(cands.member, kind="stable")
        self.m_ptr = np.searchsorted(cands.member[self.by_member], np.arange(arr.n_members + 1))
        self.open = np.flatnonzero((self.d_ptr[1:] > self.d_ptr[:-1]) & ~arr.d_pinned)
        self.active = np.unique(cands.member)
        self.tree = cKDTree(arr.m_xyz[self.active]) if len(self.active) else None

    def rows_of(self, demands: IntArray, members: IntArray | None = None) -> IntArray:
        parts = [np.arange(self.d_ptr[d], self.d_ptr[d + 1]) for d in demands]
        rows = np.concatenate(parts) if parts else np.empty(0, np.int64)
        if members is not None:
            rows = rows[np.isin(self.cands.member[rows], members)]
        return rows

    def pool(
        self, demands: IntArray, members: IntArray | None, tasks: list[Task | None]
    ) -> Candidates:
        """The candidate rows a neighbourhood's sub-model offers.

        The search rows of ``demands`` (limited to ``members`` when given) and, with ``full``,
        every row of the pairs in ``tasks`` (the demands' current tasks) that those leave out:
        the sub-model then contains the current plan, so its optimum is never worse.
        """
        rows = self.rows_of(demands, members)
        picked = select(self.cands, rows)
        if self.full is None or self.f_ptr is None:
            return picked
        extra: list[IntArray] = []
        for d, task in zip(demands.tolist(), tasks, strict=True):
            if task is None:
                continue
            lo, hi = int(self.f_ptr[d]), int(self.f_ptr[d + 1])
            have = self.cands.member[self.d_ptr[d] : self.d_ptr[d + 1]]
            if members is not None:
                have = have[np.isin(have, members)]
            row_member = self.full.member[lo:hi]
            want = np.isin(row_member, task.members) & ~np.isin(row_member, have)
            if want.any():
                extra.append(lo + np.flatnonzero(want))
        if not extra:
            return picked
        return concat([picked, select(self.full, np.concatenate(extra))])

    def neighbours(self, plan: Plan, size: int, max_demands: int) -> tuple[IntArray, IntArray]:
        """Members living near a random member, with the demands they hold or could take.

        Re-solving it lets nearby members swap tasks: the moves that shorten trips and even out
        loads, which neighbourhoods grown from a left-out demand rarely make.
        """
        arr, cands, rng = self.arr, self.cands, self.rng
        if self.tree is None:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        seed = int(rng.choice(self.active))
        k = min(size, len(self.active))
        _, idx = self.tree.query(arr.m_xyz[seed], k=k)
        members = self.active[np.atleast_1d(idx)]
        chosen: list[int] = []
        for m in members:
            chosen.extend(x for x in plan.timetable.demands[int(m)] if not arr.d_pinned[x])
        held = set(chosen)
        waiting: list[int] = []
        for m in members:
            rows = self.by_member[self.m_ptr[m] : self.m_ptr[m + 1]]
            waiting.extend(
                int(x) for x in np.unique(cands.demand[rows]) if int(x) not in plan.tasks
            )
        rng.shuffle(waiting)
        for x in waiting:
            if len(held) >= max_demands:
                break
            if x not in held:
                held.add(x)
        return np.array(sorted(held), dtype=np.int64), np.sort(members)

    def grow(self, plan: Plan, max_demands: int) -> IntArray:
        """A connected cluster of open demands around a seed, mostly a left-out one."""
        arr, cands, rng = self.arr, self.cands, self.rng
        waiting = ~plan.served[self.open]
        left_out: IntArray = self.open[waiting] if len(self.open) else self.open
        if len(left_out) and rng.random() < self.left_out_share:
            weights = arr.d_priority[left_out].astype(np.float64)
            seed = int(rng.choice(left_out, p=weights / weights.sum()))
        elif len(self.open):
            seed = int(rng.choice(self.open))
        else:
            return np.empty(0, np.int64)
        chosen = {seed}
        queue = [seed]
        seen_members: set[int] = set()
        while queue and len(chosen) < max_demands:
            d = queue.pop(0)
            rows = np.arange(self.d_ptr[d], self.d_ptr[d + 1])
            members = np.unique(cands.member[rows])
            rng.shuffle(members)
            for m in members[:6]:
                m = int(m)
                if m in seen_members:
                    continue
                seen_members.add(m)
                held = [x for x in plan.timetable.demands[m] if not arr.d_pinned[x]]
                mrows = self.by_member[self.m_ptr[m] : self.m_ptr[m + 1]]
                others = np.unique(cands.demand[mrows])
                idle = [int(x) for x in others if int(x) not in plan.tasks]
                rng.shuffle(idle)
                for x in held + idle[:3]:
                    if x not in chosen and len(chosen) < max_demands:
                        chosen.add(x)
                        queue.append(x)
        return np.array(sorted(chosen), dtype=np.int64)


def improve(
    arr: ProblemArrays,
    cands: Candidates,
    search: Candidates,
    plan: Plan,
    *,
    deadline: float,
    seed: int,
    stop: Callable[[], bool],
    on_better: Callable[[Plan, float], None] | None = None,
    max_demands: int = 60,
    sub_limit_s: float = 1.0,
    max_rounds: int | None = None,
    cluster_members: int = _CLUSTER_MEMBERS,
    adaptive: bool = False,
    keep_current: bool = True,
) -> tuple[Plan, float, int, int]:
    """Improve ``plan`` until ``deadline`` (perf_counter seconds).

    Returns the plan, its objective, the moves kept and the neighbourhoods re-solved.

    Sub-models use the ``search`` rows (each demand's cheapest members); demands the repaired
    sub-solution leaves out are offered to every candidate in ``cands`` afterwards. A
    neighbourhood frees up to ``max_demands`` demands grown from a seed, or the tasks of
    ``cluster_members`` nearby members (and up to ``2 * max_demands`` demands).

    With ``adaptive``, both sizes shrink (to at least :data:`_MIN_SIZE_SHARE` of themselves)
    each time a sub-model stops at its time limit, and grow back (at most to the given sizes)
    each time one is solved to optimality within a quarter of it: in dense problems, where
    every member could serve every demand, the given sizes make sub-models too hard to solve.

    With ``keep_current`` (the default) each sub-model also offers every freed demand its
    current members (:meth:`Neighbourhoods.pool`), shortlisted or not, so that the current plan
    is a point of it (and its hint): its optimum is never worse than the plan.
    """
    rng = np.random.default_rng(seed)
    hoods = Neighbourhoods(arr, search, rng, full=cands if keep_current else None)
    c_rows = demand_rows(cands, arr.n_demands)
    best_obj = plan.objective()
    accepted = 0
    plan = plan.copy()
    rounds = 0
    share = 1.0  # of the given sizes, when adaptive
    while time.perf_counter() < deadline - 0.05 and not stop():
        if max_rounds is not None and rounds >= max_rounds:
            break
        rounds += 1
        members = None
        size_d = max(4, round(share * max_demands))
        size_m = max(2, round(share * cluster_members))
        if rng.random() < _MEMBER_CLUSTER_SHARE:
            demands, members = hoods.neighbours(plan, size_m, 2 * size_d)
        else:
            demands = hoods.grow(plan, size_d)
        if len(demands) == 0:
            break
        listed = [int(d) for d in demands]
        old = [plan.tasks.get(d) for d in listed]
        for d, task in zip(listed, old, strict=True):
            if task is not None:
                plan.unassign(d)
        pool = hoods.pool(demands, members, old)
        sub, n_gaps = gap_candidates(arr, pool, np.arange(len(pool)), plan)
        delta = None
        if len(sub):
            model = build_model(arr, sub, demands, plan, gap_bins=n_gaps)
            hint = _hint_with(model, arr, sub, plan, listed, old)
            left = deadline - time.perf_counter()
            limit_s = min(sub_limit_s, max(0.05, left))
            started = time.perf_counter()
            result = solve_model(
                model,
                time_limit_s=limit_s,
                seed=int(rng.integers(1 << 30)),
                hint=hint,
                stop=stop,
            )
            if adaptive:
                share = _next_share(share, result.status, time.perf_counter() - started, limit_s)
            if result.values is not None:
                repair_into(plan, sub, model, result.values)
                fill(plan, cands, greedy_order(arr, cands, demands, c_rows), rows=c_rows)
                new = [plan.tasks.get(d) for d in listed]
                delta = _delta(plan, listed, old, new)
        if delta is not None and delta < -1e-9:
            best_obj += delta
            accepted += 1
            if on_better is not None:
                on_better(plan, best_obj)
            continue
        for d in listed:  # undo
            if d in plan.tasks:
                plan.unassign(d)
        for d, task in zip(listed, old, strict=True):
            if task is not None:
                plan.assign(d, task)
    return plan, plan.objective(), accepted, rounds


@dataclass(frozen=True)
class _Pick:
    """A neighbourhood of a batch: its demands, the members it is limited to (or None: all of
    its demands' search rows) and its footprint (every member its re-solve may touch)."""

    demands: IntArray
    members: IntArray | None
    footprint: IntArray


@dataclass
class _Pending:
    """One neighbourhood of a batch: its demands, their tasks before, its sub-model."""

    listed: list[int]
    old: list[Task | None]
    footprint: IntArray
    sub: Candidates
    model: DispatchModel | None
    job: HighsInput | None


def improve_batched(
    arr: ProblemArrays,
    cands: Candidates,
    search: Candidates,
    plan: Plan,
    *,
    deadline: float,
    seed: int,
    stop: Callable[[], bool],
    batch: int,
    executor: Executor | None = None,
    on_better: Callable[[Plan, float], None] | None = None,
    max_demands: int = 60,
    sub_limit_s: float = 1.0,
    max_rounds: int | None = None,
    cluster_members: int = _CLUSTER_MEMBERS,
    keep_current: bool = True,
) -> tuple[Plan, float, int, int]:
    """:func:`improve` in batches of ``batch`` disjoint neighbourhoods whose sub-models are solved
    side by side on ``executor`` (inline, one after another, when it is None).

    Each batch takes neighbourhoods that share no demand and no member (neither a candidate
    of their sub-model nor a holder of their tasks), builds their sub-models against the
    current plan, solves them all, then applies them one by one in the order drawn, each kept
    only if the plan's objective improves (as :func:`improve` does). The draws, the sub-models
    and the order of application depend only on the seed, never on the executor or its
    number of workers, so a seed gives one plan whatever runs the sub-models, as long as the
    round budget (``max_rounds`` neighbourhoods), not the deadline, ends the search and no
    sub-model stops at its time limit. A sub-model whose worker fails is solved here instead.
    """
    rng = np.random.default_rng(seed)
    hoods = Neighbourhoods(arr, search, rng, full=cands if keep_current else None)
    c_rows = demand_rows(cands, arr.n_demands)
    best_obj = plan.objective()
    accepted = 0
    plan = plan.copy()
    rounds = 0
    while time.perf_counter() < deadline - 0.05 and not stop():
        budget = batch if max_rounds is None else min(batch, max_rounds - rounds)
        if budget <= 0:
            break
        picks = disjoint_neighbourhoods(hoods, plan, budget, max_demands, cluster_members)
        if not picks:
            break
        rounds += len(picks)
        dirty: set[int] = set()
        pending = [_prepare(arr, search, hoods, plan, p, rng, sub_limit_s) for p in picks]
        results = _solve_all([p.job for p in pending], executor, deadline=deadline, stop=stop)
        for item, result in zip(pending, results, strict=True):
            delta = _apply(arr, cands, c_rows, plan, item, result, dirty)
            if delta is not None and delta < -1e-9:
                best_obj += delta
                accepted += 1
                if on_better is not None:
                    on_better(plan, best_obj)
    return plan, plan.objective(), accepted, rounds


def disjoint_neighbourhoods(
    hoods: Neighbourhoods, plan: Plan, count: int, max_demands: int, cluster_members: int
) -> list[_Pick]:
    """Up to ``count`` neighbourhoods (drawn as :func:`improve` draws them) that share no demand
    and no member: re-solving one cannot change what another's sub-model assumed."""
    taken_d: set[int] = set()
    taken_m: set[int] = set()
    picks: list[_Pick] = []
    for _ in range(4 * count):
        if len(picks) >= count:
            break
        members = None
        if hoods.rng.random() < _MEMBER_CLUSTER_SHARE:
            demands, members = hoods.neighbours(plan, cluster_members, 2 * max_demands)
        else:
            demands = hoods.grow(plan, max_demands)
        if len(demands) == 0:
            continue
        rows = hoods.rows_of(demands, members)
        touched = {int(m) for m in np.unique(hoods.cands.member[rows])}
        for d in demands:
            task = plan.tasks.get(int(d))
            if task is not None:
                touched.update(task.members)
        listed = {int(d) for d in demands}
        if listed & taken_d or touched & taken_m:
            continue
        taken_d |= listed
        taken_m |= touched
        picks.append(_Pick(demands, members, np.array(sorted(touched), dtype=np.int64)))
    return picks


def _prepare(
    arr: ProblemArrays,
    search: Candidates,
    hoods: Neighbourhoods,
    plan: Plan,
    pick: _Pick,
    rng: np.random.Generator,
    sub_limit_s: float,
) -> _Pending:
    """Build one neighbourhood's sub-model against ``plan`` (its tasks taken out meanwhile)."""
    listed = [int(d) for d in pick.demands]
    old = [plan.tasks.get(d) for d in listed]
    for d, task in zip(listed, old, strict=True):
        if task is not None:
            plan.unassign(d)
    try:
        pool = hoods.pool(pick.demands, pick.members, old)
        sub, n_gaps = gap_candidates(arr, pool, np.arange(len(pool)), plan)
        sub_seed = int(rng.integers(1 << 30))  # drawn whether or not there is a model
        if len(sub) == 0:
            return _Pending(listed, old, pick.footprint, sub, None, None)
        model = build_model(arr, sub, pick.demands, plan, gap_bins=n_gaps)
        hint = _hint_with(model, arr, sub, plan, listed, old)
        job = highs_input(
            model, time_limit_s=sub_limit_s, seed=sub_seed, hint=hint, max_nodes=SUB_MAX_NODES
        )
        return _Pending(listed, old, pick.footprint, sub, model, job)
    finally:
        for d, task in zip(listed, old, strict=True):
            if task is not None:
                plan.assign(d, task)


def _solve_all(
    jobs: list[HighsInput | None],
    executor: Executor | None,
    *,
    deadline: float,
    stop: Callable[[], bool],
) -> list[ModelResult | None]:
    """Every job's result, in order; None where there was no job or the search was stopped.

    With an executor the jobs run side by side; a job whose future fails (a lost worker) is
    solved here, so the results are the same. Without one they run here, one after another.
    """
    if executor is None:
        results: list[ModelResult | None] = []
        for job in jobs:
            late = stop() or time.perf_counter() >= deadline
            results.append(None if job is None or late else run_highs(job, stop))
        return results
    futures: list[Future[ModelResult] | None] = [
        None if job is None else executor.submit(run_highs, job) for job in jobs
    ]
    live = [f for f in futures if f is not None]
    results = []
    grace_s = max((job.time_limit_s for job in jobs if job is not None), default=0.0) + 5.0
    while live:
        _done, not_done = wait_futures(live, timeout=0.05)
        live = list(not_done)
        if stop() or time.perf_counter() > deadline + grace_s:
            for f in live:
                f.cancel()
            break
    for job, future in zip(jobs, futures, strict=True):
        if job is None or future is None or not future.done() or future.cancelled():
            results.append(None)
        elif future.exception() is not None:
            results.append(run_highs(job))  # the worker failed: the same solve, here
        else:
            results.append(future.result())
    return results


def _apply(
    arr: ProblemArrays,
    cands: Candidates,
    c_rows: IntArray,
    plan: Plan,
    item: _Pending,
    result: ModelResult | None,
    dirty: set[int],
) -> float | None:
    """Put a sub-solution into ``plan`` if it improves it; the objective change kept, or None.

    ``c_rows``: :func:`~matcher.dispatch.greedy.demand_rows` of ``cands``. The demands it leaves out
    are offered to every candidate (as :func:`improve` does), also
    outside the neighbourhood's footprint; the members outside it that a kept change gives a
    task are added to ``dirty``, and a later neighbourhood of the batch whose footprint holds a
    dirty member is skipped: its sub-model assumed that member less busy.
    """
    if result is None or result.values is None or item.model is None:
        return None
    if not dirty.isdisjoint(item.footprint.tolist()):
        return None
    listed, old = item.listed, item.old
    for d, task in zip(listed, old, strict=True):
        if task is not None:
            plan.unassign(d)
    repair_into(plan, item.sub, item.model, result.values)
    demands = np.array(listed, dtype=np.int64)
    fill(plan, cands, greedy_order(arr, cands, demands, c_rows), rows=c_rows)
    new = [plan.tasks.get(d) for d in listed]
    delta = _delta(plan, listed, old, new)
    if delta < -1e-9:
        inside = set(item.footprint.tolist())
        dirty.update(m for task in new if task is not None for m in task.members if m not in inside)
        return delta
    for d in listed:  # undo
        if d in plan.tasks:
            plan.unassign(d)
    for d, task in zip(listed, old, strict=True):
        if task is not None:
            plan.assign(d, task)
    return None


def _next_share(share: float, status: str, took_s: float, limit_s: float) -> float:
    """Shrink the neighbourhood after a sub-model that timed out, grow it after a quick one."""
    if status == "optimal" and took_s < 0.25 * limit_s:
        return min(1.0, share * 1.2)
    if status != "optimal":
        return max(_MIN_SIZE_SHARE, share * 0.5)
    return share


def _hint_with(
    model: DispatchModel,
    arr: ProblemArrays,
    sub: Candidates,
    plan: Plan,
    listed: list[int],
    old: list[Task | None],
) -> np.ndarray:
    """The model point of the current tasks (put back only for the mapping, then taken out)."""
    for d, task in zip(listed, old, strict=True):
        if task is not None:
            plan.assign(d, task)
    try:
        return hint_from_plan(model, arr, sub, plan)
    finally:
        for d, task in zip(listed, old, strict=True):
            if task is not None:
                plan.unassign(d)


def _delta(plan: Plan, listed: list[int], old: list[Task | None], new: list[Task | None]) -> float:
    """Objective change from ``old`` to ``new`` tasks of the listed demands."""
    arr = plan.arr
    delta = plan.task_terms(listed, new) - plan.task_terms(listed, old)
    w_f = arr.problem.options.weights.fairness
    if w_f:
        change: dict[int, float] = {}
        terms = plan.terms
        for d, o, n in zip(listed, old, new, strict=True):
            h = float(arr.d_duration_h[d])
            for m in o.members if o is not None else ():
                change[m] = change.get(m, 0.0) - terms.use_hours(m, d, h)
            for m in n.members if n is not None else ():
                change[m] = change.get(m, 0.0) + terms.use_hours(m, d, h)
        for m, dh in change.items():
            if abs(dh) < 1e-12:
                continue
            now = plan.timetable.used_s[m] / 3600.0
            cap = float(arr.m_capacity_h[m])
            delta += w_f * (fairness_hours(now, cap) - fairness_hours(now - dh, cap))
    return delta
