"""Marshmallow schemas of stored visits, attendance, the ledger (活动台账) and the board (公示栏).

Request bodies reject unknown fields (422 ``unknown field``): a client cannot set ids, the
community, a status or ``recorded_at``. Query schemas ignore unknown parameters (pagination's
``page`` and ``page_size`` share the query string).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from service.contracts.fields import StrictList, StrictSchema
from service.contracts.visits import DateField
from service.db.visits import NOTES_LENGTH, SESSION_STATUSES
from service.domain.ledger import KINDS
from service.web.schemas.workspace import id_filter, ref_field, text_field

MAX_ATTENDEES = 50
MAX_VISITED_HOUSEHOLDS = 500
FIRST_YEAR, LAST_YEAR = 2000, 2200
"""Dates of the ledger and the board lie in these years (no overflow at year 1 or 9999)."""

# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


def _unique(name: str, values: list[str]) -> None:
    seen: dict[str, int] = {}
    errors: dict[int, list[str]] = {}
    for i, value in enumerate(values):
        if value in seen:
            errors[i] = [f"repeats item {seen[value]}"]
        seen.setdefault(value, i)
    if errors:
        raise ValidationError({name: errors})


def _supported_year(value: date) -> bool:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return True


class AttendanceSchema(StrictSchema):
    """Who attended an outing and which households were actually visited (recorded after it)."""

    members = StrictList(
        ref_field(),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_ATTENDEES, error=f"must list 1 to {MAX_ATTENDEES} members"
        ),
        metadata={"description": "member ids of the community (planned or substitutes)"},
    )
    households = StrictList(
        ref_field(),
        load_default=list,
        validate=validate.Length(
            max=MAX_VISITED_HOUSEHOLDS, error=f"at most {MAX_VISITED_HOUSEHOLDS} households"
        ),
        metadata={"description": "household ids of the team's area actually visited"},
    )
    notes = text_field(
        NOTES_LENGTH,
        load_default=None,
        allow_none=True,
        metadata={"description": "Notes on the session's attendance (optional)"},
    )

    @validates_schema(skip_on_field_errors=True)
    def check_unique(self, data: dict[str, Any], **kwargs: Any) -> None:
        _unique("members", data["members"])
        _unique("households", data["households"])


class ScheduleCalendarQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    team = fields.String(
        load_default=None, validate=id_filter(), metadata={"description": "one team's only"}
    )


class LedgerQuerySchema(Schema):
    """``from`` and ``to`` are local dates (Asia/Shanghai), both inclusive."""

    class Meta:
        unknown = EXCLUDE

    start = DateField(
        load_default=None,
        data_key="from",
        validate=_supported_year,
        metadata={"description": "YYYY-MM-DD"},
    )
    end = DateField(
        load_default=None,
        data_key="to",
        validate=_supported_year,
        metadata={"description": "YYYY-MM-DD"},
    )
    member = fields.String(load_default=None, validate=id_filter())
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))

    @validates_schema(skip_on_field_errors=True)
    def check_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["start"] is not None and data["end"] is not None and data["end"] < data["start"]:
            raise ValidationError("must not be before from", "to")


class BoardQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    date = DateField(
        load_default=None,
        validate=_supported_year,
        metadata={"description": "the half year containing this date (default: today, local)"},
    )


# --------------------------------------------------------------------------------------------
# Responses: stored visits
# --------------------------------------------------------------------------------------------


class AttendanceRecordSchema(Schema):
    members = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of the members who attended"}
    )
    households = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of the households visited"}
    )
    notes = fields.String(
        required=True, allow_none=True, metadata={"description": "Notes, or null"}
    )
    recorded_at = fields.DateTime(required=True, metadata={"description": "+08:00"})


class VisitSessionRecordSchema(Schema):
    """One outing: planned (team, date, start, end, route, attendees) and, once recorded, its
    attendance."""

    id = fields.String(required=True, metadata={"description": "The visit session's id"})
    schedule_id = fields.String(
        required=True, metadata={"description": "The id of the visit schedule"}
    )
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    team = fields.String(required=True, metadata={"description": "The id of the visiting team"})
    date = fields.Date(required=True, metadata={"description": "The date (YYYY-MM-DD)"})
    start = fields.DateTime(required=True, metadata={"description": "+08:00"})
    end = fields.DateTime(required=True, metadata={"description": "+08:00"})
    walk_km = fields.Float(
        required=True, metadata={"description": "Walking distance of the route, in km"}
    )
    households = fields.List(
        fields.String(), required=True, metadata={"description": "planned route, in order"}
    )
    attendees = fields.List(
        fields.String(), required=True, metadata={"description": "planned attendees"}
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(SESSION_STATUSES),
        metadata={"description": "planned or attended"},
    )
    attendance = fields.Nested(
        AttendanceRecordSchema,
        required=True,
        allow_none=True,
        metadata={"description": "Who attended, or null before it is recorded"},
    )


class QuarterOutSchema(Schema):
    start = fields.Date(required=True, metadata={"description": "The first day (YYYY-MM-DD)"})
    end = fields.Date(required=True, metadata={"description": "The last day (YYYY-MM-DD)"})


class StoredTeamSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The team's id"})
    members = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of its members"}
    )
    leader = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of its leader, or null"}
    )
    quorum = fields.Integer(
        required=True, metadata={"description": "Members a session needs, at least"}
    )
    area = fields.String(required=True, metadata={"description": "The id of the area it visits"})


class StoredUnscheduledSchema(Schema):
    team = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of the team, or null"}
    )
    households = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Ids of the households left unvisited"},
    )
    reason = fields.String(required=True, metadata={"description": "Why, as one code"})
    detail = fields.String(required=True, metadata={"description": "The reason in a sentence"})


class VisitScheduleSummarySchema(Schema):
    id = fields.String(required=True, metadata={"description": "The schedule's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    quarter = fields.Nested(QuarterOutSchema, required=True)
    timezone = fields.String(
        required=True,
        metadata={"description": ("The timezone of its local times (e.g. Asia/Shanghai, +08:00)")},
    )
    status = fields.String(
        required=True, metadata={"description": "optimal, feasible, or no_solution"}
    )
    sessions_count = fields.Integer(
        required=True, metadata={"description": "How many sessions it holds"}
    )
    unscheduled_count = fields.Integer(
        required=True, metadata={"description": "households missing some visits"}
    )
    stats = fields.Dict(required=True, metadata={"description": "the engine's statistics"})
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class VisitScheduleRecordSchema(VisitScheduleSummarySchema):
    teams = fields.List(
        fields.Nested(StoredTeamSchema), required=True, metadata={"description": "The teams"}
    )
    sessions = fields.List(
        fields.Nested(VisitSessionRecordSchema),
        required=True,
        metadata={"description": "The visit sessions"},
    )
    unscheduled = fields.List(
        fields.Nested(StoredUnscheduledSchema),
        required=True,
        metadata={"description": "Households left unvisited, with a reason"},
    )


# --------------------------------------------------------------------------------------------
# Responses: the ledger
# --------------------------------------------------------------------------------------------


class LedgerSourceSchema(Schema):
    """What an entry came from: a task and its demand, or a visit session and its schedule."""

    task_id = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of the task"}
    )
    demand_id = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of the demand"}
    )
    visit_session_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The id of the visit session, or null"},
    )
    visit_schedule_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The id of the visit schedule, or null"},
    )


class LedgerEntrySchema(Schema):
    """Time, people, content, rating: a completed service, or a member's attended visit."""

    id = fields.String(
        required=True, metadata={"description": "service:{task} or visit:{session}:{member}"}
    )
    kind = fields.String(
        required=True, validate=validate.OneOf(KINDS), metadata={"description": "service or visit"}
    )
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    start = fields.DateTime(required=True, metadata={"description": "+08:00"})
    hours = fields.Float(
        required=True, metadata={"description": "hours served; a visit: the session's length"}
    )
    rating = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The rating from 1 to 5, or null"}
    )
    category = fields.String(required=True, allow_none=True, metadata={"description": "service"})
    team = fields.String(required=True, allow_none=True, metadata={"description": "visit"})
    households = fields.List(
        fields.String(), required=True, metadata={"description": "visit: households visited"}
    )
    notes = fields.String(
        required=True, allow_none=True, metadata={"description": "Notes, or null"}
    )
    source = fields.Nested(LedgerSourceSchema, required=True)


