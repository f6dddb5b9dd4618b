"""The ledger (活动台账) and the publicity board (公示栏): read models, without Flask.

The ledger is one list over two sources: every completed task of the community (a *service*:
its member, the demand's category, the hours served, the resident's rating) and every member's
attendance of a visit session whose attendance was recorded (a *visit*: the team, the households
visited, the notes, the session's hours). Each entry carries the ids it came from (task and
demand, or visit session and schedule) so that every number can be traced back. A service's
time is its task's start (when it was served); a visit's time is the session's start.

Ledger entries are member records: a client sees the entries of the members it may read
(:func:`service.domain.scope.visible_member_ids`) in a community of its scope. The board is a
community-wide record (the community's public display): per member a masked display (member id
and a masked card number, never a home), services, hours, visits and the mean rating of the
current half year, their public commitments (承诺: open, kept or missed, with deadlines), and the
community's totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, Integer, Select, String, case, cast, func, literal, null, select
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.flow import Demand, Task
from service.db.longterm import Commitment, Post
from service.db.registration import Community, Member, Unit
from service.db.visits import VisitAttendance, VisitSessionRecord
from service.domain.availability import LOCAL
from service.domain.members import member_label
from service.domain.scope import get_scoped, visible_member_ids
from service.domain.visit_records import readable_community

KINDS = ("service", "visit")


@dataclass(frozen=True)
class LedgerFilter:
    """Which entries: local dates ``start``..``end`` inclusive, one member, one kind."""

    start: date | None = None
    end: date | None = None
    member_id: str | None = None
    kind: str | None = None


# --------------------------------------------------------------------------------------------
# The entries as one query
# --------------------------------------------------------------------------------------------


def _id_column(column: Any, name: str) -> Any:
    return cast(column, String()).label(name)


def _services(community_id: str) -> Select[Any]:
    return (
        select(
            cast(literal("service"), String(16)).label("kind"),
            Task.member_id.label("member_id"),
            Task.start.label("at"),
            cast(Task.hours, Float).label("hours"),
            cast(Task.rating, Integer).label("rating"),
            _id_column(Demand.category, "content"),
            _id_column(Task.id, "source_id"),
            _id_column(Demand.id, "parent_id"),
        )
        .join(Demand, Demand.id == Task.demand_id)
        .where(Demand.community_id == community_id, Task.status == "completed")
    )


def _visits(community_id: str) -> Select[Any]:
    return (
        select(
            cast(literal("visit"), String(16)).label("kind"),
            VisitAttendance.member_id.label("member_id"),
            VisitSessionRecord.starts_at.label("at"),
            cast(VisitSessionRecord.duration_hours, Float).label("hours"),
            cast(null(), Integer).label("rating"),
            _id_column(VisitSessionRecord.team, "content"),
            _id_column(VisitSessionRecord.id, "source_id"),
            _id_column(VisitSessionRecord.schedule_id, "parent_id"),
        )
        .join(VisitSessionRecord, VisitSessionRecord.id == VisitAttendance.session_id)
        .where(
            VisitSessionRecord.community_id == community_id,
            VisitSessionRecord.status == "attended",
        )
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL)


def entries_query(
    community_id: str, where: LedgerFilter, *, members: Select[str] | None
) -> Select[Any]:
    """The ledger entries of a community as rows of ``(kind, member_id, at, hours, rating,
    content, source_id, parent_id)``; ``members``: the member ids that may be seen (``None``:
    all)."""
    parts = [
        part
        for kind, part in (("service", _services), ("visit", _visits))
        if where.kind in (None, kind)
    ]
    union = parts[0](community_id)
    if len(parts) > 1:
        union = union.union_all(parts[1](community_id))  # type: ignore[assignment]
    entries = union.subquery("entries")
    query = select(entries)
    if members is not None:
        query = query.where(entries.c.member_id.in_(members))
    if where.member_id is not None:
        query = query.where(entries.c.member_id == where.member_id)
    if where.start is not None:
        query = query.where(entries.c.at >= _local_midnight(where.start))
    if where.end is not None:
        query = query.where(entries.c.at < _local_midnight(where.end + timedelta(days=1)))
    return query


def entry_order(query: Select[Any]) -> tuple[Any, ...]:
    """Oldest first; ties by source and member (the same on every backend: no NULLs)."""
    columns = query.selected_columns
    return (columns.at, columns.source_id, columns.member_id)


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


def ledger_scope(
    session: Session, client: Client, community_id: str
) -> tuple[str, Select[str] | None]:
    """The community (404 outside the client's scope) and the member ids the client may see."""
    community = get_scoped(session, Community, community_id, client)
    return community.id, visible_member_ids(client)


def _visit_details(session: Session, session_ids: set[str]) -> dict[str, VisitSessionRecord]:
    if not session_ids:
        return {}
    rows = session.scalars(
        select(VisitSessionRecord).where(VisitSessionRecord.id.in_(sorted(session_ids)))
    )
    return {row.id: row for row in rows}


def present_entries(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    """Ledger rows as ``LedgerEntrySchema`` dumps them (times in +08:00)."""
    visits = _visit_details(session, {r.source_id for r in rows if r.kind == "visit"})
    return [_present_entry(row, visits.get(row.source_id)) for row in rows]


def _present_entry(row: Any, visit: VisitSessionRecord | None) -> dict[str, Any]:
    is_service = row.kind == "service"
    entry_id = (
        f"service:{row.source_id}" if is_service else f"visit:{row.source_id}:{row.member_id}"
    )
    return {
        "id": entry_id,
        "kind": row.kind,
        "member_id": row.member_id,
        "start": row.at.astimezone(LOCAL),
        "hours": row.hours,
        "rating": row.rating,
        "category": row.content if is_service else None,
        "team": None if is_service else row.content,
        "households": [] if visit is None else list(visit.visited_households or []),
        "notes": None if visit is None else visit.notes,
        "source": {
            "task_id": row.source_id if is_service else None,
            "demand_id": row.parent_id if is_service else None,
            "visit_session_id": None if is_service else row.source_id,
            "visit_schedule_id": None if is_service else row.parent_id,
        },
    }


def member_totals(
    session: Session,
    community_id: str,
    where: LedgerFilter,
    *,
    members: Select[str] | None,
) -> list[dict[str, Any]]:
    """Per member: services, hours served, visits, visit hours, ratings and their mean, summed
    over exactly the entries :func:`entries_query` lists."""
    entries = entries_query(community_id, where, members=members).subquery("listed")
    is_service = entries.c.kind == "service"
    query = (
        select(
            entries.c.member_id,
            func.sum(case((is_service, 1), else_=0)),
            func.sum(case((is_service, entries.c.hours), else_=0.0)),
            func.sum(case((is_service, 0), else_=1)),
            func.sum(case((is_service, 0.0), else_=entries.c.hours)),
            func.count(entries.c.rating),
            func.sum(entries.c.rating),
        )
        .group_by(entries.c.member_id)
        .order_by(entries.c.member_id)
    )
    return [
        _totals(member_id, services, hours, visits, visit_hours, ratings, rating_sum)
        for member_id, services, hours, visits, visit_hours, ratings, rating_sum in session.execute(
            query
        )
    ]


def _totals(
    member_id: str | None,
    services: Any,
    hours: Any,
    visits: Any,
    visit_hours: Any,
    ratings: Any,
    rating_sum: Any,
) -> dict[str, Any]:
    rated = int(ratings or 0)
    return {
        "member_id": member_id,
        "services": int(services or 0),
        "hours": round(float(hours or 0.0), 6),
        "visits": int(visits or 0),
        "visit_hours": round(float(visit_hours or 0.0), 6),
        "ratings": rated,
        "mean_rating": float(rating_sum) / rated if rated else None,
    }


def community_totals(per_member: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of the members' totals (the mean rating over every rating)."""
    rated = sum(m["ratings"] for m in per_member)
    rating_sum = sum(m["mean_rating"] * m["ratings"] for m in per_member if m["ratings"])
    return {
        "members": len(per_member),
        "services": sum(m["services"] for m in per_member),
        "hours": round(sum(m["hours"] for m in per_member), 6),
        "visits": sum(m["visits"] for m in per_member),
        "visit_hours": round(sum(m["visit_hours"] for m in per_member), 6),
        "ratings": rated,
        "mean_rating": rating_sum / rated if rated else None,
    }


def ledger_totals(
    session: Session, client: Client, community_id: str, where: LedgerFilter
) -> dict[str, Any]:
    """The ledger's per-member and overall totals for the entries the client may see."""
    community, members = ledger_scope(session, client, community_id)
    per_member = member_totals(session, community, where, members=members)
    return {
        "community_id": community,
        "start": where.start,
        "end": where.end,
        "kind": where.kind,
        "members": per_member,
        "totals": community_totals(per_member),
    }


# --------------------------------------------------------------------------------------------
# The publicity board
# --------------------------------------------------------------------------------------------


def half_year(day: date) -> tuple[date, date]:
    """The half year (Jan–Jun or Jul–Dec) containing ``day``."""
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30)
    return date(day.year, 7, 1), date(day.year, 12, 31)


def board(session: Session, client: Client, community_id: str, day: date) -> dict[str, Any]:
    """The community's publicity board for the half year containing ``day`` (local).

    Lists the active members and every member with an entry in that half year, by name (亮身份:
    the board shows who serves, on purpose), with their unit; never a phone, a card number or a
    home.
    """
    community = readable_community(session, client, community_id)
    start, end = half_year(day)
    where = LedgerFilter(start=start, end=end)
    totals = {t["member_id"]: t for t in member_totals(session, community.id, where, members=None)}
    shown = list(
        session.scalars(
            select(Member).where(
                Member.community_id == community.id,
                (Member.status == "active") | Member.id.in_(list(totals)),
            )
        )
    )
    shown.sort(key=lambda m: (m.name is None, m.name or "", m.id))
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    figures = [totals.get(m.id) or _totals(m.id, 0, 0.0, 0, 0.0, 0, None) for m in shown]
    promised = _commitments(session, community.id)
    return {
        "community_id": community.id,
        "community_name": community.name,
        "period": {"start": start, "end": end},
        "members": [
            _board_member(
                member, units.get(member.unit_id or ""), each, promised.get(member.id, [])
            )
            for member, each in zip(shown, figures, strict=True)
        ],
        "totals": community_totals(figures),
    }


def _commitments(session: Session, community_id: str) -> dict[str, list[dict[str, Any]]]:
    """The community's public commitments (承诺) by member: open, kept or missed (withdrawn
    ones, replaced by a later allocation, are not shown), each with its post's title."""
    rows = session.execute(
        select(Commitment, Post.title)
        .join(Post, Post.id == Commitment.post_id)
        .where(
            Commitment.community_id == community_id,
            Commitment.status.in_(("open", "kept", "missed")),
        )
        .order_by(Commitment.member_id, Commitment.deadline, Commitment.id)
    ).all()
    by_member: dict[str, list[dict[str, Any]]] = {}
    for commitment, title in rows:
        by_member.setdefault(commitment.member_id, []).append(
            {
                "commitment_id": commitment.id,
                "text": commitment.service or title,
                "deadline": commitment.deadline,
                "status": commitment.status,
            }
        )
    return by_member


def _board_member(
    member: Member,
    unit: str | None,
    figures: dict[str, Any],
    commitments: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "member_id": member.id,
        "name": member_label(member),
        "unit": unit,
        "services": figures["services"],
        "hours": figures["hours"],
        "visits": figures["visits"],
        "mean_rating": figures["mean_rating"],
        "commitments": commitments,
    }
