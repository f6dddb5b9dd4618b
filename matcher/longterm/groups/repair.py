"""Repair of a constructed partition: apart pairs separated, every group brought into the size
range, and members who are out put back where they fit."""

from __future__ import annotations

import numpy as np

from matcher.longterm.groups.partition import Partition

__all__ = ["readmit", "repair"]


def repair(part: Partition) -> None:
    """Separate apart pairs, bring every group into the size range, re-admit who fits."""
    for i, j in part.conflicts():
        if part.group[i] < 0 or part.group[i] != part.group[j]:
            continue
        _separate(part, i, j)
    _fix_sizes(part)
    readmit(part)


def _separate(part: Partition, i: int, j: int) -> None:
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


def _fix_sizes(part: Partition) -> None:
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


def readmit(part: Partition) -> None:
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


def _out_blocks(part: Partition) -> list[int]:
    return sorted({int(part.block_of[i]) for i in np.flatnonzero(part.group < 0)} - {-1})
