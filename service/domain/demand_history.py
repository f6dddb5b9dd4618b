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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.base import utcnow
from service.db.flow import Demand, DemandEvent, DemandFeedback, Task
from service.db.registration import NAME_LENGTH
from service.domain import audit
from service.domain.availability import LOCAL
from service.domain.demands import present_demand
from service.domain.errors import Conflict, Invalid
from service.domain.members import member_names
from service.domain.personal_data import FieldCipher
from service.domain.scope import get_scoped, require_manager, scoped

log = logging.getLogger(__name__)

FEEDBACK_STATUSES = ("completed", "cancelled")
"""A demand takes feedback once it is served (completed) or cancelled."""
LEDGER_STATUSES = ("completed", "closed", "cancelled")
"""The feedback ledger's demands: served (told back or not yet) and cancelled."""


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


@dataclass(frozen=True)
class RequestsFilter:
    """Which demands a ledger lists: ordered between two local dates (inclusive), a status,
    a source channel (``None``: any)."""

    start: date | None = None
    end: date | None = None
    status: str | None = None
    source: str | None = None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL)


def requests_query(
    client: Client, community_id: str, where: RequestsFilter | None = None
) -> Select[Any]:
    """The requests ledger's demands: every demand of the community (filtered), newest first."""
    where = where or RequestsFilter()
    query = select(Demand).where(Demand.community_id == community_id)
    if where.start is not None:
        query = query.where(Demand.created_at >= _local_midnight(where.start))
    if where.end is not None:
        query = query.where(Demand.created_at < _local_midnight(where.end + timedelta(days=1)))
    if where.status is not None:
        query = query.where(Demand.status == where.status)
    if where.source is not None:
        query = query.where(Demand.source == where.source)
    return scoped(query, client)


REQUESTS_ORDER = (Demand.created_at.desc(), Demand.id)


def ledger_entries(
    session: Session, demands: Sequence[Demand], cipher: FieldCipher | None
) -> list[dict[str, Any]]:
    """The requests and feedback ledgers' rows: each demand with its history (members by
    name), who served it and its feedback."""
    ids = [d.id for d in demands]
    histories = history_of(session, ids)
    feedback = feedback_of(session, ids)
    served: dict[str, list[str]] = {d: [] for d in ids}
    for start in range(0, len(ids), 500):
        for demand_id, member_id in session.execute(
            select(Task.demand_id, Task.member_id)
            .where(Task.demand_id.in_(ids[start : start + 500]), Task.status == "completed")
            .order_by(Task.completed_at, Task.id)
        ):
            served[demand_id].append(member_id)
    names = member_names(
        session,
        [e["member_id"] for h in histories.values() for e in h]
        + [m for ms in served.values() for m in ms],
    )
    rows = []
    for demand in demands:
        history = [
            {**event, "member_name": names.get(event["member_id"] or "")}
            for event in histories[demand.id]
        ]
        rows.append(
            {
                "demand": present_demand(demand, cipher),
                "history": history,
                "served_by": [names.get(m, "") for m in served[demand.id]],
                "feedback": feedback.get(demand.id),
                "awaiting": demand.status == "completed" and demand.id not in feedback,
            }
        )
    return rows


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
            reason="told_at_out_of_range",
        )
    source = demand.status
    if source not in FEEDBACK_STATUSES:
        raise Conflict(
            f"Feedback is recorded once the demand is served or cancelled; this one is {source}.",
            errors={"status": ["must be completed or cancelled"]},
            reason="feedback_not_due" if source != "closed" else "feedback_recorded",
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
            "This demand's feedback is recorded already.",
            errors={"status": ["recorded once"]},
            reason="feedback_recorded",
        ) from None
    log.info("demand %s: feedback recorded (%s → %s)", demand.id, source, target)
    return present_feedback(row)
