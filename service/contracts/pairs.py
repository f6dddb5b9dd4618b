"""The hand-in-hand contract at the edge: JSON ⇄ :mod:`matcher.longterm.pairs` problem and answer.

One marshmallow schema per object of ``docs/contracts/pairs.md``. Shapes, types and ranges are
checked here
(unknown fields are errors — in particular no names or phone numbers of residents are accepted);
references between objects by :func:`matcher.longterm.pairs.validation.validate`. Every bad input
becomes one :class:`~matcher.errors.InvalidProblemError` with flat field paths
(``residents[12].needs[1]``, ``existing_pairs[3].resident``).
"""

from __future__ import annotations

import os
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from matcher.longterm.pairs.answer import PairAnswer
from matcher.longterm.pairs.problem import (
    MAX_VULNERABILITY,
    PROXIES,
    VULNERABLE_GROUPS,
    ExistingPair,
    PairMember,
    PairOptions,
    PairProblem,
    Resident,
)
from matcher.longterm.pairs.validation import validate as validate_problem
from service.contracts.dispatch import (
    MAX_DISTANCE_KM,
    MAX_SEED,
    MAX_TIME_LIMIT_S,
    LocationSchema,
    load_shape,
    read_json_document,
)
from service.contracts.fields import (
    StrictFloat,
    StrictInteger,
    StrictList,
    StrictNested,
    StrictSchema,
    StrictString,
    above_at_most,
    between,
    label_field,
    one_of,
)

__all__ = [
    "PairProblemSchema",
    "dump_answer",
    "dump_problem",
    "load_problem",
    "load_problem_file",
]

MAX_RESIDENTS_PER_MEMBER = 20
"""The most residents one member can look after (as in the workspace's pairing runs)."""


def names_field(**kwargs: Any) -> StrictList:
    return StrictList(label_field(), **kwargs)


def _choices(choices: tuple[str, ...], **kwargs: Any) -> StrictList:
    return StrictList(StrictString(validate=one_of(choices)), **kwargs)


class ResidentSchema(StrictSchema):
    id = label_field(required=True)
    community = label_field(required=True)
    location = StrictNested(LocationSchema, required=True)
    groups = _choices(
        VULNERABLE_GROUPS,
        required=True,
        validate=validate.Length(min=1, error="must name at least one vulnerable group"),
    )
    needs = _choices(PROXIES, required=True)
    skills = names_field(load_default=())
    vulnerability = StrictInteger(required=True, validate=between(1, MAX_VULNERABILITY))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Resident:
        for name in ("groups", "needs", "skills"):
            data[name] = tuple(data[name])
        return Resident(**data)


class PairMemberSchema(StrictSchema):
    id = label_field(required=True)
    community = label_field(required=True)
    location = StrictNested(LocationSchema, required=True)
    skills = names_field(load_default=())
    proxies = _choices(PROXIES, load_default=PROXIES)
    max_residents = StrictInteger(
        load_default=None, allow_none=True, validate=between(0, MAX_RESIDENTS_PER_MEMBER)
    )
    max_distance_km = StrictFloat(
        load_default=None, allow_none=True, validate=above_at_most(0, MAX_DISTANCE_KM)
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> PairMember:
        data["skills"] = tuple(data["skills"])
        data["proxies"] = tuple(data["proxies"])
        return PairMember(**data)


class ExistingPairSchema(StrictSchema):
    resident = label_field(required=True)
    member = label_field(required=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ExistingPair:
        return ExistingPair(**data)


class PairOptionsSchema(StrictSchema):
    time_limit_s = StrictFloat(
        load_default=PairOptions.time_limit_s, validate=above_at_most(0, MAX_TIME_LIMIT_S)
    )
    seed = StrictInteger(load_default=0, validate=between(0, MAX_SEED))
    max_residents_per_member = StrictInteger(
        load_default=PairOptions.max_residents_per_member,
        validate=between(0, MAX_RESIDENTS_PER_MEMBER),
    )
    max_distance_km = StrictFloat(
        load_default=PairOptions.max_distance_km, validate=above_at_most(0, MAX_DISTANCE_KM)
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> PairOptions:
        return PairOptions(**data)


class PairProblemSchema(StrictSchema):
    """The whole problem document."""

    residents = StrictNested(ResidentSchema, many=True, required=True)
    members = StrictNested(PairMemberSchema, many=True, required=True)
    existing_pairs = StrictNested(ExistingPairSchema, many=True, load_default=())
    options = StrictNested(PairOptionsSchema, load_default=PairOptions)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> PairProblem:
        for name in ("residents", "members", "existing_pairs"):
            data[name] = tuple(data[name])
        return PairProblem(**data)


# --------------------------------------------------------------------------------------------
# Answer (dump only: the verifier reads raw JSON)
# --------------------------------------------------------------------------------------------


class _PairSchema(Schema):
    resident = fields.String()
    member = fields.String()
    distance_km = fields.Float()
    kept = fields.Boolean()


class _UnpairedSchema(Schema):
    resident = fields.String()
    reason = fields.String()
    detail = fields.String()


class _DroppedSchema(Schema):
    resident = fields.String()
    member = fields.String()
    reason = fields.String()
    detail = fields.String()


class _StatsSchema(Schema):
    objective = fields.Float()
    bound = fields.Float()
    gap = fields.Float()
    paired = fields.Integer()
    kept = fields.Integer()
    new = fields.Integer()
    unpaired = fields.Integer()
    dropped = fields.Integer()
    unpaired_vulnerability = fields.Integer()
    distance_km = fields.Float()
    candidates = fields.Integer()
    solve_s = fields.Float()


class PairAnswerSchema(Schema):
    status = fields.String()
    pairs = fields.List(fields.Nested(_PairSchema))
    unpaired = fields.List(fields.Nested(_UnpairedSchema))
    dropped = fields.List(fields.Nested(_DroppedSchema))
    stats = fields.Nested(_StatsSchema)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def load_problem(data: object) -> PairProblem:
    """Check JSON-like data against the hand-in-hand contract and build a :class:`PairProblem`.

    Raises:
        InvalidProblemError: Every shape, type and range error by field path; or, if the shape
            is right, every reference error :func:`validate` finds.
    """
    problem: PairProblem = load_shape(PairProblemSchema(), data)
    validate_problem(problem)
    return problem


def load_problem_file(path: str | os.PathLike[str]) -> PairProblem:
    """Read a hand-in-hand problem from a JSON file; see :func:`load_problem`."""
    return load_problem(read_json_document(path))


def dump_problem(problem: PairProblem) -> dict[str, Any]:
    """The JSON-ready form of a hand-in-hand problem."""
    result: dict[str, Any] = PairProblemSchema().dump(problem)
    return result


def dump_answer(answer: PairAnswer) -> dict[str, Any]:
    """The JSON-ready form of a hand-in-hand answer."""
    result: dict[str, Any] = PairAnswerSchema().dump(answer)
    return result
