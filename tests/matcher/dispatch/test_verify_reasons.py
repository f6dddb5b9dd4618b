"""The verifier's reason checker (``matcher.dispatch.reason_check``): each ``unassigned[].reason``
is recomputed from the problem and the plan.

Every test starts from a real solve that the verifier accepts, with the engine's reason equal to
the one recomputed here; then the reason is replaced by one that is false, and the verifier must
say so. ``no_skill`` / ``out_of_range`` / ``no_availability`` are facts of the problem;
``capacity`` / ``conflict`` / ``priority`` facts of the plan.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from matcher.dispatch.answer import Answer, Unassigned
from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from matcher.dispatch.reason_check import ReasonChecker
from matcher.dispatch.solve import solve
from matcher.dispatch.verify import verify
from tests.matcher.dispatch.conftest import SolveChecked
from tests.matcher.dispatch.factories import (
    HOME,
    at,
    make_demand,
    make_member,
    make_problem,
    make_team,
    north_of,
)

LIMIT = 2.0


def relabel(answer: Answer, demand: str, reason: str) -> Answer:
    """The answer with one demand's reason replaced (its sentence kept)."""
    return replace(
        answer,
        unassigned=tuple(
            Unassigned(u.demand, reason, u.detail) if u.demand == demand else u
            for u in answer.unassigned
        ),
    )


def reason_of(answer: Answer, demand: str) -> str:
    (found,) = [u.reason for u in answer.unassigned if u.demand == demand]
    return found


def recomputed(problem: Problem, answer: Answer, demand: str) -> frozenset[str]:
    checker = ReasonChecker(problem, answer.assignments)
    (d,) = [d for d in problem.demands if d.id == demand]
    return checker.assess(d).true_reasons()


def assert_reason_flagged(problem: Problem, answer: Answer, demand: str, reason: str) -> None:
    """Relabelling ``demand`` with ``reason`` gives a reason violation for it, and only that, with
    or without the engine allowances."""
    bad = relabel(answer, demand, reason)
    for allow in (None, ()):
        violations = verify(problem, bad) if allow is None else verify(problem, bad, allow=allow)
        assert [(v.rule, v.demand) for v in violations] == [("reason", demand)], violations


# ---------------------------------------------------------------------------------------------
# Facts of the problem


def test_no_skill_is_recomputed(solve_checked: SolveChecked) -> None:
    """Nobody holds 'plumbing': the engine and the checker say no_skill; calling it capacity,
    out_of_range or priority is false."""
    problem = make_problem([make_member("m1")], [make_demand("d1", skills=["plumbing"])])
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reason_of(answer, "d1") == "no_skill"
    assert recomputed(problem, answer, "d1") == {"no_skill"}
    for false in ("out_of_range", "capacity", "priority"):
        assert_reason_flagged(problem, answer, "d1", false)


def test_no_skill_while_a_member_in_range_holds_the_skill(solve_checked: SolveChecked) -> None:
    """m1 holds the skill and lives 1 km away but is full after d1 (capacity 1 h): the demand
    left out is capacity, and no_skill for it is a reason violation."""
    problem = make_problem(
        [make_member("m1", capacity_hours=1.0)],
        [make_demand("d1", priority=5), make_demand("d2", priority=5)],
    )
    answer = solve_checked(problem, time_limit_s=LIMIT)
    (left,) = answer.unassigned
    assert left.reason == "capacity"
    assert_reason_flagged(problem, answer, left.demand, "no_skill")


def test_crew_no_skill_counts_the_crew_together(solve_checked: SolveChecked) -> None:
    """A crew of two needing both skills is served by one member of each; with both members far
    away it is out_of_range, and no_skill (the two together hold both skills) is false."""
    members = [
        make_member("care", skills=["elderly_care"], max_distance_km=2.0),
        make_member("talk", skills=["mediation"], max_distance_km=2.0),
    ]
    demand = make_demand(
        "d1", skills=["elderly_care", "mediation"], crew_size=2, location=north_of(HOME, 3.0)
    )
    problem = make_problem(members, [demand])
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reason_of(answer, "d1") == "out_of_range"
    assert_reason_flagged(problem, answer, "d1", "no_skill")


def test_out_of_range_is_recomputed(solve_checked: SolveChecked) -> None:
    """The only holder lives 9 km away (limit 5 km): out_of_range; no_availability is false, and
    so is out_of_range once a member lives in range (then it is served)."""
    problem = make_problem([make_member("m1")], [make_demand("d1", location=north_of(HOME, 9.0))])
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reason_of(answer, "d1") == "out_of_range"
    assert recomputed(problem, answer, "d1") == {"out_of_range"}
    assert_reason_flagged(problem, answer, "d1", "no_availability")
    assert_reason_flagged(problem, answer, "d1", "no_skill")


