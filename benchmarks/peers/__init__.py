"""The peers measured side by side: one function per peer, one registry.

Each peer takes a validated problem, a time limit, a seed and the best bound known so far (the
LP bound, when the run measured it first) and returns a :class:`PeerOutcome`. Peers that make a
plan return it as the contract's :class:`~matcher.dispatch.answer.Answer`; the harness verifies it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.answers import answer_from_plan, plan_from_tasks, trivial_bound
from matcher.dispatch.answer import Answer
from matcher.dispatch.arrays import build_arrays
from matcher.dispatch.candidates import generate_candidates
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import pinned_plan, solve


@dataclass(frozen=True)
class PeerOutcome:
    """What one peer produced on one instance.

    ``answer`` is ``None`` when the peer makes no plan (``lp``) or found none in time.
    ``bound`` is the peer's *own* proven lower bound (``None`` when it proves none).
    """

    status: str
    answer: Answer | None
    bound: float | None
    build_s: float
    solve_s: float
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


PeerFn = Callable[[Problem, float | None, int, float | None], PeerOutcome]


def _answer_bound(own: float | None, known: float | None, fallback: Callable[[], float]) -> float:
    """The bound written into a peer's answer: the best proven one at hand."""
    found = [b for b in (own, known) if b is not None and math.isfinite(b)]
    return max(found) if found else fallback()


def run_linli(problem: Problem, limit: float | None, seed: int, known: float | None) -> PeerOutcome:
    """Linli itself: :func:`matcher.dispatch.solve.solve` on all cores; the limit covers everything.

    The search is single-threaded; a second core only computes the bound beside it. (With
    ``workers=1`` Linli runs its deterministic round budget instead of using the whole limit.)
    """
    t0 = time.perf_counter()
    answer = solve(problem, time_limit_s=limit, seed=seed, workers=0)
    wall = time.perf_counter() - t0
    stats = answer.stats
    return PeerOutcome(
        answer.status,
        answer,
        answer.bound,
        stats.build_s,
        stats.solve_s,
        wall,
        {
            "method": stats.method,
            "candidates": stats.candidates,
            "components": stats.components,
            "greedy_objective": stats.greedy_objective,
        },
    )


def run_greedy(
    problem: Problem, limit: float | None, seed: int, known: float | None
) -> PeerOutcome:
    """The dispatcher's greedy (:mod:`benchmarks.peers.greedy`); it proves no bound."""
    from benchmarks.peers.greedy import dispatch_greedy

    t0 = time.perf_counter()
    tasks = dispatch_greedy(problem)
    solve_s = time.perf_counter() - t0
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    plan = plan_from_tasks(arr, [(t.demand, t.members, t.start, t.team) for t in tasks])
    bound = _answer_bound(None, known, lambda: trivial_bound(arr, cands))
    answer = answer_from_plan(arr, cands, plan, bound)
    return PeerOutcome(answer.status, answer, None, 0.0, solve_s, solve_s)


def run_cpsat(problem: Problem, limit: float | None, seed: int, known: float | None) -> PeerOutcome:
    """The plain CP-SAT model over every candidate triple (:mod:`benchmarks.peers.cpsat`)."""
    from benchmarks.peers.cpsat import solve_cpsat

    t0 = time.perf_counter()
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    base = pinned_plan(arr)
    prep_s = time.perf_counter() - t0
    res = solve_cpsat(arr, cands, base, time_limit_s=60.0 if limit is None else limit, seed=seed)
    extra = {
        "model_objective": res.model_objective,
        "variables": res.variables,
        "constraints": res.constraints,
        "solver_status": res.status,
    }
    answer = None
    if res.plan is not None:
        bound = _answer_bound(res.bound, known, lambda: trivial_bound(arr, cands))
        answer = answer_from_plan(arr, cands, res.plan, bound)
    wall = time.perf_counter() - t0
    status = res.status if answer is None else answer.status
    return PeerOutcome(status, answer, res.bound, prep_s + res.build_s, res.solve_s, wall, extra)


def _run_model(
    problem: Problem, limit: float | None, seed: int, known: float | None, *, relax: bool
) -> PeerOutcome:
    from benchmarks.peers.mip import solve_mip

    t0 = time.perf_counter()
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    base = pinned_plan(arr)
    prep_s = time.perf_counter() - t0
    res = solve_mip(
        arr, cands, base, time_limit_s=60.0 if limit is None else limit, seed=seed, relax=relax
    )
    extra: dict[str, Any] = {
        "model_objective": res.model_objective,
        "variables": res.variables,
        "constraints": res.constraints,
        "solver_status": res.status,
    }
    answer = None
    if res.plan is not None:
        extra["repair_dropped"] = res.dropped
        bound = _answer_bound(res.bound, known, lambda: trivial_bound(arr, cands))
        answer = answer_from_plan(arr, cands, res.plan, bound)
    wall = time.perf_counter() - t0
    status = res.status if answer is None else answer.status
    return PeerOutcome(status, answer, res.bound, prep_s + res.build_s, res.solve_s, wall, extra)


def run_mip(problem: Problem, limit: float | None, seed: int, known: float | None) -> PeerOutcome:
    """The engine's model solved whole by HiGHS, repaired into a plan (:mod:`.mip`)."""
    return _run_model(problem, limit, seed, known, relax=False)


def run_lp(problem: Problem, limit: float | None, seed: int, known: float | None) -> PeerOutcome:
    """The LP relaxation of that model: a bound, no plan."""
    return _run_model(problem, limit, seed, known, relax=True)


PEERS: dict[str, PeerFn] = {
    "lp": run_lp,
    "linli": run_linli,
    "greedy": run_greedy,
    "cpsat": run_cpsat,
    "mip": run_mip,
}
"""Every peer by name, in the order a run measures them (the LP bound first)."""

TIMED_PEERS = frozenset({"linli", "cpsat", "mip"})
"""Peers that take a time limit (``greedy`` needs none; ``lp`` has its own limit)."""
