"""Exact model for small communities (CP-SAT), one function per constraint family: fewest left
out, then least dissimilarity, over every group-size pattern (exact up to the integer scaling
:data:`~matcher.longterm.groups.similarity.OBJECTIVE_SCALE`)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from matcher.longterm.groups.admission import fewest_out
from matcher.longterm.groups.community import Community
from matcher.longterm.groups.similarity import OBJECTIVE_SCALE, group_share, scaled

__all__ = ["ExactResult", "size_patterns", "solve_exact"]


def size_patterns(count: int, low: int, high: int) -> list[tuple[int, ...]]:
    """Every multiset of group sizes in ``low..high`` adding up to ``count`` (largest first)."""
    patterns: list[tuple[int, ...]] = []

    def extend(rest: int, cap: int, prefix: tuple[int, ...]) -> None:
        if rest == 0:
            patterns.append(prefix)
            return
        for s in range(min(cap, rest), low - 1, -1):
            extend(rest - s, s, (*prefix, s))

    extend(count, high, ())
    return patterns


@dataclass
class _ExactModel:
    model: cp_model.CpModel
    x: dict[tuple[int, int], cp_model.IntVar]
    out: dict[int, cp_model.IntVar]


def _exact_variables(
    ids: Sequence[str], blocks: list[list[int]], sizes: Sequence[int]
) -> _ExactModel:
    model = cp_model.CpModel()
    x = {
        (b, g): model.new_bool_var(f"x[{ids[block[0]]},g{g}]")
        for b, block in enumerate(blocks)
        for g in range(len(sizes))
    }
    out = {b: model.new_bool_var(f"out[{ids[block[0]]}]") for b, block in enumerate(blocks)}
    return _ExactModel(model, x, out)


def _add_each_block_once(em: _ExactModel, blocks: list[list[int]], groups: int) -> None:
    for b in range(len(blocks)):
        em.model.add_exactly_one([em.x[b, g] for g in range(groups)] + [em.out[b]])


def _add_group_sizes(em: _ExactModel, blocks: list[list[int]], sizes: Sequence[int]) -> None:
    for g, size in enumerate(sizes):
        em.model.add(sum(len(block) * em.x[b, g] for b, block in enumerate(blocks)) == size)


def _add_left_out_count(em: _ExactModel, blocks: list[list[int]], left_out: int) -> None:
    em.model.add(sum(len(block) * em.out[b] for b, block in enumerate(blocks)) == left_out)


def _add_apart(
    em: _ExactModel, block_of: dict[int, int], apart: Sequence[tuple[int, int]], groups: int
) -> None:
    for a, b in apart:
        for g in range(groups):
            em.model.add_at_most_one([em.x[block_of[a], g], em.x[block_of[b], g]])


def _add_symmetry_breaking(em: _ExactModel, blocks: list[list[int]], sizes: Sequence[int]) -> None:
    """Of two groups of the same size, the earlier holds the lower-numbered first block."""
    for g in range(1, len(sizes)):
        if sizes[g] != sizes[g - 1]:
            continue
        em.model.add(em.x[0, g] == 0)
        for b in range(1, len(blocks)):
            em.model.add(sum(em.x[a, g - 1] for a in range(b)) >= 1).only_enforce_if(em.x[b, g])


def _pair_variables(
    em: _ExactModel, blocks: list[list[int]], sizes: Sequence[int]
) -> dict[tuple[int, int, int], cp_model.IntVar]:
    """``z[a, b, g]``: blocks ``a`` and ``b`` both in group ``g``, linked to ``x`` both ways and
    counted: a block in a group of size ``s`` has ``s`` minus its own size partners there (this
    row makes the relaxation tight enough to prove small communities quickly)."""
    z = {}
    for g in range(len(sizes)):
        for a in range(len(blocks)):
            for b in range(a + 1, len(blocks)):
                both = em.model.new_bool_var(f"z[{a},{b},g{g}]")
                em.model.add_implication(both, em.x[a, g])
                em.model.add_implication(both, em.x[b, g])
                em.model.add_bool_or([both, ~em.x[a, g], ~em.x[b, g]])
                z[a, b, g] = z[b, a, g] = both
        for a, block in enumerate(blocks):
            partners = sum(len(blocks[b]) * z[a, b, g] for b in range(len(blocks)) if b != a)
            em.model.add(partners == (sizes[g] - len(block)) * em.x[a, g])
    return z


def _dissimilarity_term(
    em: _ExactModel,
    z: dict[tuple[int, int, int], cp_model.IntVar],
    d: NDArray[np.float64],
    blocks: list[list[int]],
    sizes: Sequence[int],
) -> cp_model.LinearExpr:
    """Σ_g 2/(s_g − 1) · Σ pairs in g of d, in the integer units of :func:`scaled`."""
    terms = []
    for g, size in enumerate(sizes):
        coef = 2.0 / (size - 1)
        for a, block_a in enumerate(blocks):
            inner = d[np.ix_(block_a, block_a)].sum() / 2.0
            if inner > 0:
                terms.append(int(scaled(inner * coef)) * em.x[a, g])
            for b in range(a + 1, len(blocks)):
                cross = int(scaled(d[np.ix_(block_a, blocks[b])].sum() * coef))
                if cross > 0:
                    terms.append(cross * z[a, b, g])
    return cp_model.LinearExpr.sum(terms)


@dataclass
class ExactResult:
    """A community's CP-SAT outcome: groups, who is out, value, bound, and whether proven."""

    groups: list[list[int]]
    out: list[int]
    value: float
    bound: float
    proven: bool


