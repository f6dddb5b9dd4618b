"""API keys on every endpoint but the health checks and the API documentation.

Runs before each request: unknown routes and wrong methods fall through to their 404/405; public
endpoints pass; everything else needs a valid ``X-API-Key`` (401 otherwise) and a token from the
client's rate-limit bucket (429 with ``Retry-After`` otherwise).
"""

from __future__ import annotations

from flask import current_app, g, request

from service.dispatching import Client
from service.errors import fail
from service.keys import find_client

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
    }
)

_CHALLENGE = {"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'}


def current_client() -> Client:
    """The authenticated client of this request."""
    client: Client = g.api_client
    return client


def authenticate() -> None:
    """``before_request``: set ``g.api_client`` or abort with 401/429."""
    if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return
    state = current_app.extensions["linli"]
    key = request.headers.get(API_KEY_HEADER, "")
    if not key:
        fail(
            401,
            f"An API key is required in the {API_KEY_HEADER} header.",
            headers=_CHALLENGE,
        )
    with state.sessions() as session:
        row = find_client(session, key)
        client = (
            None
            if row is None
            else Client(id=row.id, name=row.name, communities=tuple(row.communities or ()))
        )
    if client is None:
        fail(401, "The API key is not valid.", headers=_CHALLENGE)
    g.api_client = client
    if state.rate_limiter is not None:
        wait_s = state.rate_limiter.take(client.id)
        if wait_s is not None:
            fail(
                429,
                "Too many requests for this API key; retry later.",
                headers={"Retry-After": state.rate_limiter.retry_after_header(wait_s)},
            )
