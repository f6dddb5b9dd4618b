"""``solve(problem)``: candidates, greedy floor, model per component batch, repair, answer.

:func:`solve` builds the arrays and candidates of a dispatch problem and hands them to
:func:`solve_with_candidates`, the pipeline proper. Callers that solve other assignment problems
through the engine (the generalised assignment benchmark) build candidates themselves, give each
(member, demand) pair its own cost and capacity use (:func:`matcher.dispatch.candidates.reprice`)
and call
:func:`solve_with_candidates` directly.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import timedelta
from threading import Thread

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from matcher.dispatch.answer import Answer, Assignment, Load, Stats
from matcher.dispatch.arrays import FloatArray, IntArray, ProblemArrays, build_arrays
from matcher.dispatch.bound import Lagrangian, Multipliers, Relaxation, lagrangian, reduced_costs
from matcher.dispatch.candidates import Candidates, concat, generate_candidates, shortlist
from matcher.dispatch.exact_cpsat import integral_form, run_exact
from matcher.dispatch.greedy import fill, greedy_order
from matcher.dispatch.insertion import complete
from matcher.dispatch.lns import improve, improve_batched
from matcher.dispatch.model import (
    DispatchModel,
    ModelResult,
    build_model,
    highs_input,
    hint_from_plan,
    solve_model,
    trivial_bound,
)
from matcher.dispatch.pair_terms import PairTerms
from matcher.dispatch.plan import Plan, Task, fairness_hours
from matcher.dispatch.problem import Problem
from matcher.dispatch.reasons import explain_unassigned
from matcher.dispatch.repair import repair, team_of
from matcher.geo import haversine_km

OPTIMAL_GAP = 1e-5  # "optimal": proven within 0.001 % (solver tolerances)
_BATCH_COLUMNS = 40_000
_EXACT_COLUMNS = 4_000  # batches up to this many candidate rows get the exact MIP
_EXACT_SHARE = 0.35  # at most this share of the time limit goes to bounds and exact models
_LAGRANGIAN_SHARE = 0.3  # of a large batch's bound time; the LP relaxation gets the rest
_LAGRANGIAN_SHARE_ALONE = 0.85  # when the LP is out of reach; the rest covers its last step
_SETUP_S_PER_ROW = 1e-6  # setting up a Lagrangian relaxation (0.6 s for 843k rows at M)
_LP_MAX_ROWS = 250_000  # larger batches: the LP does not solve in seconds, keep the Lagrangian
_ANSWER_RESERVE_S = 0.2
_PRICING_SHARE = 0.3  # of the time left after the construction: Lagrangian prices of large batches
_PRICING_ITERATIONS_PER_S = 12  # one worker: the prices' iterations per second of limit (M: ~2 s)
_ROUNDS_PER_S = 2  # neighbourhood rounds per second of time limit in one-worker mode
_FAN_OUT_ROUNDS_PER_S = 8  # neighbourhoods per second of time limit when they fan out
# answer building: assignments and loads per demand, and a reason for each demand left out
# (measured on 2 cores: 0.11 s at 5,000 demands / 291 left out, 2.6 s at 30,000 / 2,010 before
# the reasons looked only at a left-out demand's candidates; 1.06 s at 5,000 / 1,513 (dense M,
# a loaded machine) after; these figures keep about twice the unloaded times)
_ANSWER_S_PER_DEMAND = 5e-5
_ANSWER_S_PER_LEFT_OUT = 8e-4


@dataclass(frozen=True)
class Progress:
    """One progress event: ``phase`` and what is known so far.

    ``snapshot``, when set, builds the answer of the best plan so far (a valid, verifiable
    answer with a proven bound). Call it inside the callback only — the plan moves on after it
    returns — and not on every event: it costs about as much as building the final answer.
    """

    phase: str
    elapsed_s: float
    objective: float | None = None
    bound: float | None = None
    message: str = ""
    snapshot: Callable[[], Answer] | None = None


ProgressFn = Callable[[Progress], None]
StopFn = Callable[[], bool]


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the pipeline's time split and search; the defaults are the dispatch ones.

    Dispatch problems are sparse (a demand has a few candidate members nearby, each member a
    few tasks). Other assignment problems solved through :func:`solve_with_candidates` can be
    dense (every member a candidate for every demand), where the search needs all candidates
    of a demand (capacity, not cost, decides who can take it), smaller neighbourhoods and more
    time for the exact models.
    """

    exact_share: float = _EXACT_SHARE  # of the time limit, at most, for small exact models
    exact_columns: int = _EXACT_COLUMNS  # batches up to this many candidate rows are "small"
    shortlist_k: int = 10  # cheapest members per one-person demand in the search rows
    cluster_members: int = 12  # members whose tasks one neighbourhood frees
    max_demands: int = 60  # demands one neighbourhood frees
    adaptive: bool = False  # shrink neighbourhoods whose sub-models time out (see lns.improve)
    sub_limit_s: float | None = None  # per neighbourhood model; None: 3 s with one worker, else 1
    exact_solver: str = "highs"  # "auto": CP-SAT for small all-integer exact models
    cpsat_max_vars: int = 700  # "auto" hands models up to this many columns to CP-SAT
    batch: int = 8  # disjoint neighbourhoods per round when they fan out over an executor
    search_rounds: int | None = None  # neighbourhood budget; None: from the time limit
    keep_current: bool = True  # sub-models also offer each freed demand its current members
    pricing_share: float = _PRICING_SHARE  # of the time left, for the Lagrangian prices; 0: none
    pricing_iterations: int | None = None  # their budget; None: from the time limit, one worker


