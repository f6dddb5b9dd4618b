"""From households to outings: walking matrices, rounds of visits, routes, and the bound.

An area's visits are routed as one problem: a household needing ``k`` visits a quarter gives
``k`` clients, its round-1, …, round-``k`` visits, and the router has one kind of outing per
round — a round-``r`` outing may carry round-``r`` visits and once-a-quarter households, never
another round's visit (its travel-time matrix makes those unreachable). So the ``k``-th visits
of a household sit in round ``k``'s outings, the scheduler can space the rounds
``min_days_between_visits`` apart, no outing holds one household twice, and the router itself
decides which once-a-quarter households fill the repeat rounds' outings: fewest outings over
the whole area first, then least walking (:func:`matcher.visits.routing.solve_routes`).

Every step that makes or changes a route — the router's answer, merging small outings, taking
households out for the scheduler — builds its outing with :func:`outing_of`, which measures the
route with the contract's own arithmetic (haversine legs start → households → start at the
walking speed, plus the visit minutes), and keeps it only if it :func:`fits` the session; a
route the router returns too long (its time limit ran out before a feasible plan) is cut into
pieces that fit (:func:`split_to_fit`). So no outing is ever longer than ``session.max_hours``.
Inside the router walking times are rounded up to whole seconds, so its own feasible routes fit.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.sparse.csgraph import minimum_spanning_tree

from matcher.geo import haversine_km
from matcher.visits.problem import Area, Household, VisitProblem
from matcher.visits.routing import Routes, RoutingProblem, solve_routes

ROUTE_COST = 10_000_000
"""Fixed cost of an outing in the router, in metres: far above any area's total walk."""
FIT_TOL_MIN = 1e-9
"""Rounding noise allowed when checking a route against the session (the verifier allows 1e-6)."""


@dataclass(frozen=True)
class Outing:
    """One routed session before it has a date: an area's round-``round`` households in order."""

    area: str
    round: int
    route: tuple[str, ...]
    walk_km: float
    visit_minutes: float
    walk_minutes: float

    @property
    def minutes(self) -> float:
        return self.walk_minutes + self.visit_minutes


@dataclass(frozen=True)
class AreaPlan:
    """An area's outings, its households too far for any session, and its outing bound."""

    area: str
    outings: tuple[Outing, ...]
    too_far: tuple[str, ...]
    lower_bound: int


@dataclass(frozen=True)
class RoutingJob:
    """One area's visits to route (picklable, for a process pool).

    Client ``j`` (node ``j + 1``) is a visit of ``households[j]`` in round ``rounds[j]``, or of a
    once-a-quarter household (round 0) that any outing may carry.
    """

    area: str
    households: tuple[str, ...]
    rounds: tuple[int, ...]
    distance_m: NDArray[np.int64]
    duration_s: NDArray[np.int64]
    service_s: NDArray[np.int64]
    max_duration_s: int
    time_limit_s: float
    seed: int

    @property
    def most(self) -> int:
        """Kinds of outing: the most visits a household of the job needs (at least 1)."""
        return max((*self.rounds, 1))


def walking_km(area: Area, households: Sequence[Household]) -> NDArray[np.float64]:
    """Haversine km between the start (row 0) and the households (rows 1..n)."""
    lat = np.array([area.start.lat] + [h.location.lat for h in households], dtype=float)
    lon = np.array([area.start.lon] + [h.location.lon for h in households], dtype=float)
    return haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])


def round_trip_minutes(problem: VisitProblem, km_from_start: float, visit_minutes: float) -> float:
    """Out to one household and back, plus its visit."""
    return 2.0 * km_from_start / problem.walking_speed_kmh * 60.0 + visit_minutes


def route_walk_km(area: Area, stops: Sequence[Household]) -> float:
    """Haversine km of start → stops in order → start (the contract's rule 5 walk)."""
    lat = np.array([area.start.lat, *(h.location.lat for h in stops), area.start.lat])
    lon = np.array([area.start.lon, *(h.location.lon for h in stops), area.start.lon])
    return float(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())


