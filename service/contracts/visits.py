"""The visit contract at the edge: JSON ⇄ :mod:`matcher.visits.problem` / ``answer``.

One marshmallow schema per object of ``docs/contracts/visits.md``. Shapes, types and ranges are
checked here (unknown fields are errors); references between objects by
:func:`matcher.visits.validation.validate_visit_problem`. Every bad input becomes one
:class:`~matcher.errors.InvalidProblemError` with flat field paths (``areas[2].households[7]
.visit_minutes``).
"""

from __future__ import annotations

import os
from datetime import date, time
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from matcher.errors import InvalidProblemError
from matcher.visits.answer import Schedule, ScheduleStats, UnscheduledVisits, VisitSession
from matcher.visits.problem import (
    WEEKDAYS,
    Area,
    Household,
    Point,
    Quarter,
    Session,
    VisitMember,
    VisitOptions,
    VisitProblem,
    VisitTeam,
)
from matcher.visits.validation import validate_visit_problem
from service.contracts.dispatch import LocationSchema, load_shape, read_json_document
from service.contracts.fields import (
    COMMON_MESSAGES,
    StrictFloat,
    StrictInteger,
    StrictList,
    StrictNested,
    StrictSchema,
    StrictString,
    above_at_most,
    between,
    id_field,
    one_of,
)

__all__ = [
    "VisitProblemSchema",
    "dump_schedule",
    "dump_visit_problem",
    "load_schedule",
    "load_visit_problem",
    "load_visit_problem_file",
    "looks_like_visit_problem",
]


# The ranges of the visit contract's numbers (README, *Limits and what bad input gets*).
MAX_MINUTES = 1440.0
"""A visit lasts at most a day."""
MAX_VISITS = 100
"""Visits a household may need in one quarter."""
MAX_PEOPLE = 10000
"""The largest quorum, and the most outings a day."""
MAX_TIME_LIMIT_S = 86400.0
MAX_SEED = 2**31 - 1


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


