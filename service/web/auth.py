"""Who is asking: an API key (machines) or a login session (people), on every endpoint but
the health checks, the API documentation and the login itself.

Runs before each request: unknown routes and wrong methods fall through to their 404/405; public
endpoints pass; everything else needs a valid ``X-API-Key`` or a person's session cookie (401
otherwise) and a token from the caller's rate-limit bucket (429 with ``Retry-After`` otherwise).

A session-authenticated request that changes something (any method but GET, HEAD, OPTIONS) must
also carry the session's CSRF token, in the ``X-CSRF-Token`` header or a ``csrf_token`` form
field (403 otherwise): a cookie alone never authorises a change. API keys are not cookies and
need no token. The solver endpoints (raw dispatch problems, visit schedules, jobs) are for
machines: people reach the engine through the workspace.
"""

from __future__ import annotations

import hmac
import secrets

from flask import current_app, g, has_request_context, request, session

from service.config.identity import Client
from service.db.people import Person
from service.domain.keys import find_client
from service.domain.people import person_client, session_is_current
from service.web.errors import fail

API_KEY_HEADER = "X-API-Key"
SECURITY_SCHEME = "ApiKeyAuth"

PUBLIC_ENDPOINTS = frozenset(
    {
        "ops.Healthz",
        "ops.Readyz",
        "api-docs.openapi_json",
        "api-docs.openapi_swagger_ui",
        "api-docs.openapi_redoc",
        "docs_assets.swagger_ui",
        "docs_assets.redoc",
        "people.Login",
    }
)

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_ONLY_BLUEPRINTS = frozenset({"dispatch", "visits", "jobs"})
"""Endpoints whose records belong to an API client (jobs, idempotency records)."""
CONSOLE_BLUEPRINTS = frozenset({"console", "console_root"})
"""The console's pages check the login and the CSRF token themselves
(:func:`service.web.console.base.login_required`): logged out, a page redirects to the login
form."""

_CHALLENGE = {"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'}


def current_client() -> Client:
    """The authenticated client of this request."""
    client: Client = g.api_client
    return client


def new_csrf_token() -> str:
    """A fresh token for a new login session."""
    return secrets.token_urlsafe(32)


def _key_client(key: str) -> Client:
    with current_app.extensions["linli"].sessions() as db:
        row = find_client(db, key)
        client = (
            None
            if row is None
            else Client(id=row.id, name=row.name, communities=tuple(row.communities or ()))
        )
    if client is None:
        fail(401, "The API key is not valid.", headers=_CHALLENGE)
    return client


def _session_client() -> Client:
    person_id = session.get("person_id")
    if not isinstance(person_id, int):
        fail(
            401,
            f"An API key in the {API_KEY_HEADER} header, or a login session, is required.",
            headers=_CHALLENGE,
        )
    with current_app.extensions["linli"].sessions() as db:
        person = db.get(Person, person_id)
        current = person is not None and session_is_current(person, session.get("session_version"))
        client = person_client(db, person) if current and person is not None else None
    if client is None:
        session.clear()
        fail(401, "This login is no longer valid; log in again.")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
        expected = session.get("csrf", "")
        if not (sent and expected and hmac.compare_digest(str(sent), str(expected))):
            fail(403, f"A change needs the session's CSRF token ({CSRF_HEADER} header).")
    if request.blueprint in KEY_ONLY_BLUEPRINTS:
        fail(403, "The solver endpoints need an API key; people work through the workspace.")
    return client


def authenticate() -> None:
    """``before_request``: set ``g.api_client`` or abort with 401/403/429."""
    if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return
    if request.blueprint in CONSOLE_BLUEPRINTS:
        return
    state = current_app.extensions["linli"]
    key = request.headers.get(API_KEY_HEADER, "")
    client = _key_client(key) if key else _session_client()
    g.api_client = client
    if state.rate_limiter is not None:
        bucket = client.id if client.role == "client" else ("person", client.id)
        wait_s = state.rate_limiter.take(bucket)
        if wait_s is not None:
            fail(
                429,
                "Too many requests for this API key; retry later.",
                headers={"Retry-After": state.rate_limiter.retry_after_header(wait_s)},
            )


def current_actor() -> object | None:
    """The request's client for the audit trail, or ``None`` outside a request (the system)."""
    return g.get("api_client") if has_request_context() else None
