"""Times that do not fall on a whole second are rounded inwards: a member free from
14:30:00.3 is not given a task at 14:30:00 (found by the workspace, whose availability starts
at the moment it dispatches)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from matcher import solve, verify
from matcher.dispatch import problem as mp

TZ = timezone(timedelta(hours=8))


def test_an_availability_that_starts_mid_second_is_not_entered_early() -> None:
    free_from = datetime(2026, 12, 10, 14, 30, 0, 299772, tzinfo=TZ)
    window = mp.Interval(datetime(2026, 12, 10, 14, 30, tzinfo=TZ), free_from + timedelta(hours=3))
    member = mp.Member(
        id="m1",
        location=mp.Location(34.75, 113.62),
        skills=("elderly_care",),
        availability=(mp.Interval(free_from, datetime(2026, 12, 10, 17, 0, tzinfo=TZ)),),
        capacity_hours=20.0,
    )
    demand = mp.Demand(
        id="d1",
        category="elderly_care",
        skills=("elderly_care",),
        location=mp.Location(34.751, 113.62),
        window=window,
        duration_hours=1.5,
        priority=3,
    )
    problem = mp.Problem(
        members=(member,), demands=(demand,), options=mp.Options(time_limit_s=1, seed=0)
    )
    answer = solve(problem)
    assert verify(problem, answer) == []
    (assignment,) = answer.assignments
    assert assignment.start >= free_from
    assert assignment.start == datetime(2026, 12, 10, 14, 45, tzinfo=TZ)  # the next 15-min step
