"""Tests for the independent visit-schedule verifier (``matcher.visits.verify``), rule by rule.

A small hand-made problem near Zhengzhou (2 areas, 3 teams sharing members, 5 households) and a
hand-made feasible answer give no violation; each other test breaks exactly one thing in a copy of
the answer or the problem and expects a violation of that rule.
"""

from __future__ import annotations

import copy
import math
import statistics
from itertools import pairwise
from typing import Any

import pytest

from matcher.visits.verify import (
    EARTH_RADIUS_KM,
    ScheduleViolation,
    haversine_km,
    schedule_walk_km,
    verify_schedule,
)

Json = dict[str, Any]


def _loc(lat: float, lon: float) -> Json:
    return {"lat": lat, "lon": lon}


PROBLEM: Json = {
    "quarter": {"start": "2027-01-01", "end": "2027-03-31"},
    "timezone": "Asia/Shanghai",
    "visit_weekdays": ["sat", "sun"],
    "blackout_dates": ["2027-02-13"],
    "max_sessions_per_day": 2,
    "session": {"start": "09:00", "max_hours": 3.0},
    "walking_speed_kmh": 4.0,
    "members": [
        {"id": "m-1", "unavailable_dates": ["2027-01-16"]},
        {"id": "m-2"},
        {"id": "m-3"},
        {"id": "m-4"},
        {"id": "m-5", "available_dates": ["2027-01-09", "2027-01-10"]},
    ],
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
            "members": ["m-3", "m-4", "m-5"],
            "leader": "m-4",
            "quorum": 2,
            "area": "a-2",
        },
        {"id": "t-3", "members": ["m-1", "m-4"], "leader": "m-1", "quorum": 1, "area": "a-2"},
    ],
    "areas": [
        {
            "id": "a-1",
            "start": _loc(34.750, 113.620),
            "households": [
                {"id": "h-1", "location": _loc(34.752, 113.620), "visit_minutes": 20, "visits": 1},
                {"id": "h-2", "location": _loc(34.752, 113.623), "visit_minutes": 20},
                {"id": "h-3", "location": _loc(34.750, 113.624), "visit_minutes": 30, "visits": 2},
            ],
        },
        {
            "id": "a-2",
            "start": _loc(34.760, 113.630),
            "households": [
                {"id": "h-4", "location": _loc(34.762, 113.631), "visit_minutes": 25},
                {"id": "h-5", "location": _loc(34.758, 113.633), "visit_minutes": 15},
            ],
        },
    ],
    "options": {"time_limit_s": 30, "seed": 0, "min_days_between_visits": 21},
}

_AREA_OF_TEAM = {t["id"]: t["area"] for t in PROBLEM["teams"]}
_AREAS = {a["id"]: a for a in PROBLEM["areas"]}
_HOUSEHOLDS = {h["id"]: h for a in PROBLEM["areas"] for h in a["households"]}


def route_km(team: str, route: list[str]) -> float:
    """Haversine km of area start -> route -> area start, for building the fixtures."""
    start = _AREAS[_AREA_OF_TEAM[team]]["start"]
    points = [start, *(_HOUSEHOLDS[h]["location"] for h in route), start]
    return sum(haversine_km(a["lat"], a["lon"], b["lat"], b["lon"]) for a, b in pairwise(points))


def route_minutes(team: str, route: list[str]) -> float:
    walk_minutes = route_km(team, route) / PROBLEM["walking_speed_kmh"] * 60.0
    return walk_minutes + sum(_HOUSEHOLDS[h]["visit_minutes"] for h in route)


def session(team: str, day: str, attendees: list[str], route: list[str]) -> Json:
    """A session as a correct solver would report it (start 09:00, end rounded up)."""
    end_minutes = math.ceil(9 * 60 + route_minutes(team, route))
    return {
        "team": team,
        "date": day,
        "start": "09:00",
        "end": f"{end_minutes // 60:02d}:{end_minutes % 60:02d}",
        "attendees": attendees,
        "route": route,
        "walk_km": round(route_km(team, route), 3),
    }


