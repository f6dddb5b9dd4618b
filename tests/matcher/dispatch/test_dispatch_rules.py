"""The engine keeps each numbered rule of ``docs/contracts/dispatch.md`` (rules 1-9).

Every rule is tested two ways (CP-SAT primer habit): a tiny problem where the solver must respect
the rule to do well, and the same problem with the forbidden choice forced through a pin, which
``validate_problem`` must reject with an error at ``demands[i].pinned...``. Then the soft terms of
the objective (preferences, continuity, reliability, fairness) and the two time options.

Every solve goes through ``solve_checked`` (verifier, recomputed objective, bound <= objective).
Distances are exact by construction: a demand ``north_of(HOME, 1.0)`` is 1 km from a member at
``HOME`` (default weights: distance 1 per km, unassigned 100 per priority point).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from matcher.dispatch.answer import Answer, Assignment
from matcher.dispatch.problem import Demand, Pin, Problem
from matcher.dispatch.validation import validate_problem
from matcher.errors import InvalidProblemError
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


def served(answer: Answer) -> dict[str, Assignment]:
    """Assignments by demand id."""
    return {a.demand: a for a in answer.assignments}


def reasons(answer: Answer) -> dict[str, str]:
    """Reason codes of the unassigned demands, by demand id."""
    return {u.demand: u.reason for u in answer.unassigned}


def pin(problem: Problem, demand: int, members: tuple[str, ...], start: datetime) -> Problem:
    """The same problem with ``demands[demand]`` pinned to ``members`` at ``start``."""
    demands: list[Demand] = list(problem.demands)
    demands[demand] = replace(demands[demand], pinned=Pin(members=members, start=start))
    return problem.replace(demands=tuple(demands))


def pin_error_paths(problem: Problem) -> list[str]:
    """The error paths ``validate_problem`` reports; fails if the problem is accepted."""
    with pytest.raises(InvalidProblemError) as caught:
        validate_problem(problem)
    return list(caught.value.errors)


def assert_pin_rejected(problem: Problem, demand: int, *, rule: str | None = None) -> None:
    """Rejected with an error at ``demands[demand].pinned...`` (naming ``rule`` if given)."""
    with pytest.raises(InvalidProblemError) as caught:
        validate_problem(problem)
    errors = caught.value.errors
    prefix = f"demands[{demand}].pinned"
    ours = {path: msgs for path, msgs in errors.items() if path.startswith(prefix)}
    assert ours, errors
    if rule is not None:
        text = " ".join(m for msgs in ours.values() for m in msgs)
        assert f"rule {rule}" in text, errors


# ---------------------------------------------------------------------------------------------
# Rule 1: at most once, exactly crew_size distinct members


def rule1_problem() -> Problem:
    members = [make_member(f"m{i}") for i in (1, 2, 3)]
    return make_problem(members, [make_demand("d1", crew_size=2)])


def test_rule1_crew_gets_exactly_crew_size_distinct_members(solve_checked: SolveChecked) -> None:
    """A crew of two is served once, by two distinct members (two 1 km trips)."""
    problem = rule1_problem()
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert [a.demand for a in answer.assignments] == ["d1"]
    crew = answer.assignments[0].members
    assert len(crew) == 2 and len(set(crew)) == 2
    assert answer.objective == pytest.approx(2.0)
    assert answer.status == "optimal"


def test_rule1_pin_with_too_few_members_is_rejected() -> None:
    """A pin naming one member for a crew of two is rejected at demands[0].pinned.members."""
    paths = pin_error_paths(pin(rule1_problem(), 0, ("m1",), at(9)))
    assert "demands[0].pinned.members" in paths


def test_rule1_pin_with_a_repeated_member_is_rejected() -> None:
    """A pin listing the same member twice is rejected at demands[0].pinned.members[1]."""
    paths = pin_error_paths(pin(rule1_problem(), 0, ("m1", "m1"), at(9)))
    assert "demands[0].pinned.members[1]" in paths


# ---------------------------------------------------------------------------------------------
# Rule 2: inside the window, on the grid


def test_rule2_start_is_inside_the_window(solve_checked: SolveChecked) -> None:
    """A 1 h task in a 1 h window starts exactly at the window's start."""
    problem = make_problem([make_member("m1")], [make_demand("d1", window=(at(9), at(10)))])
    a = served(solve_checked(problem, time_limit_s=LIMIT))["d1"]
    assert (a.start, a.end) == (at(9), at(10))