def solve(
    problem: Problem,
    *,
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
    executor: Executor | None = None,
    settings: SearchSettings | None = None,
) -> Answer:
    """Dispatch the open demands of a validated problem.

    Parameters
    ----------
    problem
        A validated problem (see :func:`matcher.dispatch.validation.validate_problem`).
    time_limit_s, seed, workers
        Override ``problem.options``. The time limit covers the whole call.
    progress
        Called with :class:`Progress` events (phases, incumbent objective, bound).
    stop
        Polled while solving; when it returns ``True`` the best plan found so far is returned.
    executor
        Fan the neighbourhood search out: its sub-models run side by side on this
        :class:`concurrent.futures.Executor` (a process pool, a Dask client's executor), in
        rounds of ``settings.batch`` disjoint neighbourhoods. The plan depends on the seed, not
        on the executor or its number of workers, while the neighbourhood budget
        (``settings.search_rounds``, by default 8 per second of time limit) and not the clock
        ends the search. Without it the search runs in this process.
    settings
        The pipeline's knobs (:class:`SearchSettings`); the defaults are the dispatch ones.

    Returns
    -------
    Answer
        Always a feasible plan (at worst the greedy one); ``bound`` is a proven lower bound.
    """
    t0 = time.perf_counter()
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    return solve_with_candidates(
        arr,
        cands,
        time_limit_s=time_limit_s,
        seed=seed,
        workers=workers,
        progress=progress,
        stop=stop,
        started_s=t0,
        executor=executor,
        settings=settings,
    )


