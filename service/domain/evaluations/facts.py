"""Reading the five evaluations' facts from the database: tasks, visits, commitments, surveys."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.base import utcnow
from service.db.evaluations import (
    PointsScheme,
    SurveyResponse,
    VetoStatement,
)
from service.db.flow import Demand, Task
from service.db.longterm import Commitment
from service.db.registration import Member
from service.db.visits import VisitAttendance, VisitSessionRecord
from service.domain.availability import LOCAL
from service.domain.evaluations.periods import (
    Period,
    halves,
)
from service.domain.evaluations.points import (
    Fact,
    Tally,
    Veto,
    YearResult,
    tally,
    year_end,
)
from service.domain.evaluations.scheme import (
    DEFAULT_SCHEME,
)
from service.domain.outcomes import task_outcome

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Reading the facts
# --------------------------------------------------------------------------------------------


def load_facts(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    community_id: str | None = None,
    member_ids: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[Fact]:
    """Every fact with its time in ``[start, end)`` (of one community, or of some members)."""
    now = now or utcnow()
    facts: list[Fact] = []

    def limit(query: Any, community_column: Any, member_column: Any) -> Any:
        if community_id is not None:
            query = query.where(community_column == community_id)
        if member_ids is not None:
            query = query.where(member_column.in_(list(member_ids)))
        return query

    tasks = limit(
        select(
            Task.id,
            Task.member_id,
            Task.start,
            Task.status,
            Task.hours,
            Task.rating,
            Task.completed_at,
            Task.decline_reason,
            Demand.community_id,
            Demand.window_end,
        )
        .join(Demand, Demand.id == Task.demand_id)
        .where(Task.start >= start, Task.start < end),
        Demand.community_id,
        Task.member_id,
    )
    for row in session.execute(tasks):
        base = {"member_id": row.member_id, "community_id": row.community_id, "at": row.start}
        outcome = task_outcome(
            row.status,
            completed_at=row.completed_at,
            decline_reason=row.decline_reason,
            window_end=row.window_end,
            now=now,
        )
        if outcome in ("completed", "late"):
            facts.append(
                Fact("service", source_id=row.id, hours=row.hours or 0.0, rating=row.rating, **base)
            )
            if outcome == "late":
                facts.append(Fact("late_completion", source_id=row.id, **base))
        elif outcome == "declined":
            facts.append(Fact("decline", source_id=row.id, **base))
        elif outcome == "no_show":
            facts.append(Fact("no_show", source_id=row.id, **base))
    visits = limit(
        select(VisitAttendance.member_id, VisitSessionRecord.id, VisitSessionRecord.starts_at)
        .add_columns(VisitSessionRecord.community_id, VisitSessionRecord.duration_hours)
        .join(VisitSessionRecord, VisitSessionRecord.id == VisitAttendance.session_id)
        .where(
            VisitSessionRecord.status == "attended",
            VisitSessionRecord.starts_at >= start,
            VisitSessionRecord.starts_at < end,
        ),
        VisitSessionRecord.community_id,
        VisitAttendance.member_id,
    )
    for member, session_id, starts_at, community, hours in session.execute(visits):
        facts.append(
            Fact("visit", member, community, f"{session_id}:{member}", starts_at, hours=hours)
        )
    commitments = limit(
        select(Commitment).where(Commitment.status.in_(("kept", "missed"))),
        Commitment.community_id,
        Commitment.member_id,
    )
    for commitment in session.scalars(commitments):
        if commitment.deadline is not None:
            at = datetime.combine(commitment.deadline, time(12), LOCAL)
        else:
            at = commitment.marked_at or commitment.created_at
        if start <= at < end:
            facts.append(
                Fact(
                    f"commitment_{commitment.status}",
                    commitment.member_id,
                    commitment.community_id,
                    commitment.id,
                    at,
                )
            )
    surveys = limit(select(SurveyResponse), SurveyResponse.community_id, SurveyResponse.member_id)
    for response in session.scalars(surveys):
        period = Period.parse(response.period)
        if start <= period.start < end:
            facts.append(
                Fact(
                    "survey",
                    response.member_id,
                    response.community_id,
                    response.id,
                    period.start,
                    score=response.score,
                )
            )
    return facts


def scheme_for(session: Session, community_id: str) -> dict[str, Any]:
    """The community's points scheme (the default if it has none)."""
    row = session.get(PointsScheme, community_id)
    return dict(row.config) if row is not None else dict(DEFAULT_SCHEME)


def _cohort(session: Session, community_id: str, facts: Sequence[Fact]) -> list[str]:
    """The members evaluated by a community: its active members and everyone with a fact."""
    living = session.scalars(
        select(Member.id).where(Member.community_id == community_id, Member.status == "active")
    )
    return sorted(set(living) | {f.member_id for f in facts if f.community_id == community_id})


def community_half_year(
    session: Session, community_id: str, period: Period, *, now: datetime | None = None
) -> list[Tally]:
    """Every evaluated member's tally of the half year in the community (by member id)."""
    facts = load_facts(session, period.start, period.end, community_id=community_id, now=now)
    scheme = scheme_for(session, community_id)
    return [
        tally(facts, scheme, member_id=m, community_id=community_id, period=period)
        for m in _cohort(session, community_id, facts)
    ]


def vetoes_of(session: Session, community_id: str, year: int) -> dict[str, list[Veto]]:
    """The community's veto statements of the year's two halves, by member."""
    rows = session.scalars(
        select(VetoStatement)
        .where(
            VetoStatement.community_id == community_id,
            VetoStatement.period.in_([str(p) for p in halves(year)]),
        )
        .order_by(VetoStatement.period, VetoStatement.id)
    )
    found: dict[str, list[Veto]] = {}
    for row in rows:
        found.setdefault(row.member_id, []).append(Veto(row.id, row.period, row.statement))
    return found


def community_year(
    session: Session, community_id: str, year: int, *, now: datetime | None = None
) -> list[YearResult]:
    """The community's year end: every evaluated member, best first."""
    first, second = halves(year)
    facts = load_facts(session, first.start, second.end, community_id=community_id, now=now)
    scheme = scheme_for(session, community_id)
    vetoes = vetoes_of(session, community_id, year)
    members = sorted(set(_cohort(session, community_id, facts)) | set(vetoes))
    pairs = {
        m: (
            tally(facts, scheme, member_id=m, community_id=community_id, period=first),
            tally(facts, scheme, member_id=m, community_id=community_id, period=second),
        )
        for m in members
    }
    return year_end(pairs, scheme, vetoes, community_id=community_id, year=year)


def member_communities(
    session: Session, member: Member, start: datetime, end: datetime
) -> list[str]:
    """The communities that evaluate a member over ``[start, end)``: where they live and
    wherever they have a fact (a member who moved has two)."""
    facts = load_facts(session, start, end, member_ids=[member.id])
    vetoed = session.scalars(
        select(VetoStatement.community_id).where(VetoStatement.member_id == member.id)
    )
    return sorted({member.community_id} | {f.community_id for f in facts} | set(vetoed))