def answer_with(sessions: list[Json], unscheduled: list[Json] | None = None) -> Json:
    """An answer whose stats are consistent with the given sessions."""
    return {
        "status": "feasible",
        "sessions": sessions,
        "unscheduled": unscheduled or [],
        "stats": {
            "sessions": len(sessions),
            "walk_km": round(sum(s["walk_km"] for s in sessions), 2),
            "solve_s": 0.1,
        },
    }


def feasible_sessions() -> list[Json]:
    return [
        session("t-1", "2027-01-09", ["m-1", "m-2"], ["h-1", "h-2", "h-3"]),
        session("t-2", "2027-01-09", ["m-3", "m-4", "m-5"], ["h-4", "h-5"]),
        session("t-1", "2027-02-06", ["m-2", "m-3"], ["h-3"]),
    ]


def feasible_answer() -> Json:
    return answer_with(feasible_sessions())


def problem_copy() -> Json:
    return copy.deepcopy(PROBLEM)


def rules_of(violations: list[ScheduleViolation]) -> set[str]:
    return {v.rule for v in violations}


def with_session(index: int, **changes: Any) -> Json:
    """The feasible answer with session ``index`` rebuilt with other team/date/attendees/route."""
    sessions = feasible_sessions()
    s = sessions[index]
    args: Json = {**{k: s[k] for k in ("team", "date", "attendees", "route")}, **changes}
    sessions[index] = session(args["team"], args["date"], args["attendees"], args["route"])
    return answer_with(sessions)


# --------------------------------------------------------------------------------------------
# The feasible answer and the distance.


def test_feasible_answer_has_no_violations() -> None:
    assert verify_schedule(PROBLEM, feasible_answer()) == []


def test_verify_does_not_modify_its_inputs() -> None:
    problem, answer = problem_copy(), feasible_answer()
    verify_schedule(problem, answer)
    assert problem == PROBLEM
    assert answer == feasible_answer()


def test_haversine_one_degree_of_latitude_is_111_195_km() -> None:
    assert EARTH_RADIUS_KM == 6371.0088
    assert haversine_km(34.0, 113.62, 35.0, 113.62) == pytest.approx(111.19508, abs=1e-4)
    assert haversine_km(34.75, 113.62, 34.75, 113.62) == 0.0


def test_schedule_walk_km_recomputes_routes_ignoring_reported_km() -> None:
    answer = feasible_answer()
    expected_km = sum(route_km(s["team"], s["route"]) for s in answer["sessions"])
    for s in answer["sessions"]:
        s["walk_km"] = 99.0
    assert schedule_walk_km(PROBLEM, answer) == pytest.approx(expected_km, rel=1e-12)


def test_schedule_walk_km_never_raises_on_a_malformed_answer() -> None:
    assert schedule_walk_km(PROBLEM, {"sessions": [None, {"team": "t-9"}, {}]}) == 0.0
    assert schedule_walk_km(PROBLEM, None) == 0.0  # type: ignore[arg-type]


def test_walk_km_computed_with_radius_6371_is_accepted() -> None:
    sessions = feasible_sessions()
    for s in sessions:
        s["walk_km"] = route_km(s["team"], s["route"]) * 6371.0 / EARTH_RADIUS_KM
    assert verify_schedule(PROBLEM, answer_with(sessions)) == []


# --------------------------------------------------------------------------------------------
# Rule 1: date inside the quarter, allowed weekday, not a blackout.


def test_rule_1_session_on_a_monday_when_only_weekends_allowed() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, date="2027-02-08"))
    assert rules_of(violations) == {"1"}
    assert violations[0].subject == "session 3 (t-1 2027-02-08)"
    assert "mon" in violations[0].message


def test_rule_1_weekday_allowed_when_visit_weekdays_absent() -> None:
    problem = problem_copy()
    del problem["visit_weekdays"]
    assert verify_schedule(problem, with_session(2, date="2027-02-08")) == []


def test_rule_1_session_on_a_blackout_date() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, date="2027-02-13"))
    assert rules_of(violations) == {"1"}
    assert "blackout" in violations[0].message


