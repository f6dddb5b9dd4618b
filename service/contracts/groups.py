"""The grouping contract at the edge: JSON ⇄ :mod:`matcher.longterm.groups` problem and answer.

One marshmallow schema per object of ``docs/contracts/groups.md``. Shapes, types and ranges are
checked here
(unknown fields are errors); references between objects by
:func:`matcher.longterm.groups.validation.validate`. Every bad input becomes one
:class:`~matcher.errors.InvalidProblemError` with flat field paths (``members[3].location.lat``,
``together[2][1]``).
"""

from __future__ import annotations

import os
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from matcher.longterm.groups.answer import GroupAnswer
from matcher.longterm.groups.problem import (
    GroupMember,
    GroupOptions,
    GroupProblem,
    GroupSize,
    GroupWeights,
)
from matcher.longterm.groups.validation import MIN_GROUP_SIZE
from matcher.longterm.groups.validation import validate as validate_problem
from service.contracts.dispatch import (
    MAX_DISTANCE_KM,
    MAX_SEED,
    MAX_TIME_LIMIT_S,
    MAX_WEIGHT,
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
    above_at_most,
    between,
    label_field,
)

__all__ = [
    "GroupProblemSchema",
    "dump_answer",
    "dump_problem",
    "load_problem",
    "load_problem_file",
]

MAX_GROUP_SIZE = 200
"""The largest group (as in the workspace's grouping runs)."""


def names_field(**kwargs: Any) -> StrictList:
    return StrictList(label_field(), **kwargs)


def _pairs(**kwargs: Any) -> StrictList:
    """A list of two-member lists: ``[["m-1", "m-2"], ...]``."""
    two = validate.Length(equal=2, error="must name exactly two members")
    return StrictList(StrictList(label_field(), validate=two), **kwargs)


class GroupMemberSchema(StrictSchema):
    id = label_field(required=True)
    community = label_field(required=True)
    location = StrictNested(LocationSchema, required=True)
    industry = label_field(load_default=None, allow_none=True)
    posts = names_field(load_default=())
    preferences = names_field(load_default=())

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> GroupMember:
        data["posts"] = tuple(data["posts"])
        data["preferences"] = tuple(data["preferences"])
        return GroupMember(**data)


class GroupSizeSchema(StrictSchema):
    min = StrictInteger(
        load_default=GroupSize.min, validate=between(MIN_GROUP_SIZE, MAX_GROUP_SIZE)
    )
    max = StrictInteger(
        load_default=GroupSize.max, validate=between(MIN_GROUP_SIZE, MAX_GROUP_SIZE)
    )

    @validates_schema(skip_on_field_errors=True)
    def check_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["max"] < data["min"]:
            raise ValidationError(f"must not be below min ({data['min']})", field_name="max")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> GroupSize:
        return GroupSize(**data)


class GroupWeightsSchema(StrictSchema):
    distance = StrictFloat(load_default=GroupWeights.distance, validate=between(0, MAX_WEIGHT))
    industry = StrictFloat(load_default=GroupWeights.industry, validate=between(0, MAX_WEIGHT))
    interest = StrictFloat(load_default=GroupWeights.interest, validate=between(0, MAX_WEIGHT))
    unassigned = StrictFloat(load_default=GroupWeights.unassigned, validate=between(0, MAX_WEIGHT))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> GroupWeights:
        return GroupWeights(**data)


class GroupOptionsSchema(StrictSchema):
    time_limit_s = StrictFloat(
        load_default=GroupOptions.time_limit_s, validate=above_at_most(0, MAX_TIME_LIMIT_S)
    )
    seed = StrictInteger(load_default=0, validate=between(0, MAX_SEED))
    far_km = StrictFloat(
        load_default=GroupOptions.far_km, validate=above_at_most(0, MAX_DISTANCE_KM)
    )
    related_industry_similarity = StrictFloat(
        load_default=GroupOptions.related_industry_similarity, validate=between(0, 1)
    )
    weights = StrictNested(GroupWeightsSchema, load_default=GroupWeights)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> GroupOptions:
        return GroupOptions(**data)


class GroupProblemSchema(StrictSchema):
    """The whole problem document."""

    members = StrictNested(GroupMemberSchema, many=True, required=True)
    group_size = StrictNested(GroupSizeSchema, load_default=GroupSize)
    related_industries = _pairs(load_default=())
    together = _pairs(load_default=())
    apart = _pairs(load_default=())
    options = StrictNested(GroupOptionsSchema, load_default=GroupOptions)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> GroupProblem:
        data["members"] = tuple(data["members"])
        for name in ("related_industries", "together", "apart"):
            data[name] = tuple(tuple(pair) for pair in data[name])
        return GroupProblem(**data)


# --------------------------------------------------------------------------------------------
# Answer (dump only: the verifier reads raw JSON)
# --------------------------------------------------------------------------------------------


class _LocationOut(Schema):
    lat = fields.Float()
    lon = fields.Float()


class _IndustryCountSchema(Schema):
    industry = fields.String()
    members = fields.Integer()


class _GroupSchema(Schema):
    id = fields.String()
    community = fields.String()
    members = fields.List(fields.String())
    centre = fields.Nested(_LocationOut)
    radius_km = fields.Float()
    mean_distance_km = fields.Float()
    industries = fields.List(fields.Nested(_IndustryCountSchema))
    shared_interests = fields.List(fields.String())
    dissimilarity = fields.Float()
    summary = fields.String()


class _UnassignedSchema(Schema):
    member = fields.String()
    community = fields.String()
    reason = fields.String()
    detail = fields.String()


class _StatsSchema(Schema):
    objective = fields.Float()
    bound = fields.Float()
    gap = fields.Float()
    dissimilarity = fields.Float()
    unassigned = fields.Integer()
    groups = fields.Integer()
    communities = fields.Integer()
    exact_communities = fields.Integer()
    solve_s = fields.Float()
    method = fields.String()


class GroupAnswerSchema(Schema):
    status = fields.String()
    groups = fields.List(fields.Nested(_GroupSchema))
    unassigned = fields.List(fields.Nested(_UnassignedSchema))
    stats = fields.Nested(_StatsSchema)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def load_problem(data: object) -> GroupProblem:
    """Check JSON-like data against the grouping contract and build a :class:`GroupProblem`.

    Raises:
        InvalidProblemError: Every shape, type and range error by field path; or, if the shape
            is right, every reference error :func:`validate` finds.
    """
    problem: GroupProblem = load_shape(GroupProblemSchema(), data)
    validate_problem(problem)
    return problem


def load_problem_file(path: str | os.PathLike[str]) -> GroupProblem:
    """Read a grouping problem from a JSON file; see :func:`load_problem`."""
    return load_problem(read_json_document(path))


def dump_problem(problem: GroupProblem) -> dict[str, Any]:
    """The JSON-ready form of a grouping problem."""
    result: dict[str, Any] = GroupProblemSchema().dump(problem)
    return result


def dump_answer(answer: GroupAnswer) -> dict[str, Any]:
    """The JSON-ready form of a grouping answer."""
    result: dict[str, Any] = GroupAnswerSchema().dump(answer)
    return result
