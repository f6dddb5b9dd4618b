"""``POST /api/v1/visit-schedules``: schedule a quarter of team visits (200) or queue it (202)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView

from matcher.visits.problem import VisitProblem
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint
from service.web.api.dispatch import outcome_response
from service.web.auth import current_client
from service.web.dispatching import wants_async
from service.web.idempotency import from_request
from service.web.schemas.jobs import (
    DispatchHeadersSchema,
    JobSchema,
    StoredScheduleSchema,
    VisitRequestSchema,
)

blp = Blueprint(
    "visits",
    __name__,
    url_prefix=API_PREFIX,
    description="Quarterly team visits (contract: docs/contracts/visits.md).",
)


def _household(k: int, lat: float, lon: float) -> dict[str, Any]:
    return {
        "id": f"h-{k}",
        "location": {"lat": lat, "lon": lon},
        "visit_minutes": 20,
        "visits": 1,
    }


EXAMPLE: dict[str, Any] = {
    "quarter": {"start": "2027-01-01", "end": "2027-01-31"},
    "timezone": "Asia/Shanghai",
    "visit_weekdays": ["sat", "sun"],
    "blackout_dates": ["2027-01-01"],
    "max_sessions_per_day": 4,
    "session": {"start": "09:00", "max_hours": 3.0},
    "walking_speed_kmh": 4.0,
    "members": [
        {"id": "m-1", "unavailable_dates": ["2027-01-09"]},
        {"id": "m-2"},
        {"id": "m-3"},
        {"id": "m-4"},
    ],
    "teams": [
        {
            "id": "t-1",
            "members": ["m-1", "m-2", "m-3"],
            "leader": "m-1",
            "quorum": 2,
            "area": "a-1",
        },
        {"id": "t-2", "members": ["m-3", "m-4"], "leader": "m-4", "quorum": 2, "area": "a-2"},
    ],
    "areas": [
        {
            "id": "a-1",
            "start": {"lat": 34.75, "lon": 113.62},
            "households": [_household(k, 34.75 + 0.001 * k, 113.62) for k in range(1, 4)],
        },
        {
            "id": "a-2",
            "start": {"lat": 34.76, "lon": 113.63},
            "households": [_household(k, 34.76, 113.63 + 0.001 * k) for k in range(4, 6)],
        },
    ],
    "options": {"time_limit_s": 1, "seed": 0, "min_days_between_visits": 21},
}
"""A small quarter (a January of weekends), shown in the documentation."""


@blp.route("/visit-schedules")
class VisitSchedules(MethodView):
    @blp.arguments(DispatchHeadersSchema, location="headers")
    @blp.arguments(
        VisitRequestSchema,
        description="The quarter: calendar, members, teams, areas with their households, options.",
        example=EXAMPLE,
    )
    @blp.response(200, StoredScheduleSchema, description="The schedule (sync solve).")
    @blp.alt_response(
        202,
        schema=JobSchema,
        description="Queued as a job: poll the Location header.",
        headers={"Location": {"description": "the job", "schema": {"type": "string"}}},
        success=True,
    )
    @blp.error_responses(*AUTH_ERRORS, 400, 409, 413, 415, 422)
    def post(self, headers: dict[str, Any], problem: VisitProblem) -> Any:
        """Schedule a quarter of team visits.

        Small quarters are solved while the request waits and answered with 200 and the
        schedule. Large ones (more households than the server's sync limit for demands, or a
        long time limit), or any request with `Prefer: respond-async`, get 202 with the job
        (kind `visits`) and its `Location`; the job's `answer` is the schedule. A bad problem
        is a 422 listing every field path. Time limits above the server's cap are clamped (see
        the job's `limits`). The sessions as iCalendar:
        `GET /api/v1/jobs/{job_id}/calendar.ics` (optionally `?team=`).
        """
        outcome = current_app.extensions["linli"].dispatch.schedule_visits(
            current_client(),
            problem,
            prefer_async=wants_async(headers.get("prefer")),
            idempotency=from_request(request, headers.get("idempotency_key")),
        )
        return outcome_response(outcome)