def test_rule2_start_is_on_the_grid(solve_checked: SolveChecked) -> None:
    """Free 09:10-10:20 and a 15 min grid from 09:00: the only legal start is 09:15."""
    member = make_member("m1", availability=[(at(9, 10), at(10, 20))])
    problem = make_problem([member], [make_demand("d1", window=(at(9), at(12)))])
    a = served(solve_checked(problem, time_limit_s=LIMIT))["d1"]
    assert a.start == at(9, 15)


@pytest.mark.parametrize("start", [at(9, 30), at(8, 30)], ids=["ends-late", "starts-early"])
def test_rule2_pin_outside_the_window_is_rejected(start: datetime) -> None:
    """A pin that starts before the window or ends after it breaks rule 2."""
    problem = make_problem([make_member("m1")], [make_demand("d1", window=(at(9), at(10)))])
    assert_pin_rejected(pin(problem, 0, ("m1",), start), 0, rule="2")


def test_rule2_pinned_start_off_the_grid_is_kept(solve_checked: SolveChecked) -> None:
    """A pinned start need not lie on the grid; the answer keeps it as given."""
    problem = make_problem(
        [make_member("m1")], [make_demand("d1", pinned=(["m1"], at(9, 10)))], time_step_minutes=30
    )
    a = served(solve_checked(problem, time_limit_s=LIMIT))["d1"]
    assert a.start == at(9, 10)


# ---------------------------------------------------------------------------------------------
# Rule 3: inside one availability interval


def rule3_problem(free_until: datetime) -> Problem:
    member = make_member("m1", availability=[(at(19), free_until)])
    return make_problem([member], [make_demand("d1", window=(at(19), at(21)), duration_hours=1.5)])


def test_rule3_task_longer_than_the_free_time_is_left_out(solve_checked: SolveChecked) -> None:
    """Free 19:00-20:00, a 1.5 h task: left out with no_availability (objective 3 x 100)."""
    answer = solve_checked(rule3_problem(at(20)), time_limit_s=LIMIT)
    assert answer.assignments == ()
    assert reasons(answer) == {"d1": "no_availability"}
    assert answer.objective == pytest.approx(300.0)


def test_rule3_task_inside_the_free_time_is_served(solve_checked: SolveChecked) -> None:
    """Free 19:00-21:00: the same 1.5 h task fits and is served (one 1 km trip)."""
    answer = solve_checked(rule3_problem(at(21)), time_limit_s=LIMIT)
    assert set(served(answer)) == {"d1"}
    assert answer.objective == pytest.approx(1.0)


def test_rule3_pin_outside_the_free_time_is_rejected() -> None:
    """Pinning the 1.5 h task at 19:00 for a member free only until 20:00 breaks rule 3."""
    assert_pin_rejected(pin(rule3_problem(at(20)), 0, ("m1",), at(19)), 0, rule="3")


def test_rule3_task_may_not_straddle_two_intervals(solve_checked: SolveChecked) -> None:
    """Free 09:00-10:00 and 10:30-12:00: a 1.5 h task in 09:00-11:00 cannot be split."""
    member = make_member("m1", availability=[(at(9), at(10)), (at(10, 30), at(12))])
    problem = make_problem(
        [member], [make_demand("d1", window=(at(9), at(11)), duration_hours=1.5)]
    )
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reasons(answer) == {"d1": "no_availability"}


# ---------------------------------------------------------------------------------------------
# Rule 4: skills


def rule4_solo_problem() -> Problem:
    near_unskilled = make_member("m1", skills=["mediation"])  # 1 km
    far_skilled = make_member("m2", location=north_of(HOME, 3.0), skills=["elderly_care"])  # 2 km
    return make_problem([near_unskilled, far_skilled], [make_demand("d1")])


