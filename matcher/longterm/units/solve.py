"""Pair units with communities: a CP-SAT model solved three times, one level of the objective each.

The objective (``docs/contracts/units.md``), smaller is better::

    A · (need weight − coverage)  +  B · (P − pairs)  +  Σ distance_km
    P = min(Σ unit.max_communities, Σ community slots)        (the most pairs there can be)
    d = max(1, ⌈largest unit–community distance in km⌉)
    B = P · d + 1,   A = (P + 1) · B

Distances add up to at most ``P · d < B`` and ``B · (P − pairs) + distances < A``, so the weights
order answers exactly lexicographically: coverage, then pairs, then nearness.
:func:`objective_weights` is the one place they are computed.

The model is solved level by level rather than with those (large) weights: maximise coverage;
fix it and maximise pairs; fix that and minimise distance (in whole metres, the model's only
rounding). The pairs stage starts from the coverage answer as a hint (and is skipped when that
answer, completed greedily, already has the most pairs there can be). A last greedy pass adds
any pair still possible (a unit with room and a community with a free slot within range), which
never worsens the objective, so even an answer cut short by the time limit is maximal.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from matcher.geo import haversine_km
from matcher.longterm.units.answer import Answer, OpenSlots, Pair, Stats, Uncovered, Unpaired
from matcher.longterm.units.problem import Problem

__all__ = ["distance_matrix_km", "objective_weights", "solve"]

_STAGE_SHARES = (0.4, 0.5, 1.0)
"""Share of the time still left that coverage, pairs and distance stages may use."""
_MIN_STAGE_S = 0.05
_SHOWN = 3


def distance_matrix_km(problem: Problem) -> np.ndarray:
    """Haversine km, shape ``(units, communities)``."""
    if not problem.units or not problem.communities:
        return np.zeros((len(problem.units), len(problem.communities)))
    ulat = np.array([u.location.lat for u in problem.units])[:, None]
    ulon = np.array([u.location.lon for u in problem.units])[:, None]
    clat = np.array([c.location.lat for c in problem.communities])[None, :]
    clon = np.array([c.location.lon for c in problem.communities])[None, :]
    return np.asarray(haversine_km(ulat, ulon, clat, clon), dtype=np.float64)


def objective_weights(problem: Problem, distance_km: np.ndarray) -> tuple[int, int, int]:
    """``(A, B, P)`` of the module docstring."""
    slots = sum(problem.slots(c) for c in problem.communities)
    most = min(sum(u.max_communities for u in problem.units), slots)
    far = max(1, math.ceil(float(distance_km.max()))) if distance_km.size else 1
    b = most * far + 1
    return (most + 1) * b, b, most


@dataclass(frozen=True)
class _Candidates:
    """Pairs within range: unit index, community index, km; and which needs each covers."""

    unit: np.ndarray
    community: np.ndarray
    km: np.ndarray
    in_range: np.ndarray

    def __len__(self) -> int:
        return len(self.unit)


def _candidates(problem: Problem, distance_km: np.ndarray) -> _Candidates:
    """Rule 4 (distance): only pairs within ``max_distance_km`` become variables."""
    limit = problem.options.max_distance_km
    in_range = np.ones(distance_km.shape, dtype=bool) if limit is None else distance_km <= limit
    units, communities = np.nonzero(in_range)
    return _Candidates(units, communities, distance_km[units, communities], in_range)


@dataclass
class _Stage:
    status: object
    value: int | None
    bound: float | None


class _Model:
    """The CP-SAT model: ``x`` per candidate pair, ``y`` per coverable community need."""

    def __init__(self, problem: Problem, cand: _Candidates) -> None:
        self.problem = problem
        self.cand = cand
        self.model = cp_model.CpModel()
        self.x = [
            self.model.new_bool_var(
                f"x[{problem.units[int(u)].id},{problem.communities[int(c)].id}]"
            )
            for u, c in zip(cand.unit, cand.community, strict=True)
        ]
        self.unit_limits()
        self.community_slots()
        self.pins()
        self.coverage = self.coverage_term()
        self.pairs = cp_model.LinearExpr.sum(self.x)
        metres = np.rint(cand.km * 1000.0).astype(np.int64)
        self.metres = cp_model.LinearExpr.weighted_sum(self.x, [int(m) for m in metres])

    def unit_limits(self) -> None:
        """Rule 2: a unit pairs with at most ``max_communities`` communities."""
        by_unit: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for k, u in enumerate(self.cand.unit):
            by_unit[int(u)].append(self.x[k])
        for u, xs in by_unit.items():
            if len(xs) > self.problem.units[u].max_communities:
                self.model.add(sum(xs) <= self.problem.units[u].max_communities)

    def community_slots(self) -> None:
        """Rule 3: a community pairs with at most its slots of units."""
        by_community: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for k, c in enumerate(self.cand.community):
            by_community[int(c)].append(self.x[k])
        for c, xs in by_community.items():
            slots = self.problem.slots(self.problem.communities[c])
            if len(xs) > slots:
                self.model.add(sum(xs) <= slots)

    def pins(self) -> None:
        """Rule 5: pinned pairs are kept (validation made sure they are within range)."""
        index = {
            (self.problem.units[int(u)].id, self.problem.communities[int(c)].id): k
            for k, (u, c) in enumerate(zip(self.cand.unit, self.cand.community, strict=True))
        }
        for pin in self.problem.pinned:
            self.model.add(self.x[index[(pin.unit, pin.community)]] == 1)

    def coverage_term(self) -> cp_model.LinearExpr:
        """Level 1: ``y[c, need]`` may be 1 only if a paired unit offers the need."""
        offering: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        for k, (u, c) in enumerate(zip(self.cand.unit, self.cand.community, strict=True)):
            for resource in self.problem.units[int(u)].resources:
                offering[(int(c), resource)].append(self.x[k])
        ys: list[cp_model.IntVar] = []
        weights: list[int] = []
        for c, community in enumerate(self.problem.communities):
            for need in community.needs:
                xs = offering.get((c, need.category))
                if not xs:
                    continue
                y = self.model.new_bool_var(f"y[{community.id},{need.category}]")
                self.model.add(y <= sum(xs))
                ys.append(y)
                weights.append(need.weight)
        return cp_model.LinearExpr.weighted_sum(ys, weights)

    def run(
        self,
        solver: cp_model.CpSolver,
        time_limit_s: float,
        hint: list[int] | None,
        *,
        use_hint: bool,
    ) -> tuple[_Stage, list[int] | None]:
        """Solve the current stage; its status, value and bound, and the new (or old) answer."""
        self.model.clear_hints()
        if hint is not None and use_hint:
            for var, value in zip(self.x, hint, strict=True):
                self.model.add_hint(var, value)
        solver.parameters.max_time_in_seconds = max(_MIN_STAGE_S, time_limit_s)
        status = solver.solve(self.model)
        if status == cp_model.MODEL_INVALID:
            raise RuntimeError(f"CP-SAT: invalid model (our bug): {self.model.validate()}")
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return _Stage(status, None, None), hint
        values = [int(solver.value(v)) for v in self.x]
        stage = _Stage(status, round(solver.objective_value), solver.best_objective_bound)
        return stage, values


def solve(
    problem: Problem, *, time_limit_s: float | None = None, seed: int | None = None
) -> Answer:
    """Pair a validated problem (see :func:`validate`).

    Args:
        problem: Units, communities, pins and options.
        time_limit_s, seed: Override ``problem.options`` (the limit covers all three stages).

    Returns:
        The pairs; uncovered needs, unpaired units and open slots with reasons.
    """
    started = time.perf_counter()
    limit = float(problem.options.time_limit_s if time_limit_s is None else time_limit_s)
    distance_km = distance_matrix_km(problem)
    cand = _candidates(problem, distance_km)
    model = _Model(problem, cand)
    most = objective_weights(problem, distance_km)[2]
    solver = _solver(problem, seed)
    stages: list[_Stage] = []
    values: list[int] | None = None
    levels = ((model.coverage, True), (model.pairs, True), (model.metres, False))
    for share, (term, maximise) in zip(_STAGE_SHARES, levels, strict=True):
        if values is not None:
            values = _as_values(cand, _complete(problem, cand, values))
        if term is model.pairs and values is not None and sum(values) == most:
            stages.append(_Stage(cp_model.OPTIMAL, most, float(most)))  # the hint is the most
        else:
            if maximise:
                model.model.maximize(term)
            else:
                model.model.minimize(term)
            left = limit - (time.perf_counter() - started)
            # the distance stage runs unhinted: a hint draws the LP worker away from its bound
            stage, values = model.run(solver, left * share, values, use_hint=maximise)
            stages.append(stage)
        if stages[-1].value is None or not maximise:
            break
        model.model.add(term >= stages[-1].value)  # keep this level while improving the next
    chosen = _complete(problem, cand, values)
    return _answer(problem, distance_km, cand, chosen, stages, started)


def _solver(problem: Problem, seed: int | None) -> cp_model.CpSolver:
    """CP-SAT with its LP at full strength: the distance stage is a transportation problem with
    covering side constraints, whose LP relaxation does most of the work."""
    solver = cp_model.CpSolver()
    workers = problem.options.workers or os.cpu_count() or 1
    solver.parameters.random_seed = int(problem.options.seed if seed is None else seed)
    solver.parameters.num_workers = workers
    solver.parameters.linearization_level = 2
    if workers == 2:
        solver.parameters.subsolvers.extend(["max_lp", "core"])
    return solver


def _as_values(cand: _Candidates, chosen: list[int]) -> list[int]:
    values = [0] * len(cand)
    for k in chosen:
        values[k] = 1
    return values


def _complete(problem: Problem, cand: _Candidates, values: list[int] | None) -> list[int]:
    """The solver's pairs (or the pins alone) plus every pair still possible, nearest first."""
    chosen = [k for k, v in enumerate(values or []) if v]
    if values is None:
        pinned = {(p.unit, p.community) for p in problem.pinned}
        chosen = [
            k
            for k in range(len(cand))
            if (
                problem.units[int(cand.unit[k])].id,
                problem.communities[int(cand.community[k])].id,
            )
            in pinned
        ]
    room_unit = [u.max_communities for u in problem.units]
    room_community = [problem.slots(c) for c in problem.communities]
    taken = set(chosen)
    for k in chosen:
        room_unit[int(cand.unit[k])] -= 1
        room_community[int(cand.community[k])] -= 1
    for k in np.argsort(cand.km, kind="stable"):
        u, c = int(cand.unit[k]), int(cand.community[k])
        if int(k) not in taken and room_unit[u] > 0 and room_community[c] > 0:
            chosen.append(int(k))
            taken.add(int(k))
            room_unit[u] -= 1
            room_community[c] -= 1
    return sorted(chosen, key=lambda k: (int(cand.community[k]), int(cand.unit[k])))


