"""``create_app(config)``: the Linli HTTP service (Flask + flask-smorest).

Start-up, in order: settings (environment, then ``config``), database engine, ``alembic upgrade
head`` (unless ``LINLI_AUTO_MIGRATE`` is false: :func:`service.cli.server.run_server` migrates once
before starting its workers), start-up recovery (active jobs whose lease ran out become
``interrupted``), the job runner (a process pool by default; ``config["EXECUTOR_FACTORY"]``
replaces it, e.g. with a Dask executor), the reaper thread, then the API.

Development: ``flask --app service.app run``; production: ``linli serve`` (gunicorn). A key:
``flask --app service.app linli-create-key NAME``.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import flask_smorest
from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Response

from service.cli.app_commands import create_key_command, create_person_command, seed_demo_command
from service.config.settings import Settings, load_settings
from service.contracts.visits import ClockTimeField, DateField
from service.db.engine import make_engine, make_session_factory, upgrade_database
from service.domain.audit import install_auto_audit
from service.domain.personal_data import FieldCipher, instance_secret, new_data_key
from service.jobs import executors
from service.jobs.dispatch_runs import RunPool, recover_runs
from service.jobs.limits import RateLimiter
from service.jobs.runner import AUTO, JobRunner, Reaper, recover_jobs
from service.jobs.solver import RunnerSolver
from service.jobs.worker import WorkerSettings
from service.web.auth import API_KEY_HEADER, SECURITY_SCHEME, authenticate, current_actor
from service.web.dispatching import DispatchService
from service.web.docs import FLASK_SMOREST_CONFIG, docs_assets_blueprint
from service.web.errors import ErrorSchema, fail, register_error_handlers
from service.web.json_io import StrictJSONProvider
from service.web.metrics import Metrics
from service.web.schemas.jobs import (
    DispatchRequestSchema,
    StoredAnswerSchema,
    StoredScheduleSchema,
    ValidationResultSchema,
    VisitRequestSchema,
)

log = logging.getLogger(__name__)

JSON_BODY_ENDPOINTS = frozenset({"dispatch.Dispatch", "visits.VisitSchedules"})
CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

API_DESCRIPTION = """\
Linli (邻里) dispatches registered in-service Party members to residents' demands, and schedules
the quarterly group visits of standing teams to the households of their areas.

