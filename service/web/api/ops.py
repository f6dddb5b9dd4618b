"""Operations: ``/healthz`` (process up), ``/readyz`` (database answers), ``/metrics``.

``/readyz?verbose=true`` adds where jobs run (``LINLI_EXECUTOR``): ``executor.kind``
(``process``, ``dask`` or ``custom``), the Dask scheduler's ``address`` and ``workers``, the
processes (pool) or Dask workers connected now (null while unknown). Readiness itself still
follows the database only: jobs wait in the database for workers to come.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from marshmallow import EXCLUDE, Schema, fields

from service.db.engine import database_is_ready
from service.jobs.executors import describe_executor
from service.web.api import AUTH_ERRORS, Blueprint
from service.web.errors import fail

blp = Blueprint("ops", __name__, description="Health checks and metrics.")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok"})


class ExecutorSchema(Schema):
    kind = fields.String(
        required=True, metadata={"description": "where jobs run: process, dask or custom"}
    )
    address = fields.String(
        allow_none=True, metadata={"description": "the Dask scheduler (tcp://host:port)"}
    )
    workers = fields.Integer(
        allow_none=True,
        metadata={"description": "pool processes, or Dask workers connected (null: unknown)"},
    )


class ReadySchema(HealthSchema):
    executor = fields.Nested(ExecutorSchema, metadata={"description": "only with ?verbose=true"})


class ReadyQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # probes may add their own parameters

    verbose = fields.Boolean(
        load_default=False, metadata={"description": "also describe the job executor"}
    )


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
    @blp.arguments(ReadyQuerySchema, location="query")
    @blp.response(200, ReadySchema)
    @blp.error_responses(503)
    def get(self, query: dict[str, Any]) -> Any:
        """Readiness: 200 if the database answers, else 503 (no key needed); with
        ``?verbose=true`` also the executor (kind, Dask scheduler, workers connected)."""
        state = current_app.extensions["linli"]
        if not database_is_ready(state.engine):
            fail(503, "The database does not answer.")
        if not query["verbose"]:
            return {"status": "ok"}
        return {"status": "ok", "executor": describe_executor(state.runner.executor_factory)}


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
        """Prometheus metrics: requests, solve durations, queue depth, running jobs, the
        executor (workers, slots, jobs in flight and waiting, reconnects)."""
        body, content_type = current_app.extensions["linli"].metrics.render()
        return Response(body, mimetype=None, content_type=content_type)
