"""Dissimilarity of members, and a group's share of the objective (``docs/contracts/groups.md``)::

    d(i, j) = w.distance · min(distance_km(i, j) / far_km, 1)
            + w.industry · (1 − industry similarity)        (same 1, related r, else 0)
            + w.interest · (1 − Jaccard(posts ∪ preferences of i, of j))

A group's share is ``2 · P_g / (s_g − 1)`` with ``P_g`` the sum of ``d`` over its unordered pairs
and ``s_g`` its size. The integer scaling for min-cost flow costs and CP-SAT coefficients is
here, once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from matcher.geo import haversine_km
from matcher.longterm.groups.problem import GroupMember, GroupProblem

__all__ = ["OBJECTIVE_SCALE", "dissimilarity_matrix", "group_share", "scaled", "share"]

OBJECTIVE_SCALE = 1_000_000
"""Integer units per unit of dissimilarity, for min-cost flow costs and CP-SAT coefficients."""


def scaled(values: NDArray[np.float64] | float) -> NDArray[np.int64]:
    """Dissimilarity in integer units of ``1 / OBJECTIVE_SCALE``: the one place it is scaled."""
    return np.asarray(np.rint(np.asarray(values) * OBJECTIVE_SCALE), dtype=np.int64)


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


def share(pair_sum: float, size: int) -> float:
    """A group's objective share: the sum over its members of their mean dissimilarity."""
    return 2.0 * pair_sum / (size - 1) if size >= 2 else 0.0


def group_share(d: NDArray[np.float64], members: Sequence[int]) -> float:
    """The share of the group made of ``members`` (local indices into ``d``)."""
    return share(float(d[np.ix_(members, members)].sum()) / 2.0, len(members))
