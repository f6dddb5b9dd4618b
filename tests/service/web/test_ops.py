"""Health checks, metrics, the OpenAPI document and the local documentation pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future, ThreadPoolExecutor
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine

from matcher.dispatch.problem import Problem
from tests.service.helpers import assert_error, body_of, new_auth


def test_healthz_is_always_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_follows_the_database(app: Flask, client: FlaskClient) -> None:
    assert client.get("/readyz").get_json() == {"status": "ok"}
    state = app.extensions["linli"]
    working = state.engine
    state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        error = assert_error(client.get("/readyz"), 503)
        assert "database" in error["message"]
        assert client.get("/healthz").status_code == 200
    finally:
        state.engine.dispose()
        state.engine = working


def test_metrics_count_requests_solves_and_the_queue(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    assert client.post("/api/v1/dispatch", json=body_of(small_problem), headers=auth).status_code
    client.get("/api/v1/jobs", headers=auth)
    response = client.get("/metrics", headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert re.search(
        r'linli_http_requests_total\{endpoint="/api/v1/jobs",method="GET",status="200"\} \d',
        text,
    )
    assert 'linli_solve_duration_seconds_count{status="succeeded"}' in text
    assert 'linli_solve_duration_seconds_bucket{le="1.0",status="succeeded"}' in text
    assert re.search(r"^linli_jobs_queued \d", text, re.M)
    assert re.search(r"^linli_jobs_running \d", text, re.M)
    assert 'linli_jobs_submitted_total{mode="sync"}' in text


def test_metrics_report_the_executor(client: FlaskClient, auth: dict[str, str]) -> None:
    """The executor's gauges, read at scrape time: the default pool of two solver processes
    (workers and slots), this runner's jobs in flight and waiting, and no reconnects."""
    text = client.get("/metrics", headers=auth).get_data(as_text=True)
    assert re.search(r'^linli_executor_workers\{kind="process"\} 2\.0$', text, re.M)
    assert re.search(r"^linli_executor_slots 2\.0$", text, re.M)
    assert re.search(r"^linli_jobs_in_flight \d", text, re.M)
    assert re.search(r"^linli_jobs_waiting \d", text, re.M)
    assert re.search(r"^linli_executor_reconnects_total 0\.0$", text, re.M)


class _Broken(Executor):
    """An executor that is broken from the start (as a pool whose process died)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        raise BrokenExecutor("broken on purpose")


def test_metrics_count_executor_reconnects(
    make_app: Callable[..., Flask], small_problem: Problem
) -> None:
    """An executor found broken is replaced: ``linli_executor_reconnects_total`` counts it, and
    the job still runs on the new one."""
    made: list[Executor] = []

    def factory() -> Executor:
        made.append(_Broken() if not made else ThreadPoolExecutor(max_workers=1))
        return made[-1]

    app = make_app(EXECUTOR_FACTORY=factory)
    client, auth = app.test_client(), new_auth(app)
    response = client.post("/api/v1/dispatch", json=body_of(small_problem), headers=auth)
    assert response.status_code == 200, response.get_json()
    text = client.get("/metrics", headers=auth).get_data(as_text=True)
    assert re.search(r"^linli_executor_reconnects_total 1\.0$", text, re.M)
    assert 'linli_executor_workers{kind="custom"}' not in text  # unknown: left out
    assert "linli_executor_slots " not in text  # no limit


def test_openapi_document_is_complete(client: FlaskClient) -> None:
    """Every endpoint, its request and response schemas, the error schema and the key."""
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    operations = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert operations >= {
        ("/api/v1/dispatch", "post"),
        ("/api/v1/jobs", "get"),
        ("/api/v1/jobs/{job_id}", "get"),
        ("/api/v1/jobs/{job_id}", "delete"),
        ("/api/v1/jobs/{job_id}/resubmit", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    }
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert doc["security"] == [{"ApiKeyAuth": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    schemas = doc["components"]["schemas"]
    assert set(schemas["Error"]["properties"]) == {"code", "status", "message", "errors"}
    for name in ("Problem", "Answer", "Job", "JobSummary", "ValidationResult", "Demand"):
        assert name in schemas, name
    dispatch = doc["paths"]["/api/v1/dispatch"]["post"]
    body_ref = dispatch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/Problem"
    assert {"200", "202", "401", "413", "415", "422", "429", "default"} <= set(
        dispatch["responses"]
    )
    headers = {p["name"] for p in dispatch["parameters"] if p["in"] == "header"}
    assert headers == {"Idempotency-Key", "Prefer"}
    assert "Retry-After" in dispatch["responses"]["429"]["headers"]
    job = schemas["Job"]["properties"]
    assert {"status", "progress", "answer", "best_answer", "limits"} <= set(job)


def test_documentation_pages_load_local_assets_only(client: FlaskClient) -> None:
    """Swagger UI and ReDoc reference this server's own scripts, never a CDN."""
    for page, assets in (
        (
            "/api/v1/docs",
            ["static/swagger-ui/swagger-ui-bundle.js", "static/swagger-ui/swagger-ui.css"],
        ),
        ("/api/v1/redoc", ["static/redoc/redoc.standalone.js"]),
    ):
        html = client.get(page).get_data(as_text=True)
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and not [s for s in sources if "://" in s or s.startswith("//")], sources
        for asset in assets:
            assert asset in sources
            response = client.get("/api/v1/" + asset)
            assert response.status_code == 200 and len(response.data) > 10_000
            response.close()
    assert "validatorUrl" in client.get("/api/v1/docs").get_data(as_text=True)


def test_the_documentation_scripts_name_no_other_host_for_what_they_show(
    client: FlaskClient,
) -> None:
    """ReDoc's bundle asks no CDN for its logo: the address points at this server, which has it."""
    script = client.get("/api/v1/static/redoc/redoc.standalone.js").get_data(as_text=True)
    assert "cdn.redoc.ly" not in script
    assert "/api/v1/static/redoc/logo-mini.svg" in script
    logo = client.get("/api/v1/static/redoc/logo-mini.svg")
    assert logo.status_code == 200 and b"<svg" in logo.data
    logo.close()