class TotalsSchema(Schema):
    services = fields.Integer(required=True, metadata={"description": "Services completed"})
    hours = fields.Float(required=True, metadata={"description": "hours of services"})
    visits = fields.Integer(required=True, metadata={"description": "Household visits attended"})
    visit_hours = fields.Float(
        required=True, metadata={"description": "Hours of visits attended, in hours"}
    )
    ratings = fields.Integer(required=True, metadata={"description": "rated services"})
    mean_rating = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "The mean rating from 1 to 5, or null without ratings"},
    )


class MemberTotalsSchema(TotalsSchema):
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})


class CommunityTotalsSchema(TotalsSchema):
    members = fields.Integer(required=True, metadata={"description": "Members counted"})


class LedgerTotalsSchema(Schema):
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    start = fields.Date(
        required=True,
        allow_none=True,
        data_key="from",
        metadata={"description": "The first day counted (YYYY-MM-DD), or null"},
    )
    end = fields.Date(
        required=True,
        allow_none=True,
        data_key="to",
        metadata={"description": "The last day counted (YYYY-MM-DD), or null"},
    )
    kind = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Only entries of this kind, or null for all"},
    )
    members = fields.List(
        fields.Nested(MemberTotalsSchema),
        required=True,
        metadata={"description": "Totals per member"},
    )
    totals = fields.Nested(CommunityTotalsSchema, required=True)


