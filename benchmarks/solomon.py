"""``python -m benchmarks solomon``: Linli's routing interface on Solomon's VRPTW instances.

The visit scheduler routes through :func:`matcher.visits.routing.solve_routes` only; this
module measures that interface alone on Solomon's 100-customer instances (format and the two
best-known conventions: ``/work/shared/benchdata/solomon_vrptw/README.md``) against a plain
OR-Tools routing model.

Convention ``min_distance_trunc1`` (the one with proven optima, R1, C1 and RC1 only): minimise
total distance, the number of vehicles is free (at most K), every arc's Euclidean length is
truncated to one decimal and travel time equals distance. All arithmetic here is in integer
tenths: arc = floor(10 * d) computed exactly as ``isqrt(100 * (dx² + dy²))``; ready times, due
dates, service times and the horizon are multiplied by 10.

Peers (each plan is checked by :func:`check_plan`, independent of every engine):

- ``linli``: :func:`matcher.visits.routing.solve_routes` (PyVRP behind it), seed 0, no fixed
  route cost, at most K routes;
- ``ortools``: a plain ``pywrapcp.RoutingModel``: arc cost = distance, a time dimension
  (transit = service at the origin + travel, waiting allowed) with the windows, a capacity
  dimension, PATH_CHEAPEST_ARC first solution then GUIDED_LOCAL_SEARCH within the limit;
- ``ortools-pci``: the same model started by PARALLEL_CHEAPEST_INSERTION.

Result lines (JSON, one per instance and peer): ``instance``, ``family``, ``peer``,
``distance`` (checked, in instance units, one decimal), ``vehicles``, ``feasible`` (the checker's
verdict), ``violations``, ``bks`` (the trunc1 optimum from ``bks.csv``), ``gap_pct``,
``seconds`` (wall time of the whole call, model building included), ``time_limit_s``,
``convention``, ``versions``, ``cpu``, ``cores``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.data import benchdata_dir
from benchmarks.provenance import REPO, cpu_model

if TYPE_CHECKING:
    from matcher.visits.routing import RoutingProblem

DATA_DIR = benchdata_dir() / "solomon_vrptw"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "solomon.jsonl"
CONVENTION = "min_distance_trunc1"
SCALE = 10  # integer tenths of the instance's unit
DEFAULT_FAMILIES = ("R1", "C1", "RC1")
OPTIMAL_GAP_PCT = 0.005

IntMatrix = NDArray[np.int64]


class SolomonError(ValueError):
    """A file that is not in Solomon's text format."""


# --- instances -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One row of the customer table, in the instance's own units (node 0 is the depot)."""

    idx: int
    x: int
    y: int
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True)
class Instance:
    """A Solomon instance: name, fleet bound K, capacity Q and nodes ``0..n`` (0 = depot)."""

    name: str
    max_vehicles: int
    capacity: int
    nodes: tuple[Node, ...]

    @property
    def n_customers(self) -> int:
        return len(self.nodes) - 1

    @property
    def family(self) -> str:
        return family_of(self.name)


def family_of(name: str) -> str:
    """``C101`` → ``C1``, ``RC208`` → ``RC2``: the letters and the first digit."""
    m = re.fullmatch(r"([A-Za-z]+)(\d)\d*", name)
    if m is None:
        raise SolomonError(f"not a Solomon instance name: {name!r}")
    return m.group(1).upper() + m.group(2)