def outing_of(problem: VisitProblem, area: Area, round_: int, route: Sequence[str]) -> Outing:
    """The outing visiting ``route`` in order, measured with the contract's arithmetic."""
    by_id = {h.id: h for h in area.households}
    stops = [by_id[h] for h in route]
    walk_km = route_walk_km(area, stops)
    return Outing(
        area=area.id,
        round=round_,
        route=tuple(route),
        walk_km=walk_km,
        visit_minutes=float(sum(h.visit_minutes for h in stops)),
        walk_minutes=walk_km / problem.walking_speed_kmh * 60.0,
    )


def fits(problem: VisitProblem, outing: Outing) -> bool:
    """Rule 5: walking plus visits within ``session.max_hours``."""
    return outing.minutes <= problem.session.max_minutes + FIT_TOL_MIN


def split_to_fit(problem: VisitProblem, area: Area, outing: Outing) -> list[Outing]:
    """The outing itself if it fits, else its route cut, in order, into pieces that each fit
    (a new piece starts where the next household would make the current one too long). A
    household that does not fit even alone is never given (see :func:`plan_jobs`)."""
    if fits(problem, outing):
        return [outing]
    pieces: list[Outing] = []
    current: list[str] = []
    for household in outing.route:
        trial = outing_of(problem, area, outing.round, [*current, household])
        if current and not fits(problem, trial):
            pieces.append(outing_of(problem, area, outing.round, current))
            current = [household]
        else:
            current.append(household)
    if current:
        pieces.append(outing_of(problem, area, outing.round, current))
    return pieces


def plan_jobs(
    problem: VisitProblem, time_limit_s: float, seed: int
) -> tuple[list[RoutingJob], dict[str, tuple[str, ...]], dict[str, int]]:
    """One routing job per area with reachable households; too-far households; bounds per area.

    The time budget is shared in proportion to each job's visit count (at least 0.01 s).
    """
    max_minutes = problem.session.max_minutes
    speed = problem.walking_speed_kmh
    jobs_raw: list[tuple[Area, list[tuple[int, int]], NDArray[np.float64]]] = []
    too_far: dict[str, tuple[str, ...]] = {}
    bounds: dict[str, int] = {}
    for area in problem.areas:
        km = walking_km(area, area.households)
        reachable: list[int] = []
        far: list[str] = []
        for i, household in enumerate(area.households):
            if household.visits <= 0:
                continue
            alone = round_trip_minutes(problem, float(km[0, i + 1]), household.visit_minutes)
            if alone > max_minutes + FIT_TOL_MIN:
                far.append(household.id)
            else:
                reachable.append(i)
        too_far[area.id] = tuple(far)
        bounds[area.id] = outing_lower_bound(problem, area, reachable, km)
        if not reachable:
            continue
        visits = area.households
        clients = [
            (i, r)
            for i in reachable
            for r in ((0,) if visits[i].visits == 1 else range(1, visits[i].visits + 1))
        ]
        nodes = [0, *(i + 1 for i, _ in clients)]
        jobs_raw.append((area, clients, km[np.ix_(nodes, nodes)]))
    total = sum(len(clients) for _, clients, _ in jobs_raw) or 1
    jobs = []
    for area, clients, sub in jobs_raw:
        distance_m = np.rint(sub * 1000.0).astype(np.int64)
        # Rounded up, so a route within the router's limit is within the session too.
        duration_s = np.ceil(sub / speed * 3600.0).astype(np.int64)
        minutes = [area.households[i].visit_minutes for i, _ in clients]
        service_s = np.ceil(np.array([0.0, *(m * 60.0 for m in minutes)])).astype(np.int64)
        jobs.append(
            RoutingJob(
                area=area.id,
                households=tuple(area.households[i].id for i, _ in clients),
                rounds=tuple(r for _, r in clients),
                distance_m=distance_m,
                duration_s=duration_s,
                service_s=service_s,
                max_duration_s=math.floor(max_minutes * 60.0),
                time_limit_s=max(0.01, time_limit_s * len(clients) / total),
                seed=seed,
            )
        )
    return jobs, too_far, bounds


