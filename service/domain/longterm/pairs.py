"""Pairs: hand-in-hand pairs (a member with a vulnerable resident, an opaque ``resident_ref``)
and unit–community pairs, each for a period with its history (end, renew), and hand-in-hand pairs
computed by the pairs model.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from matcher.longterm.pairs.verify import verify as verify_pairs
from service.config.identity import Client
from service.db.base import utcnow
from service.db.longterm import (
    HandInHandPair,
    UnitPair,
)
from service.db.registration import Member, Unit, new_id
from service.domain import audit
from service.domain.errors import Conflict
from service.domain.longterm.common import (
    ALLOCATED_MEMBER_STATUS,
    P,
    commit_checked,
    find_managed,
    managed_community,
    refuse_invalid,
    solve_checked,
    solved_without_lock,
    today,
)
from service.domain.solving import Solver, in_process

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


def hand_in_hand_of(client: Client, community_id: str) -> Select[HandInHandPair]:
    """The community's hand-in-hand pairs the client may read."""
    query = select(HandInHandPair).where(HandInHandPair.community_id == community_id)
    if client.role == "member":
        query = query.where(HandInHandPair.member_id == (client.member_id or ""))
    return query


def pair_filters(query: Select[P], model: type[P], filters: dict[str, Any]) -> Select[P]:
    """``?period=`` and ``?active=`` (true: no end date yet)."""
    if filters.get("period") is not None:
        query = query.where(model.period == filters["period"])
    if filters.get("active") is not None:
        end = model.end_date
        query = query.where(end.is_(None) if filters["active"] else end.is_not(None))
    return query


def present_pair(pair: HandInHandPair | UnitPair) -> dict[str, Any]:
    """A hand-in-hand or unit pair as its record schema dumps it."""
    record: dict[str, Any] = {
        "id": pair.id,
        "community_id": pair.community_id,
        "period": pair.period,
        "start_date": pair.start_date,
        "end_date": pair.end_date,
        "active": pair.end_date is None,
        "created_at": pair.created_at,
    }
    if isinstance(pair, HandInHandPair):
        record.update(
            member_id=pair.member_id, resident_ref=pair.resident_ref, category=pair.category
        )
    else:
        record["unit_id"] = pair.unit_id
    return record


def _check_pair_member(session: Session, community_id: str, member_id: str) -> None:
    member = session.get(Member, member_id)
    if member is None or member.community_id != community_id:
        refuse_invalid({"member_id": ["no such member in the community"]})
    elif member.status == "left":
        refuse_invalid({"member_id": ["this member has left"]})


