"""Tests for the independent verifier (``matcher.dispatch.verify``), rule by rule.

Each rule is tested both ways: a correct answer gives no violation, and an answer breaking exactly
that rule gives violations with that rule's code and no other.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from matcher.dispatch.answer import Answer, Assignment, Load, Unassigned
from matcher.dispatch.problem import Location, Problem
from matcher.dispatch.reason_check import ReasonChecker
from matcher.dispatch.verify import (
    EARTH_RADIUS_KM,
    OPTIMAL_GAP_TOL,
    Violation,
    check_assignments,
    fairness_hours_penalty,
    location_km,
    recompute_objective,
)
from matcher.dispatch.verify import verify as contract_verify
from tests.matcher.dispatch.factories import (
    HOME,
    at,
    make_assignment,
    make_demand,
    make_member,
    make_problem,
    make_team,
    north_of,
)
from tests.matcher.dispatch.factories import make_answer as factory_answer


def trivial_bound(problem: Problem) -> float:
    """A lower bound on any plan's objective: every term but the three bonuses is at least 0."""
    w = problem.options.weights
    return -sum(d.crew_size for d in problem.demands) * (
        w.preference + w.continuity + w.paired_unit
    )


def make_answer(
    problem: Problem,
    assignments: Iterable[Assignment] = (),
    *,
    status: str | None = None,
    unassigned: Iterable[Unassigned] | None = None,
    load: Iterable[Load] | None = None,
    objective: float | None = None,
    bound: float | None = None,
    gap: float | None = None,
) -> Answer:
    """The factory's answer, with the bookkeeping the contract asks for by default: a load entry
    for every member (idle ones at 0 h), the reasons the problem and plan give (``priority`` with
    the sentence :data:`NO_REASON` when none holds: the hand-made plan leaves out a demand it
    could serve at a profit), a bound that no plan can beat, and the status its gap gives."""
    assignments = tuple(assignments)
    if unassigned is None:
        checker = ReasonChecker(problem, assignments)
        served = {a.demand for a in assignments}
        unassigned = [
            Unassigned(d.id, *_reason_for(checker.assess(d).true_reasons()))
            for d in problem.demands
            if d.id not in served
        ]
    answer = factory_answer(
        problem,
        assignments,
        unassigned=unassigned,
        load=load,
        objective=objective,
        bound=bound if bound is not None else -math.inf,
        gap=gap,
    )
    if bound is None:
        low = min(answer.objective, trivial_bound(problem))
        answer = replace(
            answer,
            bound=low,
            gap=(answer.objective - low) / max(abs(answer.objective), 1.0) if gap is None else gap,
        )
    if load is None:
        listed = {entry.member for entry in answer.load}
        idle = tuple(Load(m.id, 0.0, 0) for m in problem.members if m.id not in listed)
        answer = replace(answer, load=answer.load + idle)
    if status is None:
        status = "optimal" if answer.gap <= OPTIMAL_GAP_TOL else "feasible"
    return replace(answer, status=status)


NO_REASON = "left out by the test's hand-made plan, which could serve it: no reason holds"


def _reason_for(holds: frozenset[str]) -> tuple[str, str]:
    return (min(holds), "why") if holds else ("priority", NO_REASON)


def verify(problem: Problem, answer: Answer, **kw: Any) -> list[Violation]:
    """The verifier, less the reason violations of the demands the factory left out with
    :data:`NO_REASON` (the rule tests' plans are small and not optimal; what they check is the
    rule, and the reason checker has tests of its own)."""
    invented = {u.demand for u in answer.unassigned if u.detail == NO_REASON}
    return [
        v
        for v in contract_verify(problem, answer, **kw)
        if not (v.rule == "reason" and v.demand in invented)
    ]


