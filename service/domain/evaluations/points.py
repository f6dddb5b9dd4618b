"""Facts and tallies: pure arithmetic from recorded facts to points, tiers, stars, the shortlist."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.domain.evaluations.periods import (
    Period,
)
from service.domain.evaluations.scheme import (
    ITEMS,
    TIERS,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Facts and tallies (pure)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One recorded fact of a member in a community (see the module's table)."""

    kind: str
    member_id: str
    community_id: str
    source_id: str
    at: datetime
    hours: float = 0.0
    rating: int | None = None
    score: int | None = None


@dataclass(frozen=True)
class Item:
    """One line of a tally: how many, the weight, the points and the facts behind them."""

    item: str
    quantity: float
    weight: float
    points: float
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Tally:
    """A member's half-year points in one community."""

    member_id: str
    community_id: str
    period: str
    items: tuple[Item, ...]
    points: float
    ratings: int = 0
    mean_rating: float | None = None

    def item(self, name: str) -> Item:
        return next(i for i in self.items if i.item == name)


def _weight(scheme: Mapping[str, Any], key: str, sign: int) -> float:
    group = scheme["weights"] if sign > 0 else scheme["penalties"]
    return float(group.get(key, 0.0))


def tally(
    facts: Iterable[Fact],
    scheme: Mapping[str, Any],
    *,
    member_id: str,
    community_id: str,
    period: Period,
) -> Tally:
    """The member's points of ``period`` in ``community_id`` from the facts (others ignored)."""
    mine = [
        f
        for f in facts
        if f.member_id == member_id
        and f.community_id == community_id
        and period.start <= f.at < period.end
    ]
    mine.sort(key=lambda f: (f.at, f.source_id))

    def of(kind: str) -> list[Fact]:
        return [f for f in mine if f.kind == kind]

    services = of("service")
    rated = [f for f in services if f.rating is not None]
    surveys = of("survey")
    quantities: dict[str, tuple[float, list[Fact]]] = {
        "services": (len(services), services),
        "hours": (round(sum(f.hours for f in services), 6), services),
        "rating_points": (sum((f.rating or 3) - 3 for f in rated), rated),
        "commitments_kept": (len(of("commitment_kept")), of("commitment_kept")),
        "visits": (len(of("visit")), of("visit")),
        "survey_points": (sum((f.score or 3) - 3 for f in surveys), surveys),
        "no_shows": (len(of("no_show")), of("no_show")),
        "declines": (len(of("decline")), of("decline")),
        "commitments_missed": (len(of("commitment_missed")), of("commitment_missed")),
        "late_completions": (len(of("late_completion")), of("late_completion")),
    }
    items = []
    for name, key, _label, sign in ITEMS:
        quantity, behind = quantities[name]
        weight = _weight(scheme, key, sign)
        items.append(
            Item(
                item=name,
                quantity=quantity,
                weight=weight,
                points=round(sign * weight * quantity, 6),
                sources=tuple(f.source_id for f in behind),
            )
        )
    ratings = [f.rating for f in rated if f.rating is not None]
    return Tally(
        member_id=member_id,
        community_id=community_id,
        period=str(period),
        items=tuple(items),
        points=round(sum(i.points for i in items), 6),
        ratings=len(ratings),
        mean_rating=sum(ratings) / len(ratings) if ratings else None,
    )


@dataclass(frozen=True)
class Veto:
    id: str
    period: str
    statement: str


@dataclass(frozen=True)
class YearResult:
    """A member's year end in one community."""

    member_id: str
    community_id: str
    year: int
    halves: tuple[Tally, Tally]
    points: float
    tier: str
    stars: int
    shortlisted: bool
    rank: int
    vetoes: tuple[Veto, ...] = ()
    tier_without_veto: str = ""
    stars_without_veto: int = 0
    why: tuple[str, ...] = field(default_factory=tuple)


def stars_for(points: float, thresholds: Sequence[float]) -> int:
    """How many of the (ascending) star thresholds the points reach (0–5)."""
    return sum(1 for t in thresholds if points >= t)


def _threshold_tier(points: float, tiers: Mapping[str, Any]) -> str:
    for tier in TIERS[:-1]:
        if points >= float(tiers[tier]):
            return tier
    return "bad"


def _quota_tiers(ranked: Sequence[tuple[str, float]], tiers: Mapping[str, Any]) -> dict[str, str]:
    """Tiers by rank: a member's position is that of the first with equal points (ties share
    the better tier); the first ``ceil(quota · n)`` positions of each tier in turn."""
    n = len(ranked)
    result: dict[str, str] = {}
    first_position: dict[float, int] = {}
    for position, (_member, points) in enumerate(ranked):
        first_position.setdefault(points, position)
    for member, points in ranked:
        position = first_position[points]
        cumulative = 0.0
        chosen = "bad"
        for tier in TIERS[:-1]:
            cumulative += float(tiers[tier])
            if position < math.ceil(round(cumulative * n, 9)):
                chosen = tier
                break
        result[member] = chosen
    return result


def year_end(
    pairs: Mapping[str, tuple[Tally, Tally]],
    scheme: Mapping[str, Any],
    vetoes: Mapping[str, Sequence[Veto]],
    *,
    community_id: str,
    year: int,
) -> list[YearResult]:
    """Year-end tiers, stars and shortlist of one community's members (best first).

    Args:
        pairs: Per member, their two half-year tallies in this community.
        vetoes: Per member, the community's veto statements of that year.
    """
    summed = {m: round(h1.points + h2.points, 6) for m, (h1, h2) in pairs.items()}
    ranked = sorted(summed.items(), key=lambda kv: (-kv[1], kv[0]))
    tiers_config = scheme["tiers"]
    if tiers_config["mode"] == "quotas":
        free_tiers = _quota_tiers(ranked, tiers_config)
    else:
        free_tiers = {m: _threshold_tier(p, tiers_config) for m, p in ranked}
    shortlist_size = int(scheme["shortlist_size"])
    shortlist = [m for m, p in ranked if p > 0 and not vetoes.get(m)][:shortlist_size]
    results = []
    for rank, (member, points) in enumerate(ranked, start=1):
        statements = tuple(vetoes.get(member, ()))
        free_tier = free_tiers[member]
        free_stars = stars_for(points, scheme["stars"])
        tier, stars, why = free_tier, free_stars, []
        if statements:
            ids = ", ".join(v.id for v in statements)
            if tier == "excellent":
                tier = "good"
                why.append(f"一票否决 ({ids}): the excellent tier is vetoed")
            cap = int(scheme["veto_star_cap"])
            if stars > cap:
                stars = cap
                why.append(f"一票否决 ({ids}): stars capped at {cap}")
            why.append(f"一票否决 ({ids}): not on the 最美在职党员 shortlist")
        results.append(
            YearResult(
                member_id=member,
                community_id=community_id,
                year=year,
                halves=pairs[member],
                points=points,
                tier=tier,
                stars=stars,
                shortlisted=member in shortlist,
                rank=rank,
                vetoes=statements,
                tier_without_veto=free_tier,
                stars_without_veto=free_stars,
                why=tuple(why),
            )
        )
    return results