def outing_lower_bound(
    problem: VisitProblem, area: Area, reachable: Sequence[int], km: NDArray[np.float64]
) -> int:
    """Fewest outings any schedule needs for the reachable households of ``area``.

    Every household needs ``visits`` distinct outings (when ``min_days_between_visits`` is above
    0; with 0 two visits may share an outing), and all outings together spend at least
    the visit minutes plus a walk no shorter than the larger of two bounds, over the session
    length ``T``:

    - the minimum spanning tree over the start and the households (the union of closed walks
      from the start that reach every household is a connected graph on them);
    - the radial bound: an outing whose farthest household is ``D`` km out walks at least
      ``2D`` and has at most ``T - 2cD`` minutes left for visits (``c`` minutes per km), so the
      weights ``w_i = m_i / (T - 2c d_i)`` of its households sum to at most 1 and its walk is at
      least ``Σ w_i · 2 d_i``; all outings together walk at least ``Σ_i visits_i · w_i · 2 d_i``.

    The bin packing with the walk of :func:`packing_lower_bound` and the radial bound with the
    detour of :func:`detour_lower_bound` are taken when they are larger.
    """
    if not reachable:
        return 0
    session = problem.session.max_minutes
    households = [area.households[i] for i in reachable]
    minutes = sum(h.visit_minutes * h.visits for h in households)
    nodes = [0, *(i + 1 for i in reachable)]
    sub = km[np.ix_(nodes, nodes)]
    # Coincident points have distance 0, which the sparse MST would read as "no edge".
    tree_km = float(minimum_spanning_tree(np.where(sub > 0, sub, 1e-12)).sum())
    per_km = 60.0 / problem.walking_speed_kmh
    radial_km = sum(
        h.visits
        * h.visit_minutes
        / max(session - 2.0 * per_km * float(sub[0, k + 1]), 1e-9)
        * 2.0
        * float(sub[0, k + 1])
        for k, h in enumerate(households)
    )
    minutes += max(tree_km, radial_km) * per_km
    by_time = math.ceil(minutes / session - 1e-9)
    # Visits of one household need distinct outings unless they may fall on the same day.
    spaced = problem.options.min_days_between_visits > 0
    most = max(area.households[i].visits for i in reachable) if spaced else 1
    return max(
        most,
        by_time,
        packing_lower_bound(problem, area, reachable, km),
        detour_lower_bound(problem, area, reachable, km),
    )


KNAPSACK_STEP_MIN = 0.25
"""Grid of the knapsack in :func:`packing_lower_bound`: sizes rounded down to it, capacities
(plus :data:`BOUND_TOL`) down, so the grid never makes the knapsack tighter than rule 5."""
WALK_MIXES = (0.0, 0.5, 1.0)
"""The weights ``λ`` :func:`packing_lower_bound` tries between its two walking bounds."""
BOUND_TOL = 1e-6
"""Rounding noise allowed before a fractional bound is rounded up to whole outings."""


