"""The engine on dense districts: neighbourhoods that contain the current plan, Lagrangian
prices (multipliers, reduced costs, a shortlist ranked by them) and the priced solve."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from matcher.dispatch.arrays import IntArray, ProblemArrays, build_arrays
from matcher.dispatch.bound import Multipliers, lagrangian, reduced_costs
from matcher.dispatch.candidates import Candidates, generate_candidates, shortlist
from matcher.dispatch.generate import generate_district
from matcher.dispatch.greedy import fill, greedy_order
from matcher.dispatch.lns import Neighbourhoods, gap_candidates
from matcher.dispatch.model import build_model, hint_from_plan
from matcher.dispatch.plan import Plan
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import SearchSettings, pinned_plan
from tests.matcher.dispatch.conftest import SolveChecked


@pytest.fixture(scope="module")
def dense() -> Problem:
    """A small district with many candidates per demand, fairness off (the contract's
    objective)."""
    problem = generate_district(members=120, demands=300, seed=5)
    weights = replace(problem.options.weights, fairness=0.0)
    return problem.replace(options=replace(problem.options, weights=weights))


def test_a_neighbourhood_pool_offers_each_freed_demand_its_current_members(
    dense: Problem,
) -> None:
    """With a shortlist of one member per demand, the greedy plan uses members outside it; the
    pool of a neighbourhood adds them back, and the sub-model's hint then serves every freed
    demand the plan serves (the current plan is a point of the sub-model)."""
    arr = build_arrays(dense)
    cands = generate_candidates(arr)
    narrow = shortlist(arr, cands, solo_k=1, crew_k=(2, 1))
    plan = pinned_plan(arr)
    fill(plan, cands, greedy_order(arr, cands, np.flatnonzero(~arr.d_pinned)))
    demands = np.array(sorted(plan.tasks)[:40], dtype=np.int64)
    old = [plan.tasks.get(int(d)) for d in demands]
    hoods = Neighbourhoods(arr, narrow, np.random.default_rng(0), full=cands)
    plain = Neighbourhoods(arr, narrow, np.random.default_rng(0))

    def served_by_hint(hoods: Neighbourhoods) -> int:
        pool = hoods.pool(demands, None, old)
        for d in demands:
            plan.unassign(int(d))
        try:
            sub, n_gaps = gap_candidates(arr, pool, np.arange(len(pool)), plan)
            model = build_model(arr, sub, demands, plan, gap_bins=n_gaps)
        finally:
            for d, task in zip(demands, old, strict=True):
                assert task is not None
                plan.assign(int(d), task)
        hint = hint_from_plan(model, arr, sub, plan)
        solo = {int(sub.demand[r]) for r in model.solo_rows[hint[model.solo_x] > 0.5]}
        crews = {c.demand for c in model.crews if hint[c.y].sum() > 0.5}
        return len(solo | crews)

    assert served_by_hint(plain) < len(demands)  # the premise: the shortlist misses some
    assert served_by_hint(hoods) == len(demands)


def test_a_search_that_keeps_the_current_pairs_is_never_worse_than_the_greedy(
    solve_checked: SolveChecked, dense: Problem
) -> None:
    """One worker, a fixed round budget: both searches give verified plans no worse than the
    greedy; the one whose sub-models contain the plan keeps moves."""
    answers = {
        keep: solve_checked(
            dense,
            time_limit_s=20,
            seed=1,
            workers=1,
            settings=SearchSettings(search_rounds=12, keep_current=keep),
        )
        for keep in (False, True)
    }
    for answer in answers.values():
        assert answer.stats.greedy_objective is not None
        assert answer.objective <= answer.stats.greedy_objective + 1e-9
    assert answers[True].stats.moves > 0


def _district_parts(problem: Problem) -> tuple[ProblemArrays, Candidates, Plan, IntArray, float]:
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    base = pinned_plan(arr)
    demands = np.unique(cands.demand)
    plan = base.copy()
    fill(plan, cands, greedy_order(arr, cands, np.flatnonzero(~arr.d_pinned)))
    return arr, cands, base, demands, plan.part_objective(demands)


def test_the_lagrangian_multipliers_give_the_bound_they_come_with(dense: Problem) -> None:
    """Evaluated once more at its own multipliers, the Lagrangian gives the same bound: the
    prices the heuristic uses are the ones that proved it; a warm start never falls below."""
    arr, cands, base, demands, upper = _district_parts(dense)
    first = lagrangian(
        arr, cands, demands, base, upper=upper, deadline=time.perf_counter() + 30, max_iterations=60
    )
    assert first.iterations > 0 and first.bound <= upper
    assert float(first.multipliers.capacity.max()) > 0.0  # member hours are scarce here
    again = lagrangian(
        arr,
        cands,
        demands,
        base,
        upper=upper,
        deadline=time.perf_counter() + 30,
        max_iterations=1,
        start=first.multipliers,
    )
    assert again.bound == pytest.approx(first.bound, rel=1e-9, abs=1e-9)
    warm = lagrangian(
        arr,
        cands,
        demands,
        base,
        upper=upper,
        deadline=time.perf_counter() + 30,
        max_iterations=20,
        start=first.multipliers,
        theta0=first.theta,
    )
    assert warm.bound >= first.bound - 1e-9


def test_reduced_costs_add_the_prices_of_hours_and_interval_time(dense: Problem) -> None:
    """Zero prices leave the costs; a price on one member's hours raises exactly that member's
    rows by price times hours, and an interval's price by price times (duration + changeover)."""
    arr, cands, *_ = _district_parts(dense)
    zero = Multipliers.zeros(arr)
    np.testing.assert_array_equal(reduced_costs(arr, cands, zero), cands.cost)
    m, iv = int(cands.member[0]), int(cands.interval[-1])
    capacity = zero.capacity.copy()
    capacity[m] = 3.0
    interval = zero.interval.copy()
    interval[iv] = 2.0
    priced = reduced_costs(arr, cands, replace(zero, capacity=capacity, interval=interval))
    size_h = (arr.d_duration_s[cands.demand] + arr.changeover_s) / 3600.0
    expected = (
        cands.cost
        + np.where(cands.member == m, 3.0 * cands.use_h, 0.0)
        + np.where(cands.interval == iv, 2.0 * size_h, 0.0)
    )
    np.testing.assert_allclose(priced, expected)


