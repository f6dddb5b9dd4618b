"""The visit scheduler: every schedule it returns passes the independent verifier, and every rule
of ``docs/contracts/visits.md`` that cannot be met shows up in ``unscheduled`` with the right reason
instead of an error.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.errors import InvalidProblemError
from matcher.visits.answer import Schedule
from matcher.visits.generate import generate_visit_problem, public_holidays
from matcher.visits.problem import VisitProblem
from matcher.visits.solve import solve_visits
from matcher.visits.verify import verify_schedule
from service.contracts.visits import dump_schedule, dump_visit_problem, load_visit_problem

Json = dict[str, Any]


def _solve(data: Json, time_limit_s: float = 1.0) -> tuple[VisitProblem, Schedule]:
    problem = load_visit_problem(data)
    schedule = solve_visits(problem, time_limit_s=time_limit_s, workers=1)
    violations = verify_schedule(data, dump_schedule(schedule))
    assert violations == [], violations
    return problem, schedule


def _loc(lat: float, lon: float) -> Json:
    return {"lat": lat, "lon": lon}


def _household(i: int, dlat: float, dlon: float, minutes: float = 20, visits: int = 1) -> Json:
    return {
        "id": f"h-{i}",
        "location": _loc(34.75 + dlat, 113.62 + dlon),
        "visit_minutes": minutes,
        "visits": visits,
    }


def _base() -> Json:
    """Two teams sharing member m-3, one area each, a January of weekends."""
    return {
        "quarter": {"start": "2027-01-01", "end": "2027-01-31"},
        "visit_weekdays": ["sat", "sun"],
        "blackout_dates": ["2027-01-01"],
        "max_sessions_per_day": 4,
        "session": {"start": "09:00", "max_hours": 3.0},
        "walking_speed_kmh": 4.0,
        "members": [{"id": f"m-{k}"} for k in range(1, 7)],
        "teams": [
            {
                "id": "t-1",
                "members": ["m-1", "m-2", "m-3"],
                "leader": "m-1",
                "quorum": 2,
                "area": "a-1",
            },
            {
                "id": "t-2",
                "members": ["m-3", "m-4", "m-5", "m-6"],
                "leader": "m-4",
                "quorum": 2,
                "area": "a-2",
            },
        ],
        "areas": [
            {
                "id": "a-1",
                "start": _loc(34.75, 113.62),
                "households": [_household(k, 0.001 * k, 0.0005 * k) for k in range(1, 9)],
            },
            {
                "id": "a-2",
                "start": _loc(34.76, 113.63),
                "households": [_household(k, 0.01 + 0.001 * (k - 8), 0.01) for k in range(9, 13)],
            },
        ],
        "options": {"time_limit_s": 1, "seed": 0, "min_days_between_visits": 7},
    }


def _visits_of(schedule: Schedule) -> dict[str, list[date]]:
    seen: dict[str, list[date]] = {}
    for session in schedule.sessions:
        for household in session.route:
            seen.setdefault(household, []).append(session.date)
    return seen


def test_every_household_is_visited_and_the_schedule_passes_the_verifier() -> None:
    _, schedule = _solve(_base())
    assert schedule.status == "feasible"
    assert schedule.unscheduled == ()
    assert sorted(_visits_of(schedule)) == sorted(f"h-{k}" for k in range(1, 13))
    assert schedule.stats.sessions >= schedule.stats.lower_bound_sessions >= 2


def test_the_whole_free_team_goes_along_and_the_leader_first() -> None:
    _, schedule = _solve(_base())
    for session in schedule.sessions:
        if session.team == "t-2":
            assert session.attendees[0] == "m-4"
    assert schedule.stats.attendees_above_quorum > 0


def test_outings_fit_the_session_so_small_sessions_need_more_outings() -> None:
    data = _base()
    data["session"]["max_hours"] = 0.5  # one 20-minute household and the walk per outing
    _, schedule = _solve(data)
    assert all(len(s.route) == 1 for s in schedule.sessions)
    far = {h for u in schedule.unscheduled if u.reason == "too_far" for h in u.households}
    assert far and schedule.stats.sessions == 12 - len(far)
    assert schedule.stats.missing_visits == len(far)


def test_a_household_beyond_reach_is_unscheduled_as_too_far() -> None:
    data = _base()
    data["areas"][0]["households"].append(_household(99, 0.2, 0.0))  # about 22 km away
    _, schedule = _solve(data)
    far = [u for u in schedule.unscheduled if u.reason == "too_far"]
    assert [u.households for u in far] == [("h-99",)]
    assert far[0].team == "t-1" and "h-99" in far[0].detail


def test_a_team_that_never_gathers_its_quorum_is_unscheduled_for_quorum() -> None:
    data = _base()
    data["members"][0] = {"id": "m-1", "available_dates": []}
    data["members"][1] = {"id": "m-2", "available_dates": []}
    data["teams"][0]["quorum"] = 2  # only m-3 is ever free
    _, schedule = _solve(data)
    assert not any(s.team == "t-1" for s in schedule.sessions)
    reasons = {u.reason for u in schedule.unscheduled if u.team == "t-1"}
    assert reasons == {"quorum"}
    assert schedule.status == "feasible"  # team t-2 still goes out


def test_a_shared_member_is_never_out_twice_on_one_day() -> None:
    data = _base()
    data["quarter"] = {"start": "2027-01-02", "end": "2027-01-02"}  # one Saturday
    data["teams"][0]["members"] = ["m-1", "m-3"]
    data["teams"][1]["members"] = ["m-3", "m-4"]
    _, schedule = _solve(data)
    out = [m for s in schedule.sessions for m in s.attendees]
    assert len(out) == len(set(out))
    assert {u.reason for u in schedule.unscheduled} <= {"quorum", "capacity"}
    assert schedule.unscheduled  # both teams cannot reach quorum 2 with one shared member


def test_the_community_day_limit_caps_sessions_and_leaves_capacity_refusals() -> None:
    data = _base()
    data["quarter"] = {"start": "2027-01-02", "end": "2027-01-03"}
    data["max_sessions_per_day"] = 1
    _, schedule = _solve(data)
    per_day: dict[date, int] = {}
    for s in schedule.sessions:
        per_day[s.date] = per_day.get(s.date, 0) + 1
    assert max(per_day.values()) == 1
    assert any(u.reason == "capacity" for u in schedule.unscheduled)


def test_repeat_visits_are_spaced_and_impossible_spacing_is_reported() -> None:
    data = _base()
    data["quarter"] = {"start": "2027-01-01", "end": "2027-03-31"}
    data["areas"][0]["households"][0]["visits"] = 3
    data["options"]["min_days_between_visits"] = 21
    _, schedule = _solve(data)
    dates = sorted(_visits_of(schedule)["h-1"])
    assert len(dates) == 3
    assert all((b - a).days >= 21 for a, b in pairwise(dates))

    data["options"]["min_days_between_visits"] = 60  # three visits 60 days apart need 121 days
    _, schedule = _solve(data)
    assert len(_visits_of(schedule)["h-1"]) < 3
    assert any("h-1" in u.households and u.reason == "capacity" for u in schedule.unscheduled)


def test_blackouts_and_weekdays_are_respected() -> None:
    data = _base()
    data["visit_weekdays"] = ["sun"]
    data["blackout_dates"] = ["2027-01-03", "2027-01-10"]
    _, schedule = _solve(data)
    for s in schedule.sessions:
        assert s.date.weekday() == 6
        assert s.date not in (date(2027, 1, 3), date(2027, 1, 10))


def test_no_usable_date_at_all_gives_no_solution_not_an_error() -> None:
    data = _base()
    data["visit_weekdays"] = ["mon"]
    data["blackout_dates"] = [(date(2027, 1, 4) + timedelta(weeks=k)).isoformat() for k in range(4)]
    _, schedule = _solve(data)
    assert schedule.status == "no_solution"
    assert schedule.sessions == ()
    assert {h for u in schedule.unscheduled for h in u.households} == {
        f"h-{k}" for k in range(1, 13)
    }


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (
            "teams[0].members[1]",
            lambda d: d["teams"][0]["members"].__setitem__(1, "m-99"),
            "unknown member",
        ),
        ("teams[0].leader", lambda d: d["teams"][0].__setitem__("leader", "m-6"), "not a member"),
        ("teams[0].quorum", lambda d: d["teams"][0].__setitem__("quorum", 4), "has 3 members"),
        ("teams[1].area", lambda d: d["teams"][1].__setitem__("area", "a-9"), "unknown area"),
        ("areas[1]", lambda d: d["teams"][1].__setitem__("area", "a-1"), "no team"),
        ("quarter.end", lambda d: d["quarter"].__setitem__("end", "2026-12-01"), "before"),
        (
            "blackout_dates[0]",
            lambda d: d.__setitem__("blackout_dates", ["01/01/2027"]),
            "YYYY-MM-DD",
        ),
        (
            "visit_weekdays[0]",
            lambda d: d.__setitem__("visit_weekdays", ["saturday"]),
            "must be one of",
        ),
        ("session.start", lambda d: d["session"].__setitem__("start", "9am"), "HH:MM"),
        (
            "areas[0].households[1].id",
            lambda d: d["areas"][0]["households"][1].__setitem__("id", "h-1"),
            "duplicate",
        ),
        (
            "areas[0].households[0].colour",
            lambda d: d["areas"][0]["households"][0].__setitem__("colour", "red"),
            "unknown field",
        ),
    ],
)
def test_bad_input_names_the_field_and_the_problem(path: str, change: Any, message: str) -> None:
    data = copy.deepcopy(_base())
    change(data)
    with pytest.raises(InvalidProblemError) as caught:
        load_visit_problem(data)
    assert path in caught.value.errors, caught.value.errors
    assert any(message in text for text in caught.value.errors[path])


def test_the_generator_writes_a_valid_quarter_with_holidays_and_shared_members() -> None:
    problem = generate_visit_problem(teams=6, seed=3)
    again = load_visit_problem(dump_visit_problem(problem))
    assert again == problem
    assert date(2027, 1, 1) in problem.blackout_dates  # New Year's Day
    assert set(public_holidays(date(2027, 2, 1), date(2027, 2, 28))) >= {date(2027, 2, 6)}
    sizes = [len(t.members) for t in problem.teams]
    assert min(sizes) >= 4 and max(sizes) <= 12
    seats = sum(sizes)
    assert seats > len(problem.members)  # somebody sits in two teams
    counts = [len(a.households) for a in problem.areas]
    assert min(counts) >= 30 and max(counts) <= 300


@pytest.mark.slow
def test_a_generated_quarter_is_fully_scheduled_near_its_bound() -> None:
    problem = generate_visit_problem(teams=3, seed=1)
    data = dump_visit_problem(problem)
    schedule = solve_visits(problem, time_limit_s=4, workers=1)
    assert verify_schedule(data, dump_schedule(schedule)) == []
    assert schedule.stats.missing_visits == 0
    assert schedule.stats.sessions <= 1.2 * schedule.stats.lower_bound_sessions


@st.composite
def _problems(draw: st.DrawFn) -> Json:
    n_members = draw(st.integers(2, 6))
    data = _base()
    data["members"] = [
        {
            "id": f"m-{k}",
            "unavailable_dates": draw(
                st.lists(
                    st.sampled_from(["2027-01-02", "2027-01-03", "2027-01-09", "2027-01-16"]),
                    unique=True,
                    max_size=3,
                )
            ),
        }
        for k in range(1, n_members + 1)
    ]
    teams = []
    for t in (1, 2):
        members = draw(
            st.lists(
                st.sampled_from([f"m-{k}" for k in range(1, n_members + 1)]),
                min_size=1,
                max_size=n_members,
                unique=True,
            )
        )
        teams.append(
            {
                "id": f"t-{t}",
                "members": members,
                "leader": members[0],
                "quorum": draw(st.integers(1, len(members))),
                "area": f"a-{t}",
            }
        )
    data["teams"] = teams
    for area in data["areas"]:
        for household in area["households"]:
            household["visits"] = draw(st.integers(0, 3))
            household["visit_minutes"] = draw(st.sampled_from([10, 20, 45, 90]))
    data["max_sessions_per_day"] = draw(st.integers(1, 3))
    data["session"]["max_hours"] = draw(st.sampled_from([1.0, 2.0, 3.0]))
    data["options"]["min_days_between_visits"] = draw(st.sampled_from([0, 7, 14]))
    return data


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
def test_random_small_quarters_always_pass_the_verifier(data: Json) -> None:
    problem = load_visit_problem(data)
    schedule = solve_visits(problem, time_limit_s=0.3, workers=1)
    assert verify_schedule(data, dump_schedule(schedule)) == []


def test_a_placed_outing_moves_to_free_the_only_date_another_team_can_use() -> None:
    """Team t-1's first visit takes Saturday 2 January, the only date t-2 can gather its member
    and the day limit is one outing; the scheduler moves t-1 to Sunday so both teams go."""
    data = _base()
    data["quarter"] = {"start": "2026-12-31", "end": "2027-01-09"}
    data["blackout_dates"] = []
    data["max_sessions_per_day"] = 1
    data["members"] = [
        {"id": "m-1"},
        {"id": "m-3", "available_dates": ["2027-01-02"]},
    ]
    data["teams"] = [
        {"id": "t-1", "members": ["m-1"], "leader": "m-1", "quorum": 1, "area": "a-1"},
        {"id": "t-2", "members": ["m-3"], "leader": "m-3", "quorum": 1, "area": "a-2"},
    ]
    data["areas"][0]["households"] = [_household(1, 0.001, 0.0, visits=2)]
    data["areas"][1]["households"] = [_household(2, 0.011, 0.01)]
    data["options"]["min_days_between_visits"] = 1
    _, schedule = _solve(data)
    assert schedule.unscheduled == ()
    visits = _visits_of(schedule)
    assert visits["h-2"] == [date(2027, 1, 2)]
    assert sorted(visits["h-1"]) == [date(2027, 1, 3), date(2027, 1, 9)]


def test_progress_reports_phases_sessions_so_far_and_the_bound() -> None:
    """A long schedule tells its phase, the sessions booked so far and the lower bound."""
    problem = generate_visit_problem(teams=4, seed=2)
    events: list[tuple[str, dict[str, object]]] = []
    schedule = solve_visits(
        problem, time_limit_s=1.0, workers=1, progress=lambda p, f: events.append((p, f))
    )
    assert verify_schedule(dump_visit_problem(problem), dump_schedule(schedule)) == []
    phases = [p for p, _ in events]
    assert phases[0] == "routing" and phases[-1] == "done"
    assert phases.index("scheduling") > phases.index("routed")
    booked = [int(str(f["sessions"])) for p, f in events if p == "scheduling"]
    assert booked[0] == 0 and booked == sorted(booked) and booked[-1] > 0
    bound = schedule.stats.lower_bound_sessions
    assert {f["lower_bound_sessions"] for p, f in events if p != "routing" and p != "routed"} == {
        bound
    }
    assert events[-1][1]["sessions"] == schedule.stats.sessions >= bound
