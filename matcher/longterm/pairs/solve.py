"""Pair vulnerable residents with members: continuity first, then the most vulnerable, then near.

The objective (``docs/contracts/pairs.md``), smaller is better::

    UNPAIRED_WEIGHT_KM · Σ_unpaired residents vulnerability  +  Σ_pairs distance_km

solved lexicographically and exactly in two stages:

1. **Continuity.** Each of last period's pairs that still works (member present, same community,
   needs offered, skills held, within range) is kept; a member who now takes fewer residents
   than such pairs keeps the most vulnerable (ties: resident id). Every other pair is dropped
   with its reason.
2. **New pairs.** The remaining residents and the members' remaining places form a bipartite
   b-matching, solved as one min-cost flow with arc cost ``−vulnerability · M + metres`` where
   ``M`` exceeds the largest possible sum of metres. Maximising the vulnerability paired is
   then strict, and because the sets of residents that can be paired together form a matroid,
   the flow also pairs the largest possible number at every vulnerability level from 5 down
   ("most vulnerable first"); among those, the shortest total distance.

The only approximation is the rounding of distances to whole metres, so ``bound`` is the
objective minus 1 m per new pair.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from matcher.geo import haversine_km
from matcher.longterm.pairs.answer import (
    DroppedPair,
    Pair,
    PairAnswer,
    PairStats,
    Unpaired,
)
from matcher.longterm.pairs.problem import PairMember, PairProblem, Resident
from matcher.longterm.pairs.validation import validate

__all__ = ["METRES_PER_KM", "UNPAIRED_WEIGHT_KM", "solve"]

UNPAIRED_WEIGHT_KM = 1_000_000.0
"""Objective weight of one unit of vulnerability left unpaired, in km of pair distance."""
METRES_PER_KM = 1000
"""Distances enter the flow as whole metres: the one place costs are scaled to integers."""


@dataclass(frozen=True)
class _Candidates:
    """Every (resident, member) pair that satisfies the pair rules, as index arrays."""

    resident: NDArray[np.int64]
    member: NDArray[np.int64]
    distance_km: NDArray[np.float64]


@dataclass(frozen=True)
class _Fit:
    """Why a resident can or cannot be served, community-wide (for reasons and details)."""

    able: int  # members of the community who offer the needs and hold the skills
    in_range: NDArray[np.int64]  # of those, the ones within their range (member indices)
    nearest_km: float  # nearest able member's distance (inf if none)


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------


def _codes(values: list[tuple[str, ...]], names: list[str]) -> NDArray[np.float64]:
    index = {name: k for k, name in enumerate(names)}
    held = np.zeros((len(values), max(len(names), 1)))
    for i, row in enumerate(values):
        for name in row:
            held[i, index[name]] = 1.0
    return held


def _able(residents: list[Resident], members: list[PairMember]) -> NDArray[np.bool_]:
    """``able[r, m]``: member ``m`` offers every need and holds every skill of resident ``r``."""
    names = sorted(
        {f"proxy:{n}" for r in residents for n in r.needs}
        | {f"skill:{s}" for r in residents for s in r.skills}
    )
    wanted = _codes(
        [
            tuple(f"proxy:{n}" for n in r.needs) + tuple(f"skill:{s}" for s in r.skills)
            for r in residents
        ],
        names,
    )
    known = set(names)
    offered = _codes(
        [
            tuple(
                x
                for x in (*(f"proxy:{p}" for p in m.proxies), *(f"skill:{s}" for s in m.skills))
                if x in known
            )
            for m in members
        ],
        names,
    )
    missing = wanted @ (1.0 - offered).T
    return np.asarray(missing < 0.5)


def _distance_km(residents: list[Resident], members: list[PairMember]) -> NDArray[np.float64]:
    rl = np.array([[r.location.lat, r.location.lon] for r in residents]).reshape(-1, 2)
    ml = np.array([[m.location.lat, m.location.lon] for m in members]).reshape(-1, 2)
    return np.asarray(
        haversine_km(rl[:, 0:1], rl[:, 1:2], ml[None, :, 0], ml[None, :, 1]), dtype=np.float64
    )


def _candidates(problem: PairProblem) -> tuple[_Candidates, dict[int, _Fit]]:
    """Eligible pairs per community (numpy masks: needs and skills, range, places) and each
    resident's fit."""
    by_community_r: dict[str, list[int]] = defaultdict(list)
    by_community_m: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(problem.residents):
        by_community_r[r.community].append(i)
    for j, m in enumerate(problem.members):
        by_community_m[m.community].append(j)
    res_idx, mem_idx, dist = [], [], []
    fits: dict[int, _Fit] = {}
    places = np.array([problem.capacity(m) for m in problem.members], dtype=np.int64)
    reach = np.array([problem.range_km(m) for m in problem.members], dtype=np.float64)
    nobody = np.zeros(0, dtype=np.int64)
    for community, rows in by_community_r.items():
        cols = by_community_m.get(community, [])
        if not cols:
            for i in rows:
                fits[i] = _Fit(0, nobody, math.inf)
            continue
        able = _able([problem.residents[i] for i in rows], [problem.members[j] for j in cols])
        km = _distance_km([problem.residents[i] for i in rows], [problem.members[j] for j in cols])
        col = np.array(cols, dtype=np.int64)
        near = able & (km <= reach[col][None, :])
        for a, i in enumerate(rows):
            km_able = km[a][able[a]]
            fits[i] = _Fit(
                int(able[a].sum()),
                col[near[a]],
                float(km_able.min()) if len(km_able) else math.inf,
            )
        a_idx, b_idx = np.nonzero(near & (places[col][None, :] > 0))
        res_idx.append(np.array(rows, dtype=np.int64)[a_idx])
        mem_idx.append(col[b_idx])
        dist.append(km[a_idx, b_idx])
    cands = _Candidates(
        np.concatenate(res_idx) if res_idx else nobody,
        np.concatenate(mem_idx) if mem_idx else nobody,
        np.concatenate(dist) if dist else np.zeros(0),
    )
    return cands, fits