def test_a_shortlist_ranked_by_reduced_cost_keeps_the_rows_and_their_costs(dense: Problem) -> None:
    """Ranked by other costs the shortlist keeps other members, but every row it keeps is a
    candidate row unchanged (true cost included), with at most ``solo_k`` members per
    one-person demand."""
    arr, cands, *_ = _district_parts(dense)
    rank = -cands.cost  # the dearest first: a ranking as different as it gets
    plain = shortlist(arr, cands, solo_k=3)
    ranked = shortlist(arr, cands, solo_k=3, rank_cost=rank)

    def key(c: Candidates) -> set[tuple[int, int, int, float]]:
        columns = (c.member.tolist(), c.demand.tolist(), c.interval.tolist(), c.cost.tolist())
        return set(zip(*columns, strict=True))

    assert key(ranked) <= key(cands)
    assert key(ranked) != key(plain)
    solo = arr.d_crew[ranked.demand] == 1
    pairs = np.unique(ranked.demand[solo] * arr.n_members + ranked.member[solo])
    assert np.bincount(pairs // arr.n_members).max() <= 3


@pytest.mark.parametrize("share", [0.0, 0.3])
def test_the_priced_solve_gives_a_verified_plan_no_worse_than_the_greedy(
    solve_checked: SolveChecked, dense: Problem, share: float
) -> None:
    """With and without the Lagrangian heuristic, on a district where hours bind (one large
    component, so the prices exist): verified plans no worse than the greedy."""
    answer = solve_checked(
        dense,
        time_limit_s=20,
        seed=2,
        workers=1,
        settings=SearchSettings(search_rounds=8, pricing_share=share, exact_columns=100),
    )
    assert answer.stats.greedy_objective is not None
    assert answer.objective <= answer.stats.greedy_objective + 1e-9


def test_with_one_worker_the_priced_solve_gives_one_plan_per_seed(
    solve_checked: SolveChecked, dense: Problem
) -> None:
    """The prices' ascent runs on an iteration budget and the search on a round budget, so two
    priced solves with one seed and one worker agree on every assignment and the objective."""
    settings = SearchSettings(search_rounds=6, pricing_iterations=40, exact_columns=100)
    first, second = (
        solve_checked(dense, time_limit_s=30, seed=4, workers=1, settings=settings)
        for _ in range(2)
    )
    assert first.assignments == second.assignments
    assert first.unassigned == second.unassigned
    assert first.objective == second.objective
