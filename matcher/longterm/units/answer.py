"""The unit–community pairing answer (``docs/contracts/units.md``) as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("optimal", "feasible", "no_solution")
NEED_REASONS = ("no_resource", "too_far", "outweighed")
"""Why a need stays uncovered: no unit offers it; every unit offering it is beyond
``max_distance_km``; the units offering it within range are (by the objective) better used
elsewhere, or this community's slots went to units covering more."""
UNIT_REASONS = ("too_far", "no_slot")
"""Why a unit stays unpaired: no community within range; every community within range is full."""
SLOT_REASONS = ("too_far", "no_unit")
"""Why a community has open slots: units with room exist but none within range; every unit
within range is at its limit."""


@dataclass(frozen=True)
class Pair:
    """A unit paired with a community, the distance, and the needs it covers there."""

    unit: str
    community: str
    distance_km: float
    covers: tuple[str, ...]


@dataclass(frozen=True)
class Uncovered:
    """A community need no paired unit covers."""

    community: str
    need: str
    weight: int
    reason: str
    detail: str


@dataclass(frozen=True)
class Unpaired:
    """A unit without a community."""

    unit: str
    reason: str
    detail: str


@dataclass(frozen=True)
class OpenSlots:
    """A community paired with fewer units than it may have."""

    community: str
    open_slots: int
    reason: str
    detail: str


@dataclass(frozen=True)
class Stats:
    """``objective`` and ``bound`` as defined in ``docs/contracts/units.md``; the rest its three
    levels."""

    objective: float
    bound: float
    coverage: int
    need_weight: int
    pairs: int
    max_pairs: int
    distance_km: float
    candidates: int
    solve_s: float


@dataclass(frozen=True)
class Answer:
    status: str
    pairs: tuple[Pair, ...]
    uncovered: tuple[Uncovered, ...]
    unpaired: tuple[Unpaired, ...]
    open_slots: tuple[OpenSlots, ...]
    stats: Stats
