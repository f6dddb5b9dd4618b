"""The neighbourhood search fanned out over an executor: same plan whatever runs the sub-models."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from matcher.dispatch.answer import Answer
from matcher.dispatch.arrays import build_arrays
from matcher.dispatch.candidates import generate_candidates, shortlist
from matcher.dispatch.generate import generate_district
from matcher.dispatch.greedy import fill, greedy_order
from matcher.dispatch.lns import Neighbourhoods, disjoint_neighbourhoods
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import SearchSettings, pinned_plan
from tests.matcher.dispatch.conftest import SolveChecked

SETTINGS = SearchSettings(search_rounds=16, batch=4)


@pytest.fixture(scope="module")
def district() -> Problem:
    return generate_district(members=1000, demands=600, seed=11)


class FailingExecutor(Executor):
    """Every task fails, as on a worker that died."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(RuntimeError("worker lost"))
        return future


def fanned_out(solve_checked: SolveChecked, problem: Problem, executor: Executor) -> Answer:
    with executor:
        return solve_checked(
            problem, time_limit_s=30, seed=3, workers=1, executor=executor, settings=SETTINGS
        )


def plan_of(answer: Answer) -> list[tuple[str, tuple[str, ...], str]]:
    return [(a.demand, a.members, a.start.isoformat()) for a in answer.assignments]


def test_the_plan_is_the_same_on_one_thread_and_on_two_processes(
    solve_checked: SolveChecked, district: Problem
) -> None:
    one = fanned_out(solve_checked, district, ThreadPoolExecutor(1))
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
    two = fanned_out(solve_checked, district, pool)
    assert "lns" in one.stats.method  # the search moved: the comparison is not of greedy plans
    assert one.objective < one.stats.greedy_objective
    assert two.objective == one.objective
    assert plan_of(two) == plan_of(one)


def test_sub_models_whose_worker_fails_are_solved_in_the_caller_with_the_same_plan(
    solve_checked: SolveChecked, district: Problem
) -> None:
    healthy = fanned_out(solve_checked, district, ThreadPoolExecutor(2))
    failing = fanned_out(solve_checked, district, FailingExecutor())
    assert failing.objective == healthy.objective
    assert plan_of(failing) == plan_of(healthy)


def test_a_batch_holds_neighbourhoods_that_share_no_demand_and_no_member(
    district: Problem,
) -> None:
    arr = build_arrays(district)
    cands = generate_candidates(arr)
    search = shortlist(arr, cands)
    plan = pinned_plan(arr)
    fill(plan, cands, greedy_order(arr, cands, np.flatnonzero(~arr.d_pinned)))
    hoods = Neighbourhoods(arr, search, np.random.default_rng(0))
    batches = [disjoint_neighbourhoods(hoods, plan, 4, 60, 12) for _ in range(10)]
    assert max(len(picks) for picks in batches) >= 2
    for picks in batches:
        seen_demands: set[int] = set()
        seen_members: set[int] = set()
        for pick in picks:
            demands = {int(d) for d in pick.demands}
            rows = hoods.rows_of(pick.demands, pick.members)
            members = {int(m) for m in search.member[rows]}
            members |= {m for d in demands if d in plan.tasks for m in plan.tasks[d].members}
            assert members <= set(pick.footprint.tolist())
            assert not demands & seen_demands
            assert not members & seen_members
            seen_demands |= demands
            seen_members |= members
