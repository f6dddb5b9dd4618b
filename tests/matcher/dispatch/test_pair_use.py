"""Per-candidate capacity use and cost (``Candidates.use_h``, ``reprice``, ``PairTerms``).

Dispatch problems take a task's duration as its capacity use; other assignment problems solved
through the engine give every (member, demand) pair a use and a cost of its own. These tests
check that every part of the pipeline counts the pair's use (greedy, exact model, Lagrangian
bound + LNS on a large batch, plan bookkeeping, answer loads), and that dispatch problems solve
exactly as before (the default path and the priced path with unchanged terms agree).
"""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pytest

from matcher.dispatch.answer import Answer
from matcher.dispatch.arrays import ProblemArrays, build_arrays
from matcher.dispatch.bound import lagrangian_bound
from matcher.dispatch.candidates import Candidates, generate_candidates, reprice, shortlist
from matcher.dispatch.generate import generate_district
from matcher.dispatch.greedy import fill, greedy_order
from matcher.dispatch.model import build_model
from matcher.dispatch.pair_terms import PairTerms
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import pinned_plan, solve, solve_with_candidates
from tests.matcher.dispatch.factories import HOME, at, make_demand, make_member, make_problem

ZERO = {"distance": 0.0, "preference": 0.0, "continuity": 0.0, "reliability": 0.0}


def slot_problem(capacity_hours: list[float], n_jobs: int, *, penalty: float = 1000.0) -> Problem:
    """Members at one place free all day; job ``j`` in its own 5-minute slot (no time clash)."""
    members = [
        make_member(f"m{i}", location=HOME, skills=(), availability=((at(0), at(23, 59)),),
                    capacity_hours=cap)
        for i, cap in enumerate(capacity_hours)
    ]  # fmt: skip
    demands = []
    for j in range(n_jobs):
        start = at(0) + timedelta(minutes=5 * j)
        window = (start, start + timedelta(minutes=5))
        demands.append(
            make_demand(f"d{j}", skills=(), location=HOME, window=window, duration_hours=5 / 60,
                        priority=1)
        )  # fmt: skip
    return make_problem(
        members, demands, weights={**ZERO, "fairness": 0.0, "unassigned": penalty},
        changeover_minutes=0.0, time_step_minutes=5.0,
    )  # fmt: skip


def priced(
    problem: Problem, cost: np.ndarray, use_h: np.ndarray
) -> tuple[ProblemArrays, Candidates]:
    """Arrays and candidates with ``cost[i, j]`` and ``use_h[i, j]`` for member i, demand j."""
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    return arr, reprice(cands, cost[cands.member, cands.demand], use_h[cands.member, cands.demand])


def loads(arr: ProblemArrays, answer: Answer, use_h: np.ndarray) -> np.ndarray:
    """Capacity hours each member uses in the answer, recomputed from ``use_h``."""
    out = np.zeros(arr.n_members)
    for a in answer.assignments:
        i, j = arr.member_index[a.members[0]], arr.demand_index[a.demand]
        out[i] += use_h[i, j]
    return out


def answer_cost(arr: ProblemArrays, answer: Answer, cost: np.ndarray, penalty: float) -> float:
    served = {arr.demand_index[a.demand] for a in answer.assignments}
    total = sum(cost[arr.member_index[a.members[0]], arr.demand_index[a.demand]]
                for a in answer.assignments)  # fmt: skip
    return float(total + penalty * (arr.n_demands - len(served)))


def test_the_exact_model_counts_use_not_duration() -> None:
    """Member 0 is cheapest for every job but each job takes 2 h of its 4 h: it serves two.

    By duration (5 min each) it could serve all five; by use it can serve only two, and the
    other three go to member 1, the two cheapest moves first. The optimum is known by hand.
    """
    problem = slot_problem([4.0, 10.0], 5)
    cost = np.array([[1.0] * 5, [5.0, 4.0, 3.0, 6.0, 2.0]])
    use_h = np.array([[2.0] * 5, [1.0] * 5])
    arr, cands = priced(problem, cost, use_h)
    answer = solve_with_candidates(arr, cands, time_limit_s=5, workers=1, priced=True)
    assert answer.unassigned == ()
    assert answer.objective == pytest.approx(1 + 1 + 4 + 3 + 2)  # jobs 0, 3 to member 0
    assert answer.bound == pytest.approx(answer.objective, abs=1e-4)
    got = loads(arr, answer, use_h)
    assert got.tolist() == [4.0, 3.0]
    assert [ld.hours for ld in answer.load] == got.tolist()  # the answer reports use, not time


