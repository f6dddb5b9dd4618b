"""The dispatch contract at the edge: JSON ⇄ :mod:`matcher.dispatch.problem` /
:mod:`matcher.dispatch.answer`.

One marshmallow schema per object of ``docs/contracts/dispatch.md``. The schemas check shape, types
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
import os
from collections.abc import Mapping
from typing import Any

from marshmallow import (
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
from service.contracts.fields import (
    StrictBoolean,
    StrictDateTime,
    StrictFloat,
    StrictInteger,
    StrictList,
    StrictNested,
    StrictSchema,
    StrictString,
    above_at_most,
    at_least,
    between,
    id_field,
    names_field,
    one_of,
    parse_float,
    parse_int,
)

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

# The ranges of the contract's numbers: what the engine computes exactly (times in whole seconds
# in int64, costs in float64) with room to spare, and what a community could mean.
MAX_HOURS = 8784.0
"""Hours in a leap year: the most a capacity or a duration can be."""
MIN_DURATION_HOURS = 1 / 60
"""A task lasts at least a minute (a zero-length task would end where it starts)."""
MAX_DISTANCE_KM = 20000.0
"""Half the Earth's circumference: no distance on the sphere is longer."""
MAX_WEIGHT = 1e6
"""The largest weight of the objective (so every cost stays a finite float)."""
MAX_MINUTES = 1440.0
"""A day: the longest changeover or time step."""
MAX_TIME_LIMIT_S = 86400.0
MAX_CREW = 50
MAX_SEED = 2**31 - 1
MAX_WORKERS = 1024

ROOT = "$"
"""The path of the whole document in :attr:`InvalidProblemError.errors`."""

_EPS_HOURS = 1e-9