# --------------------------------------------------------------------------------------------
# The answer.


def _answer(
    problem: Problem,
    distance_km: np.ndarray,
    cand: _Candidates,
    chosen: list[int],
    stages: list[_Stage],
    started: float,
) -> Answer:
    units, communities = problem.units, problem.communities
    paired_with: dict[int, list[int]] = defaultdict(list)  # community -> units
    partners: dict[int, list[int]] = defaultdict(list)  # unit -> communities
    pairs: list[Pair] = []
    for k in chosen:
        u, c = int(cand.unit[k]), int(cand.community[k])
        paired_with[c].append(u)
        partners[u].append(c)
        offered = set(units[u].resources)
        covers = tuple(n.category for n in communities[c].needs if n.category in offered)
        pairs.append(Pair(units[u].id, communities[c].id, round(float(cand.km[k]), 4), covers))
    uncovered = _uncovered(problem, distance_km, cand.in_range, paired_with, partners)
    unpaired = _unpaired(problem, distance_km, cand.in_range, partners, paired_with)
    open_slots = _open_slots(problem, distance_km, cand.in_range, paired_with, partners)
    need_weight = sum(n.weight for c in communities for n in c.needs)
    coverage = need_weight - sum(u.weight for u in uncovered)
    distance = math.fsum(float(cand.km[k]) for k in chosen)
    a, b, most = objective_weights(problem, distance_km)
    objective = a * (need_weight - coverage) + b * (most - len(pairs)) + distance
    bound, proven = _bound(stages, a, b, len(pairs), most, need_weight)
    stats = Stats(
        objective=objective,
        bound=min(bound, objective),
        coverage=coverage,
        need_weight=need_weight,
        pairs=len(pairs),
        max_pairs=most,
        distance_km=round(distance, 4),
        candidates=len(cand),
        solve_s=round(time.perf_counter() - started, 4),
    )
    status = "optimal" if proven else "feasible"
    return Answer(status, tuple(pairs), uncovered, unpaired, open_slots, stats)