def solve_with_candidates(
    arr: ProblemArrays,
    cands: Candidates,
    *,
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
    started_s: float | None = None,
    priced: bool = False,
    settings: SearchSettings | None = None,
    executor: Executor | None = None,
) -> Answer:
    """The solve pipeline on given candidates: greedy, exact or Lagrangian + LP + LNS, answer.

    ``cands`` are :func:`matcher.dispatch.candidates.generate_candidates` of ``arr``. With
    ``priced``, they carry per-pair costs and capacity uses of their own
    (:func:`matcher.dispatch.candidates.reprice`) and the plan counts those
    (:class:`~matcher.dispatch.pair_terms.PairTerms`) instead of the weights' member terms and
    the durations; fairness still applies to the hours used, so a caller whose costs are the
    whole objective sets its weight to zero. ``started_s`` is the ``time.perf_counter()`` at
    which the time limit started (default: now). ``settings`` default to the dispatch ones.
    ``executor``: see :func:`solve`. Other arguments as for :func:`solve`.

    The phases, in order: :func:`construct` (the greedy floor), :func:`split_demands` (the
    pinned part, components, batches), :func:`solve_small` (exact models of the small
    batches), :func:`price` (Lagrangian prices of the large batches and the greedy again at
    those prices; the search's shortlist ranks members by the prices), :class:`LargeBounds`
    (Lagrangian and LP bounds of the large ones, warm-started from the prices, beside the
    search when a second core is allowed, after it otherwise), :func:`search` (the
    neighbourhood search) and :func:`finish` (the answer and its stats).
    """
    settings = SearchSettings() if settings is None else settings
    if settings.exact_solver not in ("highs", "auto"):
        raise ValueError(f"exact_solver must be 'highs' or 'auto', got {settings.exact_solver!r}")
    run = Run.of(
        arr,
        time_limit_s=time_limit_s,
        seed=seed,
        workers=workers,
        progress=progress,
        stop=stop,
        started_s=started_s,
    )
    build_s = run.elapsed()
    run.tell("candidates", message=f"{cands.pair_count} candidate pairs")

    base = pinned_plan(arr, PairTerms.of(arr, cands) if priced else None)
    first = construct(arr, cands, base, run)
    split = split_demands(arr, cands, base, settings)
    deadline = answer_deadline(arr, run, first.plan)
    proof: Counter[str] = Counter({"fixed": 1} if split.fixed_bound else {})
    best, bound = solve_small(
        arr, cands, base, split, first, settings, run, deadline=deadline, proof=proof
    )
    best, prices = price(arr, cands, base, split, best, settings, run, deadline=deadline)
    deadline = answer_deadline(arr, run, best.plan)  # the priced plan may leave fewer out
    rank_cost = None if prices is None else prices.reduced
    rows = shortlist(arr, cands, solo_k=settings.shortlist_k, rank_cost=rank_cost)

    large = LargeBounds(
        arr, cands, base, split.large, best.plan, stop=run.stop, warm=prices, proof=proof
    )
    if run.cores > 1:
        large.start(deadline)  # beside the search; with one worker it takes the time left after
    floor = bound + sum(trivial_bound(arr, cands, d) for d in split.large)
    best, searched = search(
        arr,
        cands,
        rows,
        best,
        run,
        settings,
        deadline=deadline,
        floor=floor,
        needed=bool(split.large) or not is_closed(best.objective, bound),
        executor=executor,
    )
    bound += large.total(deadline)
    run.tell("done", objective=best.objective, bound=bound)
    return finish(
        arr,
        cands,
        best,
        bound,
        run,
        build_s=build_s,
        greedy=first,
        split=split,
        searched=searched,
        proof=proof,
    )


@dataclass(frozen=True)
class Run:
    """One solve's clock, seed, threads, stop and progress."""

    started_s: float  # time.perf_counter() at which the time limit started
    limit_s: float
    seed: int
    cores: int
    stop: StopFn
    progress: ProgressFn | None

    @staticmethod
    def of(
        arr: ProblemArrays,
        *,
        time_limit_s: float | None,
        seed: int | None,
        workers: int | None,
        progress: ProgressFn | None,
        stop: StopFn | None,
        started_s: float | None,
    ) -> Run:
        """The run of a solve call: its arguments, falling back on ``arr.problem.options``."""
        opts = arr.problem.options
        return Run(
            started_s=time.perf_counter() if started_s is None else started_s,
            limit_s=float(opts.time_limit_s if time_limit_s is None else time_limit_s),
            seed=int(opts.seed if seed is None else seed),
            cores=_cores(workers if workers is not None else opts.workers),
            stop=stop or (lambda: False),
            progress=progress,
        )

    def elapsed(self) -> float:
        return time.perf_counter() - self.started_s

    def tell(self, phase: str, **kw: object) -> None:
        """Send a :class:`Progress` event, if anyone listens."""
        if self.progress is not None:
            self.progress(Progress(phase, self.elapsed(), **kw))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Incumbent:
    """The best plan so far, its objective and the methods that made it."""

    plan: Plan
    objective: float
    method: str


@dataclass(frozen=True)
class Split:
    """The open demands of a problem as the pipeline splits them."""

    open_demands: IntArray  # not pinned
    fixed_bound: (
        float  # pinned tasks' terms plus the demands nobody can serve: no choice changes it
    )
    small: list[tuple[IntArray, int]]  # batches (demands, candidate rows) for the exact model
    large: list[IntArray]  # the other batches: Lagrangian or LP bound, search
    n_components: int


@dataclass(frozen=True)
class Searched:
    """What the neighbourhood search did."""

    search_s: float = 0.0
    neighbourhoods: int = 0
    moves: int = 0


