"""The audit trail: who viewed or changed whose record, and when.

Every change of a workspace record and every answer that shows a resident's contact details in
clear adds one :class:`AuditEvent` to the same transaction as the change (explicitly, or for
ORM writes of the tables in :data:`AUTO_AUDITED` by a ``before_flush`` hook) (a change is never
written without its entry, nor an entry without its change). Entries name the actor (kind, id,
role), the action, the object (type and id) and its community: ids only, never the personal
data itself. District administrators read the whole trail; a dispatcher reads their
communities' (``GET /api/v1/audit-events``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, sessionmaker

from service.db.audit import ACTIONS, AuditEvent
from service.db.base import utcnow


def record(
    session: Session,
    actor: object | None,
    action: str,
    object_type: str,
    object_id: str,
    community_id: str | None,
    detail: str | None = None,
) -> AuditEvent:
    """Add an entry to ``session`` (committed with the caller's transaction).

    Args:
        actor: The request's :class:`service.web.dispatching.Client`, or ``None`` for the system
            (the retention purge).
        detail: A short note without personal data, e.g. ``offered → accepted``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    role = getattr(actor, "role", "system") if actor is not None else "system"
    event = AuditEvent(
        at=utcnow(),
        actor_kind="system" if actor is None else ("key" if role == "client" else "person"),
        actor_id=getattr(actor, "id", None),
        actor_role=role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        community_id=community_id,
        detail=detail,
    )
    session.add(event)
    return event


# --------------------------------------------------------------------------------------------
# Every ORM write of a workspace record, audited in its own flush
# --------------------------------------------------------------------------------------------

AUTO_AUDITED = {
    "communities": "community",
    "grids": "grid",
    "buildings": "building",
    "units": "unit",
    "people": "person",
    "posts": "post",
    "post_choices": "post_choice",
    "post_allocations": "post_allocation",
    "commitments": "commitment",
    "groups": "group",
    "group_members": "group_member",
    "households": "household",
    "hand_in_hand_pairs": "hand_in_hand_pair",
    "unit_pairs": "unit_pair",
    "visit_schedules": "visit_schedule",
    "visit_sessions": "visit_session",
    "visit_attendances": "visit_attendance",
    "visit_notes": "visit_note",
    "demand_feedback": "demand_feedback",
    "self_evaluations": "self_evaluation",
    "leader_reviews": "leader_review",
    "survey_responses": "survey_response",
    "points_schemes": "points_scheme",
    "veto_statements": "veto_statement",
}
"""Tables whose inserts, changes and deletions through the ORM are audited automatically.

The menu flow's demands, tasks and members write their entries explicitly (their changes are
conditional ``UPDATE`` statements, which never pass through a flush), as do the conditional
updates of the other records (marking a commitment, ending a pair, recording attendance)."""


def _object_id(obj: object) -> str:
    state = sa_inspect(obj)
    values = [getattr(obj, column.key, None) for column in state.mapper.primary_key]
    return ":".join("new" if v is None else str(v) for v in values)[:64]


def _audit_flush(
    current_actor: Callable[[], object | None],
    session: Session,
    _context: object,
    _instances: object,
) -> None:
    actor = current_actor()
    changes = (
        ("create", session.new),
        ("update", (o for o in session.dirty if session.is_modified(o))),
        ("delete", session.deleted),
    )
    for action, objects in changes:
        for obj in list(objects):
            kind = AUTO_AUDITED.get(getattr(obj, "__tablename__", ""))
            if kind is None:
                continue
            record(
                session,
                actor,
                action,
                kind,
                _object_id(obj),
                getattr(obj, "community_id", None),
            )


def install_auto_audit(
    sessions: sessionmaker[Session], current_actor: Callable[[], object | None]
) -> None:
    """Audit every ORM write of :data:`AUTO_AUDITED` tables made through ``sessions``.

    ``current_actor`` names who makes the change (the web layer gives the request's client;
    ``None`` is the system), so the domain needs no request of its own.
    """
    event.listen(sessions, "before_flush", functools.partial(_audit_flush, current_actor))
