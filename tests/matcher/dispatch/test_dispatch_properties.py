"""Property tests of the engine on random small problems (hypothesis, deterministic).

Every random problem (1-4 members, 1-5 demands, skills from a pool of three, one or two free
intervals in one day, crews of one or two, occasional ``team_only`` and pins, random weights and
time options) is solved through ``solve_checked``: the answer keeps every rule, reports the
objective the contract gives, covers every demand exactly once and has a bound no higher than its
objective. When the search space is tiny, the objective is also compared with the exact optimum
found by a brute-force enumerator written here from the contract alone: it enumerates, for each
demand, "left out" or a crew and a start on the grid, checks feasibility with
:func:`matcher.dispatch.verify.check_assignments` and scores with
:func:`matcher.dispatch.verify.recompute_objective`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from matcher.dispatch.answer import Answer, Assignment
from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Demand, Location, Member, Pin, Problem, Team
from matcher.dispatch.solve import SearchSettings
from matcher.dispatch.validation import validate_problem
from matcher.dispatch.verify import check_assignments, fairness_hours_penalty, recompute_objective
from matcher.errors import InvalidProblemError
from tests.matcher.dispatch.conftest import SolveChecked
from tests.matcher.dispatch.factories import (
    EARTH_RADIUS_KM,
    HOME,
    at,
    make_assignment,
    make_demand,
    make_member,
    make_problem,
    make_team,
    north_of,
)

SKILLS = ("elderly_care", "mediation", "sanitation")
LIMIT = 2.0
MAX_COMBINATIONS = 200_000  # crew choices per problem the brute force will score
MAX_NODES = 200_000  # start placements the brute force will try per problem
SINGLE_RULES = ("2", "3", "4", "5", "7", "8")  # the rules one assignment can break on its own

PROPERTY_SETTINGS = settings(
    max_examples=200,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each solve takes time
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def offset(km_north: float, km_east: float) -> Location:
    """A point about ``km_north`` north and ``km_east`` east of ``HOME``."""
    lat = HOME.lat + math.degrees(km_north / EARTH_RADIUS_KM)
    lon = HOME.lon + math.degrees(km_east / (EARTH_RADIUS_KM * math.cos(math.radians(HOME.lat))))
    return Location(round(lat, 6), round(lon, 6))


# ---------------------------------------------------------------------------------------------
# Random small problems


def minutes(m: int) -> datetime:
    """``m`` minutes after midnight on the test day."""
    return at(0) + timedelta(minutes=m)


@st.composite
def locations(draw: st.DrawFn, reach_km: float) -> Location:
    half_km = int(reach_km * 2)
    north = draw(st.integers(-half_km, half_km)) / 2
    east = draw(st.integers(-half_km, half_km)) / 2
    return offset(north, east)


@st.composite
def availabilities(draw: st.DrawFn) -> list[tuple[datetime, datetime]]:
    """One or two intervals on a 5-minute grid from 08:00, 2-10 h then 0.5-4 h; they may touch."""
    start = draw(st.integers(8 * 12, 12 * 12)) * 5
    end = start + draw(st.integers(24, 120)) * 5
    out = [(minutes(start), minutes(end))]
    if draw(st.booleans()):
        start2 = end + draw(st.integers(0, 24)) * 5
        end2 = min(start2 + draw(st.integers(6, 48)) * 5, 23 * 60)
        if end2 > start2:
            out.append((minutes(start2), minutes(end2)))
    return out


@st.composite
def members_of(draw: st.DrawFn, n: int) -> list[Member]:
    out = []
    for i in range(n):
        out.append(
            make_member(
                f"m{i + 1}",
                location=draw(locations(1.5)),
                skills=[s for s in SKILLS if draw(st.integers(0, 3))] or [SKILLS[i % 3]],
                availability=draw(availabilities()),
                capacity_hours=draw(st.sampled_from([8.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.5])),
                max_distance_km=draw(st.sampled_from([None, None, None, None, 6.0, 3.5, 2.0, 1.0])),
                preferences=draw(st.sets(st.sampled_from(SKILLS), max_size=2).map(sorted)),
                reliability=draw(st.sampled_from([1.0, 1.0, 0.95, 0.8, 0.5, 0.0])),
            )
        )
    return out


@st.composite
def teams_of(draw: st.DrawFn, member_ids: Sequence[str]) -> list[Team]:
    if len(member_ids) < 2 or not draw(st.booleans()):
        return []
    n_teams = draw(st.integers(1, 2))
    teams = []
    for t in range(n_teams):
        team = draw(
            st.lists(st.sampled_from(member_ids), min_size=1, max_size=len(member_ids), unique=True)
        )
        teams.append(make_team(f"t{t + 1}", team, leader=team[0]))
    return teams


@st.composite
def demands_of(draw: st.DrawFn, n: int, member_ids: Sequence[str], has_teams: bool) -> list[Demand]:
    out = []
    for j in range(n):
        category = draw(st.sampled_from(SKILLS))
        skills = [category]
        if draw(st.integers(0, 4)) == 0:
            skills.append(draw(st.sampled_from([s for s in SKILLS if s != category])))
        duration = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0]))
        start = draw(st.integers(9 * 4, 16 * 4)) * 15
        length = max(duration * 60, draw(st.integers(2, 12)) * 30)  # 1-6 h, at least the task
        crew_size = draw(st.integers(1, min(2, len(member_ids))))
        team_only = has_teams and draw(st.integers(0, 3)) == 0
        preferred = draw(st.lists(st.sampled_from(member_ids), max_size=2, unique=True))
        out.append(
            make_demand(
                f"d{j + 1}",
                category=category,
                skills=skills,
                location=draw(locations(1.0)),
                window=(minutes(start), minutes(start + int(length))),
                duration_hours=duration,
                priority=draw(st.integers(1, 5)),
                crew_size=crew_size,
                team_only=team_only,
                resident=f"r-{j}" if preferred else None,
                preferred_members=preferred,
            )
        )
    return out


@st.composite
def weights(draw: st.DrawFn) -> dict[str, float] | None:
    if not draw(st.booleans()):
        return None  # the defaults
    small = st.sampled_from([1.0, 0.0, 0.5, 2.0, 3.7, 10.0])
    return {
        "unassigned": draw(st.sampled_from([100.0, 250.0, 10.0, 1.0, 0.0])),
        "distance": draw(small),
        "preference": draw(small),
        "continuity": draw(small),
        "reliability": draw(small),
        "fairness": draw(small),
    }


@st.composite
def with_pins(draw: st.DrawFn, problem: Problem) -> Problem:
    """Sometimes pin a demand to a crew and start it allows on its own (sometimes 5 minutes off
    the grid, which a pin may be); keep the pin only if the problem stays valid."""
    if draw(st.integers(0, 2)) != 0:
        return problem
    j = draw(st.integers(0, len(problem.demands) - 1))
    d = problem.demands[j]
    allowed = [c for c in choices_of(problem, d) if c is not None]
    if not allowed:
        return problem
    choice = draw(st.sampled_from(allowed))
    start = draw(st.sampled_from(choice.starts))
    for shift in (draw(st.sampled_from([0, 5])), 0):
        demands = list(problem.demands)
        demands[j] = replace(d, pinned=Pin(choice.members, start + timedelta(minutes=shift)))
        pinned = problem.replace(demands=tuple(demands))
        try:
            validate_problem(pinned)
        except InvalidProblemError:
            continue
        return pinned
    return problem


@st.composite
def small_problems(draw: st.DrawFn) -> Problem:
    members = draw(st.sampled_from([3, 2, 4, 1]).flatmap(members_of))
    member_ids = [m.id for m in members]
    teams = draw(teams_of(member_ids))
    n_demands = draw(st.sampled_from([3, 4, 5, 2, 1]))
    demands = draw(demands_of(n_demands, member_ids, bool(teams)))
    problem = make_problem(
        members,
        demands,
        teams,
        weights=draw(weights()),
        time_limit_s=LIMIT,
        seed=draw(st.integers(0, 3)),
        max_distance_km=draw(st.sampled_from([5.0, 5.0, 3.0, 2.0])),
        changeover_minutes=draw(st.sampled_from([15.0, 0.0, 10.0, 30.0])),
        time_step_minutes=draw(st.sampled_from([15.0, 20.0, 30.0, 60.0])),
    )
    validate_problem(problem)
    return draw(with_pins(problem))


# ---------------------------------------------------------------------------------------------
# Brute force, from the contract alone


@dataclass(frozen=True)
class Choice:
    """One way to serve a demand: a crew (and team) and every start that it alone allows."""

    demand: Demand
    members: tuple[str, ...]
    team: str | None
    starts: tuple[datetime, ...]


def grid_starts(problem: Problem, d: Demand) -> list[datetime]:
    """Every start on the ``time_step_minutes`` grid from the window start that fits the window."""
    if d.pinned is not None:
        return [d.pinned.start]
    step = timedelta(minutes=problem.options.time_step_minutes)
    duration = timedelta(hours=d.duration_hours)
    out, s = [], d.window.start
    while s + duration <= d.window.end:
        out.append(s)
        s += step
    return out


def choices_of(problem: Problem, d: Demand) -> list[Choice | None]:
    """``None`` (left out, unless pinned) and every crew with at least one start it keeps alone."""
    if d.pinned is not None:
        crews: list[tuple[str, ...]] = [tuple(d.pinned.members)]
        out: list[Choice | None] = []
    else:
        crews = list(itertools.combinations([m.id for m in problem.members], d.crew_size))
        out = [None]
    for crew in crews:
        team = None
        if d.team_only:
            holding = [t.id for t in problem.teams if set(crew) <= set(t.members)]
            if not holding:
                continue
            team = holding[0]  # any holding team will do: the objective does not see it
        starts = tuple(
            s
            for s in grid_starts(problem, d)
            if not check_assignments(
                problem,
                [make_assignment(problem, d.id, crew, s, team=team)],
                rules=SINGLE_RULES,
            )
        )
        if starts:
            out.append(Choice(d, crew, team, starts))
    return out


def place_starts(
    problem: Problem, picked: list[Choice], budget: list[int]
) -> list[Assignment] | None:
    """Starts for the picked crews with no member double-booked or short of changeover.

    Depth-first over the choices, fewest starts first; ``budget[0]`` counts placements left.
    """
    changeover = timedelta(minutes=problem.options.changeover_minutes)
    order = sorted(picked, key=lambda c: len(c.starts))
    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    chosen: list[datetime] = []

    def clear(c: Choice, start: datetime) -> bool:
        end = start + timedelta(hours=c.demand.duration_hours)
        return all(
            start >= e + changeover or s >= end + changeover
            for m in c.members
            for s, e in busy.get(m, ())
        )

    def dfs(i: int) -> bool:
        if i == len(order):
            return True
        c = order[i]
        for start in c.starts:
            budget[0] -= 1
            if budget[0] < 0:
                raise OverflowError
            if not clear(c, start):
                continue
            end = start + timedelta(hours=c.demand.duration_hours)
            for m in c.members:
                busy.setdefault(m, []).append((start, end))
            chosen.append(start)
            if dfs(i + 1):
                return True
            chosen.pop()
            for m in c.members:
                busy[m].pop()
        return False

    if not dfs(0):
        return None
    return [
        make_assignment(problem, c.demand.id, c.members, s, team=c.team)
        for c, s in zip(order, chosen, strict=True)
    ]


def brute_force_optimum(problem: Problem) -> float | None:
    """The exact optimum, or ``None`` if the search space is too big to enumerate.

    The objective depends only on who serves what, not on starts; so crew choices are scored
    first (with the contract's formula), then tried in increasing order of score until one admits
    starts that keep every rule. The winner is re-checked with ``check_assignments`` and scored
    with ``recompute_objective``.
    """
    w = problem.options.weights
    capacity = {m.id: m.capacity_hours for m in problem.members}
    options = [choices_of(problem, d) for d in problem.demands]
    if math.prod(len(o) for o in options) > MAX_COMBINATIONS:
        return None

    terms: dict[tuple[str, tuple[str, ...]], float] = {}
    for d, opts in zip(problem.demands, options, strict=True):
        for c in opts:
            if c is None:
                continue
            # the member terms of this crew alone: its objective minus the rest left out
            alone = Answer(
                "feasible",
                0.0,
                0.0,
                0.0,
                (make_assignment(problem, d.id, c.members, c.starts[0], team=c.team),),
            )
            with_all_out = sum(w.unassigned * x.priority for x in problem.demands if x is not d)
            hours = d.duration_hours
            fairness = sum(fairness_hours_penalty(hours, capacity[m]) for m in c.members)
            terms[(d.id, c.members)] = (
                recompute_objective(problem, alone) - with_all_out - w.fairness * fairness
            )

    def score(combo: tuple[Choice | None, ...]) -> float:
        total = 0.0
        hours: dict[str, float] = {}
        for d, c in zip(problem.demands, combo, strict=True):
            if c is None:
                total += w.unassigned * d.priority
                continue
            total += terms[(d.id, c.members)]
            for m in c.members:
                hours[m] = hours.get(m, 0.0) + d.duration_hours
        return total + w.fairness * sum(
            fairness_hours_penalty(h, capacity[m]) for m, h in hours.items()
        )

    ranked = sorted(itertools.product(*options), key=score)
    budget = [MAX_NODES]
    for combo in ranked:
        picked = [c for c in combo if c is not None]
        load: dict[str, float] = {}
        for c in picked:
            for m in c.members:
                load[m] = load.get(m, 0.0) + c.demand.duration_hours
        if any(h > capacity[m] + 1e-9 for m, h in load.items()):
            continue
        try:
            assignments = place_starts(problem, picked, budget)
        except OverflowError:
            return None
        if assignments is None:
            continue
        assert check_assignments(problem, assignments) == []
        best = recompute_objective(problem, Answer("feasible", 0.0, 0.0, 0.0, tuple(assignments)))
        assert best == pytest.approx(score(combo), abs=1e-6)
        return best
    raise AssertionError("no feasible plan found, but leaving every open demand out is one")


# ---------------------------------------------------------------------------------------------
# The oracle itself, on problems whose optimum is known by hand


def oracle_cases() -> list[tuple[str, Problem, float]]:
    both = ["elderly_care", "mediation"]
    return [
        (
            "fairness-splits",
            make_problem(
                [
                    make_member("m1", capacity_hours=2.0),
                    make_member("m2", location=north_of(HOME, 2.3), capacity_hours=2.0),
                ],
                [
                    make_demand("d1", window=(at(9), at(10))),
                    make_demand("d2", window=(at(11), at(12))),
                ],
            ),
            2.3,
        ),
        (
            "overlap-one-member",
            make_problem(
                [make_member("m1")],
                [
                    make_demand("d1", window=(at(9), at(10))),
                    make_demand("d2", window=(at(9), at(10)), priority=5),
                ],
            ),
            301.0,
        ),
        (
            "crew-after-solo",
            make_problem(
                [make_member("m1"), make_member("m2")],
                [
                    make_demand("solo", window=(at(9), at(10)), duration_hours=0.5),
                    make_demand(
                        "crew", window=(at(9), at(10, 30)), crew_size=2, duration_hours=0.5
                    ),
                ],
            ),
            3.0,
        ),
        (
            "leave-out-is-cheaper",
            make_problem(
                [make_member("m1", location=north_of(HOME, -2.0))],
                [make_demand("d1", priority=1)],
                weights={"unassigned": 1.0},
            ),
            1.0,
        ),
        (
            "team-only-solo",
            make_problem(
                [make_member("m1", skills=both), make_member("m2", location=north_of(HOME, 3.0))],
                [make_demand("d1", team_only=True)],
                [make_team("t1", ["m2"])],
            ),
            2.0,
        ),
        (
            "pinned-far-member",
            make_problem(
                [make_member("m1"), make_member("m2", location=north_of(HOME, 3.0))],
                [make_demand("d1", pinned=(["m2"], at(9, 10)))],
            ),
            2.0,
        ),
    ]


@pytest.mark.parametrize(
    ("problem", "expected"),
    [pytest.param(p, e, id=name) for name, p, e in oracle_cases()],
)
def test_brute_force_finds_the_hand_computed_optimum(problem: Problem, expected: float) -> None:
    """The brute-force oracle itself: on hand-made problems it returns the optimum worked out
    by hand (fairness, overlaps, crews, the unassigned trade-off, team_only, pins)."""
    validate_problem(problem)
    assert brute_force_optimum(problem) == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Properties


def covered_ids(answer: Answer) -> list[str]:
    return sorted([a.demand for a in answer.assignments] + [u.demand for u in answer.unassigned])


@PROPERTY_SETTINGS
@given(problem=small_problems())
def test_random_small_problems_get_verified_optimal_answers(
    problem: Problem, solve_checked: SolveChecked
) -> None:
    """Random small problems: a verified answer covering each demand once; where the search
    space is tiny, its bound is at most and its objective equal to the brute-force optimum."""
    note(repr(problem))
    answer = solve_checked(problem)
    note(repr(answer))
    event("served some" if answer.assignments else "served none")
    if any(len(a.members) > 1 for a in answer.assignments):
        event("served a crew")
    if any(d.pinned is not None for d in problem.demands):
        event("has a pin")
    assert covered_ids(answer) == sorted(d.id for d in problem.demands)
    optimum = brute_force_optimum(problem)
    if optimum is None:
        event("too big for the brute force")
        return
    assert answer.bound <= optimum + 1e-6, (answer.bound, optimum)
    assert answer.objective == pytest.approx(optimum, abs=1e-6), answer


# ---------------------------------------------------------------------------------------------
# Determinism


def assert_same_answer(first: Answer, second: Answer) -> None:
    assert first.assignments == second.assignments
    assert first.unassigned == second.unassigned
    assert first.objective == second.objective


def test_same_seed_gives_the_same_answer(solve_checked: SolveChecked) -> None:
    """A small district the engine settles before its limit: two solves with one seed agree
    on every assignment, every reason and the objective."""
    problem = generate_district(members=40, demands=60, seed=4)
    first = solve_checked(problem, time_limit_s=LIMIT, seed=3)
    second = solve_checked(problem, time_limit_s=LIMIT, seed=3)
    assert_same_answer(first, second)


@pytest.mark.slow
def test_same_seed_gives_the_same_answer_when_the_time_limit_ends_the_search(
    solve_checked: SolveChecked,
) -> None:
    """A district whose search would run to the time limit: with one worker the search runs a
    fixed round budget, so the same seed gives the same assignments and objective (the house
    style's determinism promise). The limit is generous and the round budget half the default
    (the sub-models that hold the current plan take longer), so a loaded machine keeps up."""
    problem = generate_district(members=100, demands=250, seed=2)
    settings = SearchSettings(search_rounds=8)
    first = solve_checked(problem, time_limit_s=4 * LIMIT, seed=5, workers=1, settings=settings)
    for _ in range(2):
        again = solve_checked(problem, time_limit_s=4 * LIMIT, seed=5, workers=1, settings=settings)
        assert_same_answer(first, again)
