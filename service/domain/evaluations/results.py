"""Results per member, unit and community: a half year's or a year's points, tiers, stars, veto."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.registration import Community, Member, Unit
from service.domain.evaluations.facts import (
    community_half_year,
    community_year,
    member_communities,
)
from service.domain.evaluations.periods import (
    Period,
    halves,
)
from service.domain.evaluations.points import (
    Tally,
    YearResult,
)
from service.domain.evaluations.records import (
    readable_parts,
)
from service.domain.evaluations.reports import (
    other_evaluations,
    present_tally,
    present_year,
)
from service.domain.evaluations.scheme import (
    TIERS,
)
from service.domain.members import member_names
from service.domain.scope import (
    get_scoped,
    visible_member_ids,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Results per member, unit, community
# --------------------------------------------------------------------------------------------


@dataclass
class _Results:
    """The community results computed so far in one request (a community is ranked whole)."""

    session: Session
    period: Period | None
    year: int | None
    now: datetime | None
    cache: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def community(self, community_id: str) -> dict[str, dict[str, Any]]:
        if community_id not in self.cache:
            if self.period is not None:
                tallies = community_half_year(self.session, community_id, self.period, now=self.now)
                rows = {t.member_id: _half_row(self.session, t, self.period) for t in tallies}
            else:
                assert self.year is not None
                results = community_year(self.session, community_id, self.year, now=self.now)
                rows = {r.member_id: _year_row(r) for r in results}
            self.cache[community_id] = rows
        return self.cache[community_id]

    def member(self, member: Member) -> list[dict[str, Any]]:
        start, end = self.bounds
        rows = []
        for community_id in member_communities(self.session, member, start, end):
            row = self.community(community_id).get(member.id)
            if row is not None:
                rows.append((community_id, row))
        return [row for _c, row in rows]

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        if self.period is not None:
            return self.period.start, self.period.end
        assert self.year is not None
        first, second = halves(self.year)
        return first.start, second.end


def _half_row(session: Session, each: Tally, period: Period) -> dict[str, Any]:
    row = present_tally(each)
    row.update(
        year=None,
        rank=None,
        tier=None,
        tier_label=None,
        stars=None,
        shortlisted=None,
        halves=[],
        veto=None,
        evaluations=other_evaluations(session, each.member_id, period),
    )
    return row


def _year_row(result: YearResult) -> dict[str, Any]:
    row = present_year(result)
    row.update(period=None, ratings=None, mean_rating=None, items=_year_items(result))
    row["evaluations"] = {}
    return row


def _year_items(result: YearResult) -> list[dict[str, Any]]:
    """The two halves' items summed (sources of both)."""
    first, second = result.halves
    return [
        {
            "item": a.item,
            "quantity": round(a.quantity + b.quantity, 6),
            "weight": a.weight if a.weight == b.weight else None,
            "points": round(a.points + b.points, 6),
            "sources": [*a.sources, *b.sources],
        }
        for a, b in zip(first.items, second.items, strict=True)
    ]


def _summary(
    scope: str, object_id: str, results: _Results, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    rows.sort(key=lambda r: (r["community_id"], -r["points"], r["member_id"]))
    totals: dict[str, Any] = {
        "members": len({r["member_id"] for r in rows}),
        "points": round(sum(r["points"] for r in rows), 6),
    }
    if results.year is not None:
        totals["by_tier"] = {t: sum(1 for r in rows if r["tier"] == t) for t in TIERS}
        totals["shortlisted"] = sum(1 for r in rows if r["shortlisted"])
        totals["vetoed"] = sum(1 for r in rows if r["veto"]["vetoed"])
    shortlist = sorted(
        (r for r in rows if r.get("shortlisted")), key=lambda r: (r["community_id"], r["rank"])
    )
    return {
        "scope": scope,
        "id": object_id,
        "period": None if results.period is None else str(results.period),
        "year": results.year,
        "rows": rows,
        "shortlist": [r["member_id"] for r in shortlist],
        "totals": totals,
    }


def results(
    session: Session,
    client: Client,
    scope: str,
    object_id: str,
    *,
    period: Period | None,
    year: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The half-year (``period``) or year-end (``year``) results of one member, a unit's
    members or a community's members, limited to what the client may read."""
    found = _Results(session, period, year, now)
    rows: list[dict[str, Any]] = []
    if scope == "member":
        member = get_scoped(session, Member, object_id, client)
        rows = [
            r
            for r in found.member(member)
            if r["community_id"] in readable_parts(client, [r["community_id"]])
        ]
    elif scope == "unit":
        unit = get_scoped(session, Unit, object_id, client)
        query = select(Member).where(Member.unit_id == unit.id).order_by(Member.id)
        visible = visible_member_ids(client)
        if visible is not None:
            query = query.where(Member.id.in_(visible))
        for member in session.scalars(query).all():
            rows.extend(
                r
                for r in found.member(member)
                if r["community_id"] in readable_parts(client, [r["community_id"]])
            )
    else:
        community = get_scoped(session, Community, object_id, client)
        visible = visible_member_ids(client)
        seen = None if visible is None else set(session.scalars(visible))
        rows = [r for m, r in found.community(community.id).items() if seen is None or m in seen]
    return _summary(scope, object_id, found, _named(session, rows))


def _named(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with each member's name and each community's name (reports show people and
    places by name, never by id)."""
    members = member_names(session, (r["member_id"] for r in rows))
    community_ids = sorted({r["community_id"] for r in rows})
    communities = dict(
        session.execute(
            select(Community.id, Community.name).where(Community.id.in_(community_ids))
        ).all()
    )
    return [
        {
            **r,
            "member_name": members.get(r["member_id"], ""),
            "community_name": communities.get(r["community_id"], ""),
        }
        for r in rows
    ]
