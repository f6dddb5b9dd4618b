"""The grouping problem (``docs/contracts/groups.md``) as frozen dataclasses.

Lists are tuples so that problems hash and never change under a solver. Locations are WGS84
degrees (:class:`matcher.dispatch.problem.Location`, shared with dispatch).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matcher.dispatch.problem import Location

CATEGORIES: tuple[str, ...] = (
    "policy_publicity",
    "sanitation",
    "poverty_relief",
    "mediation",
    "elderly_care",
    "tutoring",
    "health",
    "legal_aid",
    "repairs",
    "digital_help",
)
"""Post and service-intention categories the generator uses (the contract accepts any string)."""

__all__ = [
    "CATEGORIES",
    "GroupMember",
    "GroupOptions",
    "GroupProblem",
    "GroupSize",
    "GroupWeights",
    "Location",
]


@dataclass(frozen=True)
class GroupMember:
    """A member to be grouped: home, community, trade, claimed posts and service intentions."""

    id: str
    community: str
    location: Location
    industry: str | None = None
    posts: tuple[str, ...] = ()
    preferences: tuple[str, ...] = ()

    @property
    def interests(self) -> frozenset[str]:
        """Claimed posts and service intentions together."""
        return frozenset(self.posts) | frozenset(self.preferences)


@dataclass(frozen=True)
class GroupSize:
    """Every group has between ``min`` and ``max`` members (``2 <= min <= max``)."""

    min: int = 6
    max: int = 10


@dataclass(frozen=True)
class GroupWeights:
    """Weights of the dissimilarity terms and of a member left out of every group."""

    distance: float = 2.0
    industry: float = 1.0
    interest: float = 1.0
    unassigned: float = 10.0


@dataclass(frozen=True)
class GroupOptions:
    time_limit_s: float = 30.0
    seed: int = 0
    far_km: float = 2.0
    """Homes this far apart (or farther) count as fully far: the distance term is capped at 1."""
    related_industry_similarity: float = 0.5
    """Similarity of two related industries (same industry 1, unrelated 0)."""
    weights: GroupWeights = field(default_factory=GroupWeights)


@dataclass(frozen=True)
class GroupProblem:
    """A district's (or one community's) members to be grouped, community by community."""

    members: tuple[GroupMember, ...]
    group_size: GroupSize = field(default_factory=GroupSize)
    related_industries: tuple[tuple[str, str], ...] = ()
    together: tuple[tuple[str, str], ...] = ()
    apart: tuple[tuple[str, str], ...] = ()
    options: GroupOptions = field(default_factory=GroupOptions)
