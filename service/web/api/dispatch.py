"""``POST /api/v1/dispatch``: solve a problem (200), queue it (202) or only validate it."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.views import MethodView

from matcher.dispatch.problem import Problem
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint
from service.web.auth import current_client
from service.web.dispatching import wants_async
from service.web.idempotency import Outcome, from_request
from service.web.schemas.examples import DISPATCH_EXAMPLE
from service.web.schemas.jobs import (
    DispatchHeadersSchema,
    DispatchQuerySchema,
    DispatchRequestSchema,
    JobSchema,
)

blp = Blueprint(
    "dispatch",
    __name__,
    url_prefix=API_PREFIX,
    description="Dispatch members to demands (contract: docs/contracts/dispatch.md).",
)


def outcome_response(outcome: Outcome) -> Any:
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    for name, value in outcome.headers.items():
        response.headers[name] = value
    return response


@blp.route("/dispatch")
class Dispatch(MethodView):
    @blp.arguments(DispatchQuerySchema, location="query")
    @blp.arguments(DispatchHeadersSchema, location="headers")
    @blp.arguments(
        DispatchRequestSchema,
        description="The problem (members, demands, options).",
        example=DISPATCH_EXAMPLE,
    )
    @blp.response(
        200,
        {
            "oneOf": [
                {"$ref": "#/components/schemas/Answer"},
                {"$ref": "#/components/schemas/ValidationResult"},
            ]
        },
        description="The answer (sync solve), or {valid: true} with validate_only=true.",
    )
    @blp.alt_response(
        202,
        schema=JobSchema,
        description="Queued as a job: poll the Location header.",
        headers={"Location": {"description": "the job", "schema": {"type": "string"}}},
        success=True,
    )
    @blp.error_responses(*AUTH_ERRORS, 400, 409, 413, 415, 422)
    def post(self, query: dict[str, Any], headers: dict[str, Any], problem: Problem) -> Any:
        """Solve a dispatch problem.

        Small problems are solved while the request waits and answered with 200 and the answer.
        Large ones (more demands than the server's sync limit, or a long time limit), or any
        request with `Prefer: respond-async`, get 202 with the job and its `Location`.
        With `validate_only=true`, nothing is solved: 200 `{valid: true}` or 422 listing every
        problem (up to 100). Time limits above the server's cap are clamped (see the job's
        `limits`).
        """
        service = current_app.extensions["linli"].dispatch
        if query["validate_only"]:
            return jsonify(service.validate(problem))
        outcome = service.dispatch(
            current_client(),
            problem,
            prefer_async=wants_async(headers.get("prefer")),
            idempotency=from_request(request, headers.get("idempotency_key")),
        )
        return outcome_response(outcome)