@pytest.mark.parametrize("day", ["2026-12-26", "2027-04-03"])
def test_rule_1_session_outside_the_quarter(day: str) -> None:
    index = 0 if day < "2027" else 2
    violations = verify_schedule(PROBLEM, with_session(index, date=day))
    assert rules_of(violations) == {"1"}
    assert "outside the quarter" in violations[0].message


# --------------------------------------------------------------------------------------------
# Rule 2: attendees are distinct, available members of the team, at least quorum.


def test_rule_2_attendee_not_a_member_of_the_team() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, attendees=["m-2", "m-3", "m-4"]))
    assert rules_of(violations) == {"2"}
    assert "m-4" in violations[0].message


def test_rule_2_attendee_listed_in_unavailable_dates() -> None:
    problem = problem_copy()
    problem["members"][0]["unavailable_dates"] = ["2027-01-09"]  # m-1, session 1
    violations = verify_schedule(problem, feasible_answer())
    assert rules_of(violations) == {"2"}
    assert any("m-1 is not available" in v.message for v in violations)


def test_rule_2_attendee_outside_available_dates() -> None:
    problem = problem_copy()
    problem["members"][4]["available_dates"] = ["2027-01-10"]  # m-5, session 2 on 01-09
    violations = verify_schedule(problem, feasible_answer())
    assert rules_of(violations) == {"2"}
    assert len(violations) == 1  # m-3 and m-4 still make the quorum of 2
    assert "m-5 is not available" in violations[0].message


def test_rule_2_attendees_below_quorum() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, attendees=["m-2"]))
    assert rules_of(violations) == {"2"}
    assert "quorum" in violations[0].message


def test_rule_2_duplicate_attendee_counts_once() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, attendees=["m-2", "m-2"]))
    assert rules_of(violations) == {"2"}
    assert len(violations) == 2  # the duplicate, and the quorum (1 distinct of 2)


# --------------------------------------------------------------------------------------------
# Rule 3: no member in two sessions on one date.


def test_rule_3_member_double_booked_across_two_teams_same_date() -> None:
    answer = with_session(0, attendees=["m-1", "m-2", "m-3"])  # m-3 is also in t-2's session
    violations = verify_schedule(PROBLEM, answer)
    assert rules_of(violations) == {"3"}
    assert violations[0].subject == "member m-3 on 2027-01-09"


# --------------------------------------------------------------------------------------------
# Rule 4: at most max_sessions_per_day sessions on a date.


def test_rule_4_too_many_sessions_on_one_date() -> None:
    problem = problem_copy()
    problem["max_sessions_per_day"] = 1
    violations = verify_schedule(problem, feasible_answer())
    assert rules_of(violations) == {"4"}
    assert violations[0].subject == "date 2027-01-09"


def _crowded_day(sessions_on_day: int) -> tuple[Json, Json]:
    """The problem without ``max_sessions_per_day`` and ``sessions_on_day`` one-member sessions
    of an extra team on Saturday 16 January (spacing 0, so repeat visits that day are fine)."""
    problem = problem_copy()
    del problem["max_sessions_per_day"]
    problem["options"]["min_days_between_visits"] = 0
    extra = [f"m-{k}" for k in range(6, 6 + sessions_on_day)]
    problem["members"] += [{"id": m} for m in extra]
    problem["teams"].append({"id": "t-4", "members": extra, "quorum": 1, "area": "a-2"})
    sessions = feasible_sessions()
    for m in extra:
        start = _AREAS["a-2"]["start"]
        km = 2 * haversine_km(
            start["lat"], start["lon"], _HOUSEHOLDS["h-5"]["location"]["lat"],
            _HOUSEHOLDS["h-5"]["location"]["lon"],
        )  # fmt: skip
        end = math.ceil(9 * 60 + km / 4.0 * 60 + 15)
        sessions.append(
            {
                "team": "t-4",
                "date": "2027-01-16",
                "start": "09:00",
                "end": f"{end // 60:02d}:{end % 60:02d}",
                "attendees": [m],
                "route": ["h-5"],
                "walk_km": round(km, 3),
            }
        )
    return problem, answer_with(sessions)