def _bound(
    stages: list[_Stage], a: int, b: int, pairs: int, most: int, need_weight: int
) -> tuple[float, bool]:
    """A proven lower bound on the objective from the stages' bounds, and whether all three
    stages proved optimality (distances to the whole metre)."""
    bound = 0.0
    for level, stage in enumerate(stages):
        if stage.bound is None:
            return bound, False
        if level == 0:
            bound += a * max(0, need_weight - math.floor(stage.bound + 1e-6))
        elif level == 1:
            bound += b * max(0, most - math.floor(stage.bound + 1e-6))
        else:
            # the model rounds each pair's distance to the metre: at most 0.5 m off per pair
            bound += max(0.0, stage.bound / 1000.0 - 0.0005 * pairs)
        if stage.status != cp_model.OPTIMAL:
            return bound, False
    return bound, len(stages) == 3


def _where(problem: Problem, partners: dict[int, list[int]], u: int) -> str:
    if not partners.get(u):
        return "unpaired"
    return "paired with " + ", ".join(problem.communities[c].id for c in partners[u])


def _uncovered(
    problem: Problem,
    distance_km: np.ndarray,
    in_range: np.ndarray,
    paired_with: dict[int, list[int]],
    partners: dict[int, list[int]],
) -> tuple[Uncovered, ...]:
    units = problem.units
    limit = problem.options.max_distance_km
    offering: dict[str, list[int]] = defaultdict(list)
    for u, unit in enumerate(units):
        for resource in unit.resources:
            offering[resource].append(u)
    found: list[Uncovered] = []
    for c, community in enumerate(problem.communities):
        have = {r for u in paired_with.get(c, []) for r in units[u].resources}
        for need in community.needs:
            if need.category in have:
                continue
            givers = offering.get(need.category, [])
            near = [u for u in givers if in_range[u, c]]
            if not givers:
                reason = "no_resource"
                detail = (
                    f"no unit offers {need.category!r}; recruit a unit that does, or meet the need "
                    "through member posts"
                )
            elif not near:
                reason = "too_far"
                u = min(givers, key=lambda g: distance_km[g, c])
                detail = (
                    f"{len(givers)} unit(s) offer {need.category!r}; the nearest, "
                    f"{units[u].id}, is {distance_km[u, c]:.1f} km away (limit {limit:g} km); "
                    "raise max_distance_km or recruit a nearer unit"
                )
            else:
                reason = "outweighed"
                u = min(near, key=lambda g: distance_km[g, c])
                mine = ", ".join(units[v].id for v in paired_with.get(c, [])) or "none"
                detail = (
                    f"{len(near)} unit(s) within range offer {need.category!r}; the nearest, "
                    f"{units[u].id} ({distance_km[u, c]:.1f} km), is "
                    f"{_where(problem, partners, u)}; this community's "
                    f"{problem.slots(community)} slot(s) went to {mine}, covering more; raise "
                    "its max_units or let a unit pair with more communities"
                )
            found.append(Uncovered(community.id, need.category, need.weight, reason, detail))
    return tuple(found)