def test_rule4_solo_task_goes_to_the_member_holding_the_skill(solve_checked: SolveChecked) -> None:
    """The nearer member lacks the skill; the farther one (2 km) serves it."""
    answer = solve_checked(rule4_solo_problem(), time_limit_s=LIMIT)
    assert served(answer)["d1"].members == ("m2",)
    assert answer.objective == pytest.approx(2.0)


def test_rule4_pin_to_a_member_without_the_skill_is_rejected() -> None:
    """Pinning the demand on the member without the skill breaks rule 4."""
    assert_pin_rejected(pin(rule4_solo_problem(), 0, ("m1",), at(9)), 0, rule="4")


def test_rule4_solo_member_must_hold_every_skill(solve_checked: SolveChecked) -> None:
    """With crew_size 1, two members holding one skill each cannot share the task."""
    members = [make_member("m1", skills=["elderly_care"]), make_member("m2", skills=["mediation"])]
    demand = make_demand("d1", skills=["elderly_care", "mediation"])
    answer = solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT)
    assert reasons(answer) == {"d1": "no_skill"}


def rule4_crew_problem() -> Problem:
    members = [
        make_member("m1", skills=["elderly_care"]),
        make_member("m2", skills=["elderly_care"]),
        make_member("m3", location=north_of(HOME, 3.0), skills=["mediation"]),  # 2 km
    ]
    demand = make_demand("d1", skills=["elderly_care", "mediation"], crew_size=2)
    return make_problem(members, [demand])


def test_rule4_crew_covers_the_skills_jointly(solve_checked: SolveChecked) -> None:
    """Only m3 holds 'mediation': the crew is m3 plus one of the two near carers (1 + 2 km)."""
    answer = solve_checked(rule4_crew_problem(), time_limit_s=LIMIT)
    crew = set(served(answer)["d1"].members)
    assert "m3" in crew and len(crew) == 2
    assert answer.objective == pytest.approx(3.0)


def test_rule4_pin_crew_without_a_skill_is_rejected() -> None:
    """Pinning the two carers (nobody holds 'mediation') breaks rule 4."""
    assert_pin_rejected(pin(rule4_crew_problem(), 0, ("m1", "m2"), at(9)), 0, rule="4")


# ---------------------------------------------------------------------------------------------
# Rule 5: distance


def rule5_problem() -> Problem:
    short_reach = make_member("m1", max_distance_km=0.5)  # 1 km away, limit 0.5 km
    default_reach = make_member("m2", location=north_of(HOME, 2.5))  # 1.5 km, limit 5 km
    return make_problem([short_reach, default_reach], [make_demand("d1")])


def test_rule5_member_out_of_own_range_is_not_used(solve_checked: SolveChecked) -> None:
    """The nearer member's own limit (0.5 km) excludes them; the other (1.5 km) serves."""
    answer = solve_checked(rule5_problem(), time_limit_s=LIMIT)
    assert served(answer)["d1"].members == ("m2",)
    assert answer.objective == pytest.approx(1.5)


def test_rule5_options_limit_applies_without_a_member_limit(solve_checked: SolveChecked) -> None:
    """options.max_distance_km = 1.2 excludes a member 1.5 km away who has no own limit."""
    problem = rule5_problem().replace(members=(make_member("m2", location=north_of(HOME, 2.5)),))
    problem = problem.replace(options=replace(problem.options, max_distance_km=1.2))
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert reasons(answer) == {"d1": "out_of_range"}


def test_rule5_pin_beyond_the_member_limit_is_rejected() -> None:
    """Pinning the member whose limit is 0.5 km on a demand 1 km away breaks rule 5."""
    assert_pin_rejected(pin(rule5_problem(), 0, ("m1",), at(9)), 0, rule="5")


# ---------------------------------------------------------------------------------------------
# Rule 6: no overlap, changeover between tasks


def rule6_problem() -> Problem:
    demands = [make_demand("d1", window=(at(9), at(10))), make_demand("d2", window=(at(9), at(10)))]
    return make_problem([make_member("m1")], demands)


