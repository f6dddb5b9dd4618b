"""Stored quarterly visits and attendance, the ledger (活动台账) and the publicity board (公示栏).

A community's quarter is solved in-process, checked by the independent verifier and stored
(``POST /communities/{id}/visit-schedules``); attendance is recorded after each outing
(``POST /visit-sessions/{id}/attendance``). The ledger lists every completed service and every
attended visit with the ids they came from; the board shows each member's half year, masked.
The logic is :mod:`service.domain.visit_records` and :mod:`service.domain.ledger`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from sqlalchemy.orm import Session

from service.db.visits import VisitSchedule
from service.domain import ledger, visit_records
from service.domain.availability import LOCAL
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint, current_solver
from service.web.api.visits import EXAMPLE
from service.web.auth import current_client
from service.web.paging import page_rows
from service.web.schemas.jobs import VisitRequestSchema
from service.web.schemas.ledger import (
    AttendanceSchema,
    BoardQuerySchema,
    BoardSchema,
    LedgerEntrySchema,
    LedgerQuerySchema,
    LedgerTotalsSchema,
    ScheduleCalendarQuerySchema,
    VisitScheduleRecordSchema,
    VisitScheduleSummarySchema,
    VisitSessionRecordSchema,
)

blp = Blueprint(
    "ledger",
    __name__,
    url_prefix=API_PREFIX,
    description="Stored quarterly visits (组团走访) with attendance, the ledger (活动台账) and "
    "the publicity board (公示栏).",
)


def _session() -> Session:
    session: Session = current_app.extensions["linli"].sessions()
    return session


def _filter(query: dict[str, Any]) -> ledger.LedgerFilter:
    return ledger.LedgerFilter(
        start=query["start"], end=query["end"], member_id=query["member"], kind=query["kind"]
    )


# --------------------------------------------------------------------------------------------
# Stored visit schedules
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/visit-schedules")
class CommunityVisitSchedules(MethodView):
    @blp.arguments(
        VisitRequestSchema,
        description="The quarter (the contract of POST /visit-schedules); every member id must "
        "be an active member of this community.",
        example=EXAMPLE,
    )
    @blp.response(201, VisitScheduleRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    def post(self, problem: Any, community_id: str) -> Any:
        """Schedule and store a community's quarter of team visits (组团走访).

        The problem is the visit contract (`docs/contracts/visits.md`). Every member id (members,
        teams' members and leaders) must be an active member of this community, the time zone
        Asia/Shanghai, and the quarter small enough to solve while the request waits (422
        naming the field otherwise; at most 500 households). The engine solves in-process (the
        problem's `options.time_limit_s`, at most 10 s); its schedule is checked by the independent
        verifier, then stored in one transaction: one session per outing (team, date, start,
        end, route, planned attendees) and the households left out with the engine's reasons.
        """
        settings = current_app.extensions["linli"].settings
        with _session() as session:
            return visit_records.create_schedule(
                session,
                current_client(),
                community_id,
                problem,
                max_households=min(settings.sync_max_demands, visit_records.MAX_STORED_HOUSEHOLDS),
                solver=current_solver(),
                max_time_limit_s=min(
                    settings.max_time_limit_s, visit_records.MAX_VISIT_TIME_LIMIT_S
                ),
            )

    @blp.response(200, VisitScheduleSummarySchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404)
    @blp.paginate()
    def get(self, community_id: str, pagination_parameters: PaginationParameters) -> Any:
        """A community's stored visit schedules, newest first (without their sessions)."""
        client = current_client()
        with _session() as session:
            community = visit_records.readable_community(session, client, community_id)
            rows = page_rows(
                session,
                visit_records.schedules_query(client, community.id),
                pagination_parameters,
                VisitSchedule.created_at.desc(),
                VisitSchedule.id,
            )
            return [visit_records.present_schedule_summary(row) for (row,) in rows]


@blp.route("/visit-schedules/<string:schedule_id>")
class VisitScheduleById(MethodView):
    @blp.response(200, VisitScheduleRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, schedule_id: str) -> Any:
        """A stored visit schedule with its sessions (and their attendance) and the households
        left out."""
        with _session() as session:
            row = visit_records.get_schedule_row(session, current_client(), schedule_id)
            return visit_records.present_schedule(session, row)


@blp.route("/visit-schedules/<string:schedule_id>/calendar.ics")
class VisitScheduleCalendar(MethodView):
    @blp.arguments(ScheduleCalendarQuerySchema, location="query")
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/calendar",
        description="iCalendar (RFC 5545): one event per session, Asia/Shanghai.",
    )
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], schedule_id: str) -> Any:
        """A stored schedule's sessions as an `.ics` calendar (all teams, or `team`'s)."""
        with _session() as session:
            body = visit_records.schedule_calendar(
                session, current_client(), schedule_id, query["team"]
            )
        return Response(
            body,
            mimetype="text/calendar",
            headers={"Content-Disposition": 'attachment; filename="visits.ics"'},
        )