def _unpaired(
    problem: Problem,
    distance_km: np.ndarray,
    in_range: np.ndarray,
    partners: dict[int, list[int]],
    paired_with: dict[int, list[int]],
) -> tuple[Unpaired, ...]:
    found: list[Unpaired] = []
    limit = problem.options.max_distance_km
    for u, unit in enumerate(problem.units):
        if partners.get(u):
            continue
        near = [c for c in range(len(problem.communities)) if in_range[u, c]]
        if not near:
            if problem.communities:
                c = int(np.argmin(distance_km[u]))
                detail = (
                    f"the nearest community, {problem.communities[c].id}, is "
                    f"{distance_km[u, c]:.1f} km away (limit {limit:g} km); raise max_distance_km"
                )
            else:
                detail = "the problem has no communities"
            found.append(Unpaired(unit.id, "too_far", detail))
            continue
        shown = ", ".join(problem.communities[c].id for c in near[:_SHOWN])
        more = f" and {len(near) - _SHOWN} more" if len(near) > _SHOWN else ""
        found.append(
            Unpaired(
                unit.id,
                "no_slot",
                f"every community within range ({shown}{more}) has all its slots filled; raise "
                "units_per_community or keep the unit in reserve",
            )
        )
    return tuple(found)


def _open_slots(
    problem: Problem,
    distance_km: np.ndarray,
    in_range: np.ndarray,
    paired_with: dict[int, list[int]],
    partners: dict[int, list[int]],
) -> tuple[OpenSlots, ...]:
    found: list[OpenSlots] = []
    limit = problem.options.max_distance_km
    spare = [
        u for u, unit in enumerate(problem.units) if len(partners.get(u, [])) < unit.max_communities
    ]
    for c, community in enumerate(problem.communities):
        left = problem.slots(community) - len(paired_with.get(c, []))
        if left <= 0:
            continue
        others = [u for u in spare if u not in paired_with.get(c, [])]
        if others:
            u = min(others, key=lambda v: distance_km[v, c])
            found.append(
                OpenSlots(
                    community.id,
                    left,
                    "too_far",
                    f"units with room are all beyond range; the nearest, "
                    f"{problem.units[u].id}, is {distance_km[u, c]:.1f} km away "
                    f"(limit {'none' if limit is None else f'{limit:g} km'})",
                )
            )
        else:
            found.append(
                OpenSlots(
                    community.id,
                    left,
                    "no_unit",
                    "every unit within range is at its limit; recruit another unit or let a "
                    "unit pair with more communities",
                )
            )
    return tuple(found)