def test_no_availability_is_recomputed(solve_checked: SolveChecked) -> None:
    """The member in range is free only in the afternoon, the window is in the morning:
    no_availability; out_of_range and conflict are false."""
    problem = make_problem(
        [make_member("m1", availability=[(at(13), at(18))])], [make_demand("d1")]
    )
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reason_of(answer, "d1") == "no_availability"
    assert recomputed(problem, answer, "d1") == {"no_availability"}
    assert_reason_flagged(problem, answer, "d1", "out_of_range")
    assert_reason_flagged(problem, answer, "d1", "conflict")


def test_team_only_crew_without_a_big_enough_team_is_no_availability(
    solve_checked: SolveChecked,
) -> None:
    """A team-only crew of three when each team has two members, all in range and skilled: never
    enough of them together (no_availability, as the README reads it), not out_of_range."""
    members = [make_member(f"m{i}") for i in range(1, 5)]
    teams = [make_team("t1", ["m1", "m2"]), make_team("t2", ["m3", "m4"])]
    problem = make_problem(members, [make_demand("d1", crew_size=3, team_only=True)], teams)
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reason_of(answer, "d1") == "no_availability"
    assert_reason_flagged(problem, answer, "d1", "out_of_range")


# ---------------------------------------------------------------------------------------------
# Facts of the plan


def capacity_problem(capacity_hours: float) -> Problem:
    """Two urgent one-hour demands and one member: with 1 h of capacity one is left out."""
    return make_problem(
        [make_member("m1", capacity_hours=capacity_hours)],
        [
            make_demand("d1", window=(at(9), at(17)), priority=5),
            make_demand("d2", window=(at(9), at(17)), priority=5),
        ],
    )


def test_capacity_is_recomputed(solve_checked: SolveChecked) -> None:
    """The member has no hours left: capacity; conflict is false (no clash keeps it out)."""
    problem = capacity_problem(1.0)
    answer = solve_checked(problem, time_limit_s=LIMIT)
    (left,) = answer.unassigned
    assert left.reason == "capacity"
    assert recomputed(problem, answer, left.demand) == {"capacity"}
    assert_reason_flagged(problem, answer, left.demand, "conflict")


def test_capacity_for_a_demand_that_fits(solve_checked: SolveChecked) -> None:
    """With 8 h both demands are served; dropping one from the plan and calling it capacity is
    false (the member has the hours and the time), whatever the allowances."""
    problem = capacity_problem(8.0)
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert not answer.unassigned
    kept = answer.assignments[0]
    dropped = answer.assignments[1].demand
    bad = replace(
        answer,
        assignments=(kept,),
        unassigned=(Unassigned(dropped, "capacity", "every member is full"),),
    )
    for violations in (verify(problem, bad), verify(problem, bad, allow=())):
        assert ("reason", dropped) in [(v.rule, v.demand) for v in violations], violations


def conflict_problem(first_priority: int) -> Problem:
    """One member free 09:00-10:00 and two one-hour demands that can only start at 09:00."""
    member = make_member("m1", availability=[(at(9), at(10))])
    return make_problem(
        [member],
        [
            make_demand("d1", priority=first_priority),
            make_demand("d2", priority=2),
        ],
    )


def test_conflict_is_recomputed(solve_checked: SolveChecked) -> None:
    """d1 (priority 3) is served, and d2 (priority 2) clashes with it: priority (outranked by
    the more urgent d1) and conflict both hold; capacity (8 h, 1 used) does not."""
    problem = conflict_problem(3)
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reason_of(answer, "d2") in {"priority", "conflict"}
    assert recomputed(problem, answer, "d2") == {"priority", "conflict"}
    assert_reason_flagged(problem, answer, "d2", "capacity")


def test_priority_needs_more_urgent_tasks() -> None:
    """A plan that serves the less urgent d2 (priority 2) and leaves d1 (priority 5) out: d1's
    time clashes (conflict), but priority is false: d2 is not more urgent."""
    problem = conflict_problem(5)
    good = solve(problem, time_limit_s=LIMIT)
    assert reason_of(good, "d2") == "priority"
    assert verify(problem, good) == []
    (served,) = good.assignments
    swapped = replace(
        good,
        assignments=(replace(served, demand="d2"),),
        unassigned=(Unassigned("d1", "priority", "outranked"),),
        objective=0.0,
    )
    checker = ReasonChecker(problem, swapped.assignments)
    assert checker.assess(problem.demands[0]).true_reasons() == {"conflict"}
    assert ("reason", "d1") in [(v.rule, v.demand) for v in verify(problem, swapped)]