def test_rule6_overlapping_tasks_are_not_given_to_one_member(solve_checked: SolveChecked) -> None:
    """Two 1 h tasks that can only run 09:00-10:00 and one member: one served, one left out."""
    answer = solve_checked(rule6_problem(), time_limit_s=LIMIT)
    assert len(answer.assignments) == 1
    assert len(answer.unassigned) == 1
    assert answer.objective == pytest.approx(301.0)


def test_rule6_pins_that_overlap_are_rejected() -> None:
    """Pinning both tasks at 09:00 on the same member breaks rule 6 (reported at the second)."""
    problem = pin(pin(rule6_problem(), 0, ("m1",), at(9)), 1, ("m1",), at(9))
    assert_pin_rejected(problem, 1, rule="6")


def changeover_problem(changeover_minutes: float) -> Problem:
    demands = [
        make_demand("d1", window=(at(9), at(10))),
        make_demand("d2", window=(at(10), at(11, 30))),
    ]
    return make_problem([make_member("m1")], demands, changeover_minutes=changeover_minutes)


@pytest.mark.parametrize(
    ("changeover", "d2_starts"),
    [(0, {at(10), at(10, 15), at(10, 30)}), (15, {at(10, 15), at(10, 30)}), (30, {at(10, 30)})],
)
def test_changeover_minutes_are_kept_between_tasks(
    solve_checked: SolveChecked, changeover: float, d2_starts: set[datetime]
) -> None:
    """d1 fills 09:00-10:00; d2 (1 h, window 10:00-11:30) starts at least `changeover` later."""
    answer = solve_checked(changeover_problem(changeover), time_limit_s=LIMIT)
    plan = served(answer)
    assert set(plan) == {"d1", "d2"}
    assert plan["d1"].start == at(9)
    assert plan["d2"].start in d2_starts
    assert answer.objective == pytest.approx(2.0)


def test_changeover_too_long_leaves_one_task_out(solve_checked: SolveChecked) -> None:
    """With a 45 min changeover, d2 would end at 11:45, after its window: one task is left out."""
    answer = solve_checked(changeover_problem(45), time_limit_s=LIMIT)
    assert len(answer.assignments) == 1
    assert answer.objective == pytest.approx(301.0)


def test_changeover_pin_too_close_is_rejected() -> None:
    """Pins at 09:00 and 10:15 with a 30 min changeover break rule 6 at the second pin."""
    problem = changeover_problem(30)
    problem = pin(pin(problem, 0, ("m1",), at(9)), 1, ("m1",), at(10, 15))
    assert_pin_rejected(problem, 1, rule="6")


# ---------------------------------------------------------------------------------------------
# Rule 7: capacity


def rule7_problem() -> Problem:
    demands = [
        make_demand("d1", window=(at(9), at(10))),
        make_demand("d2", window=(at(11), at(12))),
    ]
    return make_problem([make_member("m1", capacity_hours=1.5)], demands)


def test_rule7_member_is_not_given_more_hours_than_capacity(solve_checked: SolveChecked) -> None:
    """Capacity 1.5 h and two 1 h tasks: one served; objective 300 + 1 km + fairness 0.25."""
    answer = solve_checked(rule7_problem(), time_limit_s=LIMIT)
    assert len(answer.assignments) == 1
    assert [u.reason for u in answer.unassigned] == ["capacity"]
    assert answer.objective == pytest.approx(301.25)


def test_rule7_pins_over_capacity_are_rejected() -> None:
    """Pinning both tasks on the member breaks rule 7 at the task that crosses the capacity."""
    problem = pin(pin(rule7_problem(), 0, ("m1",), at(9)), 1, ("m1",), at(11))
    assert_pin_rejected(problem, 1, rule="7")


# ---------------------------------------------------------------------------------------------
# Rule 8: team_only


def rule8_problem(*, team_only: bool = True) -> Problem:
    members = [
        make_member("m1", location=north_of(HOME, 3.0)),  # 2 km
        make_member("m2", location=north_of(HOME, 3.0)),  # 2 km
        make_member("m3"),  # 1 km
        make_member("m4"),  # 1 km, in no team
    ]
    teams = [make_team("t1", ["m1", "m2"], leader="m1"), make_team("t2", ["m3"])]
    demand = make_demand("d1", crew_size=2, team_only=team_only)
    return make_problem(members, [demand], teams)


