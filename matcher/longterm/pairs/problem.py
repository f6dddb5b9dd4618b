"""The hand-in-hand problem (``docs/contracts/pairs.md``) as frozen dataclasses.

Resident data is personal: the problem holds ids, a home location, the vulnerable groups, needs,
required skills and a vulnerability score — no names, no phone numbers. Locations are WGS84
degrees (:class:`matcher.dispatch.problem.Location`, shared with dispatch).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matcher.dispatch.problem import Location

VULNERABLE_GROUPS: tuple[str, ...] = ("elderly", "student", "orphan", "disabled", "poor")
"""助老、助学、助孤、助残、助贫."""
PROXIES: tuple[str, ...] = ("errands", "voice", "disputes", "needs", "visits")
"""The five proxies (五代): 代办 errands, 代言 voice, 代处 disputes, 代管 needs, 代访 visits."""
MAX_VULNERABILITY = 5

__all__ = [
    "MAX_VULNERABILITY",
    "PROXIES",
    "VULNERABLE_GROUPS",
    "ExistingPair",
    "Location",
    "PairMember",
    "PairOptions",
    "PairProblem",
    "Resident",
]


@dataclass(frozen=True)
class Resident:
    """A vulnerable resident: who they are as far as the job needs, and what they need."""

    id: str
    community: str
    location: Location
    groups: tuple[str, ...]
    needs: tuple[str, ...]
    vulnerability: int
    """1 (manageable) .. 5 (most at risk): the most vulnerable are paired first."""
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairMember:
    """A member who may take residents by the hand: home, skills, proxies offered, limits."""

    id: str
    community: str
    location: Location
    skills: tuple[str, ...] = ()
    proxies: tuple[str, ...] = PROXIES
    max_residents: int | None = None
    """At most this many residents (0: none this period); default ``options``."""
    max_distance_km: float | None = None
    """Farthest home of a resident the member will serve; default ``options``."""


@dataclass(frozen=True)
class ExistingPair:
    """A pair of the previous period (the member may since have left)."""

    resident: str
    member: str


@dataclass(frozen=True)
class PairOptions:
    time_limit_s: float = 30.0
    seed: int = 0
    max_residents_per_member: int = 2
    max_distance_km: float = 3.0


@dataclass(frozen=True)
class PairProblem:
    """A district's (or one community's) residents and members for one period."""

    residents: tuple[Resident, ...]
    members: tuple[PairMember, ...]
    existing_pairs: tuple[ExistingPair, ...] = ()
    options: PairOptions = field(default_factory=PairOptions)

    def capacity(self, member: PairMember) -> int:
        return (
            self.options.max_residents_per_member
            if member.max_residents is None
            else member.max_residents
        )

    def range_km(self, member: PairMember) -> float:
        return (
            self.options.max_distance_km
            if member.max_distance_km is None
            else member.max_distance_km
        )
