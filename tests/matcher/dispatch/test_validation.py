"""Tests for ``matcher.dispatch.validation.validate_problem``: every error path, all at once."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from matcher.dispatch.problem import Interval, Location, Pin, Problem
from matcher.dispatch.validation import validate_problem
from matcher.errors import InvalidProblemError
from tests.matcher.dispatch.factories import (
    HOME,
    at,
    make_demand,
    make_member,
    make_problem,
    make_team,
    north_of,
)


def clean_problem() -> Problem:
    """Three members, one team, four demands, two of them pinned (one off the grid)."""
    members = [
        make_member("m1", availability=[(at(8), at(12)), (at(12), at(18))]),  # touching
        make_member("m2", skills=["mediation"], max_distance_km=3.0, reliability=0.8),
        make_member("m3", capacity_hours=0.0, preferences=["mediation"]),
        make_member("m4", skills=["elderly_care"]),
    ]
    teams = [make_team("t1", ["m1", "m2"], leader="m1"), make_team("t2", ["m3"])]
    demands = [
        make_demand("d1", pinned=(["m1"], at(9, 10))),
        make_demand(
            "d2",
            category="mediation",
            window=(at(13), at(16)),
            crew_size=2,
            team_only=True,
            pinned=(["m2", "m1"], at(13)),
        ),
        make_demand("d3", preferred_members=["m3", "m1"], priority=5),
        make_demand("d4", skills=["elderly_care", "mediation"], crew_size=2, priority=1),
    ]
    return make_problem(members, demands, teams)


def errors_of(problem: Problem) -> dict[str, list[str]]:
    with pytest.raises(InvalidProblemError) as caught:
        validate_problem(problem)
    return caught.value.errors


def with_member(problem: Problem, i: int, **changes: object) -> Problem:
    members = list(problem.members)
    members[i] = replace(members[i], **changes)  # type: ignore[arg-type]
    return problem.replace(members=tuple(members))


def with_demand(problem: Problem, i: int, **changes: object) -> Problem:
    demands = list(problem.demands)
    demands[i] = replace(demands[i], **changes)  # type: ignore[arg-type]
    return problem.replace(demands=tuple(demands))


def with_team(problem: Problem, i: int, **changes: object) -> Problem:
    teams = list(problem.teams)
    teams[i] = replace(teams[i], **changes)  # type: ignore[arg-type]
    return problem.replace(teams=tuple(teams))


def with_options(problem: Problem, **changes: object) -> Problem:
    return problem.replace(options=replace(problem.options, **changes))  # type: ignore[arg-type]


def with_weights(problem: Problem, **changes: object) -> Problem:
    weights = replace(problem.options.weights, **changes)  # type: ignore[arg-type]
    return with_options(problem, weights=weights)


def test_clean_problem_passes() -> None:
    """A consistent problem (touching intervals, off-grid pin, team pin) raises nothing."""
    validate_problem(clean_problem())


def test_member_defaults_pass() -> None:
    """Members without max_distance_km and problems without teams or pins are fine."""
    validate_problem(make_problem([make_member("m1")], [make_demand("d1")]))


Mutation = Callable[[Problem], Problem]

CASES: list[tuple[str, Mutation, str, str]] = [
    # ids
    ("dup-member", lambda p: with_member(p, 2, id="m1"), "members[2].id", "'m1'"),
    ("empty-member-id", lambda p: with_member(p, 0, id=""), "members[0].id", "non-empty"),
    ("dup-demand", lambda p: with_demand(p, 3, id="d3"), "demands[3].id", "'d3'"),
    ("dup-team", lambda p: with_team(p, 1, id="t1"), "teams[1].id", "'t1'"),
    # teams
    (
        "team-unknown-member",
        lambda p: with_team(p, 0, members=("m1", "m2", "ghost")),
        "teams[0].members[2]",
        "'ghost'",
    ),
    (
        "team-duplicate-member",
        lambda p: with_team(p, 0, members=("m1", "m2", "m1")),
        "teams[0].members[2]",
        "twice",
    ),
    ("team-leader-outside", lambda p: with_team(p, 0, leader="m3"), "teams[0].leader", "'m3'"),
    ("team-empty", lambda p: with_team(p, 1, members=()), "teams[1].members", "at least one"),
    # windows and durations
    (
        "window-inverted",
        lambda p: with_demand(p, 2, window=Interval(at(12), at(9))),
        "demands[2].window.end",
        "not after",
    ),
    (
        "window-empty",
        lambda p: with_demand(p, 2, window=Interval(at(9), at(9))),
        "demands[2].window.end",
        "not after",
    ),
    (
        "duration-zero",
        lambda p: with_demand(p, 2, duration_hours=0.0),
        "demands[2].duration_hours",
        "> 0",
    ),
    (
        "duration-too-long",
        lambda p: with_demand(p, 2, duration_hours=3.5),
        "demands[2].duration_hours",
        "longer than the window",
    ),
    ("crew-zero", lambda p: with_demand(p, 2, crew_size=0), "demands[2].crew_size", ">= 1"),
    ("priority-0", lambda p: with_demand(p, 2, priority=0), "demands[2].priority", "1..5"),
    ("priority-6", lambda p: with_demand(p, 2, priority=6), "demands[2].priority", "1..5"),
    (
        "preferred-unknown",
        lambda p: with_demand(p, 2, preferred_members=("m3", "ghost")),
        "demands[2].preferred_members[1]",
        "'ghost'",
    ),
    # availability
    (
        "interval-inverted",
        lambda p: with_member(p, 0, availability=(Interval(at(12), at(8)),)),
        "members[0].availability[0].end",
        "not after",
    ),
    (
        "interval-overlap",
        lambda p: with_member(
            p, 0, availability=(Interval(at(13), at(18)), Interval(at(8), at(14)))
        ),
        "members[0].availability[0]",
        "overlaps availability[1]",
    ),
    # member numbers
    (
        "capacity-negative",
        lambda p: with_member(p, 1, capacity_hours=-1.0),
        "members[1].capacity_hours",
        ">= 0",
    ),
    (
        "member-distance-zero",
        lambda p: with_member(p, 1, max_distance_km=0.0),
        "members[1].max_distance_km",
        "> 0",
    ),
    (
        "reliability-high",
        lambda p: with_member(p, 1, reliability=1.2),
        "members[1].reliability",
        "[0, 1]",
    ),
    (
        "reliability-low",
        lambda p: with_member(p, 1, reliability=-0.1),
        "members[1].reliability",
        "[0, 1]",
    ),
    (
        "lat",
        lambda p: with_member(p, 1, location=Location(91.0, 113.0)),
        "members[1].location.lat",
        "[-90, 90]",
    ),
    (
        "lon",
        lambda p: with_demand(p, 2, location=Location(34.0, -181.0)),
        "demands[2].location.lon",
        "[-180, 180]",
    ),
    # non-finite numbers
    (
        "nan-capacity",
        lambda p: with_member(p, 1, capacity_hours=math.nan),
        "members[1].capacity_hours",
        "finite",
    ),
    (
        "inf-duration",
        lambda p: with_demand(p, 2, duration_hours=math.inf),
        "demands[2].duration_hours",
        "finite",
    ),
    (
        "nan-lat",
        lambda p: with_demand(p, 2, location=Location(math.nan, 113.0)),
        "demands[2].location.lat",
        "finite",
    ),
    (
        "nan-weight",
        lambda p: with_weights(p, distance=math.nan),
        "options.weights.distance",
        "finite",
    ),
    (
        "inf-option",
        lambda p: with_options(p, max_distance_km=math.inf),
        "options.max_distance_km",
        "finite",
    ),
    # options
    ("time-limit", lambda p: with_options(p, time_limit_s=0), "options.time_limit_s", "> 0"),
    ("workers", lambda p: with_options(p, workers=-1), "options.workers", ">= 0"),
    ("step", lambda p: with_options(p, time_step_minutes=0), "options.time_step_minutes", "> 0"),
    (
        "changeover",
        lambda p: with_options(p, changeover_minutes=-5),
        "options.changeover_minutes",
        ">= 0",
    ),
    (
        "option-distance",
        lambda p: with_options(p, max_distance_km=0),
        "options.max_distance_km",
        "> 0",
    ),
    (
        "weight-negative",
        lambda p: with_weights(p, unassigned=-1),
        "options.weights.unassigned",
        ">= 0",
    ),
    # naive datetimes
    (
        "naive-availability",
        lambda p: with_member(p, 2, availability=(Interval(at(8).replace(tzinfo=None), at(18)),)),
        "members[2].availability[0].start",
        "no UTC offset",
    ),
    (
        "naive-window",
        lambda p: with_demand(p, 2, window=Interval(at(9), at(12).replace(tzinfo=None))),
        "demands[2].window.end",
        "no UTC offset",
    ),
    (
        "naive-pin",
        lambda p: with_demand(p, 0, pinned=Pin(("m1",), at(9, 10).replace(tzinfo=None))),
        "demands[0].pinned.start",
        "no UTC offset",
    ),
    # malformed pins
    (
        "pin-unknown-member",
        lambda p: with_demand(p, 0, pinned=Pin(("ghost",), at(9))),
        "demands[0].pinned.members[0]",
        "'ghost'",
    ),
    (
        "pin-wrong-count",
        lambda p: with_demand(p, 0, pinned=Pin(("m1", "m4"), at(9))),
        "demands[0].pinned.members",
        "crew of 1",
    ),
    (
        "pin-duplicate-member",
        lambda p: with_demand(p, 1, pinned=Pin(("m1", "m1"), at(13))),
        "demands[1].pinned.members[1]",
        "twice",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_error_path(mutate: Mutation, path: str, fragment: str) -> None:
    """Each kind of bad input is reported at its field path with a telling message."""
    errors = errors_of(mutate(clean_problem()))
    assert path in errors, errors
    assert any(fragment in message for message in errors[path]), errors[path]


def test_duplicate_reported_at_second_occurrence_only() -> None:
    """A duplicate id is reported at the second occurrence, naming the first."""
    errors = errors_of(with_member(clean_problem(), 2, id="m1"))
    assert "members[0].id" not in errors
    assert errors["members[2].id"] == ["duplicate member id 'm1' (first at members[0])"]


def test_touching_intervals_and_off_grid_pin_allowed() -> None:
    """Availability intervals may touch, and a pinned start need not be on the grid."""
    problem = with_member(
        clean_problem(), 0, availability=(Interval(at(12), at(18)), Interval(at(8), at(12)))
    )
    validate_problem(problem)


# ---------------------------------------------------------------------------------------------
# Pinned assignments must keep rules 2 (window), 3-8 on their own


PIN_CASES: list[tuple[str, Mutation, str, str]] = [
    (
        "window",
        lambda p: with_demand(p, 0, pinned=Pin(("m1",), at(8, 30))),
        "demands[0].pinned",
        "rule 2",
    ),
    (
        "availability",
        lambda p: with_demand(
            p, 0, pinned=Pin(("m1",), at(11, 30)), window=Interval(at(9), at(14))
        ),
        "demands[0].pinned",
        "rule 3",
    ),
    (
        "skills",
        lambda p: with_demand(p, 0, pinned=Pin(("m2",), at(9))),
        "demands[0].pinned",
        "rule 4",
    ),
    (
        "distance",
        lambda p: with_demand(p, 1, location=north_of(HOME, 4.0)),
        "demands[1].pinned",
        "rule 5",
    ),
    (
        "changeover",
        lambda p: with_demand(
            p, 1, window=Interval(at(9), at(16)), pinned=Pin(("m2", "m1"), at(10, 15))
        ),
        "demands[1].pinned",
        "rule 6",
    ),
    (
        "capacity",
        lambda p: with_member(p, 0, capacity_hours=1.5),
        "demands[1].pinned",
        "rule 7",
    ),
    (
        "team",
        lambda p: with_demand(
            p, 1, pinned=Pin(("m1", "m4"), at(13)), skills=("elderly_care", "mediation")
        ),
        "demands[1].pinned",
        "rule 8",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [case[1:] for case in PIN_CASES],
    ids=[case[0] for case in PIN_CASES],
)
def test_pinned_assignments_break_a_rule(mutate: Mutation, path: str, fragment: str) -> None:
    """Pinned assignments that alone break a rule are rejected under demands[i].pinned."""
    errors = errors_of(mutate(clean_problem()))
    assert list(errors) == [path], errors
    assert any(fragment in message for message in errors[path]), errors[path]


def test_pinned_team_only_crew_within_a_team_passes() -> None:
    """A team_only pin whose members form a listed team is accepted (its team is inferred)."""
    problem = clean_problem()
    assert problem.demands[1].team_only
    validate_problem(problem)


def test_all_errors_reported_together() -> None:
    """Errors in members, teams, demands, options and pins all come back in one exception."""
    problem = clean_problem()
    problem = with_member(problem, 1, reliability=2.0)
    problem = with_team(problem, 0, leader="m4")
    problem = with_demand(problem, 2, priority=9)
    problem = with_demand(problem, 3, window=Interval(at(12), at(9)))
    problem = with_options(problem, workers=-2)
    problem = with_demand(problem, 0, pinned=Pin(("m2",), at(9)))  # m2 lacks elderly_care
    errors = errors_of(problem)
    assert set(errors) == {
        "members[1].reliability",
        "teams[0].leader",
        "demands[2].priority",
        "demands[3].window.end",
        "options.workers",
        "demands[0].pinned",
    }


def test_error_is_a_value_error_with_one_line() -> None:
    """InvalidProblemError is a ValueError whose one_line names the first path and the count."""
    problem = with_options(with_member(clean_problem(), 1, reliability=2.0), workers=-1)
    with pytest.raises(ValueError) as caught:
        validate_problem(problem)
    assert isinstance(caught.value, InvalidProblemError)
    line = caught.value.one_line()
    assert line.startswith("options.workers: ") or line.startswith("members[1].reliability: ")
    assert line.endswith("(and 1 more)")


def test_pins_not_rule_checked_when_ids_are_ambiguous() -> None:
    """With duplicate ids the pinned rule checks are skipped rather than misattributed."""
    problem = with_demand(clean_problem(), 0, pinned=Pin(("m2",), at(9)))  # would break rule 4
    problem = with_member(problem, 3, id="m1")
    errors = errors_of(problem)
    assert set(errors) == {"members[3].id"}


@pytest.mark.slow
def test_validate_scales_to_150k_demands() -> None:
    """validate_problem takes a couple of seconds at most on 50,000 members, 150,000 demands."""
    members = [
        make_member(
            f"m{i}",
            location=Location(34.0 + (i % 200) * 0.01, 113.0 + (i // 200) * 0.01),
            availability=[(at(8), at(12)), (at(13), at(18)), (at(8, day=6), at(18, day=6))],
        )
        for i in range(50_000)
    ]
    demands = [
        make_demand(
            f"d{k}",
            location=north_of(members[k % 50_000].location, 0.5),
            window=(at(8) + timedelta(minutes=k % 97), at(18)),
            priority=1 + k % 5,
            preferred_members=[f"m{(k * 7) % 50_000}"],
            pinned=([f"m{k}"], at(10)) if k < 1_000 else None,
        )
        for k in range(150_000)
    ]
    problem = make_problem(members, demands, [make_team(f"t{j}", [f"m{j}"]) for j in range(5_000)])
    began = time.perf_counter()
    validate_problem(problem)
    assert time.perf_counter() - began < 5.0
