"""Why a demand is left out: one test per reason code, and the number its ``detail`` names.

The codes are decided in the order of ``matcher.dispatch.reasons``: ``no_skill``, ``out_of_range``,
``no_availability``, then among members who could have served it ``priority`` (every task keeping
them busy is more urgent), ``capacity`` (all of them are full) and ``conflict`` (their free time
clashes with tasks already given). Every solve goes through ``solve_checked``.
"""

from __future__ import annotations

import pytest

from matcher.dispatch.answer import Answer, Unassigned
from tests.matcher.dispatch.conftest import SolveChecked
from tests.matcher.dispatch.factories import (
    HOME,
    at,
    make_demand,
    make_member,
    make_problem,
    north_of,
)

LIMIT = 2.0


def left_out(answer: Answer, demand: str) -> Unassigned:
    """The unassigned entry of ``demand`` (fails if it was served)."""
    found = [u for u in answer.unassigned if u.demand == demand]
    assert len(found) == 1, answer
    return found[0]


def test_no_skill_names_the_missing_skill(solve_checked: SolveChecked) -> None:
    """Nobody holds 'legal_aid': reason no_skill, and the detail names the skill."""
    problem = make_problem([make_member("m1")], [make_demand("d1", category="legal_aid")])
    answer = solve_checked(problem, time_limit_s=LIMIT)
    u = left_out(answer, "d1")
    assert u.reason == "no_skill"
    assert "'legal_aid'" in u.detail
    assert answer.objective == pytest.approx(300.0)


def test_no_skill_when_no_single_member_holds_all(solve_checked: SolveChecked) -> None:
    """A one-person task needing two skills held by different members: no_skill, counts named."""
    members = [make_member("m1", skills=["elderly_care"]), make_member("m2", skills=["mediation"])]
    demand = make_demand("d1", skills=["elderly_care", "mediation"])
    u = left_out(solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT), "d1")
    assert u.reason == "no_skill"
    assert "no single member holds all" in u.detail
    assert "1 hold 'elderly_care'" in u.detail and "1 hold 'mediation'" in u.detail


def test_out_of_range_names_nearest_distance_and_limit(solve_checked: SolveChecked) -> None:
    """Two holders of 'mediation', the nearest 6.1 km away, limit 5 km: the spec's sentence."""
    members = [
        make_member("m1", skills=["mediation"]),  # 6.1 km
        make_member("m2", location=north_of(HOME, -2.0), skills=["mediation"]),  # 8.1 km
        make_member("m3", location=north_of(HOME, 6.0), skills=["elderly_care"]),  # no skill
    ]
    demand = make_demand("d1", category="mediation", location=north_of(HOME, 6.1))
    u = left_out(solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT), "d1")
    assert u.reason == "out_of_range"
    assert u.detail == "2 members hold 'mediation'; the nearest is 6.1 km away, limit 5 km"


def test_out_of_range_uses_the_members_own_limit(solve_checked: SolveChecked) -> None:
    """A member 2.5 km away with max_distance_km 2: the detail gives 2.5 km and limit 2 km."""
    member = make_member("m1", location=north_of(HOME, -1.5), max_distance_km=2.0)
    u = left_out(
        solve_checked(make_problem([member], [make_demand("d1")]), time_limit_s=LIMIT), "d1"
    )
    assert u.reason == "out_of_range"
    assert "2.5 km" in u.detail and "limit 2 km" in u.detail


def test_out_of_range_comes_before_no_availability(solve_checked: SolveChecked) -> None:
    """Out of range and never free: out_of_range is reported (it is checked first)."""
    member = make_member("m1", location=north_of(HOME, -6.0), availability=[(at(19), at(20))])
    u = left_out(
        solve_checked(make_problem([member], [make_demand("d1")]), time_limit_s=LIMIT), "d1"
    )
    assert u.reason == "out_of_range"
    assert "7.0 km" in u.detail and "limit 5 km" in u.detail


def test_crew_out_of_range_names_how_many_are_in_range(solve_checked: SolveChecked) -> None:
    """A crew of two with only one member in range: out_of_range, '1 member is within range'."""
    members = [make_member("m1"), make_member("m2", location=north_of(HOME, 8.0))]
    demand = make_demand("d1", crew_size=2)
    u = left_out(solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT), "d1")
    assert u.reason == "out_of_range"
    assert "crew of 2" in u.detail and "only 1 member is within range" in u.detail


def test_no_availability_names_duration_and_window(solve_checked: SolveChecked) -> None:
    """Free 19:00-20:00, a 1.5 h task in 19:00-21:00: no_availability naming 1.5 h and the
    window's times."""
    member = make_member("m1", availability=[(at(19), at(20))])
    demand = make_demand("d1", window=(at(19), at(21)), duration_hours=1.5)
    u = left_out(solve_checked(make_problem([member], [demand]), time_limit_s=LIMIT), "d1")
    assert u.reason == "no_availability"
    assert "1.5 h" in u.detail
    assert "19:00" in u.detail and "21:00" in u.detail


