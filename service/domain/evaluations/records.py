"""Recording the evaluations: who may record and read what (404 outside scope, 403 wrong role)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.base import utcnow
from service.db.evaluations import (
    LeaderReview,
    PointsScheme,
    SelfEvaluation,
    SurveyResponse,
    VetoStatement,
)
from service.db.registration import Community, Member, Unit, new_id
from service.domain.errors import Conflict, Forbidden, Invalid
from service.domain.evaluations.facts import (
    load_facts,
)
from service.domain.evaluations.periods import (
    Period,
)
from service.domain.evaluations.reports import (
    draft_figures,
    draft_text,
    validate_scheme,
)
from service.domain.evaluations.scheme import (
    DEFAULT_SCHEME,
)
from service.domain.scope import (
    get_scoped,
    is_district,
    plausible_id,
    require_manager,
    visible_member_ids,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Requests: who may record and read what (404 outside the scope, 403 for the wrong role)
# --------------------------------------------------------------------------------------------


def _started(period: Period, now: datetime | None = None) -> None:
    """422 for a half year that has not begun (nothing can be evaluated yet)."""
    if period.start > (now or utcnow()):
        raise Invalid(
            "This half year has not begun.", errors={"period": ["must not be in the future"]}
        )


def _commit_once(session: Session, what: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"{what} is recorded already.", errors={"period": ["recorded once only"]}
        ) from None


def readable_parts(client: Client, communities: Iterable[str]) -> list[str]:
    """The communities of a member's results the client may see: all of them for the member
    and their unit's organiser (the member's own records), the client's for a dispatcher."""
    if is_district(client) or client.role in ("member", "unit_organiser"):
        return sorted(communities)
    return sorted(c for c in communities if c in client.communities)


