"""``python -m benchmarks gap FILE...``: OR-Library and Yagiura GAP instances through the engine.

A Generalised Assignment Problem gives each of ``n`` jobs to exactly one of ``m`` agents; job
``j`` on agent ``i`` costs ``c[i][j]`` and takes ``a[i][j]`` of the agent's capacity ``b[i]``.
It is solved here as a dispatch problem by the product's own pipeline
(:func:`matcher.dispatch.solve.solve_with_candidates`: greedy, exact MIP for small components,
Lagrangian + LP + large-neighbourhood search for large ones):

- agents are members at one place, free over the whole horizon, ``capacity_hours = b[i]``;
- job ``j`` is a demand whose one-minute window is the ``j``-th minute of the horizon, so the
  jobs never compete for time: any set of them fits any member, and timetabling (rule 6) never
  binds. (One long common window would also fit, but the search splits members' free time into
  gaps between fixed tasks and would see one copy of every job per gap.)
- the engine's candidates get the instance's numbers per (member, demand) pair
  (:func:`matcher.dispatch.candidates.reprice`): ``use_h = a[i][j]`` and a cost derived from
  ``c[i][j]``;
  every other objective term has weight zero, and leaving a job out costs
  :data:`PENALTY_FACTOR` times the dearest assignment.

The engine minimises. Costs are converted per job: ``cost = s * c[i][j] - min_i s * c[i][j]``
with ``s = 1`` to minimise and ``-1`` to maximise, so every job's cheapest agent costs 0 (a
constant per job: every job is assigned exactly once). The objective and bound are converted
back into the instance's sense; a maximisation bound is an upper bound.

Every answer is checked by :func:`check_assignment`, which recomputes cost and loads from the
file's numbers alone; an incomplete or over-capacity assignment fails the command (exit 1).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.data import benchdata_dir
from matcher.dispatch.arrays import build_arrays
from matcher.dispatch.candidates import generate_candidates, reprice
from matcher.dispatch.problem import Demand, Interval, Location, Member, Options, Problem, Weights
from matcher.dispatch.solve import Progress, SearchSettings, solve_with_candidates
from matcher.dispatch.validation import validate_problem

IntMatrix = NDArray[np.int64]

PENALTY_FACTOR = 10.0
"""Leaving a job out costs this many times the dearest (converted) assignment, plus one."""

SETTINGS = SearchSettings(
    exact_solver="auto",
    exact_share=0.5,
    exact_columns=1_000_000_000,
    shortlist_k=1_000_000,
    cluster_members=4,
    max_demands=40,
    adaptive=True,
    sub_limit_s=0.25,
)
"""The engine's knobs for GAP (:class:`matcher.dispatch.solve.SearchSettings`; the defaults are
tuned
for sparse dispatch districts, a GAP is dense: every agent can take every job). The exact model
takes the whole instance and half the time limit (CP-SAT when it has at most 700 columns,
else HiGHS: :func:`matcher.dispatch.solve.solve_exact`); every agent stays a search candidate
(capacity use, not cost, decides who can take a job); neighbourhoods are small, their models
get 0.25 s and shrink or grow with what they solve in time."""

SMALL_SETTINGS = replace(SETTINGS, exact_share=0.9)
"""For an instance CP-SAT takes whole (m x n within ``cpsat_max_vars``): the exact model gets
nine tenths of the time limit, since a proof ends the solve and the search rarely improves on
an unproved CP-SAT plan of such a small instance."""


def settings_for(instance: GapInstance) -> SearchSettings:
    """:data:`SMALL_SETTINGS` for instances CP-SAT takes whole, else :data:`SETTINGS`."""
    return SMALL_SETTINGS if instance.m * instance.n <= SETTINGS.cpsat_max_vars else SETTINGS


SENSES = ("auto", "min", "max")
DATA_DIR = benchdata_dir()
ORLIB_DIR = DATA_DIR / "gap_orlib"  # gap1..gap12, gapa..gapd, README.md, bks.csv
YAGIURA_DIR = DATA_DIR / "gap_yagiura"  # types C, D, E, README.md, bks.csv
_ORIGIN = datetime(2026, 1, 5, tzinfo=UTC)
_PLACE = Location(34.7466, 113.6253)
_ORLIB_MAX = re.compile(r"gap([1-9]|1[0-2])")  # OR-Library publishes gap1..gap12 as maximisation


class GapFormatError(ValueError):
    """A file that is not a GAP instance file (one line: what is wrong and where)."""


class GapCheckError(RuntimeError):
    """An engine answer that is not a complete, capacity-respecting assignment."""


@dataclass(frozen=True)
class GapInstance:
    """One problem of a GAP file: ``cost[i, j]``, ``use[i, j]`` of agent ``i`` and job ``j``."""

    name: str  # the file's stem, plus "-K" for the K-th problem of a multi-problem file
    file: Path
    index: int  # 1-based position of the problem in its file
    cost: IntMatrix  # (m, n)
    use: IntMatrix  # (m, n)
    capacity: IntMatrix  # (m,)

    @property
    def m(self) -> int:
        return int(self.cost.shape[0])

    @property
    def n(self) -> int:
        return int(self.cost.shape[1])


@dataclass(frozen=True)
class BestKnown:
    """A row of the ``bks.csv`` beside the instance file."""

    name: str  # the instance's name in bks.csv (a05100 for gapa.txt's first problem)
    objective: float
    sense: str
    optimal: bool


@dataclass(frozen=True)
class GapResult:
    """What the engine found for one instance, in the instance's own sense."""

    instance: GapInstance
    sense: str
    objective: float
    bound: float  # a lower bound to minimise, an upper bound to maximise
    seconds: float
    assignment: tuple[int, ...]  # 0-based agent of each job
    best_known: BestKnown | None
    time_limit_s: float

    def line(self) -> dict[str, Any]:
        """The JSON line of this result."""
        inst, bk = self.instance, self.best_known
        out: dict[str, Any] = {
            "instance": inst.name,
            "m": inst.m,
            "n": inst.n,
            "objective": self.objective,
            "bound": round(self.bound, 6),
            "seconds": round(self.seconds, 3),
            "assignment": list(self.assignment),
            "sense": self.sense,
            "best_known": None if bk is None else bk.objective,
            "time_limit_s": self.time_limit_s,
        }
        if bk is not None and bk.name != inst.name:
            out["known_as"] = bk.name
        return out

    @property
    def proved_optimal(self) -> bool:
        """Integer data: the bound, rounded towards the objective, meets it."""
        if self.sense == "min":
            return math.ceil(self.bound - 1e-6) >= self.objective
        return math.floor(self.bound + 1e-6) <= self.objective

    @property
    def gap_pct(self) -> float | None:
        """How much worse than the best known, in % of it (negative: better)."""
        bk = self.best_known
        if bk is None:
            return None
        worse = self.objective - bk.objective
        if self.sense == "max":
            worse = -worse
        return 100.0 * worse / max(abs(bk.objective), 1.0)