def _tuples(data: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if name in data:
            data[name] = tuple(data[name])
    return data


# --------------------------------------------------------------------------------------------
# Problem
# --------------------------------------------------------------------------------------------


class LocationSchema(StrictSchema):
    """WGS84 degrees: ``{"lat": 34.7466, "lon": 113.6253}``."""

    lat = StrictFloat(
        required=True,
        validate=between(-90, 90),
        metadata={"description": "Latitude in WGS84 degrees, from -90 (south) to 90 (north)"},
    )
    lon = StrictFloat(
        required=True,
        validate=between(-180, 180),
        metadata={"description": "Longitude in WGS84 degrees, from -180 (west) to 180 (east)"},
    )

    @post_load
    def make_location(self, data: dict[str, Any], **kwargs: Any) -> Location:
        return Location(**data)


class IntervalSchema(StrictSchema):
    """A half-open interval ``[start, end)``; ``end`` must be after ``start``."""

    start = StrictDateTime(
        required=True,
        metadata={
            "description": (
                "When the interval begins: an ISO 8601 date-time with its "
                "UTC offset (e.g. +08:00 times)"
            )
        },
    )
    end = StrictDateTime(
        required=True,
        metadata={
            "description": (
                "When the interval ends (after start): an ISO 8601 "
                "date-time with its UTC offset, e.g. +08:00"
            )
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def check_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and end <= start:
            raise ValidationError("must be after start", field_name="end")

    @post_load
    def make_interval(self, data: dict[str, Any], **kwargs: Any) -> Interval:
        return Interval(**data)


class MemberSchema(StrictSchema):
    """A member: home, skills, free time, capacity and (optional) range, wishes, reliability.

    Overlapping availability is reported by :func:`matcher.dispatch.validation.validate_problem`.
    """

    id = id_field(required=True, metadata={"description": "The member's id, unique in the problem"})
    location = StrictNested(LocationSchema, required=True)
    skills = names_field(
        required=True,
        metadata={"description": ("Skills the member holds (a demand's skills must all be held)")},
    )
    availability = StrictNested(
        IntervalSchema,
        many=True,
        required=True,
        metadata={
            "description": ("Time windows the member can serve in; tasks fit inside one of them")
        },
    )
    capacity_hours = StrictFloat(
        required=True,
        validate=between(0, MAX_HOURS),
        metadata={
            "description": (
                "The most hours of tasks the member takes in the problem's horizon, in hours"
            )
        },
    )
    max_distance_km = StrictFloat(
        load_default=None,
        allow_none=True,
        validate=above_at_most(0, MAX_DISTANCE_KM),
        metadata={
            "description": (
                "How far the member goes from home, in km (straight line); "
                "null: options.max_distance_km"
            )
        },
    )
    preferences = names_field(
        load_default=tuple,
        metadata={"description": "Demand categories the member prefers to serve"},
    )
    reliability = StrictFloat(
        load_default=1.0,
        validate=between(0, 1),
        metadata={
            "description": ("How reliably the member turns up, from 0 (never) to 1 (always)")
        },
    )
    unit = id_field(
        load_default=None,
        allow_none=True,
        metadata={
            "description": (
                "The id of the member's work unit (单位), if any; units pair with communities"
            )
        },
    )

    @post_load
    def make_member(self, data: dict[str, Any], **kwargs: Any) -> Member:
        return Member(**_tuples(data, "skills", "availability", "preferences"))


class TeamSchema(StrictSchema):
    """A standing team (members and leader are checked by ``validate_problem``)."""

    id = id_field(required=True, metadata={"description": "The team's id, unique in the problem"})
    members = names_field(
        required=True,
        validate=validate.Length(min=1, error="must list at least one member"),
        metadata={"description": "Ids of the team's members"},
    )
    leader = id_field(
        load_default=None,
        allow_none=True,
        metadata={"description": "The id of the team's leader, one of its members (optional)"},
    )

    @post_load
    def make_team(self, data: dict[str, Any], **kwargs: Any) -> Team:
        return Team(**_tuples(data, "members"))


class PinSchema(StrictSchema):
    """An assignment already accepted: these members, at this start.

    Crew size, known members and the contract's rules are checked by ``validate_problem``.
    """

    members = names_field(
        required=True,
        validate=validate.Length(min=1, error="must list at least one member"),
        metadata={
            "description": ("Ids of the members the task is pinned to (all of them serve it)")
        },
    )
    start = StrictDateTime(
        required=True,
        metadata={
            "description": (
                "When the pinned task starts: an ISO 8601 date-time with "
                "its UTC offset (+08:00 times)"
            )
        },
    )

    @post_load
    def make_pin(self, data: dict[str, Any], **kwargs: Any) -> Pin:
        return Pin(**_tuples(data, "members"))


class DemandSchema(StrictSchema):
    """A resident's demand: what, where, when, how long, how urgent, and who may serve it."""

    id = id_field(required=True, metadata={"description": "The demand's id, unique in the problem"})
    category = id_field(
        required=True,
        metadata={
            "description": ("What kind of help is asked (e.g. errands, repairs, companionship)")
        },
    )
    skills = names_field(
        required=True, metadata={"description": "Skills every member serving the demand must hold"}
    )  # may be empty: a task anyone can do
    location = StrictNested(LocationSchema, required=True)
    window = StrictNested(IntervalSchema, required=True)
    duration_hours = StrictFloat(
        required=True,
        validate=validate.Range(
            min=MIN_DURATION_HOURS,
            max=MAX_HOURS,
            error=f"must be at least one minute (1/60 h) and at most {MAX_HOURS:g} h",
        ),
        metadata={
            "description": ("How long the task takes, in hours (at least one minute, 1/60 h)")
        },
    )
    priority = StrictInteger(
        required=True,
        validate=validate.Range(min=1, max=5, error="must be an integer from 1 to 5"),
        metadata={
            "description": ("Urgency from 1 (low) to 5 (most urgent); higher is served first")
        },
    )
    crew_size = StrictInteger(
        load_default=1,
        validate=between(1, MAX_CREW),
        metadata={"description": "How many members the task needs at once"},
    )
    team_only = StrictBoolean(
        load_default=False,
        metadata={"description": "Only members of one team may serve it together"},
    )
    resident = id_field(
        load_default=None,
        allow_none=True,
        metadata={
            "description": (
                "An opaque id of the resident asking (no names); continuity with past helpers"
            )
        },
    )
    preferred_members = names_field(
        load_default=tuple, metadata={"description": "Ids of members the resident prefers"}
    )
    pinned = StrictNested(
        PinSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": ("A fixed assignment (members and start) the solver must keep")},
    )
    community = id_field(
        load_default=None,
        allow_none=True,
        metadata={"description": "The id of the community the demand comes from (optional)"},
    )

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


class WeightsSchema(StrictSchema):
    """Objective weights; each is optional and at least 0."""

    unassigned = StrictFloat(
        load_default=100.0,
        validate=between(0, MAX_WEIGHT),
        metadata={
            "description": (
                "Cost of leaving a demand unserved, per priority point (dimensionless weight)"
            )
        },
    )
    distance = StrictFloat(
        load_default=1.0,
        validate=between(0, MAX_WEIGHT),
        metadata={
            "description": ("Cost per km travelled from a member's home to a task (weight per km)")
        },
    )
    preference = StrictFloat(
        load_default=2.0,
        validate=between(0, MAX_WEIGHT),
        metadata={
            "description": (
                "Reward per crew member whose preferences hold the demand's category "
                "(dimensionless)"
            )
        },
    )
    continuity = StrictFloat(
        load_default=5.0,
        validate=between(0, MAX_WEIGHT),
        metadata={
            "description": (
                "Reward per crew member listed in the demand's preferred_members (dimensionless)"
            )
        },
    )
    reliability = StrictFloat(
        load_default=10.0,
        validate=between(0, MAX_WEIGHT),
        metadata={
            "description": ("Cost per crew member of priority × (1 - reliability) (dimensionless)")
        },
    )
    fairness = StrictFloat(
        load_default=1.0,
        validate=between(0, MAX_WEIGHT),
        metadata={
            "description": (
                "Weight of the load-balance (fairness) term, defined in the README (dimensionless)"
            )
        },
    )
    paired_unit = StrictFloat(
        load_default=2.0,
        validate=between(0, MAX_WEIGHT),
        metadata={
            "description": (
                "Reward for a task served by a member of a unit paired with its community"
            )
        },
    )

    @post_load
    def make_weights(self, data: dict[str, Any], **kwargs: Any) -> Weights:
        return Weights(**data)


class UnitPairSchema(StrictSchema):
    """A unit paired with a community (结对共建): its members are preferred for the community's
    demands by ``weights.paired_unit``."""

    unit = id_field(required=True, metadata={"description": "The id of a work unit"})
    community = id_field(
        required=True, metadata={"description": "The id of the community the unit is paired with"}
    )

    @post_load
    def make_pair(self, data: dict[str, Any], **kwargs: Any) -> UnitPair:
        return UnitPair(**data)


class OptionsSchema(StrictSchema):
    """Solver options; each is optional."""

    time_limit_s = StrictFloat(
        load_default=10.0,
        validate=above_at_most(0, MAX_TIME_LIMIT_S),
        metadata={
            "description": ("The longest the solver may search, in seconds (capped by the server)")
        },
    )
    seed = StrictInteger(
        load_default=0,
        validate=between(0, MAX_SEED),
        metadata={"description": ("Random seed of the search; the same seed gives the same plan")},
    )
    workers = StrictInteger(
        load_default=0,
        validate=between(0, MAX_WORKERS),
        metadata={"description": "Solver threads; 0 lets the server choose"},
    )
    max_distance_km = StrictFloat(
        load_default=5.0,
        validate=above_at_most(0, MAX_DISTANCE_KM),
        metadata={"description": "How far a member goes by default, in km (straight line)"},
    )
    changeover_minutes = StrictFloat(
        load_default=15.0,
        validate=between(0, MAX_MINUTES),
        metadata={"description": "Time between two tasks of one member, in minutes"},
    )
    time_step_minutes = StrictFloat(
        load_default=15.0,
        validate=between(1, MAX_MINUTES),
        metadata={"description": "Start times are multiples of this many minutes"},
    )
    weights = StrictNested(WeightsSchema, load_default=Weights)
    unit_pairs = StrictNested(
        UnitPairSchema,
        many=True,
        load_default=tuple,
        metadata={
            "description": (
                "Work units paired with communities (结对共建), for weights.paired_unit"
            )
        },
    )

    @post_load
    def make_options(self, data: dict[str, Any], **kwargs: Any) -> Options:
        return Options(**_tuples(data, "unit_pairs"))


class ProblemSchema(StrictSchema):
    """The whole problem: members, demands, optional teams and options."""

    members = StrictNested(
        MemberSchema,
        many=True,
        required=True,
        metadata={"description": "The members who can serve"},
    )
    teams = StrictNested(
        TeamSchema,
        many=True,
        load_default=tuple,
        metadata={"description": "Teams of members (optional)"},
    )
    demands = StrictNested(
        DemandSchema, many=True, required=True, metadata={"description": "The demands to serve"}
    )
    options = StrictNested(OptionsSchema, load_default=Options)

    @post_load
    def make_problem(self, data: dict[str, Any], **kwargs: Any) -> Problem:
        return Problem(**_tuples(data, "members", "teams", "demands"))


# --------------------------------------------------------------------------------------------
# Answer
# --------------------------------------------------------------------------------------------


class AssignmentSchema(StrictSchema):
    """One assigned demand: its crew, start, end and each member's distance."""

    demand = id_field(required=True, metadata={"description": "The id of the demand served"})
    members = names_field(
        required=True,
        validate=validate.Length(min=1, error="must list at least one member"),
        metadata={"description": "Ids of the members who serve it"},
    )
    team = id_field(
        load_default=None,
        allow_none=True,
        metadata={"description": "The id of the team serving it together, or null"},
    )
    start = StrictDateTime(
        required=True,
        metadata={
            "description": (
                "When the task starts: ISO 8601 date-time with the "
                "problem's UTC offset (e.g. +08:00)"
            )
        },
    )
    end = StrictDateTime(
        required=True,
        metadata={
            "description": (
                "When the task ends: ISO 8601 date-time with the problem's UTC offset (e.g. +08:00)"
            )
        },
    )
    distance_km = StrictList(
        StrictFloat(validate=at_least(0)),
        required=True,
        metadata={
            "description": (
                "Each member's straight-line distance to the task, in km, in the order of members"
            )
        },
    )

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


class UnassignedSchema(StrictSchema):
    """A demand left out, why, and a sentence a dispatcher can read."""

    demand = id_field(required=True, metadata={"description": "The id of the demand left unserved"})
    reason = StrictString(
        required=True,
        validate=one_of(REASONS),
        metadata={"description": "Why, as one code (a fact of the problem or of the plan)"},
    )
    detail = StrictString(required=True, metadata={"description": "The reason in a sentence"})
    params = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={
            "description": "the numbers and names detail is built from; keys per reason in "
            "docs/contracts/dispatch.md (How Linli reads this contract)"
        },
    )

    @post_load
    def make_unassigned(self, data: dict[str, Any], **kwargs: Any) -> Unassigned:
        return Unassigned(**data)


class LoadSchema(StrictSchema):
    """A member's assigned hours and number of tasks."""

    member = id_field(
        required=True,
        metadata={
            "description": ("The member's id (every member is listed, idle ones at 0 hours)")
        },
    )
    hours = StrictFloat(
        required=True,
        validate=at_least(0),
        metadata={"description": "Hours of tasks assigned to the member, in hours"},
    )
    tasks = StrictInteger(
        required=True,
        validate=at_least(0),
        metadata={"description": "How many tasks the member serves"},
    )

    @post_load
    def make_load(self, data: dict[str, Any], **kwargs: Any) -> Load:
        return Load(**data)


class StatsSchema(StrictSchema):
    """Solver statistics; each is optional."""

    candidates = StrictInteger(
        load_default=0,
        validate=at_least(0),
        metadata={"description": "Candidate (member, demand) pairs considered"},
    )
    components = StrictInteger(
        load_default=0,
        validate=at_least(0),
        metadata={"description": "Independent parts the problem split into"},
    )
    build_s = StrictFloat(
        load_default=0.0,
        validate=at_least(0),
        metadata={"description": "Time to build the model, in seconds"},
    )
    solve_s = StrictFloat(
        load_default=0.0,
        validate=at_least(0),
        metadata={"description": "Time to solve, in seconds"},
    )
    greedy_objective = StrictFloat(
        load_default=None,
        allow_none=True,
        metadata={"description": "Objective of the greedy first plan, or null"},
    )
    method = StrictString(
        load_default="",
        metadata={"description": "How the plan was found (and how the bound was proved)"},
    )
    search_s = StrictFloat(
        load_default=0.0,
        validate=at_least(0),
        metadata={"description": "Time spent in the local search, in seconds"},
    )
    neighbourhoods = StrictInteger(
        load_default=0,
        validate=at_least(0),
        metadata={"description": "Neighbourhoods the local search explored"},
    )
    moves = StrictInteger(
        load_default=0,
        validate=at_least(0),
        metadata={"description": "Improving moves the local search made"},
    )
    bound_proof = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        load_default=dict,
        metadata={
            "description": "How the bound was proved: for each method (fixed, exact, lagrangian, "
            "lp, trivial) the number of parts of the problem whose bound it gave"
        },
    )

    @post_load
    def make_stats(self, data: dict[str, Any], **kwargs: Any) -> Stats:
        return Stats(**data)


class AnswerSchema(StrictSchema):
    """The engine's answer: status, objective and bound, assignments, unassigned, load."""

    status = StrictString(
        required=True,
        validate=one_of(STATUSES),
        metadata={
            "description": ("optimal (gap within 1e-5, bound proved), feasible, or no_solution")
        },
    )
    objective = StrictFloat(
        required=True, metadata={"description": "The plan's cost (lower is better)"}
    )
    bound = StrictFloat(required=True, metadata={"description": "A proved lower bound of the cost"})
    gap = StrictFloat(
        required=True,
        validate=at_least(0),
        metadata={"description": "(objective - bound) / objective, relative; 0 when optimal"},
    )
    assignments = StrictNested(
        AssignmentSchema,
        many=True,
        load_default=tuple,
        metadata={"description": "The tasks assigned, one per demand served"},
    )
    unassigned = StrictNested(
        UnassignedSchema,
        many=True,
        load_default=tuple,
        metadata={"description": "The demands left unserved, with a reason"},
    )
    # "load" would hide Schema.load: the field keeps its JSON name through data_key/attribute.
    load_ = StrictNested(
        LoadSchema,
        many=True,
        load_default=tuple,
        data_key="load",
        attribute="load",
        metadata={"description": "Hours and tasks per member, every member listed"},
    )
    stats = StrictNested(StatsSchema, load_default=Stats)

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
    return load_problem(read_json_document(path))


def load_answer_file(path: str | os.PathLike[str]) -> Answer:
    """Read an answer from a JSON file; errors as for :func:`load_problem_file`."""
    return load_answer(read_json_document(path))


class _NonFinite:
    """What ``NaN``/``Infinity``/``-Infinity`` parse to, so they can be found and reported."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token


def read_json_document(path: str | os.PathLike[str]) -> object:
    seen: list[str] = []

    def parse_constant(token: str) -> _NonFinite:
        seen.append(token)
        return _NonFinite(token)

    try:
        with open(path, "rb") as stream:
            data = json.load(
                stream, parse_constant=parse_constant, parse_int=parse_int, parse_float=parse_float
            )
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