def test_priority_by_cost_is_recomputed(solve_checked: SolveChecked) -> None:
    """With w.unassigned = 0.1 serving (1 km) costs more than leaving out (0.3): the engine says
    priority and so does the checker; capacity and conflict are false."""
    problem = make_problem([make_member("m1")], [make_demand("d1")], weights={"unassigned": 0.1})
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reason_of(answer, "d1") == "priority"
    assert recomputed(problem, answer, "d1") == {"priority"}
    assert_reason_flagged(problem, answer, "d1", "capacity")
    assert_reason_flagged(problem, answer, "d1", "conflict")


@pytest.mark.parametrize("seed", [3, 7])
def test_every_engine_reason_on_a_district_is_recomputed(seed: int) -> None:
    """On generated districts every engine reason, crews' included, is among those the checker
    recomputes, and the contract alone (no allowance) accepts the answer."""
    problem = generate_district(members=60, demands=150, seed=seed)
    answer = solve(problem, time_limit_s=3.0, seed=0, workers=1)
    assert verify(problem, answer, allow=(), require_params=True) == []
    checker = ReasonChecker(problem, answer.assignments)
    demands = {d.id: d for d in problem.demands}
    assert answer.unassigned
    for u in answer.unassigned:
        assert u.reason in checker.assess(demands[u.demand]).true_reasons(), u


# ---------------------------------------------------------------------------------------------
# Crews (the engine bug of issue 17: a crew a crew could take was called conflict or capacity)


def test_engine_crew_reason_holds_under_the_contract_alone() -> None:
    """A crew of two free members that costs more than leaving the demand out: the reason is
    priority on cost, naming the crew; it used to be conflict."""
    problem = make_problem(
        [make_member("m1"), make_member("m2")],
        [make_demand("d1", crew_size=2)],
        weights={"unassigned": 0.1},
    )
    answer = solve(problem, time_limit_s=LIMIT)
    assert verify(problem, answer, allow=(), require_params=True) == []
    (left,) = answer.unassigned
    assert left.reason == "priority"
    assert left.params["basis"] == "cost"
    assert sorted(left.params["member_ids"]) == ["m1", "m2"]  # type: ignore[call-overload]
    assert recomputed(problem, answer, "d1") == {"priority"}
    assert_reason_flagged(problem, answer, "d1", "conflict")


def test_crew_short_of_a_member_with_hours_is_outranked(solve_checked: SolveChecked) -> None:
    """A crew of two and two members: m1's only hour goes to the urgent task only m1 can do, so
    no crew has the hours. The engine says priority, outranked (the checker agrees, conflict
    holds too); capacity is false (m2 has its hours), and so is priority on cost."""
    members = [
        make_member("m1", skills=["plumbing"], capacity_hours=1.0),
        make_member("m2", skills=[]),
    ]
    demands = [
        make_demand("solo", skills=["plumbing"], priority=5, window=(at(9), at(17))),
        make_demand("crew", skills=[], crew_size=2, priority=1, window=(at(9), at(17))),
    ]
    problem = make_problem(members, demands)
    answer = solve_checked(problem, time_limit_s=LIMIT)
    (left,) = answer.unassigned
    assert (left.demand, left.reason) == ("crew", "priority")
    assert left.params["basis"] == "outranked"
    assert left.params["blocking_demands"] == ["solo"]
    assert recomputed(problem, answer, "crew") == {"priority", "conflict"}
    assert_reason_flagged(problem, answer, "crew", "capacity")


def test_a_crew_the_plan_can_take_cheaply_is_served() -> None:
    """A plan cut short (a stop at once) that could still add a cheap crew: the answer adds it
    before writing reasons, so no reason has to be invented for it."""
    problem = make_problem(
        [make_member("m1"), make_member("m2"), make_member("m3")],
        [make_demand("d1", crew_size=3), make_demand("d2")],
    )
    answer = solve(problem, time_limit_s=LIMIT, stop=lambda: True)
    assert verify(problem, answer, allow=(), require_params=True) == []
    assert {a.demand for a in answer.assignments} >= {"d1"}


def test_a_solve_stopped_at_once_answers_the_greedy_floor_with_reasons_that_hold() -> None:
    """A stop before anything else still gives the whole greedy plan (it used to serve 2 of 250
    demands and call the rest ``priority``): every reason holds under the contract alone."""
    problem = generate_district(members=100, demands=250, seed=2)
    answer = solve(problem, time_limit_s=30, stop=lambda: True)
    assert verify(problem, answer, allow=()) == []
    assert answer.stats.greedy_objective == pytest.approx(answer.objective)
    assert len(answer.assignments) > 125  # the floor, not a plan cut short