def test_rule8_team_only_crew_comes_from_one_team(solve_checked: SolveChecked) -> None:
    """The near pair (m3, m4) is no team; the crew is team t1, and the answer names it."""
    answer = solve_checked(rule8_problem(), time_limit_s=LIMIT)
    a = served(answer)["d1"]
    assert set(a.members) == {"m1", "m2"}
    assert a.team == "t1"
    assert answer.objective == pytest.approx(4.0)


def test_rule8_without_team_only_the_nearest_pair_serves(solve_checked: SolveChecked) -> None:
    """Control: without team_only the two near members serve (2 km in total)."""
    answer = solve_checked(rule8_problem(team_only=False), time_limit_s=LIMIT)
    assert set(served(answer)["d1"].members) == {"m3", "m4"}
    assert answer.objective == pytest.approx(2.0)


def test_rule8_team_only_without_a_big_enough_team_is_left_out(
    solve_checked: SolveChecked,
) -> None:
    """A crew of three from one team is impossible when the largest team has two members."""
    problem = rule8_problem()
    problem = problem.replace(demands=(make_demand("d1", crew_size=3, team_only=True),))
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert answer.assignments == ()
    assert answer.objective == pytest.approx(300.0)


def test_rule8_team_only_single_member_comes_from_a_team(solve_checked: SolveChecked) -> None:
    """team_only with crew_size 1: the one member must belong to a team, which is named.

    m1 is nearer (1 km) but in no team; m2 (2 km) is team t1's only member.
    """
    members = [make_member("m1"), make_member("m2", location=north_of(HOME, 3.0))]
    problem = make_problem(
        members, [make_demand("d1", team_only=True)], [make_team("t1", ["m2"], leader="m2")]
    )
    answer = solve_checked(problem, time_limit_s=LIMIT)
    a = served(answer)["d1"]
    assert (a.members, a.team) == (("m2",), "t1")
    assert answer.objective == pytest.approx(2.0)


def test_rule8_pin_across_teams_is_rejected() -> None:
    """Pinning the near pair, who share no team, on a team_only demand breaks rule 8."""
    assert_pin_rejected(pin(rule8_problem(), 0, ("m3", "m4"), at(9)), 0, rule="8")


# ---------------------------------------------------------------------------------------------
# Rule 9: pins are kept


def test_rule9_pinned_demand_keeps_its_members_and_start(solve_checked: SolveChecked) -> None:
    """The pin on the farther member (2 km) is kept although the nearer one would be cheaper."""
    members = [make_member("m1"), make_member("m2", location=north_of(HOME, 3.0))]
    demands = [make_demand("d1", pinned=(["m2"], at(10, 30)))]
    answer = solve_checked(make_problem(members, demands), time_limit_s=LIMIT)
    a = served(answer)["d1"]
    assert (a.members, a.start) == (("m2",), at(10, 30))
    assert answer.objective == pytest.approx(2.0)


def test_rule9_pinned_task_blocks_its_member(solve_checked: SolveChecked) -> None:
    """A pinned 09:00 task keeps its member busy; an open task then goes to someone else."""
    members = [make_member("m1"), make_member("m2", location=north_of(HOME, 4.0))]  # 3 km
    demands = [
        make_demand("d1", window=(at(9), at(10)), pinned=(["m1"], at(9))),
        make_demand("d2", window=(at(9), at(10))),
    ]
    answer = solve_checked(make_problem(members, demands), time_limit_s=LIMIT)
    plan = served(answer)
    assert plan["d1"].members == ("m1",)
    assert plan["d2"].members == ("m2",)
    assert answer.objective == pytest.approx(4.0)