def _pair_km(r: Resident, m: PairMember) -> float:
    return float(haversine_km(r.location.lat, r.location.lon, m.location.lat, m.location.lon))


# --------------------------------------------------------------------------------------------
# Stage 1: continuity
# --------------------------------------------------------------------------------------------


def _continuity(problem: PairProblem) -> tuple[dict[int, int], list[DroppedPair]]:
    """Kept pairs (resident index → member index) and the dropped ones with reasons."""
    r_index = {r.id: i for i, r in enumerate(problem.residents)}
    m_index = {m.id: j for j, m in enumerate(problem.members)}
    dropped: list[DroppedPair] = []
    workable: dict[int, list[int]] = defaultdict(list)
    for pair in problem.existing_pairs:
        i = r_index[pair.resident]
        r = problem.residents[i]
        j = m_index.get(pair.member)
        if j is None:
            dropped.append(
                DroppedPair(
                    r.id,
                    pair.member,
                    "member_left",
                    f"{pair.member} is no longer registered; {r.id} needs a new partner",
                )
            )
            continue
        m = problem.members[j]
        reason = _broken(problem, r, m)
        if reason is not None:
            dropped.append(DroppedPair(r.id, m.id, *reason))
        else:
            workable[j].append(i)
    kept: dict[int, int] = {}
    for j, rows in workable.items():
        m = problem.members[j]
        rows.sort(key=lambda i: (-problem.residents[i].vulnerability, problem.residents[i].id))
        places = problem.capacity(m)
        for i in rows[:places]:
            kept[i] = j
        for i in rows[places:]:
            r = problem.residents[i]
            dropped.append(
                DroppedPair(
                    r.id,
                    m.id,
                    "capacity",
                    f"{m.id} now takes {places} resident{'s' if places != 1 else ''} and keeps "
                    f"the more vulnerable; {r.id} (vulnerability {r.vulnerability}) needs a new "
                    "partner",
                )
            )
    return kept, dropped


def _broken(problem: PairProblem, r: Resident, m: PairMember) -> tuple[str, str] | None:
    """Why an existing pair no longer works (reason, detail), or ``None``."""
    if m.community != r.community:
        return (
            "other_community",
            f"{m.id} is now registered in community {m.community}, {r.id} lives in {r.community}",
        )
    lacking = sorted(set(r.needs) - set(m.proxies)) + sorted(set(r.skills) - set(m.skills))
    if lacking:
        return (
            "no_skill",
            f"{m.id} no longer offers or holds {', '.join(lacking)}, which {r.id} now needs",
        )
    km = _pair_km(r, m)
    if km > problem.range_km(m):
        return (
            "out_of_range",
            f"{m.id} now lives {km:.1f} km from {r.id}, beyond their {problem.range_km(m):g} km",
        )
    return None


# --------------------------------------------------------------------------------------------
# Stage 2: new pairs by min-cost flow
# --------------------------------------------------------------------------------------------


