"""The unit–community pairing problem (``docs/contracts/units.md``) as frozen dataclasses.

Locations are :class:`matcher.dispatch.problem.Location` (WGS-84 degrees). Lists are tuples so that
problems hash and never change under a solver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matcher.dispatch.problem import Location

RESOURCES: tuple[str, ...] = (
    "legal",
    "medical",
    "education",
    "construction",
    "finance",
    "culture",
    "sanitation",
    "public_security",
    "social_work",
    "technology",
    "employment",
    "elderly_care",
)
"""The resource (and need) categories of the generator and the console (the contract accepts
any string)."""


@dataclass(frozen=True)
class Unit:
    """A work unit (单位) and what it can bring; it pairs with at most ``max_communities``."""

    id: str
    location: Location
    resources: tuple[str, ...] = ()
    name: str | None = None
    max_communities: int = 1


@dataclass(frozen=True)
class Need:
    """A community need of one category and its integer weight (how much it matters)."""

    category: str
    weight: int = 1


@dataclass(frozen=True)
class Community:
    """A community and its needs; ``max_units`` defaults to ``options.units_per_community``."""

    id: str
    location: Location
    needs: tuple[Need, ...] = ()
    name: str | None = None
    max_units: int | None = None


@dataclass(frozen=True)
class Pin:
    """An existing pair that must be kept."""

    unit: str
    community: str


@dataclass(frozen=True)
class Options:
    """``workers`` 0 means every core; ``max_distance_km`` None means no limit."""

    units_per_community: int = 1
    max_distance_km: float | None = None
    time_limit_s: float = 10.0
    seed: int = 0
    workers: int = 0


@dataclass(frozen=True)
class Problem:
    units: tuple[Unit, ...]
    communities: tuple[Community, ...]
    pinned: tuple[Pin, ...] = ()
    options: Options = field(default_factory=Options)

    def slots(self, community: Community) -> int:
        """How many units ``community`` may pair with."""
        if community.max_units is not None:
            return community.max_units
        return self.options.units_per_community
