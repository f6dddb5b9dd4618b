"""The engine on dense districts: neighbourhoods that contain the current plan."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matcher.dispatch.arrays import build_arrays
from matcher.dispatch.candidates import generate_candidates, shortlist
from matcher.dispatch.generate import generate_district
from matcher.dispatch.greedy import fill, greedy_order
from matcher.dispatch.lns import Neighbourhoods, gap_candidates
from matcher.dispatch.model import build_model, hint_from_plan
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