def rules_of(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def assert_clean(problem: Problem, answer: Answer) -> None:
    violations = verify(problem, answer)
    assert violations == [], violations


def assert_only(problem: Problem, answer: Answer, rule: str) -> list[Violation]:
    violations = verify(problem, answer)
    assert violations, f"expected a violation of {rule!r}"
    assert rules_of(violations) == {rule}, violations
    return violations


# ---------------------------------------------------------------------------------------------
# Geometry and fairness


def test_haversine_one_degree_along_equator() -> None:
    """One degree of longitude on the equator is R·π/180 km."""
    km = location_km(Location(0.0, 0.0), Location(0.0, 1.0))
    assert km == pytest.approx(EARTH_RADIUS_KM * math.pi / 180, rel=1e-12)


def test_haversine_antipodes_and_identity() -> None:
    """Antipodal points are π·R apart; a point is 0 km from itself."""
    assert location_km(Location(0.0, 0.0), Location(0.0, 180.0)) == pytest.approx(
        math.pi * EARTH_RADIUS_KM, rel=1e-12
    )
    assert location_km(HOME, HOME) == 0.0


def test_haversine_nan_propagates() -> None:
    """A nan coordinate gives a nan distance (never a silently clamped one)."""
    assert math.isnan(location_km(Location(math.nan, 0.0), Location(0.0, 0.0)))


def test_fairness_penalty_by_hand() -> None:
    """fairness_m = max(0, h - c/2) + 2 max(0, h - 3c/4); zero for c = 0."""
    assert fairness_hours_penalty(1.0, 4.0) == 0.0
    assert fairness_hours_penalty(2.5, 4.0) == pytest.approx(0.5)
    assert fairness_hours_penalty(4.0, 4.0) == pytest.approx(2.0 + 2.0 * 1.0)
    assert fairness_hours_penalty(3.0, 0.0) == 0.0


# ---------------------------------------------------------------------------------------------
# Objective


def objective_problem() -> Problem:
    members = [
        make_member(
            "m1", capacity_hours=4.0, preferences=["elderly_care"], reliability=0.9
        ),  # skills: elderly_care + mediation
        make_member("m2", capacity_hours=1.6, skills=["mediation"]),
        make_member("m3", capacity_hours=0.0),
    ]
    demands = [
        make_demand(
            "d1",
            location=north_of(HOME, 1.0),
            duration_hours=1.5,
            priority=4,
            preferred_members=["m1"],
        ),
        make_demand(
            "d2",
            category="mediation",
            location=north_of(HOME, 2.0),
            window=(at(9), at(13)),
            duration_hours=1.5,
            priority=2,
            crew_size=2,
        ),
        make_demand("d3", priority=5),
    ]
    return make_problem(members, demands, weights={"fairness": 2.0})


def objective_answer(problem: Problem) -> Answer:
    return make_answer(
        problem,
        [
            make_assignment(problem, "d1", ["m1"], at(9)),
            make_assignment(problem, "d2", ["m1", "m2"], at(10, 45)),
        ],
    )


def test_objective_matches_hand_computation_with_fairness() -> None:
    """Objective = unassigned + distance - preference - continuity + reliability + fairness.

    d3 unassigned: 100·5 = 500.  d1/m1: 1 km - 2 (preference) - 5 (continuity) + 10·4·0.1 = -2.
    d2/m1: 2 km + 10·2·0.1 = 4.  d2/m2: 2 km.  Fairness: m1 h=3, c=4 → 1 + 0 = 1;
    m2 h=1.5, c=1.6 → 0.7 + 2·0.3 = 1.3; m3 c=0 → 0; weighted by 2 → 4.6.  Total 508.6.
    """
    problem = objective_problem()
    answer = objective_answer(problem)
    assert recompute_objective(problem, answer) == pytest.approx(508.6, rel=1e-12)
    assert_clean(problem, answer)


def test_objective_without_fairness_weight() -> None:
    """With w.fairness = 0 the objective is exactly the spec's sum (504.0 for the same answer)."""
    problem = objective_problem()
    problem = problem.replace(
        options=replace(problem.options, weights=replace(problem.options.weights, fairness=0.0))
    )
    answer = objective_answer(problem)
    assert recompute_objective(problem, answer) == pytest.approx(504.0, rel=1e-12)


def test_objective_all_unassigned() -> None:
    """With no assignment the objective is Σ w.unassigned · priority over all demands."""
    problem = objective_problem()
    assert recompute_objective(problem, make_answer(problem)) == pytest.approx(100 * (4 + 2 + 5))


def test_wrong_objective_is_flagged() -> None:
    """A reported objective off by 1 gives an "objective" violation; off by 1e-9 does not."""
    problem = objective_problem()
    answer = objective_answer(problem)
    for change, found in ((1e-9, set()), (1.0, {"objective"})):
        objective, bound = answer.objective + change, answer.bound + change
        gap = (objective - bound) / max(abs(objective), 1.0)
        moved = replace(answer, objective=objective, bound=bound, gap=gap)
        assert rules_of(verify(problem, moved)) == found


def test_non_finite_objective_is_flagged() -> None:
    """A nan objective is an "objective" violation unless the status is no_solution."""
    problem = objective_problem()
    answer = objective_answer(problem)
    bad = replace(answer, objective=math.nan)
    assert "objective" in rules_of(verify(problem, bad))
    assert "objective" not in rules_of(verify(problem, replace(bad, status="no_solution")))


# ---------------------------------------------------------------------------------------------
# Rule 1: at most once; exactly crew_size distinct known members


def crew_problem() -> Problem:
    members = [make_member("m1"), make_member("m2"), make_member("m3")]
    demands = [make_demand("d1", crew_size=2), make_demand("d2")]
    return make_problem(members, demands)


def test_rule_1_correct_crew() -> None:
    """A crew of crew_size distinct known members passes."""
    problem = crew_problem()
    assert_clean(
        problem, make_answer(problem, [make_assignment(problem, "d1", ["m1", "m2"], at(9))])
    )


@pytest.mark.parametrize(
    "members",
    [["m1"], ["m1", "m2", "m3"], ["m1", "m1"], ["m1", "ghost"]],
    ids=["too-few", "too-many", "duplicate", "unknown"],
)
def test_rule_1_wrong_crew(members: list[str]) -> None:
    """A crew of the wrong size, with a repeated member or with an unknown member breaks rule 1."""
    problem = crew_problem()
    answer = make_answer(problem, [make_assignment(problem, "d1", members, at(9))])
    assert_only(problem, answer, "1")


def test_rule_1_demand_assigned_twice() -> None:
    """The same demand in two assignments breaks rule 1."""
    problem = crew_problem()
    answer = make_answer(
        problem,
        [
            make_assignment(problem, "d2", ["m1"], at(9)),
            make_assignment(problem, "d2", ["m2"], at(9)),
        ],
    )
    violations = assert_only(problem, answer, "1")
    assert violations[0].demand == "d2"


# ---------------------------------------------------------------------------------------------
# Rule 2: window and grid


def window_problem(time_step_minutes: float = 15.0) -> Problem:
    return make_problem(
        [make_member("m1")],
        [make_demand("d1", window=(at(9), at(12)), duration_hours=1.0)],
        time_step_minutes=time_step_minutes,
    )


@pytest.mark.parametrize("start", [at(9), at(9, 15), at(11)], ids=["open", "on-grid", "last"])
def test_rule_2_inside_window_on_grid(start: datetime) -> None:
    """Starts on the 15-minute grid that keep the task in the window pass."""
    problem = window_problem()
    assert_clean(problem, make_answer(problem, [make_assignment(problem, "d1", ["m1"], start)]))


@pytest.mark.parametrize(
    "start",
    [at(8, 45), at(11, 15), at(9, 10)],
    ids=["before-window", "ends-after-window", "off-grid"],
)
def test_rule_2_broken(start: datetime) -> None:
    """Starting before the window, ending after it, or off the grid breaks rule 2."""
    problem = window_problem()
    answer = make_answer(problem, [make_assignment(problem, "d1", ["m1"], start)])
    assert_only(problem, answer, "2")


def test_rule_2_grid_counts_from_window_start() -> None:
    """The grid starts at window.start, not at the hour (window 09:05 → 09:20 ok, 09:15 not)."""
    problem = make_problem([make_member("m1")], [make_demand("d1", window=(at(9, 5), at(12)))])
    assert_clean(problem, make_answer(problem, [make_assignment(problem, "d1", ["m1"], at(9, 20))]))
    assert_only(
        problem, make_answer(problem, [make_assignment(problem, "d1", ["m1"], at(9, 15))]), "2"
    )


def test_rule_2_fractional_step() -> None:
    """A 7.5-minute grid accepts 09:07:30."""
    problem = window_problem(time_step_minutes=7.5)
    answer = make_answer(problem, [make_assignment(problem, "d1", ["m1"], at(9, 7, 30))])
    assert_clean(problem, answer)


def test_rule_2_pinned_start_exempt_from_grid_not_window() -> None:
    """A pinned start off the grid is kept as given, but must still lie in the window."""
    off_grid = make_problem([make_member("m1")], [make_demand("d1", pinned=(["m1"], at(9, 10)))])
    assert_clean(
        off_grid, make_answer(off_grid, [make_assignment(off_grid, "d1", ["m1"], at(9, 10))])
    )
    late = make_problem([make_member("m1")], [make_demand("d1", pinned=(["m1"], at(11, 30)))])
    assert_only(late, make_answer(late, [make_assignment(late, "d1", ["m1"], at(11, 30))]), "2")


def test_rule_2_naive_start_is_a_violation() -> None:
    """An answer start without offset is reported, not raised."""
    problem = window_problem()
    good = make_assignment(problem, "d1", ["m1"], at(9))
    naive = replace(good, start=good.start.replace(tzinfo=None))
    violations = verify(problem, make_answer(problem, [naive]))
    assert "2" in rules_of(violations)


# ---------------------------------------------------------------------------------------------
# Rule 3: inside one availability interval


def availability_problem() -> Problem:
    member = make_member("m1", availability=[(at(8), at(10)), (at(10), at(12))])
    return make_problem([member], [make_demand("d1", window=(at(8), at(12)), duration_hours=1.0)])


@pytest.mark.parametrize("start", [at(9), at(10), at(11)], ids=["first", "second", "to-end"])
def test_rule_3_inside_one_interval(start: datetime) -> None:
    """A task inside one interval, up to its end, passes."""
    problem = availability_problem()
    assert_clean(problem, make_answer(problem, [make_assignment(problem, "d1", ["m1"], start)]))


def test_rule_3_touching_intervals_do_not_merge() -> None:
    """09:30-10:30 straddles two touching intervals and breaks rule 3."""
    problem = availability_problem()
    answer = make_answer(problem, [make_assignment(problem, "d1", ["m1"], at(9, 30))])
    violations = assert_only(problem, answer, "3")
    assert violations[0].member == "m1"


def test_rule_3_outside_availability() -> None:
    """A member free only in the afternoon cannot take a morning task."""
    problem = make_problem(
        [make_member("m1", availability=[(at(13), at(18))])], [make_demand("d1")]
    )
    assert_only(problem, make_answer(problem, [make_assignment(problem, "d1", ["m1"], at(9))]), "3")


# ---------------------------------------------------------------------------------------------
# Rule 4: skills


def skills_problem() -> Problem:
    members = [
        make_member("both", skills=["elderly_care", "mediation"]),
        make_member("care", skills=["elderly_care"]),
        make_member("talk", skills=["mediation"]),
        make_member("care2", skills=["elderly_care"]),
    ]
    demands = [
        make_demand("solo", skills=["elderly_care", "mediation"]),
        make_demand("pair", skills=["elderly_care", "mediation"], crew_size=2),
    ]
    return make_problem(members, demands)


@pytest.mark.parametrize(
    ("demand", "crew"), [("solo", ["both"]), ("pair", ["care", "talk"])], ids=["solo", "pair"]
)
def test_rule_4_skills_held(demand: str, crew: list[str]) -> None:
    """A single member with every skill, or a crew covering them between them, passes."""
    problem = skills_problem()
    assert_clean(problem, make_answer(problem, [make_assignment(problem, demand, crew, at(9))]))


@pytest.mark.parametrize(
    ("demand", "crew"), [("solo", ["care"]), ("pair", ["care", "care2"])], ids=["solo", "pair"]
)
def test_rule_4_skill_missing(demand: str, crew: list[str]) -> None:
    """A single member missing a skill, or a crew that lacks one between them, breaks rule 4."""
    problem = skills_problem()
    answer = make_answer(problem, [make_assignment(problem, demand, crew, at(9))])
    assert_only(problem, answer, "4")


def test_rule_4_single_demand_checks_each_member_alone() -> None:
    """With crew_size 1, two members splitting the skills do not satisfy rule 4 (nor rule 1)."""
    problem = skills_problem()
    answer = make_answer(problem, [make_assignment(problem, "solo", ["care", "talk"], at(9))])
    violations = verify(problem, answer)
    assert rules_of(violations) == {"1", "4"}
    assert {v.member for v in violations if v.rule == "4"} == {"care", "talk"}


# ---------------------------------------------------------------------------------------------
# Rule 5: distance


def distance_problem() -> Problem:
    members = [make_member("near", max_distance_km=1.0), make_member("default")]
    demands = [
        make_demand("d-0.9", location=north_of(HOME, 0.9)),
        make_demand("d-1.5", location=north_of(HOME, 1.5)),
        make_demand("d-4.9", location=north_of(HOME, 4.9)),
        make_demand("d-6", location=north_of(HOME, 6.0)),
    ]
    return make_problem(members, demands, max_distance_km=5.0)


@pytest.mark.parametrize(("member", "demand"), [("near", "d-0.9"), ("default", "d-4.9")])
def test_rule_5_within_range(member: str, demand: str) -> None:
    """Within the member's own limit, or the default limit when the member has none, passes."""
    problem = distance_problem()
    assert_clean(problem, make_answer(problem, [make_assignment(problem, demand, [member], at(9))]))


@pytest.mark.parametrize(("member", "demand"), [("near", "d-1.5"), ("default", "d-6")])
def test_rule_5_out_of_range(member: str, demand: str) -> None:
    """Beyond the member's own limit, or beyond options.max_distance_km, breaks rule 5."""
    problem = distance_problem()
    answer = make_answer(problem, [make_assignment(problem, demand, [member], at(9))])
    assert_only(problem, answer, "5")


def test_rule_5_member_limit_overrides_default() -> None:
    """A member's own max_distance_km can be larger than the default."""
    problem = make_problem(
        [make_member("far", max_distance_km=8.0)],
        [make_demand("d", location=north_of(HOME, 6.0))],
        max_distance_km=5.0,
    )
    assert_clean(problem, make_answer(problem, [make_assignment(problem, "d", ["far"], at(9))]))


# ---------------------------------------------------------------------------------------------
# Rule 6: overlap and changeover


def changeover_problem() -> Problem:
    window = (at(8), at(18))
    demands = [make_demand(f"d{i}", window=window, duration_hours=1.0) for i in (1, 2, 3)]
    demands.append(make_demand("long", window=window, duration_hours=3.0))
    return make_problem([make_member("m1"), make_member("m2")], demands, changeover_minutes=15)


def test_rule_6_changeover_respected() -> None:
    """Tasks 15 minutes apart for one member, and simultaneous tasks of two members, pass."""
    problem = changeover_problem()
    answer = make_answer(
        problem,
        [
            make_assignment(problem, "d2", ["m1"], at(10, 15)),
            make_assignment(problem, "d1", ["m1"], at(9)),
            make_assignment(problem, "d3", ["m2"], at(9)),
        ],
    )
    assert_clean(problem, answer)


@pytest.mark.parametrize("second", [at(10), at(9, 30)], ids=["changeover", "overlap"])
def test_rule_6_broken(second: datetime) -> None:
    """A second task starting before the changeover has passed, or overlapping, breaks rule 6."""
    problem = changeover_problem()
    answer = make_answer(
        problem,
        [
            make_assignment(problem, "d1", ["m1"], at(9)),
            make_assignment(problem, "d2", ["m1"], second),
        ],
    )
    violations = assert_only(problem, answer, "6")
    assert [(v.member, v.demand) for v in violations] == [("m1", "d2")]


def test_rule_6_nested_tasks_all_flagged() -> None:
    """Two short tasks inside one long task of the same member are both reported."""
    problem = changeover_problem()
    answer = make_answer(
        problem,
        [
            make_assignment(problem, "long", ["m1"], at(9)),
            make_assignment(problem, "d1", ["m1"], at(9, 30)),
            make_assignment(problem, "d2", ["m1"], at(11)),
        ],
    )
    violations = assert_only(problem, answer, "6")
    assert sorted(v.demand for v in violations if v.demand) == ["d1", "d2"]


# ---------------------------------------------------------------------------------------------
# Rule 7: capacity


def capacity_problem(capacity: float) -> Problem:
    window = (at(8), at(18))
    demands = [make_demand(f"d{i}", window=window, duration_hours=1.0) for i in (1, 2)]
    return make_problem([make_member("m1", capacity_hours=capacity)], demands)


def two_tasks(problem: Problem) -> Answer:
    return make_answer(
        problem,
        [
            make_assignment(problem, "d1", ["m1"], at(9)),
            make_assignment(problem, "d2", ["m1"], at(11)),
        ],
    )


def test_rule_7_capacity_exactly_used() -> None:
    """Two one-hour tasks fit a capacity of exactly 2 h."""
    problem = capacity_problem(2.0)
    assert_clean(problem, two_tasks(problem))


def test_rule_7_capacity_exceeded() -> None:
    """Two one-hour tasks exceed a capacity of 1.5 h; the violation names the second task."""
    problem = capacity_problem(1.5)
    violations = assert_only(problem, two_tasks(problem), "7")
    assert [(v.member, v.demand) for v in violations] == [("m1", "d2")]


# ---------------------------------------------------------------------------------------------
# Rule 8: teams


def team_problem() -> Problem:
    members = [make_member(m) for m in ("m1", "m2", "m3")]
    demands = [
        make_demand("team", crew_size=2, team_only=True),
        make_demand("open", crew_size=2),
    ]
    teams = [make_team("t1", ["m1", "m2"], leader="m1"), make_team("t2", ["m2", "m3"])]
    return make_problem(members, demands, teams)


@pytest.mark.parametrize(
    ("demand", "crew", "team"),
    [("team", ["m2", "m1"], "t1"), ("open", ["m2", "m3"], "t2"), ("open", ["m1", "m3"], None)],
    ids=["team-only", "open-with-team", "open-without-team"],
)
def test_rule_8_teams_respected(demand: str, crew: list[str], team: str | None) -> None:
    """A team_only crew from one named team passes; an open demand may name a team holding it."""
    problem = team_problem()
    answer = make_answer(problem, [make_assignment(problem, demand, crew, at(9), team=team)])
    assert_clean(problem, answer)


@pytest.mark.parametrize(
    ("demand", "crew", "team"),
    [
        ("team", ["m1", "m2"], None),
        ("team", ["m1", "m3"], None),
        ("team", ["m1", "m3"], "t1"),
        ("team", ["m1", "m2"], "t-ghost"),
        ("open", ["m1", "m3"], "t1"),
        ("open", ["m1", "m2"], "t-ghost"),
    ],
    ids=[
        "team-not-named",
        "no-team-holds-crew",
        "crew-outside-named-team",
        "unknown-team",
        "open-crew-outside-team",
        "open-unknown-team",
    ],
)
def test_rule_8_broken(demand: str, crew: list[str], team: str | None) -> None:
    """A team_only demand without its team named, or any crew outside the team it names."""
    problem = team_problem()
    answer = make_answer(problem, [make_assignment(problem, demand, crew, at(9), team=team)])
    assert_only(problem, answer, "8")


# ---------------------------------------------------------------------------------------------
# Rule 9: pinned


def pinned_problem() -> Problem:
    members = [make_member(m) for m in ("m1", "m2", "m3")]
    demand = make_demand("d1", crew_size=2, pinned=(["m1", "m2"], at(9, 30)))
    return make_problem(members, [demand])


def test_rule_9_pin_kept_in_any_order() -> None:
    """The pinned members, as a set, at the pinned start pass."""
    problem = pinned_problem()
    answer = make_answer(problem, [make_assignment(problem, "d1", ["m2", "m1"], at(9, 30))])
    assert_clean(problem, answer)


@pytest.mark.parametrize(
    ("crew", "start"),
    [(["m1", "m3"], at(9, 30)), (["m1", "m2"], at(9, 45))],
    ids=["other-members", "other-start"],
)
def test_rule_9_pin_broken(crew: list[str], start: datetime) -> None:
    """Other members or another start for a pinned demand break rule 9."""
    problem = pinned_problem()
    answer = make_answer(problem, [make_assignment(problem, "d1", crew, start)])
    assert_only(problem, answer, "9")


def test_rule_9_pinned_left_unassigned() -> None:
    """A pinned demand in the unassigned list breaks rule 9."""
    problem = pinned_problem()
    assert_only(problem, make_answer(problem), "9")


# ---------------------------------------------------------------------------------------------
# Coverage


def coverage_problem() -> Problem:
    return make_problem([make_member("m1")], [make_demand("d1"), make_demand("d2")])


def test_coverage_every_demand_once() -> None:
    """One assigned and one unassigned demand cover the problem."""
    problem = coverage_problem()
    assert_clean(problem, make_answer(problem, [make_assignment(problem, "d1", ["m1"], at(9))]))


def test_coverage_missing_demand() -> None:
    """A demand neither assigned nor unassigned is a coverage violation."""
    problem = coverage_problem()
    answer = make_answer(problem, [make_assignment(problem, "d1", ["m1"], at(9))], unassigned=[])
    violations = assert_only(problem, answer, "coverage")
    assert violations[0].demand == "d2"


def test_coverage_both_assigned_and_unassigned() -> None:
    """A demand in both lists is a coverage violation."""
    problem = coverage_problem()
    answer = make_answer(
        problem,
        [make_assignment(problem, "d1", ["m1"], at(9))],
        unassigned=[Unassigned("d1", "priority", "x"), Unassigned("d2", "priority", NO_REASON)],
    )
    assert_only(problem, answer, "coverage")


def test_coverage_unassigned_twice() -> None:
    """A demand listed twice as unassigned is a coverage violation."""
    problem = coverage_problem()
    answer = make_answer(
        problem,
        unassigned=[Unassigned(d, "priority", NO_REASON) for d in ("d1", "d2", "d2")],
    )
    assert_only(problem, answer, "coverage")


def test_coverage_unknown_demands() -> None:
    """Assignments or unassigned entries for unknown demands are coverage violations."""
    problem = coverage_problem()
    ghost = Assignment("ghost", ("m1",), at(9), at(10), (1.0,))
    answer = make_answer(
        problem,
        [ghost],
        unassigned=[Unassigned(d, "priority", NO_REASON) for d in ("d1", "d2", "phantom")],
    )
    violations = assert_only(problem, answer, "coverage")
    assert {v.demand for v in violations} == {"ghost", "phantom"}


# ---------------------------------------------------------------------------------------------
# Bound, gap and status


def bound_problem() -> tuple[Problem, Answer]:
    """An optimal plan: d1 by its only member, d2 out of everyone's range (objective 301)."""
    problem = make_problem(
        [make_member("m1")], [make_demand("d1"), make_demand("d2", location=north_of(HOME, 9.0))]
    )
    return problem, make_answer(problem, [make_assignment(problem, "d1", ["m1"], at(9))])


def test_bound_below_objective_with_matching_gap() -> None:
    """A bound below the objective with gap = (obj - bound) / max(|obj|, 1) passes."""
    problem, answer = bound_problem()
    bound = answer.objective - 50.0
    assert_clean(
        problem,
        replace(answer, bound=bound, gap=50.0 / abs(answer.objective)),
    )


def test_bound_above_objective() -> None:
    """A bound above the objective is a bound violation."""
    problem, answer = bound_problem()
    assert_only(
        problem, replace(answer, bound=answer.objective + 1.0, gap=-1.0 / answer.objective), "bound"
    )


def test_gap_inconsistent() -> None:
    """A gap that does not follow from objective and bound is a bound violation."""
    problem, answer = bound_problem()
    assert_only(problem, replace(answer, bound=answer.objective - 50.0, gap=0.0), "bound")


@pytest.mark.parametrize(("status", "gap_share"), [("optimal", 5e-6), ("feasible", 0.5)])
def test_status_accepted(status: str, gap_share: float) -> None:
    """optimal passes with a gap up to the README's 1e-5, feasible with a larger one."""
    problem, answer = bound_problem()
    bound = answer.objective * (1 - gap_share)
    assert_clean(problem, replace(answer, status=status, bound=bound, gap=gap_share))


@pytest.mark.parametrize(("status", "gap_share"), [("optimal", 5e-5), ("feasible", 5e-6)])
def test_status_against_the_tolerance(status: str, gap_share: float) -> None:
    """optimal with a gap above 1e-5 (which a 1e-4 tolerance let pass), or feasible within it,
    is a status violation."""
    problem, answer = bound_problem()
    bound = answer.objective * (1 - gap_share)
    assert_only(problem, replace(answer, status=status, bound=bound, gap=gap_share), "status")


def test_no_solution_only_without_a_plan() -> None:
    """no_solution with nothing assigned passes; with a plan it is a status violation."""
    problem, answer = bound_problem()
    empty = make_answer(problem, status="no_solution")
    assert_clean(problem, empty)
    assert_only(problem, replace(answer, status="no_solution"), "status")


def test_status_unknown() -> None:
    """A status outside optimal/feasible/no_solution is a status violation."""
    problem, answer = bound_problem()
    assert_only(problem, replace(answer, status="done"), "status")


def test_status_optimal_with_large_gap() -> None:
    """Claiming optimal with a 1% gap is a status violation."""
    problem, answer = bound_problem()
    bound = answer.objective * 0.99
    assert_only(problem, replace(answer, status="optimal", bound=bound, gap=0.01), "status")


# ---------------------------------------------------------------------------------------------
# Reported distances and ends


def test_distance_reported_within_tolerance() -> None:
    """Reported distances within 1e-3 km of the haversine pass."""
    problem, answer = bound_problem()
    a = answer.assignments[0]
    fudged = replace(a, distance_km=(a.distance_km[0] + 5e-4,))
    assert_clean(problem, replace(answer, assignments=(fudged,)))


@pytest.mark.parametrize("distance_km", [(2.0,), (), (1.0, 1.0)], ids=["wrong", "short", "long"])
def test_distance_reported_wrong(distance_km: tuple[float, ...]) -> None:
    """A wrong distance, or a list not matching the crew, is a distance violation."""
    problem, answer = bound_problem()
    a = replace(answer.assignments[0], distance_km=distance_km)
    assert_only(problem, replace(answer, assignments=(a,)), "distance")


@pytest.mark.parametrize("seconds", [0.5, -0.5])
def test_end_within_a_second(seconds: float) -> None:
    """An end within one second of start + duration passes."""
    problem, answer = bound_problem()
    a = answer.assignments[0]
    a = replace(a, end=a.end + timedelta(seconds=seconds))
    assert_clean(problem, replace(answer, assignments=(a,)))


@pytest.mark.parametrize("seconds", [2, -60])
def test_end_wrong(seconds: int) -> None:
    """An end more than a second away from start + duration is an end violation."""
    problem, answer = bound_problem()
    a = answer.assignments[0]
    a = replace(a, end=a.end + timedelta(seconds=seconds))
    assert_only(problem, replace(answer, assignments=(a,)), "end")


# ---------------------------------------------------------------------------------------------
# Load


def load_problem() -> tuple[Problem, list[Assignment]]:
    window = (at(8), at(18))
    demands = [
        make_demand("d1", window=window, duration_hours=1.5),
        make_demand("d2", window=window, duration_hours=0.5),
    ]
    problem = make_problem([make_member("m1"), make_member("m2")], demands)
    assignments = [
        make_assignment(problem, "d1", ["m1"], at(9)),
        make_assignment(problem, "d2", ["m1"], at(11)),
    ]
    return problem, assignments


def test_load_right() -> None:
    """A load of 2 h / 2 tasks for m1 and 0 h / 0 tasks for the idle m2, in any order, passes."""
    problem, assignments = load_problem()
    assert_clean(
        problem,
        make_answer(problem, assignments, load=[Load("m2", 0.0, 0), Load("m1", 2.0, 2)]),
    )


IDLE = Load("m2", 0.0, 0)


@pytest.mark.parametrize(
    "load",
    [
        [],
        [Load("m1", 2.0, 2)],
        [Load("m1", 2.5, 2), IDLE],
        [Load("m1", 2.0, 1), IDLE],
        [Load("m1", 2.0, 2), Load("m2", 1.0, 1)],
        [Load("m1", 2.0, 2), IDLE, Load("ghost", 0.0, 0)],
        [Load("m1", 2.0, 2), Load("m1", 2.0, 2), IDLE],
    ],
    ids=["missing", "idle-missing", "hours", "tasks", "idle-member-loaded", "unknown", "twice"],
)
def test_load_wrong(load: list[Load]) -> None:
    """A missing entry (for a busy or an idle member), wrong hours or tasks, an unknown or a
    repeated member is a load violation."""
    problem, assignments = load_problem()
    assert_only(problem, make_answer(problem, assignments, load=load), "load")


# ---------------------------------------------------------------------------------------------
# Reasons


@pytest.mark.parametrize(
    ("reason", "detail"), [("busy", "x"), ("capacity", ""), ("capacity", "   ")]
)
def test_reason_wrong(reason: str, detail: str) -> None:
    """An unknown reason code, or an empty detail, is a reason violation."""
    problem = coverage_problem()
    answer = make_answer(
        problem,
        unassigned=[Unassigned("d1", reason, detail), Unassigned("d2", "priority", "x")],
    )
    assert_only(problem, answer, "reason")


# ---------------------------------------------------------------------------------------------
# Robustness and reuse


def test_garbage_answer_gives_violations_not_exceptions() -> None:
    """Unknown members, demands and teams, naive times and nan numbers are reported."""
    problem = team_problem()
    a1 = make_assignment(problem, "team", ["m1", "ghost"], at(9), team="t-nope")
    a1 = replace(a1, end=a1.end.replace(tzinfo=None), distance_km=(math.nan,))
    a2 = Assignment("phantom", ("nobody",), at(9), at(10), (), team="t-nope")
    a3 = replace(make_assignment(problem, "open", ["m1", "m2"], at(9)))
    a3 = replace(a3, start=a3.start.replace(tzinfo=None))
    answer = Answer(
        status="weird",
        objective=math.nan,
        bound=math.nan,
        gap=math.inf,
        assignments=(a1, a2, a3),
        unassigned=(Unassigned("ghost-demand", "?", ""),),
        load=(Load("nobody", math.nan, -1),),
    )
    rules = rules_of(verify(problem, answer))
    assert {
        "1",
        "2",
        "8",
        "coverage",
        "status",
        "objective",
        "distance",
        "end",
        "load",
        "reason",
    } <= rules


def test_check_assignments_subset_of_rules() -> None:
    """check_assignments runs only the rules asked for, and can skip the grid."""
    problem = window_problem()
    off_grid = [make_assignment(problem, "d1", ["m1"], at(9, 10))]
    assert rules_of(check_assignments(problem, off_grid)) == {"2"}
    assert check_assignments(problem, off_grid, grid=False) == []
    assert check_assignments(problem, off_grid, rules=["3", "4"]) == []
    with pytest.raises(ValueError, match="unknown rules"):
        check_assignments(problem, off_grid, rules=["42"])


@pytest.mark.slow
def test_verify_scales_to_150k_demands() -> None:
    """verify takes well under 10 s on 50,000 members and 150,000 demands, a quarter of them left
    out (no_skill or out_of_range, recomputed for each), and finds nothing."""
    n_members = 50_000
    members = [
        make_member(
            f"m{i}",
            location=Location(34.0 + (i % 200) * 0.01, 113.0 + (i // 200) * 0.01),
            availability=[(at(8), at(12)), (at(12), at(18))],
        )
        for i in range(n_members)
    ]
    homes = [m.location for m in members]
    demands = []
    assignments = []
    unassigned = []
    for k in range(3 * n_members):
        i, slot = k % n_members, k // n_members
        start = at(9 + 3 * slot)
        left_out = k % 4 == 0
        far = left_out and k % 8 == 0
        demand = make_demand(
            f"d{k}",
            location=north_of(homes[i], 400.0 if far else 0.5),  # north of every home
            skills=["plumbing"] if left_out and not far else None,
            window=(at(8), at(18)),
            priority=1 + k % 5,
        )
        demands.append(demand)
        if left_out:
            unassigned.append(Unassigned(demand.id, "out_of_range" if far else "no_skill", "why"))
        else:
            assignments.append(
                Assignment(
                    f"d{k}",
                    (f"m{i}",),
                    start,
                    start + timedelta(hours=1),
                    (location_km(homes[i], demand.location),),
                )
            )
    problem = make_problem(members, demands)
    answer = make_answer(problem, assignments, unassigned=unassigned)
    began = time.perf_counter()
    violations = verify(problem, answer)
    elapsed = time.perf_counter() - began
    assert violations == []
    assert elapsed < 10.0
