"""One community's members with their dissimilarity matrix and pair rules in local indices, and
the plan a community's solve fills in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from matcher.longterm.groups.problem import GroupMember, GroupProblem
from matcher.longterm.groups.similarity import dissimilarity_matrix

__all__ = ["Community", "Plan", "components", "partner_lists", "split_by_community"]


@dataclass(frozen=True)
class Community:
    """One community's members, their dissimilarity ``d`` and pair rules in local indices."""

    id: str
    members: tuple[GroupMember, ...]
    d: NDArray[np.float64]
    together: tuple[tuple[int, int], ...]
    apart: tuple[tuple[int, int], ...]


@dataclass
class Plan:
    """One community's outcome in local indices."""

    groups: list[list[int]] = field(default_factory=list)
    out: dict[int, tuple[str, str]] = field(default_factory=dict)
    bound: float = 0.0
    exact: bool = False
    method: str = "none"


def split_by_community(problem: GroupProblem) -> list[Community]:
    """The problem's communities, in the order their first member appears."""
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
            Community(cid, tuple(members), dissimilarity_matrix(members, problem), together, apart)
        )
    return result


def components(n: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected components of ``0..n-1`` under ``pairs`` (union-find): the together sets."""
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


def partner_lists(n: int, apart: Sequence[tuple[int, int]]) -> list[NDArray[np.int64]]:
    """Each member's apart partners, sorted."""
    partners: list[list[int]] = [[] for _ in range(n)]
    for a, b in apart:
        partners[a].append(b)
        partners[b].append(a)
    return [np.array(sorted(set(p)), dtype=np.int64) for p in partners]
