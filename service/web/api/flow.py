"""The menu flow (issue #7), second slice: 点单 → 下单 → 接单 → 完成 → 评价.

Residents order demands (``POST /communities/{id}/demands``: the demand list), the community
dispatches its open demands to its active members (``POST /communities/{id}/dispatch``: offered
tasks, the task list), members accept, decline or claim, complete (the service list) and the
task is rated. The logic is :mod:`service.domain.flow`; every query is scoped to the key's
communities (objects outside them answer 404).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.base import utcnow
from service.db.flow import Demand, DispatchRun, Task
from service.db.registration import Community
from service.domain import flow
from service.domain.personal_data import FieldCipher
from service.domain.scope import get_scoped, scoped
from service.jobs import dispatch_runs
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint, current_solver
from service.web.auth import current_client
from service.web.dispatching import wants_async
from service.web.paging import page_rows
from service.web.schemas.examples import DEMAND_EXAMPLE
from service.web.schemas.workspace import (
    CandidatesQuerySchema,
    ClaimSchema,
    CompleteSchema,
    ContactSchema,
    DeclineQuerySchema,
    DeclineSchema,
    DemandCandidatesSchema,
    DemandCreateSchema,
    DemandImportResultSchema,
    DemandImportSchema,
    DemandListQuerySchema,
    DemandRecordSchema,
    DispatchOptionsSchema,
    DispatchResultSchema,
    DispatchRunSchema,
    RateSchema,
    TaskListQuerySchema,
    TaskRecordSchema,
)

blp = Blueprint(
    "flow",
    __name__,
    url_prefix=API_PREFIX,
    description="The menu flow: residents order demands (点单), the community dispatches them "
    "(下单), members accept or claim (接单), complete (完成) and are rated (评价).",
)


def _session() -> Session:
    session: Session = current_app.extensions["linli"].sessions()
    return session


def _cipher() -> FieldCipher:
    cipher: FieldCipher = current_app.extensions["linli"].cipher
    return cipher


# --------------------------------------------------------------------------------------------
# Demands
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/demands")
class CommunityDemands(MethodView):
    @blp.arguments(
        DemandCreateSchema, description="A resident's order (点单).", example=DEMAND_EXAMPLE
    )
    @blp.response(201, DemandRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """A resident orders (点单): an open demand in a community this key may act for.

        The server sets `id`, `status` (open) and `created_at`. A demand for a crew
        (`crew_size` up to 10) is offered to that many members, who start together; it is
        accepted once all accept and completed once all are done, and one decline re-forms the
        crew. `resident_ref` is an opaque id. The resident's
        `contact_phone` and `address` (optional) are stored encrypted and shown masked; the
        member serving it and the community read them in clear at `/demands/{id}/contact`.
        """
        with _session() as session:
            demand = flow.create_demand(session, current_client(), community_id, data, _cipher())
            return flow.present_demand(demand, _cipher())


@blp.route("/communities/<string:community_id>/demands/import")
class ImportDemands(MethodView):
    @blp.arguments(DemandImportSchema)
    @blp.response(201, DemandImportResultSchema)
    @blp.alt_response(200, schema=DemandImportResultSchema, description="A dry run")
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Import residents' orders (up to 1000): every row is checked first and a bad row
        fails the whole import with 422 naming it (`demands[3].window.end`), so nothing is
        half-written. `dry_run: true` checks and writes nothing (200)."""
        with _session() as session:
            demands = flow.import_demands(
                session,
                current_client(),
                community_id,
                data["demands"],
                _cipher(),
                dry_run=data["dry_run"],
            )
            written = (
                [] if data["dry_run"] else [flow.present_demand(d, _cipher()) for d in demands]
            )
            body = {"dry_run": data["dry_run"], "count": len(demands), "demands": written}
            return (body, 200) if data["dry_run"] else body


@blp.route("/demands")
class Demands(MethodView):
    @blp.arguments(DemandListQuerySchema, location="query")
    @blp.response(200, DemandRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 422)
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
        """The demands of this key's communities, oldest first (`?status=open`: the demand
        list, 需求清单)."""
        selection = scoped(select(Demand), current_client())
        for name in ("community_id", "status"):
            if query[name] is not None:
                selection = selection.where(getattr(Demand, name) == query[name])
        if query["overdue"] is not None:
            late = Demand.status.in_(flow.UNSERVED) & (Demand.window_end <= utcnow())
            selection = selection.where(late if query["overdue"] else ~late)
        with _session() as session:
            rows = page_rows(
                session, selection, pagination_parameters, Demand.created_at, Demand.id
            )
            return [flow.present_demand(demand, _cipher()) for (demand,) in rows]


