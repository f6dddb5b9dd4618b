"""Construction: k-medoids++ seeds, balanced assignment by min-cost flow so that the size range
holds, and a few medoid rounds."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from matcher.longterm.groups.partition import Partition
from matcher.longterm.groups.similarity import scaled

__all__ = ["CONSTRUCTION_ROUNDS", "construct"]

CONSTRUCTION_ROUNDS = 4
"""Medoid update rounds of the seeded construction."""


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
    cost = scaled(d[np.ix_(singles, seeds)])
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


def construct(
    d: NDArray[np.float64],
    blocks: list[list[int]],
    dropped: list[list[int]],
    k: int,
    low: int,
    high: int,
    partners: list[NDArray[np.int64]],
    rng: np.random.Generator,
) -> Partition:
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
    return Partition(d, blocks + dropped, group, k, low, high, partners)