# --------------------------------------------------------------------------------------------
# Responses: the publicity board
# --------------------------------------------------------------------------------------------


class BoardCommitmentSchema(Schema):
    """A member's public commitment (承诺): the post's promise, its deadline and status."""

    commitment_id = fields.String(
        required=True, metadata={"description": "The id of the commitment"}
    )
    text = fields.String(required=True, metadata={"description": "The commitment's text"})
    deadline = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "The deadline (YYYY-MM-DD), or null"},
    )
    status = fields.String(
        required=True, metadata={"description": "open, kept, missed or withdrawn"}
    )


class BoardMemberSchema(Schema):
    """One member on the board, by name (亮身份); no phone, card number or home."""

    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    name = fields.String(required=True, metadata={"description": "姓名"})
    unit = fields.String(required=True, allow_none=True, metadata={"description": "单位"})
    services = fields.Integer(required=True, metadata={"description": "Services completed"})
    hours = fields.Float(required=True, metadata={"description": "Hours of service, in hours"})
    visits = fields.Integer(required=True, metadata={"description": "Household visits attended"})
    mean_rating = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "The mean rating from 1 to 5, or null without ratings"},
    )
    commitments = fields.List(
        fields.Nested(BoardCommitmentSchema),
        required=True,
        metadata={"description": "public commitments (承诺); empty until posts are connected"},
    )


class PeriodSchema(Schema):
    start = fields.Date(required=True, metadata={"description": "The first day (YYYY-MM-DD)"})
    end = fields.Date(required=True, metadata={"description": "The last day (YYYY-MM-DD)"})


class BoardSchema(Schema):
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    community_name = fields.String(required=True, metadata={"description": "The community's name"})
    period = fields.Nested(PeriodSchema, required=True, metadata={"description": "half year"})
    members = fields.List(
        fields.Nested(BoardMemberSchema),
        required=True,
        metadata={"description": "The community's members on the board"},
    )
    totals = fields.Nested(CommunityTotalsSchema, required=True)