@blp.route("/visit-sessions/<string:session_id>")
class VisitSessionById(MethodView):
    @blp.response(200, VisitSessionRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, session_id: str) -> Any:
        """One outing of a stored schedule, with its attendance once recorded."""
        with _session() as session:
            return visit_records.get_session(session, current_client(), session_id)


@blp.route("/visit-sessions/<string:session_id>/attendance")
class VisitSessionAttendance(MethodView):
    @blp.arguments(AttendanceSchema)
    @blp.response(200, VisitSessionRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], session_id: str) -> Any:
        """Record an outing's attendance: the members who came and the households visited.

        Only after the outing has ended (409 before). Members must belong to the session's
        community (planned attendees, other team members or substitutes), households to the
        team's area (422 naming the item otherwise). Recording again replaces the previous
        record (a correction); the ledger shows the latest.
        """
        with _session() as session:
            return visit_records.record_attendance(session, current_client(), session_id, data)


# --------------------------------------------------------------------------------------------
# The ledger and the board
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/ledger")
class CommunityLedger(MethodView):
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, LedgerEntrySchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    @blp.paginate()
    def get(
        self, query: dict[str, Any], community_id: str, pagination_parameters: PaginationParameters
    ) -> Any:
        """The ledger (活动台账): every completed service and every attended visit, oldest first.

        Each entry: time, member, hours, rating, content (the demand's category; the team,
        households visited and notes of a visit) and the ids it came from. Filters: `from`
        and `to` (local dates, inclusive), `member`, `kind` (service or visit). A client sees
        the entries of the members it may read. Totals: `GET .../ledger/totals`.
        """
        client = current_client()
        with _session() as session:
            community, members = ledger.ledger_scope(session, client, community_id)
            selection = ledger.entries_query(community, _filter(query), members=members)
            rows = page_rows(
                session, selection, pagination_parameters, *ledger.entry_order(selection)
            )
            return ledger.present_entries(session, list(rows))


@blp.route("/communities/<string:community_id>/ledger/totals")
class CommunityLedgerTotals(MethodView):
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, LedgerTotalsSchema)
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], community_id: str) -> Any:
        """Per-member totals of the ledger (same filters): services, hours, visits, visit
        hours, ratings and the mean rating, summed over exactly the entries listed."""
        with _session() as session:
            return ledger.ledger_totals(session, current_client(), community_id, _filter(query))


@blp.route("/communities/<string:community_id>/board")
class CommunityBoard(MethodView):
    @blp.arguments(BoardQuerySchema, location="query")
    @blp.response(200, BoardSchema)
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], community_id: str) -> Any:
        """The publicity board (公示栏) of the half year containing `date` (default today).

        Per member: the member id and a masked card number (never a home), services and hours,
        visits attended, mean rating; `commitments` (承诺) are to come from the posts module.
        The community's totals. Community-wide: readable by anyone who reads the community.
        """
        day = query["date"] or datetime.now(LOCAL).date()
        with _session() as session:
            return ledger.board(session, current_client(), community_id, day)
