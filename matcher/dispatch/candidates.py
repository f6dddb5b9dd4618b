"""Candidate generation: which member can serve which demand in which free interval.

A *candidate* is a triple (member, demand, availability interval) for which a start on the demand's
time grid exists with the whole task inside both the demand's window and the interval, the member is
within range, and (for a one-person task) holds every required skill. Crews take any member in range
and free; the model makes the crew cover the skills together.

Generation is vectorised: members indexed per skill in KD-trees of unit vectors (so a demand meets
only the members that hold its rarest skill and live within reach), skills compared as bitmasks,
free intervals expanded per pair with ``np.repeat`` and clipped to the window in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from matcher.dispatch.arrays import FloatArray, IntArray, ProblemArrays
from matcher.geo import chord_for_km, haversine_km

_CHUNK_PAIRS = 2_000_000


@dataclass(frozen=True)
class Candidates:
    """Parallel arrays, one row per candidate triple, sorted by (demand, cost, member, interval).

    ``cost`` and ``use_h`` are per (member, demand) pair: what serving costs in the objective and
    how many hours of the member's capacity it takes. Dispatch problems take the demand's
    duration (:func:`generate_candidates`); other problems solved through the engine (such as the
    generalised assignment benchmark) set both per pair with :func:`reprice`. Every capacity
    count of the engine (greedy, model, bound, search, plan) uses ``use_h``; time (windows,
    intervals, changeovers) always uses the duration.
    """

    member: IntArray
    demand: IntArray
    interval: IntArray  # row in the availability arrays
    first_start: IntArray  # earliest start on the demand's grid inside window and interval
    last_start: IntArray  # latest such start
    distance_km: FloatArray
    cost: FloatArray  # objective contribution of this member serving this demand
    use_h: FloatArray  # capacity hours this member uses serving this demand (default: duration)

    def __len__(self) -> int:
        return len(self.member)

    @cached_property
    def pair_count(self) -> int:
        """Distinct (member, demand) pairs (a pair has a row per free interval)."""
        if len(self.member) == 0:
            return 0
        keys = np.sort(self.demand * (int(self.member.max()) + 1) + self.member)
        return int(1 + np.count_nonzero(keys[1:] != keys[:-1]))

    @cached_property
    def use_s(self) -> IntArray:
        """``use_h`` in whole seconds, rounded up like durations (what capacity checks count)."""
        return use_seconds(self.use_h)


FIELDS = (
    "member",
    "demand",
    "interval",
    "first_start",
    "last_start",
    "distance_km",
    "cost",
    "use_h",
)
"""The parallel arrays of :class:`Candidates`, in constructor order."""


def use_seconds(hours: FloatArray) -> IntArray:
    """Hours as whole seconds rounded up, as :func:`matcher.dispatch.arrays.build_arrays` does
    durations."""
    return np.ceil(np.asarray(hours, dtype=np.float64) * 3600 - 1e-6).astype(np.int64)


def select(cands: Candidates, rows: IntArray | NDArray[np.bool_]) -> Candidates:
    """The candidates at these rows (an index array or a mask), in that order."""
    return Candidates(**{f: getattr(cands, f)[rows] for f in FIELDS})


def reprice(cands: Candidates, cost: FloatArray, use_h: FloatArray) -> Candidates:
    """The same triples with other per-row costs and capacity uses, sorted again by cost.

    The rows of one (member, demand) pair must get the same cost and use: both are properties
    of the pair, not of the availability interval.
    """
    if len(cost) != len(cands) or len(use_h) != len(cands):
        raise ValueError("cost and use_h need one value per candidate row")
    if np.any(np.asarray(use_h) < 0) or not np.all(np.isfinite(use_h)):
        raise ValueError("capacity use must be finite and >= 0")
    changed = replace(
        cands,
        cost=np.asarray(cost, dtype=np.float64),
        use_h=np.asarray(use_h, dtype=np.float64),
    )
    return concat([changed])


def covers(held: NDArray[np.uint64], required: NDArray[np.uint64]) -> NDArray[np.bool_]:
    """Row-wise: does ``held`` contain every bit of ``required``?"""
    return np.all((held & required) == required, axis=-1)


def pair_cost(arr: ProblemArrays, member: IntArray, demand: IntArray, km: FloatArray) -> FloatArray:
    """The objective's per-member term for each (member, demand) pair."""
    w = arr.problem.options.weights
    prefers = np.any((arr.m_prefs[member] & arr.d_category[demand]) != 0, axis=-1)
    keys = demand * arr.n_members + member
    partner = np.zeros(len(keys), dtype=bool)
    if len(arr.preferred_keys):
        at = np.minimum(np.searchsorted(arr.preferred_keys, keys), len(arr.preferred_keys) - 1)
        partner = arr.preferred_keys[at] == keys
    unit = arr.m_unit[member]
    community = arr.d_community[demand]
    paired = (unit >= 0) & (community >= 0)
    paired[paired] = arr.unit_paired[unit[paired], community[paired]]
    return (
        w.distance * km
        - w.preference * prefers
        - w.continuity * partner
        - w.paired_unit * paired
        + w.reliability * arr.d_priority[demand] * (1.0 - arr.m_reliability[member])
    )