def packing_lower_bound(
    problem: VisitProblem, area: Area, reachable: Sequence[int], km: NDArray[np.float64]
) -> int:
    """Fewest outings for ``area`` by bin packing with the walk, priced by a knapsack.

    Every outing ``o`` visiting the set ``S`` with farthest household ``D`` km out walks at least
    ``2D`` (out and back) and at least ``Σ_{v∈S} h_v + d_min``: each household has two edges of
    the closed walk, no shorter together than its two nearest neighbours among the reachable
    households and the start (the start counted twice), ``a_v + b_v = 2 h_v``, and the start's
    two edges are each at least ``d_min``, the nearest household's distance. So for any ``λ`` in
    ``[0, 1]`` the walk is at least ``λ·2D + (1-λ)(Σ h_v + d_min)`` and rule 5 leaves

        ``Σ_{v∈S} s_v ≤ C(D)``, ``s_v = m_v + c(1-λ) h_v``, ``C(D) = T − 2cλD − c(1-λ) d_min``

    (``m_v`` visit minutes, ``c`` minutes per km, ``T`` the session), with every ``v ∈ S`` at
    most ``D`` out. For weights ``y ≥ 0`` let ``U`` be the largest ``y(S)`` of any such set: a
    0/1 knapsack over the households within ``D``, for each ``D`` a household's distance (sizes
    rounded down, capacity up, so ``U`` is never too small). Every outing collects at most
    ``U``, all outings together at least ``Σ visits_v y_v``, so at least ``Σ visits_v y_v / U``
    outings are needed. Weights tried: ``y_v = s_v / C(d_v)`` (whose fractional knapsack is at
    most 1: the radial bound) and ``y_v = s_v``, for each ``λ`` of :data:`WALK_MIXES`.

    With ``min_days_between_visits`` 0 a household may be visited twice in one outing, so a
    repeat household gets ``h_v = 0`` and as many knapsack copies as its visits.
    """
    if not reachable:
        return 0
    session = problem.session.max_minutes
    per_km = 60.0 / problem.walking_speed_kmh
    nodes = [0, *(i + 1 for i in reachable)]
    sub = km[np.ix_(nodes, nodes)]
    dist = sub[0, 1:]
    between = sub[1:, 1:].copy()
    np.fill_diagonal(between, np.inf)
    options = np.concatenate([between, dist[:, None], dist[:, None]], axis=1)
    half = np.partition(options, 1, axis=1)[:, :2].sum(axis=1) / 2.0
    minutes = np.array([area.households[i].visit_minutes for i in reachable], dtype=float)
    visits = np.array([area.households[i].visits for i in reachable], dtype=float)
    copies = np.ones(len(reachable), dtype=np.int64)
    if problem.options.min_days_between_visits <= 0:
        repeat = visits > 1
        half[repeat] = 0.0
        copies[repeat] = visits[repeat].astype(np.int64)
    nearest = float(dist.min())
    order = np.argsort(dist, kind="stable")
    width = math.floor((session + BOUND_TOL) / KNAPSACK_STEP_MIN) + 1
    best = 0.0
    for mix in WALK_MIXES:
        size = minutes + per_km * (1.0 - mix) * half
        room = session - 2.0 * per_km * mix * dist - per_km * (1.0 - mix) * nearest
        for value in (size / np.maximum(room, 1e-9), size):
            top = _knapsack_top(size, room, value, copies, order, width)
            if top > 0:
                best = max(best, float(visits @ value) / top)
    return math.ceil(best - BOUND_TOL)


DETOUR_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.5, 2.0, math.inf)
"""Detour classes of :func:`detour_lower_bound`, in multiples of the farthest household's
distance from the start."""


