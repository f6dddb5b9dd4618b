"""The quarter generators: the held-out-like quarter has the shape issue 20 describes, and a
scaled-down one is scheduled in full and passes the strict verifier."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from matcher.visits.generate import HELD_OUT_HOUSEHOLDS, held_out_like_problem
from matcher.visits.schedule import usable_dates
from matcher.visits.solve import solve_visits
from matcher.visits.verify import verify_schedule
from service.contracts.visits import dump_schedule, dump_visit_problem, load_visit_problem


def test_the_held_out_like_quarter_has_the_described_shape() -> None:
    problem = held_out_like_problem(0)
    assert len(problem.teams) == 300
    assert sum(len(a.households) for a in problem.areas) == HELD_OUT_HOUSEHOLDS
    assert (problem.quarter.start, problem.quarter.end) == (date(2027, 1, 1), date(2027, 3, 31))
    assert problem.visit_weekdays == ("sat", "sun")
    festival = {date(2027, 2, 5) + timedelta(days=k) for k in range(8)}
    assert festival <= set(problem.blackout_dates)
    assert problem.options.time_limit_s == 120
    dates = usable_dates(problem)
    assert all(d.weekday() >= 5 and d not in festival for d in dates)
    off = sum(not m.is_available(d) for m in problem.members for d in dates)
    share = off / (len(problem.members) * len(dates))
    assert 0.23 < share < 0.27  # a quarter of the members off on any date
    seats = sum(len(t.members) for t in problem.teams)
    assert seats > len(problem.members)  # some members sit in two teams
    assert load_visit_problem(dump_visit_problem(problem)) == problem


@pytest.mark.slow
def test_a_scaled_down_held_out_like_quarter_is_covered_and_verified() -> None:
    problem = held_out_like_problem(1, teams=4)
    schedule = solve_visits(problem, time_limit_s=4, workers=1)
    assert verify_schedule(dump_visit_problem(problem), dump_schedule(schedule)) == []
    assert schedule.stats.missing_visits == 0
    assert schedule.unscheduled == ()
