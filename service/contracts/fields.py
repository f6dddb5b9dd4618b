"""Strict marshmallow fields for every contract: JSON types only, one precise message per failure.

The dispatch, visits and long-term contracts and the workspace's own schemas all build on these
(a string never coerced from a number, a float that is finite, a list that is a list, an object
schema that refuses unknown fields).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    fields,
    validate,
)

__all__ = [
    "COMMON_MESSAGES",
    "StrictBoolean",
    "StrictDateTime",
    "StrictFloat",
    "StrictInteger",
    "StrictList",
    "StrictNested",
    "StrictSchema",
    "StrictString",
    "at_least",
    "between",
    "greater_than",
    "id_field",
    "names_field",
    "one_of",
]

# --------------------------------------------------------------------------------------------
# Strict fields: JSON types only, one precise message per failure.
# --------------------------------------------------------------------------------------------

# marshmallow merges ``default_error_messages`` along the class hierarchy (hence RUF012 noqa).
COMMON_MESSAGES = {"required": "is required", "null": "must not be null"}


class StrictString(fields.String):
    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be a string",
    }


class StrictFloat(fields.Float):
    """A finite JSON number (int or float, never a bool, a string, NaN or ±Infinity)."""

    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be a number",
        "special": "must be a finite number, not NaN or Infinity",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            raise self.make_error("special") from None
        if not math.isfinite(number):
            raise self.make_error("special")
        return number


class StrictInteger(fields.Integer):
    """A JSON integer (never a bool, a float such as ``3.0`` or a string)."""

    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be an integer",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return int(value)


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false`` (not ``"yes"``, ``1`` or ``"true"``)."""

    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be true or false",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time with a UTC offset; dumped with the same offset it was given."""

    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be an ISO 8601 date-time such as 2026-12-05T09:00:00+08:00",
        "invalid_awareness": "must include a UTC offset",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.utcoffset() is None:
            raise self.make_error("invalid_awareness")
        return moment


class StrictList(fields.List):
    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be a list",
    }


class StrictNested(fields.Nested):
    # "type" is raised only with many=True, when the value is not a list.
    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "type": "must be a list",
    }


def id_field(**kwargs: Any) -> StrictString:
    return StrictString(validate=validate.Length(min=1, error="must not be empty"), **kwargs)


def names_field(**kwargs: Any) -> StrictList:
    """A list of non-empty strings (skills, categories, member ids)."""
    return StrictList(id_field(), **kwargs)


def at_least(low: float) -> validate.Range:
    return validate.Range(min=low, error=f"must be at least {low:g}")


def greater_than(low: float) -> validate.Range:
    return validate.Range(min=low, min_inclusive=False, error=f"must be greater than {low:g}")


def between(low: float, high: float) -> validate.Range:
    return validate.Range(min=low, max=high, error=f"must be between {low:g} and {high:g}")


def one_of(choices: Iterable[str]) -> validate.OneOf:
    return validate.OneOf(tuple(choices), error="must be one of: {choices}")


class StrictSchema(Schema):
    """Unknown fields are errors; a non-object where an object belongs is an error."""

    class Meta:
        unknown = RAISE

    error_messages = {  # noqa: RUF012
        "unknown": "unknown field",
        "type": "must be a JSON object",
    }
