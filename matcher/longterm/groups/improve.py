"""Improvement: best-improvement descent (block moves and member swaps, exact deltas) and
near-swap perturbations (iterated local search), driven by :func:`search` from construction to
the last re-admission."""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray

from matcher.longterm.groups.partition import Partition
from matcher.longterm.groups.repair import readmit, repair
from matcher.longterm.groups.seeding import construct

__all__ = ["NEAR_NEIGHBOURS", "PATIENCE_ROUNDS", "search"]

PATIENCE_ROUNDS = (30, 2, 300)
"""Local search on a community of ``n`` stops after ``clip(2 n, 30, 300)`` perturbation rounds
without improvement (or at its share of the time limit)."""

NEAR_NEIGHBOURS = 12
"""A perturbation swaps a member with one of this many most similar members of other groups."""

_EPS = 1e-9


def _descend(
    part: Partition,
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


def _perturb(part: Partition, rng: np.random.Generator) -> NDArray[np.bool_]:
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


def search(
    d: NDArray[np.float64],
    kept: list[list[int]],
    dropped: list[list[int]],
    low: int,
    high: int,
    partners: list[NDArray[np.int64]],
    rng: np.random.Generator,
    deadline: float,
) -> Partition:
    """Construction with as many groups as the minimum size allows (a smaller group is a closer
    one: the objective never gains from a larger group for its own sake), repair, then iterated
    local search: perturb a few near swaps, descend, keep if better, else undo. Last, anyone out
    (``dropped`` blocks, or pushed out by apart pairs) who fits somewhere is put back."""
    n = sum(len(b) for b in kept)
    best = construct(d, kept, dropped, max(1, n // low), low, high, partners, rng)
    repair(best)
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
    readmit(best)  # adds members only, so it cannot open room for anyone still out
    best.rebuild()  # clears the rounding drift of many incremental updates
    return best