def is_closed(objective: float, bound: float) -> bool:
    """Is the gap between a plan and a bound within :data:`OPTIMAL_GAP`?"""
    return objective - bound <= OPTIMAL_GAP * max(1.0, abs(objective))


def construct(arr: ProblemArrays, cands: Candidates, base: Plan, run: Run) -> Incumbent:
    """The greedy plan over every open demand, on top of the pinned tasks: the floor.

    A stop request does not cut it short (it takes well under a second at 5,000 demands): every
    answer, a cancelled job's too, is at least the floor, and a demand it leaves out has a reason
    that holds (no member fits, or serving costs more than leaving it out).
    """
    open_demands = np.flatnonzero(~arr.d_pinned)
    plan = base.copy()
    fill(plan, cands, greedy_order(arr, cands, open_demands))
    objective = plan.objective()
    run.tell("greedy", objective=objective)
    return Incumbent(plan, objective, "greedy")


def split_demands(
    arr: ProblemArrays, cands: Candidates, base: Plan, settings: SearchSettings
) -> Split:
    """Components of the candidate graph grouped into small (exact) and large batches."""
    labels, n_components = components(arr, cands)
    open_demands = np.flatnonzero(~arr.d_pinned)
    has_cands = np.zeros(arr.n_demands, dtype=bool)
    has_cands[cands.demand] = True
    nobody = open_demands[~has_cands[open_demands]]
    outside = float(arr.problem.options.weights.unassigned * arr.d_priority[nobody].sum())
    batches = make_batches(arr, cands, labels, open_demands[has_cands[open_demands]])
    return Split(
        open_demands=open_demands,
        fixed_bound=fixed_part(arr, cands, base) + outside,
        small=[(d, w) for d, w in batches if w <= settings.exact_columns],
        large=[d for d, w in batches if w > settings.exact_columns],
        n_components=n_components,
    )


def answer_deadline(arr: ProblemArrays, run: Run, plan: Plan) -> float:
    """When the search and bounds must end so that building the answer fits the time limit."""
    left_out = int((~plan.served & ~arr.d_pinned).sum())
    return (
        run.started_s
        + run.limit_s
        - _ANSWER_RESERVE_S
        - _ANSWER_S_PER_DEMAND * arr.n_demands
        - _ANSWER_S_PER_LEFT_OUT * left_out
    )


def solve_small(
    arr: ProblemArrays,
    cands: Candidates,
    base: Plan,
    split: Split,
    best: Incumbent,
    settings: SearchSettings,
    run: Run,
    *,
    deadline: float,
    proof: Counter[str] | None = None,
) -> tuple[Incumbent, float]:
    """Exact models of the small batches: the better plan and the bound so far (each batch
    counted in ``proof`` by how its bound was proved).

    Each batch gets a share of ``settings.exact_share`` of the time left, in proportion to its
    candidate rows; a batch out of time counts its trivial bound. The bound returned includes
    ``split.fixed_bound``.
    """
    bound = split.fixed_bound
    small = split.small
    exact_until = time.perf_counter() + settings.exact_share * max(
        0.0, deadline - time.perf_counter()
    )
    for i, (demands, weight) in enumerate(small):
        remaining = sum(w for _, w in small[i:])
        left = (exact_until - time.perf_counter()) * weight / max(1, remaining)
        model = build_model(arr, cands, demands, base)
        if run.stop() or left <= 0.02:
            bound += model.trivial_bound
            if proof is not None:
                proof["trivial"] += 1
            continue
        hint = hint_from_plan(model, arr, cands, best.plan)
        result = solve_exact(
            model,
            settings,
            time_limit_s=left,
            seed=run.seed,
            hint=hint,
            stop=run.stop,
            workers=run.cores,
        )
        bound += result.bound
        if proof is not None:
            proof["exact"] += 1
        if result.values is not None:
            trial = repair(arr, cands, model, result.values, best_without(best.plan, demands))
            fill(trial, cands, greedy_order(arr, cands, demands))
            trial_obj = trial.objective()
            if trial_obj < best.objective - 1e-9:
                best = Incumbent(trial, trial_obj, "mip")
    if small:
        run.tell(
            "bound",
            message=f"{len(small)} small components solved",
            objective=best.objective,
            bound=bound,
        )
    return best, bound