def test_capacity_names_hours_left_and_needed(solve_checked: SolveChecked) -> None:
    """Capacity 1.5 h, two equal 1 h tasks at different times: the second is left out as
    capacity, the detail giving the 0.5 h left of 1.5 h and the 1 h needed."""
    member = make_member("m1", capacity_hours=1.5)
    demands = [
        make_demand("d1", window=(at(9), at(10))),
        make_demand("d2", window=(at(11), at(12))),
    ]
    answer = solve_checked(make_problem([member], demands), time_limit_s=LIMIT)
    assert len(answer.unassigned) == 1
    u = answer.unassigned[0]
    assert u.reason == "capacity"
    assert "m1 has 0.5 h left of 1.5 h" in u.detail
    assert "needs 1 h" in u.detail


def test_conflict_names_the_clashing_task(solve_checked: SolveChecked) -> None:
    """Two equally urgent 1 h tasks only possible 09:00-10:00, one member: the one left out is
    a conflict, and the detail names the member and the task it clashes with."""
    demands = [make_demand("d1", window=(at(9), at(10))), make_demand("d2", window=(at(9), at(10)))]
    answer = solve_checked(make_problem([make_member("m1")], demands), time_limit_s=LIMIT)
    (kept,) = answer.assignments
    (u,) = answer.unassigned
    assert u.reason == "conflict"
    assert f"m1 serves {kept.demand}" in u.detail


def test_priority_names_both_priorities(solve_checked: SolveChecked) -> None:
    """Two clashing tasks, priorities 5 and 2: the priority-2 task is left out as 'priority'
    (objective 2 x 100 + 1 km), and the detail gives 2 and 5."""
    demands = [
        make_demand("urgent", window=(at(9), at(10)), priority=5),
        make_demand("low", window=(at(9), at(10)), priority=2),
    ]
    answer = solve_checked(make_problem([make_member("m1")], demands), time_limit_s=LIMIT)
    assert [a.demand for a in answer.assignments] == ["urgent"]
    u = left_out(answer, "low")
    assert u.reason == "priority"
    assert "priority 2" in u.detail and "priority up to 5" in u.detail
    assert answer.objective == pytest.approx(201.0)


def test_priority_when_capacity_is_used_by_more_urgent_tasks(solve_checked: SolveChecked) -> None:
    """A member full with a more urgent task: priority wins over capacity in the order."""
    member = make_member("m1", capacity_hours=1.0)
    demands = [
        make_demand("urgent", window=(at(9), at(10)), priority=4),
        make_demand("low", window=(at(11), at(12)), priority=1),
    ]
    answer = solve_checked(make_problem([member], demands), time_limit_s=LIMIT)
    u = left_out(answer, "low")
    assert u.reason == "priority"
    assert "priority 1" in u.detail and "priority up to 4" in u.detail


def test_priority_when_serving_costs_more_than_leaving_out(solve_checked: SolveChecked) -> None:
    """w.unassigned = 1 and the only member 3 km away: serving costs 3 > 1 for priority 1, so
    the demand is left out as 'priority' and the detail gives the cost and the priority."""
    member = make_member("m1", location=north_of(HOME, -2.0))
    problem = make_problem([member], [make_demand("d1", priority=1)], weights={"unassigned": 1.0})
    answer = solve_checked(problem, time_limit_s=LIMIT)
    u = left_out(answer, "d1")
    assert u.reason == "priority"
    assert "3.0" in u.detail and "priority 1" in u.detail
    assert answer.objective == pytest.approx(1.0)


def test_every_left_out_demand_has_a_known_reason_and_detail(solve_checked: SolveChecked) -> None:
    """A mixed problem: each left-out demand appears once, with a reason code and a sentence."""
    members = [
        make_member("m1", skills=["elderly_care"], capacity_hours=2.0),
        make_member("m2", location=north_of(HOME, -7.0), skills=["mediation"]),
    ]
    demands = [
        make_demand("a", window=(at(9), at(10)), priority=5),
        make_demand("b", window=(at(9), at(10)), priority=1),
        make_demand("c", category="legal_aid"),
        make_demand("d", category="mediation"),
        make_demand("e", window=(at(13), at(14)), priority=2),
    ]
    answer = solve_checked(make_problem(members, demands), time_limit_s=LIMIT)
    got = {u.demand: u.reason for u in answer.unassigned}
    assert got == {"b": "priority", "c": "no_skill", "d": "out_of_range"}
    assert {a.demand for a in answer.assignments} == {"a", "e"}
