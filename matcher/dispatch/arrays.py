"""The problem as flat numpy arrays: integer seconds, skill bitmasks, index-based references.

Everything downstream (candidates, greedy, model, repair) works on these arrays. Times are whole
seconds from ``origin`` (the earliest time in the problem); durations are rounded *up* to whole
seconds, so a plan that fits in seconds also fits in exact time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from matcher.dispatch.problem import Problem
from matcher.geo import unit_vectors

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
MaskArray = NDArray[np.uint64]


def _masks(items: Sequence[tuple[str, ...]], index: dict[str, int]) -> MaskArray:
    """Bitmask rows, shape ``(len(items), words)``, for sets of names."""
    words = max(1, math.ceil(len(index) / 64))
    out = np.zeros((len(items), words), dtype=np.uint64)
    for row, names in enumerate(items):
        for name in names:
            bit = index[name]
            out[row, bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
    return out


def mask_int(row: MaskArray) -> int:
    """A bitmask row (uint64 words, least significant first) as one Python integer."""
    return int.from_bytes(np.ascontiguousarray(row, dtype="<u8").tobytes(), "little")


@dataclass(frozen=True)
class ProblemArrays:
    """Index-based view of a :class:`~matcher.dispatch.problem.Problem`."""

    problem: Problem
    origin: datetime
    step_s: int
    changeover_s: int
    # members
    member_index: dict[str, int]
    m_lat: FloatArray
    m_lon: FloatArray
    m_xyz: FloatArray
    m_skills: MaskArray
    m_prefs: MaskArray
    m_capacity_s: IntArray
    m_capacity_h: FloatArray  # exact, for the objective
    m_max_km: FloatArray
    m_reliability: FloatArray
    # availability, sorted by (member, start); member i owns rows av_ptr[i]:av_ptr[i+1]
    av_member: IntArray
    av_start: IntArray
    av_end: IntArray
    av_ptr: IntArray
    # demands
    demand_index: dict[str, int]
    d_lat: FloatArray
    d_lon: FloatArray
    d_xyz: FloatArray
    d_skills: MaskArray
    d_category: MaskArray
    d_window_start: IntArray
    d_window_end: IntArray
    d_duration_s: IntArray
    d_duration_h: FloatArray  # exact, for the objective
    d_priority: IntArray
    d_crew: IntArray
    d_team_only: NDArray[np.bool_]
    d_pinned: NDArray[np.bool_]
    skill_index: dict[str, int]
    preferred_keys: IntArray  # sorted demand * n_members + member for hand-in-hand partners
    m_unit: IntArray  # index of the member's unit among the paired units, -1 if none
    d_community: IntArray  # index of the demand's community among paired ones, -1 if none
    unit_paired: NDArray[np.bool_]  # [unit, community]: paired (结对共建)
    # teams: team t holds members team_members[t]
    team_members: tuple[tuple[int, ...], ...]
    member_teams: tuple[tuple[int, ...], ...]  # teams of each member

    @cached_property
    def m_skill_bits(self) -> tuple[int, ...]:
        """Each member's skills as one Python integer (fast set tests in Python loops)."""
        return tuple(mask_int(row) for row in self.m_skills)

    @cached_property
    def d_skill_bits(self) -> tuple[int, ...]:
        """Each demand's required skills as one Python integer."""
        return tuple(mask_int(row) for row in self.d_skills)

    @property
    def n_members(self) -> int:
        return len(self.member_index)

    @property
    def n_demands(self) -> int:
        return len(self.demand_index)

    def seconds(self, moment: datetime) -> int:
        return round((moment - self.origin).total_seconds())


