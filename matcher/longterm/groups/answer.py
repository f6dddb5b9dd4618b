"""The grouping answer (``docs/contracts/groups.md``) as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.dispatch.problem import Location

STATUSES = ("optimal", "feasible", "no_solution")
REASONS = ("too_few", "together", "conflict", "size", "apart")
"""Why a member is in no group: the community has fewer members than a group needs; the member's
together set is larger than a group may be; its together set holds an apart pair; the
community's count cannot be cut into groups of the allowed sizes; its apart partners leave no
group with room."""


@dataclass(frozen=True)
class IndustryCount:
    """How many of a group's members work in one industry."""

    industry: str
    members: int


@dataclass(frozen=True)
class Group:
    """One proposed group and why its members belong together (the members elect the leader)."""

    id: str
    community: str
    members: tuple[str, ...]
    centre: Location
    radius_km: float
    mean_distance_km: float
    industries: tuple[IndustryCount, ...]
    shared_interests: tuple[str, ...]
    dissimilarity: float
    summary: str


@dataclass(frozen=True)
class Unassigned:
    """A member left out of every group, why, and what a dispatcher can do about it."""

    member: str
    community: str
    reason: str
    detail: str


@dataclass(frozen=True)
class GroupStats:
    objective: float
    bound: float
    gap: float
    dissimilarity: float
    unassigned: int
    groups: int
    communities: int
    exact_communities: int
    solve_s: float
    method: str


@dataclass(frozen=True)
class GroupAnswer:
    status: str
    groups: tuple[Group, ...]
    unassigned: tuple[Unassigned, ...]
    stats: GroupStats