def create_hand_in_hand(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Pair a member of the community with a vulnerable resident for a period.

    A resident with an active pair is a 409 (end or renew that pair instead).
    """
    community = managed_community(session, client, community_id)
    _check_pair_member(session, community.id, data["member_id"])
    active = session.scalar(
        select(HandInHandPair.id).where(
            HandInHandPair.community_id == community.id,
            HandInHandPair.resident_ref == data["resident_ref"],
            HandInHandPair.end_date.is_(None),
        )
    )
    message = "This resident has an active pair; end or renew it."
    errors = {"resident_ref": ["has an active pair"]}
    if active is not None:
        raise Conflict(message, errors=errors)
    pair = HandInHandPair(
        id=new_id("hp"),
        community_id=community.id,
        member_id=data["member_id"],
        resident_ref=data["resident_ref"],
        category=data["category"],
        period=data["period"],
        start_date=data["start_date"] or today(),
        created_at=utcnow(),
    )
    session.add(pair)
    commit_checked(session, message, errors)
    log.info("hand-in-hand pair %s created in community %s", pair.id, community.id)
    return present_pair(pair)


def create_unit_pair(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Pair a unit with the community for a period; an active pair of the two is a 409."""
    community = managed_community(session, client, community_id)
    if session.get(Unit, data["unit_id"]) is None:
        refuse_invalid({"unit_id": ["no such unit"]})
    active = session.scalar(
        select(UnitPair.id).where(
            UnitPair.community_id == community.id,
            UnitPair.unit_id == data["unit_id"],
            UnitPair.end_date.is_(None),
        )
    )
    message = "This unit and community have an active pair; end or renew it."
    errors = {"unit_id": ["has an active pair with this community"]}
    if active is not None:
        raise Conflict(message, errors=errors)
    pair = UnitPair(
        id=new_id("up"),
        community_id=community.id,
        unit_id=data["unit_id"],
        period=data["period"],
        start_date=data["start_date"] or today(),
        created_at=utcnow(),
    )
    session.add(pair)
    commit_checked(session, message, errors)
    return present_pair(pair)


def _end(session: Session, model: type[P], pair_id: str, end: date) -> int:
    """Set the end date of an active pair (conditional update): the number of rows changed."""
    result = session.execute(
        update(model)
        .where(model.id == pair_id, model.end_date.is_(None), model.start_date <= end)
        .values(end_date=end)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def end_pair(
    session: Session,
    client: Client,
    model: type[P],
    pair_id: str,
    end_date: date | None,
) -> dict[str, Any]:
    """End an active pair (default: today). An ended pair is a 409; an end before the start a
    422."""
    pair = find_managed(session, model, pair_id, client)
    end = end_date or today()
    _check_end(pair, end)
    if _end(session, model, pair.id, end) != 1:
        session.rollback()
        raise Conflict("This pair has ended already.", errors={"end_date": ["already set"]})
    audit.record(
        session,
        client,
        "transition",
        model.__tablename__[:-1],
        pair.id,
        pair.community_id,
        "ended",
    )
    session.commit()
    session.refresh(pair)
    return present_pair(pair)


def _check_end(pair: HandInHandPair | UnitPair, end: date, field: str = "end_date") -> None:
    """409 for an ended pair; 422 (naming ``field``) for an end before the pair's start."""
    if pair.end_date is not None:
        raise Conflict("This pair has ended already.", errors={"end_date": ["already set"]})
    if end < pair.start_date:
        refuse_invalid({field: ["must not be before the pair's start_date"]}, "dates")


def renew_pair(
    session: Session,
    client: Client,
    model: type[P],
    pair_id: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """Carry an active pair into the next period: in one transaction the current row ends the
    day the new one starts (default: today) and a new row starts with the new period."""
    pair = find_managed(session, model, pair_id, client)
    start = data["start_date"] or today()
    _check_end(pair, start, "start_date")
    if data["period"] == pair.period:
        refuse_invalid({"period": ["must differ from the pair's current period"]}, "the period")
    if isinstance(pair, HandInHandPair):
        _check_pair_member(session, pair.community_id, pair.member_id)
    if _end(session, model, pair.id, start) != 1:
        session.rollback()
        raise Conflict("This pair has ended already.", errors={"end_date": ["already set"]})
    fresh = _next_period(pair, data["period"], start)
    session.add(fresh)
    commit_checked(session, "This pair was renewed concurrently.", {"period": ["try again"]})
    return present_pair(fresh)


def _next_period(
    pair: HandInHandPair | UnitPair, period: str, start: date
) -> HandInHandPair | UnitPair:
    if isinstance(pair, HandInHandPair):
        return HandInHandPair(
            id=new_id("hp"),
            community_id=pair.community_id,
            member_id=pair.member_id,
            resident_ref=pair.resident_ref,
            category=pair.category,
            period=period,
            start_date=start,
            created_at=utcnow(),
        )
    return UnitPair(
        id=new_id("up"),
        community_id=pair.community_id,
        unit_id=pair.unit_id,
        period=period,
        start_date=start,
        created_at=utcnow(),
    )


# --------------------------------------------------------------------------------------------
# Computing hand-in-hand pairs (the pairs model)
# --------------------------------------------------------------------------------------------


def hand_in_hand_problem(
    session: Session, community_id: str, data: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, HandInHandPair]]:
    """The hand-in-hand problem (``docs/contracts/pairs.md`` JSON) of a community: the residents of
    the
    request, the community's active members (home and skills) and, as existing pairs, the
    active pairs of those residents. Also those active pairs by resident ref."""
    members = session.scalars(
        select(Member)
        .where(Member.community_id == community_id, Member.status == ALLOCATED_MEMBER_STATUS)
        .order_by(Member.id)
    ).all()
    refs = [resident["resident_ref"] for resident in data["residents"]]
    active = {
        pair.resident_ref: pair
        for pair in session.scalars(
            select(HandInHandPair).where(
                HandInHandPair.community_id == community_id,
                HandInHandPair.resident_ref.in_(refs),
                HandInHandPair.end_date.is_(None),
            )
        )
    }
    problem = {
        "residents": [
            {
                "id": resident["resident_ref"],
                "community": community_id,
                "location": {"lat": resident["location"].lat, "lon": resident["location"].lon},
                "groups": [resident["category"]],
                "needs": list(resident["needs"]),
                "skills": list(resident["skills"]),
                "vulnerability": resident["vulnerability"],
            }
            for resident in data["residents"]
        ],
        "members": [
            {
                "id": member.id,
                "community": member.community_id,
                "location": {"lat": member.lat, "lon": member.lon},
                "skills": list(member.skills),
            }
            for member in members
        ],
        "existing_pairs": [
            {"resident": ref, "member": pair.member_id} for ref, pair in sorted(active.items())
        ],
        "options": {
            "max_residents_per_member": data["max_residents_per_member"],
            "max_distance_km": data["max_distance_km"],
        },
    }
    return problem, active


def solve_pairs_and_verify(
    problem_json: dict[str, Any], solver: Solver = in_process
) -> dict[str, Any]:
    """Pair residents with members and check the answer with the independent verifier.

    Raises:
        VerificationError: The verifier found violations (logged by rule only: the subjects
            name residents).
    """
    return solve_checked(
        "pairs", problem_json, verify=verify_pairs, solver=solver, name_subjects=False
    )


def compute_hand_in_hand(
    session: Session,
    client: Client,
    community_id: str,
    data: dict[str, Any],
    *,
    solver: Solver = in_process,
) -> dict[str, Any]:
    """Pair the request's vulnerable residents with the community's active members for a
    period, with the pairs model, and store the pairs.

    The residents' locations, needs and vulnerability are used for the solve only; the pairs
    store the opaque ``resident_ref`` and the category. In one transaction: a pair the model
    keeps stays (a new row for the new period when the period changes, the old row ending on
    ``start_date``); a dropped or replaced pair ends on ``start_date``; a new pair is a new row.
    Active pairs of residents not in the request are left alone.
    """
    managed_community(session, client, community_id)
    start = data["start_date"] or today()

    def read() -> tuple[dict[str, Any], dict[str, HandInHandPair]]:
        problem, active = hand_in_hand_problem(session, community_id, data)
        if any(start < pair.start_date for pair in active.values()):
            refuse_invalid(
                {"start_date": ["must not be before an active pair's start_date"]}, "dates"
            )
        return problem, active

    (_problem, active), answer = solved_without_lock(
        session,
        community_id,
        read,
        lambda inputs: solve_pairs_and_verify(inputs[0], solver=solver),
        same=lambda a, b: a[0] == b[0] and set(a[1]) == set(b[1]),
    )
    category = {r["resident_ref"]: r["category"] for r in data["residents"]}
    result: list[HandInHandPair] = []
    fresh: list[HandInHandPair] = []
    for entry in answer["pairs"]:
        old = active.get(entry["resident"])
        if entry["kept"] and old is not None and old.period == data["period"]:
            result.append(old)
            continue
        if old is not None:
            old.end_date = start
        fresh.append(
            HandInHandPair(
                id=new_id("hp"),
                community_id=community_id,
                member_id=entry["member"],
                resident_ref=entry["resident"],
                category=category[entry["resident"]],
                period=data["period"],
                start_date=start,
                created_at=utcnow(),
            )
        )
    dropped = []
    for entry in answer["dropped"]:
        old = active[entry["resident"]]
        if old.end_date is None:
            old.end_date = start
        dropped.append(
            {
                "pair_id": old.id,
                "resident_ref": old.resident_ref,
                "member_id": old.member_id,
                "reason": entry["reason"],
                "detail": entry["detail"],
            }
        )
    session.flush()  # the ended rows first: one active pair per resident
    session.add_all(fresh)
    commit_checked(session, "The pairs were changed concurrently.", {"residents": ["try again"]})
    log.info(
        "community %s: %d hand-in-hand pairs kept, %d new, %d ended",
        community_id,
        len(result),
        len(fresh),
        len(dropped),
    )
    return {
        "status": answer["status"],
        "objective": answer["stats"]["objective"],
        "pairs": [present_pair(pair) for pair in result + fresh],
        "unpaired": [
            {"resident_ref": u["resident"], "reason": u["reason"], "detail": u["detail"]}
            for u in answer["unpaired"]
        ],
        "dropped": dropped,
    }
