"""Solve a quarter of team visits: route each area's rounds, then date and staff the outings.

The objective, smaller is better (weights also in the README)::

    1,000,000 × missing visits        (a household visit the schedule could not place)
    + 10,000  × sessions              (members' Saturdays are precious)
    +     10  × walking km
    −      1  × attendees above quorum
    −      1  × sessions with the team leader present
    +      1  × standard deviation of sessions per week of the quarter

The stages follow that order: routing fixes the outings (fewest, then shortest), scheduling then
gives them dates and attendees, so no stage trades a higher-order term for a lower one.
"""

from __future__ import annotations

import math
import os
import time as clock
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, time, timedelta

import numpy as np

from matcher.visits.answer import Schedule, ScheduleStats, UnscheduledVisits, VisitSession
from matcher.visits.outings import AreaPlan, Outing, fits, route_areas, shrink_outing
from matcher.visits.problem import VisitProblem
from matcher.visits.reasons import Shortfall, explain_shortfalls
from matcher.visits.schedule import Booking, Refusal, assign_dates, usable_dates

MISSING_VISIT_WEIGHT = 1_000_000.0
SESSION_WEIGHT = 10_000.0
WALK_KM_WEIGHT = 10.0
EXTRA_ATTENDEE_WEIGHT = 1.0
LEADER_WEIGHT = 1.0
SPREAD_WEIGHT = 1.0
ROUTING_SHARE = 0.7
"""Share of the time limit the routers get; scheduling and the answer take the rest."""
MODEL_SHARE = 0.25
"""Share of the time limit the dates model may take when households are still short."""
JOB_OVERHEAD_S = 0.03
"""Measured cost of one routing job beyond its own time limit (data building, start-up)."""

ProgressFn = Callable[[str, dict[str, object]], None]