def _new_pairs(problem: PairProblem, cands: _Candidates, kept: dict[int, int]) -> dict[int, int]:
    """The lexicographic b-matching of the residents not kept to the members' places left."""
    left = np.array([problem.capacity(m) for m in problem.members], dtype=np.int64)
    for j in kept.values():
        left[j] -= 1
    free = np.array([i not in kept for i in range(len(problem.residents))], dtype=bool)
    use = free[cands.resident] & (left[cands.member] > 0)
    res, mem = cands.resident[use], cands.member[use]
    if len(res) == 0:
        return {}
    metres = np.rint(cands.distance_km[use] * METRES_PER_KM).astype(np.int64)
    # M: more than any sum of metres a set of new pairs can have (one arc per resident).
    worst = np.zeros(len(problem.residents), dtype=np.int64)
    np.maximum.at(worst, res, metres)
    big = int(worst.sum()) + 1
    vulnerability = np.array([r.vulnerability for r in problem.residents], dtype=np.int64)
    n_res, n_mem = len(problem.residents), len(problem.members)
    sink = n_res + n_mem
    flow = min_cost_flow.SimpleMinCostFlow()
    pair_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        res, mem + n_res, np.ones(len(res), dtype=np.int64), metres - vulnerability[res] * big
    )
    residents = np.flatnonzero(free)
    flow.add_arcs_with_capacity_and_unit_cost(  # staying unpaired costs nothing
        residents,
        np.full(len(residents), sink),
        np.ones(len(residents), dtype=np.int64),
        np.zeros(len(residents), dtype=np.int64),
    )
    members = np.flatnonzero(left > 0)
    flow.add_arcs_with_capacity_and_unit_cost(
        members + n_res,
        np.full(len(members), sink),
        left[members],
        np.zeros(len(members), dtype=np.int64),
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[residents] = 1
    supplies[sink] = -len(residents)
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:  # the unpaired arcs make every problem feasible
        raise RuntimeError(f"min-cost flow of the hand-in-hand pairs failed: {status}")
    used = flow.flows(pair_arcs) > 0
    return {int(i): int(j) for i, j in zip(res[used], mem[used], strict=True)}


# --------------------------------------------------------------------------------------------
# Answer
# --------------------------------------------------------------------------------------------


def _unpaired(problem: PairProblem, i: int, fit: _Fit, full_with: int | None) -> Unpaired:
    r = problem.residents[i]
    wants = ", ".join([*r.needs, *r.skills]) or "no particular service"
    if fit.able == 0:
        return Unpaired(
            r.id,
            "no_skill",
            f"no member of community {r.community} offers {wants}; recruit one or ask a "
            "neighbouring community",
        )
    if not len(fit.in_range):
        return Unpaired(
            r.id,
            "out_of_range",
            f"{fit.able} member{'s' if fit.able != 1 else ''} of community {r.community} "
            f"offer{'s' if fit.able == 1 else ''} {wants}; the nearest lives "
            f"{fit.nearest_km:.1f} km away, beyond their range; ask one to go farther",
        )
    count = len(fit.in_range)
    floor = f" with residents of vulnerability {full_with} or more" if full_with else ""
    return Unpaired(
        r.id,
        "capacity",
        f"{count} member{'s' if count != 1 else ''} in range offer{'s' if count == 1 else ''} "
        f"{wants}, and {'all are' if count != 1 else 'they are'} full{floor}; ask one to take "
        "one more resident",
    )


def solve(
    problem: PairProblem, *, time_limit_s: float | None = None, seed: int | None = None
) -> PairAnswer:
    """Pair residents with members for the period (exact; ``time_limit_s`` and ``seed`` are
    accepted for the common interface — the min-cost flow needs neither).

    Raises:
        InvalidProblemError: If :func:`validate` finds reference errors.
    """
    del time_limit_s, seed
    validate(problem)
    t0 = time.perf_counter()
    cands, fits = _candidates(problem)
    kept, dropped = _continuity(problem)
    new = _new_pairs(problem, cands, kept)
    partner = {**kept, **new}
    load_floor: dict[int, int] = defaultdict(lambda: 6)
    for i, j in partner.items():
        load_floor[j] = min(load_floor[j], problem.residents[i].vulnerability)
    pairs: list[Pair] = []
    unpaired: list[Unpaired] = []
    for i, r in enumerate(problem.residents):
        partner_index = partner.get(i)
        if partner_index is None:
            fit = fits[i]
            floor = min((load_floor[int(m)] for m in fit.in_range if m in load_floor), default=None)
            unpaired.append(_unpaired(problem, i, fit, floor))
        else:
            m = problem.members[partner_index]
            pairs.append(Pair(r.id, m.id, round(_pair_km(r, m), 4), i in kept))
    return _answer(problem, pairs, unpaired, dropped, len(cands.resident), time.perf_counter() - t0)


def _answer(
    problem: PairProblem,
    pairs: list[Pair],
    unpaired: list[Unpaired],
    dropped: list[DroppedPair],
    candidates: int,
    solve_s: float,
) -> PairAnswer:
    vulnerability = {r.id: r.vulnerability for r in problem.residents}
    left = sum(vulnerability[u.resident] for u in unpaired)
    km = math.fsum(p.distance_km for p in pairs)
    objective = UNPAIRED_WEIGHT_KM * left + km
    n_new = sum(1 for p in pairs if not p.kept)
    bound = objective - n_new / METRES_PER_KM
    status = "no_solution" if problem.residents and not pairs else "optimal"
    stats = PairStats(
        objective=round(objective, 4),
        bound=round(bound, 4),
        gap=round((objective - bound) / max(abs(objective), 1.0), 9),
        paired=len(pairs),
        kept=len(pairs) - n_new,
        new=n_new,
        unpaired=len(unpaired),
        dropped=len(dropped),
        unpaired_vulnerability=left,
        distance_km=round(km, 4),
        candidates=candidates,
        solve_s=round(solve_s, 3),
    )
    return PairAnswer(status, tuple(pairs), tuple(unpaired), tuple(dropped), stats)
