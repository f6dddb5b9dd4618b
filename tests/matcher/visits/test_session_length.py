"""Rule 5 holds after every step that changes a route: the router's answer (even when its time
runs out before a feasible plan), merging small outings, and the scheduler taking households
out of an outing. Random quarters from the project's generator, every knob varied, are checked
by the independent, strict verifier (1e-6 min, no slack).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from matcher.visits import outings as outings_module
from matcher.visits.generate import SHAPE_CHOICES, QuarterShape, small_quarter
from matcher.visits.outings import fits, outing_of, split_to_fit
from matcher.visits.problem import Session, VisitProblem
from matcher.visits.routing import Routes
from matcher.visits.solve import solve_visits
from matcher.visits.verify import verify_schedule
from service.contracts.visits import dump_schedule, dump_visit_problem


def _verified(problem: VisitProblem, *, time_limit_s: float = 0.05) -> list[Any]:
    schedule = solve_visits(problem, time_limit_s=time_limit_s, workers=1)
    return verify_schedule(dump_visit_problem(problem), dump_schedule(schedule))


def _shapes() -> st.SearchStrategy[QuarterShape]:
    return st.builds(
        QuarterShape,
        seed=st.integers(0, 2**31 - 1),
        **{name: st.sampled_from(values) for name, values in SHAPE_CHOICES.items()},
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_shapes())
# Quarters where the dates model once moved a household out without listing it (rule 6).
@example(QuarterShape(433444854, 3, 6, 30, 13, ("sat",), 0.5, 30, 4.0, 6))
@example(QuarterShape(221205035, 3, 4, 90, 4, ("sat",), 0.5, 0, 2.0, 6))
@example(QuarterShape(1262546464, 3, 6, 60, 2, ("sun",), 0.5, 21, 5.0, 6))
def test_random_generated_quarters_never_break_the_session_length(shape: QuarterShape) -> None:
    """Every rule holds, rule 5 included. The issue's target is 0 violations over 1,000 or
    more such quarters: this test runs 200 per CI run; ``python -m benchmarks visits --quarters
    1000`` runs the rest (RESULTS.md)."""
    assert _verified(small_quarter(shape)) == []


def _problem(max_hours: float = 1.0) -> VisitProblem:
    problem = small_quarter(QuarterShape(seed=5, households_per_team=40))
    return dataclasses.replace(problem, session=Session(max_hours=max_hours))


def test_a_router_answer_over_the_session_is_cut_into_outings_that_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A router that gives up (one route through every household, far over one hour) still
    yields a schedule with no session over the limit."""

    def one_long_route(job: outings_module.RoutingJob) -> Routes:
        return Routes(
            routes=(tuple(range(1, len(job.households) + 1)),), distance=0, feasible=False
        )

    monkeypatch.setattr(outings_module, "run_job", one_long_route)
    problem = _problem()
    area = problem.areas[0]
    everyone = outing_of(problem, area, 1, [h.id for h in area.households])
    assert not fits(problem, everyone)
    pieces = split_to_fit(problem, area, everyone)
    assert len(pieces) > 1 and all(fits(problem, p) for p in pieces)
    assert [h for p in pieces for h in p.route] == list(everyone.route)
    assert _verified(problem) == []


def test_an_outing_that_fits_is_not_cut() -> None:
    problem = _problem(max_hours=3.0)
    area = problem.areas[0]
    one = outing_of(problem, area, 1, [area.households[0].id])
    assert split_to_fit(problem, area, one) == [one]


def test_a_household_that_fits_exactly_alone_is_not_too_far() -> None:
    """A household whose out-and-back walk plus visit equals the session is scheduled (the
    old router margins called it too far); one a minute more is ``too_far``."""
    problem = _problem(max_hours=3.0)
    area = problem.areas[0]
    first = area.households[0]
    alone = outing_of(problem, area, 1, [first.id])
    for extra_min, reason in ((0.0, None), (1.0, "too_far")):
        visit_min = problem.session.max_minutes - alone.walk_minutes + extra_min
        households = (dataclasses.replace(first, visit_minutes=visit_min), *area.households[1:])
        changed = dataclasses.replace(
            problem, areas=(dataclasses.replace(area, households=households),)
        )
        schedule = solve_visits(changed, time_limit_s=0.2, workers=1)
        assert verify_schedule(dump_visit_problem(changed), dump_schedule(schedule)) == []
        reasons = {u.reason for u in schedule.unscheduled if first.id in u.households}
        assert reasons == ({reason} if reason else set())