def build_arrays(problem: Problem) -> ProblemArrays:
    """Flatten a validated problem into arrays."""
    members, demands, options = problem.members, problem.demands, problem.options
    moments = [iv.start for m in members for iv in m.availability] + [
        d.window.start for d in demands
    ]
    origin = min(moments) if moments else datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    origin = origin.replace(microsecond=0)

    def start_sec(moment: datetime) -> int:
        """An interval's start in whole seconds, rounded inwards (up)."""
        return math.ceil((moment - origin).total_seconds())

    def end_sec(moment: datetime) -> int:
        """An interval's end in whole seconds, rounded inwards (down)."""
        return math.floor((moment - origin).total_seconds())

    skill_names = sorted(
        {s for m in members for s in m.skills} | {s for d in demands for s in d.skills}
    )
    skill_index = {s: i for i, s in enumerate(skill_names)}
    category_names = sorted(
        {d.category for d in demands} | {p for m in members for p in m.preferences}
    )
    category_index = {c: i for i, c in enumerate(category_names)}

    member_index = {m.id: i for i, m in enumerate(members)}
    demand_index = {d.id: i for i, d in enumerate(demands)}
    m_lat = np.array([m.location.lat for m in members], dtype=np.float64)
    m_lon = np.array([m.location.lon for m in members], dtype=np.float64)
    d_lat = np.array([d.location.lat for d in demands], dtype=np.float64)
    d_lon = np.array([d.location.lon for d in demands], dtype=np.float64)

    av_rows = sorted(
        (i, start_sec(iv.start), end_sec(iv.end))
        for i, m in enumerate(members)
        for iv in m.availability
    )
    av = np.array(av_rows, dtype=np.int64).reshape(-1, 3)
    av_ptr = np.searchsorted(av[:, 0], np.arange(len(members) + 1)).astype(np.int64)

    preferred = sorted(
        j * len(members) + member_index[mid]
        for j, d in enumerate(demands)
        for mid in d.preferred_members
        if mid in member_index
    )
    m_unit, d_community, unit_paired = _unit_pairs(problem)
    category_rows = [(d.category,) for d in demands]
    team_members = tuple(
        tuple(member_index[mid] for mid in t.members if mid in member_index) for t in problem.teams
    )
    member_teams: list[list[int]] = [[] for _ in members]
    for t, team in enumerate(team_members):
        for m in team:
            member_teams[m].append(t)
    return ProblemArrays(
        problem=problem,
        origin=origin,
        step_s=max(1, round(options.time_step_minutes * 60)),
        changeover_s=math.ceil(options.changeover_minutes * 60 - 1e-9),
        member_index=member_index,
        m_lat=m_lat,
        m_lon=m_lon,
        m_xyz=unit_vectors(m_lat, m_lon),
        m_skills=_masks([m.skills for m in members], skill_index),
        m_prefs=_masks([m.preferences for m in members], category_index),
        m_capacity_s=np.array(
            [math.floor(m.capacity_hours * 3600 + 1e-6) for m in members], dtype=np.int64
        ),
        m_capacity_h=np.array([m.capacity_hours for m in members], dtype=np.float64),
        m_max_km=np.array(
            [
                options.max_distance_km if m.max_distance_km is None else m.max_distance_km
                for m in members
            ],
            dtype=np.float64,
        ),
        m_reliability=np.array([m.reliability for m in members], dtype=np.float64),
        av_member=av[:, 0].copy(),
        av_start=av[:, 1].copy(),
        av_end=av[:, 2].copy(),
        av_ptr=av_ptr,
        demand_index=demand_index,
        d_lat=d_lat,
        d_lon=d_lon,
        d_xyz=unit_vectors(d_lat, d_lon),
        d_skills=_masks([d.skills for d in demands], skill_index),
        d_category=_masks(category_rows, category_index),
        d_window_start=np.array([start_sec(d.window.start) for d in demands], dtype=np.int64),
        d_window_end=np.array([end_sec(d.window.end) for d in demands], dtype=np.int64),
        d_duration_s=np.array(
            [math.ceil(d.duration_hours * 3600 - 1e-6) for d in demands], dtype=np.int64
        ),
        d_duration_h=np.array([d.duration_hours for d in demands], dtype=np.float64),
        d_priority=np.array([d.priority for d in demands], dtype=np.int64),
        d_crew=np.array([d.crew_size for d in demands], dtype=np.int64),
        d_team_only=np.array([d.team_only for d in demands], dtype=bool),
        d_pinned=np.array([d.pinned is not None for d in demands], dtype=bool),
        skill_index=skill_index,
        preferred_keys=np.array(preferred, dtype=np.int64),
        m_unit=m_unit,
        d_community=d_community,
        unit_paired=unit_paired,
        team_members=team_members,
        member_teams=tuple(tuple(ts) for ts in member_teams),
    )


def _unit_pairs(problem: Problem) -> tuple[IntArray, IntArray, NDArray[np.bool_]]:
    """Index members' units and demands' communities that appear in ``options.unit_pairs``."""
    pairs = problem.options.unit_pairs
    units = {u: i for i, u in enumerate(dict.fromkeys(p.unit for p in pairs))}
    communities = {c: i for i, c in enumerate(dict.fromkeys(p.community for p in pairs))}
    paired = np.zeros((max(len(units), 1), max(len(communities), 1)), dtype=bool)
    for p in pairs:
        paired[units[p.unit], communities[p.community]] = True
    m_unit = np.array(
        [units.get(m.unit, -1) if m.unit is not None else -1 for m in problem.members],
        dtype=np.int64,
    )
    d_community = np.array(
        [
            communities.get(d.community, -1) if d.community is not None else -1
            for d in problem.demands
        ],
        dtype=np.int64,
    )
    return m_unit, d_community, paired