def test_rule_4_max_sessions_per_day_defaults_to_the_schemas_4() -> None:
    """Absent ``max_sessions_per_day`` means 4 a day, as the service's schema loads it."""
    assert verify_schedule(*_crowded_day(4)) == []
    violations = verify_schedule(*_crowded_day(5))
    assert rules_of(violations) == {"4"}
    assert violations[0].subject == "date 2027-01-16"
    assert "4 allowed" in violations[0].message


# --------------------------------------------------------------------------------------------
# Rule 5: the route, its length in time, reported km, start and end.


def test_rule_5_route_longer_than_max_hours() -> None:
    problem = problem_copy()
    problem["session"]["max_hours"] = 1.0  # session 1 takes about 87 minutes
    violations = verify_schedule(problem, feasible_answer())
    assert rules_of(violations) == {"5"}
    assert [v.subject for v in violations] == ["session 1 (t-1 2027-01-09)"]


def test_rule_5_has_no_slack_beyond_floating_point_noise() -> None:
    """The old check let 0.5% + 0.5 min through; now 0.4 min or even 1e-5 min over is a
    violation, while a session of exactly ``max_hours`` is not."""
    minutes = route_minutes("t-1", ["h-1", "h-2", "h-3"])
    problem = problem_copy()
    problem["session"]["max_hours"] = minutes / 60.0
    assert verify_schedule(problem, feasible_answer()) == []
    for over_minutes in (0.4, 0.005 * minutes + 0.5 - 0.01, 1e-5):
        problem["session"]["max_hours"] = (minutes - over_minutes) / 60.0
        violations = verify_schedule(problem, feasible_answer())
        assert rules_of(violations) == {"5"}, over_minutes
        assert [v.subject for v in violations] == ["session 1 (t-1 2027-01-09)"]


def test_rule_5_the_issues_session_of_180_41_minutes_breaks_a_3_hour_session() -> None:
    """Issue 20's example: 150 visit minutes and 2.0274 km at 4 km/h (180.41 min), 09:00-12:01,
    against ``max_hours`` 3; the same session 0.5 min shorter passes."""
    start = PROBLEM["areas"][0]["start"]
    one_way_km = 2.0274 / 2
    lat = start["lat"] + one_way_km / (EARTH_RADIUS_KM * math.pi / 180.0)  # due north
    problem = problem_copy()
    problem["areas"][0]["households"] = [
        {"id": "h-1", "location": _loc(lat, start["lon"]), "visit_minutes": 150}
    ]
    walk_km = 2 * haversine_km(start["lat"], start["lon"], lat, start["lon"])
    assert walk_km == pytest.approx(2.0274, abs=1e-9)
    answer = answer_with(
        [
            {
                "team": "t-1",
                "date": "2027-01-09",
                "start": "09:00",
                "end": "12:01",
                "attendees": ["m-1", "m-2"],
                "route": ["h-1"],
                "walk_km": round(walk_km, 4),
            }
        ],
        [{"team": "t-2", "households": ["h-4", "h-5"], "reason": "quorum", "detail": "x"}],
    )
    violations = verify_schedule(problem, answer)
    assert rules_of(violations) == {"5"}
    assert "180.41" in violations[0].message
    problem["areas"][0]["households"][0]["visit_minutes"] = 149.5
    assert verify_schedule(problem, answer) == []


def test_rule_5_household_of_another_area_in_route() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, route=["h-3", "h-4"]))
    assert rules_of(violations) == {"5"}
    assert "h-4" in violations[0].message


def test_rule_5_household_twice_in_one_route() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, route=["h-3", "h-3"]))
    assert rules_of(violations) == {"5"}


def test_rule_5_empty_route() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, route=[]))
    assert "5" in rules_of(violations)
    assert any("no household" in v.message for v in violations)


def test_rule_5_reported_walk_km_differs_from_route() -> None:
    sessions = feasible_sessions()
    sessions[0]["walk_km"] = round(sessions[0]["walk_km"] * 1.5, 3)
    violations = verify_schedule(PROBLEM, answer_with(sessions))
    assert rules_of(violations) == {"5"}
    assert "walk_km" in violations[0].message