def detour_lower_bound(
    problem: VisitProblem, area: Area, reachable: Sequence[int], km: NDArray[np.float64]
) -> int:
    """Fewest outings for ``area`` by the radial bound with the detour to the side.

    An outing whose farthest household ``f`` is ``D`` km out passes ``f`` and every other of
    its households ``g``, so it walks at least the triangle start → ``f`` → ``g`` → start:
    ``2D + e_f(g)`` with the detour ``e_f(g) = d_g + |fg| − D ≥ 0``, hence at least ``2D + E``
    with ``E`` its largest detour. Rule 5 then leaves ``T − c(2D + E)`` minutes for its visits,
    all of households within ``D`` of the start and ``E`` of detour. With the radial weights
    ``y_g = m_g / (T − 2c d_g)`` (whose sum over any outing is at most 1) let ``U`` bound
    ``y(S)`` over every outing ``S``: for each ``f`` and each class of :data:`DETOUR_LEVELS`
    ``(E_{k−1}, E_k]``, a fractional knapsack over the households of detour at most ``E_k``
    with room ``T − c(2D + E_{k−1})``. Then at least ``Σ visits_g y_g / U`` outings are needed;
    ``U ≤ 1``, so this is never below the radial bound, and above it where outings cannot hold
    a full session of visits without walking to the side (households spread around the start
    rather than along a line from it). With ``min_days_between_visits`` 0 each visit is an item
    of its own (two may share an outing).
    """
    if not reachable:
        return 0
    if problem.options.min_days_between_visits <= 0:
        # Two visits of one household may share an outing: each visit is an item of its own.
        reachable = [i for i in reachable for _ in range(area.households[i].visits)]
    session = problem.session.max_minutes + BOUND_TOL
    per_km = 60.0 / problem.walking_speed_kmh
    nodes = [0, *(i + 1 for i in reachable)]
    sub = km[np.ix_(nodes, nodes)]
    dist = sub[0, 1:]
    minutes = np.array([area.households[i].visit_minutes for i in reachable], dtype=float)
    visits = np.array([area.households[i].visits for i in reachable], dtype=float)
    if problem.options.min_days_between_visits <= 0:
        visits[:] = 1.0
    size = np.maximum(minutes, 1e-12)
    value = minutes / np.maximum(session - 2.0 * per_km * dist, 1e-9)
    order = np.argsort(-(value / size), kind="stable")  # the fractional knapsack's order
    dist, size, value, visits = dist[order], size[order], value[order], visits[order]
    between = sub[1:, 1:][np.ix_(order, order)]
    levels = np.array(DETOUR_LEVELS)
    lower = np.concatenate([[0.0], levels[:-1]])  # the smallest detour of each class
    # Axis 0: the farthest household f; axis 1: the detour class; axis 2: the items.
    detour = np.maximum(dist[None, :] + between - dist[:, None], 0.0)
    within = dist[None, :] <= dist[:, None]
    # The last class is unbounded (``D · inf`` would be ``nan`` for a household at the start).
    unbounded = np.isinf(levels)
    finite = np.where(unbounded, 0.0, levels)  # never multiply by inf: 0 · inf is nan
    limit = np.where(unbounded[None, :], np.inf, dist[:, None] * finite[None, :])
    present = within[:, None, :] & (detour[:, None, :] <= limit[:, :, None])
    sizes = np.where(present, size[None, None, :], 0.0)
    before = np.cumsum(sizes, axis=2) - sizes
    room = session - per_km * dist[:, None] * (2.0 + lower[None, :])
    share = np.clip((room[:, :, None] - before) / size[None, None, :], 0.0, 1.0) * present
    top = float((share * value[None, None, :]).sum(axis=2).max())
    if top <= 0:
        return 0
    return math.ceil(float(visits @ value) / top - BOUND_TOL)


def _knapsack_top(
    size: NDArray[np.float64],
    room: NDArray[np.float64],
    value: NDArray[np.float64],
    copies: NDArray[np.int64],
    order: NDArray[np.int64],
    width: int,
) -> float:
    """Largest total ``value`` of a set of items within ``room`` of its farthest item: items
    taken in ``order`` (nearest first), after each the best fill of its room is read."""
    # A size a hair below a grid point (1e-9 of a step) is read as on it; over at most a few
    # thousand items that is far less than the BOUND_TOL the capacity is given.
    units = np.maximum(np.floor(size / KNAPSACK_STEP_MIN + 1e-9), 0).astype(np.int64)
    fill = np.full(width, -np.inf)
    fill[0] = 0.0
    top = 0.0
    for j in order:
        u = int(units[j])
        for _ in range(int(copies[j])):
            if u == 0:
                fill += value[j]
            elif u < width:
                np.maximum(fill[u:], fill[:-u] + value[j], out=fill[u:])
        limit = math.floor((room[j] + BOUND_TOL) / KNAPSACK_STEP_MIN)
        if limit >= 0:
            top = max(top, float(fill[: min(limit, width - 1) + 1].max()))
    return top


