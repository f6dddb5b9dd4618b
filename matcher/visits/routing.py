"""The one small interface to the routing engine: routes from one depot, fewest first.

Everything the visit scheduler and the Solomon benchmark need from a vehicle-routing solver fits
in :class:`RoutingProblem` (integer matrices, service times, optional time windows and loads, a
route-duration limit, a fixed cost per route, and optionally one travel-time matrix per vehicle
type — the visit scheduler's one kind of outing per round) and :class:`Routes`. The engine
behind it is PyVRP (iterated local search, MIT licence), chosen by measurement on Solomon's
instances (``benchmarks/RESULTS.md``); swapping it means rewriting :func:`solve_routes` only.

Node 0 is the depot; clients are nodes ``1..n``. Routes list client nodes in visiting order.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pyvrp
from numpy.typing import NDArray
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

IntMatrix = NDArray[np.int64]
NO_LIMIT = np.iinfo(np.int64).max


@dataclass(frozen=True)
class RoutingProblem:
    """A single-depot routing problem in integer units.

    Attributes:
        distance: ``(n+1, n+1)`` arc costs (any integer unit, such as metres).
        duration: ``(n+1, n+1)`` arc travel times (seconds, or the instance's own unit).
        service: ``n+1`` service times (the depot's is ignored).
        max_duration: Longest allowed route, start to end, including waiting and service.
        route_cost: Fixed cost of using a route; large values minimise the number of routes first.
        time_windows: Optional ``(n+1, 2)`` earliest/latest start of service (row 0: the depot's
            opening hours).
        load: Optional ``n+1`` demands; with ``capacity`` the load limit per route.
        max_routes: At most this many routes (default: one per client), per vehicle type.
        type_durations: Optional: one ``(n+1, n+1)`` travel-time matrix per vehicle type, used
            instead of ``duration`` by that type's routes (a client a type must not visit gets
            arcs longer than ``max_duration`` in its matrix).
    """

    distance: IntMatrix
    duration: IntMatrix
    service: NDArray[np.int64]
    max_duration: int = int(NO_LIMIT)
    route_cost: int = 0
    time_windows: IntMatrix | None = None
    load: NDArray[np.int64] | None = None
    capacity: int | None = None
    max_routes: int | None = None
    type_durations: tuple[IntMatrix, ...] = ()

    @property
    def n_clients(self) -> int:
        return int(self.distance.shape[0]) - 1


@dataclass(frozen=True)
class Routes:
    """The engine's answer: client nodes per route, the total arc cost (``distance``), and
    each route's vehicle type (index into ``type_durations``; 0 with one type)."""

    routes: tuple[tuple[int, ...], ...]
    distance: int
    feasible: bool
    types: tuple[int, ...] = ()


def solve_routes(
    problem: RoutingProblem,
    time_limit_s: float,
    seed: int = 0,
    no_improvement_iters: int | None = None,
) -> Routes:
    """Route every client, fewest routes first when ``route_cost`` dominates, then least cost.

    Args:
        problem: The instance.
        time_limit_s: Wall-clock budget.
        seed: Seed of the engine's random stream (same seed, same machine → same routes).
        no_improvement_iters: Stop earlier after this many iterations without a better plan.
    """
    n = problem.n_clients
    if n == 0:
        return Routes(routes=(), distance=0, feasible=True)
    data = _problem_data(problem)
    stop: pyvrp.stop.StoppingCriterion = MaxRuntime(max(time_limit_s, 0.01))
    if no_improvement_iters is not None:
        stop = MultipleCriteria([stop, NoImprovement(no_improvement_iters)])
    with warnings.catch_warnings():
        # PyVRP warns when its penalties hit their cap on tight instances; the answer's
        # feasibility flag already says what matters, and a warning must not reach a user.
        warnings.simplefilter("ignore", category=PenaltyBoundWarning)
        result = pyvrp.solve(data, stop=stop, seed=seed, collect_stats=False, display=False)
    best = result.best
    routes = tuple(
        tuple(int(step.idx) + 1 for step in route if step.is_client()) for route in best.routes()
    )
    return Routes(
        routes=routes,
        distance=int(best.distance()),
        feasible=bool(best.is_feasible()),
        types=tuple(int(route.vehicle_type()) for route in best.routes()),
    )


def _problem_data(problem: RoutingProblem) -> pyvrp.ProblemData:
    n = problem.n_clients
    windows = problem.time_windows
    has_load = problem.load is not None and problem.capacity is not None
    locations = [pyvrp.Location(0, 0) for _ in range(n + 1)]  # matrices carry the geometry
    clients = []
    for node in range(1, n + 1):
        early, late = (0, int(NO_LIMIT)) if windows is None else map(int, windows[node])
        delivery = [int(problem.load[node])] if has_load and problem.load is not None else []
        clients.append(
            pyvrp.Client(
                location=node,
                delivery=delivery,
                service_duration=int(problem.service[node]),
                tw_early=early,
                tw_late=late,
            )
        )
    depot_early, depot_late = (0, int(NO_LIMIT)) if windows is None else map(int, windows[0])
    depot = pyvrp.Depot(location=0, tw_early=depot_early, tw_late=depot_late)
    durations = problem.type_durations or (problem.duration,)
    vehicles = [
        pyvrp.VehicleType(
            num_available=problem.max_routes or n,
            capacity=[int(problem.capacity)] if has_load and problem.capacity is not None else [],
            fixed_cost=int(problem.route_cost),
            tw_early=depot_early,
            tw_late=depot_late,
            shift_duration=int(problem.max_duration),
            profile=k,
        )
        for k in range(len(durations))
    ]
    distance = np.ascontiguousarray(problem.distance, dtype=np.int64)
    return pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=[depot],
        vehicle_types=vehicles,
        distance_matrices=[distance] * len(durations),  # type: ignore[list-item]
        duration_matrices=[np.ascontiguousarray(m, dtype=np.int64) for m in durations],  # type: ignore[misc]
    )
