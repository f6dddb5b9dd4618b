"""Admission: who the rules force out, and why.

A community too small for one group, a together set that also holds an apart pair, a together set
larger than a group: these members are out before any search. Of the rest, the fewest whole
blocks (together sets) that let the count be cut into allowed sizes are left out, singletons
least like the others first; every member left out gets a reason and a sentence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from matcher.longterm.groups.community import Community, Plan, components, partner_lists

__all__ = ["admit", "choose_left_out", "explain_left_out", "fewest_out", "partitionable"]


def partitionable(count: int, low: int, high: int) -> bool:
    """Can ``count`` members be cut into groups of ``low``..``high`` (zero groups for zero)?"""
    return any(k * low <= count <= k * high for k in range(count // max(low, 1) + 1))


def admit(comm: Community, low: int, high: int) -> tuple[list[list[int]], Plan]:
    """Members the rules force out (with reasons) and the blocks (together sets) left to group."""
    plan = Plan()
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
    for block in components(n, comm.together):
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


def fewest_out(sizes: Sequence[int], low: int, high: int) -> int:
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


def choose_left_out(
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


def explain_left_out(
    comm: Community, plan: Plan, left_out: list[int], fewest: int, low: int, high: int
) -> None:
    ids = [m.id for m in comm.members]
    partners = partner_lists(len(comm.members), comm.apart)
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
