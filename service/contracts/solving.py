"""A contract's JSON problem solved to its JSON answer: one table, kind → engine.

The job worker (:mod:`service.jobs.worker`) solves every job through :func:`solve_json`, and so,
through the job runner, does every solve of the workspace (:mod:`service.jobs.solver`). The kinds
are the contracts: ``dispatch`` and ``visits`` (``shared/spec/``), ``posts``, ``groups`` and
``pairs`` (``docs/``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from service.db.jobs import JOB_KINDS

__all__ = ["KINDS", "Solved", "solve_json"]

KINDS = JOB_KINDS
"""What a job solves (the ``jobs.kind`` column's values)."""


@dataclass(frozen=True)
class Solved:
    """A solve's JSON answer, with the objective and bound its progress reports."""

    answer: dict[str, Any]
    objective: float | None
    bound: float | None


def solve_json(
    kind: str,
    problem_json: Any,
    *,
    progress: Callable[..., None] | None = None,
    visit_progress: Callable[[str, dict[str, object]], None] | None = None,
    stop: Callable[[], bool] | None = None,
    executor_for: Callable[[Any], AbstractContextManager[Executor | None]] | None = None,
    visit_workers: int = 1,
) -> Solved:
    """Load ``problem_json`` by its contract, solve it with its options, dump the answer.

    Args:
        kind: One of :data:`KINDS`.
        progress, stop: The dispatch engine's hooks (progress events, a stop request).
        executor_for: Given the loaded dispatch problem, a context giving the executor to fan
            its search out over (or ``None``).
        visit_progress, visit_workers: The visit scheduler's progress hook and routing threads.

    Raises:
        InvalidProblemError: The JSON breaks its contract.
        ValueError: An unknown kind.
    """
    if kind == "dispatch":
        from matcher.dispatch.solve import solve
        from service.contracts.dispatch import dump_answer, load_problem

        problem = load_problem(problem_json)
        fan_out = executor_for(problem) if executor_for else contextlib.nullcontext(None)
        with fan_out as executor:
            answer = solve(
                problem,
                time_limit_s=problem.options.time_limit_s,
                seed=problem.options.seed,
                workers=problem.options.workers,
                progress=progress,
                stop=stop,
                executor=executor,
            )
        return Solved(dump_answer(answer), answer.objective, answer.bound)
    if kind == "visits":
        from matcher.visits.solve import solve_visits
        from service.contracts.visits import dump_schedule, load_visit_problem

        visits = load_visit_problem(problem_json)
        schedule = solve_visits(
            visits,
            time_limit_s=visits.options.time_limit_s,
            seed=visits.options.seed,
            workers=visit_workers,
            progress=visit_progress,
        )
        return Solved(dump_schedule(schedule), schedule.stats.objective, None)
    if kind in ("posts", "groups", "pairs"):
        return _solve_longterm(kind, problem_json)
    raise ValueError(f"unknown kind {kind!r}")


def _solve_longterm(kind: str, problem_json: Any) -> Solved:
    """A long-term matching: posts, groups or hand-in-hand pairs (``docs/contracts/<kind>.md``)."""
    if kind == "posts":
        from matcher.longterm.posts.solve import solve as solve_posts
        from service.contracts import posts as contract

        answer = contract.dump_answer(solve_posts(contract.load_problem(problem_json)))
    elif kind == "groups":
        from matcher.longterm.groups.solve import solve as solve_groups
        from service.contracts import groups as groups_contract

        answer = groups_contract.dump_answer(
            solve_groups(groups_contract.load_problem(problem_json))
        )
    else:
        from matcher.longterm.pairs.solve import solve as solve_pairs
        from service.contracts import pairs as pairs_contract

        answer = pairs_contract.dump_answer(solve_pairs(pairs_contract.load_problem(problem_json)))
    stats = answer.get("stats") or {}
    return Solved(answer, _number(stats.get("objective")), _number(stats.get("bound")))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
