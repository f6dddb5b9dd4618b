"""``/api/v1/jobs``: list, read, cancel and resubmit jobs, and a visit job's calendar (each client
sees only its own)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from service.jobs.store import list_jobs
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint
from service.web.api.dispatch import outcome_response
from service.web.auth import current_client
from service.web.idempotency import from_request
from service.web.schemas.jobs import (
    CalendarQuerySchema,
    IdempotentHeadersSchema,
    JobListQuerySchema,
    JobSchema,
    JobSummarySchema,
    present_job,
)

blp = Blueprint(
    "jobs",
    __name__,
    url_prefix=API_PREFIX,
    description="Jobs: async solves, their progress, answers, cancellation and resubmission.",
)


def _service() -> Any:
    return current_app.extensions["linli"].dispatch


@blp.route("/jobs")
class Jobs(MethodView):
    @blp.arguments(JobListQuerySchema, location="query")
    @blp.response(200, JobSummarySchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 422)
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
        """List this client's jobs, newest first (page, page_size; filter by status).

        The `X-Pagination` header holds the total and the page links.
        """
        with current_app.extensions["linli"].sessions() as session:
            jobs, total = list_jobs(
                session,
                current_client().id,
                status=query["status"],
                offset=pagination_parameters.first_item,
                limit=pagination_parameters.page_size,
            )
        pagination_parameters.item_count = total
        return [present_job(job, answers=False) for job in jobs]


@blp.route("/jobs/<uuid:job_id>")
class Job(MethodView):
    @blp.response(200, JobSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, job_id: uuid.UUID) -> Any:
        """A job: status, progress (phase, elapsed, objective, bound) and answers."""
        return _service().get(current_client(), job_id)

    @blp.response(200, JobSchema, description="The job has ended; its answer is the best plan.")
    @blp.alt_response(202, schema=JobSchema, description="Still stopping.", success=True)
    @blp.error_responses(*AUTH_ERRORS, 404, 409)
    def delete(self, job_id: uuid.UUID) -> Any:
        """Stop a job now and keep the best plan found: it ends `cancelled` with that answer.

        A queued job is cancelled at once (no answer). The response waits (a few seconds at
        most) until the worker has stored the plan; 202 if it has not yet.

        Repeating the DELETE is safe: on a job that is already `cancelled` (by an earlier
        DELETE) it answers 200 with the job as it stands, its answer unchanged; on a job still
        stopping, 202 again. On a job that ended otherwise (`succeeded`, `failed` or
        `interrupted`) it answers 409 and the message names that status; the job is not changed.
        """
        return _service().cancel(current_client(), job_id)


@blp.route("/jobs/<uuid:job_id>/resubmit")
class Resubmit(MethodView):
    @blp.arguments(IdempotentHeadersSchema, location="headers")
    @blp.response(
        202,
        JobSchema,
        description="The new job.",
        headers={"Location": {"description": "the new job", "schema": {"type": "string"}}},
    )
    @blp.error_responses(*AUTH_ERRORS, 404, 409, 422)
    def post(self, headers: dict[str, Any], job_id: uuid.UUID) -> Any:
        """Run an ended job's stored problem again as a new job (e.g. an interrupted one)."""
        outcome = _service().resubmit(
            current_client(), job_id, from_request(request, headers.get("idempotency_key"))
        )
        return outcome_response(outcome)


@blp.route("/jobs/<uuid:job_id>/calendar.ics")
class JobCalendar(MethodView):
    @blp.arguments(CalendarQuerySchema, location="query")
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/calendar",
        description="iCalendar (RFC 5545): one event per session, in the problem's time zone.",
        headers={
            "Content-Disposition": {
                "description": "attachment; filename=...",
                "schema": {"type": "string"},
            }
        },
    )
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], job_id: uuid.UUID) -> Any:
        """The sessions of a finished visit schedule as an `.ics` calendar (all teams, or
        `team`'s).

        404 for a dispatch job, a job without a schedule yet (queued, running, failed) and a
        team the problem does not have.
        """
        team = query["team"]
        body = _service().calendar(current_client(), job_id, team)
        name = f"visits-{job_id}" + ("" if team is None else f"-{_safe(team)}")
        return Response(
            body,
            mimetype="text/calendar",
            headers={"Content-Disposition": f'attachment; filename="{name}.ics"'},
        )


def _safe(text: str) -> str:
    """A team id as a file-name part: letters, digits, ``-`` and ``_`` only."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in text)
