"""Group each community's members: admission, then CP-SAT (small) or construction + local search.

The objective (``docs/groups.md``), smaller is better::

    Σ_grouped members i  mean_{j in i's group, j != i} d(i, j)  +  w.unassigned · |left out|

    d(i, j) = w.distance · min(distance_km(i, j) / far_km, 1)
            + w.industry · (1 − industry similarity)        (same 1, related r, else 0)
            + w.interest · (1 − Jaccard(posts ∪ preferences of i, of j))

A group's share is ``2 · P_g / (s_g − 1)`` with ``P_g`` the sum of ``d`` over its unordered pairs
and ``s_g`` its size, so the objective does not favour large or small groups for their own sake.

Per community, the stages are lexicographic: leave out as few members as the rules force
(admission: communities too small, together sets too large or contradicting an apart pair,
counts that no set of allowed sizes adds up to), then minimise dissimilarity:

* communities of at most :data:`EXACT_MAX_MEMBERS` members: CP-SAT over every size pattern
  (exact up to the integer scaling :data:`OBJECTIVE_SCALE`);
* larger ones: a seeded construction with ``k = ⌊n / min⌋`` groups (k-medoids++ seeds, balanced
  assignment by min-cost flow so that the size range holds, a few medoid rounds), repair of
  apart pairs, then local search (block moves and member swaps, exact deltas) with near-swap
  perturbations (iterated local search) until the community's share of the time limit or
  patience runs out; last, anyone out who fits a group is put back.

The bound is exact for communities CP-SAT proved; elsewhere each member's mean dissimilarity is
bounded below by the mean of its nearest admissible community-mates (the k-nearest bound).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from matcher.geo import haversine_km
from matcher.longterm.groups.answer import (
    Group,
    GroupAnswer,
    GroupStats,
    IndustryCount,
    Unassigned,
)
from matcher.longterm.groups.problem import GroupMember, GroupProblem, Location
from matcher.longterm.groups.validation import validate

__all__ = [
    "EXACT_MAX_MEMBERS",
    "OBJECTIVE_SCALE",
    "dissimilarity_matrix",
    "solve",
]

OBJECTIVE_SCALE = 1_000_000
"""Integer units per unit of dissimilarity, for min-cost flow costs and CP-SAT coefficients."""
EXACT_MAX_MEMBERS = 12
"""Communities with at most this many admitted members are solved by CP-SAT."""
EXACT_MAX_PATTERNS = 40
"""...unless their size range allows more group-size patterns than this."""
CONSTRUCTION_ROUNDS = 4
"""Medoid update rounds of the seeded construction."""
PATIENCE_ROUNDS = (30, 2, 300)
"""Local search on a community of ``n`` stops after ``clip(2 n, 30, 300)`` perturbation rounds
without improvement (or at its share of the time limit)."""
CANDIDATES = 40
"""Swaps are tried with a member's this many most similar community-mates (candidate lists)."""
NEAR_NEIGHBOURS = 12
"""A perturbation swaps a member with one of this many most similar members of other groups."""
MIN_COMMUNITY_S = 0.02
_EPS = 1e-9