def _pairs_in_range(
    arr: ProblemArrays, demands: IntArray, pool: IntArray
) -> tuple[IntArray, IntArray]:
    """All (member in pool, demand) pairs within the largest distance limit of the pool."""
    if len(demands) == 0 or len(pool) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    radius = chord_for_km(float(arr.m_max_km[pool].max()) + 1e-6)
    near = cKDTree(arr.d_xyz[demands]).sparse_distance_matrix(
        cKDTree(arr.m_xyz[pool]), radius, output_type="ndarray"
    )
    return pool[near["j"].astype(np.int64)], demands[near["i"].astype(np.int64)]


def _expand_intervals(
    arr: ProblemArrays, member: IntArray, demand: IntArray, km: FloatArray
) -> Candidates:
    """Clip every free interval of each pair to the demand window; keep those with a start."""
    first_row = arr.av_ptr[member]
    n_rows = arr.av_ptr[member + 1] - first_row
    pair = np.repeat(np.arange(len(member)), n_rows)
    offsets = np.arange(len(pair)) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    row = first_row[pair] + offsets
    d = demand[pair]
    ws, step, dur = arr.d_window_start[d], arr.step_s, arr.d_duration_s[d]
    lo = np.maximum(ws, arr.av_start[row])
    hi = np.minimum(arr.d_window_end[d], arr.av_end[row]) - dur
    k_lo = -((ws - lo) // step)  # ceil((lo - ws) / step)
    k_hi = (hi - ws) // step
    ok = (k_lo <= k_hi) & (hi >= lo)
    pair, row, d = pair[ok], row[ok], d[ok]
    m = member[pair]
    return Candidates(
        member=m,
        demand=d,
        interval=row,
        first_start=ws[ok] + k_lo[ok] * step,
        last_start=ws[ok] + k_hi[ok] * step,
        distance_km=km[pair],
        cost=pair_cost(arr, m, d, km[pair]),
        use_h=arr.d_duration_h[d],
    )


def concat(parts: list[Candidates]) -> Candidates:
    if not parts:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
        return Candidates(empty_i, empty_i, empty_i, empty_i, empty_i, empty_f, empty_f, empty_f)
    joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS}
    order = np.lexsort((joined["cost"], joined["demand"]))  # stable: ties keep generation order
    return Candidates(**{f: v[order] for f, v in joined.items()})