@blp.route("/demands/<string:demand_id>")
class DemandById(MethodView):
    @blp.response(200, DemandRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, demand_id: str) -> Any:
        """A demand of this key's communities (contact details masked)."""
        with _session() as session:
            demand = get_scoped(session, Demand, demand_id, current_client())
            return flow.present_demand(demand, _cipher())


@blp.route("/demands/<string:demand_id>/contact")
class DemandContact(MethodView):
    @blp.response(200, ContactSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404)
    def get(self, demand_id: str) -> Any:
        """The resident's phone and address in clear: for the community and the member who
        holds the demand's offered or accepted task only (403 otherwise). Every answer is
        written to the audit trail."""
        with _session() as session:
            return flow.reveal_contact(session, current_client(), demand_id, _cipher())


@blp.route("/demands/<string:demand_id>/cancel")
class CancelDemand(MethodView):
    @blp.response(200, DemandRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409)
    def post(self, demand_id: str) -> Any:
        """Cancel an open or dispatched demand (its offered task is declined); otherwise 409."""
        with _session() as session:
            demand = flow.cancel(session, current_client(), demand_id)
            return flow.present_demand(demand, _cipher())


@blp.route("/demands/<string:demand_id>/candidates")
class DemandCandidates(MethodView):
    @blp.arguments(CandidatesQuerySchema, location="query")
    @blp.response(200, DemandCandidatesSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def get(self, query: dict[str, Any], demand_id: str) -> Any:
        """Who should take this one? The best `limit` (1..20, default 5) members for an open
        demand by the engine's cost, without solving.

        The problem is the community's dispatch problem with this demand alone (active members,
        their free time and hours left after the tasks they hold); the engine's candidate
        generation gives who can serve it (skills, range, free time). Each member comes with
        the distance, the earliest feasible start, the cost and whether the category is one of
        their service intentions. With no candidates, `reason` and `detail` are the engine's.
        A demand that is not open is a 409.
        """
        with _session() as session:
            return flow.top_candidates(session, demand_id, current_client(), query["limit"])


@blp.route("/demands/<string:demand_id>/claim")
class ClaimDemand(MethodView):
    @blp.arguments(ClaimSchema)
    @blp.response(201, TaskRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], demand_id: str) -> Any:
        """A member claims (抢单) an open demand: an accepted task at their earliest feasible
        start.

        A member claims for themself; the community may claim on a member's behalf. The member
        must be active, in the demand's community, hold its skills and have free time and hours
        left inside its window (422). A demand that is not open is a 409; of two concurrent
        claims exactly one wins.
        """
        with _session() as session:
            return flow.claim(session, current_client(), demand_id, data["member_id"])


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/dispatch")
class CommunityDispatch(MethodView):
    @blp.arguments(DispatchOptionsSchema, required=False)
    @blp.response(200, DispatchResultSchema)
    @blp.alt_response(
        202,
        schema=DispatchRunSchema,
        description="With Prefer: respond-async, the queued run: poll the Location header.",
        headers={"Location": {"description": "the run", "schema": {"type": "string"}}},
        success=True,
    )
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """The community dispatches (下单) its open demands to its active members.

        The engine solves in-process (`time_limit_s`, default 5, at most 30); its plan is
        checked by the independent verifier before anything is written. In one transaction
        each assignment becomes an offered task and its demand is dispatched. `left_out` lists
        the demands not dispatched with the engine's reason and detail.

        With `Prefer: respond-async` the dispatch runs in the background: 202 with the queued
        run (its `Location` is `/dispatch-runs/{id}`), whose `result` is this same answer when
        it has `succeeded`. One run at a time per community (409 while one is under way).
        """
        client = current_client()
        if wants_async(request.headers.get("Prefer")):
            with _session() as session:
                run = dispatch_runs.start_run(
                    session, client, community_id, time_limit_s=data["time_limit_s"]
                )
                body = dispatch_runs.present_run(run)
            current_app.extensions["linli"].runs.submit(body["id"], client)
            location = f"{request.script_root}{API_PREFIX}/dispatch-runs/{body['id']}"
            response = jsonify(DispatchRunSchema().dump(body))
            response.status_code = 202
            response.headers["Location"] = location
            return response
        with _session() as session:
            return flow.dispatch_community(
                session,
                client,
                community_id,
                time_limit_s=data["time_limit_s"],
                solver=current_solver(),
            )