def _scaled(values: NDArray[np.float64] | float) -> NDArray[np.int64]:
    """Dissimilarity in integer units of ``1 / OBJECTIVE_SCALE``: the one place it is scaled."""
    return np.asarray(np.rint(np.asarray(values) * OBJECTIVE_SCALE), dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Dissimilarity
# --------------------------------------------------------------------------------------------


def dissimilarity_matrix(
    members: Sequence[GroupMember], problem: GroupProblem
) -> NDArray[np.float64]:
    """Pairwise dissimilarity ``d(i, j)`` of ``members`` (symmetric, zero diagonal)."""
    options = problem.options
    w = options.weights
    n = len(members)
    lat = np.array([m.location.lat for m in members], dtype=np.float64)
    lon = np.array([m.location.lon for m in members], dtype=np.float64)
    distance_km = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    d = w.distance * np.minimum(distance_km / options.far_km, 1.0)
    d += w.industry * (1.0 - _industry_similarity(members, problem))
    d += w.interest * (1.0 - _interest_similarity(members))
    d[np.arange(n), np.arange(n)] = 0.0
    return np.asarray(d, dtype=np.float64)


def _industry_similarity(
    members: Sequence[GroupMember], problem: GroupProblem
) -> NDArray[np.float64]:
    names = sorted({m.industry for m in members if m.industry is not None})
    index = {name: k for k, name in enumerate(names)}
    unknown = len(names)  # a member without an industry is like nobody
    table = np.eye(len(names) + 1)
    table[unknown, unknown] = 0.0
    for a, b in problem.related_industries:
        if a in index and b in index and a != b:
            table[index[a], index[b]] = table[index[b], index[a]] = (
                problem.options.related_industry_similarity
            )
    codes = np.array([index.get(m.industry, unknown) if m.industry else unknown for m in members])
    return np.asarray(table[np.ix_(codes, codes)], dtype=np.float64)


def _interest_similarity(members: Sequence[GroupMember]) -> NDArray[np.float64]:
    names = sorted({c for m in members for c in m.interests})
    index = {name: k for k, name in enumerate(names)}
    held = np.zeros((len(members), max(len(names), 1)), dtype=np.float64)
    for i, m in enumerate(members):
        for c in m.interests:
            held[i, index[c]] = 1.0
    common = held @ held.T
    count = held.sum(axis=1)
    union = count[:, None] + count[None, :] - common
    return np.asarray(np.divide(common, union, out=np.zeros_like(common), where=union > 0))


def _share(pair_sum: float, size: int) -> float:
    """A group's objective share: the sum over its members of their mean dissimilarity."""
    return 2.0 * pair_sum / (size - 1) if size >= 2 else 0.0


# --------------------------------------------------------------------------------------------
# Communities and admission
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Community:
    id: str
    members: tuple[GroupMember, ...]
    d: NDArray[np.float64]
    together: tuple[tuple[int, int], ...]
    apart: tuple[tuple[int, int], ...]


@dataclass
class _Plan:
    """One community's outcome in local indices."""

    groups: list[list[int]] = field(default_factory=list)
    out: dict[int, tuple[str, str]] = field(default_factory=dict)
    bound: float = 0.0
    exact: bool = False
    method: str = "none"


def _communities(problem: GroupProblem) -> list[_Community]:
    by_community: dict[str, list[GroupMember]] = defaultdict(list)
    for member in problem.members:
        by_community[member.community].append(member)
    result = []
    for cid, members in by_community.items():
        local = {m.id: k for k, m in enumerate(members)}
        together = tuple(
            (local[a], local[b]) for a, b in problem.together if a in local and b in local
        )
        apart = tuple((local[a], local[b]) for a, b in problem.apart if a in local and b in local)
        result.append(
            _Community(cid, tuple(members), dissimilarity_matrix(members, problem), together, apart)
        )
    return result


def _components(n: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[root(i)].append(i)
    return list(groups.values())


def partitionable(count: int, low: int, high: int) -> bool:
    """Can ``count`` members be cut into groups of ``low``..``high`` (zero groups for zero)?"""
    return any(k * low <= count <= k * high for k in range(count // max(low, 1) + 1))


def _admit(comm: _Community, low: int, high: int) -> tuple[list[list[int]], _Plan]:
    """Members the rules force out (with reasons) and the blocks (together sets) left to group."""
    plan = _Plan()
    n = len(comm.members)
    ids = [m.id for m in comm.members]
    if n < low:
        for i in range(n):
            plan.out[i] = (
                "too_few",
                f"community {comm.id} has {n} member{'s' if n != 1 else ''}; a group needs at "
                f"least {low}: group them with a neighbouring community by hand or lower "
                "group_size.min",
            )
        return [], plan
    apart = {frozenset(p) for p in comm.apart}
    blocks = []
    for block in _components(n, comm.together):
        clash = [(a, b) for a in block for b in block if a < b and frozenset((a, b)) in apart]
        if clash:
            a, b = clash[0]
            for i in block:
                plan.out[i] = (
                    "conflict",
                    f"{ids[i]} belongs to a together set ({_names(ids, block)}) that also holds "
                    f"the apart pair {ids[a]}, {ids[b]}; resolve the contradiction in "
                    "together/apart",
                )
        elif len(block) > high:
            for i in block:
                plan.out[i] = (
                    "together",
                    f"{ids[i]} must be together with {_names(ids, [j for j in block if j != i])}"
                    f" ({len(block)} members in all) but a group holds at most {high}; drop a "
                    "together pair or raise group_size.max",
                )
        else:
            blocks.append(sorted(block))
    return blocks, plan


def _names(ids: Sequence[str], indices: Sequence[int], most: int = 6) -> str:
    names = [ids[i] for i in indices]
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _fewest_out(sizes: Sequence[int], low: int, high: int) -> int:
    """Fewest members (in whole blocks) to leave out so that the rest can be cut into groups."""
    total = sum(sizes)
    reachable = np.zeros(total + 1, dtype=bool)
    reachable[0] = True
    for s in sizes:
        reachable[s:] |= reachable[:-s].copy() if s else reachable
    for r in range(total + 1):
        if reachable[r] and partitionable(total - r, low, high):
            return r
    return total


def _outlier_scores(d: NDArray[np.float64], members: list[int], low: int) -> NDArray[np.float64]:
    """Each member's mean dissimilarity to its ``low − 1`` nearest admitted community-mates."""
    sub = d[np.ix_(members, members)].copy()
    np.fill_diagonal(sub, np.inf)
    take = max(1, min(low - 1, len(members) - 1))
    if len(members) < 2:
        return np.zeros(len(members))
    nearest = np.partition(sub, take - 1, axis=1)[:, :take]
    return np.asarray(nearest.mean(axis=1))


def _choose_left_out(
    d: NDArray[np.float64], blocks: list[list[int]], r: int, low: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Pick whole blocks summing to ``r`` members, singletons least like the others first."""
    if r == 0:
        return blocks, []
    members = [i for b in blocks for i in b]
    score = dict(zip(members, _outlier_scores(d, members, low), strict=True))
    order = sorted(
        range(len(blocks)),
        key=lambda k: (len(blocks[k]) > 1, -np.mean([score[i] for i in blocks[k]]), k),
    )
    # Subset sum over blocks in preference order; the first way found to reach a sum is kept.
    ways: dict[int, list[int]] = {0: []}
    for k in order:
        for total, used in list(ways.items()):
            new = total + len(blocks[k])
            if new <= r and new not in ways:
                ways[new] = [*used, k]
        if r in ways:
            break
    chosen = set(ways.get(r, order))
    return (
        [b for k, b in enumerate(blocks) if k not in chosen],
        [b for k, b in enumerate(blocks) if k in chosen],
    )


# --------------------------------------------------------------------------------------------
# The partition under local search
# --------------------------------------------------------------------------------------------


class _Partition:
    """Members (local indices) in ``k`` groups, with the sums that make every delta O(1).

    ``DT[g, i]`` is the dissimilarity of member ``i`` to all of group ``g``; ``P[g]`` the group's
    pair sum; ``C[g, i]`` how many apart partners of ``i`` sit in ``g``. ``group[i] == -1``: out.
    """

    def __init__(
        self,
        d: NDArray[np.float64],
        blocks: list[list[int]],
        group: NDArray[np.int64],
        k: int,
        low: int,
        high: int,
        partners: list[NDArray[np.int64]],
    ) -> None:
        self.d = d
        self.n = d.shape[0]
        self.k, self.low, self.high = k, low, high
        self.blocks = [np.array(b, dtype=np.int64) for b in blocks]
        self.block_of = np.full(self.n, -1, dtype=np.int64)
        for b, members in enumerate(self.blocks):
            self.block_of[members] = b
        self.internal = np.array([d[np.ix_(b, b)].sum() / 2.0 for b in self.blocks])
        self.single = np.zeros(self.n, dtype=bool)
        for members in self.blocks:
            if len(members) == 1:
                self.single[members[0]] = True
        self.partners = partners
        width = min(self.n - 1, CANDIDATES)
        self.near = np.argsort(d, axis=1, kind="stable")[:, 1 : width + 1]
        self.has_apart = any(len(p) for p in partners)
        self.apart_matrix = np.zeros((self.n, self.n) if self.has_apart else (0, 0), np.int64)
        for i, others in enumerate(partners if self.has_apart else []):
            self.apart_matrix[i, others] = 1
        self.group = group.copy()
        self.journal: list[tuple[int, int, int]] = []
        """Changes since :meth:`commit`: ``(block, from_group, -1)`` or ``(i, j, 1)`` swaps."""
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute every sum from ``group`` (after a restore)."""
        inside = self.group >= 0
        onehot = np.zeros((self.k, self.n))
        onehot[self.group[inside], np.flatnonzero(inside)] = 1.0
        self.DT = onehot @ self.d
        self.sizes = onehot.sum(axis=1).astype(np.int64)
        self.P = 0.5 * (onehot * self.DT).sum(axis=1)
        self.C = np.zeros((self.k, self.n), dtype=np.int64)
        for i in np.flatnonzero(inside):
            if len(self.partners[i]):
                np.add.at(self.C[self.group[i]], self.partners[i], 1)
        self.f = self._shares(self.P, self.sizes)

    @staticmethod
    def _shares(P: NDArray[np.float64], sizes: NDArray[np.int64]) -> NDArray[np.float64]:
        return np.where(sizes >= 2, 2.0 * P / np.maximum(sizes - 1, 1), 0.0)

    def objective(self) -> float:
        return float(self.f.sum())

    def commit(self) -> None:
        """Keep the changes made so far."""
        self.journal.clear()

    def undo(self) -> None:
        """Revert every change since the last :meth:`commit`."""
        while self.journal:
            a, b, kind = self.journal.pop()
            if kind == 1:
                self.swap(a, b)
            else:
                self.move(a, b)
            self.journal.pop()

    def out_count(self) -> int:
        return int((self.group < 0).sum())

    # -- deltas -------------------------------------------------------------------------------

    def move_deltas(
        self, b: int, *, allow_under: bool = False, fill: bool = False
    ) -> NDArray[np.float64]:
        """Objective change of moving block ``b`` to each group (``inf`` where not allowed).

        A move may not take its group below ``low`` (unless ``allow_under``: dissolving) nor
        leave its target below ``low`` (unless ``fill``: topping up a short group).
        """
        members = self.blocks[b]
        sb = len(members)
        A = int(self.group[members[0]])
        X = self.DT[:, members].sum(axis=1)
        inner = self.internal[b]
        PB = self.P + X + inner
        sB = self.sizes + sb
        delta = self._shares(PB, sB) - self.f
        if A >= 0:
            if self.sizes[A] - sb < self.low and not allow_under:
                return np.full(self.k, np.inf)
            PA = self.P[A] - X[A] + inner
            delta = delta + (_share(PA, int(self.sizes[A]) - sb) - self.f[A])
        ok = sB <= self.high
        if not fill:
            ok &= sB >= self.low
        if A >= 0:
            ok[A] = False
        if self.has_apart:
            ok &= self.C[:, members].sum(axis=1) == 0
        return np.where(ok, delta, np.inf)

    def swap_deltas(
        self, i: int, candidates: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Objective change of swapping singleton ``i`` with each candidate (default: every
        member; ``inf`` where the swap is not allowed), and the candidates."""
        cand = np.arange(self.n) if candidates is None else candidates
        A = int(self.group[i])
        gj = self.group[cand]
        valid = self.single[cand] & (gj >= 0) & (gj != A)
        if A < 0 or not valid.any():
            return cand, np.full(len(cand), np.inf)
        g = np.where(gj >= 0, gj, 0)
        coef = 2.0 / np.maximum(self.sizes - 1, 1)
        di = self.d[i, cand]
        t1 = (self.DT[A, cand] - self.DT[A, i] - di) * coef[A]
        t2 = (self.DT[g, i] - self.DT[g, cand] - di) * coef[g]
        if self.has_apart:
            near = self.apart_matrix[i, cand]
            valid &= (self.C[g, i] - near == 0) & (self.C[A, cand] - near == 0)
        return cand, np.where(valid, t1 + t2, np.inf)

    # -- changes ------------------------------------------------------------------------------

    def move(self, b: int, B: int) -> None:
        """Move block ``b`` to group ``B`` (``-1``: out)."""
        members = self.blocks[b]
        sb = len(members)
        A = int(self.group[members[0]])
        self.journal.append((b, A, -1))
        X = self.DT[:, members].sum(axis=1)
        inner = self.internal[b]
        if A >= 0:
            self.P[A] += inner - X[A]
            self.sizes[A] -= sb
        if B >= 0:
            self.P[B] += X[B] + inner
            self.sizes[B] += sb
        for m in members:
            if A >= 0:
                self.DT[A] -= self.d[m]
                np.subtract.at(self.C[A], self.partners[m], 1)
            if B >= 0:
                self.DT[B] += self.d[m]
                np.add.at(self.C[B], self.partners[m], 1)
            self.group[m] = B
        for g in (A, B):
            if g >= 0:
                self.f[g] = _share(self.P[g], int(self.sizes[g]))

    def swap(self, i: int, j: int) -> None:
        """Exchange singletons ``i`` and ``j`` of two different groups."""
        A, B = int(self.group[i]), int(self.group[j])
        self.journal.append((i, j, 1))
        dij = self.d[i, j]
        PA = self.P[A] - self.DT[A, i] + self.DT[A, j] - dij
        PB = self.P[B] - self.DT[B, j] + self.DT[B, i] - dij
        self.DT[A] += self.d[j] - self.d[i]
        self.DT[B] += self.d[i] - self.d[j]
        np.subtract.at(self.C[A], self.partners[i], 1)
        np.add.at(self.C[B], self.partners[i], 1)
        np.subtract.at(self.C[B], self.partners[j], 1)
        np.add.at(self.C[A], self.partners[j], 1)
        self.group[i], self.group[j] = B, A
        self.P[A], self.P[B] = PA, PB
        self.f[A] = _share(PA, int(self.sizes[A]))
        self.f[B] = _share(PB, int(self.sizes[B]))

    def conflicts(self) -> list[tuple[int, int]]:
        """Apart pairs that share a group."""
        return [
            (i, int(j))
            for i in range(self.n)
            for j in self.partners[i]
            if i < j and self.group[i] >= 0 and self.group[i] == self.group[j]
        ]

    def groups(self) -> list[list[int]]:
        members: list[list[int]] = [[] for _ in range(self.k)]
        for i in np.flatnonzero(self.group >= 0):
            members[int(self.group[i])].append(int(i))
        return [g for g in members if g]


# --------------------------------------------------------------------------------------------
# Construction: k-medoids seeds, balanced assignment by min-cost flow
# --------------------------------------------------------------------------------------------


def _seeds(
    d: NDArray[np.float64], members: list[int], k: int, rng: np.random.Generator
) -> list[int]:
    """k-means++ style: each next seed drawn with probability ∝ squared distance to the chosen."""
    first = members[int(rng.integers(len(members)))]
    seeds = [first]
    nearest = d[first, members].copy()
    for _ in range(1, k):
        weights = nearest**2
        total = weights.sum()
        pick = int(rng.choice(len(members), p=weights / total)) if total > 0 else 0
        seeds.append(members[pick])
        nearest = np.minimum(nearest, d[members[pick], members])
    return seeds


def _assign(
    d: NDArray[np.float64],
    blocks: list[list[int]],
    seeds: list[int],
    low: int,
    high: int,
    group: NDArray[np.int64],
) -> None:
    """Blocks of several members greedily to their nearest seed with room; singletons by a
    min-cost flow whose first ``low`` places of each group are rewarded so that every group
    reaches ``low`` when the counts allow."""
    k = len(seeds)
    placed = np.zeros(k, dtype=np.int64)
    singles = []
    for block in sorted(blocks, key=len, reverse=True):
        if len(block) == 1:
            singles.append(block[0])
            continue
        cost = d[np.ix_(block, seeds)].mean(axis=0)
        room = placed + len(block) <= high
        g = int(np.argmin(np.where(room, cost, np.inf))) if room.any() else int(np.argmin(placed))
        placed[g] += len(block)
        group[block] = g
    if not singles:
        return
    m = len(singles)
    need = np.maximum(low - placed, 0)
    room = np.maximum(high - placed - need, 0)
    cost = _scaled(d[np.ix_(singles, seeds)])
    reward = int(cost.max(initial=0)) * (m + 1) + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    sink = m + k
    tails = np.repeat(np.arange(m), k)
    heads = np.tile(np.arange(k), m) + m
    flow.add_arcs_with_capacity_and_unit_cost(
        tails, heads, np.ones(m * k, dtype=np.int64), cost.ravel()
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(k) + m, np.full(k, sink), need, np.full(k, -reward, dtype=np.int64)
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(k) + m, np.full(k, sink), room + m, np.zeros(k, dtype=np.int64)
    )
    flow.set_nodes_supplies(np.arange(m + k + 1), np.array([1] * m + [0] * k + [-m]))
    if flow.solve() != flow.OPTIMAL:  # cannot happen: the last arcs take any surplus
        raise RuntimeError("min-cost flow of the group construction failed")
    for arc in range(m * k):
        if flow.flow(arc) > 0:
            group[singles[int(flow.tail(arc))]] = int(flow.head(arc)) - m


def _medoids(d: NDArray[np.float64], group: NDArray[np.int64], k: int) -> list[int]:
    seeds = []
    for g in range(k):
        members = np.flatnonzero(group == g)
        if len(members) == 0:
            continue
        inner = d[np.ix_(members, members)].sum(axis=1)
        seeds.append(int(members[int(np.argmin(inner))]))
    return seeds


def _construct(
    d: NDArray[np.float64],
    blocks: list[list[int]],
    dropped: list[list[int]],
    k: int,
    low: int,
    high: int,
    partners: list[NDArray[np.int64]],
    rng: np.random.Generator,
) -> _Partition:
    members = [i for b in blocks for i in b]
    group = np.full(d.shape[0], -1, dtype=np.int64)
    seeds = _seeds(d, members, k, rng)
    for _ in range(CONSTRUCTION_ROUNDS):
        group[members] = -1
        _assign(d, blocks, seeds, low, high, group)
        new = _medoids(d, group, k)
        if new == seeds or len(new) < k:
            break
        seeds = new
    return _Partition(d, blocks + dropped, group, k, low, high, partners)


# --------------------------------------------------------------------------------------------
# Repair and local search
# --------------------------------------------------------------------------------------------


def _repair(part: _Partition) -> None:
    """Separate apart pairs, bring every group into the size range, re-admit who fits."""
    for i, j in part.conflicts():
        if part.group[i] < 0 or part.group[i] != part.group[j]:
            continue
        _separate(part, i, j)
    _fix_sizes(part)
    _readmit(part)


def _separate(part: _Partition, i: int, j: int) -> None:
    for m in (j, i):
        b = int(part.block_of[m])
        deltas = part.move_deltas(b)
        if np.isfinite(deltas).any():
            part.move(b, int(np.argmin(deltas)))
            return
    for m in (j, i):
        if part.single[m]:
            cand, deltas = part.swap_deltas(m)
            if np.isfinite(deltas).any():
                part.swap(m, int(cand[np.argmin(deltas)]))
                return
    part.move(int(part.block_of[j]), -1)  # nowhere to go: out (sizes are fixed next)


def _fix_sizes(part: _Partition) -> None:
    """Groups above ``high`` give members away; groups below ``low`` take some or dissolve."""
    for g in range(part.k):
        while part.sizes[g] > part.high:
            blocks = {int(part.block_of[i]) for i in np.flatnonzero(part.group == g)}
            options = [(float(np.min(part.move_deltas(b))), b) for b in blocks]
            best = min(options)
            if np.isfinite(best[0]):
                part.move(best[1], int(np.argmin(part.move_deltas(best[1]))))
            else:
                part.move(best[1], -1)
    for g in range(part.k):
        while 0 < part.sizes[g] < part.low:
            donors = [
                (
                    float(part.move_deltas(int(part.block_of[i]), fill=True)[g]),
                    int(part.block_of[i]),
                )
                for i in np.flatnonzero(part.group != g)
                if part.single[i]
            ]
            donors = [x for x in donors if np.isfinite(x[0])]
            if donors:
                part.move(min(donors)[1], g)
                continue
            for b in sorted({int(part.block_of[i]) for i in np.flatnonzero(part.group == g)}):
                deltas = part.move_deltas(b, allow_under=True)
                part.move(b, int(np.argmin(deltas)) if np.isfinite(deltas).any() else -1)


def _readmit(part: _Partition) -> None:
    """Put members who are out back into any group with room and no apart partner."""
    changed = True
    while changed:
        changed = False
        for b in _out_blocks(part):
            deltas = part.move_deltas(b)
            deltas[part.sizes < part.low] = np.inf  # a dissolved group stays empty
            if np.isfinite(deltas).any():
                part.move(b, int(np.argmin(deltas)))
                changed = True


def _out_blocks(part: _Partition) -> list[int]:
    return sorted({int(part.block_of[i]) for i in np.flatnonzero(part.group < 0)} - {-1})


def _descend(
    part: _Partition,
    rng: np.random.Generator,
    deadline: float,
    active: NDArray[np.bool_] | None = None,
) -> None:
    """Best-improvement moves and swaps, block by block, until no active block improves.

    ``active`` marks the blocks to look at (default: all); a change activates every block of
    the two groups it touches (don't-look bits), so a descent after a small perturbation only
    revisits its neighbourhood.
    """
    todo = np.ones(len(part.blocks), dtype=bool) if active is None else active.copy()
    first = part.block_of
    while todo.any() and time.perf_counter() < deadline:
        for b in rng.permutation(np.flatnonzero(todo)):
            todo[b] = False
            members = part.blocks[b]
            A = int(part.group[members[0]])
            if A < 0:
                continue
            moves = part.move_deltas(int(b))
            best_move = int(np.argmin(moves))
            best = float(moves[best_move])
            swap_with = -1
            if len(members) == 1:
                i = int(members[0])
                cand, swaps = part.swap_deltas(i, part.near[i])
                j = int(np.argmin(swaps))
                if swaps[j] < best:
                    best, swap_with = float(swaps[j]), int(cand[j])
            if best >= -_EPS:
                continue
            B = int(part.group[swap_with]) if swap_with >= 0 else best_move
            if swap_with >= 0:
                part.swap(int(members[0]), swap_with)
            else:
                part.move(int(b), best_move)
            touched = np.flatnonzero((part.group == A) | (part.group == B))
            todo[first[touched][first[touched] >= 0]] = True


def _perturb(part: _Partition, rng: np.random.Generator) -> NDArray[np.bool_]:
    """A few random swaps of a member with one of its near neighbours in another group; the
    blocks of the groups touched, to be revisited by :func:`_descend`."""
    active = np.zeros(len(part.blocks), dtype=bool)
    singles = np.flatnonzero(part.single & (part.group >= 0))
    if len(singles) < 2:
        return active
    for _ in range(int(rng.integers(2, 5))):
        i = int(rng.choice(singles))
        cand, deltas = part.swap_deltas(i, part.near[i])
        options = cand[np.isfinite(deltas)][:NEAR_NEIGHBOURS]
        if not len(options):
            continue
        j = int(rng.choice(options))
        A, B = int(part.group[i]), int(part.group[j])
        part.swap(i, j)
        touched = np.flatnonzero((part.group == A) | (part.group == B))
        active[part.block_of[touched][part.block_of[touched] >= 0]] = True
    return active


def _search(
    d: NDArray[np.float64],
    kept: list[list[int]],
    dropped: list[list[int]],
    low: int,
    high: int,
    partners: list[NDArray[np.int64]],
    rng: np.random.Generator,
    deadline: float,
) -> _Partition:
    """Construction with as many groups as the minimum size allows (a smaller group is a closer
    one: the objective never gains from a larger group for its own sake), repair, then iterated
    local search: perturb a few near swaps, descend, keep if better, else undo. Last, anyone out
    (``dropped`` blocks, or pushed out by apart pairs) who fits somewhere is put back."""
    n = sum(len(b) for b in kept)
    best = _construct(d, kept, dropped, max(1, n // low), low, high, partners, rng)
    _repair(best)
    _descend(best, rng, deadline)
    best.commit()
    kept_value, idle = best.objective(), 0
    low_rounds, per_member, high_rounds = PATIENCE_ROUNDS
    patience = min(max(per_member * n, low_rounds), high_rounds)
    while idle < patience and time.perf_counter() < deadline:
        _descend(best, rng, deadline, _perturb(best, rng))
        if best.objective() < kept_value - _EPS:
            best.commit()
            kept_value, idle = best.objective(), 0
        else:
            best.undo()
            idle += 1
    best.commit()
    _readmit(best)  # adds members only, so it cannot open room for anyone still out
    best.rebuild()  # clears the rounding drift of many incremental updates
    return best


# --------------------------------------------------------------------------------------------
# Exact model for small communities (CP-SAT), one function per constraint family
# --------------------------------------------------------------------------------------------


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
    """Σ_g 2/(s_g − 1) · Σ pairs in g of d, in the integer units of :func:`_scaled`."""
    terms = []
    for g, size in enumerate(sizes):
        coef = 2.0 / (size - 1)
        for a, block_a in enumerate(blocks):
            inner = d[np.ix_(block_a, block_a)].sum() / 2.0
            if inner > 0:
                terms.append(int(_scaled(inner * coef)) * em.x[a, g])
            for b in range(a + 1, len(blocks)):
                cross = int(_scaled(d[np.ix_(block_a, blocks[b])].sum() * coef))
                if cross > 0:
                    terms.append(cross * z[a, b, g])
    return cp_model.LinearExpr.sum(terms)


@dataclass
class _ExactResult:
    groups: list[list[int]]
    out: list[int]
    value: float
    bound: float
    proven: bool


def _exact(
    comm: _Community,
    blocks: list[list[int]],
    low: int,
    high: int,
    seed: int,
    deadline: float,
) -> _ExactResult | None:
    """Fewest left out, then least dissimilarity, over every size pattern; ``None`` on timeout."""
    ids = [m.id for m in comm.members]
    block_of = {i: b for b, block in enumerate(blocks) for i in block}
    n = sum(len(b) for b in blocks)
    apart = [(a, b) for a, b in comm.apart if a in block_of and b in block_of]
    start = _fewest_out([len(b) for b in blocks], low, high)
    for left_out in range(start, n + 1):
        patterns = size_patterns(n - left_out, low, high)
        best: _ExactResult | None = None
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
            value = sum(_group_share(comm.d, g) for g in groups)
            if best is None or value < best.value:
                out = [i for b in range(len(blocks)) if solver.value(em.out[b]) for i in blocks[b]]
                best = _ExactResult(groups, out, value, 0.0, False)
        if best is not None:
            best.bound = min(bound, best.value)
            best.proven = proven
            return best
        if not proven:
            return None
    return None


def _group_share(d: NDArray[np.float64], members: Sequence[int]) -> float:
    return _share(float(d[np.ix_(members, members)].sum()) / 2.0, len(members))


# --------------------------------------------------------------------------------------------
# Bounds
# --------------------------------------------------------------------------------------------


def _knn_bound(comm: _Community, groups: list[list[int]], low: int, high: int) -> float:
    """Σ over grouped members of the least mean dissimilarity any allowed group could give them:
    their together partners plus their nearest admissible grouped community-mates."""
    grouped = [i for g in groups for i in g]
    if not grouped:
        return 0.0
    local = {i: k for k, i in enumerate(grouped)}
    sub = comm.d[np.ix_(grouped, grouped)].copy()
    n = len(grouped)
    blocked = np.eye(n, dtype=bool)
    for a, b in comm.apart:
        if a in local and b in local:
            blocked[local[a], local[b]] = blocked[local[b], local[a]] = True
    forced_sum = np.zeros(n)
    forced_count = np.zeros(n, dtype=np.int64)
    for block in _components(len(comm.members), comm.together):
        inside = [local[i] for i in block if i in local]
        for a in inside:
            for b in inside:
                if a != b:
                    forced_sum[a] += sub[a, b]
                    forced_count[a] += 1
                    blocked[a, b] = True
    others = np.sort(np.where(blocked, np.inf, sub), axis=1)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(others, axis=1)], axis=1)
    best = np.full(n, np.inf)
    for size in range(low, high + 1):
        extra = size - 1 - forced_count
        ok = (extra >= 0) & (extra <= n - 1)
        picked = np.take_along_axis(cum, np.clip(extra, 0, n)[:, None], axis=1)[:, 0]
        value = (forced_sum + picked) / (size - 1)
        best = np.where(ok & np.isfinite(value), np.minimum(best, value), best)
    return float(np.where(np.isfinite(best), best, 0.0).sum())


# --------------------------------------------------------------------------------------------
# One community
# --------------------------------------------------------------------------------------------


def _solve_community(
    comm: _Community,
    problem: GroupProblem,
    rng: np.random.Generator,
    seed: int,
    deadline: float,
) -> _Plan:
    low, high = problem.group_size.min, problem.group_size.max
    blocks, plan = _admit(comm, low, high)
    if not blocks:
        return plan
    n_admitted = sum(len(b) for b in blocks)
    fewest = _fewest_out([len(b) for b in blocks], low, high)
    exact = None
    if (
        n_admitted <= EXACT_MAX_MEMBERS
        and sum(len(size_patterns(c, low, high)) for c in range(n_admitted + 1))
        <= EXACT_MAX_PATTERNS
    ):
        exact = _exact(comm, blocks, low, high, seed, deadline)
    if exact is not None:
        plan.groups = exact.groups
        left_out = exact.out
        plan.exact = exact.proven
        plan.bound = max(exact.bound, _knn_bound(comm, plan.groups, low, high))
        plan.method = "cpsat"
    else:
        kept, dropped = _choose_left_out(comm.d, blocks, fewest, low)
        partners = _partner_lists(len(comm.members), comm.apart)
        if kept:
            part = _search(comm.d, kept, dropped, low, high, partners, rng, deadline)
            plan.groups = part.groups()
            left_out = [i for b in blocks for i in b if part.group[i] < 0]
        else:
            left_out = [i for b in dropped for i in b]
        plan.bound = _knn_bound(comm, plan.groups, low, high)
        plan.method = "search"
    _explain_left_out(comm, plan, left_out, fewest, low, high)
    return plan


def _partner_lists(n: int, apart: Sequence[tuple[int, int]]) -> list[NDArray[np.int64]]:
    partners: list[list[int]] = [[] for _ in range(n)]
    for a, b in apart:
        partners[a].append(b)
        partners[b].append(a)
    return [np.array(sorted(set(p)), dtype=np.int64) for p in partners]


def _explain_left_out(
    comm: _Community, plan: _Plan, left_out: list[int], fewest: int, low: int, high: int
) -> None:
    ids = [m.id for m in comm.members]
    partners = _partner_lists(len(comm.members), comm.apart)
    admitted = len(comm.members) - len(plan.out)
    for i in sorted(left_out):
        if len(left_out) > fewest and len(partners[i]):
            plan.out[i] = (
                "apart",
                f"{ids[i]} must be apart from {_names(ids, list(partners[i]))}, and every group "
                "without them is full or would fall below group_size.min; place them by hand "
                "or relax an apart pair",
            )
        else:
            groups_full = admitted - fewest
            plan.out[i] = (
                "size",
                f"community {comm.id} has {admitted} members to group; groups of {low}–{high} "
                f"take at most {groups_full} of them ({_count_text(groups_full, high)}), so "
                f"{fewest} {'is' if fewest == 1 else 'are'} left out, the least like the "
                "others; add them to a group by hand or widen group_size",
            )


def _count_text(total: int, high: int) -> str:
    if total == 0:
        return "no group"
    groups = math.ceil(total / high)
    return f"{groups} group{'s' if groups != 1 else ''}"


# --------------------------------------------------------------------------------------------
# Answer
# --------------------------------------------------------------------------------------------


def _describe(comm: _Community, members: list[int], gid: str) -> Group:
    people = [comm.members[i] for i in members]
    lat = np.array([m.location.lat for m in people])
    lon = np.array([m.location.lon for m in people])
    centre = Location(round(float(lat.mean()), 6), round(float(lon.mean()), 6))
    radius = float(np.max(haversine_km(centre.lat, centre.lon, lat, lon)))
    pairwise = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    s = len(people)
    mean_km = float(pairwise.sum() / (s * (s - 1))) if s > 1 else 0.0
    trades = Counter(m.industry for m in people if m.industry is not None)
    industries = tuple(
        IndustryCount(name, count)
        for name, count in sorted(trades.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    held = Counter(c for m in people for c in m.interests)
    shared = tuple(
        name
        for name, count in sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))
        if 2 * count >= s
    )
    share = _group_share(comm.d, members)
    return Group(
        id=gid,
        community=comm.id,
        members=tuple(m.id for m in people),
        centre=centre,
        radius_km=round(radius, 3),
        mean_distance_km=round(mean_km, 3),
        industries=industries,
        shared_interests=shared,
        dissimilarity=round(share, 6),
        summary=_summary(s, radius, mean_km, industries, shared, held),
    )


def _summary(
    size: int,
    radius_km: float,
    mean_km: float,
    industries: tuple[IndustryCount, ...],
    shared: tuple[str, ...],
    held: Counter[str],
) -> str:
    parts = [f"{size} members living within {radius_km:.1f} km of the centre"]
    parts[0] += f" ({mean_km:.1f} km apart on average)"
    if industries:
        shown = ", ".join(f"{x.members} in {x.industry}" for x in industries[:3])
        more = len(industries) - 3
        parts.append(
            shown + (f" and {more} other trade{'s' if more > 1 else ''}" if more > 0 else "")
        )
    if shared:
        everyone = [c for c in shared if held[c] == size]
        if everyone:
            parts.append("all claim or wish for " + " and ".join(everyone[:3]))
        most = [c for c in shared if held[c] < size]
        if most:
            parts.append("at least half claim or wish for " + " and ".join(most[:3]))
    else:
        parts.append("no post or service intention held by half of them")
    return "; ".join(parts)


def solve(
    problem: GroupProblem, *, time_limit_s: float | None = None, seed: int | None = None
) -> GroupAnswer:
    """Group every community's members.

    Args:
        problem: The members, size range, related industries, together and apart pairs.
        time_limit_s, seed: Override ``problem.options``.

    Returns:
        The groups with centres and reasons, members left out with reasons, the objective and a
        lower bound.

    Raises:
        InvalidProblemError: If :func:`validate` finds reference errors.
    """
    validate(problem)
    t0 = time.perf_counter()
    limit = float(problem.options.time_limit_s if time_limit_s is None else time_limit_s)
    seed = int(problem.options.seed if seed is None else seed)
    rng = np.random.default_rng(seed)
    communities = _communities(problem)
    remaining_members = sum(len(c.members) for c in communities)
    plans = []
    for comm in communities:
        left = max(0.0, t0 + 0.9 * limit - time.perf_counter())
        budget = max(MIN_COMMUNITY_S, left * len(comm.members) / max(remaining_members, 1))
        plans.append(_solve_community(comm, problem, rng, seed, time.perf_counter() + budget))
        remaining_members -= len(comm.members)
    return _answer(problem, communities, plans, time.perf_counter() - t0)


def _answer(
    problem: GroupProblem, communities: list[_Community], plans: list[_Plan], solve_s: float
) -> GroupAnswer:
    groups: list[Group] = []
    unassigned: list[Unassigned] = []
    for comm, plan in zip(communities, plans, strict=True):
        ordered = sorted(plan.groups, key=lambda g: min(g))
        for k, members in enumerate(ordered, start=1):
            groups.append(_describe(comm, sorted(members), f"g-{comm.id}-{k:02d}"))
        for i, (reason, detail) in sorted(plan.out.items()):
            unassigned.append(Unassigned(comm.members[i].id, comm.id, reason, detail))
    dissimilarity = math.fsum(g.dissimilarity for g in groups)
    penalty = problem.options.weights.unassigned * len(unassigned)
    objective = dissimilarity + penalty
    bound = min(objective, math.fsum(p.bound for p in plans) + penalty)
    exact = sum(1 for p in plans if p.exact)
    if not groups and problem.members:
        status = "no_solution"
    elif exact == len(plans) or not problem.members:
        status = "optimal"
    else:
        status = "feasible"
    methods = Counter(p.method for p in plans)
    stats = GroupStats(
        objective=round(objective, 6),
        bound=round(bound, 6),
        gap=round((objective - bound) / max(abs(objective), 1.0), 6),
        dissimilarity=round(dissimilarity, 6),
        unassigned=len(unassigned),
        groups=len(groups),
        communities=len(communities),
        exact_communities=exact,
        solve_s=round(solve_s, 3),
        method=", ".join(f"{name}: {count}" for name, count in sorted(methods.items())),
    )
    return GroupAnswer(status, tuple(groups), tuple(unassigned), stats)
