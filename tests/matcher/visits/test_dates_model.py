"""The dates model (:mod:`matcher.visits.dates_model`): dates and attendees of a group of teams
as one CP-SAT model places visits a greedy plan (its hint) leaves out, within quorum, the
day's room and the spacing. The whole pipeline around it is checked by the verifier in
``test_session_length`` and ``test_solve``; here the model's own answer is checked rule by
rule."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

from matcher.visits.dates_model import area_components, solve_dates
from matcher.visits.outings import outing_of
from matcher.visits.problem import (
    Area,
    Household,
    Point,
    Quarter,
    VisitMember,
    VisitOptions,
    VisitProblem,
    VisitTeam,
)

SAT2, SAT9 = date(2027, 1, 2), date(2027, 1, 9)


def _problem() -> VisitProblem:
    start = Point(34.75, 113.62)
    households = (
        Household("h-1", Point(34.751, 113.62), visits=2),
        Household("h-2", Point(34.749, 113.62)),
    )
    return VisitProblem(
        quarter=Quarter(SAT2, SAT9),
        members=(VisitMember("m-1"), VisitMember("m-2"), VisitMember("m-3")),
        teams=(
            VisitTeam("t-1", ("m-1", "m-2"), "a-1", quorum=1, leader="m-1"),
            VisitTeam("t-2", ("m-2", "m-3"), "a-2", quorum=1),
        ),
        areas=(Area("a-1", start, households), Area("a-2", Point(34.76, 113.63))),
        visit_weekdays=("sat",),
        max_sessions_per_day=2,
        options=VisitOptions(min_days_between_visits=7),
    )


def test_teams_sharing_a_member_form_one_component() -> None:
    problem = _problem()
    assert area_components(problem) == {"a-1": 0, "a-2": 0}
    apart = VisitTeam("t-2", ("m-3",), "a-2", quorum=1)
    split = replace(problem, teams=(problem.teams[0], apart))
    assert area_components(split) == {"a-1": 0, "a-2": 1}


def test_the_model_places_the_visit_the_greedy_plan_left_out() -> None:
    """The hint puts h-2 on 9 January, where the room is taken, so h-1's second visit (which
    must be 7 days after its first, on the 2nd) has no date; the model swaps h-2 to the 2nd."""
    problem = _problem()
    area = problem.areas[0]
    outings = [
        outing_of(problem, area, 1, ["h-1"]),
        outing_of(problem, area, 1, ["h-2"]),
        outing_of(problem, area, 2, ["h-1"]),
    ]
    hint = {0: ("t-1", SAT2, ("m-1",)), 1: ("t-1", SAT9, ("m-1",))}
    room = {SAT2: 2, SAT9: 1}
    dated = solve_dates(problem, outings, problem.teams, [SAT2, SAT9], room, hint, time_limit_s=5.0)
    assert dated is not None
    assert sorted(d.outing for d in dated) == [0, 1, 2]
    per_day = Counter(d.day for d in dated)
    assert all(per_day[day] <= room[day] for day in per_day)
    h1_days = sorted(d.day for d in dated if "h-1" in outings[d.outing].route)
    assert h1_days == [SAT2, SAT9]
    out = Counter((m, d.day) for d in dated for m in d.crew)
    assert max(out.values()) == 1  # nobody out twice a day
    teams = {t.id: t for t in problem.teams}
    for d in dated:
        assert len(d.crew) >= teams[d.team].quorum and set(d.crew) <= set(teams[d.team].members)
