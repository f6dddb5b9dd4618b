"""``matcher.dispatch.solve.solve`` at the edges: empty inputs, pins only, time limits, stop,
progress.

Every solve goes through ``solve_checked`` (verifier, recomputed objective, bound <= objective).
"""

from __future__ import annotations

import math
import time

import pytest

from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import Progress
from tests.matcher.dispatch.conftest import SolveChecked
from tests.matcher.dispatch.factories import (
    HOME,
    at,
    make_demand,
    make_member,
    make_problem,
    north_of,
)

PHASES = ("candidates", "greedy", "bound", "improve", "done")


@pytest.fixture(scope="module")
def district() -> Problem:
    """A small generated district whose search does not end before a short time limit."""
    return generate_district(members=100, demands=250, seed=2)


def test_empty_demand_list(solve_checked: SolveChecked) -> None:
    """No demands: nothing assigned or left out, objective 0, proven optimal."""
    answer = solve_checked(make_problem([make_member("m1")], []), time_limit_s=1)
    assert answer.assignments == () and answer.unassigned == ()
    assert answer.objective == 0.0 and answer.bound == 0.0
    assert answer.status == "optimal"
    assert [(x.member, x.hours, x.tasks) for x in answer.load] == [("m1", 0.0, 0)]


def test_no_members_and_no_demands(solve_checked: SolveChecked) -> None:
    """An empty problem solves to an empty, optimal answer."""
    answer = solve_checked(make_problem([], []), time_limit_s=1)
    assert answer.assignments == () and answer.unassigned == () and answer.load == ()
    assert answer.objective == 0.0
    assert answer.status == "optimal"


def test_no_members_leaves_every_demand_out_for_lack_of_skills(
    solve_checked: SolveChecked,
) -> None:
    """Without members the problem is valid: every demand is left out as ``no_skill``."""
    problem = make_problem([], [make_demand("d1"), make_demand("d2", crew_size=2)])
    answer = solve_checked(problem, time_limit_s=1)
    assert answer.assignments == ()
    assert [u.reason for u in answer.unassigned] == ["no_skill", "no_skill"]
    assert answer.status == "optimal"


def test_crew_larger_than_the_community_is_left_out(solve_checked: SolveChecked) -> None:
    """A crew of 3 with 2 members is a valid request nobody can field: left out, not rejected."""
    members = [make_member("m1"), make_member("m2")]
    answer = solve_checked(make_problem(members, [make_demand("d1", crew_size=3)]), time_limit_s=1)
    assert answer.assignments == ()
    assert answer.unassigned[0].reason == "out_of_range"
    assert "crew of 3" in answer.unassigned[0].detail


def test_nobody_can_serve_leaves_every_demand_out(solve_checked: SolveChecked) -> None:
    """Members who can serve nothing: every demand is unassigned, objective Σ 100·priority."""
    member = make_member("m1", location=north_of(HOME, 20.0))
    demands = [make_demand("d1", priority=2), make_demand("d2", priority=5)]
    answer = solve_checked(make_problem([member], demands), time_limit_s=1)
    assert answer.assignments == ()
    assert [u.demand for u in answer.unassigned] == ["d1", "d2"]
    assert answer.objective == pytest.approx(700.0)
    assert answer.status == "optimal"


def test_all_demands_pinned(solve_checked: SolveChecked) -> None:
    """Only pinned demands: the answer is exactly the pins, proven optimal (bound = objective)."""
    members = [make_member("m1"), make_member("m2", location=north_of(HOME, 3.0))]
    demands = [
        make_demand("d1", window=(at(9), at(12)), pinned=(["m2"], at(9, 10))),
        make_demand("d2", window=(at(9), at(12)), crew_size=2, pinned=(["m1", "m2"], at(10, 40))),
    ]
    answer = solve_checked(make_problem(members, demands), time_limit_s=1)
    got = {a.demand: (set(a.members), a.start) for a in answer.assignments}
    assert got == {"d1": ({"m2"}, at(9, 10)), "d2": ({"m1", "m2"}, at(10, 40))}
    assert answer.unassigned == ()
    assert answer.objective == pytest.approx(2.0 + 1.0 + 2.0)
    assert answer.bound == pytest.approx(answer.objective)
    assert answer.status == "optimal"