@dataclass(frozen=True)
class Prices:
    """Lagrangian prices of the large batches (the Lagrangian heuristic's)."""

    batches: list[Lagrangian]  # one per large batch, in order
    relaxations: list[Relaxation]  # their relaxations, set up once for the bounds to go on
    reduced: FloatArray  # every candidate row's reduced cost (:func:`reduced_costs`)


def price(
    arr: ProblemArrays,
    cands: Candidates,
    base: Plan,
    split: Split,
    best: Incumbent,
    settings: SearchSettings,
    run: Run,
    *,
    deadline: float,
) -> tuple[Incumbent, Prices | None]:
    """The Lagrangian heuristic: price the large batches' member hours and interval time with
    their Lagrangian multipliers, then construct again at those prices.

    The multipliers (:func:`matcher.dispatch.bound.lagrangian`, ``settings.pricing_share`` of
    the time left) make scarce members and intervals dear: the greedy at the reduced costs
    (:func:`matcher.dispatch.bound.reduced_costs`) serves each demand by whom it costs least
    to spare, then the plain greedy fills what that leaves. The better of this plan and
    ``best`` is kept; the prices warm-start the large batches' bounds.
    """
    if not split.large or settings.pricing_share <= 0 or run.stop():
        return best, None
    now = time.perf_counter()
    until = now + settings.pricing_share * max(0.0, deadline - now)
    if until - now < _SETUP_S_PER_ROW * len(cands):
        return best, None  # no time to set the relaxation up, let alone to iterate
    # one worker: an iteration budget, not the clock, ends the ascent (so a seed gives one plan
    # while the machine keeps up); the share of the time is the cap either way
    budget = settings.pricing_iterations or (
        max(1, int(_PRICING_ITERATIONS_PER_S * run.limit_s)) if run.cores == 1 else 2000
    )
    batches: list[Lagrangian] = []
    relaxations: list[Relaxation] = []
    for i, demands in enumerate(split.large):
        share = (until - time.perf_counter()) / (len(split.large) - i)
        deadline_i = time.perf_counter() + max(0.0, share)
        relaxations.append(Relaxation(arr, cands, demands, base))
        upper = best.plan.part_objective(demands)
        batches.append(
            lagrangian(
                arr,
                cands,
                demands,
                base,
                upper=upper,
                deadline=deadline_i,
                stop=run.stop,
                max_iterations=budget,
                relaxation=relaxations[-1],
            )
        )
    prices = Multipliers.zeros(arr)
    for b in batches:
        prices = prices + b.multipliers
    reduced = reduced_costs(arr, cands, prices)
    at_prices = concat([replace(cands, cost=reduced)])
    plan = base.copy()
    fill(plan, at_prices, greedy_order(arr, at_prices, split.open_demands), stop=run.stop)
    fill(plan, cands, greedy_order(arr, cands, split.open_demands), stop=run.stop)
    objective = plan.objective()
    if objective < best.objective - 1e-9:
        best = Incumbent(plan, objective, "priced")
        run.tell("improve", objective=objective, message="greedy at Lagrangian prices")
    return best, Prices(batches, relaxations, reduced)