# --- reading -------------------------------------------------------------------------------


def _matrices(tokens: list[int], at: int, m: int, n: int) -> tuple[IntMatrix, IntMatrix, IntMatrix]:
    """``c``, ``a`` and ``b`` of one problem starting at token ``at`` (after ``m n``)."""
    mn = m * n
    cost = np.array(tokens[at : at + mn], dtype=np.int64).reshape(m, n)
    use = np.array(tokens[at + mn : at + 2 * mn], dtype=np.int64).reshape(m, n)
    capacity = np.array(tokens[at + 2 * mn : at + 2 * mn + m], dtype=np.int64)
    return cost, use, capacity


def parse_instances(text: str, file: Path) -> list[GapInstance]:
    """The problems of a GAP file: OR-Library (``P``, then ``P`` problems) or Yagiura (one).

    Both are whitespace-separated integers; line breaks carry no meaning. A Yagiura file is
    ``m n``, ``c`` (m rows of n), ``a`` (m rows of n), ``b`` (m): ``2 + 2mn + m`` tokens.
    """
    try:
        tokens = [int(t) for t in text.split()]
    except ValueError as exc:
        raise GapFormatError(f"{file}: not a file of integers ({exc})") from None
    if len(tokens) < 3:
        raise GapFormatError(f"{file}: too short for a GAP instance")
    shapes: list[tuple[int, int, int]] = []  # (first token of c, m, n)
    m, n = tokens[0], tokens[1]
    if m > 0 and n > 0 and len(tokens) == 2 + 2 * m * n + m:
        shapes.append((2, m, n))
    else:
        count, at = tokens[0], 1
        if count <= 0:
            raise GapFormatError(f"{file}: the problem count must be positive, got {count}")
        for k in range(count):
            if at + 2 > len(tokens):
                raise GapFormatError(f"{file}: ends before problem {k + 1} of {count}")
            m, n = tokens[at], tokens[at + 1]
            if m <= 0 or n <= 0:
                raise GapFormatError(f"{file}: problem {k + 1} has m={m}, n={n}")
            shapes.append((at + 2, m, n))
            at += 2 + 2 * m * n + m
        if at != len(tokens):
            raise GapFormatError(
                f"{file}: {len(tokens)} integers, but {count} problems of the sizes given need {at}"
            )
    out = []
    for k, (at, m, n) in enumerate(shapes, start=1):
        cost, use, capacity = _matrices(tokens, at, m, n)
        if (use < 0).any() or (capacity < 0).any():
            raise GapFormatError(f"{file}: problem {k} has a negative use or capacity")
        name = file.stem if len(shapes) == 1 else f"{file.stem}-{k}"
        out.append(GapInstance(name, file, k, cost, use, capacity))
    return out


