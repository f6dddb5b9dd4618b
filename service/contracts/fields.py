"""Strict marshmallow fields for every contract: JSON types only, one precise message per failure.

The dispatch, visits and long-term contracts and the workspace's own schemas all build on these
(a string never coerced from a number, a float that is finite, a list that is a list, an object
schema that refuses unknown fields).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    fields,
    validate,
)

__all__ = [
    "COMMON_MESSAGES",
    "MAX_DIGITS",
    "MAX_FLOAT",
    "MAX_INTEGER",
    "MAX_LABEL_LENGTH",
    "StrictBoolean",
    "StrictDateTime",
    "StrictFloat",
    "StrictInteger",
    "StrictList",
    "StrictNested",
    "StrictSchema",
    "StrictString",
    "TooLong",
    "above_at_most",
    "at_least",
    "between",
    "greater_than",
    "id_field",
    "label_field",
    "names_field",
    "one_of",
    "parse_float",
    "parse_int",
]

# --------------------------------------------------------------------------------------------
# Strict fields: JSON types only, one precise message per failure.
# --------------------------------------------------------------------------------------------

# marshmallow merges ``default_error_messages`` along the class hierarchy (hence RUF012 noqa).
COMMON_MESSAGES = {"required": "is required", "null": "must not be null"}

MAX_FLOAT = 1e12
"""No contract number is larger in magnitude: a field without a range of its own still cannot
carry a value the engine's arithmetic (seconds in int64, costs in float64) would overflow on."""

MAX_INTEGER = 2**53
"""No contract integer is larger in magnitude (the largest whole number a float holds exactly)."""

MAX_DIGITS = 30
"""A JSON number literal with more digits than this is refused where it stands (:class:`TooLong`)
instead of being parsed: Python's integer parser refuses beyond 4,300 digits with an error that
names no field, and such numbers are never meaningful here."""


class TooLong(float):
    """What the service's JSON parser reads for a number literal of more than
    :data:`MAX_DIGITS` digits: infinite, so every numeric field refuses it with its path."""

    def __new__(cls) -> TooLong:
        return super().__new__(cls, math.inf)


def parse_int(text: str) -> int | float:
    """``parse_int`` for :func:`json.loads`: a whole number, or :class:`TooLong`."""
    return int(text) if len(text) <= MAX_DIGITS else TooLong()


def parse_float(text: str) -> float:
    """``parse_float`` for :func:`json.loads`: a float, or :class:`TooLong`."""
    return float(text) if len(text) <= MAX_DIGITS + 10 else TooLong()


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
        "too_long": f"has more than {MAX_DIGITS} digits",
        "too_large": f"must be at most {MAX_FLOAT:g} in magnitude",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> float:
        if isinstance(value, TooLong):
            raise self.make_error("too_long")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, int) and abs(value) > MAX_FLOAT:
            raise self.make_error("too_large")
        number = float(value)
        if not math.isfinite(number):
            raise self.make_error("special")
        if abs(number) > MAX_FLOAT:
            raise self.make_error("too_large")
        return number


class StrictInteger(fields.Integer):
    """A JSON integer (never a bool, a float such as ``3.0`` or a string)."""

    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be an integer",
        "too_long": f"has more than {MAX_DIGITS} digits",
        "too_large": f"must be at most {MAX_INTEGER} in magnitude",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, TooLong):
            raise self.make_error("too_long")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        if abs(value) > MAX_INTEGER:
            raise self.make_error("too_large")
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


class StrictDate(fields.Date):
    """An ISO 8601 calendar date (``2026-12-05``) between the years 2000 and 2200."""

    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be an ISO 8601 date such as 2026-12-05",
        "range": "must be between the years 2000 and 2200",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> date:
        if not isinstance(value, str) or len(value) != 10:
            raise self.make_error("invalid")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if not 2000 <= day.year <= 2200:
            raise self.make_error("range")
        return day


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


MAX_LABEL_LENGTH = 200
"""The longest id, name or label of the long-term contracts, in characters."""


def label_field(**kwargs: Any) -> StrictString:
    """A non-empty string of at most :data:`MAX_LABEL_LENGTH` characters (an id, a title)."""
    return StrictString(
        validate=[
            validate.Length(min=1, error="must not be empty"),
            validate.Length(
                max=MAX_LABEL_LENGTH, error=f"must have at most {MAX_LABEL_LENGTH} characters"
            ),
        ],
        **kwargs,
    )


def names_field(**kwargs: Any) -> StrictList:
    """A list of non-empty strings (skills, categories, member ids)."""
    return StrictList(id_field(), **kwargs)


def at_least(low: float) -> validate.Range:
    return validate.Range(min=low, error=f"must be at least {low:g}")


def greater_than(low: float) -> validate.Range:
    return validate.Range(min=low, min_inclusive=False, error=f"must be greater than {low:g}")


def _number(value: float) -> str:
    """A bound as people write it: ``2147483647``, ``0.5``, ``1e+06``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def above_at_most(low: float, high: float) -> validate.Range:
    return validate.Range(
        min=low,
        max=high,
        min_inclusive=False,
        error=f"must be greater than {_number(low)} and at most {_number(high)}",
    )


def between(low: float, high: float) -> validate.Range:
    return validate.Range(
        min=low, max=high, error=f"must be between {_number(low)} and {_number(high)}"
    )


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
