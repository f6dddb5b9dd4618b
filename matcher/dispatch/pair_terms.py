"""What one member serving one demand costs and how much of the member's capacity it takes.

For dispatch problems both follow from the problem: the cost is
:func:`matcher.dispatch.candidates.pair_cost` (distance, preference, continuity, reliability) and
the use
is the demand's duration. Other assignment problems solved through the engine (the generalised
assignment benchmark, :mod:`benchmarks.gap`) give each candidate pair a cost and a use of its own
(:func:`matcher.dispatch.candidates.reprice`); a :class:`PairTerms` table carries them from the
candidates to the plan's bookkeeping (capacity, objective, loads). Pairs the table does not list
(all of them without a table; pinned tasks, which are not candidates) keep the dispatch rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matcher.dispatch.arrays import FloatArray, IntArray, ProblemArrays
from matcher.dispatch.candidates import Candidates, pair_cost


def _empty_i() -> IntArray:
    return np.empty(0, np.int64)


def _empty_f() -> FloatArray:
    return np.empty(0, np.float64)


@dataclass(frozen=True)
class PairTerms:
    """Cost and capacity use of listed (member, demand) pairs; the dispatch rule for the others.

    An empty table (the default) is the dispatch rule everywhere.
    """

    n_members: int = 0
    keys: IntArray = field(default_factory=_empty_i)  # sorted demand * n_members + member
    cost: FloatArray = field(default_factory=_empty_f)
    use_h: FloatArray = field(default_factory=_empty_f)  # exact hours (fairness, loads)
    by_key: dict[int, tuple[float, int, float]] = field(default_factory=dict)  # cost, use s, h

    @staticmethod
    def of(arr: ProblemArrays, cands: Candidates) -> PairTerms:
        """The table of every candidate pair, with the candidates' ``cost`` and ``use_h``."""
        keys = cands.demand * arr.n_members + cands.member
        keys, first = np.unique(keys, return_index=True)
        cost, use_h, use_s = cands.cost[first], cands.use_h[first], cands.use_s[first]
        by_key = {
            int(k): (float(c), int(s), float(h))
            for k, c, s, h in zip(
                keys.tolist(), cost.tolist(), use_s.tolist(), use_h.tolist(), strict=True
            )
        }
        return PairTerms(arr.n_members, keys, cost, use_h, by_key)

    @property
    def empty(self) -> bool:
        return not self.by_key

    def use_s(self, member: int, demand: int, default_s: int) -> int:
        """Seconds of capacity the pair uses; ``default_s`` (the duration) when not listed."""
        if not self.by_key:
            return default_s
        hit = self.by_key.get(demand * self.n_members + member)
        return default_s if hit is None else hit[1]

    def use_hours(self, member: int, demand: int, default_h: float) -> float:
        """Exact hours of capacity the pair uses; ``default_h`` (the duration) when not listed."""
        if not self.by_key:
            return default_h
        hit = self.by_key.get(demand * self.n_members + member)
        return default_h if hit is None else hit[2]

    def _lookup(self, member: IntArray, demand: IntArray) -> tuple[IntArray, np.ndarray]:
        keys = demand * self.n_members + member
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return at, self.keys[at] == keys

    def use_h_array(self, arr: ProblemArrays, member: IntArray, demand: IntArray) -> FloatArray:
        """Exact hours of capacity used by each pair of two parallel index arrays."""
        out = arr.d_duration_h[demand]
        if self.empty or len(member) == 0:
            return out
        at, hit = self._lookup(member, demand)
        return np.where(hit, self.use_h[at], out)

    def cost_array(
        self, arr: ProblemArrays, member: IntArray, demand: IntArray, km: FloatArray
    ) -> FloatArray:
        """The objective's per-member term of each pair (``km``: the pair's distance)."""
        out = pair_cost(arr, member, demand, km)
        if self.empty or len(member) == 0:
            return out
        at, hit = self._lookup(member, demand)
        return np.where(hit, self.cost[at], out)