def test_rule9_pin_to_an_unknown_member_is_rejected() -> None:
    """A pin naming a member the problem does not have is rejected at pinned.members[0]."""
    problem = make_problem([make_member("m1")], [make_demand("d1")])
    paths = pin_error_paths(pin(problem, 0, ("ghost",), at(9)))
    assert "demands[0].pinned.members[0]" in paths


# ---------------------------------------------------------------------------------------------
# Crews


def test_crew_starts_together_when_all_are_free(solve_checked: SolveChecked) -> None:
    """m1 is free 09:00-11:00, m2 10:00-12:00: their only common 1 h slot starts at 10:00."""
    members = [
        make_member("m1", availability=[(at(9), at(11))]),
        make_member("m2", availability=[(at(10), at(12))]),
    ]
    demand = make_demand("d1", window=(at(9), at(12)), crew_size=2)
    answer = solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT)
    a = served(answer)["d1"]
    assert set(a.members) == {"m1", "m2"}
    assert (a.start, a.end) == (at(10), at(11))


def test_crew_without_a_common_slot_is_left_out(solve_checked: SolveChecked) -> None:
    """m1 free 09:00-10:00, m2 10:00-11:00: never free together, so no crew of two."""
    members = [
        make_member("m1", availability=[(at(9), at(10))]),
        make_member("m2", availability=[(at(10), at(11))]),
    ]
    demand = make_demand("d1", window=(at(9), at(11)), crew_size=2)
    answer = solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT)
    assert answer.assignments == ()
    assert reasons(answer) == {"d1": "no_availability"}


def test_crew_can_follow_a_solo_task_of_the_same_member(solve_checked: SolveChecked) -> None:
    """A crew may start later in its window to let one of its members do a solo task first.

    Two members free all day; 'solo' (0.5 h) fits only 09:00-10:00, the crew of two (0.5 h)
    09:00-10:30. With the 15 min changeover the one plan serving both is solo at 09:00 (or
    09:15) and the crew at 09:45 or later: objective 1 + 2 = 3 km. The crew starting at 09:00
    would push solo to 09:45, past its window.
    """
    members = [make_member("m1"), make_member("m2")]
    demands = [
        make_demand("solo", window=(at(9), at(10)), duration_hours=0.5),
        make_demand("crew", window=(at(9), at(10, 30)), crew_size=2, duration_hours=0.5),
    ]
    answer = solve_checked(make_problem(members, demands), time_limit_s=LIMIT)
    assert set(served(answer)) == {"solo", "crew"}
    assert answer.objective == pytest.approx(3.0)


def test_crew_bound_allows_the_crew_before_a_solo_task(solve_checked: SolveChecked) -> None:
    """The bound must not exclude a crew at an early start that only a subset of members share.

    'a' alone holds 'mediation' (the crew's skill) and 'elderly_care' (the solo task's). 'a' and
    'b' are free 09:00-11:00, 'x' only from 10:00; the grid is hourly. The crew fits at 09:00
    (a, b) and the solo task then at 10:00: both served, 1 + 1 + 1 km = 3.
    """
    members = [
        make_member("a", skills=["mediation", "elderly_care"], availability=[(at(9), at(11))]),
        make_member("b", skills=["sanitation"], availability=[(at(9), at(11))]),
        make_member("x", skills=["sanitation"], availability=[(at(10), at(11))]),
    ]
    demands = [
        make_demand(
            "crew", category="mediation", window=(at(9), at(11)), crew_size=2, duration_hours=0.5
        ),
        make_demand("solo", category="elderly_care", window=(at(10), at(11)), duration_hours=0.5),
    ]
    problem = make_problem(members, demands, time_step_minutes=60)
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert set(served(answer)) == {"crew", "solo"}
    assert answer.objective == pytest.approx(3.0)


