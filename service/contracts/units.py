"""The unit–community pairing contract at the edge: JSON ⇄ :mod:`matcher.longterm.units`.

One marshmallow schema per object of ``docs/contracts/units.md``. Shapes, types and ranges are
checked here
(unknown fields are errors); references between objects by
:func:`matcher.longterm.units.validation.validate`. Every bad input becomes one
:class:`~matcher.errors.InvalidProblemError` with flat field paths
(``communities[3].needs[1].weight``).
"""

from __future__ import annotations

import os
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from matcher.longterm.units.answer import Answer
from matcher.longterm.units.problem import Community, Need, Options, Pin, Problem, Unit
from matcher.longterm.units.validation import validate as validate_problem
from service.contracts.dispatch import (
    MAX_DISTANCE_KM,
    MAX_SEED,
    MAX_TIME_LIMIT_S,
    MAX_WORKERS,
    LocationSchema,
    load_shape,
    read_json_document,
)
from service.contracts.fields import (
    MAX_LABEL_LENGTH,
    StrictFloat,
    StrictInteger,
    StrictList,
    StrictNested,
    StrictSchema,
    StrictString,
    above_at_most,
    between,
    label_field,
)

__all__ = ["ProblemSchema", "dump_answer", "dump_problem", "load_problem", "load_problem_file"]

MAX_SLOTS = 1000
"""The most communities a unit, or units a community, can be paired with."""
MAX_NEED_WEIGHT = 1000
"""The largest weight of a need (weights are whole numbers summed in the objective)."""


def _name_field() -> StrictString:
    """An optional display name of at most :data:`MAX_LABEL_LENGTH` characters."""
    too_long = f"must have at most {MAX_LABEL_LENGTH} characters"
    return StrictString(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_LABEL_LENGTH, error=too_long),
    )


class UnitSchema(StrictSchema):
    id = label_field(required=True)
    name = _name_field()
    location = StrictNested(LocationSchema, required=True)
    resources = StrictList(label_field(), load_default=())
    max_communities = StrictInteger(load_default=1, validate=between(1, MAX_SLOTS))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Unit:
        data["resources"] = tuple(data["resources"])
        return Unit(**data)


class NeedSchema(StrictSchema):
    category = label_field(required=True)
    weight = StrictInteger(load_default=1, validate=between(1, MAX_NEED_WEIGHT))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Need:
        return Need(**data)


class CommunitySchema(StrictSchema):
    id = label_field(required=True)
    name = _name_field()
    location = StrictNested(LocationSchema, required=True)
    needs = StrictNested(NeedSchema, many=True, load_default=())
    max_units = StrictInteger(load_default=None, allow_none=True, validate=between(1, MAX_SLOTS))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Community:
        data["needs"] = tuple(data["needs"])
        return Community(**data)


class PinSchema(StrictSchema):
    unit = label_field(required=True)
    community = label_field(required=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Pin:
        return Pin(**data)


class OptionsSchema(StrictSchema):
    units_per_community = StrictInteger(load_default=1, validate=between(1, MAX_SLOTS))
    max_distance_km = StrictFloat(
        load_default=None, allow_none=True, validate=above_at_most(0, MAX_DISTANCE_KM)
    )
    time_limit_s = StrictFloat(load_default=10.0, validate=above_at_most(0, MAX_TIME_LIMIT_S))
    seed = StrictInteger(load_default=0, validate=between(0, MAX_SEED))
    workers = StrictInteger(load_default=0, validate=between(0, MAX_WORKERS))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Options:
        return Options(**data)


class ProblemSchema(StrictSchema):
    """The whole problem document."""

    units = StrictNested(UnitSchema, many=True, required=True)
    communities = StrictNested(CommunitySchema, many=True, required=True)
    pinned = StrictNested(PinSchema, many=True, load_default=())
    options = StrictNested(OptionsSchema, load_default=Options)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Problem:
        return Problem(
            units=tuple(data["units"]),
            communities=tuple(data["communities"]),
            pinned=tuple(data["pinned"]),
            options=data["options"],
        )


# --------------------------------------------------------------------------------------------
# Answer (dump only: the verifier reads raw JSON)


class _PairOut(Schema):
    unit = fields.String()
    community = fields.String()
    distance_km = fields.Float()
    covers = fields.List(fields.String())


class _UncoveredOut(Schema):
    community = fields.String()
    need = fields.String()
    weight = fields.Integer()
    reason = fields.String()
    detail = fields.String()


class _UnpairedOut(Schema):
    unit = fields.String()
    reason = fields.String()
    detail = fields.String()


class _OpenSlotsOut(Schema):
    community = fields.String()
    open_slots = fields.Integer()
    reason = fields.String()
    detail = fields.String()


class _StatsOut(Schema):
    objective = fields.Float()
    bound = fields.Float()
    coverage = fields.Integer()
    need_weight = fields.Integer()
    pairs = fields.Integer()
    max_pairs = fields.Integer()
    distance_km = fields.Float()
    candidates = fields.Integer()
    solve_s = fields.Float()


class AnswerSchema(Schema):
    status = fields.String()
    pairs = fields.List(fields.Nested(_PairOut))
    uncovered = fields.List(fields.Nested(_UncoveredOut))
    unpaired = fields.List(fields.Nested(_UnpairedOut))
    open_slots = fields.List(fields.Nested(_OpenSlotsOut))
    stats = fields.Nested(_StatsOut)


# --------------------------------------------------------------------------------------------
# Public API


def load_problem(data: object) -> Problem:
    """Check JSON-like data against the pairing contract and build a :class:`Problem`.

    Raises:
        InvalidProblemError: Every shape, type, range and reference error by field path.
    """
    problem: Problem = load_shape(ProblemSchema(), data)
    validate_problem(problem)
    return problem


def load_problem_file(path: str | os.PathLike[str]) -> Problem:
    """Read a pairing problem from a JSON file; see :func:`load_problem`."""
    return load_problem(read_json_document(path))


def dump_problem(problem: Problem) -> dict[str, Any]:
    """The JSON-ready form of a pairing problem."""
    result: dict[str, Any] = ProblemSchema().dump(problem)
    return result


def dump_answer(answer: Answer) -> dict[str, Any]:
    """The JSON-ready form of a pairing answer."""
    result: dict[str, Any] = AnswerSchema().dump(answer)
    return result