def parse_text(text: str) -> Instance:
    """Parse Solomon's text layout (name, VEHICLE block, CUSTOMER table; any line endings)."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) < 6:
        raise SolomonError("too few lines for a Solomon instance")
    name = lines[0]
    try:
        at = [ln.upper() for ln in lines].index("VEHICLE")
        fleet = lines[at + 2].split()
        max_vehicles, capacity = int(fleet[0]), int(fleet[1])
        table = [ln.upper() for ln in lines].index("CUSTOMER")
    except (ValueError, IndexError) as exc:
        raise SolomonError(f"{name}: no VEHICLE/CUSTOMER block ({exc})") from None
    nodes: list[Node] = []
    for ln in lines[table + 2 :]:
        fields = ln.split()
        if len(fields) != 7:
            raise SolomonError(f"{name}: a customer row needs 7 numbers, got {ln!r}")
        try:
            idx, x, y, demand, ready, due, service = (int(float(f)) for f in fields)
        except ValueError:
            raise SolomonError(f"{name}: not a number in {ln!r}") from None
        if idx != len(nodes):
            raise SolomonError(f"{name}: customer {idx} out of order (expected {len(nodes)})")
        nodes.append(Node(idx, x, y, demand, ready, due, service))
    if len(nodes) < 2:
        raise SolomonError(f"{name}: no customers")
    return Instance(name, max_vehicles, capacity, tuple(nodes))


def parse_instance(path: Path) -> Instance:
    """Read and parse one instance file."""
    try:
        text = Path(path).read_text(encoding="ascii", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise SolomonError(f"cannot read {path}: {exc}") from None
    return parse_text(text)


def arc_tenths(a: Node, b: Node) -> int:
    """Euclidean distance truncated to one decimal, in integer tenths (exact)."""
    return math.isqrt(SCALE * SCALE * ((a.x - b.x) ** 2 + (a.y - b.y) ** 2))


def distance_matrix_tenths(instance: Instance) -> IntMatrix:
    """``(n+1, n+1)`` truncated arc lengths in tenths (travel time is the same matrix)."""
    xy = np.array([(v.x, v.y) for v in instance.nodes], dtype=np.int64)
    sq = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2) * (SCALE * SCALE)
    root = np.floor(np.sqrt(sq.astype(np.float64))).astype(np.int64)
    # exact integer square root: correct the float estimate by one either way
    root -= (root * root > sq).astype(np.int64)
    root += ((root + 1) * (root + 1) <= sq).astype(np.int64)
    return root


def windows_tenths(instance: Instance) -> IntMatrix:
    """``(n+1, 2)`` earliest and latest start of service in tenths (row 0: the depot)."""
    return np.array([(v.ready * SCALE, v.due * SCALE) for v in instance.nodes], dtype=np.int64)


def service_tenths(instance: Instance) -> NDArray[np.int64]:
    """Service times in tenths (the depot's is 0 in every file)."""
    return np.array([v.service * SCALE for v in instance.nodes], dtype=np.int64)


def demands(instance: Instance) -> NDArray[np.int64]:
    """Demands per node (the depot's is 0)."""
    return np.array([v.demand for v in instance.nodes], dtype=np.int64)


def to_routing_problem(instance: Instance) -> RoutingProblem:
    """The instance as Linli's :class:`~matcher.visits.routing.RoutingProblem` (tenths)."""
    from matcher.visits.routing import RoutingProblem

    matrix = distance_matrix_tenths(instance)
    return RoutingProblem(
        distance=matrix,
        duration=matrix.copy(),
        service=service_tenths(instance),
        time_windows=windows_tenths(instance),
        load=demands(instance),
        capacity=instance.capacity,
        route_cost=0,
        max_routes=instance.max_vehicles,
    )


# --- the checker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """The checker's verdict on a plan: recomputed distance (tenths), routes used, violations."""

    distance_tenths: int
    vehicles: int
    violations: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return not self.violations


def check_plan(instance: Instance, routes: Sequence[Sequence[int]]) -> Check:
    """Check a plan from first principles, independent of any engine and of the matrices above.

    Every customer exactly once, at most K non-empty routes, load per route within Q, and along
    each route (leaving the depot at its ready time, waiting allowed) service starts by each due
    date and the vehicle is back by the depot's due date. Distance is recomputed per arc.
    """
    nodes = instance.nodes
    n = instance.n_customers
    violations: list[str] = []
    used = [list(r) for r in routes if len(r) > 0]
    seen: dict[int, int] = {}
    for route in used:
        for c in route:
            seen[c] = seen.get(c, 0) + 1
    bad = sorted(c for c in seen if not 1 <= c <= n)
    if bad:
        violations.append(f"unknown nodes {bad[:5]}")
    missing = [c for c in range(1, n + 1) if c not in seen]
    if missing:
        violations.append(f"{len(missing)} customers not visited, e.g. {missing[:5]}")
    twice = sorted(c for c, k in seen.items() if k > 1)
    if twice:
        violations.append(f"{len(twice)} customers visited more than once, e.g. {twice[:5]}")
    if len(used) > instance.max_vehicles:
        violations.append(f"{len(used)} routes > {instance.max_vehicles} vehicles")
    total = 0
    for k, route in enumerate(used):
        if any(not 1 <= c <= n for c in route):
            continue
        total += _route_distance_tenths(nodes, route)
        load = sum(nodes[c].demand for c in route)
        if load > instance.capacity:
            violations.append(f"route {k}: load {load} > capacity {instance.capacity}")
        violations.extend(f"route {k}: {v}" for v in _route_time_violations(nodes, route))
    return Check(distance_tenths=total, vehicles=len(used), violations=tuple(violations))


def _route_distance_tenths(nodes: Sequence[Node], route: Sequence[int]) -> int:
    """Depot → route → depot, arc by arc."""
    path = [0, *route, 0]
    return sum(arc_tenths(nodes[a], nodes[b]) for a, b in itertools.pairwise(path))


def _route_time_violations(nodes: Sequence[Node], route: Sequence[int]) -> list[str]:
    """Arrival times along one route (tenths, waiting allowed) against the windows."""
    depot = nodes[0]
    t_tenths = depot.ready * SCALE
    here = depot
    out = []
    for c in route:
        v = nodes[c]
        arrive = t_tenths + arc_tenths(here, v)
        start = max(arrive, v.ready * SCALE)
        if start > v.due * SCALE:
            out.append(f"customer {c} starts at {start / SCALE:.1f} > due {v.due}")
        t_tenths = start + v.service * SCALE
        here = v
    back = t_tenths + arc_tenths(here, depot)
    if back > depot.due * SCALE:
        out.append(f"back at the depot at {back / SCALE:.1f} > {depot.due}")
    return out


# --- peers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A peer's answer: client nodes per route (empty if none), the engine's own verdict."""

    routes: tuple[tuple[int, ...], ...]
    found: bool


def solve_linli(instance: Instance, time_limit_s: float, seed: int = 0) -> Plan:
    """Linli's routing interface, :func:`matcher.visits.routing.solve_routes`, as it is."""
    from matcher.visits.routing import solve_routes

    result = solve_routes(to_routing_problem(instance), time_limit_s=time_limit_s, seed=seed)
    return Plan(routes=result.routes, found=result.feasible)


def solve_ortools(
    instance: Instance, time_limit_s: float, first_solution: str = "PATH_CHEAPEST_ARC"
) -> Plan:
    """A plain OR-Tools routing model: distance cost, time and capacity dimensions, GLS."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n_nodes = len(instance.nodes)
    dist = distance_matrix_tenths(instance).tolist()
    service = service_tenths(instance).tolist()
    windows = windows_tenths(instance).tolist()
    load = demands(instance).tolist()
    manager = pywrapcp.RoutingIndexManager(n_nodes, instance.max_vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)

    def arc_cost(i: int, j: int) -> int:
        return int(dist[manager.IndexToNode(i)][manager.IndexToNode(j)])

    def travel(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return int(service[a] + dist[a][b])

    def demand(i: int) -> int:
        return int(load[manager.IndexToNode(i)])

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(arc_cost))
    horizon = int(windows[0][1])
    routing.AddDimension(routing.RegisterTransitCallback(travel), horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for node in range(1, n_nodes):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(*map(int, windows[node]))
    for v in range(instance.max_vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(*map(int, windows[0]))
        time_dim.CumulVar(routing.End(v)).SetRange(*map(int, windows[0]))
    routing.AddDimension(
        routing.RegisterUnaryTransitCallback(demand), 0, instance.capacity, True, "load"
    )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, first_solution
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(int(time_limit_s * 1000), 1))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return Plan(routes=(), found=False)
    routes = []
    for v in range(instance.max_vehicles):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        route = []
        while not routing.IsEnd(index):
            route.append(int(manager.IndexToNode(index)))
            index = solution.Value(routing.NextVar(index))
        if route:
            routes.append(tuple(route))
    return Plan(routes=tuple(routes), found=True)


def _solve_ortools_pci(instance: Instance, time_limit_s: float) -> Plan:
    """The OR-Tools model started by PARALLEL_CHEAPEST_INSERTION."""
    return solve_ortools(instance, time_limit_s, first_solution="PARALLEL_CHEAPEST_INSERTION")


PEERS: dict[str, Callable[[Instance, float], Plan]] = {
    "linli": solve_linli,
    "ortools": solve_ortools,
    "ortools-pci": _solve_ortools_pci,
}
"""Peers by name: ``(instance, time_limit_s) -> Plan``."""


# --- measuring -----------------------------------------------------------------------------


def read_bks(path: Path, convention: str = CONVENTION) -> dict[str, float]:
    """Best-known (here: proven optimal) objectives by instance name for one convention."""
    if not Path(path).is_file():
        return {}
    with Path(path).open(newline="") as f:
        return {
            row["instance"]: float(row["objective"])
            for row in csv.DictReader(f)
            if row.get("convention") == convention
        }


def gap_pct(distance: float | None, bks: float | None) -> float | None:
    """(distance − bks) / bks in per cent, or ``None`` when either is unknown."""
    if distance is None or bks is None or bks <= 0:
        return None
    return round(100.0 * (distance - bks) / bks, 4)


def versions() -> dict[str, str]:
    """PyVRP and OR-Tools versions (installed distributions)."""
    out = {}
    for dist in ("pyvrp", "ortools"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def measure(
    instance: Instance, peer: str, time_limit_s: float, bks: float | None
) -> dict[str, Any]:
    """Run one peer on one instance, check its plan, and return the result line."""
    t0 = time.perf_counter()
    plan = PEERS[peer](instance, time_limit_s)
    seconds = time.perf_counter() - t0
    check = check_plan(instance, plan.routes) if plan.routes else None
    feasible = check is not None and check.feasible
    distance = check.distance_tenths / SCALE if check is not None and feasible else None
    return {
        "instance": instance.name,
        "family": instance.family,
        "peer": peer,
        "distance": distance,
        "vehicles": check.vehicles if check is not None else None,
        "feasible": feasible,
        "engine_feasible": plan.found,
        "violations": list(check.violations) if check is not None else ["no plan"],
        "bks": bks,
        "gap_pct": gap_pct(distance, bks),
        "seconds": round(seconds, 2),
        "time_limit_s": time_limit_s,
        "convention": CONVENTION,
        "versions": versions(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def instance_files(data_dir: Path, families: Sequence[str]) -> list[Path]:
    """The data folder's instance files of the given families, in name order."""
    wanted = {f.upper() for f in families}
    return sorted(
        (p for p in Path(data_dir).glob("*.txt") if _family_or_none(p.stem) in wanted),
        key=lambda p: (family_of(p.stem), p.stem),
    )


def _family_or_none(name: str) -> str | None:
    try:
        return family_of(name)
    except SolomonError:
        return None


# --- command -------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m benchmarks solomon``."""
    p.add_argument(
        "files", nargs="*", type=Path, help="instance files (default: --families in --data-dir)"
    )
    p.add_argument("--data-dir", type=Path, default=DATA_DIR, help="folder with bks.csv")
    p.add_argument(
        "--families",
        default=",".join(DEFAULT_FAMILIES),
        help="comma-separated families when no files are given (default R1,C1,RC1)",
    )
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds per run (default 30)")
    p.add_argument(
        "--peers", default="linli,ortools", help=f"comma-separated, from {', '.join(PEERS)}"
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON-lines file to append to")
    p.add_argument("--json", action="store_true", help="print each result line on stdout")


def main(args: argparse.Namespace) -> int:
    """Every peer on every instance, one run at a time; one JSON line per run appended."""
    from benchmarks.cli import UsageError

    peers = [s.strip() for s in args.peers.split(",") if s.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown or not peers:
        raise UsageError(f"unknown peer(s) {', '.join(unknown)}; choose from {', '.join(PEERS)}")
    if not args.time_limit > 0:
        raise UsageError("--time-limit must be positive")
    try:
        instances = _load_instances(args)
    except SolomonError as exc:
        raise UsageError(str(exc)) from None
    bks = read_bks(Path(args.data_dir) / "bks.csv")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    for instance in instances:
        for peer in peers:
            line = measure(instance, peer, args.time_limit, bks.get(instance.name))
            with Path(args.out).open("a") as f:
                f.write(json.dumps(line, sort_keys=True) + "\n")
            if args.json:
                print(json.dumps(line, sort_keys=True), flush=True)
            else:
                print(_summary(line), file=sys.stderr, flush=True)
    return 0


def _load_instances(args: argparse.Namespace) -> list[Instance]:
    """The instances named on the command line, or those of ``--families``."""
    files = list(args.files)
    if not files:
        families = [f.strip() for f in args.families.split(",") if f.strip()]
        files = instance_files(args.data_dir, families)
        if not files:
            raise SolomonError(f"no instances of {args.families} in {args.data_dir}")
    missing = [str(p) for p in files if not Path(p).is_file()]
    if missing:
        raise SolomonError(f"no instance file {', '.join(missing)}")
    return [parse_instance(p) for p in files]


def _summary(line: dict[str, Any]) -> str:
    """One human line per run."""
    return (
        f"{line['instance']} {line['peer']}@{line['time_limit_s']}: distance={line['distance']} "
        f"vehicles={line['vehicles']} feasible={line['feasible']} bks={line['bks']} "
        f"gap={line['gap_pct']}% {line['seconds']}s"
    )
