"""The three ledgers in the console (民情走访台账, 群众诉求台账, 诉求反馈台账), for the community's
managers: list, record and export, each action the API's own domain call.

- 民情走访台账: the notes of visits to households; a new note; one action turns a note into a
  demand (the demand's window, duration and priority entered on the way).
- 群众诉求台账: every demand with its source, content and history (who did what, when).
- 诉求反馈台账: the served and cancelled demands with what the resident was told back; a form
  records it (and closes a served demand).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.vocabulary import CATEGORIES
from service.db.flow import DEMAND_STATUSES, SOURCES, Demand
from service.db.longterm import Household
from service.db.registration import Building, Grid, Member
from service.domain import demand_history, visit_notes
from service.domain.availability import LOCAL
from service.domain.labels import (
    DEMAND_ACTION_LABELS,
    PRIORITY_LABELS,
    SATISFACTION_LABELS,
    SOURCE_LABELS,
    TOLD_VIA_LABELS,
)
from service.domain.members import member_label
from service.domain.scope import get_scoped, require_manager, scoped
from service.web.console.base import bp, cipher, client, db, failure_text, login_required
from service.web.console.dispatcher import api_export_url, community_page, managed
from service.web.console.forms import flatten, integer, local_datetime, message_text, number
from service.web.errors import REFUSALS, status_of
from service.web.schemas.records import (
    FeedbackCreateSchema,
    NoteToDemandSchema,
    VisitNoteCreateSchema,
)

LIST_LIMIT = 300
LABELS = {
    "sources": SOURCE_LABELS,
    "actions": DEMAND_ACTION_LABELS,
    "told_via": TOLD_VIA_LABELS,
    "satisfaction": SATISFACTION_LABELS,
    "priorities": PRIORITY_LABELS,
}


def household_labels(s: Session, community_id: str) -> dict[str, str]:
    """Each household as people find it: "第一网格 · 3号楼 · 第2户" (by building, in order)."""
    rows = s.execute(
        select(Household.id, Building.name, Grid.name)
        .join(Building, Building.id == Household.building_id)
        .join(Grid, Grid.id == Building.grid_id)
        .where(Household.community_id == community_id)
        .order_by(Grid.name, Building.name, Household.created_at, Household.id)
    ).all()
    labels: dict[str, str] = {}
    count: dict[tuple[str, str], int] = {}
    for household_id, building, grid in rows:
        n = count[(grid, building)] = count.get((grid, building), 0) + 1
        labels[household_id] = str(
            _("%(grid)s · %(building)s · household %(n)s", grid=grid, building=building, n=n)
        )
    return labels


def _form_errors(messages: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, texts in flatten(messages).items():
        field = path.split(".")[0].split("[")[0] or "_form"
        out.setdefault(field, []).extend(message_text(t) for t in texts)
    return out


# --------------------------------------------------------------------------------------------
# 群众诉求台账 and 诉求反馈台账
# --------------------------------------------------------------------------------------------


def _demand_rows(s: Session, community_id: str, *, feedback_only: bool) -> list[dict[str, Any]]:
    status = request.args.get("status") or None
    source = request.args.get("source") or None
    where = demand_history.RequestsFilter(
        status=status if status in DEMAND_STATUSES else None,
        source=source if source in SOURCES else None,
    )
    query = demand_history.requests_query(client(), community_id, where)
    if feedback_only:
        query = query.where(Demand.status.in_(demand_history.LEDGER_STATUSES))
    demands = list(s.scalars(query.order_by(*demand_history.REQUESTS_ORDER).limit(LIST_LIMIT)))
    return demand_history.ledger_entries(s, demands, cipher())


@bp.route("/c/<community_id>/requests")
@login_required
def requests_ledger(community_id: str) -> ResponseReturnValue:
    """群众诉求台账: every demand, newest first, with its history."""
    with db() as s:
        community = managed(s, community_id)
        rows = _demand_rows(s, community.id, feedback_only=False)
        return community_page(
            "requests.html",
            community,
            "requests",
            rows=rows,
            status=request.args.get("status", ""),
            source=request.args.get("source", ""),
            export_url=api_export_url(community.id, "requests"),
            limit=LIST_LIMIT,
            **LABELS,
        )


@bp.route("/c/<community_id>/feedback")
@login_required
def feedback_ledger(community_id: str) -> ResponseReturnValue:
    """诉求反馈台账: served and cancelled demands and what the residents were told back."""
    with db() as s:
        community = managed(s, community_id)
        rows = _demand_rows(s, community.id, feedback_only=True)
        awaiting = [r for r in rows if r["awaiting"]]
        return community_page(
            "feedback.html",
            community,
            "feedback",
            rows=rows,
            awaiting=awaiting,
            status=request.args.get("status", ""),
            source=request.args.get("source", ""),
            export_url=api_export_url(community.id, "feedback"),
            limit=LIST_LIMIT,
            **LABELS,
        )


def _feedback_body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"outcome": (form.get("outcome") or "").strip() or None}
    if form.get("told") == "no":
        body["no_feedback_reason"] = (form.get("no_feedback_reason") or "").strip() or None
        return body
    told_at = (form.get("told_at") or "").strip()
    body["told_at"] = local_datetime(told_at) if told_at else None
    body["told_via"] = form.get("told_via") or None
    body["satisfaction"] = form.get("satisfaction") or None
    return body


@bp.route("/demands/<demand_id>/feedback", methods=["GET", "POST"])
@login_required
def demand_feedback(demand_id: str) -> ResponseReturnValue:
    """Record what the resident was told back (the feedback ledger's form)."""
    with db() as s:
        demand = get_scoped(s, Demand, demand_id, client())
        community = managed(s, demand.community_id)
        (entry,) = demand_history.ledger_entries(s, [demand], cipher())
        errors: dict[str, list[str]] = {}
        now = datetime.now(LOCAL)
        values = {
            "outcome": "",
            "told": "yes",
            "told_at": now.strftime("%Y-%m-%dT%H:%M"),
            "told_via": "phone",
            "satisfaction": "satisfied",
            "no_feedback_reason": "",
        }
        status = 200
        if request.method == "POST":
            values.update({k: request.form.get(k, "") for k in values})
            try:
                data = FeedbackCreateSchema().load(_feedback_body(request.form))
            except ValidationError as err:
                errors = _form_errors(err.messages)
                data = None
            if data is not None:
                try:
                    demand_history.record_feedback(s, client(), demand.id, data)
                except REFUSALS as exc:
                    if status_of(exc) in (403, 404):
                        raise
                    s.rollback()
                    errors["_form"] = [failure_text(exc)]
                else:
                    flash(_("The feedback was recorded."), "success")
                    return redirect(url_for("console.feedback_ledger", community_id=community.id))
            status = 422
        page = community_page(
            "feedback_form.html",
            community,
            "feedback",
            entry=entry,
            values=values,
            errors=errors,
            **LABELS,
        )
        return page, status


# --------------------------------------------------------------------------------------------
# 民情走访台账
# --------------------------------------------------------------------------------------------


def _note_context(s: Session, community_id: str) -> dict[str, Any]:
    notes = list(
        s.scalars(
            visit_notes.notes_query(s, client(), community_id)
            .order_by(*visit_notes.NOTES_ORDER)
            .limit(LIST_LIMIT)
        )
    )
    members = list(
        s.scalars(
            scoped(
                select(Member).where(
                    Member.community_id == community_id, Member.status == "active"
                ),
                client(),
            )
        )
    )
    members.sort(key=lambda m: member_label(m))
    return {
        "notes": notes,
        "names": visit_notes.visitor_names(s, notes),
        "households": household_labels(s, community_id),
        "members": members,
        "member_label": member_label,
        "categories": list(CATEGORIES),
        "export_url": api_export_url(community_id, "visit-notes"),
        "limit": LIST_LIMIT,
    }


@bp.route("/c/<community_id>/visit-notes", methods=["GET", "POST"])
@login_required
def visit_notes_ledger(community_id: str) -> ResponseReturnValue:
    """民情走访台账: the notes of visits, and a form for a new one."""
    with db() as s:
        community = managed(s, community_id)
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {
            "household_id": "",
            "visited_on": datetime.now(LOCAL).date().isoformat(),
            "visitors": [],
            "content": "",
            "category": "",
        }
        status = 200
        if request.method == "POST":
            values.update(
                {
                    k: request.form.get(k, "")
                    for k in ("household_id", "visited_on", "content", "category")
                }
            )
            values["visitors"] = request.form.getlist("visitors")
            body = {
                "household_id": values["household_id"] or None,
                "visited_on": values["visited_on"] or None,
                "visitors": values["visitors"],
                "content": values["content"].strip() or None,
                "category": values["category"] or None,
            }
            try:
                data = VisitNoteCreateSchema().load(body)
            except ValidationError as err:
                errors = _form_errors(err.messages)
                data = None
            if data is not None:
                try:
                    visit_notes.create_note(s, client(), community.id, data)
                except REFUSALS as exc:
                    if status_of(exc) in (403, 404):
                        raise
                    s.rollback()
                    for path, texts in exc_errors(exc).items():
                        errors.setdefault(path.split("[")[0], []).extend(texts)
                else:
                    flash(_("The visit note was recorded."), "success")
                    return redirect(
                        url_for("console.visit_notes_ledger", community_id=community.id)
                    )
            status = 422
        page = community_page(
            "visit_notes.html",
            community,
            "visit_notes",
            values=values,
            errors=errors,
            **_note_context(s, community.id),
        )
        return page, status


def exc_errors(exc: Any) -> dict[str, list[str]]:
    """A refusal's field problems in the console's language."""
    found = getattr(exc, "errors", None) or {}
    return {path: [message_text(t) for t in texts] for path, texts in found.items()}


@bp.route("/visit-notes/<note_id>/demand", methods=["GET", "POST"])
@login_required
def note_to_demand(note_id: str) -> ResponseReturnValue:
    """Turn a visit note into a demand: when, how long and how urgent (the rest is the note's)."""
    with db() as s:
        note = visit_notes.get_note(s, client(), note_id)
        community = managed(s, note.community_id)
        require_manager(client(), community.id)
        start = datetime.combine(datetime.now(LOCAL).date() + timedelta(days=1), time(9), LOCAL)
        values = {
            "category": note.category or "",
            "content": note.content,
            "window_start": start.strftime("%Y-%m-%dT%H:%M"),
            "window_end": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "duration_hours": "1",
            "priority": "3",
        }
        errors: dict[str, list[str]] = {}
        status = 200
        if request.method == "POST":
            values.update({k: request.form.get(k, "") for k in values})
            body: dict[str, Any] = {
                "category": values["category"] or None,
                "content": values["content"].strip() or None,
                "skills": [values["category"]] if values["category"] in CATEGORIES else [],
                "window": {
                    "start": local_datetime(values["window_start"]),
                    "end": local_datetime(values["window_end"]),
                },
                "duration_hours": number(values["duration_hours"]),
                "priority": integer(values["priority"]),
            }
            if values["category"] and values["category"] not in CATEGORIES:
                errors["category"] = [_("Choose a category")]
            try:
                data = NoteToDemandSchema().load(body)
            except ValidationError as err:
                for field, texts in _form_errors(err.messages).items():
                    errors.setdefault(field, []).extend(texts)
                data = None
            if data is not None and not errors:
                try:
                    visit_notes.to_demand(s, client(), note.id, data, cipher())
                except REFUSALS as exc:
                    if status_of(exc) in (403, 404):
                        raise
                    s.rollback()
                    errors["_form"] = [failure_text(exc)]
                else:
                    flash(_("The note became a demand on the demand list."), "success")
                    return redirect(url_for("console.demands", community_id=community.id))
            status = 422
        page = community_page(
            "note_demand.html",
            community,
            "visit_notes",
            note=note,
            household=household_labels(s, community.id).get(note.household_id, ""),
            values=values,
            errors=errors,
            categories=list(CATEGORIES),
            priorities=PRIORITY_LABELS,
        )
        return page, status
