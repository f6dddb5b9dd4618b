"""The three ledgers a community files (issue #18): visit notes (民情走访台账), requests
(群众诉求台账) and feedback (诉求反馈台账).

``/communities/{id}/visit-notes`` records what households said on visits and
``/visit-notes/{id}/demand`` turns one into a demand; ``/communities/{id}/requests`` lists every
demand with its source, content and history; ``/demands/{id}/history`` one demand's;
``/demands/{id}/feedback`` records what the resident was told back (closing a completed demand)
and ``/communities/{id}/feedback`` lists it. For the community's managers (dispatchers, keys,
the district); others get 404 or 403 like every community record. The logic is
:mod:`service.domain.demand_history` and :mod:`service.domain.visit_notes`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from sqlalchemy.orm import Session

from service.db.flow import Demand
from service.domain import demand_history, visit_notes
from service.domain.personal_data import FieldCipher
from service.domain.scope import get_scoped, readable_community, require_manager
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint
from service.web.auth import current_client
from service.web.paging import page_rows
from service.web.schemas.examples import FEEDBACK_EXAMPLE, VISIT_NOTE_EXAMPLE
from service.web.schemas.records import (
    DemandEventSchema,
    FeedbackCreateSchema,
    FeedbackEntrySchema,
    FeedbackSchema,
    LedgerListQuerySchema,
    NoteDemandSchema,
    NoteListQuerySchema,
    NoteToDemandSchema,
    RequestEntrySchema,
    VisitNoteCreateSchema,
    VisitNoteSchema,
)

blp = Blueprint(
    "records",
    __name__,
    url_prefix=API_PREFIX,
    description="The ledgers a community files: visit notes (民情走访台账), requests "
    "(群众诉求台账) and feedback (诉求反馈台账).",
)


def _session() -> Session:
    session: Session = current_app.extensions["linli"].sessions()
    return session


def _cipher() -> FieldCipher:
    cipher: FieldCipher = current_app.extensions["linli"].cipher
    return cipher


def _filter(query: dict[str, Any]) -> demand_history.RequestsFilter:
    return demand_history.RequestsFilter(
        start=query["start"], end=query["end"], status=query["status"], source=query["source"]
    )


def _managed_demands(
    session: Session, community_id: str, query: dict[str, Any]
) -> tuple[Any, demand_history.RequestsFilter]:
    client = current_client()
    community = readable_community(session, client, community_id)
    require_manager(client, community.id)
    return community, _filter(query)


@blp.route("/communities/<string:community_id>/requests")
class RequestsLedger(MethodView):
    @blp.arguments(LedgerListQuerySchema, location="query")
    @blp.response(200, RequestEntrySchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    @blp.paginate()
    def get(
        self, query: dict[str, Any], pagination_parameters: PaginationParameters, community_id: str
    ) -> Any:
        """群众诉求台账: every demand, newest first, with its source, content and each step of its
        history (ordered, dispatched, declined, claimed, accepted, completed, rated, cancelled,
        feedback: when, who acted, which member), who served it and its feedback.

        Filter by the date it was ordered (`from`, `to`, Beijing dates, inclusive), `status`
        or `source`. The resident's contact details are masked.
        """
        with _session() as session:
            community, where = _managed_demands(session, community_id, query)
            selection = demand_history.requests_query(current_client(), community.id, where)
            rows = page_rows(
                session, selection, pagination_parameters, *demand_history.REQUESTS_ORDER
            )
            return demand_history.ledger_entries(session, [d for (d,) in rows], _cipher())


@blp.route("/communities/<string:community_id>/feedback")
class FeedbackLedger(MethodView):
    @blp.arguments(LedgerListQuerySchema, location="query")
    @blp.response(200, FeedbackEntrySchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    @blp.paginate()
    def get(
        self, query: dict[str, Any], pagination_parameters: PaginationParameters, community_id: str
    ) -> Any:
        """诉求反馈台账: the served and cancelled demands (completed, closed, cancelled), newest
        first, each with what the resident was told back, or `awaiting: true` while a
        completed demand waits for it. `status=completed` lists only those waiting.
        """
        with _session() as session:
            community, where = _managed_demands(session, community_id, query)
            selection = demand_history.requests_query(current_client(), community.id, where)
            selection = selection.where(Demand.status.in_(demand_history.LEDGER_STATUSES))
            rows = page_rows(
                session, selection, pagination_parameters, *demand_history.REQUESTS_ORDER
            )
            return demand_history.ledger_entries(session, [d for (d,) in rows], _cipher())


@blp.route("/demands/<string:demand_id>/history")
class DemandHistory(MethodView):
    @blp.response(200, DemandEventSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 403, 404)
    def get(self, demand_id: str) -> Any:
        """One demand's steps in order, members by name (its community's managers only)."""
        client = current_client()
        with _session() as session:
            demand = get_scoped(session, Demand, demand_id, client)
            require_manager(client, demand.community_id)
            (entry,) = demand_history.ledger_entries(session, [demand], None)
            return entry["history"]


@blp.route("/demands/<string:demand_id>/feedback")
class DemandFeedback(MethodView):
    @blp.arguments(
        FeedbackCreateSchema, description="The feedback (反馈).", example=FEEDBACK_EXAMPLE
    )
    @blp.response(201, FeedbackSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], demand_id: str) -> Any:
        """Record what the resident was told back (诉求反馈), once per demand.

        `outcome` says what was done; then either `told_at` and `told_via` (and the resident's
        `satisfaction`, if they gave it) or `no_feedback_reason`. A completed demand becomes
        `closed`; a cancelled one stays cancelled. Before the demand is completed or cancelled,
        or a second time, it is a 409; `told_at` before the order or in the future is a 422.
        """
        with _session() as session:
            return demand_history.record_feedback(session, current_client(), demand_id, data)


@blp.route("/communities/<string:community_id>/visit-notes")
class VisitNotes(MethodView):
    @blp.arguments(NoteListQuerySchema, location="query")
    @blp.response(200, VisitNoteSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    @blp.paginate()
    def get(
        self, query: dict[str, Any], pagination_parameters: PaginationParameters, community_id: str
    ) -> Any:
        """民情走访台账: what households said on visits, latest visit first (filter by
        `household_id`; `open=true`: only notes not yet a demand)."""
        with _session() as session:
            selection = visit_notes.notes_query(
                session,
                current_client(),
                community_id,
                household_id=query["household_id"],
                open_only=query["open"],
            )
            rows = page_rows(session, selection, pagination_parameters, *visit_notes.NOTES_ORDER)
            notes = [n for (n,) in rows]
            names = visit_notes.visitor_names(session, notes)
            return [visit_notes.present_note(n, names) for n in notes]

    @blp.arguments(
        VisitNoteCreateSchema, description="A visit note (走访记录).", example=VISIT_NOTE_EXAMPLE
    )
    @blp.response(201, VisitNoteSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Record one household's note of a visit: the household, the day, who called and what
        was said (the team outing, if it was taken on one: then the household must be on its
        route and the day the outing's)."""
        with _session() as session:
            return visit_notes.create_note(session, current_client(), community_id, data)


@blp.route("/visit-notes/<string:note_id>/demand")
class VisitNoteDemand(MethodView):
    @blp.arguments(NoteToDemandSchema)
    @blp.response(201, NoteDemandSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], note_id: str) -> Any:
        """Turn a note into a demand (点单 from a visit), once: the demand is served at the
        household's place, its source is `team_visit` and its content the note's unless the
        body gives one. A note that is a demand already is a 409."""
        with _session() as session:
            return visit_notes.to_demand(session, current_client(), note_id, data, _cipher())
