"""The visit notes ledger (民情走访台账): what each household said on a visit, without Flask.

A note belongs to one household of the community and one visit day; it names the members who
called and, if it was taken on a team outing of a stored quarter, that outing (its household
must then be on the outing's route, and its visitors among the members who came or were
planned). One action turns a note into a demand (:func:`to_demand`): the demand is ordered
with the note's content, the household's place and the source ``team_visit``; the note keeps a
link to it, and a note becomes a demand once only.

Scope as for every community record: readable by clients that read the community, written by
its managers; anything else is a 404.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.base import utcnow
from service.db.longterm import Household
from service.db.registration import Member, new_id
from service.db.visits import VisitNote, VisitSessionRecord
from service.domain import audit, flow
from service.domain.availability import LOCAL
from service.domain.demand_history import actor_name
from service.domain.errors import Conflict, Invalid, NotFound
from service.domain.members import member_names
from service.domain.personal_data import FieldCipher
from service.domain.scope import may_manage, plausible_id, readable_community, require_manager

log = logging.getLogger(__name__)


def present_note(note: VisitNote, names: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "visitor_names": [(names or {}).get(m, "") for m in note.visitors],
        "id": note.id,
        "community_id": note.community_id,
        "household_id": note.household_id,
        "session_id": note.session_id,
        "visited_on": note.visited_on,
        "visitors": list(note.visitors),
        "content": note.content,
        "category": note.category,
        "demand_id": note.demand_id,
        "recorded_by": note.recorded_by,
        "created_at": note.created_at,
    }


def get_note(session: Session, client: Client, note_id: str) -> VisitNote:
    """A note of a community the client manages (404 otherwise: what households said is for
    the community's managers only)."""
    note = session.get(VisitNote, note_id) if plausible_id(note_id) else None
    if note is None or not may_manage(client, note.community_id):
        raise NotFound("No such visit note.")
    return note


def notes_query(
    session: Session,
    client: Client,
    community_id: str,
    *,
    household_id: str | None = None,
    open_only: bool | None = None,
) -> Select[Any]:
    """The notes of a community the client manages (404 / 403 otherwise), latest visit first."""
    community = readable_community(session, client, community_id)
    require_manager(client, community.id)
    query = select(VisitNote).where(VisitNote.community_id == community.id)
    if household_id is not None:
        query = query.where(VisitNote.household_id == household_id)
    if open_only is True:
        query = query.where(VisitNote.demand_id.is_(None))
    elif open_only is False:
        query = query.where(VisitNote.demand_id.is_not(None))
    return query


NOTES_ORDER = (VisitNote.visited_on.desc(), VisitNote.created_at.desc(), VisitNote.id)


def visitor_names(session: Session, notes: list[VisitNote]) -> dict[str, str]:
    return member_names(session, (m for note in notes for m in note.visitors))


def _errors(
    session: Session, community_id: str, data: dict[str, Any], today: date
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    household = session.get(Household, data["household_id"])
    if household is None or household.community_id != community_id:
        errors["household_id"] = ["no such household in this community"]
    if data["visited_on"] > today:
        errors["visited_on"] = ["must not be in the future"]
    visitors = list(data["visitors"])
    known = set(
        session.scalars(
            select(Member.id).where(Member.id.in_(visitors), Member.community_id == community_id)
        )
    )
    for i, member_id in enumerate(visitors):
        if member_id not in known:
            errors[f"visitors[{i}]"] = ["must be a member of this community"]
    session_id = data.get("session_id")
    if session_id is not None:
        outing = session.get(VisitSessionRecord, session_id)
        if outing is None or outing.community_id != community_id:
            errors["session_id"] = ["no such team outing in this community"]
        else:
            if outing.visit_date != data["visited_on"]:
                errors["visited_on"] = [f"must be the outing's date, {outing.visit_date}"]
            route = set(outing.households) | set(outing.visited_households or [])
            if household is not None and household.id not in route:
                errors["household_id"] = ["must be a household on the outing's route"]
    return errors


def create_note(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Record one household's note of one visit (422 naming the fields that do not fit)."""
    community = readable_community(session, client, community_id)
    require_manager(client, community.id)
    errors = _errors(session, community.id, data, utcnow().astimezone(LOCAL).date())
    if errors:
        raise Invalid("The visit note does not fit the community's records.", errors=errors)
    note = VisitNote(
        id=new_id("vn"),
        community_id=community.id,
        household_id=data["household_id"],
        session_id=data.get("session_id"),
        visited_on=data["visited_on"],
        visitors=list(dict.fromkeys(data["visitors"])),
        content=data["content"],
        category=data.get("category"),
        recorded_by=actor_name(client),
        created_at=utcnow(),
    )
    session.add(note)  # audited by the flush (service.domain.audit.AUTO_AUDITED)
    session.commit()
    log.info("visit note %s recorded in community %s", note.id, community.id)
    return present_note(note, visitor_names(session, [note]))


def to_demand(
    session: Session,
    client: Client,
    note_id: str,
    data: dict[str, Any],
    cipher: FieldCipher,
) -> dict[str, Any]:
    """Turn a note into a demand, once: ordered at the household's place, source
    ``team_visit``, content the note's unless ``data`` says otherwise (409 if it is one
    already).

    Args:
        data: the demand's fields (``DemandCreateSchema`` without location, household and
            source, which come from the note).
    """
    note = get_note(session, client, note_id)
    if note.demand_id is not None:
        raise Conflict(
            "This note is a demand already.",
            errors={"demand_id": [f"is {note.demand_id}"]},
            reason="note_is_demand",
        )
    row = {
        **data,
        "content": data.get("content") or note.content,
        "source": "team_visit",
        "household_id": note.household_id,
        "building_id": None,
        "location": None,
    }
    (demand,) = flow.import_demands(
        session, client, note.community_id, [row], cipher, paths=[""], commit=False
    )
    linked = session.execute(
        update(VisitNote)
        .where(VisitNote.id == note.id, VisitNote.demand_id.is_(None))
        .values(demand_id=demand.id)
        .execution_options(synchronize_session=False)
    )
    if linked.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("This note became a demand meanwhile.", errors={"demand_id": ["set"]})
    audit.record(session, client, "update", "visit_note", note.id, note.community_id, "→ demand")
    session.commit()
    session.refresh(note)
    log.info("visit note %s became demand %s", note.id, demand.id)
    names = visitor_names(session, [note])
    return {"note": present_note(note, names), "demand": flow.present_demand(demand, cipher)}