Every endpoint needs an API key in the `X-API-Key` header, except `/healthz`, `/readyz` and this
documentation. Errors always have the shape `{code, status, message, errors}`, where `errors` maps
field paths such as `demands[17].window.end` to messages.
"""


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema


@dataclass
class LinliState:
    """What one app holds: settings, database, job runner, reaper, metrics, services."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    runner: JobRunner
    reaper: Reaper
    metrics: Metrics
    rate_limiter: RateLimiter | None
    dispatch: DispatchService
    cipher: FieldCipher
    runs: RunPool
    solver: RunnerSolver

    def close(self, *, cancel_running: bool = False, wait: bool = True) -> None:
        """Stop the reaper, the executor and the dispatch-run threads; dispose of the engine."""
        self.reaper.stop()
        self.runner.close(cancel_running=cancel_running, wait=wait)
        self.runs.close(wait=wait)
        self.engine.dispose()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app.

    Args:
        config: ``LINLI_*`` settings (see :mod:`service.config.settings`; they override the
        environment),
            Flask settings, and optionally ``EXECUTOR_FACTORY``: a callable returning a
            :class:`concurrent.futures.Executor` for the jobs.

    Returns:
        The Flask app; ``app.extensions["linli"]`` is its :class:`LinliState`.
    """
    config = dict(config or {})
    app = Flask(__name__, static_folder=None)
    app.json = StrictJSONProvider(app)
    default_url = f"sqlite:///{Path(app.instance_path) / 'linli.sqlite3'}"
    settings = load_settings(config, default_database_url=default_url)

    app.config.update(FLASK_SMOREST_CONFIG)
    app.config.update(
        API_TITLE="Linli dispatch service",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "security": [{SECURITY_SCHEME: []}],
        },
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    app.config.update(_session_config(settings, app.instance_path))
    app.config.update(
        {k: v for k, v in config.items() if not k.startswith("LINLI_") and k != "EXECUTOR_FACTORY"}
    )
    app.json.sort_keys = False

    data_key = settings.data_key or instance_secret(app.instance_path, "data_key", new_data_key())
    state = _start(settings, config.get("EXECUTOR_FACTORY"), FieldCipher(data_key))
    app.extensions["linli"] = state

    api = Api(app)
    api.spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
    )
    api.register_field(DateField, "string", "date")
    api.register_field(ClockTimeField, "string", None)
    api.ma_plugin.converter.add_attribute_function(_clock_time_pattern)
    api.spec.components.schema("Problem", schema=DispatchRequestSchema)
    api.spec.components.schema("Answer", schema=StoredAnswerSchema)
    api.spec.components.schema("ValidationResult", schema=ValidationResultSchema)
    api.spec.components.schema("VisitProblem", schema=VisitRequestSchema)
    api.spec.components.schema("Schedule", schema=StoredScheduleSchema)
    from service.web.api import (
        dispatch,
        evaluations,
        flow,
        jobs,
        ledger,
        longterm,
        ops,
        people,
        records,
        sheets,
        visits,
        workspace,
    )

    api.register_blueprint(dispatch.blp)
    api.register_blueprint(visits.blp)
    api.register_blueprint(jobs.blp)
    api.register_blueprint(workspace.blp)
    api.register_blueprint(flow.blp)
    api.register_blueprint(longterm.blp)
    api.register_blueprint(ledger.blp)
    api.register_blueprint(ops.blp)
    api.register_blueprint(people.blp)
    api.register_blueprint(evaluations.blp)
    api.register_blueprint(sheets.blp)
    api.register_blueprint(records.blp)
    app.register_blueprint(docs_assets_blueprint())
    from service.web.console import init_console  # the console: pages, Babel (zh_Hans_CN, en)

    init_console(app)
    register_error_handlers(app)

    app.before_request(_start_timer)
    app.before_request(_limit_body)
    app.before_request(authenticate)
    app.before_request(_check_body)
    app.before_request(_refuse_nul)
    app.after_request(_after)
    app.cli.add_command(create_key_command)
    app.cli.add_command(create_person_command)
    app.cli.add_command(seed_demo_command)
    return app


def _session_config(settings: Settings, instance_path: str) -> dict[str, Any]:
    """Flask's signed session cookie for people's logins (HttpOnly, SameSite=Lax, Secure)."""
    secret = settings.secret_key or instance_secret(
        instance_path, "secret_key", secrets.token_hex(32).encode("ascii")
    ).decode("ascii")
    return {
        "SECRET_KEY": secret,
        "SESSION_COOKIE_NAME": "linli_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.secure_cookies,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings.session_hours),
    }


def _clock_time_pattern(converter: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """OpenAPI: wall-clock times of the visit contract are ``HH:MM``."""
    return {"pattern": CLOCK_TIME_PATTERN} if isinstance(field, ClockTimeField) else {}


def _start(settings: Settings, executor_factory: Any, cipher: FieldCipher) -> LinliState:
    engine = make_engine(settings.database_url)
    if settings.auto_migrate:
        upgrade_database(engine)
    sessions = make_session_factory(engine)
    install_auto_audit(sessions, current_actor)
    recover_jobs(sessions)
    recover_runs(sessions)
    metrics = Metrics(sessions, pool_size=settings.pool_size)
    runner = JobRunner(
        executor_factory or executors.executor_factory(settings),
        sessions=sessions,
        worker_settings=WorkerSettings(
            database_url=settings.database_url,
            lease_ttl_s=settings.lease_ttl_s,
            heartbeat_s=settings.heartbeat_s,
            cancel_poll_s=settings.cancel_poll_s,
            fan_out_min_demands=settings.fan_out_min_demands,
        ),
        on_finished=metrics.observe_solve,
        slots=_runner_slots(settings, custom_executor=executor_factory is not None),
        tenant_cap=settings.tenant_max_running,
        on_reconnect=metrics.executor_reconnects.inc,
    )
    metrics.watch(runner)
    reaper = Reaper(
        runner,
        interval_s=settings.reaper_interval_s,
        idempotency_ttl_h=settings.idempotency_ttl_h,
        purges=[
            lambda: _purge_contacts(sessions, settings.retention_days),
            lambda: recover_runs(sessions),
        ],
        max_attempts=settings.job_attempts,
    )
    reaper.start()
    solver = RunnerSolver(runner, sessions, settings)
    return LinliState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        runner=runner,
        reaper=reaper,
        metrics=metrics,
        rate_limiter=None if settings.rate_limit is None else RateLimiter(settings.rate_limit),
        dispatch=DispatchService(settings, sessions, runner, metrics),
        cipher=cipher,
        runs=RunPool(sessions, solver=solver),
        solver=solver,
    )


def _runner_slots(settings: Settings, *, custom_executor: bool) -> int | Literal["auto"] | None:
    """The runner's slots: ``LINLI_EXECUTOR_SLOTS`` if set; else the pool's size for
    ``process``, the cluster's worker threads (:data:`service.jobs.runner.AUTO`) for Dask, and no
    limit for an ``EXECUTOR_FACTORY`` given to ``create_app`` (it orders its tasks itself)."""
    if settings.executor_slots > 0:
        return settings.executor_slots
    if custom_executor:
        return None
    return settings.pool_size if settings.executor == "process" else AUTO


def _purge_contacts(sessions: sessionmaker[Session], retention_days: float) -> int:
    """The retention rule: closed demands' contact details go after ``retention_days``."""
    from service.domain.flow import purge_contacts

    with sessions() as session:
        return purge_contacts(session, retention_days=retention_days)


