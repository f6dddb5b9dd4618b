"""Households left out are reported with a reason that holds for every plan: each certificate
of :mod:`matcher.visits.reasons` forced by a small quarter, every schedule verified, and the
household given as many visits as any plan could give it."""

from __future__ import annotations

from datetime import date

from matcher.visits.answer import Schedule, UnscheduledVisits
from matcher.visits.reasons import spaced_capacity
from tests.matcher.visits.test_solve import Json, _base, _household, _solve, _visits_of


def _entries(schedule: Schedule, household: str) -> list[UnscheduledVisits]:
    return [u for u in schedule.unscheduled if household in u.households]


def _only_proven(schedule: Schedule) -> None:
    assert schedule.unscheduled
    assert all(u.proven for u in schedule.unscheduled), schedule.unscheduled


def test_spaced_capacity_counts_the_most_dates_far_enough_apart() -> None:
    days = [date(2027, 1, d) for d in (2, 3, 9, 10, 16, 30)]
    assert spaced_capacity(days, 0) == 6
    assert spaced_capacity(days, 7) == 4  # 2, 9, 16, 30
    assert spaced_capacity(days, 14) == 3  # 2, 16, 30
    assert spaced_capacity([], 7) == 0


def test_spacing_that_no_calendar_allows_is_capacity_and_the_household_gets_the_most() -> None:
    data = _base()
    data["quarter"] = {"start": "2027-01-01", "end": "2027-03-31"}
    data["areas"][0]["households"][0]["visits"] = 3
    data["options"]["min_days_between_visits"] = 60
    _, schedule = _solve(data)
    (entry,) = _entries(schedule, "h-1")
    assert entry.reason == "capacity" and entry.proven
    assert "at most 2 of its 3 visits 60 days apart" in entry.detail
    assert len(_visits_of(schedule)["h-1"]) == 2
    _only_proven(schedule)


def test_a_team_never_at_quorum_is_quorum_on_no_allowed_date() -> None:
    data = _base()
    data["members"][0] = {"id": "m-1", "available_dates": []}
    data["members"][1] = {"id": "m-2", "available_dates": []}
    _, schedule = _solve(data)
    entries = [u for u in schedule.unscheduled if u.team == "t-1"]
    assert {u.reason for u in entries} == {"quorum"}
    assert all("on no allowed date" in u.detail for u in entries)
    assert {h for u in entries for h in u.households} == {f"h-{k}" for k in range(1, 9)}
    _only_proven(schedule)


def test_a_team_at_quorum_on_one_date_gives_one_of_two_visits_for_quorum() -> None:
    data = _base()
    data["members"][0] = {"id": "m-1", "available_dates": ["2027-01-09"]}
    data["members"][1] = {"id": "m-2", "available_dates": ["2027-01-09"]}
    data["areas"][0]["households"] = [_household(1, 0.001, 0.0, visits=2)]
    _, schedule = _solve(data)
    (entry,) = _entries(schedule, "h-1")
    assert entry.reason == "quorum" and entry.proven
    assert "only on 1 allowed dates (2027-01-09 to 2027-01-09)" in entry.detail
    assert _visits_of(schedule)["h-1"] == [date(2027, 1, 9)]
    _only_proven(schedule)


def _one_saturday(data: Json) -> Json:
    data["quarter"] = {"start": "2027-01-02", "end": "2027-01-02"}
    data["blackout_dates"] = []
    return data


def test_teams_sharing_the_members_they_need_are_quorum_across_teams() -> None:
    """One Saturday; t-1 = m-1 + m-3 and t-2 = m-3 + m-4 with quorum 2: the three members can
    staff one outing, the two areas need three (a-1's eight 20-minute visits and the walk out
    to its farthest household, 0.96 km, and back take more than one 3-hour session)."""
    data = _one_saturday(_base())
    data["teams"][0]["members"] = ["m-1", "m-3"]
    data["teams"][1]["members"] = ["m-3", "m-4"]
    data["teams"][1]["leader"] = "m-3"
    _, schedule = _solve(data)
    assert schedule.stats.sessions == 1
    _only_proven(schedule)
    for entry in schedule.unscheduled:
        assert entry.reason == "quorum"
        assert "teams t-1, t-2 (sharing members) need at least 3 outings" in entry.detail
        assert "can staff at most 1" in entry.detail


def test_more_outings_than_the_days_hold_is_capacity_of_the_day_limit() -> None:
    data = _one_saturday(_base())
    data["max_sessions_per_day"] = 1
    _, schedule = _solve(data)
    assert schedule.stats.sessions == 1
    reasons = {(u.reason, u.proven) for u in schedule.unscheduled}
    assert reasons == {("capacity", True)}
    assert all("raise max_sessions_per_day" in u.detail for u in schedule.unscheduled)
