"""schemathesis against the served OpenAPI document: no 5xx, responses match the document."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.domain.keys import create_api_client
from service.web.api.visits import EXAMPLE as VISIT_EXAMPLE

TOTAL_EXAMPLES = 400
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _has_inputs(operation: Any) -> bool:
    return bool(operation.body or operation.query or operation.path_parameters or operation.headers)


@pytest.mark.slow
def test_served_document_holds_for_generated_requests(make_app: Callable[..., Flask]) -> None:
    """About 400 generated requests (valid and invalid) over every operation of the served
    document, and the documented visit example: no 5xx, and every status, content type, header
    and body is as documented."""
    app = make_app(LINLI_MAX_TIME_LIMIT_S=0.5, LINLI_SYNC_GRACE_S=5)
    with app.extensions["linli"].sessions() as session:
        _client, key = create_api_client(session, "schemathesis")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # every operation is a valid definition
        operations.append(result.ok())
    assert {op.label for op in operations} >= {
        "POST /api/v1/dispatch",
        "GET /api/v1/jobs",
        "GET /api/v1/jobs/{job_id}",
        "DELETE /api/v1/jobs/{job_id}",
        "POST /api/v1/jobs/{job_id}/resubmit",
        "GET /api/v1/jobs/{job_id}/calendar.ics",
        "POST /api/v1/visit-schedules",
        "GET /api/v1/communities",
        "POST /api/v1/communities",
        "GET /api/v1/communities/{community_id}/grids",
        "POST /api/v1/communities/{community_id}/grids",
        "GET /api/v1/grids/{grid_id}/buildings",
        "POST /api/v1/grids/{grid_id}/buildings",
        "GET /api/v1/units",
        "POST /api/v1/units",
        "GET /api/v1/members",
        "POST /api/v1/members",
        "GET /api/v1/members/{member_id}",
        "PATCH /api/v1/members/{member_id}",
        "GET /api/v1/members/{member_id}/availability",
        "POST /api/v1/communities/{community_id}/demands",
        "GET /api/v1/demands",
        "GET /api/v1/demands/{demand_id}",
        "POST /api/v1/demands/{demand_id}/claim",
        "GET /api/v1/demands/{demand_id}/candidates",
        "POST /api/v1/demands/{demand_id}/cancel",
        "POST /api/v1/communities/{community_id}/dispatch",
        "GET /api/v1/tasks",
        "GET /api/v1/tasks/{task_id}",
        "POST /api/v1/tasks/{task_id}/accept",
        "POST /api/v1/tasks/{task_id}/decline",
        "POST /api/v1/tasks/{task_id}/complete",
        "POST /api/v1/tasks/{task_id}/rate",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
    }
    runs = [(op, mode) for op in operations for mode in GenerationMode if _has_inputs(op)]
    runs += [(op, GenerationMode.POSITIVE) for op in operations if not _has_inputs(op)]
    per_run = max(3, TOTAL_EXAMPLES // len(runs))
    statuses: Counter[tuple[str, int]] = Counter()
    started = time.monotonic()
    visits = next(op for op in operations if op.label == "POST /api/v1/visit-schedules")
    response = visits.Case(body=VISIT_EXAMPLE, media_type="application/json").call_and_validate(
        headers={"X-API-Key": key}, checks=CHECKS
    )
    assert response.status_code == 200, response.text[:500]
    statuses[(visits.label, response.status_code)] += 1
    for operation, mode in runs:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=per_run,
            phases=[Phase.explicit, Phase.generate],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(headers={"X-API-Key": key}, checks=CHECKS)
            statuses[(case.operation.label, response.status_code)] += 1

        with contextlib.suppress(Unsatisfiable):  # nothing left to generate
            run()
    assert sum(statuses.values()) >= TOTAL_EXAMPLES // 2
    assert statuses[("POST /api/v1/dispatch", 200)] > 0, "no generated problem was solved"
    assert statuses[("POST /api/v1/dispatch", 422)] > 0
    assert statuses[("POST /api/v1/visit-schedules", 422)] > 0
    assert statuses[("POST /api/v1/members", 422)] > 0
    assert time.monotonic() - started < 90