def generate_candidates(arr: ProblemArrays) -> Candidates:
    """Every feasible (member, demand, interval) triple for the demands not pinned."""
    open_demands = np.flatnonzero(~arr.d_pinned)
    solo = open_demands[arr.d_crew[open_demands] == 1]
    crews = open_demands[arr.d_crew[open_demands] > 1]
    parts: list[Candidates] = []

    def add(member: IntArray, demand: IntArray, need_skills: bool) -> None:
        for lo in range(0, len(member), _CHUNK_PAIRS):
            m, d = member[lo : lo + _CHUNK_PAIRS], demand[lo : lo + _CHUNK_PAIRS]
            keep = np.ones(len(m), dtype=bool)
            if arr.d_team_only.any():  # a team-only task goes to standing teams' members only
                in_team = np.array([bool(ts) for ts in arr.member_teams], dtype=bool)
                keep &= ~arr.d_team_only[d] | in_team[m]
            if need_skills:
                keep &= covers(arr.m_skills[m], arr.d_skills[d])
            m, d = m[keep], d[keep]
            km = haversine_km(arr.m_lat[m], arr.m_lon[m], arr.d_lat[d], arr.d_lon[d])
            near = km <= arr.m_max_km[m] + 1e-9
            if near.any():
                parts.append(_expand_intervals(arr, m[near], d[near], km[near]))

    # one-person tasks: search only among holders of the demand's rarest skill
    if len(solo):
        bits = _bit_columns(arr.m_skills)
        holders = bits.sum(axis=0)
        req = _bit_columns(arr.d_skills[solo])
        anyone = ~req.any(axis=1)  # no skill required: every member is a candidate
        if anyone.any():
            add(*_pairs_in_range(arr, solo[anyone], np.arange(arr.n_members)), need_skills=False)
        rarity = np.where(req, holders[None, :], np.iinfo(np.int64).max)
        rarest = np.argmin(rarity, axis=1)
        for bit in np.unique(rarest[~anyone]):
            group = solo[~anyone & (rarest == bit)]
            pool = np.flatnonzero(bits[:, bit])
            add(*_pairs_in_range(arr, group, pool), need_skills=True)
    if len(crews):
        add(*_pairs_in_range(arr, crews, np.arange(arr.n_members)), need_skills=False)
    return concat(parts)


def _bit_columns(masks: NDArray[np.uint64]) -> NDArray[np.bool_]:
    """Expand bitmask rows into boolean columns, one per bit."""
    words = masks.shape[1]
    shifts = np.arange(64, dtype=np.uint64)
    cols = ((masks[:, :, None] >> shifts[None, None, :]) & np.uint64(1)).astype(bool)
    return cols.reshape(len(masks), words * 64)


def shortlist(
    arr: ProblemArrays,
    cands: Candidates,
    *,
    solo_k: int = 10,
    crew_k: tuple[int, int] = (12, 6),
    rank_cost: FloatArray | None = None,
) -> Candidates:
    """The rows of each demand's cheapest members: what construction and search look at.

    A one-person demand keeps its ``solo_k`` cheapest members; a crew keeps the ``crew_k[0]``
    cheapest members holding one of its skills and the ``crew_k[1]`` cheapest others. The
    bound always uses every candidate; only the search is narrowed. ``rank_cost`` (one value
    per row, such as :func:`matcher.dispatch.bound.reduced_costs`) ranks the members instead
    of ``cost``; the rows kept are unchanged otherwise, costs included.
    """
    if len(cands) == 0:
        return cands
    helpful = np.any((arr.m_skills[cands.member] & arr.d_skills[cands.demand]) != 0, axis=1)
    crew = arr.d_crew[cands.demand] > 1
    group = cands.demand * 2 + (crew & ~helpful)
    keys = cands.demand * arr.n_members + cands.member
    # rows in (demand, rank) order: the stored order when ranked by cost
    pos = np.arange(len(cands)) if rank_cost is None else np.lexsort((rank_cost, cands.demand))
    _, first_pos = np.unique(keys[pos], return_index=True)
    first_pos.sort()
    first = pos[first_pos]  # cheapest row of each (demand, member), in (demand, rank) order
    g = group[first]
    order = np.argsort(g, kind="stable")
    g_sorted = g[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    rank = np.empty(len(first), dtype=np.int64)
    rank[order] = np.arange(len(first)) - np.repeat(starts, np.diff(np.r_[starts, len(first)]))
    limit = np.where(crew[first], np.where(helpful[first], crew_k[0], crew_k[1]), solo_k)
    kept_keys = keys[first[rank < limit]]
    mask = np.isin(keys, kept_keys)
    return select(cands, mask)