def draft(
    session: Session, client: Client, member_id: str, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """The pre-filled self-evaluation of a half year, and the submitted one if any."""
    member = get_scoped(session, Member, member_id, client)
    figures = draft_figures(session, member.id, period, now=now)
    submitted = session.scalars(
        select(SelfEvaluation).where(
            SelfEvaluation.member_id == member.id, SelfEvaluation.period == str(period)
        )
    ).first()
    return {
        "member_id": member.id,
        "period": str(period),
        "figures": figures,
        "text": draft_text(figures, period),
        "submitted": submitted,
    }


def submit_self_evaluation(
    session: Session, client: Client, member_id: str, data: Mapping[str, Any]
) -> SelfEvaluation:
    """The member themself submits their report of a half year, once (409 again)."""
    member = get_scoped(session, Member, member_id, client)
    if not (client.role == "member" and client.member_id == member.id):
        raise Forbidden("Only the member themself submits their self-evaluation (党员自评).")
    period = Period.parse(data["period"])
    _started(period)
    row = SelfEvaluation(
        id=new_id("se"),
        member_id=member.id,
        community_id=member.community_id,
        period=str(period),
        text=data["text"],
        figures=draft_figures(session, member.id, period),
        submitted_at=utcnow(),
    )
    session.add(row)
    _commit_once(session, "This half year's self-evaluation")
    log.info("self-evaluation %s submitted by member %s", row.id, member.id)
    return row


def review(
    session: Session, client: Client, member_id: str, data: Mapping[str, Any]
) -> LeaderReview:
    """The member's unit organiser records a comment and a mark (领导点评), once per half year."""
    member = get_scoped(session, Member, member_id, client)
    if not (
        client.role == "unit_organiser"
        and member.unit_id is not None
        and member.unit_id == client.unit_id
    ):
        raise Forbidden("Only the organiser of the member's unit reviews them (领导点评).")
    period = Period.parse(data["period"])
    _started(period)
    row = LeaderReview(
        id=new_id("lr"),
        member_id=member.id,
        unit_id=member.unit_id,
        period=str(period),
        comment=data["comment"],
        mark=data["mark"],
        reviewer_role=client.role,
        reviewer_id=client.id,
        created_at=utcnow(),
    )
    session.add(row)
    _commit_once(session, "This half year's leader review")
    log.info("leader review %s of member %s", row.id, member.id)
    return row


def unit_flags(
    session: Session, client: Client, unit_id: str, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """The unit's members in the half year (those the client reads): whether they reported
    and served, their self-evaluation and review; those who never reported or served are
    ``flagged`` for the unit's action."""
    unit = get_scoped(session, Unit, unit_id, client)
    query = select(Member).where(Member.unit_id == unit.id).order_by(Member.id)
    visible = visible_member_ids(client)
    if visible is not None:
        query = query.where(Member.id.in_(visible))
    members = list(session.scalars(query))
    ids = [m.id for m in members]
    facts = load_facts(session, period.start, period.end, member_ids=ids, now=now) if ids else []
    own = dict(
        session.execute(
            select(SelfEvaluation.member_id, SelfEvaluation.id).where(
                SelfEvaluation.member_id.in_(ids), SelfEvaluation.period == str(period)
            )
        ).all()
    )
    reviewed = dict(
        session.execute(
            select(LeaderReview.member_id, LeaderReview.id).where(
                LeaderReview.member_id.in_(ids), LeaderReview.period == str(period)
            )
        ).all()
    )
    rows = []
    for member in members:
        services = sum(1 for f in facts if f.member_id == member.id and f.kind == "service")
        visits = sum(1 for f in facts if f.member_id == member.id and f.kind == "visit")
        reasons = []
        if member.reported_at is None:
            reasons.append("never_reported")
        if services + visits == 0:
            reasons.append("never_served")
        rows.append(
            {
                "member_id": member.id,
                "community_id": member.community_id,
                "status": member.status,
                "reported": member.reported_at is not None,
                "services": services,
                "visits": visits,
                "reasons": reasons,
                "self_evaluation_id": own.get(member.id),
                "leader_review_id": reviewed.get(member.id),
            }
        )
    return {
        "unit_id": unit.id,
        "period": str(period),
        "members": rows,
        "flagged": [r for r in rows if r["reasons"]],
    }


def _community_member(
    session: Session, client: Client, community_id: str, member_id: str
) -> tuple[Community, Member]:
    """A managed community (404 / 403) and one of its members (422 otherwise)."""
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    member = session.get(Member, member_id) if plausible_id(member_id) else None
    if member is None or member.community_id != community.id:
        raise Invalid(
            "The member is not registered in this community.",
            errors={"member_id": ["must be a member of this community"]},
        )
    return community, member


def add_survey_response(
    session: Session, client: Client, community_id: str, data: Mapping[str, Any]
) -> SurveyResponse:
    """A community manager enters one respondent's score of a member (群众测评)."""
    community, member = _community_member(session, client, community_id, data["member_id"])
    period = Period.parse(data["period"])
    _started(period)
    row = SurveyResponse(
        id=new_id("sr"),
        community_id=community.id,
        member_id=member.id,
        period=str(period),
        score=data["score"],
        respondent_kind=data["respondent_kind"],
        respondent_ref=data["respondent_ref"],
        created_at=utcnow(),
    )
    session.add(row)
    _commit_once(session, "This respondent's answer about this member")
    return row


def list_survey_responses(
    session: Session, client: Client, community_id: str, period: Period
) -> list[SurveyResponse]:
    community = get_scoped(session, Community, community_id, client)
    query = select(SurveyResponse).where(
        SurveyResponse.community_id == community.id, SurveyResponse.period == str(period)
    )
    visible = visible_member_ids(client)
    if visible is not None:
        query = query.where(SurveyResponse.member_id.in_(visible))
    return list(session.scalars(query.order_by(SurveyResponse.member_id, SurveyResponse.id)))


def record_veto(
    session: Session, client: Client, community_id: str, data: Mapping[str, Any]
) -> VetoStatement:
    """A community manager records its written statement that a member never served (一票否决)."""
    community, member = _community_member(session, client, community_id, data["member_id"])
    period = Period.parse(data["period"])
    _started(period)
    row = VetoStatement(
        id=new_id("vt"),
        community_id=community.id,
        member_id=member.id,
        period=str(period),
        statement=data["statement"],
        recorded_by_role=client.role,
        recorded_by_id=client.id,
        created_at=utcnow(),
    )
    session.add(row)
    _commit_once(session, "A veto of this member for this half year")
    log.info("veto %s recorded for member %s in community %s", row.id, member.id, community.id)
    return row


def list_vetoes(session: Session, client: Client, community_id: str) -> list[VetoStatement]:
    community = get_scoped(session, Community, community_id, client)
    query = select(VetoStatement).where(VetoStatement.community_id == community.id)
    visible = visible_member_ids(client)
    if visible is not None:
        query = query.where(VetoStatement.member_id.in_(visible))
    return list(session.scalars(query.order_by(VetoStatement.period, VetoStatement.id)))


def get_scheme(session: Session, client: Client, community_id: str) -> dict[str, Any]:
    community = get_scoped(session, Community, community_id, client)
    row = session.get(PointsScheme, community.id)
    return {
        "community_id": community.id,
        "configured": row is not None,
        "config": row.config if row is not None else DEFAULT_SCHEME,
        "updated_at": row.updated_at if row is not None else None,
    }


def put_scheme(
    session: Session, client: Client, community_id: str, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace the community's points scheme (managers; 422 for inconsistent tiers or stars)."""
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    problems = validate_scheme(config)
    if problems:
        raise Invalid("The points scheme is not consistent.", errors=problems)
    row = session.get(PointsScheme, community.id)
    if row is None:
        row = PointsScheme(community_id=community.id)
        session.add(row)
    row.config = dict(config)
    row.updated_at = utcnow()
    session.commit()
    log.info("points scheme of community %s replaced", community.id)
    return get_scheme(session, client, community.id)
