"""The dispatch contract at the edge: JSON ⇄ :mod:`matcher.dispatch.problem` /
:mod:`matcher.dispatch.answer`.

One marshmallow schema per object of ``shared/spec/dispatch.md``. The schemas check shape, types
and ranges (unknown fields are rejected) and load straight into the frozen dataclasses, so
``ProblemSchema().load(json_dict)`` returns a :class:`~matcher.dispatch.problem.Problem` and
``AnswerSchema().dump(answer)`` writes JSON-ready data. References between objects (unique ids,
known members and teams, pins that break rules) are checked afterwards by
:func:`matcher.dispatch.validation.validate_problem`; :func:`load_problem` runs both.

Every bad input becomes one :class:`~matcher.errors.InvalidProblemError` whose ``errors`` map a
flat field path (``demands[17].window.end``, ``$`` for the document itself) to its messages.

Works with marshmallow 3.20+ and 4.x.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from matcher.dispatch.answer import REASONS, STATUSES, Answer, Assignment, Load, Stats, Unassigned
from matcher.dispatch.problem import (
    Demand,
    Interval,
    Location,
    Member,
    Options,
    Pin,
    Problem,
    Team,
    UnitPair,
    Weights,
)
from matcher.dispatch.validation import validate_problem
from matcher.errors import InvalidProblemError

__all__ = [
    "AnswerSchema",
    "AssignmentSchema",
    "DemandSchema",
    "IntervalSchema",
    "LoadSchema",
    "LocationSchema",
    "MemberSchema",
    "OptionsSchema",
    "PinSchema",
    "ProblemSchema",
    "StatsSchema",
    "TeamSchema",
    "UnassignedSchema",
    "WeightsSchema",
    "dump_answer",
    "dump_problem",
    "flatten_errors",
    "load_answer",
    "load_answer_file",
    "load_problem",
    "load_problem_file",
]

ROOT = "$"
"""The path of the whole document in :attr:`InvalidProblemError.errors`."""

_EPS_HOURS = 1e-9

# --------------------------------------------------------------------------------------------
# Strict fields: JSON types only, one precise message per failure.
# --------------------------------------------------------------------------------------------

# marshmallow merges ``default_error_messages`` along the class hierarchy (hence RUF012 noqa).
_COMMON_MESSAGES = {"required": "is required", "null": "must not be null"}


class _String(fields.String):
    default_error_messages = {  # noqa: RUF012
        **_COMMON_MESSAGES,
        "invalid": "must be a string",
    }


class _Float(fields.Float):
    """A finite JSON number (int or float, never a bool, a string, NaN or ±Infinity)."""

    default_error_messages = {  # noqa: RUF012
        **_COMMON_MESSAGES,
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


class _Integer(fields.Integer):
    """A JSON integer (never a bool, a float such as ``3.0`` or a string)."""

    default_error_messages = {  # noqa: RUF012
        **_COMMON_MESSAGES,
        "invalid": "must be an integer",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return int(value)


class _Boolean(fields.Boolean):
    """A JSON ``true`` or ``false`` (not ``"yes"``, ``1`` or ``"true"``)."""

    default_error_messages = {  # noqa: RUF012
        **_COMMON_MESSAGES,
        "invalid": "must be true or false",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class _DateTime(fields.AwareDateTime):
    """An ISO 8601 date-time with a UTC offset; dumped with the same offset it was given."""

    default_error_messages = {  # noqa: RUF012
        **_COMMON_MESSAGES,
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


class _List(fields.List):
    default_error_messages = {  # noqa: RUF012
        **_COMMON_MESSAGES,
        "invalid": "must be a list",
    }


class _Nested(fields.Nested):
    # "type" is raised only with many=True, when the value is not a list.
    default_error_messages = {  # noqa: RUF012
        **_COMMON_MESSAGES,
        "type": "must be a list",
    }


def _id(**kwargs: Any) -> _String:
    return _String(validate=validate.Length(min=1, error="must not be empty"), **kwargs)


def _names(**kwargs: Any) -> _List:
    """A list of non-empty strings (skills, categories, member ids)."""
    return _List(_id(), **kwargs)


def _at_least(low: float) -> validate.Range:
    return validate.Range(min=low, error=f"must be at least {low:g}")


def _greater_than(low: float) -> validate.Range:
    return validate.Range(min=low, min_inclusive=False, error=f"must be greater than {low:g}")


def _between(low: float, high: float) -> validate.Range:
    return validate.Range(min=low, max=high, error=f"must be between {low:g} and {high:g}")


def _one_of(choices: Iterable[str]) -> validate.OneOf:
    return validate.OneOf(tuple(choices), error="must be one of: {choices}")


class _StrictSchema(Schema):
    """Unknown fields are errors; a non-object where an object belongs is an error."""

    class Meta:
        unknown = RAISE

    error_messages = {  # noqa: RUF012
        "unknown": "unknown field",
        "type": "must be a JSON object",
    }


def _tuples(data: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if name in data:
            data[name] = tuple(data[name])
    return data


# --------------------------------------------------------------------------------------------
# Problem
# --------------------------------------------------------------------------------------------


class LocationSchema(_StrictSchema):
    """WGS84 degrees: ``{"lat": 34.7466, "lon": 113.6253}``."""

    lat = _Float(required=True, validate=_between(-90, 90))
    lon = _Float(required=True, validate=_between(-180, 180))

    @post_load
    def make_location(self, data: dict[str, Any], **kwargs: Any) -> Location:
        return Location(**data)


class IntervalSchema(_StrictSchema):
    """A half-open interval ``[start, end)``; ``end`` must be after ``start``."""

    start = _DateTime(required=True)
    end = _DateTime(required=True)

    @validates_schema(skip_on_field_errors=False)
    def check_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and end <= start:
            raise ValidationError("must be after start", field_name="end")

    @post_load
    def make_interval(self, data: dict[str, Any], **kwargs: Any) -> Interval:
        return Interval(**data)


class MemberSchema(_StrictSchema):
    """A member: home, skills, free time, capacity and (optional) range, wishes, reliability.

    Overlapping availability is reported by :func:`matcher.dispatch.validation.validate_problem`.
    """

    id = _id(required=True)
    location = _Nested(LocationSchema, required=True)
    skills = _names(required=True)
    availability = _Nested(IntervalSchema, many=True, required=True)
    capacity_hours = _Float(required=True, validate=_at_least(0))
    max_distance_km = _Float(load_default=None, allow_none=True, validate=_greater_than(0))
    preferences = _names(load_default=tuple)
    reliability = _Float(load_default=1.0, validate=_between(0, 1))
    unit = _id(load_default=None, allow_none=True)

    @post_load
    def make_member(self, data: dict[str, Any], **kwargs: Any) -> Member:
        return Member(**_tuples(data, "skills", "availability", "preferences"))


class TeamSchema(_StrictSchema):
    """A standing team (members and leader are checked by ``validate_problem``)."""

    id = _id(required=True)
    members = _names(
        required=True, validate=validate.Length(min=1, error="must list at least one member")
    )
    leader = _id(load_default=None, allow_none=True)

    @post_load
    def make_team(self, data: dict[str, Any], **kwargs: Any) -> Team:
        return Team(**_tuples(data, "members"))


class PinSchema(_StrictSchema):
    """An assignment already accepted: these members, at this start.

    Crew size, known members and the contract's rules are checked by ``validate_problem``.
    """

    members = _names(
        required=True, validate=validate.Length(min=1, error="must list at least one member")
    )
    start = _DateTime(required=True)

    @post_load
    def make_pin(self, data: dict[str, Any], **kwargs: Any) -> Pin:
        return Pin(**_tuples(data, "members"))


class DemandSchema(_StrictSchema):
    """A resident's demand: what, where, when, how long, how urgent, and who may serve it."""

    id = _id(required=True)
    category = _id(required=True)
    skills = _names(required=True)  # may be empty: a task anyone can do
    location = _Nested(LocationSchema, required=True)
    window = _Nested(IntervalSchema, required=True)
    duration_hours = _Float(required=True, validate=_greater_than(0))
    priority = _Integer(
        required=True,
        validate=validate.Range(min=1, max=5, error="must be an integer from 1 to 5"),
    )
    crew_size = _Integer(load_default=1, validate=_at_least(1))
    team_only = _Boolean(load_default=False)
    resident = _id(load_default=None, allow_none=True)
    preferred_members = _names(load_default=tuple)
    pinned = _Nested(PinSchema, load_default=None, allow_none=True)
    community = _id(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def check_duration(self, data: dict[str, Any], **kwargs: Any) -> None:
        window = data.get("window")  # a dict, not an Interval, if the window has errors
        duration = data.get("duration_hours")
        if (
            isinstance(window, Interval)
            and duration is not None
            and duration > window.hours + _EPS_HOURS
        ):
            raise ValidationError(
                f"is longer than the window ({duration:g} h > {window.hours:g} h)",
                field_name="duration_hours",
            )

    @post_load
    def make_demand(self, data: dict[str, Any], **kwargs: Any) -> Demand:
        return Demand(**_tuples(data, "skills", "preferred_members"))


class WeightsSchema(_StrictSchema):
    """Objective weights; each is optional and at least 0."""

    unassigned = _Float(load_default=100.0, validate=_at_least(0))
    distance = _Float(load_default=1.0, validate=_at_least(0))
    preference = _Float(load_default=2.0, validate=_at_least(0))
    continuity = _Float(load_default=5.0, validate=_at_least(0))
    reliability = _Float(load_default=10.0, validate=_at_least(0))
    fairness = _Float(load_default=1.0, validate=_at_least(0))
    paired_unit = _Float(load_default=2.0, validate=_at_least(0))

    @post_load
    def make_weights(self, data: dict[str, Any], **kwargs: Any) -> Weights:
        return Weights(**data)


class UnitPairSchema(_StrictSchema):
    """A unit paired with a community (结对共建): its members are preferred for the community's
    demands by ``weights.paired_unit``."""

    unit = _id(required=True)
    community = _id(required=True)

    @post_load
    def make_pair(self, data: dict[str, Any], **kwargs: Any) -> UnitPair:
        return UnitPair(**data)


class OptionsSchema(_StrictSchema):
    """Solver options; each is optional."""

    time_limit_s = _Float(load_default=10.0, validate=_greater_than(0))
    seed = _Integer(load_default=0, validate=_at_least(0))
    workers = _Integer(load_default=0, validate=_at_least(0))
    max_distance_km = _Float(load_default=5.0, validate=_greater_than(0))
    changeover_minutes = _Float(load_default=15.0, validate=_at_least(0))
    time_step_minutes = _Float(load_default=15.0, validate=_greater_than(0))
    weights = _Nested(WeightsSchema, load_default=Weights)
    unit_pairs = _Nested(UnitPairSchema, many=True, load_default=tuple)

    @post_load
    def make_options(self, data: dict[str, Any], **kwargs: Any) -> Options:
        return Options(**_tuples(data, "unit_pairs"))


class ProblemSchema(_StrictSchema):
    """The whole problem: members, demands, optional teams and options."""

    members = _Nested(MemberSchema, many=True, required=True)
    teams = _Nested(TeamSchema, many=True, load_default=tuple)
    demands = _Nested(DemandSchema, many=True, required=True)
    options = _Nested(OptionsSchema, load_default=Options)

    @post_load
    def make_problem(self, data: dict[str, Any], **kwargs: Any) -> Problem:
        return Problem(**_tuples(data, "members", "teams", "demands"))


# --------------------------------------------------------------------------------------------
# Answer
# --------------------------------------------------------------------------------------------


class AssignmentSchema(_StrictSchema):
    """One assigned demand: its crew, start, end and each member's distance."""

    demand = _id(required=True)
    members = _names(
        required=True, validate=validate.Length(min=1, error="must list at least one member")
    )
    team = _id(load_default=None, allow_none=True)
    start = _DateTime(required=True)
    end = _DateTime(required=True)
    distance_km = _List(_Float(validate=_at_least(0)), required=True)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def check_assignment(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and end <= start:
            errors["end"] = ["must be after start"]
        # The raw lists: after an item error the loaded lists may be shorter.
        raw = original if isinstance(original, Mapping) else {}
        members, distances = raw.get("members"), raw.get("distance_km")
        if (
            isinstance(members, list)
            and isinstance(distances, list)
            and len(members) != len(distances)
        ):
            errors["distance_km"] = [
                f"must have one distance per member ({len(members)}), not {len(distances)}"
            ]
        if errors:
            raise ValidationError(errors)

    @post_load
    def make_assignment(self, data: dict[str, Any], **kwargs: Any) -> Assignment:
        return Assignment(**_tuples(data, "members", "distance_km"))


class UnassignedSchema(_StrictSchema):
    """A demand left out, why, and a sentence a dispatcher can read."""

    demand = _id(required=True)
    reason = _String(required=True, validate=_one_of(REASONS))
    detail = _String(required=True)

    @post_load
    def make_unassigned(self, data: dict[str, Any], **kwargs: Any) -> Unassigned:
        return Unassigned(**data)


class LoadSchema(_StrictSchema):
    """A member's assigned hours and number of tasks."""

    member = _id(required=True)
    hours = _Float(required=True, validate=_at_least(0))
    tasks = _Integer(required=True, validate=_at_least(0))

    @post_load
    def make_load(self, data: dict[str, Any], **kwargs: Any) -> Load:
        return Load(**data)


class StatsSchema(_StrictSchema):
    """Solver statistics; each is optional."""

    candidates = _Integer(load_default=0, validate=_at_least(0))
    components = _Integer(load_default=0, validate=_at_least(0))
    build_s = _Float(load_default=0.0, validate=_at_least(0))
    solve_s = _Float(load_default=0.0, validate=_at_least(0))
    greedy_objective = _Float(load_default=None, allow_none=True)
    method = _String(load_default="")
    search_s = _Float(load_default=0.0, validate=_at_least(0))
    neighbourhoods = _Integer(load_default=0, validate=_at_least(0))
    moves = _Integer(load_default=0, validate=_at_least(0))

    @post_load
    def make_stats(self, data: dict[str, Any], **kwargs: Any) -> Stats:
        return Stats(**data)


class AnswerSchema(_StrictSchema):
    """The engine's answer: status, objective and bound, assignments, unassigned, load."""

    status = _String(required=True, validate=_one_of(STATUSES))
    objective = _Float(required=True)
    bound = _Float(required=True)
    gap = _Float(required=True, validate=_at_least(0))
    assignments = _Nested(AssignmentSchema, many=True, load_default=tuple)
    unassigned = _Nested(UnassignedSchema, many=True, load_default=tuple)
    # "load" would hide Schema.load: the field keeps its JSON name through data_key/attribute.
    load_ = _Nested(LoadSchema, many=True, load_default=tuple, data_key="load", attribute="load")
    stats = _Nested(StatsSchema, load_default=Stats)

    @post_load
    def make_answer(self, data: dict[str, Any], **kwargs: Any) -> Answer:
        return Answer(**_tuples(data, "assignments", "unassigned", "load"))


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _child(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def flatten_errors(messages: object) -> dict[str, list[str]]:
    """Turn marshmallow's nested error messages into flat field paths.

    ``{"demands": {17: {"window": {"end": ["..."]}}}}`` becomes
    ``{"demands[17].window.end": ["..."]}``. A ``_schema`` key belongs to the object that holds
    it; at the top it (like a bare list of messages) belongs to the document, path ``"$"``.
    """
    flat: dict[str, list[str]] = {}
    # Depth-first, children in their given order.
    stack: list[tuple[str, object]] = [("", messages)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, Mapping):
            children = [
                (path if key == "_schema" else _child(path, key), value)
                for key, value in node.items()
            ]
            stack.extend(reversed(children))
        elif isinstance(node, list | tuple):
            texts = [item for item in node if not isinstance(item, Mapping)]
            if texts:
                flat.setdefault(path or ROOT, []).extend(str(text) for text in texts)
            stack.extend((path, item) for item in reversed(node) if isinstance(item, Mapping))
        else:
            flat.setdefault(path or ROOT, []).append(str(node))
    return flat


def load_shape(schema: Schema, data: object) -> Any:
    """``schema.load(data)``, every shape, type and range error as one
    :class:`InvalidProblemError` with flat field paths (shared by every contract's edge)."""
    raw: Any = data
    try:
        return schema.load(raw)
    except ValidationError as err:
        raise InvalidProblemError(flatten_errors(err.messages)) from err


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def load_problem(data: object) -> Problem:
    """Check JSON-like data against the contract and build a
    :class:`~matcher.dispatch.problem.Problem`.

    Args:
        data: The parsed JSON document (a dict).

    Returns:
        The problem, with tuples for lists and timezone-aware datetimes.

    Raises:
        InvalidProblemError: With every shape, type and range error (paths such as
            ``demands[17].window.end``); or, if the shape is right, with the reference errors
            :func:`matcher.dispatch.validation.validate_problem` finds.
    """
    problem: Problem = load_shape(ProblemSchema(), data)
    validate_problem(problem)
    return problem


def dump_problem(problem: Problem) -> dict[str, Any]:
    """The JSON-ready form of a problem (lists, ISO 8601 strings with their own offsets)."""
    result: dict[str, Any] = ProblemSchema().dump(problem)
    return result


def load_answer(data: object) -> Answer:
    """Check JSON-like data against the answer contract and build an :class:`Answer`.

    Raises:
        InvalidProblemError: With every shape, type and range error by field path.
    """
    answer: Answer = load_shape(AnswerSchema(), data)
    return answer


def dump_answer(answer: Answer) -> dict[str, Any]:
    """The JSON-ready form of an answer (lists, ISO 8601 strings with their own offsets)."""
    result: dict[str, Any] = AnswerSchema().dump(answer)
    return result


def load_problem_file(path: str | os.PathLike[str]) -> Problem:
    """Read a problem from a JSON file; see :func:`load_problem`.

    Raises:
        InvalidProblemError: ``{"$": [...]}`` if the file cannot be read or is not valid JSON
            (``NaN`` and ``Infinity`` are not JSON, and are reported at their field path), or
            any error of :func:`load_problem`.
    """
    return load_problem(_read_json(path))


def load_answer_file(path: str | os.PathLike[str]) -> Answer:
    """Read an answer from a JSON file; errors as for :func:`load_problem_file`."""
    return load_answer(_read_json(path))


class _NonFinite:
    """What ``NaN``/``Infinity``/``-Infinity`` parse to, so they can be found and reported."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token


def _read_json(path: str | os.PathLike[str]) -> object:
    seen: list[str] = []

    def parse_constant(token: str) -> _NonFinite:
        seen.append(token)
        return _NonFinite(token)

    try:
        with open(path, "rb") as stream:
            data = json.load(stream, parse_constant=parse_constant)
    except OSError as err:
        message = f"cannot read file: {os.fspath(path)}: {err.strerror or err}"
        raise InvalidProblemError({ROOT: [message]}) from err
    except json.JSONDecodeError as err:
        message = f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}"
        raise InvalidProblemError({ROOT: [message]}) from err
    except UnicodeDecodeError as err:
        message = f"not valid JSON: not UTF-8 text ({err.reason} at byte {err.start})"
        raise InvalidProblemError({ROOT: [message]}) from err
    except RecursionError as err:
        raise InvalidProblemError({ROOT: ["not valid JSON: nested too deeply"]}) from err
    if seen:
        raise InvalidProblemError(_non_finite_paths(data))
    return data


def _non_finite_paths(data: object) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, _NonFinite):
            found[path or ROOT] = [
                f"{node.token} is not valid JSON; numbers must be finite",
            ]
        elif isinstance(node, dict):
            stack.extend((_child(path, k), v) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((_child(path, i), v) for i, v in reversed(list(enumerate(node))))
    return found
