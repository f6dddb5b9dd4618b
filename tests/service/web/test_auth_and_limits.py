"""API keys (401), the error shape on unknown routes, and the per-client rate limit (429)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.config.settings import RateLimit
from service.jobs.limits import RateLimiter
from tests.service.helpers import assert_error, new_auth

PROTECTED = [
    ("post", "/api/v1/dispatch"),
    ("get", "/api/v1/jobs"),
    ("get", f"/api/v1/jobs/{uuid.UUID(int=1)}"),
    ("delete", f"/api/v1/jobs/{uuid.UUID(int=1)}"),
    ("post", f"/api/v1/jobs/{uuid.UUID(int=1)}/resubmit"),
    ("get", "/metrics"),
]
PUBLIC = [
    "/healthz",
    "/readyz",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/redoc",
    "/api/v1/static/swagger-ui/swagger-ui-bundle.js",
    "/api/v1/static/redoc/redoc.standalone.js",
]


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_every_api_endpoint_needs_a_key(client: FlaskClient, method: str, url: str) -> None:
    missing = assert_error(getattr(client, method)(url), 401)
    assert "X-API-Key" in missing["message"]
    response = getattr(client, method)(url, headers={"X-API-Key": "lnl_not-a-key"})
    invalid = assert_error(response, 401)
    assert invalid["message"] == "The API key is not valid."
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")


@pytest.mark.parametrize("url", PUBLIC)
def test_health_checks_and_documentation_are_public(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    response.close()  # static files are streamed
    assert response.status_code == 200


def test_unknown_route_is_404_in_the_error_shape(client: FlaskClient, auth: dict[str, str]) -> None:
    assert_error(client.get("/api/v1/nothing-here", headers=auth), 404)
    assert_error(client.get("/api/v2/dispatch"), 404)


def test_rate_limit_answers_429_with_retry_after(make_app: Callable[..., Flask]) -> None:
    """Three requests a minute: the fourth is refused with Retry-After, per client."""
    app = make_app(LINLI_RATE_LIMIT="3/minute")
    client = app.test_client()
    first, second = new_auth(app, "first"), new_auth(app, "second")
    for _ in range(3):
        assert client.get("/api/v1/jobs", headers=first).status_code == 200
    response = client.get("/api/v1/jobs", headers=first)
    error = assert_error(response, 429)
    assert "retry later" in error["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 20
    assert client.get("/api/v1/jobs", headers=second).status_code == 200
    assert client.get("/healthz").status_code == 200  # public endpoints are not limited


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimit(per_s=2.0, burst=2.0), clock=lambda: now[0])
    assert limiter.take("a") is None and limiter.take("a") is None
    wait = limiter.take("a")
    assert wait == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.take("a") is None
    assert limiter.take("b") is None
    assert RateLimiter.retry_after_header(0.01) == "1"
