"""Operations: ``/healthz`` (process up), ``/readyz`` (database answers), ``/metrics``."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from marshmallow import Schema, fields

from service.api import AUTH_ERRORS, Blueprint
from service.db import database_is_ready
from service.errors import fail

blp = Blueprint("ops", __name__, description="Health checks and metrics.")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok"})


@blp.route("/healthz")
class Healthz(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self) -> Any:
        """Liveness: 200 whenever the process runs (no key needed)."""
        return {"status": "ok"}


@blp.route("/readyz")
class Readyz(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    @blp.error_responses(503)
    def get(self) -> Any:
        """Readiness: 200 if the database answers, else 503 (no key needed)."""
        if not database_is_ready(current_app.extensions["linli"].engine):
            fail(503, "The database does not answer.")
        return {"status": "ok"}


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/plain",
        description="Prometheus text format.",
    )
    @blp.error_responses(*AUTH_ERRORS)
    def get(self) -> Any:
        """Prometheus metrics: requests, solve durations, queue depth, running jobs."""
        body, content_type = current_app.extensions["linli"].metrics.render()
        return Response(body, mimetype=None, content_type=content_type)
