"""The HTTP API: flask-smorest blueprints of ``MethodView``s over :mod:`service.web.dispatching`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import Request, current_app
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request

from service.contracts.fields import parse_float, parse_int
from service.domain.solving import Solver
from service.web.errors import ErrorSchema, fail

API_PREFIX = "/api/v1"


class _Parser(FlaskParser):
    """webargs' Flask parser with the service's messages for bodies that are not JSON."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return missing
        data = req.get_data(cache=True)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(
                f"Bytes decoding error : {exc.reason}", doc=str(exc.object), pos=exc.start
            ) from exc
        try:
            return json.loads(text, parse_int=parse_int, parse_float=parse_float)
        except RecursionError:
            fail(
                400,
                "The body is not valid JSON.",
                errors={"$": ["not valid JSON: nested too deeply"]},
            )

    def _handle_invalid_json_error(
        self,
        error: json.JSONDecodeError | UnicodeDecodeError,
        req: Request,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if isinstance(error, json.JSONDecodeError):
            detail = f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        else:
            detail = "not valid JSON: not UTF-8 text"
        fail(400, "The body is not valid JSON.", errors={"$": [detail]})


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint whose argument parser reports bad JSON in the error shape."""

    ARGUMENTS_PARSER = _Parser()

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        # A header is a string: document X-Pagination as one (it holds JSON).
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination as JSON: total, total_pages, first_page, last_page, "
            "page, previous_page, next_page",
            "schema": {"type": "string"},
        }

    def error_responses(self, *codes: int) -> Callable[[Any], Any]:
        """Document error responses (all in :class:`~service.web.errors.ErrorSchema`)."""

        def decorate(func: Any) -> Any:
            for code in reversed(codes):
                headers = None
                if code == 429:
                    headers = {
                        "Retry-After": {
                            "description": "seconds to wait",
                            "schema": {"type": "integer"},
                        }
                    }
                elif code == 405:
                    headers = {
                        "Allow": {"description": "allowed methods", "schema": {"type": "string"}}
                    }
                func = self.alt_response(code, schema=ErrorSchema, headers=headers)(func)
            return func

        return decorate


AUTH_ERRORS = (401, 429)


def current_solver() -> Solver:
    """The app's solver: every solve of the workspace a job of the one runner."""
    solver: Solver = current_app.extensions["linli"].solver
    return solver