def test_greedy_and_bookkeeping_count_use() -> None:
    """The greedy fill stops giving jobs to a member once the pairs' uses reach its capacity."""
    problem = slot_problem([3.0, 100.0], 6)
    cost = np.array([[0.0] * 6, [10.0] * 6])
    use_h = np.array([[1.5] * 6, [0.5] * 6])
    arr, cands = priced(problem, cost, use_h)
    plan = pinned_plan(arr, PairTerms.of(arr, cands))
    fill(plan, cands, greedy_order(arr, cands, np.arange(arr.n_demands)))
    held = [d for d, task in plan.tasks.items() if task.members == (0,)]
    assert len(held) == 2 and len(plan.tasks) == 6
    assert plan.timetable.used_s == [2 * 5400, 4 * 1800]
    assert plan.objective() == pytest.approx(4 * 10.0)
    for d in held:  # taking a job off gives its use back
        plan.unassign(d)
    assert plan.timetable.used_s[0] == 0


def test_the_large_path_respects_use() -> None:
    """A batch too big for the exact model (Lagrangian, LP, search) still respects every use."""
    rng = np.random.default_rng(7)
    m, n = 20, 260  # 5200 candidate rows: more than the exact model takes
    use_h = rng.integers(5, 26, size=(m, n)).astype(float)
    cost = rng.integers(10, 51, size=(m, n)).astype(float)
    capacity = (0.8 * use_h.sum(axis=1) / m).round()
    problem = slot_problem(capacity.tolist(), n, penalty=600.0)
    arr, cands = priced(problem, cost, use_h)
    assert len(cands) == m * n
    answer = solve_with_candidates(arr, cands, time_limit_s=4, workers=1, priced=True)
    got = loads(arr, answer, use_h)
    assert (got <= capacity + 1e-9).all()
    assert answer.objective == pytest.approx(answer_cost(arr, answer, cost, 600.0))
    assert answer.bound <= answer.objective + 1e-6
    open_d = np.arange(arr.n_demands)
    base = pinned_plan(arr, PairTerms.of(arr, cands))
    lag = lagrangian_bound(arr, cands, open_d, base, upper=answer.objective,
                           deadline=time.perf_counter() + 2)  # fmt: skip
    assert lag <= answer.objective + 1e-6


def test_a_model_with_use_has_capacity_rows_in_use_hours() -> None:
    """The capacity row of a member holds each column's use, not the 5-minute duration."""
    problem = slot_problem([2.0], 3)
    cost = np.zeros((1, 3))
    use_h = np.array([[1.0, 1.5, 0.5]])
    arr, cands = priced(problem, cost, use_h)
    model = build_model(arr, cands, np.arange(3), pinned_plan(arr))
    matrix = model.builder.matrix().toarray()
    capacity_rows = [r for r, hi in enumerate(model.builder.hi) if hi == pytest.approx(2.0)]
    assert len(capacity_rows) == 1
    row = matrix[capacity_rows[0]][model.solo_x]
    assert sorted(row.tolist()) == [0.5, 1.0, 1.5]


# --- dispatch problems: unchanged ----------------------------------------------------------


@pytest.fixture(scope="module")
def district() -> Problem:
    """A small generated district that every component solves within its limits."""
    return generate_district(members=30, demands=60, seed=5)


def test_default_candidates_use_the_duration(district: Problem) -> None:
    arr = build_arrays(district)
    cands = generate_candidates(arr)
    assert np.array_equal(cands.use_h, arr.d_duration_h[cands.demand])
    assert np.array_equal(cands.use_s, arr.d_duration_s[cands.demand])
    search = shortlist(arr, cands)
    assert np.array_equal(search.use_h, arr.d_duration_h[search.demand])


def test_priced_path_with_dispatch_terms_matches_the_default(district: Problem) -> None:
    """Repricing with the candidates' own costs and durations changes nothing in the pipeline."""
    arr = build_arrays(district)
    cands = generate_candidates(arr)
    same = reprice(cands, cands.cost, cands.use_h)
    base = pinned_plan(arr)
    open_d = np.flatnonzero(~arr.d_pinned)
    a, b = base.copy(), pinned_plan(arr, PairTerms.of(arr, same))
    fill(a, cands, greedy_order(arr, cands, open_d))
    fill(b, same, greedy_order(arr, same, open_d))
    assert a.tasks == b.tasks
    assert a.timetable.used_s == b.timetable.used_s
    assert a.objective() == pytest.approx(b.objective(), abs=1e-9)
    m1, m2 = build_model(arr, cands, open_d, base), build_model(arr, same, open_d, base)
    assert (m1.builder.matrix() != m2.builder.matrix()).nnz == 0
    assert np.array_equal(np.concatenate(m1.builder.obj), np.concatenate(m2.builder.obj))


def test_solve_equals_solve_with_candidates(district: Problem) -> None:
    """``solve`` is ``solve_with_candidates`` on the generated candidates (one worker, seed 0)."""
    kw = {"time_limit_s": 10.0, "seed": 0, "workers": 1}
    one = solve(district, **kw)
    arr = build_arrays(district)
    two = solve_with_candidates(arr, generate_candidates(arr), **kw)  # type: ignore[arg-type]
    assert one.status == two.status == "optimal"
    assert one.objective == pytest.approx(two.objective, abs=1e-9)
    assert one.assignments == two.assignments
    assert one.load == two.load
    assert one.unassigned == two.unassigned
