"""Start classes for crew demands.

A crew must be free together. Starts on a demand's grid fall into classes by *which* free
interval of each candidate member contains the task; within a class every start is
interchangeable for the model (same members, same intervals, same bins). Only classes whose member
set is maximal matter: a crew possible in a smaller class is possible, with the same bins, in the
larger one (the model sizes each bin from the rows' own start ranges, not the class's, so this
holds for the interval-time rows too). So the model needs one choice per maximal class, and that
choice is exact, not a sample of starts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from matcher.dispatch.arrays import IntArray, ProblemArrays
from matcher.dispatch.candidates import Candidates

MAX_CLASSES = 24


@dataclass(frozen=True)
class StartClass:
    demand: int
    first_start: int  # earliest grid start of the class
    last_start: int  # latest grid start of the class
    rows: tuple[int, ...]  # candidate rows (one per member) free throughout the class


def _covers(arr: ProblemArrays, demand: int, members: list[int]) -> bool:
    if len(members) < int(arr.d_crew[demand]):
        return False
    held = np.bitwise_or.reduce(arr.m_skills[members], axis=0)
    return bool(np.all((held & arr.d_skills[demand]) == arr.d_skills[demand]))


def class_is_usable(arr: ProblemArrays, demand: int, members: list[int]) -> bool:
    """Can some crew (inside one team for ``team_only``) be drawn from these members?"""
    if not arr.d_team_only[demand]:
        return _covers(arr, demand, members)
    present = set(members)
    teams = sorted({t for m in members for t in arr.member_teams[m]})  # teams with one here
    return any(
        _covers(arr, demand, [m for m in arr.team_members[t] if m in present]) for t in teams
    )


def start_classes(
    arr: ProblemArrays, cands: Candidates, rows: IntArray, demand: int
) -> list[StartClass] | None:
    """The maximal usable start classes of a crew demand, or ``None`` if there are too many."""
    if len(rows) == 0:
        return []
    first, last = cands.first_start[rows], cands.last_start[rows]
    step = arr.step_s
    points = np.unique(np.concatenate((first, last + step)))
    found: list[tuple[frozenset[int], int, int]] = []
    for a, b in itertools.pairwise(points):
        inside = rows[(first <= a) & (last >= a)]
        if len(inside) == 0:
            continue
        found.append((frozenset(int(r) for r in inside), int(a), int(b - step)))
    # merge neighbours with the same set, then keep maximal usable sets
    merged: dict[frozenset[int], tuple[int, int]] = {}
    for rowset, a, b in found:
        lo, hi = merged.get(rowset, (a, b))
        merged[rowset] = (min(lo, a), max(hi, b))
    sets = sorted(merged, key=len, reverse=True)
    kept: list[frozenset[int]] = []
    for rowset in sets:
        if any(rowset < bigger for bigger in kept):
            continue
        members = [int(cands.member[r]) for r in rowset]
        if class_is_usable(arr, demand, members):
            kept.append(rowset)
    if len(kept) > MAX_CLASSES:
        return None
    return [
        StartClass(demand, merged[s][0], merged[s][1], tuple(sorted(s)))
        for s in sorted(kept, key=lambda s: merged[s][0])
    ]