def solve_exact(
    comm: Community,
    blocks: list[list[int]],
    low: int,
    high: int,
    seed: int,
    deadline: float,
) -> ExactResult | None:
    """Fewest left out, then least dissimilarity, over every size pattern; ``None`` on timeout."""
    ids = [m.id for m in comm.members]
    block_of = {i: b for b, block in enumerate(blocks) for i in block}
    n = sum(len(b) for b in blocks)
    apart = [(a, b) for a, b in comm.apart if a in block_of and b in block_of]
    start = fewest_out([len(b) for b in blocks], low, high)
    for left_out in range(start, n + 1):
        patterns = size_patterns(n - left_out, low, high)
        best: ExactResult | None = None
        bound, proven = math.inf, True
        for sizes in patterns:
            em = _exact_variables(ids, blocks, sizes)
            _add_each_block_once(em, blocks, len(sizes))
            _add_group_sizes(em, blocks, sizes)
            _add_left_out_count(em, blocks, left_out)
            _add_apart(em, block_of, apart, len(sizes))
            _add_symmetry_breaking(em, blocks, sizes)
            z = _pair_variables(em, blocks, sizes)
            em.model.minimize(_dissimilarity_term(em, z, comm.d, blocks, sizes))
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = 1
            solver.parameters.random_seed = seed
            solver.parameters.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
            status = solver.solve(em.model)
            if status == cp_model.MODEL_INVALID:
                raise RuntimeError(f"CP-SAT model of community {comm.id} is invalid")
            if status == cp_model.INFEASIBLE:
                continue
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                proven, bound = False, -math.inf
                continue
            proven &= status == cp_model.OPTIMAL
            pairs = sum(s * (s - 1) // 2 for s in sizes)
            # Each coefficient is rounded by at most half a unit.
            bound = min(bound, (solver.best_objective_bound - 0.5 * pairs) / OBJECTIVE_SCALE)
            groups = [
                sorted(i for b in range(len(blocks)) if solver.value(em.x[b, g]) for i in blocks[b])
                for g in range(len(sizes))
            ]
            value = sum(group_share(comm.d, g) for g in groups)
            if best is None or value < best.value:
                out = [i for b in range(len(blocks)) if solver.value(em.out[b]) for i in blocks[b]]
                best = ExactResult(groups, out, value, 0.0, False)
        if best is not None:
            best.bound = min(bound, best.value)
            best.proven = proven
            return best
        if not proven:
            return None
    return None
