"""One error shape for every 4xx and 5xx: ``{code, status, message, errors}``.

``errors`` maps a field path (``demands[17].window.end``, ``$`` for the whole document,
``query.status`` for a query parameter) to its messages; it is ``{}`` when no field is to blame.
Headers an error carries (``Allow`` on 405, ``Retry-After`` on 429, ``WWW-Authenticate`` on 401)
are kept. A 500 never shows a traceback: it is logged (without the request body, and without
the exception's message, which may quote request data) and answered with a fixed message.
"""

from __future__ import annotations

import http
import logging
import traceback
from collections.abc import Mapping
from typing import Any, NoReturn

from flask import Flask, Response, jsonify, request
from flask_smorest import abort
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

from matcher.errors import InvalidProblemError
from service.contracts.dispatch import flatten_errors
from service.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PlanRejected,
    SolverUnavailable,
)

log = logging.getLogger(__name__)

MAX_ERRORS = 100
"""At most this many field paths are listed in one error response."""


class ErrorSchema(Schema):
    """The body of every error response."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True, metadata={"description": "HTTP status name"})
    message = fields.String(required=True, metadata={"description": "What went wrong"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "Messages by field path (demands[17].window.end; $ = whole body)"},
    )


def fail(
    code: int,
    message: str,
    *,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> NoReturn:
    """Stop the request with an error response of the one shape (flask-smorest's ``abort``)."""
    kwargs: dict[str, Any] = {"message": message}
    if errors is not None:
        kwargs["errors"] = dict(errors)
    if headers is not None:
        kwargs["headers"] = dict(headers)
    abort(code, **kwargs)
    raise AssertionError("abort returned")  # pragma: no cover


def status_name(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def cap_errors(errors: Mapping[str, list[str]]) -> tuple[dict[str, list[str]], int]:
    """The first :data:`MAX_ERRORS` paths, and how many messages there were in all."""
    total = sum(len(messages) for messages in errors.values())
    capped = dict(list(errors.items())[:MAX_ERRORS])
    return {path: [str(m) for m in messages] for path, messages in capped.items()}, total


def error_body(
    code: int, message: str | None = None, errors: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {
        "code": code,
        "status": status_name(code),
        "message": message or status_name(code),
        "errors": dict(errors or {}),
    }


def error_response(
    code: int,
    message: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    response = jsonify(error_body(code, message, errors))
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_messages(messages: Any) -> dict[str, list[str]]:
    """webargs' ``{"json": {...}, "query": {...}}`` as flat field paths."""
    if not isinstance(messages, Mapping):
        return flatten_errors(messages)
    flat: dict[str, list[str]] = {}
    for location, nested in messages.items():
        for path, texts in flatten_errors(nested).items():
            if location != "json":
                path = location if path == "$" else f"{location}.{path}"
            flat.setdefault(path, []).extend(texts)
    return flat


def _invalid_message(total: int, shown: int) -> str:
    noun = "error" if total == 1 else "errors"
    text = f"The request is not valid: {total} {noun}"
    return text + (f"; the first {shown} fields are listed." if shown < total else ".")


def handle_http_exception(exc: HTTPException) -> Response:
    """Every ``HTTPException`` (including flask-smorest's ``abort``) in the one shape."""
    code = exc.code or 500
    if code >= 500 and not isinstance(exc, InternalServerError):
        log.error("%s %s answered %d", request.method, request.path, code)
    data: Mapping[str, Any] = getattr(exc, "data", None) or {}
    errors: dict[str, list[str]] = {}
    if "errors" in data:
        errors = dict(data["errors"])
    elif "messages" in data:
        errors = _flatten_messages(data["messages"])
    errors, total = cap_errors(errors)
    message = data.get("message")
    if message is None:
        if code == 422 and total:
            message = _invalid_message(total, len(errors))
        else:
            message = exc.description if code < 500 else None
    headers = {
        name: value
        for name, value in exc.get_headers()
        if name.lower() not in {"content-type", "content-length"}
    }
    headers.update(data.get("headers") or {})
    return error_response(code, message, errors, headers)


DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Invalid: 422,
    PlanRejected: 500,
    SolverUnavailable: 503,
}
"""The one place where the domain's refusals become HTTP statuses."""

REFUSALS = (HTTPException, DomainError)
"""What a console view catches around a change: the web's aborts and the domain's refusals."""


def status_of(exc: HTTPException | DomainError) -> int:
    """The HTTP status of a refusal (a domain error's by :data:`DOMAIN_STATUS`)."""
    if isinstance(exc, DomainError):
        return next((c for k, c in DOMAIN_STATUS.items() if isinstance(exc, k)), 500)
    return exc.code or 500


def refusal_message(exc: HTTPException | DomainError) -> str | None:
    """The sentence a refusal carries (``None`` if it has none)."""
    if isinstance(exc, DomainError):
        return exc.message
    data = getattr(exc, "data", None) or {}
    message = data.get("message") if isinstance(data, Mapping) else None
    return message if isinstance(message, str) else None


def refusal_errors(exc: HTTPException | DomainError) -> dict[str, list[str]]:
    """The field paths a refusal names, with their messages."""
    if isinstance(exc, DomainError):
        return exc.errors
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") if isinstance(data, Mapping) else None
    return dict(errors) if isinstance(errors, Mapping) else {}


def handle_domain_error(exc: DomainError) -> Response:
    """A refusal by the domain in the one shape; a rejected plan is logged as our bug."""
    code = status_of(exc)
    if code >= 500:
        log.error("%s %s: %s", request.method, request.path, type(exc).__name__)
        return error_response(code, exc.message)
    errors, _total = cap_errors(exc.errors)
    return error_response(code, exc.message, errors)


def handle_invalid_problem(exc: InvalidProblemError) -> Response:
    """A problem that breaks the contract: 422 listing every field (up to :data:`MAX_ERRORS`)."""
    errors, total = cap_errors(exc.errors)
    return error_response(422, _invalid_message(total, len(errors)), errors)


def handle_unexpected(exc: Exception) -> Response:
    """Anything else: logged with its stack (no message, no body), answered 500."""
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.path, stack)
    return error_response(500, "The server failed to handle this request.")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers (after flask-smorest's, which they replace)."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InvalidProblemError, handle_invalid_problem)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
