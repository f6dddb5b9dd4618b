"""The domain's own refusals: no Flask, no HTTP status.

A rule of the community that refuses a request raises one of these; the web layer maps each
kind to its HTTP status in one place (:func:`service.web.errors.handle_domain_error`) and the
console turns them into a flash message. ``errors`` maps a field path to its messages, as the API's
error body does. A refusal may also carry a ``reason`` (a stable code) and its ``params`` (the
numbers and times its sentence is built from), so that the console can say it in Chinese
(:data:`service.web.console.base.REFUSAL_TEXTS`) while the API keeps the English ``message``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "PlanRejected",
    "SolverUnavailable",
]


class DomainError(Exception):
    """A refusal by a rule of the community's workspace."""

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        reason: str | None = None,
        params: Mapping[str, str | float] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in (errors or {}).items()}
        self.reason = reason
        self.params: dict[str, str | float] = dict(params or {})


class NotFound(DomainError):
    """The record does not exist for this caller (outside its scope, or not at all)."""


class Forbidden(DomainError):
    """The record is in the caller's scope, but its role may not do this."""


class Conflict(DomainError):
    """The record's state does not allow this now (changed concurrently, already done)."""


class Invalid(DomainError):
    """The request names things that cannot go together (field paths in ``errors``)."""


class PlanRejected(DomainError):
    """The engine's plan failed its independent verification: nothing was written (our bug)."""


class SolverUnavailable(DomainError):
    """No solver answered: all were busy for too long, or the solve failed. Nothing was written."""
