"""The API's own schemas: request wrappers, jobs, validation results, headers and queries.

The dispatch contract itself (problem, answer) lives in :mod:`service.contracts.dispatch`, the visit
contract (problem, schedule) in :mod:`service.contracts.visits`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from matcher.visits.answer import STATUSES as SCHEDULE_STATUSES
from service.contracts.dispatch import AnswerSchema, ProblemSchema
from service.contracts.visits import (
    ScheduleSchema,
    ScheduleStatsSchema,
    UnscheduledSchema,
    VisitProblemSchema,
    VisitSessionSchema,
)
from service.db.jobs import JOB_KINDS, JOB_STATUSES, Job
from service.jobs.limits import item_count_errors, visit_item_count_errors

IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class DispatchRequestSchema(ProblemSchema):
    """The problem of ``docs/contracts/dispatch.md``; list sizes are checked before anything
    else."""

    @pre_load
    def check_item_counts(self, data: Any, **kwargs: Any) -> Any:
        errors = item_count_errors(data, current_app.extensions["linli"].settings)
        if errors:
            raise ValidationError(errors)
        return data


class StoredAnswerSchema(AnswerSchema):
    """The answer as stored (already the contract's JSON): dumped as it is."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if isinstance(obj, Mapping):
            return dict(obj)
        return super().dump(obj, many=many)


class VisitRequestSchema(VisitProblemSchema):
    """The problem of ``docs/contracts/visits.md``; list sizes are checked before anything else."""

    @pre_load
    def check_item_counts(self, data: Any, **kwargs: Any) -> Any:
        errors = visit_item_count_errors(data, current_app.extensions["linli"].settings)
        if errors:
            raise ValidationError(errors)
        return data


class StoredScheduleSchema(ScheduleSchema):
    """A visit schedule as stored (already the contract's JSON): dumped as it is."""

    status = fields.String(
        required=True,
        validate=validate.OneOf(SCHEDULE_STATUSES),
        metadata={"description": "optimal, feasible, or no_solution"},
    )
    sessions = fields.List(
        fields.Nested(VisitSessionSchema),
        required=True,
        metadata={"description": "The visit sessions, by date"},
    )
    unscheduled = fields.List(
        fields.Nested(UnscheduledSchema),
        required=True,
        metadata={"description": "Households left unvisited, with a reason"},
    )
    stats = fields.Nested(
        ScheduleStatsSchema, required=True, metadata={"description": "Figures of the schedule"}
    )

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if isinstance(obj, Mapping):
            return dict(obj)
        return super().dump(obj, many=many)


class StoredAnswerField(fields.Raw):
    """A job's stored answer, dumped as it is: a dispatch ``Answer`` or a visit ``Schedule``."""


def _answer_field(description: str) -> StoredAnswerField:
    return StoredAnswerField(
        allow_none=True,
        required=True,
        metadata={
            "description": description,
            "anyOf": [
                {"$ref": "#/components/schemas/Answer"},
                {"$ref": "#/components/schemas/Schedule"},
            ],
        },
    )


class ProgressSchema(Schema):
    phase = fields.String(
        required=True,
        metadata={
            "description": "dispatch: queued, starting, candidates, greedy, bound, improve, "
            "done; visits: queued, starting, routing, routed, scheduling, done"
        },
    )
    elapsed_s = fields.Float(required=True, metadata={"description": "seconds since start"})
    objective = fields.Float(
        allow_none=True, metadata={"description": "objective of the best plan so far"}
    )
    bound = fields.Float(allow_none=True, metadata={"description": "proven lower bound so far"})
    message = fields.String(
        allow_none=True, metadata={"description": "A sentence on where the solve stands, or null"}
    )
    updated_at = fields.String(allow_none=True, metadata={"description": "ISO 8601, UTC"})


class FloatLimitSchema(Schema):
    requested = fields.Float(required=True, metadata={"description": "The value asked for"})
    applied = fields.Float(
        required=True, metadata={"description": "The value used (capped by the server)"}
    )


class IntLimitSchema(Schema):
    requested = fields.Integer(required=True, metadata={"description": "The value asked for"})
    applied = fields.Integer(
        required=True, metadata={"description": "The value used (capped by the server)"}
    )


class LimitsSchema(Schema):
    """What the client asked for and what the server applied (caps are server-side)."""

    time_limit_s = fields.Nested(FloatLimitSchema, required=True)
    workers = fields.Nested(IntLimitSchema, required=True)


class SizeSchema(Schema):
    members = fields.Integer(required=True, metadata={"description": "Members in the problem"})
    demands = fields.Integer(
        required=True, metadata={"description": "demands (households, for a visit schedule)"}
    )
    teams = fields.Integer(required=True, metadata={"description": "Teams in the problem"})


class JobSummarySchema(Schema):
    """A job without its answers (as listed by ``GET /jobs``)."""

    id = fields.UUID(required=True, metadata={"description": "The job's id"})
    kind = fields.String(
        required=True,
        validate=validate.OneOf(JOB_KINDS),
        metadata={
            "description": "what is solved: dispatch (POST /dispatch) or visits "
            "(POST /visit-schedules)"
        },
    )
    mode = fields.String(
        required=True,
        validate=validate.OneOf(("sync", "async")),
        metadata={"description": "sync: answered in the POST; async: 202 and polling"},
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(JOB_STATUSES),
        metadata={"description": "Where the job stands"},
    )
    size = fields.Nested(SizeSchema, required=True)
    limits = fields.Nested(LimitsSchema, required=True)
    progress = fields.Nested(
        ProgressSchema,
        allow_none=True,
        required=True,
        metadata={
            "description": ("The solve's progress (phase, elapsed seconds, objective, bound)")
        },
    )
    error = fields.String(
        allow_none=True, required=True, metadata={"description": "Why the job failed, or null"}
    )
    cancel_requested = fields.Boolean(
        required=True, metadata={"description": "A DELETE asked the job to stop"}
    )
    resubmitted_from = fields.UUID(
        allow_none=True,
        required=True,
        metadata={"description": "The id of the job this one reran, or null"},
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When the job was submitted: ISO 8601 date-time with UTC offset")
        },
    )
    started_at = fields.DateTime(
        allow_none=True,
        required=True,
        metadata={
            "description": ("When a solver took the job (ISO 8601 with UTC offset), or null")
        },
    )
    finished_at = fields.DateTime(
        allow_none=True,
        required=True,
        metadata={"description": "When the job ended (ISO 8601 with UTC offset), or null"},
    )


