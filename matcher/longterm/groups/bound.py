"""The k-nearest lower bound: each grouped member's mean dissimilarity is at least the mean of
its together partners and nearest admissible community-mates, for the best allowed size."""

from __future__ import annotations

import numpy as np

from matcher.longterm.groups.community import Community, components

__all__ = ["knn_bound"]


def knn_bound(comm: Community, groups: list[list[int]], low: int, high: int) -> float:
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
    for block in components(len(comm.members), comm.together):
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