def round_durations(job: RoutingJob) -> tuple[NDArray[np.int64], ...]:
    """Travel times for each kind of outing: a round-``r`` outing cannot reach (arcs longer
    than the session) a visit of another round; once-a-quarter households stay open to all."""
    if job.most == 1:
        return (job.duration_s,)
    rounds = np.array([0, *job.rounds])
    result = []
    for r in range(1, job.most + 1):
        closed = (rounds != 0) & (rounds != r)
        matrix = job.duration_s.copy()
        matrix[closed, :] = job.max_duration_s + 1
        matrix[:, closed] = job.max_duration_s + 1
        np.fill_diagonal(matrix, 0)
        result.append(matrix)
    return tuple(result)


def run_job(job: RoutingJob) -> Routes:
    """Route one job (top level, so a process pool can run it)."""
    problem = RoutingProblem(
        distance=job.distance_m,
        duration=job.duration_s,
        service=job.service_s,
        max_duration=job.max_duration_s,
        route_cost=ROUTE_COST,
        type_durations=round_durations(job) if job.most > 1 else (),
    )
    return solve_routes(problem, job.time_limit_s, seed=job.seed, no_improvement_iters=20_000)


def outings_of(problem: VisitProblem, job: RoutingJob, routes: Routes) -> list[Outing]:
    """The job's routes as outings (a type-``t`` route is a round ``t + 1`` outing), each
    checked against the session and cut where it is too long (the router may stop before its
    plan is feasible). A route that holds one household twice (only an unfinished plan can)
    keeps its first visit; each other one goes alone."""
    area = next(a for a in problem.areas if a.id == job.area)
    result = []
    types = routes.types or (0,) * len(routes.routes)
    for route, kind in zip(routes.routes, types, strict=True):
        ids = [job.households[node - 1] for node in route]
        first = tuple(dict.fromkeys(ids))
        extra = list(ids)
        for household in first:
            extra.remove(household)
        round_ = kind + 1
        result.extend(split_to_fit(problem, area, outing_of(problem, area, round_, first)))
        for household in extra:
            result.append(outing_of(problem, area, round_, [household]))
    return result