class JobSchema(JobSummarySchema):
    """A job with its answer: the final one, and the best so far while it runs.

    The answer is a dispatch ``Answer`` for a dispatch job and a visit ``Schedule`` for a visits
    job (see ``kind``).
    """

    answer = _answer_field(
        "the final answer: an Answer (dispatch) or a Schedule (visits); also for a cancelled "
        "job: its best plan"
    )
    best_answer = _answer_field(
        "the best plan so far while the job runs, when the engine reports one (dispatch only; "
        "see progress for the objective)"
    )


def present_job(job: Job, *, answers: bool) -> dict[str, Any]:
    """A job row as the plain data :class:`JobSchema` dumps."""
    data: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "mode": job.mode,
        "status": job.status,
        "size": {"members": job.n_members, "demands": job.n_demands, "teams": job.n_teams},
        "limits": job.limits,
        "progress": job.progress,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "resubmitted_from": job.resubmitted_from,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
    if answers:
        data["answer"] = job.answer
        data["best_answer"] = job.best_answer
    return data


class ValidationResultSchema(Schema):
    """``POST /dispatch?validate_only=true`` on a valid problem."""

    valid = fields.Boolean(
        required=True,
        validate=validate.Equal(True),
        metadata={
            "description": ("Always true: the body is a valid problem (an invalid one is a 422)")
        },
    )


class DispatchQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    validate_only = fields.Boolean(
        load_default=False,
        metadata={"description": "check the problem (every error, up to 100) without solving"},
    )


class IdempotentHeadersSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(
            IDEMPOTENCY_KEY_PATTERN, error="must be 1 to 255 visible ASCII characters"
        ),
        metadata={
            "description": "Replays of the same request return the first response; the same "
            "key with another body is a 422, and one still being processed a 409. Keys are "
            "per API client."
        },
    )


class DispatchHeadersSchema(IdempotentHeadersSchema):
    prefer = fields.String(
        data_key="Prefer",
        metadata={"description": "respond-async: always answer 202 with a job"},
    )


class CalendarQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    team = fields.String(
        load_default=None,
        validate=validate.Length(min=1, error="must not be empty"),
        metadata={"description": "only this team's sessions (a team id of the problem)"},
    )


class JobListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(
        load_default=None,
        validate=validate.OneOf(JOB_STATUSES),
        metadata={"description": "only jobs with this status"},
    )