def _start_timer() -> None:
    g.linli_t0 = time.perf_counter()


_BODY_CHUNK = 1 << 16


def _limit_body() -> None:
    """413 for a body over the limit, counted on the bytes read, chunked or not.

    With a ``Content-Length`` the header is checked before anything is read. A streamed body
    (``Transfer-Encoding: chunked``) has none: it is read here, one chunk at a time and never
    more than one byte past the limit, and refused whole the moment it passes the limit, so no
    view ever parses a truncated body. What was read is handed on with its length.
    """
    limit = request.max_content_length
    if limit is None:
        return
    length = request.content_length
    if length is not None:
        if length > limit:
            fail(413, f"The body is larger than {limit} bytes.")
        return
    streamed = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if not (streamed or request.environ.get("wsgi.input_terminated")):
        return
    stream = request.environ["wsgi.input"]
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(min(_BODY_CHUNK, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            fail(413, f"The body is larger than {limit} bytes.")
    request.environ["wsgi.input"] = io.BytesIO(b"".join(chunks))
    request.environ["CONTENT_LENGTH"] = str(total)
    request.environ.pop("wsgi.input_terminated", None)
    request.environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is whole now: a plain length


def _check_body() -> None:
    """415 for a body that is not JSON where JSON belongs (its size: :func:`_limit_body`)."""
    if request.method != "POST" or request.endpoint not in JSON_BODY_ENDPOINTS:
        return
    if not request.is_json:
        fail(415, "The body must be JSON (Content-Type: application/json).")


_NUL_MARKERS = (b"\x00", b"\\u0000")


def _refuse_nul() -> None:
    """422 for a NUL character in the query or a JSON body (PostgreSQL cannot store one in
    text; refusing it here keeps every endpoint from answering 500), 404 in the path."""
    if "\x00" in request.path:
        fail(404, "No such resource.")
    bad = [name for name, value in request.args.items(multi=True) if "\x00" in name + value]
    if bad:
        fail(422, "The query holds a NUL character.", errors={f"query.{bad[0]}": ["NUL"]})
    if request.is_json and request.content_length:
        body = request.get_data(cache=True)
        if any(marker in body.lower() for marker in _NUL_MARKERS):
            try:
                paths = _nul_paths(json.loads(body), "")
            except ValueError:
                paths = []
            errors = {path or "$": ["must not contain a NUL character"] for path in paths[:100]}
            fail(422, "The body holds a NUL character.", errors=errors or {"$": ["NUL"]})


def _nul_paths(value: Any, path: str) -> list[str]:
    """The field paths (``demands[3].category``) whose key or text holds a NUL character."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found += [inner] if "\x00" in str(key) else _nul_paths(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nul_paths(item, f"{path}[{index}]")
    return found


def _after(response: Response) -> ResponseReturnValue:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    metrics: Metrics = current_app.extensions["linli"].metrics
    rule = request.url_rule
    endpoint = rule.rule if rule is not None else "unmatched"
    metrics.requests.labels(endpoint, request.method, str(response.status_code)).inc()
    t0 = g.get("linli_t0")
    if t0 is not None:
        metrics.request_seconds.labels(endpoint, request.method).observe(time.perf_counter() - t0)
    return response
