"""The partition under local search: members in groups with the running sums that make the
objective change of every block move and member swap O(1), and a journal to undo them."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from matcher.longterm.groups.similarity import share

__all__ = ["CANDIDATES", "Partition"]

CANDIDATES = 40
"""Swaps are tried with a member's this many most similar community-mates (candidate lists)."""


class Partition:
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
            delta = delta + (share(PA, int(self.sizes[A]) - sb) - self.f[A])
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
                self.f[g] = share(self.P[g], int(self.sizes[g]))

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
        self.f[A] = share(PA, int(self.sizes[A]))
        self.f[B] = share(PB, int(self.sizes[B]))

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
