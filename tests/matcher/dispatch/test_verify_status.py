"""The verifier's status, bound, gap and load checks, each on an answer made bad by hand from a
real solve that the verifier accepts.

``optimal`` exactly when the gap is at most the README's 1e-5; ``no_solution`` only without a
plan; a bound above the objective of a plan one change away is no lower bound; ``load`` lists
every member, idle ones at 0 h.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from matcher.dispatch.answer import Answer, Load, Unassigned
from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from matcher.dispatch.reason_check import Improvement, ReasonChecker, better_plan
from matcher.dispatch.solve import solve
from matcher.dispatch.verify import (
    OPTIMAL_GAP_TOL,
    Violation,
    check_assignments,
    recompute_objective,
    verify,
)
from tests.matcher.dispatch.conftest import SolveChecked
from tests.matcher.dispatch.factories import (
    HOME,
    make_assignment,
    make_demand,
    make_member,
    make_problem,
    north_of,
)

LIMIT = 2.0


def rules_of(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def two_member_problem() -> Problem:
    """d1 and d2 near m1 (1 km); m2 lives 3 km away; m3 is never needed (idle)."""
    members = [
        make_member("m1"),
        make_member("m2", location=north_of(HOME, 4.0)),
        make_member("m3", location=north_of(HOME, 4.5)),
    ]
    demands = [make_demand("d1"), make_demand("d2", location=north_of(HOME, 1.2))]
    return make_problem(members, demands)


def optimal_answer(solve_checked: SolveChecked) -> tuple[Problem, Answer]:
    problem = two_member_problem()
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert answer.status == "optimal" and answer.gap <= OPTIMAL_GAP_TOL
    return problem, answer


def with_bound(answer: Answer, bound: float) -> Answer:
    """The answer with another bound and the gap that follows from it."""
    return replace(
        answer, bound=bound, gap=(answer.objective - bound) / max(abs(answer.objective), 1.0)
    )


def test_a_worse_plan_labelled_optimal_is_caught(solve_checked: SolveChecked) -> None:
    """d1 moved from m1 (1 km) to m2 (3 km), objective recomputed, bound = objective, gap 0,
    status optimal: every rule holds, but giving d1 back to m1 beats the bound."""
    problem, answer = optimal_answer(solve_checked)
    moved = [
        make_assignment(problem, a.demand, ["m2"], a.start) if a.demand == "d1" else a
        for a in answer.assignments
    ]
    worse = replace(answer, assignments=tuple(moved))
    objective = recompute_objective(problem, worse)
    assert objective > answer.objective + 1.0
    hours = {m: (0.0, 0) for m in ("m1", "m2", "m3")}
    for a in moved:
        (mid,) = a.members
        hours[mid] = (hours[mid][0] + 1.0, hours[mid][1] + 1)
    worse = replace(
        worse,
        objective=objective,
        bound=objective,
        gap=0.0,
        load=tuple(Load(m, h, n) for m, (h, n) in hours.items()),
    )
    violations = verify(problem, worse)
    assert rules_of(violations) == {"bound"}, violations
    assert "giving 'd1' to 'm1'" in violations[0].message


def test_a_bound_below_every_plan_change_passes(solve_checked: SolveChecked) -> None:
    """The same optimal plan with a lower (weaker) bound and status feasible passes."""
    problem, answer = optimal_answer(solve_checked)
    weaker = replace(with_bound(answer, answer.objective - 10.0), status="feasible")
    assert verify(problem, weaker) == []


def test_a_dropped_task_with_bound_equal_objective_is_caught(solve_checked: SolveChecked) -> None:
    """Leaving d2 out of the optimal plan (reason priority, as the engine would write it) and
    calling the result optimal: serving d2 again beats the claimed bound."""
    problem, answer = optimal_answer(solve_checked)
    kept = tuple(a for a in answer.assignments if a.demand != "d2")
    worse = replace(
        answer,
        assignments=kept,
        unassigned=(Unassigned("d2", "priority", "outranked"),),
        load=tuple(
            Load(m.id, 1.0 if m.id == "m1" else 0.0, int(m.id == "m1")) for m in problem.members
        ),
    )
    objective = recompute_objective(problem, worse)
    worse = replace(worse, objective=objective, bound=objective, gap=0.0)
    assert "bound" in rules_of(verify(problem, worse))


def test_no_solution_with_a_full_plan_is_caught(solve_checked: SolveChecked) -> None:
    """The optimal answer relabelled no_solution is a status violation (and nothing else)."""
    problem, answer = optimal_answer(solve_checked)
    assert rules_of(verify(problem, replace(answer, status="no_solution"))) == {"status"}


def test_feasible_at_gap_zero_is_caught(solve_checked: SolveChecked) -> None:
    """The optimal answer (gap 0) relabelled feasible is a status violation: a plan proven
    within the tolerance is optimal."""
    problem, answer = optimal_answer(solve_checked)
    assert rules_of(verify(problem, replace(answer, status="feasible"))) == {"status"}


def test_optimal_above_the_tolerance_is_caught(solve_checked: SolveChecked) -> None:
    """optimal with a gap of 5e-5 (which the former 1e-4 tolerance let pass) is a status
    violation; at 5e-6 it passes."""
    problem, answer = optimal_answer(solve_checked)
    assert rules_of(verify(problem, with_bound(answer, answer.objective * (1 - 5e-5)))) == {
        "status"
    }
    assert verify(problem, with_bound(answer, answer.objective * (1 - 5e-6))) == []


def test_load_missing_an_idle_member_is_caught(solve_checked: SolveChecked) -> None:
    """The engine lists the idle m3 at 0 h; dropping that entry is a load violation naming m3."""
    problem, answer = optimal_answer(solve_checked)
    idle = [e for e in answer.load if e.tasks == 0]
    assert "m3" in {e.member for e in idle}
    short = replace(answer, load=tuple(e for e in answer.load if e.member != "m3"))
    violations = verify(problem, short)
    assert [(v.rule, v.member) for v in violations] == [("load", "m3")]


def test_plans_one_change_away_keep_the_rules_and_their_objective() -> None:
    """On a generated district, every plan the checker proposes one change away keeps rules 1-9,
    and the objective change it computes equals the contract's objective recomputed."""
    problem = generate_district(members=60, demands=150, seed=5)
    answer = solve(problem, time_limit_s=2.0, seed=0, workers=1)
    assert verify(problem, answer) == []
    checker = ReasonChecker(problem, answer.assignments)
    everything = better_plan(checker, within=-math.inf, most=1_000_000)
    by_kind: dict[str, list[Improvement]] = {}
    for p in everything:
        by_kind.setdefault(p.description.split()[0], []).append(p)
    assert set(by_kind) >= {"leaving", "giving"}, set(by_kind)
    for p in [p for kind in by_kind.values() for p in kind[:15]]:
        assert check_assignments(problem, p.assignments) == [], p.description
        other = replace(answer, assignments=p.assignments)
        change = recompute_objective(problem, other) - answer.objective
        assert change == pytest.approx(p.change, rel=1e-9, abs=1e-6), p.description