def read_instances(path: Path) -> list[GapInstance]:
    """The problems of the GAP file at ``path``."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise GapFormatError(f"{path}: cannot read ({exc})") from None
    return parse_instances(text, path)


def default_sense(instance: GapInstance) -> str:
    """The sense the instance's source publishes: OR-Library gap1..gap12 maximise, others minimise.

    (``bks.csv`` lists gap1..gap12 in both senses; OR-Library's own optima are the maximum ones.)
    """
    return "max" if _ORLIB_MAX.fullmatch(instance.file.stem) else "min"


def best_known(instance: GapInstance, sense: str) -> BestKnown | None:
    """The ``bks.csv`` row beside the file for this problem and sense, if there is one."""
    table = instance.file.parent / "bks.csv"
    if not table.is_file():
        return None
    with table.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if (
                row.get("file") == instance.file.name
                and row.get("index_in_file") == str(instance.index)
                and row.get("sense") == sense
            ):
                return BestKnown(
                    name=row["instance"],
                    objective=float(row["objective"]),
                    sense=sense,
                    optimal=row.get("optimal_or_bks") == "optimal",
                )
    return None


# --- checking ------------------------------------------------------------------------------


def check_assignment(instance: GapInstance, assignment: Sequence[int]) -> int:
    """The cost ``sum c[agent(j)][j]`` of a complete assignment that respects every capacity.

    Recomputed from the file's numbers alone; raises :class:`GapCheckError` otherwise.
    """
    agents = np.asarray(assignment, dtype=np.int64)
    if agents.shape != (instance.n,):
        raise GapCheckError(
            f"{instance.name}: {len(agents)} jobs assigned, the instance has {instance.n}"
        )
    if len(agents) and (agents.min() < 0 or agents.max() >= instance.m):
        raise GapCheckError(f"{instance.name}: an agent index outside 0..{instance.m - 1}")
    jobs = np.arange(instance.n)
    load = np.bincount(agents, weights=instance.use[agents, jobs], minlength=instance.m)
    over = np.flatnonzero(load > instance.capacity)
    if len(over):
        i = int(over[0])
        raise GapCheckError(
            f"{instance.name}: agent {i} carries {load[i]:g}, capacity {instance.capacity[i]}"
        )
    return int(instance.cost[agents, jobs].sum())


# --- the engine ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineCosts:
    """The instance's costs as the engine sees them: ``cost = s * c - shift`` per job."""

    cost: NDArray[np.float64]  # (m, n), every job's cheapest agent at 0
    sign: int  # 1 to minimise, -1 to maximise
    shift: float  # sum over jobs of min_i s * c[i][j]
    penalty: float  # the cost of leaving a job out

    def to_instance(self, engine_value: float) -> float:
        """An engine objective or bound in the instance's numbers and sense."""
        return self.sign * (engine_value + self.shift)


def engine_costs(instance: GapInstance, sense: str) -> EngineCosts:
    """Per-job shifted costs (non-negative, minimised) and the penalty for a job left out."""
    sign = 1 if sense == "min" else -1
    signed = sign * instance.cost.astype(np.float64)
    low = signed.min(axis=0)
    cost = signed - low[None, :]
    penalty = PENALTY_FACTOR * float(cost.max(initial=0.0)) + 1.0
    return EngineCosts(cost, sign, float(low.sum()), penalty)


def _scattered(count: int) -> list[Location]:
    """``count`` fixed pseudo-random points within about 1 km of :data:`_PLACE`."""
    rng = np.random.default_rng(20260105)
    north_km, east_km = rng.uniform(-0.7, 0.7, size=(2, count))
    lat = _PLACE.lat + np.degrees(north_km / 6371.0)
    lon = _PLACE.lon + np.degrees(east_km / (6371.0 * math.cos(math.radians(_PLACE.lat))))
    return [Location(float(a), float(o)) for a, o in zip(lat, lon, strict=True)]


def engine_problem(
    instance: GapInstance, penalty: float, *, time_limit_s: float, seed: int, workers: int
) -> Problem:
    """Agents as members near one place, jobs as one-minute demands in minutes of their own.

    Members live at fixed pseudo-random points within 1 km of the jobs (all in range; distance
    has weight 0): the search frees groups of nearby members together, and with everyone at one
    point those groups would always be the same. Job ``j``'s window is minute ``[j, j+1)`` of
    the horizon and it lasts that minute, so no two jobs compete for a member's time; members
    are free over the whole horizon. Capacity hours are the agents' capacities (the candidates'
    ``use_h`` carry the jobs' uses). Leaving a job out costs ``penalty`` (priority 1,
    ``weights.unassigned = penalty``); every other weight is 0.
    """
    horizon = Interval(_ORIGIN, _ORIGIN + timedelta(minutes=instance.n))
    homes = _scattered(instance.m)
    members = tuple(
        Member(
            id=f"agent-{i}",
            location=homes[i],
            skills=(),
            availability=(horizon,),
            capacity_hours=float(instance.capacity[i]),
        )
        for i in range(instance.m)
    )
    demands = tuple(
        Demand(
            id=f"job-{j}",
            category="job",
            skills=(),
            location=_PLACE,
            window=Interval(_ORIGIN + timedelta(minutes=j), _ORIGIN + timedelta(minutes=j + 1)),
            duration_hours=1.0 / 60.0,
            priority=1,
        )
        for j in range(instance.n)
    )
    weights = Weights(
        unassigned=penalty,
        distance=0.0,
        preference=0.0,
        continuity=0.0,
        reliability=0.0,
        fairness=0.0,
    )
    options = Options(
        time_limit_s=time_limit_s,
        seed=seed,
        workers=workers,
        changeover_minutes=0.0,
        time_step_minutes=1.0,
        weights=weights,
    )
    return Problem(members=members, demands=demands, options=options)


class _ProofWatch:
    """Stops the engine once its bound proves the incumbent optimal for integer costs.

    The engine's own test is relative (:data:`matcher.dispatch.solve.OPTIMAL_GAP`); with integer
    costs,
    a bound above ``objective - 1`` already proves it, and the rest of the time would be wasted.
    """

    def __init__(self) -> None:
        self.bound: float | None = None
        self.done = False

    def __call__(self, event: Progress) -> None:
        if event.bound is not None:
            self.bound = event.bound
        if event.objective is not None and self.bound is not None:
            self.done |= math.ceil(self.bound - 1e-6) >= event.objective - 1e-9

    def proved(self) -> bool:
        return self.done


def solve_gap(
    instance: GapInstance, sense: str, *, time_limit_s: float, seed: int = 0, workers: int = 0
) -> GapResult:
    """Solve one instance through the engine; the answer is checked before it is returned."""
    started = time.perf_counter()
    costs = engine_costs(instance, sense)
    problem = engine_problem(
        instance, costs.penalty, time_limit_s=time_limit_s, seed=seed, workers=workers
    )
    validate_problem(problem)
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    agent = np.array([arr.member_index[f"agent-{i}"] for i in range(instance.m)])
    job = np.array([arr.demand_index[f"job-{j}"] for j in range(instance.n)])
    i_of = np.empty(arr.n_members, dtype=np.int64)
    i_of[agent] = np.arange(instance.m)
    j_of = np.empty(arr.n_demands, dtype=np.int64)
    j_of[job] = np.arange(instance.n)
    i, j = i_of[cands.member], j_of[cands.demand]
    if len(cands) != instance.m * instance.n:
        raise GapCheckError(
            f"{instance.name}: the engine made {len(cands)} candidates, expected m*n = "
            f"{instance.m * instance.n}"
        )
    cands = reprice(cands, costs.cost[i, j], instance.use[i, j].astype(np.float64))
    watch = _ProofWatch()
    answer = solve_with_candidates(
        arr,
        cands,
        started_s=started,
        priced=True,
        settings=settings_for(instance),
        progress=watch,
        stop=watch.proved,
    )
    seconds = time.perf_counter() - started

    assignment = np.full(instance.n, -1, dtype=np.int64)
    for a in answer.assignments:
        assignment[j_of[arr.demand_index[a.demand]]] = i_of[arr.member_index[a.members[0]]]
    if (assignment < 0).any():
        left = int((assignment < 0).sum())
        raise GapCheckError(f"{instance.name}: the engine left {left} of {instance.n} jobs out")
    checked = check_assignment(instance, assignment.tolist())
    objective = costs.to_instance(answer.objective)
    if abs(objective - checked) > 1e-6 * max(1.0, abs(checked)):
        raise GapCheckError(
            f"{instance.name}: the engine reports {objective:g}, the file's costs give {checked}"
        )
    return GapResult(
        instance=instance,
        sense=sense,
        objective=checked,
        bound=costs.to_instance(answer.bound),
        seconds=seconds,
        assignment=tuple(int(x) for x in assignment),
        best_known=best_known(instance, sense),
        time_limit_s=time_limit_s,
    )


# --- command -------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m benchmarks gap``."""
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="GAP instance files")
    p.add_argument(
        "--time-limit", type=float, default=10.0, help="engine time limit per instance, s"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per instance and line")
    p.add_argument(
        "--sense",
        choices=SENSES,
        default="auto",
        help="objective sense; auto: as the source publishes it (OR-Library gap1..gap12 "
        "maximise, gapa..gapd and Yagiura's minimise)",
    )
    p.add_argument("--seed", type=int, default=0, help="engine seed (default 0)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="engine workers as in the dispatch options: 0 (default) every core (the bound "
        "beside the search), 1 one thread on a round budget",
    )


_COLUMNS = ("instance", "m", "n", "objective", "bound", "best-known", "gap %", "seconds")
_WIDTHS = (12, 4, 5, 10, 12, 10, 7, 8)


def _row(cells: Sequence[object]) -> str:
    return " ".join(
        f"{c!s:<{w}}" if k == 0 else f"{c!s:>{w}}"
        for k, (c, w) in enumerate(zip(cells, _WIDTHS, strict=True))
    )


def table_row(result: GapResult) -> str:
    """One line of the readable table."""
    inst, bk, gap = result.instance, result.best_known, result.gap_pct
    mark = "*" if result.proved_optimal else ""
    return _row(
        (
            inst.name,
            inst.m,
            inst.n,
            f"{result.objective:g}{mark}",
            f"{result.bound:.2f}",
            "-" if bk is None else f"{bk.objective:g}",
            "-" if gap is None else f"{gap + 0.0:.3f}",
            f"{result.seconds:.2f}",
        )
    )


def summary(results: Sequence[GapResult]) -> str:
    """Counts and mean gap to the best known of a run."""
    gaps = [r.gap_pct for r in results if r.gap_pct is not None]
    hits = sum(1 for r in results if r.gap_pct is not None and r.gap_pct <= 1e-9)
    proved = sum(1 for r in results if r.proved_optimal)
    text = f"{len(results)} instances, {proved} proved optimal"
    if gaps:
        text += (
            f", {hits}/{len(gaps)} at the best known, gap to best known: mean "
            f"{float(np.mean(gaps)):.3f} %, median {float(np.median(gaps)):.3f} %, "
            f"max {max(gaps):.3f} %"
        )
    return text + f"; {sum(r.seconds for r in results):.1f} s in all"


def main(args: argparse.Namespace) -> int:
    """Solve every problem of every file; 0 if all answers check, 1 if one does not."""
    from benchmarks.cli import UsageError  # cli imports this module

    if not args.time_limit > 0 or not math.isfinite(args.time_limit):
        raise UsageError("--time-limit must be a positive number of seconds")
    if args.workers < 0:
        raise UsageError("--workers must be >= 0")
    instances: list[GapInstance] = []
    for path in args.files:
        if not Path(path).is_file():
            raise UsageError(f"no file {path}")
        try:
            instances.extend(read_instances(Path(path)))
        except GapFormatError as exc:
            raise UsageError(str(exc)) from None
    if not args.json:
        print(_row(_COLUMNS), flush=True)
    results: list[GapResult] = []
    failed = 0
    for inst in instances:
        sense = default_sense(inst) if args.sense == "auto" else args.sense
        try:
            result = solve_gap(
                inst, sense, time_limit_s=args.time_limit, seed=args.seed, workers=args.workers
            )
        except GapCheckError as exc:
            print(f"python -m benchmarks gap: check failed: {exc}", file=sys.stderr, flush=True)
            failed += 1
            continue
        results.append(result)
        if args.json:
            print(json.dumps(result.line()), flush=True)
        else:
            print(table_row(result), flush=True)
    if not args.json and results:
        print(f"(* proved optimal by the engine's bound) {summary(results)}", flush=True)
    return 1 if failed else 0


__all__ = [
    "BestKnown",
    "GapCheckError",
    "GapFormatError",
    "GapInstance",
    "GapResult",
    "add_arguments",
    "check_assignment",
    "engine_costs",
    "engine_problem",
    "main",
    "parse_instances",
    "read_instances",
    "solve_gap",
]
