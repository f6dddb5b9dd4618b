"""The hand-in-hand answer (``docs/contracts/pairs.md``) as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("optimal", "feasible", "no_solution")
UNPAIRED_REASONS = ("no_skill", "out_of_range", "capacity")
"""Why a resident has no partner: no member of the community offers the needs and holds the
skills; some do, but none lives within their range; those in range are all full."""
DROPPED_REASONS = ("member_left", "other_community", "no_skill", "out_of_range", "capacity")
"""Why last period's pair ends: the member is gone; the two now live in different communities;
the member no longer offers the needs or holds the skills; the homes are now too far apart; the
member now takes fewer residents and keeps the more vulnerable ones."""


@dataclass(frozen=True)
class Pair:
    """A member takes a resident by the hand; ``kept``: the pair continues from last period."""

    resident: str
    member: str
    distance_km: float
    kept: bool


@dataclass(frozen=True)
class Unpaired:
    """A resident without a partner this period, why, and what a dispatcher can do."""

    resident: str
    reason: str
    detail: str


@dataclass(frozen=True)
class DroppedPair:
    """Last period's pair that does not continue, and why."""

    resident: str
    member: str
    reason: str
    detail: str


@dataclass(frozen=True)
class PairStats:
    objective: float
    bound: float
    gap: float
    paired: int
    kept: int
    new: int
    unpaired: int
    dropped: int
    unpaired_vulnerability: int
    distance_km: float
    candidates: int
    solve_s: float


@dataclass(frozen=True)
class PairAnswer:
    status: str
    pairs: tuple[Pair, ...]
    unpaired: tuple[Unpaired, ...]
    dropped: tuple[DroppedPair, ...]
    stats: PairStats