def test_rule_5_start_differs_from_session_start() -> None:
    sessions = feasible_sessions()
    sessions[2]["start"] = "08:30"
    violations = verify_schedule(PROBLEM, answer_with(sessions))
    assert rules_of(violations) == {"5"}
    assert "08:30" in violations[0].message


def test_rule_5_end_before_the_outing_can_be_over() -> None:
    sessions = feasible_sessions()
    sessions[0]["end"] = "09:30"
    violations = verify_schedule(PROBLEM, answer_with(sessions))
    assert rules_of(violations) == {"5"}


def test_rule_5_end_one_minute_early_is_tolerated() -> None:
    sessions = feasible_sessions()
    end_minutes = math.floor(9 * 60 + route_minutes("t-1", ["h-1", "h-2", "h-3"]))
    sessions[0]["end"] = f"{end_minutes // 60:02d}:{end_minutes % 60:02d}"
    assert verify_schedule(PROBLEM, answer_with(sessions)) == []


# --------------------------------------------------------------------------------------------
# Rule 6: visits per household, by its own area's team, spaced out; unscheduled listing.


def test_rule_6_household_visited_too_few_times_and_not_unscheduled() -> None:
    violations = verify_schedule(PROBLEM, answer_with(feasible_sessions()[:2]))
    assert rules_of(violations) == {"6"}
    assert violations[0].subject == "household h-3"


def test_rule_6_household_listed_as_unscheduled_is_not_a_violation() -> None:
    unscheduled = [
        {"team": "t-1", "households": ["h-3"], "reason": "capacity", "detail": "No 2nd Saturday."}
    ]
    assert verify_schedule(PROBLEM, answer_with(feasible_sessions()[:2], unscheduled)) == []


def test_rule_6_visit_by_another_areas_team_does_not_count() -> None:
    sessions = feasible_sessions()
    sessions[1] = session("t-2", "2027-01-09", ["m-3", "m-4", "m-5"], ["h-5"])
    sessions[2] = session("t-1", "2027-02-06", ["m-2", "m-3"], ["h-3", "h-4"])
    violations = verify_schedule(PROBLEM, answer_with(sessions))
    assert rules_of(violations) == {"5", "6"}
    assert [v.subject for v in violations if v.rule == "6"] == ["household h-4"]


def test_rule_6_two_teams_of_one_area_share_the_visits() -> None:
    sessions = feasible_sessions()
    sessions[1] = session("t-3", "2027-01-10", ["m-4"], ["h-4", "h-5"])
    assert verify_schedule(PROBLEM, answer_with(sessions)) == []


def test_rule_6_visits_closer_than_min_days_between_visits() -> None:
    violations = verify_schedule(PROBLEM, with_session(2, date="2027-01-23"))  # 14 days
    assert rules_of(violations) == {"6"}
    assert "21 days" in violations[0].message


def test_rule_6_min_days_option_is_honoured() -> None:
    problem = problem_copy()
    problem["options"]["min_days_between_visits"] = 14
    assert verify_schedule(problem, with_session(2, date="2027-01-23")) == []


def test_rule_6_min_days_defaults_to_21_and_exactly_21_is_enough() -> None:
    problem = problem_copy()
    del problem["options"]
    assert rules_of(verify_schedule(problem, with_session(2, date="2027-01-23"))) == {"6"}
    assert verify_schedule(problem, with_session(2, date="2027-01-30")) == []


def test_rule_6_visits_default_to_one() -> None:
    problem = problem_copy()
    del problem["areas"][0]["households"][2]["visits"]  # h-3 needed 2, now the default
    assert verify_schedule(problem, answer_with(feasible_sessions()[:2])) == []


# --------------------------------------------------------------------------------------------
# Answer bookkeeping: unscheduled, stats, status.


def test_answer_unscheduled_entry_with_bad_reason_and_empty_detail() -> None:
    unscheduled = [{"team": "t-1", "households": ["h-3"], "reason": "weather", "detail": " "}]
    violations = verify_schedule(PROBLEM, answer_with(feasible_sessions()[:2], unscheduled))
    assert rules_of(violations) == {"answer"}
    assert len(violations) == 2
    assert {v.subject for v in violations} == {"unscheduled 1"}