def route_areas(
    problem: VisitProblem,
    time_limit_s: float,
    seed: int,
    executor: Executor | None = None,
    on_done: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> list[AreaPlan]:
    """Route every area's visits (on ``executor`` when given) and collect the area plans.

    ``time_limit_s`` is the routers' budget in all (core seconds); the time spent on the
    bounds, on ``workers`` cores, comes out of it, so the bound never makes a solve longer.
    """
    started = time.perf_counter()
    jobs, too_far, bounds = plan_jobs(problem, time_limit_s, seed)
    spent_s = (time.perf_counter() - started) * workers
    if spent_s > 0 and time_limit_s > 0:
        scale = max(0.2, 1.0 - spent_s / time_limit_s)
        jobs = [replace(j, time_limit_s=max(0.01, j.time_limit_s * scale)) for j in jobs]
    order = sorted(range(len(jobs)), key=lambda j: -len(jobs[j].households))
    results: dict[int, Routes] = {}
    if executor is None or len(jobs) <= 1:
        for done, j in enumerate(order, start=1):
            results[j] = run_job(jobs[j])
            if on_done is not None:
                on_done(done, len(jobs))
    else:
        futures = {j: executor.submit(run_job, jobs[j]) for j in order}
        for done, j in enumerate(order, start=1):
            results[j] = futures[j].result()
            if on_done is not None:
                on_done(done, len(jobs))
    outings: dict[str, list[Outing]] = {a.id: [] for a in problem.areas}
    for j, job in enumerate(jobs):
        outings[job.area].extend(outings_of(problem, job, results[j]))
    for area in problem.areas:
        if len(outings[area.id]) > 1:
            outings[area.id] = merge_outings(problem, area, outings[area.id])
    return [
        AreaPlan(
            area=a.id,
            outings=tuple(sorted(outings[a.id], key=lambda o: o.round)),
            too_far=too_far[a.id],
            lower_bound=bounds[a.id],
        )
        for a in problem.areas
    ]


def merge_outings(problem: VisitProblem, area: Area, outings: list[Outing]) -> list[Outing]:
    """Dissolve outings into the others of the same area while every household still fits.

    Rounds are routed apart, so each round's last outing is often half empty. Smallest first,
    an outing is dissolved when each of its households can be inserted (cheapest place) into
    another outing that does not visit that household yet and stays within the session with the
    contract's arithmetic. Visits keep their identity; the scheduler spaces them per household.
    Every route it changes is measured again from scratch and kept only if it fits.
    """
    index = {h.id: i + 1 for i, h in enumerate(area.households)}
    minutes_of = {h.id: h.visit_minutes for h in area.households}
    km = walking_km(area, area.households)
    per_km = 60.0 / problem.walking_speed_kmh
    limit = problem.session.max_minutes
    routes = [list(o.route) for o in outings]
    rounds = [o.round for o in outings]

    def walk(route: list[str]) -> float:
        nodes = [0, *(index[h] for h in route), 0]
        return float(sum(km[a, b] for a, b in itertools.pairwise(nodes)))

    def minutes(route: list[str]) -> float:
        return walk(route) * per_km + sum(minutes_of[h] for h in route)

    alive = [True] * len(routes)
    used = [minutes(route) for route in routes]
    for source in sorted(range(len(routes)), key=lambda r: used[r]):
        # The others' spare time must at least hold the source's visits.
        spare = sum(limit - used[r] for r in range(len(routes)) if alive[r] and r != source)
        if sum(minutes_of[h] for h in routes[source]) > spare:
            continue
        trial = {r: list(routes[r]) for r in range(len(routes)) if alive[r] and r != source}
        trial_used = {r: used[r] for r in trial}
        placed = True
        for household in routes[source]:
            best: tuple[float, int, int] | None = None
            node = index[household]
            for r, route in trial.items():
                if household in route:
                    continue
                base = trial_used[r]
                if base + minutes_of[household] > limit:
                    continue
                nodes = [0, *(index[h] for h in route), 0]
                for pos in range(len(nodes) - 1):
                    a, b = nodes[pos], nodes[pos + 1]
                    extra = (km[a, node] + km[node, b] - km[a, b]) * per_km
                    total = base + extra + minutes_of[household]
                    if total <= limit and (best is None or extra < best[0]):
                        best = (extra, r, pos)
            if best is None:
                placed = False
                break
            extra, r, pos = best
            trial[r].insert(pos, household)
            trial_used[r] += extra + minutes_of[household]
        if placed:
            # Measured again from scratch, not from the sums of insertion costs.
            placed = all(
                fits(problem, outing_of(problem, area, 0, route))
                for r, route in trial.items()
                if route != routes[r]
            )
        if placed:
            alive[source] = False
            for r, route in trial.items():
                if route != routes[r]:
                    routes[r] = route
                    used[r] = minutes(route)
                    rounds[r] = min(rounds[r], rounds[source])
    result = []
    for r, route in enumerate(routes):
        if alive[r]:
            result.extend(split_to_fit(problem, area, outing_of(problem, area, rounds[r], route)))
    return result


def shrink_outing(
    problem: VisitProblem, outing: Outing, households: Sequence[str], *, keep: bool
) -> Outing:
    """The outing with only (``keep``) or without the given households, in the same order and
    with its walk measured again (dropping stops never lengthens a walk: the haversine
    distance keeps the triangle inequality).

    Raises:
        RuntimeError: If the shorter outing did not fit after all (a bug, never a user's input).
    """
    chosen = set(households)
    route = tuple(h for h in outing.route if (h in chosen) == keep)
    area = next(a for a in problem.areas if a.id == outing.area)
    shrunk = outing_of(problem, area, outing.round, route)
    if not fits(problem, shrunk):
        raise RuntimeError(f"outing {route} of area {area.id} no longer fits the session")
    return shrunk