def solve_visits(
    problem: VisitProblem,
    *,
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> Schedule:
    """Schedule a validated visit problem (see :func:`validate_visit_problem`).

    Args:
        problem: The quarter.
        time_limit_s, seed: Override ``problem.options``.
        workers: Processes for routing (default: every core; 1 routes in this process).
        progress: Called with a phase name and figures as the solve goes on.

    Returns:
        A schedule; households that cannot get all their visits are in ``unscheduled``.
    """
    t0 = clock.perf_counter()
    limit = float(problem.options.time_limit_s if time_limit_s is None else time_limit_s)
    seed = int(problem.options.seed if seed is None else seed)
    cores = max(1, (os.cpu_count() or 1) if workers is None or workers <= 0 else workers)

    def tell(phase: str, **figures: object) -> None:
        if progress is not None:
            progress(phase, {"elapsed_s": round(clock.perf_counter() - t0, 3), **figures})

    budget = max(0.05, limit * ROUTING_SHARE) * cores
    # Each routing job costs a few tens of milliseconds beyond its own limit.
    jobs = sum(1 for a in problem.areas if any(h.visits > 0 for h in a.households))
    budget = max(0.05 * cores, budget - JOB_OVERHEAD_S * jobs)
    tell("routing", workers=cores)

    def routed(done: int, total: int) -> None:
        tell("routed", done=done, total=total)

    if cores > 1:
        with ProcessPoolExecutor(max_workers=cores) as pool:
            plans = route_areas(problem, budget, seed, executor=pool, on_done=routed, workers=cores)
    else:
        plans = route_areas(problem, budget, seed, on_done=routed)
    outings = [o for plan in plans for o in plan.outings]
    bound = sum(p.lower_bound for p in plans)
    tell("scheduling", sessions=0, outings=len(outings), lower_bound_sessions=bound)

    def shrink(outing: Outing, households: list[str], *, keep: bool) -> Outing:
        return shrink_outing(problem, outing, households, keep=keep)

    def booked(sessions: int, total: int) -> None:
        tell("scheduling", sessions=sessions, outings=total, lower_bound_sessions=bound)

    # The dates model gets a quarter of the limit, within what is left of it.
    left_s = limit - (clock.perf_counter() - t0)
    model_s = max(0.2, min(MODEL_SHARE * limit, left_s))
    bookings, refusals = assign_dates(
        problem, outings, shrink, on_booked=booked, model_time_s=model_s
    )
    schedule = build_schedule(problem, plans, bookings, refusals, clock.perf_counter() - t0)
    tell(
        "done",
        sessions=schedule.stats.sessions,
        lower_bound_sessions=schedule.stats.lower_bound_sessions,
        missing_visits=schedule.stats.missing_visits,
        objective=schedule.stats.objective,
    )
    return schedule


def build_schedule(
    problem: VisitProblem,
    plans: list[AreaPlan],
    bookings: list[Booking],
    refusals: list[Refusal],
    solve_s: float,
) -> Schedule:
    """Assemble the answer: sessions by date, unscheduled households with reasons, stats."""
    teams = {t.id: t for t in problem.teams}
    team_of_area = {t.area: t.id for t in reversed(problem.teams)}
    sessions = tuple(
        _session(problem, b)
        for b in sorted(bookings, key=lambda b: (b.date, b.team, b.outing.route))
    )
    need = {h.id: h.visits for a in problem.areas for h in a.households}
    visited: dict[str, int] = {}
    for s in sessions:
        for h in s.route:
            visited[h] = visited.get(h, 0) + 1
    far = {h for plan in plans for h in plan.too_far}
    shortfalls = [
        s for s in _shortfalls(refusals, visited) if visited.get(s.household, 0) < need[s.household]
    ]
    listed = {s.household for s in shortfalls} | far
    for area in problem.areas:  # every household short is listed, refused or not
        for household in area.households:
            if visited.get(household.id, 0) < household.visits and household.id not in listed:
                detail = "no date was found for all its visits"
                team = team_of_area.get(area.id)
                shortfalls.append(Shortfall(household.id, area.id, team, "capacity", detail))
    unscheduled = explain_shortfalls(problem, shortfalls, {p.area: p.lower_bound for p in plans})
    for plan in plans:
        if plan.too_far:
            unscheduled.append(_too_far(problem, plan, team_of_area.get(plan.area)))
    required = sum(max(h.visits, 0) for a in problem.areas for h in a.households)
    missing = sum(
        max(h.visits - visited.get(h.id, 0), 0) for a in problem.areas for h in a.households
    )
    extra = sum(len(s.attendees) - teams[s.team].quorum for s in sessions)
    leaders = sum(1 for s in sessions if teams[s.team].leader in s.attendees)
    walk_km = sum(s.walk_km for s in sessions)
    spread = _weekly_spread(problem, sessions)
    objective = (
        MISSING_VISIT_WEIGHT * missing
        + SESSION_WEIGHT * len(sessions)
        + WALK_KM_WEIGHT * walk_km
        - EXTRA_ATTENDEE_WEIGHT * extra
        - LEADER_WEIGHT * leaders
        + SPREAD_WEIGHT * spread
    )
    if required == 0:
        status = "optimal"
    elif not sessions:
        status = "no_solution"
    else:
        status = "feasible"
    stats = ScheduleStats(
        sessions=len(sessions),
        walk_km=round(walk_km, 3),
        solve_s=round(solve_s, 3),
        objective=round(objective, 3),
        lower_bound_sessions=sum(p.lower_bound for p in plans),
        attendees_above_quorum=extra,
        leader_present=leaders,
        missing_visits=missing,
    )
    return Schedule(
        status=status,
        sessions=sessions,
        unscheduled=tuple(unscheduled),
        stats=stats,
    )


def _session(problem: VisitProblem, booking: Booking) -> VisitSession:
    outing = booking.outing
    if not fits(problem, outing):  # every route-changing step checks this: our bug if it fails
        raise RuntimeError(
            f"outing {outing.route} takes {outing.minutes:.4f} min, over the session"
        )
    start = problem.session.start
    begin = datetime.combine(booking.date, start)
    end = begin + timedelta(minutes=math.ceil(outing.minutes - 1e-9))
    return VisitSession(
        team=booking.team,
        date=booking.date,
        start=start,
        end=end.time() if end.date() == booking.date else time(23, 59),
        attendees=booking.attendees,
        route=outing.route,
        walk_km=round(outing.walk_km, 3),
    )


def _shortfalls(refusals: list[Refusal], visited: dict[str, int]) -> list[Shortfall]:
    """The refused households still short of visits, once each, with the scheduler's reason."""
    seen: set[str] = set()
    result = []
    for refusal in refusals:
        outing: Outing = refusal.outing
        for household in outing.route:
            if household in seen:
                continue
            seen.add(household)
            result.append(
                Shortfall(
                    household=household,
                    area=outing.area,
                    team=refusal.team,
                    reason=refusal.reason,
                    detail=f"visit {outing.round}: no date was found ({refusal.detail})",
                )
            )
    return result


def _too_far(problem: VisitProblem, plan: AreaPlan, team: str | None) -> UnscheduledVisits:
    hours = problem.session.max_hours
    shown = ", ".join(plan.too_far[:5]) + (" …" if len(plan.too_far) > 5 else "")
    return UnscheduledVisits(
        team=team,
        households=plan.too_far,
        reason="too_far",
        detail=(
            f"walking from the start of area {plan.area} to {shown} and back, plus the visit, "
            f"takes longer than the {hours:g} h session at {problem.walking_speed_kmh:g} km/h; "
            "move the start point or lengthen the session"
        ),
    )


def _weekly_spread(problem: VisitProblem, sessions: tuple[VisitSession, ...]) -> float:
    """Standard deviation of sessions per week, over weeks with at least one usable date."""
    weeks = sorted({(d - problem.quarter.start).days // 7 for d in usable_dates(problem)})
    if not weeks or not sessions:
        return 0.0
    counts = dict.fromkeys(weeks, 0)
    for s in sessions:
        counts[(s.date - problem.quarter.start).days // 7] += 1
    return float(np.std(list(counts.values())))