def test_answer_unscheduled_household_that_got_all_its_visits() -> None:
    unscheduled = [{"team": "t-2", "households": ["h-4"], "reason": "quorum", "detail": "x"}]
    violations = verify_schedule(PROBLEM, answer_with(feasible_sessions(), unscheduled))
    assert rules_of(violations) == {"answer"}
    assert violations[0].subject == "household h-4"


def test_answer_too_far_only_for_a_household_beyond_one_session_alone() -> None:
    unscheduled = [{"team": "t-1", "households": ["h-3"], "reason": "too_far", "detail": "x"}]
    answer = answer_with(feasible_sessions()[:2], unscheduled)
    violations = verify_schedule(PROBLEM, answer)
    assert rules_of(violations) == {"answer"}
    assert "too_far" in violations[0].message and "h-3" in violations[0].message
    problem = problem_copy()
    problem["areas"][0]["households"][2]["visit_minutes"] = 200  # alone over 3 h
    problem["areas"][0]["households"][2]["visits"] = 1
    sessions = [
        session("t-1", "2027-01-09", ["m-1", "m-2"], ["h-1", "h-2"]),
        feasible_sessions()[1],
    ]
    assert verify_schedule(problem, answer_with(sessions, unscheduled)) == []


def test_answer_unscheduled_household_unknown_or_of_another_team() -> None:
    unscheduled = [
        {"team": "t-2", "households": ["h-3", "h-99"], "reason": "capacity", "detail": "x"},
    ]
    violations = verify_schedule(PROBLEM, answer_with(feasible_sessions()[:2], unscheduled))
    assert rules_of(violations) == {"answer"}
    assert len(violations) == 2


def test_answer_stats_sessions_count_mismatch() -> None:
    answer = feasible_answer()
    answer["stats"]["sessions"] = 4
    violations = verify_schedule(PROBLEM, answer)
    assert rules_of(violations) == {"answer"}
    assert violations[0].subject == "stats"


def test_answer_stats_walk_km_mismatch_beyond_rounding() -> None:
    answer = feasible_answer()
    total_km = sum(s["walk_km"] for s in answer["sessions"])
    answer["stats"]["walk_km"] = total_km + 0.0049  # stats rounded to two decimals
    assert verify_schedule(PROBLEM, answer) == []
    answer["stats"]["walk_km"] = round(total_km, 3) + 0.01
    assert rules_of(verify_schedule(PROBLEM, answer)) == {"answer"}