def test_two_crews_share_a_member_in_sequence(solve_checked: SolveChecked) -> None:
    """Two crews sharing the one non-carer: the second must start after the first.

    m1 (free 08:05-16:00, 2 h) and m2 (11:05-20:50, 3 h) hold 'elderly_care'; m3 (09:50-19:10)
    does not. 'fixed' (1.5 h) fills 13:15-14:45; 'long' (2 h) has 12:00-17:30. The only plan
    serving both: fixed = (m1, m3), long = (m2, m3) from 15:00. Objective: 4 km + fairness
    0.5 (m1: 1.5 of 2 h) + 0.5 (m2: 2 of 3 h) = 5.
    """
    every = ["elderly_care", "mediation", "sanitation"]
    members = [
        make_member("m1", skills=every, availability=[(at(8, 5), at(16))], capacity_hours=2.0),
        make_member("m2", skills=every, availability=[(at(11, 5), at(20, 50))], capacity_hours=3.0),
        make_member(
            "m3", skills=["mediation", "sanitation"], availability=[(at(9, 50), at(19, 10))]
        ),
    ]
    demands = [
        make_demand("fixed", window=(at(13, 15), at(14, 45)), duration_hours=1.5, crew_size=2),
        make_demand("long", window=(at(12), at(17, 30)), duration_hours=2.0, crew_size=2),
    ]
    answer = solve_checked(make_problem(members, demands), time_limit_s=LIMIT)
    plan = served(answer)
    assert set(plan) == {"fixed", "long"}
    assert set(plan["fixed"].members) == {"m1", "m3"}
    assert set(plan["long"].members) == {"m2", "m3"}
    assert answer.objective == pytest.approx(5.0)


def test_short_task_goes_first_whatever_the_demand_order(solve_checked: SolveChecked) -> None:
    """One member free 12:00-15:00; 'long' (2 h, priority 3, any time) and 'short' (0.5 h,
    priority 2, done by 13:30). Only short at 12:00 then long from 12:45 serves both (2 km),
    whichever demand the problem lists first."""
    member = make_member("m1", availability=[(at(12), at(15))])
    long = make_demand("long", window=(at(12), at(15)), duration_hours=2.0, priority=3)
    short = make_demand("short", window=(at(12), at(13, 30)), duration_hours=0.5, priority=2)
    for demands in ([long, short], [short, long]):
        answer = solve_checked(make_problem([member], demands), time_limit_s=LIMIT)
        plan = served(answer)
        assert set(plan) == {"long", "short"}, [d.id for d in demands]
        assert plan["short"].start == at(12)
        assert answer.objective == pytest.approx(2.0)


# ---------------------------------------------------------------------------------------------
# Soft terms: preferences, continuity, reliability, fairness


def test_demand_costing_more_than_its_penalty_is_left_out(solve_checked: SolveChecked) -> None:
    """With w.unassigned = 1, serving a priority-1 demand from 3 km (cost 3) is worse than
    leaving it out (cost 1): the minimum objective is 1, with the demand unassigned."""
    member = make_member("m1", location=north_of(HOME, -2.0))  # 3 km
    problem = make_problem([member], [make_demand("d1", priority=1)], weights={"unassigned": 1.0})
    answer = solve_checked(problem, time_limit_s=LIMIT)
    assert answer.assignments == ()
    assert answer.objective == pytest.approx(1.0)


def test_preference_picks_the_member_who_asked_for_the_category(
    solve_checked: SolveChecked,
) -> None:
    """Two members equally near; the one preferring 'elderly_care' serves (1 km - 2 = -1)."""
    members = [make_member("m1"), make_member("m2", preferences=["elderly_care"])]
    answer = solve_checked(make_problem(members, [make_demand("d1")]), time_limit_s=LIMIT)
    assert served(answer)["d1"].members == ("m2",)
    assert answer.objective == pytest.approx(-1.0)


def test_continuity_picks_the_residents_partner(solve_checked: SolveChecked) -> None:
    """The hand-in-hand partner serves the resident (1 km - 5 = -4), beating a preference."""
    members = [make_member("m1"), make_member("m2", preferences=["elderly_care"])]
    demand = make_demand("d1", resident="r-1", preferred_members=["m1"])
    answer = solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT)
    assert served(answer)["d1"].members == ("m1",)
    assert answer.objective == pytest.approx(-4.0)