class LargeBounds:
    """Bounds of the large batches: the Lagrangian first (fast, always there), then the LP if
    it solves in time; a batch too large for the LP gives the Lagrangian nearly its whole share.

    :meth:`start` runs them in a thread (beside the search); :meth:`total` waits for that thread,
    or runs them here when none was started, and returns their sum.
    """

    def __init__(
        self,
        arr: ProblemArrays,
        cands: Candidates,
        base: Plan,
        large: list[IntArray],
        plan: Plan,
        *,
        stop: StopFn,
        warm: Prices | None = None,
        proof: Counter[str] | None = None,
    ):
        self.arr, self.cands, self.base, self.large, self.stop = arr, cands, base, large, stop
        self.proof = proof  # each batch counted by the method whose bound it keeps
        self.warm = warm  # per batch: relaxation, multipliers and step factor to go on from
        self.uppers = [plan.part_objective(d) for d in large]  # a known plan's part, per batch
        self.values: list[float] = []
        self._thread: Thread | None = None

    def start(self, until: float) -> None:
        """Compute the bounds in a thread, to end by ``until`` (perf_counter seconds)."""
        if self.large:
            self._thread = Thread(target=self._run, args=(until,), daemon=True)
            self._thread.start()

    def total(self, until: float) -> float:
        """The sum of the batches' bounds (computed now, by ``until``, if not started)."""
        if self._thread is not None:
            self._thread.join()
        elif self.large:
            self._run(until)
        return float(sum(self.values))

    def _run(self, until: float) -> None:
        arr, cands = self.arr, self.cands
        for i, (demands, upper) in enumerate(zip(self.large, self.uppers, strict=True)):
            share = (until - time.perf_counter()) / max(1, len(self.large) - len(self.values))
            start = time.perf_counter()
            rows = int(np.isin(cands.demand, demands).sum())
            lp_fits = rows <= _LP_MAX_ROWS
            lagrangian_share = _LAGRANGIAN_SHARE if lp_fits else _LAGRANGIAN_SHARE_ALONE
            warm = None if self.warm is None else self.warm.batches[i]
            relaxation = None if self.warm is None else self.warm.relaxations[i]
            lagrangian_until = start + max(0.0, lagrangian_share * share)
            method = "lagrangian"
            if relaxation is None and lagrangian_until - start < _SETUP_S_PER_ROW * rows:
                # no time to set the relaxation up: the trivial bound, not a late answer
                value = trivial_bound(arr, cands, demands)
                method = "trivial"
            else:
                value = lagrangian(
                    arr,
                    cands,
                    demands,
                    self.base,
                    upper=upper,
                    deadline=lagrangian_until,
                    stop=self.stop,
                    start=None if warm is None else warm.multipliers,
                    theta0=1.0 if warm is None else warm.theta,
                    relaxation=relaxation,
                ).bound
            if warm is not None and warm.bound > value:
                value, method = warm.bound, "lagrangian"
            if lp_fits and start + share - time.perf_counter() > 0.5:
                model = build_model(arr, cands, demands, self.base)
                left = start + share - time.perf_counter()
                if left > 0.2 and not self.stop():
                    lp = solve_model(model, time_limit_s=left - 0.1, relax=True, stop=self.stop)
                    if lp.bound > value:
                        value, method = lp.bound, "lp"
            self.values.append(value)
            if self.proof is not None:
                self.proof[method] += 1


def search(
    arr: ProblemArrays,
    cands: Candidates,
    rows: Candidates,
    best: Incumbent,
    run: Run,
    settings: SearchSettings,
    *,
    deadline: float,
    floor: float,
    needed: bool,
    executor: Executor | None,
) -> tuple[Incumbent, Searched]:
    """The neighbourhood search from ``best`` on the shortlisted ``rows``, until ``deadline``.

    With one worker the search runs on a round budget instead of the clock (so a seed gives
    one answer); with an executor it fans out (:func:`matcher.dispatch.lns.improve_batched`).
    ``floor`` is a proven bound for the progress snapshots; ``needed``: is there a gap left?
    """
    started = time.perf_counter()
    if not needed or run.stop():
        return best, Searched()

    def snapshot_of(plan: Plan, obj: float) -> Callable[[], Answer]:
        def build() -> Answer:
            low = min(floor, obj)
            gap = (obj - low) / max(abs(obj), 1.0)
            return replace(make_answer(arr, cands, plan, obj, low, gap), status="feasible")

        return build

    def on_better(plan: Plan, obj: float) -> None:
        run.tell("improve", objective=obj, snapshot=snapshot_of(plan, obj))

    common = {
        "deadline": deadline,
        "seed": run.seed,
        "stop": run.stop,
        "on_better": on_better,
        "max_demands": settings.max_demands,
        "cluster_members": settings.cluster_members,
        "keep_current": settings.keep_current,
    }
    single = run.cores == 1
    if executor is not None:
        plan, objective, moves, hoods = improve_batched(
            arr,
            cands,
            rows,
            best.plan,
            batch=max(1, settings.batch),
            executor=executor,
            max_rounds=settings.search_rounds or max(1, int(_FAN_OUT_ROUNDS_PER_S * run.limit_s)),
            sub_limit_s=settings.sub_limit_s or 3.0,
            **common,  # type: ignore[arg-type]
        )
    else:
        plan, objective, moves, hoods = improve(
            arr,
            cands,
            rows,
            best.plan,
            max_rounds=settings.search_rounds
            or (max(1, int(_ROUNDS_PER_S * run.limit_s)) if single else None),
            sub_limit_s=settings.sub_limit_s or (3.0 if single else 1.0),
            adaptive=settings.adaptive,
            **common,  # type: ignore[arg-type]
        )
    if moves:
        best = Incumbent(
            plan, objective, best.method + ("+lns" if executor is None else "+lns/fan-out")
        )
    return best, Searched(round(time.perf_counter() - started, 4), hoods, moves)