def _objective_of_feasible_answer() -> float:
    """The README's objective worked by hand for :func:`feasible_answer`: 3 sessions; one
    attendee above quorum (t-2's three of two); the leader in sessions 1 (m-1) and 2 (m-4);
    sessions in weeks 1, 1 and 5 of 13 weeks that all hold a weekend date."""
    walk_km = sum(route_km(s["team"], s["route"]) for s in feasible_sessions())
    per_week = [0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    return 10_000 * 3 + 10 * walk_km - 1 - 2 + statistics.pstdev(per_week)


def with_stats(**stats: Any) -> Json:
    answer = feasible_answer()
    answer["stats"].update(stats)
    return answer


def test_answer_stats_objective_is_recomputed() -> None:
    objective = _objective_of_feasible_answer()
    assert verify_schedule(PROBLEM, with_stats(objective=round(objective, 3))) == []
    for wrong in (objective + 1.0, objective - 10_000, objective + 1_000_000):
        violations = verify_schedule(PROBLEM, with_stats(objective=wrong))
        assert rules_of(violations) == {"answer"}
        assert "stats.objective" in violations[0].message


def test_answer_stats_objective_counts_missing_visits() -> None:
    """Dropping session 3 leaves h-3's second visit missing: one million more, one session
    less, and the week-5 session gone from the spread."""
    sessions = feasible_sessions()[:2]
    unscheduled = [{"team": "t-1", "households": ["h-3"], "reason": "capacity", "detail": "x"}]
    walk_km = sum(route_km(s["team"], s["route"]) for s in sessions)
    spread = statistics.pstdev([0, 2] + [0] * 11)
    objective = 1_000_000 + 10_000 * 2 + 10 * walk_km - 1 - 2 + spread
    answer = answer_with(sessions, unscheduled)
    answer["stats"].update(objective=objective, missing_visits=1)
    assert verify_schedule(PROBLEM, answer) == []
    answer["stats"]["missing_visits"] = 0
    assert rules_of(verify_schedule(PROBLEM, answer)) == {"answer"}


@pytest.mark.parametrize(
    ("key", "right", "wrong"),
    [("attendees_above_quorum", 1, 2), ("leader_present", 2, 3), ("missing_visits", 0, 1)],
)
def test_answer_stats_counts_are_recomputed(key: str, right: int, wrong: int) -> None:
    assert verify_schedule(PROBLEM, with_stats(**{key: right})) == []
    violations = verify_schedule(PROBLEM, with_stats(**{key: wrong}))
    assert rules_of(violations) == {"answer"}
    assert f"stats.{key}" in violations[0].message


def test_answer_lower_bound_above_a_complete_schedule_is_not_a_bound() -> None:
    assert verify_schedule(PROBLEM, with_stats(lower_bound_sessions=3)) == []
    assert verify_schedule(PROBLEM, with_stats(lower_bound_sessions=0)) == []
    for wrong in (4, -1, 2.5, "3"):
        violations = verify_schedule(PROBLEM, with_stats(lower_bound_sessions=wrong))
        assert rules_of(violations) == {"answer"}, wrong
        assert "lower_bound_sessions" in violations[0].message


def test_answer_lower_bound_may_exceed_an_incomplete_schedule() -> None:
    unscheduled = [{"team": "t-1", "households": ["h-3"], "reason": "capacity", "detail": "x"}]
    answer = answer_with(feasible_sessions()[:2], unscheduled)
    answer["stats"]["lower_bound_sessions"] = 3
    assert verify_schedule(PROBLEM, answer) == []


def test_answer_optimal_only_when_nothing_is_left_to_visit() -> None:
    answer = feasible_answer()
    answer["status"] = "optimal"
    assert verify_schedule(PROBLEM, answer) == []
    unscheduled = [{"team": "t-1", "households": ["h-3"], "reason": "capacity", "detail": "x"}]
    answer = answer_with(feasible_sessions()[:2], unscheduled)
    answer["status"] = "optimal"
    violations = verify_schedule(PROBLEM, answer)
    assert rules_of(violations) == {"answer"}
    assert violations[0].subject == "status"
    assert "1 visit(s) are missing" in violations[0].message


def test_household_visit_minutes_default_to_the_schemas_20() -> None:
    problem = problem_copy()
    problem["areas"][1]["households"][0]["visit_minutes"] = 20
    sessions = feasible_sessions()
    minutes = route_minutes("t-2", ["h-4", "h-5"]) - 25 + 20
    problem["session"]["max_hours"] = (minutes + 1e-7) / 60.0
    sessions = [s for s in sessions if s["team"] == "t-2"]
    unscheduled = [{"team": "t-1", "households": ["h-1", "h-2", "h-3"], "reason": "quorum",
                    "detail": "x"}]  # fmt: skip
    answer = answer_with(sessions, unscheduled)
    assert verify_schedule(problem, answer) == []
    del problem["areas"][1]["households"][0]["visit_minutes"]
    assert verify_schedule(problem, answer) == []
    problem["areas"][1]["households"][0]["visit_minutes"] = 21
    assert rules_of(verify_schedule(problem, answer)) == {"5"}


def test_answer_unknown_status() -> None:
    answer = feasible_answer()
    answer["status"] = "done"
    assert rules_of(verify_schedule(PROBLEM, answer)) == {"answer"}


def test_answer_no_solution_with_sessions() -> None:
    answer = feasible_answer()
    answer["status"] = "no_solution"
    assert rules_of(verify_schedule(PROBLEM, answer)) == {"answer"}


def test_answer_no_solution_listing_every_household_is_consistent() -> None:
    unscheduled = [
        {"team": "t-1", "households": ["h-1", "h-2", "h-3"], "reason": "quorum", "detail": "x"},
        {"team": "t-2", "households": ["h-4", "h-5"], "reason": "quorum", "detail": "y"},
    ]
    answer = answer_with([], unscheduled)
    answer["status"] = "no_solution"
    assert verify_schedule(PROBLEM, answer) == []


def test_answer_unknown_team_member_and_household_ids() -> None:
    sessions = feasible_sessions()
    sessions[2]["team"] = "t-9"
    sessions[0]["attendees"] = ["m-1", "m-2", "m-99"]
    sessions[1]["route"] = ["h-4", "h-5", "h-99"]
    violations = verify_schedule(PROBLEM, answer_with(sessions))
    answer_messages = [v.message for v in violations if v.rule == "answer"]
    assert any("t-9" in m for m in answer_messages)
    assert any("m-99" in m for m in answer_messages)
    assert any("h-99" in m for m in answer_messages)


def test_answer_bad_date_is_reported_and_skips_date_rules() -> None:
    sessions = feasible_sessions()
    sessions[0]["date"] = "2027/01/09"
    violations = verify_schedule(PROBLEM, answer_with(sessions))
    assert "answer" in rules_of(violations)
    assert "1" not in rules_of(violations)
    assert any(v.subject == "session 1 (t-1 2027/01/09)" for v in violations)


@pytest.mark.parametrize(
    "answer",
    [
        {},
        [],
        None,
        "feasible",
        {"status": "feasible"},
        {"status": "feasible", "sessions": "none", "unscheduled": {}, "stats": []},
        {"status": "feasible", "sessions": [None, 3, []], "unscheduled": [None], "stats": {}},
        {"status": "feasible", "sessions": [{}], "unscheduled": [{}], "stats": {"sessions": 1}},
        {
            "status": "feasible",
            "sessions": [
                {
                    "team": ["t-1"],
                    "date": "2027-02-30",
                    "start": "9am",
                    "end": 11,
                    "attendees": "m-1",
                    "route": [1, {"h": 2}, None],
                    "walk_km": "1.2",
                },
                {
                    "team": "t-1",
                    "date": 20270109,
                    "start": "09:00",
                    "end": "25:00",
                    "attendees": [None, ["m-1"]],
                    "route": [["h-1"]],
                    "walk_km": float("nan"),
                },
            ],
            "unscheduled": [{"team": None, "households": [["h-1"]], "reason": [], "detail": 3}],
            "stats": {"sessions": True, "walk_km": float("inf")},
        },
    ],
)
def test_answer_malformed_gives_violations_without_raising(answer: Any) -> None:
    violations = verify_schedule(PROBLEM, answer)
    assert violations
    assert "answer" in rules_of(violations)
    assert all(isinstance(v, ScheduleViolation) and v.message for v in violations)


# --------------------------------------------------------------------------------------------
# A malformed problem raises ValueError.


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("quarter",), None, "quarter"),
        (("visit_weekdays",), ["saturday"], "visit_weekdays"),
        (("teams", 0, "area"), "a-9", "a-9"),
        (("walking_speed_kmh",), 0, "walking_speed_kmh"),
        (("members", 0, "unavailable_dates"), ["2027-13-01"], "unavailable_dates"),
    ],
)
def test_malformed_problem_raises_value_error(
    path: tuple[Any, ...], value: Any, fragment: str
) -> None:
    problem = problem_copy()
    target = problem
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    with pytest.raises(ValueError, match=fragment):
        verify_schedule(problem, feasible_answer())


def test_session_and_walking_speed_default_to_the_readme_values() -> None:
    """Without ``session`` and ``walking_speed_kmh`` the contract's defaults (09:00, 3 h,
    4 km/h) apply, which the problem in this file spells out: the verdict is the same."""
    problem = problem_copy()
    assert problem["session"] == {"start": "09:00", "max_hours": 3.0}
    assert problem["walking_speed_kmh"] == 4.0
    del problem["session"]
    del problem["walking_speed_kmh"]
    assert verify_schedule(problem, feasible_answer()) == []