def test_tiny_time_limit_still_returns_a_verified_plan(
    solve_checked: SolveChecked, district: Problem
) -> None:
    """time_limit_s = 0.05 on a district: a verified plan, feasible or optimal, returned fast."""
    started = time.perf_counter()
    answer = solve_checked(district, time_limit_s=0.05)
    elapsed = time.perf_counter() - started
    assert answer.status in ("feasible", "optimal")
    assert answer.assignments, "the greedy floor serves some demands"
    assert elapsed < 1.0


def test_stop_at_once_still_returns_a_verified_plan(
    solve_checked: SolveChecked, district: Problem
) -> None:
    """A stop callback returning True immediately: a verified plan, returned long before the
    time limit."""
    started = time.perf_counter()
    answer = solve_checked(district, time_limit_s=30, stop=lambda: True)
    elapsed = time.perf_counter() - started
    assert answer.status in ("feasible", "optimal")
    assert answer.assignments
    assert elapsed < 2.0


def test_time_limit_covers_the_whole_call(solve_checked: SolveChecked, district: Problem) -> None:
    """A 1.5 s limit: the call returns within the limit plus a small margin."""
    started = time.perf_counter()
    solve_checked(district, time_limit_s=1.5)
    assert time.perf_counter() - started < 1.5 + 0.5


def test_progress_phases_in_order(solve_checked: SolveChecked, district: Problem) -> None:
    """Progress events start with 'candidates', end with 'done', follow the phase order, have
    non-decreasing times, and the last one carries the answer's objective."""
    events: list[Progress] = []
    answer = solve_checked(district, time_limit_s=1.5, progress=events.append)
    phases = [e.phase for e in events]
    assert phases[0] == "candidates" and phases[-1] == "done"
    assert phases.count("done") == 1 and phases.count("candidates") == 1
    assert set(phases) <= set(PHASES)
    ranks = [PHASES.index(p) for p in phases]
    assert ranks == sorted(ranks), phases
    times = [e.elapsed_s for e in events]
    assert times == sorted(times)
    assert events[-1].objective == pytest.approx(answer.objective)


def test_progress_reports_the_exact_model_on_a_small_problem(solve_checked: SolveChecked) -> None:
    """A small problem goes through the exact model: a 'bound' event between greedy and done."""
    members = [make_member("m1"), make_member("m2", location=north_of(HOME, 2.0))]
    demands = [make_demand("d1", window=(at(9), at(10))), make_demand("d2", window=(at(9), at(10)))]
    events: list[Progress] = []
    solve_checked(make_problem(members, demands), time_limit_s=2, progress=events.append)
    assert [e.phase for e in events] == ["candidates", "greedy", "bound", "done"]


def test_tiny_problem_is_proven_optimal_quickly(solve_checked: SolveChecked) -> None:
    """One crew demand and three members: the exact model settles it, so the answer is
    'optimal' and the call returns long before a 3 s limit."""
    members = [
        make_member("m1", skills=["elderly_care"]),
        make_member("m2", skills=["elderly_care"]),
        make_member("m3", location=north_of(HOME, 3.0), skills=["mediation"]),
    ]
    demand = make_demand("d1", skills=["elderly_care", "mediation"], crew_size=2)
    started = time.perf_counter()
    answer = solve_checked(make_problem(members, [demand]), time_limit_s=3)
    elapsed = time.perf_counter() - started
    assert answer.objective == pytest.approx(3.0)
    assert answer.status == "optimal", (answer.objective, answer.bound, answer.gap)
    assert elapsed < 2.0


@pytest.mark.slow
def test_generated_district_verifies_with_a_finite_bound(solve_checked: SolveChecked) -> None:
    """A generated district (200 members, 500 demands, 5 s): verified, with a finite bound no
    higher than the objective and a non-negative gap."""
    problem = generate_district(members=200, demands=500, seed=1)
    answer = solve_checked(problem, time_limit_s=5)
    assert math.isfinite(answer.bound)
    assert answer.bound <= answer.objective + 1e-6
    assert answer.gap >= 0.0
    assert answer.gap == pytest.approx(
        (answer.objective - answer.bound) / max(abs(answer.objective), 1.0), abs=1e-9
    )
    served = len(answer.assignments)
    assert served + len(answer.unassigned) == len(problem.demands)
    assert served > len(problem.demands) // 2
