"""The posts contract at the edge: JSON ⇄ :mod:`matcher.longterm.posts` problem and answer.

One marshmallow schema per object of ``docs/contracts/posts.md``. Shapes, types and ranges are
checked here
(unknown fields are errors); references between objects by
:func:`matcher.longterm.posts.validation.validate`. Every bad input becomes one
:class:`~matcher.errors.InvalidProblemError` with flat field paths (``members[12].choices[1]``).
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from matcher.longterm.posts.answer import Answer
from matcher.longterm.posts.problem import (
    MAX_CHOICES,
    MAX_DESIRED_SKILLS,
    MODES,
    Commitment,
    Member,
    Options,
    Post,
    Problem,
)
from matcher.longterm.posts.validation import validate as validate_problem
from service.contracts.dispatch import (
    MAX_SEED,
    MAX_TIME_LIMIT_S,
    load_shape,
    read_json_document,
)
from service.contracts.fields import (
    COMMON_MESSAGES,
    StrictBoolean,
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
    "ProblemSchema",
    "dump_answer",
    "dump_problem",
    "load_problem",
    "load_problem_file",
]

MAX_SEATS = 1000
"""The most seats a post can have (as in the workspace's posts)."""


class DateField(fields.Field):
    """An ISO ``YYYY-MM-DD`` date."""

    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be a date as YYYY-MM-DD",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or len(value) != 10:
            raise self.make_error("invalid")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.isoformat()


def names_field(*, most: int | None = None, what: str = "items", **kwargs: Any) -> StrictList:
    checks = (
        []
        if most is None
        else [validate.Length(max=most, error=f"must list at most {most} {what}")]
    )
    return StrictList(label_field(), validate=checks, **kwargs)


class CommitmentSchema(StrictSchema):
    """承诺: the service promised and its deadline."""

    service = label_field(required=True)
    deadline = DateField(required=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Commitment:
        return Commitment(**data)


class PostSchema(StrictSchema):
    id = label_field(required=True)
    community = label_field(required=True)
    category = label_field(required=True)
    title = label_field(required=True)
    seats = StrictInteger(required=True, validate=between(1, MAX_SEATS))
    skills = names_field(load_default=())
    desired_skills = names_field(load_default=(), most=MAX_DESIRED_SKILLS, what="skills")
    grid = label_field(load_default=None, allow_none=True)
    commitment = StrictNested(CommitmentSchema, load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Post:
        data["skills"] = tuple(data["skills"])
        data["desired_skills"] = tuple(data["desired_skills"])
        return Post(**data)


class MemberSchema(StrictSchema):
    id = label_field(required=True)
    community = label_field(required=True)
    skills = names_field(load_default=())
    preferences = names_field(load_default=())
    grid = label_field(load_default=None, allow_none=True)
    choices = names_field(load_default=(), most=MAX_CHOICES, what="posts")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Member:
        for name in ("skills", "preferences", "choices"):
            data[name] = tuple(data[name])
        return Member(**data)


class OptionsSchema(StrictSchema):
    mode = StrictString(load_default="optimal", validate=one_of(MODES))
    fill_unranked = StrictBoolean(load_default=False)
    time_limit_s = StrictFloat(load_default=10.0, validate=above_at_most(0, MAX_TIME_LIMIT_S))
    seed = StrictInteger(load_default=0, validate=between(0, MAX_SEED))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Options:
        return Options(**data)


class ProblemSchema(StrictSchema):
    """The whole problem document."""

    posts = StrictNested(PostSchema, many=True, required=True)
    members = StrictNested(MemberSchema, many=True, required=True)
    options = StrictNested(OptionsSchema, load_default=Options)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Problem:
        return Problem(
            posts=tuple(data["posts"]), members=tuple(data["members"]), options=data["options"]
        )


# --------------------------------------------------------------------------------------------
# Answer (dump only: the verifier reads raw JSON)


class _CommitmentOut(Schema):
    service = fields.String()
    deadline = DateField()


class _AllocationOut(Schema):
    member = fields.String()
    post = fields.String()
    rank = fields.Integer(allow_none=True)
    fit = fields.Integer()
    commitment = fields.Nested(_CommitmentOut, allow_none=True)


class _UnassignedOut(Schema):
    member = fields.String()
    reason = fields.String()
    detail = fields.String()


class _VacancyOut(Schema):
    post = fields.String()
    seats_left = fields.Integer()
    detail = fields.String()


class _StatsOut(Schema):
    objective = fields.Float()
    bound = fields.Float()
    members = fields.Integer()
    seekers = fields.Integer()
    placed = fields.Integer()
    placed_by_rank = fields.List(fields.Integer())
    filled = fields.Integer()
    unplaced = fields.Integer()
    rank_cost = fields.Integer()
    fit = fields.Integer()
    seats = fields.Integer()
    vacant_seats = fields.Integer()
    blocking_pairs = fields.Integer()
    blocking_members = fields.Integer()
    solve_s = fields.Float()


class AnswerSchema(Schema):
    status = fields.String()
    mode = fields.String()
    allocations = fields.List(fields.Nested(_AllocationOut))
    unassigned = fields.List(fields.Nested(_UnassignedOut))
    vacancies = fields.List(fields.Nested(_VacancyOut))
    stats = fields.Nested(_StatsOut)


# --------------------------------------------------------------------------------------------
# Public API


def load_problem(data: object) -> Problem:
    """Check JSON-like data against the posts contract and build a :class:`Problem`.

    Raises:
        InvalidProblemError: Every shape, type, range and reference error by field path.
    """
    problem: Problem = load_shape(ProblemSchema(), data)
    validate_problem(problem)
    return problem


def load_problem_file(path: str | os.PathLike[str]) -> Problem:
    """Read a posts problem from a JSON file; see :func:`load_problem`."""
    return load_problem(read_json_document(path))


def dump_problem(problem: Problem) -> dict[str, Any]:
    """The JSON-ready form of a posts problem."""
    result: dict[str, Any] = ProblemSchema().dump(problem)
    return result


def dump_answer(answer: Answer) -> dict[str, Any]:
    """The JSON-ready form of an allocation."""
    result: dict[str, Any] = AnswerSchema().dump(answer)
    return result