def test_continuity_outweighs_a_little_distance(solve_checked: SolveChecked) -> None:
    """A partner 3 km away (3 - 5 = -2) beats a stranger 1 km away (1)."""
    members = [make_member("m1"), make_member("m2", location=north_of(HOME, 4.0))]
    demand = make_demand("d1", resident="r-1", preferred_members=["m2"])
    answer = solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT)
    assert served(answer)["d1"].members == ("m2",)
    assert answer.objective == pytest.approx(-2.0)


def test_reliability_keeps_unreliable_member_off_urgent_demand(
    solve_checked: SolveChecked,
) -> None:
    """Urgent (5) and low (1) tasks at the same time; the reliable member takes the urgent one.

    Reliable on urgent, unreliable (0.6) on low: 2 km + 10·1·0.4 = 6. Swapped: 2 + 10·5·0.4 = 22.
    """
    members = [make_member("m1", reliability=0.6), make_member("m2")]
    demands = [
        make_demand("urgent", window=(at(9), at(10)), priority=5),
        make_demand("low", window=(at(9), at(10)), priority=1),
    ]
    answer = solve_checked(make_problem(members, demands), time_limit_s=LIMIT)
    plan = served(answer)
    assert plan["urgent"].members == ("m2",)
    assert plan["low"].members == ("m1",)
    assert answer.objective == pytest.approx(6.0)


def test_reliability_picks_the_reliable_member_when_equally_near(
    solve_checked: SolveChecked,
) -> None:
    """Two members equally near an urgent demand: the reliable one serves (objective 1)."""
    members = [make_member("m1", reliability=0.5), make_member("m2", reliability=1.0)]
    demand = make_demand("d1", priority=5)
    answer = solve_checked(make_problem(members, [demand]), time_limit_s=LIMIT)
    assert served(answer)["d1"].members == ("m2",)
    assert answer.objective == pytest.approx(1.0)


def fairness_problem(fairness: float) -> Problem:
    members = [
        make_member("m1", capacity_hours=2.0),  # 1 km
        make_member("m2", location=north_of(HOME, 2.3), capacity_hours=2.0),  # 1.3 km
    ]
    demands = [
        make_demand("d1", window=(at(9), at(10))),
        make_demand("d2", window=(at(11), at(12))),
    ]
    return make_problem(members, demands, weights={"fairness": fairness})


def test_fairness_spreads_load(solve_checked: SolveChecked) -> None:
    """With fairness on, two tasks are split (1 + 1.3 km = 2.3) rather than piled on m1.

    m1 taking both: 2 km + fairness (2 - 1) + 2·(2 - 1.5) = 4.
    """
    answer = solve_checked(fairness_problem(1.0), time_limit_s=LIMIT)
    plan = served(answer)
    assert {plan["d1"].members, plan["d2"].members} == {("m1",), ("m2",)}
    assert answer.objective == pytest.approx(2.3)


def test_without_fairness_the_nearer_member_takes_both(solve_checked: SolveChecked) -> None:
    """Control: with w.fairness = 0 the nearer member serves both tasks (2 km)."""
    answer = solve_checked(fairness_problem(0.0), time_limit_s=LIMIT)
    plan = served(answer)
    assert plan["d1"].members == plan["d2"].members == ("m1",)
    assert answer.objective == pytest.approx(2.0)


# ---------------------------------------------------------------------------------------------
# time_step_minutes


@pytest.mark.parametrize(("step", "start"), [(20, at(9, 20)), (30, at(9, 30)), (60, None)])
def test_time_step_minutes_sets_the_start_grid(
    solve_checked: SolveChecked, step: float, start: datetime | None
) -> None:
    """Free 09:10-10:30, window from 09:00, 1 h: the one grid start that fits, or none."""
    member = make_member("m1", availability=[(at(9, 10), at(10, 30))])
    problem = make_problem(
        [member], [make_demand("d1", window=(at(9), at(12)))], time_step_minutes=step
    )
    answer = solve_checked(problem, time_limit_s=LIMIT)
    if start is None:
        assert answer.assignments == ()
        assert reasons(answer) == {"d1": "no_availability"}
    else:
        a = served(answer)["d1"]
        assert a.start == start
        assert (a.start - at(9)) % timedelta(minutes=step) == timedelta(0)