@blp.route("/communities/<string:community_id>/dispatch-runs")
class CommunityDispatchRuns(MethodView):
    @blp.response(200, DispatchRunSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404)
    @blp.paginate()
    def get(self, community_id: str, pagination_parameters: PaginationParameters) -> Any:
        """A community's dispatch runs, newest first (managers of the community only)."""
        client = current_client()
        with _session() as session:
            get_scoped(session, Community, community_id, client)
            selection = scoped(
                select(DispatchRun).where(DispatchRun.community_id == community_id), client
            )
            rows = page_rows(
                session,
                selection,
                pagination_parameters,
                DispatchRun.created_at.desc(),
                DispatchRun.id,
            )
            return [dispatch_runs.present_run(run) for (run,) in rows]


@blp.route("/dispatch-runs/<string:run_id>")
class DispatchRunById(MethodView):
    @blp.response(200, DispatchRunSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, run_id: str) -> Any:
        """A dispatch run: `queued`, `running`, `succeeded` (with `result`) or `failed`
        (with `error`; nothing was written)."""
        with _session() as session:
            run = get_scoped(session, DispatchRun, run_id, current_client())
            return dispatch_runs.present_run(run)


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.arguments(TaskListQuerySchema, location="query")
    @blp.response(200, TaskRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 422)
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
        """The tasks of this key's communities, oldest first.

        `?status=offered,accepted` is the task list (任务清单), `?status=completed` the service
        list (服务清单); also by `community_id` or `member_id`.
        """
        selection = scoped(
            select(Task, Demand.duration_hours, Demand.window_end).join(
                Demand, Demand.id == Task.demand_id
            ),
            current_client(),
        )
        if query["overdue"] is not None:
            late = Task.status.in_(flow.BUSY_TASK_STATUSES) & (Demand.window_end <= utcnow())
            selection = selection.where(late if query["overdue"] else ~late)
        if query["status"] is not None:
            selection = selection.where(Task.status.in_(query["status"].split(",")))
        if query["community_id"] is not None:
            selection = selection.where(Demand.community_id == query["community_id"])
        if query["member_id"] is not None:
            selection = selection.where(Task.member_id == query["member_id"])
        with _session() as session:
            rows = page_rows(session, selection, pagination_parameters, Task.created_at, Task.id)
            return [flow.present_task(task, hours, end) for task, hours, end in rows]


@blp.route("/tasks/<string:task_id>")
class TaskById(MethodView):
    @blp.response(200, TaskRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, task_id: str) -> Any:
        """A task of this key's communities."""
        with _session() as session:
            return flow.get_task(session, current_client(), task_id)


@blp.route("/tasks/<string:task_id>/accept")
class AcceptTask(MethodView):
    @blp.response(200, TaskRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409)
    def post(self, task_id: str) -> Any:
        """The member accepts (接单) an offered task; its demand is accepted. Otherwise 409."""
        with _session() as session:
            return flow.accept(session, current_client(), task_id)


@blp.route("/tasks/<string:task_id>/decline")
class DeclineTask(MethodView):
    @blp.arguments(DeclineSchema)
    @blp.arguments(DeclineQuerySchema, location="query")
    @blp.response(200, TaskRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], query: dict[str, Any], task_id: str) -> Any:
        """The member declines an offered task (with a reason); its demand is dispatched again.

        The re-dispatch solves this demand alone with every other offered or accepted task
        pinned (they keep their members, starts and hours), never offering it again to a member
        who declined it; `redispatch` in the answer says where it went, or the engine's reason
        why nobody could take it (the demand is then open on the demand list).
        `?redispatch=false` only puts it back on the demand list.
        """
        with _session() as session:
            return flow.decline(
                session,
                current_client(),
                task_id,
                data["reason"],
                redispatch=query["redispatch"],
                solver=current_solver(),
            )


@blp.route("/tasks/<string:task_id>/complete")
class CompleteTask(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, TaskRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], task_id: str) -> Any:
        """An accepted task is completed (完成) with the hours served; so is its demand."""
        with _session() as session:
            return flow.complete(session, current_client(), task_id, data["hours"])


@blp.route("/tasks/<string:task_id>/rate")
class RateTask(MethodView):
    @blp.arguments(RateSchema)
    @blp.response(200, TaskRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], task_id: str) -> Any:
        """The resident's rating (评价, 1..5) of a completed task, once, entered by the
        community (not by the member who served)."""
        with _session() as session:
            return flow.rate(session, current_client(), task_id, data["rating"])