def finish(
    arr: ProblemArrays,
    cands: Candidates,
    best: Incumbent,
    bound: float,
    run: Run,
    *,
    build_s: float,
    greedy: Incumbent,
    split: Split,
    searched: Searched,
    proof: Counter[str] | None = None,
) -> Answer:
    """The answer of the best plan with its bound, gap and stats (``proof``: how each part's
    bound was proved, :data:`matcher.dispatch.answer.BOUND_METHODS`)."""
    objective = best.objective
    if bound > objective and bound - objective <= 1e-6 * max(1.0, abs(objective)):
        bound = objective  # rounding noise only; a larger excess is a bug that verify reports
    gap = (objective - bound) / max(abs(objective), 1.0)
    answer = make_answer(arr, cands, best.plan, objective, bound, gap)
    stats = Stats(
        candidates=cands.pair_count,
        components=split.n_components,
        build_s=round(build_s, 4),
        solve_s=round(run.elapsed() - build_s, 4),
        greedy_objective=greedy.objective,
        method=best.method,
        search_s=searched.search_s,
        neighbourhoods=searched.neighbourhoods,
        moves=searched.moves,
        bound_proof={k: int(v) for k, v in sorted((proof or {}).items()) if v},
    )
    return replace(answer, stats=stats)


def solve_exact(
    model: DispatchModel,
    settings: SearchSettings,
    *,
    time_limit_s: float,
    seed: int,
    hint: np.ndarray | None,
    stop: StopFn,
    workers: int,
) -> ModelResult:
    """An exact model solved by HiGHS or, with ``exact_solver="auto"``, by CP-SAT when it is
    small and all-integer (:mod:`matcher.dispatch.exact_cpsat`); both give a plan and a proven
    bound."""
    if settings.exact_solver == "auto" and 0 < model.n_vars <= settings.cpsat_max_vars:
        inp = highs_input(model, time_limit_s=time_limit_s, seed=seed, hint=hint)
        form = integral_form(inp)
        if form is not None:
            return run_exact(inp, form, workers=workers, stop=stop)
    return solve_model(model, time_limit_s=time_limit_s, seed=seed, hint=hint, stop=stop)


def _cores(workers: int) -> int:
    """Threads the solve may use: ``workers``, or every core when it is 0."""
    return workers if workers > 0 else (os.cpu_count() or 1)


def best_without(plan: Plan, demands: IntArray) -> Plan:
    """A copy of ``plan`` with these demands taken out."""
    out = plan.copy()
    for d in demands:
        if int(d) in out.tasks:
            out.unassign(int(d))
    return out


def pinned_plan(arr: ProblemArrays, terms: PairTerms | None = None) -> Plan:
    """The plan holding only the pinned (already accepted) tasks; ``terms``: see :class:`Plan`."""
    plan = Plan(arr, terms)
    for d, demand in enumerate(arr.problem.demands):
        if demand.pinned is None:
            continue
        members = tuple(arr.member_index[m] for m in demand.pinned.members)
        team = team_of(arr, members) if demand.team_only else None
        plan.assign(d, Task(members, arr.seconds(demand.pinned.start), team))
    return plan


def fixed_part(arr: ProblemArrays, cands: Candidates, base: Plan) -> float:
    """Objective of the pinned tasks that no choice changes (their member terms; idle fairness)."""
    demands = list(base.tasks)
    total = base.task_terms(demands, [base.tasks[d] for d in demands])
    w_f = arr.problem.options.weights.fairness
    has_cols = np.zeros(arr.n_members, dtype=bool)
    has_cols[cands.member] = True
    for m in {m for task in base.tasks.values() for m in task.members}:
        if not has_cols[m]:
            hours = base.timetable.used_s[m] / 3600.0
            total += w_f * fairness_hours(hours, arr.problem.members[m].capacity_hours)
    return total