class ClockTimeField(fields.Field):
    """A wall-clock time ``HH:MM``."""

    default_error_messages = {  # noqa: RUF012
        **COMMON_MESSAGES,
        "invalid": "must be a time as HH:MM",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> time:
        if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
            raise self.make_error("invalid")
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.strftime("%H:%M")


def _dates(**kwargs: Any) -> StrictList:
    return StrictList(DateField(), **kwargs)


class QuarterSchema(StrictSchema):
    start = DateField(
        required=True,
        metadata={"description": ("The first day of the visit quarter (YYYY-MM-DD, local date)")},
    )
    end = DateField(
        required=True,
        metadata={"description": "The last day of the visit quarter (YYYY-MM-DD, local date)"},
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Quarter:
        return Quarter(**data)


class SessionSchema(StrictSchema):
    start = ClockTimeField(
        load_default=time(9, 0),
        metadata={
            "description": (
                "When a visit session starts, local time as HH:MM (in the problem's timezone)"
            )
        },
    )
    max_hours = StrictFloat(
        load_default=3.0,
        validate=above_at_most(0, 24),
        metadata={"description": "The longest a visit session lasts, in hours"},
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Session:
        return Session(**data)


class VisitMemberSchema(StrictSchema):
    id = id_field(required=True, metadata={"description": "The member's id, unique in the problem"})
    unavailable_dates = _dates(
        load_default=(), metadata={"description": "Dates (YYYY-MM-DD) the member cannot visit"}
    )
    available_dates = _dates(
        load_default=None,
        metadata={"description": "If given, the only dates (YYYY-MM-DD) the member can visit"},
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> VisitMember:
        data["unavailable_dates"] = tuple(data["unavailable_dates"])
        if data["available_dates"] is not None:
            data["available_dates"] = tuple(data["available_dates"])
        return VisitMember(**data)


class VisitTeamSchema(StrictSchema):
    id = id_field(required=True, metadata={"description": "The team's id, unique in the problem"})
    members = StrictList(
        id_field(), required=True, metadata={"description": "Ids of the team's members"}
    )
    leader = id_field(
        load_default=None,
        metadata={"description": "The id of the team's leader, one of its members (optional)"},
    )
    quorum = StrictInteger(
        load_default=1,
        validate=between(1, MAX_PEOPLE),
        metadata={"description": "How many of the team's members a session needs, at least"},
    )
    area = id_field(required=True, metadata={"description": "The id of the area the team visits"})

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> VisitTeam:
        data["members"] = tuple(data["members"])
        return VisitTeam(**data)


class PointSchema(LocationSchema):
    @post_load
    def make_location(self, data: dict[str, Any], **kwargs: Any) -> Point:
        return Point(**data)


class HouseholdSchema(StrictSchema):
    id = id_field(
        required=True,
        metadata={
            "description": ("The household's id, unique in the problem (no names or addresses)")
        },
    )
    location = StrictNested(PointSchema, required=True)
    visit_minutes = StrictFloat(
        load_default=20.0,
        validate=between(0, MAX_MINUTES),
        metadata={"description": "How long one visit takes, in minutes"},
    )
    visits = StrictInteger(
        load_default=1,
        validate=between(0, MAX_VISITS),
        metadata={"description": "How many visits the household gets in the quarter"},
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Household:
        return Household(**data)


class AreaSchema(StrictSchema):
    id = id_field(required=True, metadata={"description": "The area's id, unique in the problem"})
    start = StrictNested(PointSchema, required=True)
    households = StrictNested(
        HouseholdSchema,
        many=True,
        load_default=(),
        metadata={"description": "The households of the area"},
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Area:
        data["households"] = tuple(data["households"])
        return Area(**data)


class VisitOptionsSchema(StrictSchema):
    time_limit_s = StrictFloat(
        load_default=30.0,
        validate=above_at_most(0, MAX_TIME_LIMIT_S),
        metadata={
            "description": (
                "The longest the scheduler may search, in seconds (capped by the server)"
            )
        },
    )
    seed = StrictInteger(
        load_default=0,
        validate=between(0, MAX_SEED),
        metadata={
            "description": ("Random seed of the search; the same seed gives the same schedule")
        },
    )
    min_days_between_visits = StrictInteger(
        load_default=21,
        validate=between(0, 366),
        metadata={"description": "Days at least between two visits of one household"},
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> VisitOptions:
        return VisitOptions(**data)


class VisitProblemSchema(StrictSchema):
    """The whole problem document."""

    quarter = StrictNested(QuarterSchema, required=True)
    timezone = id_field(
        load_default="Asia/Shanghai",
        metadata={
            "description": (
                "The IANA timezone of local times and dates (e.g. Asia/Shanghai, +08:00)"
            )
        },
    )
    visit_weekdays = StrictList(
        StrictString(validate=one_of(WEEKDAYS)),
        load_default=WEEKDAYS,
        metadata={"description": "Weekdays on which visits may happen"},
    )
    blackout_dates = _dates(
        load_default=(), metadata={"description": "Dates (YYYY-MM-DD) without visits (holidays)"}
    )
    max_sessions_per_day = StrictInteger(
        load_default=4,
        validate=between(1, MAX_PEOPLE),
        metadata={"description": "How many sessions a team holds on one day, at most"},
    )
    session = StrictNested(SessionSchema, load_default=Session)
    walking_speed_kmh = StrictFloat(
        load_default=4.0,
        validate=above_at_most(0, 50),
        metadata={"description": "Walking speed between households, in km per hour"},
    )
    members = StrictNested(
        VisitMemberSchema,
        many=True,
        required=True,
        metadata={"description": "The members who visit"},
    )
    teams = StrictNested(
        VisitTeamSchema, many=True, required=True, metadata={"description": "The visiting teams"}
    )
    areas = StrictNested(
        AreaSchema,
        many=True,
        required=True,
        metadata={"description": "The areas and their households"},
    )
    options = StrictNested(VisitOptionsSchema, load_default=VisitOptions)

    @validates_schema(skip_on_field_errors=True)
    def check_quarter(self, data: dict[str, Any], **kwargs: Any) -> None:
        quarter = data.get("quarter")
        if isinstance(quarter, Quarter) and quarter.end < quarter.start:
            raise ValidationError({"end": ["must not be before quarter.start"]}, "quarter")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> VisitProblem:
        for name in ("visit_weekdays", "blackout_dates", "members", "teams", "areas"):
            data[name] = tuple(data[name])
        return VisitProblem(**data)


# --------------------------------------------------------------------------------------------
# Answer (dump only: the verifier reads raw JSON)
# --------------------------------------------------------------------------------------------


class VisitSessionSchema(Schema):
    team = fields.String(metadata={"description": "The id of the visiting team"})
    date = DateField(metadata={"description": "The session's date (YYYY-MM-DD, local)"})
    start = ClockTimeField(
        metadata={
            "description": (
                "Start, local time HH:MM in the problem's timezone (+08:00 for Asia/Shanghai)"
            )
        }
    )
    end = ClockTimeField(
        metadata={
            "description": (
                "End, local time HH:MM in the problem's timezone (+08:00 for Asia/Shanghai)"
            )
        }
    )
    attendees = fields.List(
        fields.String(), metadata={"description": "Ids of the members who attend"}
    )
    route = fields.List(
        fields.String(), metadata={"description": "Household ids in visiting order"}
    )
    walk_km = fields.Float(metadata={"description": "Walking distance of the route, in km"})


class UnscheduledSchema(Schema):
    team = fields.String(allow_none=True, metadata={"description": "The id of the team, or null"})
    households = fields.List(
        fields.String(), metadata={"description": "Ids of the households left unvisited"}
    )
    reason = fields.String(metadata={"description": "Why, as one code"})
    detail = fields.String(metadata={"description": "The reason in a sentence"})
    proven = fields.Boolean(
        metadata={"description": "true when the reason holds for every plan (an extension)"}
    )


class ScheduleStatsSchema(Schema):
    sessions = fields.Integer(metadata={"description": "Sessions in the schedule"})
    walk_km = fields.Float(metadata={"description": "Total walking distance, in km"})
    solve_s = fields.Float(metadata={"description": "Time to solve, in seconds"})
    objective = fields.Float(metadata={"description": "The schedule's cost (lower is better)"})
    lower_bound_sessions = fields.Integer(
        metadata={"description": "A proved lower bound of the number of sessions"}
    )
    attendees_above_quorum = fields.Integer(
        metadata={"description": "Attendees beyond the teams' quorums, summed"}
    )
    leader_present = fields.Integer(
        metadata={"description": "Sessions with the team's leader present"}
    )
    missing_visits = fields.Integer(metadata={"description": "Visits asked for but not scheduled"})


class ScheduleSchema(Schema):
    status = fields.String(metadata={"description": "optimal, feasible, or no_solution"})
    sessions = fields.List(
        fields.Nested(VisitSessionSchema), metadata={"description": "The visit sessions, by date"}
    )
    unscheduled = fields.List(
        fields.Nested(UnscheduledSchema),
        metadata={"description": "Households left unvisited, with a reason"},
    )
    stats = fields.Nested(ScheduleStatsSchema)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def load_visit_problem(data: object) -> VisitProblem:
    """Check JSON-like data against the visit contract and build a :class:`VisitProblem`.

    Raises:
        InvalidProblemError: Every shape, type, range and reference error by field path.
    """
    problem: VisitProblem = load_shape(VisitProblemSchema(), data)
    validate_visit_problem(problem)
    return problem


def load_visit_problem_file(path: str | os.PathLike[str]) -> VisitProblem:
    """Read a visit problem from a JSON file; see :func:`load_visit_problem`."""
    return load_visit_problem(read_json_document(path))


def dump_visit_problem(problem: VisitProblem) -> dict[str, Any]:
    """The JSON-ready form of a visit problem."""
    result: dict[str, Any] = VisitProblemSchema().dump(problem)
    return result


def dump_schedule(schedule: Schedule) -> dict[str, Any]:
    """The JSON-ready form of a schedule."""
    result: dict[str, Any] = ScheduleSchema().dump(schedule)
    return result


def looks_like_visit_problem(data: object) -> bool:
    """Is this JSON document a visit problem (rather than a dispatch problem)?"""
    return isinstance(data, dict) and "quarter" in data and "areas" in data


def load_schedule(data: object) -> Schedule:
    """Rebuild a :class:`Schedule` from the JSON :func:`dump_schedule` wrote (e.g. a stored job
    answer). Only the shape is read back; :func:`matcher.visits.verify.verify_schedule` checks
    a schedule against its problem.

    Raises:
        InvalidProblemError: ``{"$": [...]}`` if the data is not a dumped schedule.
    """
    try:
        raw: Any = data
        stats = raw["stats"]
        return Schedule(
            status=str(raw["status"]),
            sessions=tuple(
                VisitSession(
                    team=str(s["team"]),
                    date=date.fromisoformat(s["date"]),
                    start=time.fromisoformat(s["start"]),
                    end=time.fromisoformat(s["end"]),
                    attendees=tuple(str(m) for m in s["attendees"]),
                    route=tuple(str(h) for h in s["route"]),
                    walk_km=float(s["walk_km"]),
                )
                for s in raw["sessions"]
            ),
            unscheduled=tuple(
                UnscheduledVisits(
                    team=None if u.get("team") is None else str(u["team"]),
                    households=tuple(str(h) for h in u["households"]),
                    reason=str(u["reason"]),
                    detail=str(u["detail"]),
                    proven=bool(u.get("proven", True)),
                )
                for u in raw.get("unscheduled", ())
            ),
            stats=ScheduleStats(
                sessions=int(stats["sessions"]),
                walk_km=float(stats["walk_km"]),
                solve_s=float(stats["solve_s"]),
                objective=float(stats["objective"]),
                lower_bound_sessions=int(stats["lower_bound_sessions"]),
                attendees_above_quorum=int(stats["attendees_above_quorum"]),
                leader_present=int(stats["leader_present"]),
                missing_visits=int(stats["missing_visits"]),
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InvalidProblemError(
            {"$": [f"not a dumped schedule ({type(err).__name__}: {err})"]}
        ) from err
