"""A demand's history (群众诉求台账, the requests ledger) and its feedback (诉求反馈台账).

Every step of the menu flow writes one :class:`DemandEvent` in the transaction that makes it
(:func:`record_step`): ordered, dispatched (offered to a member), declined, claimed, accepted,
completed, rated, cancelled, feedback. The actor is kept by name (a person's display name or a
key's name), so the ledger reads as a community files it on paper.

The feedback ledger holds what the resident was told back: what was done, when and how they were
told and how satisfied they were, or why they could not be told. Recording it closes a completed
demand (completed → closed); a cancelled demand may get one too (it stays cancelled). A demand
closes only this way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.base import utcnow
from service.db.flow import Demand, DemandEvent, DemandFeedback
from service.db.registration import NAME_LENGTH
from service.domain import audit
from service.domain.availability import LOCAL
from service.domain.errors import Conflict, Invalid
from service.domain.scope import get_scoped, require_manager, scoped

log = logging.getLogger(__name__)

FEEDBACK_STATUSES = ("completed", "cancelled")
"""A demand takes feedback once it is served (completed) or cancelled."""


def actor_name(client: Client | None) -> str:
    """Who acted, as the ledger names them."""
    if client is None:
        return "系统"
    return client.name[:NAME_LENGTH] or "系统"


def record_step(
    session: Session,
    client: Client | None,
    demand_id: str,
    action: str,
    *,
    member_id: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> None:
    """Add one step to a demand's history (the caller commits, with the change itself)."""
    session.add(
        DemandEvent(
            demand_id=demand_id,
            at=at or utcnow(),
            action=action,
            member_id=member_id,
            actor=actor_name(client),
            note=None if note is None else note[:500],
        )
    )


def present_event(event: DemandEvent) -> dict[str, Any]:
    return {
        "at": event.at.astimezone(LOCAL),
        "action": event.action,
        "member_id": event.member_id,
        "actor": event.actor,
        "note": event.note,
    }


def history_of(session: Session, demand_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Each demand's steps in order (demands without any map to an empty list)."""
    ids = list(dict.fromkeys(demand_ids))
    out: dict[str, list[dict[str, Any]]] = {d: [] for d in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.scalars(
            select(DemandEvent)
            .where(DemandEvent.demand_id.in_(chunk))
            .order_by(DemandEvent.demand_id, DemandEvent.at, DemandEvent.id)
        )
        for event in rows:
            out[event.demand_id].append(present_event(event))
    return out


def requests_query(client: Client, community_id: str) -> Select[Any]:
    """The requests ledger's demands: every demand of the community, newest first."""
    return scoped(
        select(Demand)
        .where(Demand.community_id == community_id)
        .order_by(Demand.created_at.desc(), Demand.id),
        client,
    )


# --------------------------------------------------------------------------------------------
# 诉求反馈台账: what the resident was told back
# --------------------------------------------------------------------------------------------


def present_feedback(row: DemandFeedback) -> dict[str, Any]:
    return {
        "demand_id": row.demand_id,
        "outcome": row.outcome,
        "told_at": None if row.told_at is None else row.told_at.astimezone(LOCAL),
        "told_via": row.told_via,
        "satisfaction": row.satisfaction,
        "no_feedback_reason": row.no_feedback_reason,
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at,
    }


def feedback_of(session: Session, demand_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = list(dict.fromkeys(demand_ids))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in session.scalars(
            select(DemandFeedback).where(DemandFeedback.demand_id.in_(chunk))
        ):
            out[row.demand_id] = present_feedback(row)
    return out


def record_feedback(
    session: Session,
    client: Client,
    demand_id: str,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record what the resident was told back; a completed demand becomes closed.

    Args:
        data: ``outcome`` (what was done), and either ``told_at`` with ``told_via`` and
            optionally ``satisfaction``, or ``no_feedback_reason`` (the schema checked which).

    Raises:
        Conflict: the demand is not completed or cancelled, or has its feedback already.
        Invalid: ``told_at`` lies before the demand was ordered or in the future.
    """
    demand = get_scoped(session, Demand, demand_id, client)
    require_manager(client, demand.community_id)
    moment = now or utcnow()
    told_at = data.get("told_at")
    if told_at is not None and not (demand.created_at <= told_at <= moment):
        raise Invalid(
            "The resident cannot have been told before the demand was ordered, or in the future.",
            errors={"told_at": ["must lie between the order and now"]},
        )
    source = demand.status
    if source not in FEEDBACK_STATUSES:
        raise Conflict(
            f"Feedback is recorded once the demand is served or cancelled; this one is {source}.",
            errors={"status": ["must be completed or cancelled"]},
        )
    target = "closed" if source == "completed" else source
    moved = session.execute(
        update(Demand)
        .where(Demand.id == demand.id, Demand.status == source)
        .values(status=target)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("The demand changed meanwhile.", errors={"status": ["changed"]})
    row = DemandFeedback(
        demand_id=demand.id,
        outcome=data["outcome"],
        told_at=told_at,
        told_via=data.get("told_via") if told_at is not None else None,
        satisfaction=data.get("satisfaction") if told_at is not None else None,
        no_feedback_reason=data.get("no_feedback_reason") if told_at is None else None,
        recorded_by=actor_name(client),
        recorded_at=moment,
    )
    session.add(row)
    note = row.satisfaction or row.no_feedback_reason
    record_step(session, client, demand.id, "feedback", note=note, at=moment)
    audit.record(
        session, client, "transition", "demand", demand.id, demand.community_id, "feedback"
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "This demand's feedback is recorded already.", errors={"status": ["recorded once"]}
        ) from None
    log.info("demand %s: feedback recorded (%s → %s)", demand.id, source, target)
    return present_feedback(row)