def components(arr: ProblemArrays, cands: Candidates) -> tuple[IntArray, int]:
    """Connected components of the member–demand candidate graph, as a label per demand."""
    n = arr.n_members + arr.n_demands
    graph = coo_matrix(
        (np.ones(len(cands)), (cands.member, arr.n_members + cands.demand)), shape=(n, n)
    )
    _count, labels = connected_components(graph, directed=False)
    used = np.unique(labels[arr.n_members + np.unique(cands.demand)])
    return labels[arr.n_members :], len(used)


def make_batches(
    arr: ProblemArrays, cands: Candidates, labels: IntArray, demands: IntArray
) -> list[tuple[IntArray, int]]:
    """Group whole components into batches of about ``_BATCH_COLUMNS`` candidate rows."""
    if len(demands) == 0:
        return []
    rows_per_demand = np.bincount(cands.demand, minlength=arr.n_demands)
    comp = labels[demands]
    _uniq, inverse = np.unique(comp, return_inverse=True)
    weight = np.bincount(inverse, weights=rows_per_demand[demands]).astype(np.int64)
    batches: list[tuple[IntArray, int]] = []
    current: list[int] = []
    current_w = 0
    for c in np.argsort(weight, kind="stable"):
        current.append(int(c))
        current_w += int(weight[c])
        if current_w >= _BATCH_COLUMNS:
            batches.append((demands[np.isin(inverse, current)], current_w))
            current, current_w = [], 0
    if current:
        batches.append((demands[np.isin(inverse, current)], current_w))
    return batches


def _team_name(arr: ProblemArrays, demand: int, task: Task) -> str | None:
    """The team a task names: the crew's team for team-only demands, else none."""
    if not arr.d_team_only[demand]:
        return None
    team = task.team if task.team is not None else team_of(arr, task.members)
    return None if team is None else arr.problem.teams[team].id


def make_answer(
    arr: ProblemArrays, cands: Candidates, plan: Plan, objective: float, bound: float, gap: float
) -> Answer:
    """The contract's answer for a plan.

    The plan is first :func:`~matcher.dispatch.insertion.complete` (on a copy): a demand left
    out that the plan can take at less than leaving it out is added, and the objective and gap
    are those of the completed plan. So every ``priority`` "costs more than leaving it out"
    holds, whatever stopped the search.
    """
    problem = arr.problem
    no_way: set[int] = set()
    if (~plan.served & ~arr.d_pinned).any():
        plan = plan.copy()
        if complete(plan, cands, no_way):
            objective = plan.objective()
            if bound > objective and bound - objective <= 1e-6 * max(1.0, abs(objective)):
                bound = objective
            gap = (objective - bound) / max(abs(objective), 1.0)
    assignments = []
    order = sorted(plan.tasks)
    flat_d = np.array([d for d in order for _ in plan.tasks[d].members], dtype=np.int64)
    flat_m = np.array([m for d in order for m in plan.tasks[d].members], dtype=np.int64)
    km_all = haversine_km(
        arr.m_lat[flat_m], arr.m_lon[flat_m], arr.d_lat[flat_d], arr.d_lon[flat_d]
    )
    used_h = plan.terms.use_h_array(arr, flat_m, flat_d)
    hours = np.bincount(flat_m, weights=used_h, minlength=arr.n_members)
    tasks = np.bincount(flat_m, minlength=arr.n_members)
    at = 0
    for d in order:
        task = plan.tasks[d]
        demand = problem.demands[d]
        km = km_all[at : at + len(task.members)]
        at += len(task.members)
        start = arr.origin + timedelta(seconds=task.start)
        start = start.astimezone(demand.window.start.tzinfo)
        assignments.append(
            Assignment(
                demand=demand.id,
                members=tuple(problem.members[m].id for m in task.members),
                start=start,
                end=start + timedelta(hours=demand.duration_hours),
                distance_km=tuple(round(float(k), 6) for k in km),
                team=_team_name(arr, d, task),
            )
        )
    load = tuple(
        Load(member=m.id, hours=round(float(hours[i]), 6), tasks=int(tasks[i]))
        for i, m in enumerate(problem.members)
    )
    status = "optimal" if gap <= OPTIMAL_GAP else "feasible"
    return Answer(
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        assignments=tuple(assignments),
        unassigned=tuple(explain_unassigned(arr, cands, plan, no_way=no_way)),
        load=load,
    )
