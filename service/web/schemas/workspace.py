"""Marshmallow schemas of the workspace API: request bodies (strict) and responses.

Request bodies reject unknown fields (422 ``unknown field``), so a client cannot set what the
server sets: ids (but a community's slug, chosen by the district administrator), ``status`` on
creation, ``reported_at``, ``created_at``, or a member's community after registration.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from service.contracts.dispatch import IntervalSchema, LocationSchema
from service.contracts.fields import (
    StrictDate,
    StrictDateTime,
    StrictFloat,
    StrictInteger,
    StrictList,
    StrictNested,
    StrictSchema,
    StrictString,
    between,
    one_of,
)
from service.contracts.visits import ClockTimeField
from service.db.base import utcnow
from service.db.flow import (
    CONTENT_LENGTH,
    DEMAND_STATUSES,
    RUN_STATUSES,
    SOURCES,
    TASK_STATUSES,
)
from service.db.registration import ID_LENGTH, MEMBER_STATUSES, NAME_LENGTH, PERSON_NAME_LENGTH
from service.domain.availability import (
    MAX_HORIZON,
    TIMEZONE_NAME,
    WEEKDAYS,
    in_supported_range,
)

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
CARD_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$"
"""A registration card number: letters, digits, ``-`` and ``_`` (as units print them)."""
MAX_LIST_ITEMS = 50
MAX_WEEKLY_SLOTS = 70


def _printable(value: str) -> bool:
    if not value.isprintable():
        raise ValidationError("must not contain control characters")
    return True


def text_field(max_length: int, **kwargs: Any) -> StrictString:
    """A non-empty string of printable characters, at most ``max_length`` long."""
    return StrictString(
        validate=[
            validate.Length(min=1, max=max_length, error=f"must have 1 to {max_length} characters"),
            _printable,
        ],
        **kwargs,
    )


_MOBILE = re.compile(r"^(?:\+?86)?1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^(?:\+?86)?0[1-9][0-9]{1,2}[0-9]{7,8}(?:#[0-9]{1,6})?$")
PHONE_HINT = (
    "must be a mainland phone number: a mobile (11 digits from 13–19) "
    "or a landline with its area code"
)


def is_phone(value: str) -> bool:
    """A mainland mobile (``13812345678``, ``+86 138 1234 5678``) or a landline with its area
    code (``0371-12345678``, extension after ``#``); spaces and dashes are ignored."""
    compact = re.sub(r"[\s-]", "", value)
    return len(value) <= 24 and bool(_MOBILE.match(compact) or _LANDLINE.match(compact))


def _phone(value: str) -> bool:
    if not is_phone(value):
        raise ValidationError(PHONE_HINT)
    return True


def phone_field(**kwargs: Any) -> StrictString:
    """A phone number (:func:`is_phone`), or null."""
    return StrictString(load_default=None, allow_none=True, validate=_phone, **kwargs)


def ref_field(**kwargs: Any) -> StrictString:
    """The id of another object (or null where allowed)."""
    return text_field(ID_LENGTH, **kwargs)


def id_filter() -> list[Any]:
    return [
        validate.Length(min=1, max=ID_LENGTH, error=f"must have 1 to {ID_LENGTH} characters"),
        _printable,
    ]


def reason_params_field() -> fields.Dict:
    """A left-out demand's ``params``: the numbers and names its ``detail`` is built from."""
    return fields.Dict(
        keys=fields.String(),
        dump_default=dict,
        metadata={
            "description": "the numbers and names detail is built from, keyed per reason as "
            "docs/contracts/dispatch.md says (may be empty)"
        },
    )


def labels_field(**kwargs: Any) -> StrictList:
    """A list of short labels (skills, specialties, service intentions)."""
    return StrictList(
        text_field(100),
        validate=validate.Length(max=MAX_LIST_ITEMS, error=f"at most {MAX_LIST_ITEMS} items"),
        **kwargs,
    )


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


class CommunityCreateSchema(StrictSchema):
    id = StrictString(
        required=True,
        validate=[
            validate.Length(min=1, max=ID_LENGTH, error=f"must have 1 to {ID_LENGTH} characters"),
            validate.Regexp(SLUG_PATTERN, error="must be a slug such as c-01 (a-z, 0-9, -)"),
        ],
        metadata={"description": "a slug, the id API keys are scoped by"},
    )
    name = text_field(
        NAME_LENGTH, required=True, metadata={"description": "The community's name (社区)"}
    )


class NamedCreateSchema(StrictSchema):
    """A grid or a building: only its name (the parent is in the path, the id is the server's)."""

    name = text_field(
        NAME_LENGTH, required=True, metadata={"description": "The grid's name (网格)"}
    )


class BuildingCreateSchema(NamedCreateSchema):
    """A building: its name and, if known, where it stands."""

    location = StrictNested(
        LocationSchema, load_default=None, allow_none=True, metadata={"description": "WGS84"}
    )


class UnitCreateSchema(StrictSchema):
    name = text_field(
        NAME_LENGTH, required=True, metadata={"description": "The work unit's name (单位)"}
    )
    party_organisation = text_field(
        NAME_LENGTH,
        load_default=None,
        allow_none=True,
        metadata={"description": "The unit's Party organisation (党组织), if it has one"},
    )


class WeeklySlotSchema(StrictSchema):
    """``{"weekday": "mon", "start": "09:00", "end": "12:00"}``, local time, within one day."""

    weekday = StrictString(
        required=True, validate=one_of(WEEKDAYS), metadata={"description": "The day of the week"}
    )
    start = ClockTimeField(
        required=True, metadata={"description": "Start, local time HH:MM (Asia/Shanghai, +08:00)"}
    )
    end = ClockTimeField(
        required=True,
        metadata={"description": "End, local time HH:MM (Asia/Shanghai, +08:00), after start"},
    )

    @validates_schema(skip_on_field_errors=True)
    def check_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["end"] <= data["start"]:
            raise ValidationError("must be after start", field_name="end")


class MemberProfileSchema(StrictSchema):
    """The fields of a profile a client may set (all optional: a PATCH sends what changes)."""

    name = text_field(
        PERSON_NAME_LENGTH,
        metadata={"description": "姓名, shown to those who work with the member"},
    )
    phone = StrictString(
        allow_none=True,
        validate=_phone,
        metadata={
            "description": "联系电话; stored encrypted, shown masked "
            "(GET /members/{id}/phone reveals it, audited)"
        },
    )
    party_organisation = text_field(
        NAME_LENGTH, allow_none=True, metadata={"description": "所在党组织"}
    )
    position = text_field(
        NAME_LENGTH, allow_none=True, metadata={"description": "职务 at the unit"}
    )
    card_issued_on = StrictDate(
        allow_none=True,
        metadata={"description": "when the unit issued the registration card (报到卡)"},
    )
    reported_on = StrictDate(
        allow_none=True,
        metadata={"description": "when the member reported to the community (报到)"},
    )
    unit_id = ref_field(
        allow_none=True, metadata={"description": "The id of the member's work unit (单位)"}
    )
    occupation = text_field(
        NAME_LENGTH,
        allow_none=True,
        metadata={"description": "The member's occupation, in their words"},
    )
    specialties = labels_field(
        metadata={"description": "What the member is good at (特长), free labels"}
    )
    skills = labels_field(
        metadata={
            "description": ("Skills the member holds; demands requiring them can go to the member")
        }
    )
    preferences = labels_field(metadata={"description": "service intentions (服务意向)"})
    location = StrictNested(LocationSchema, metadata={"description": "home, WGS84"})
    grid_id = ref_field(
        allow_none=True, metadata={"description": "The id of the member's home grid (网格)"}
    )
    building_id = ref_field(
        allow_none=True, metadata={"description": "The id of the member's home building (楼栋)"}
    )
    weekly_availability = StrictList(
        StrictNested(WeeklySlotSchema),
        validate=validate.Length(max=MAX_WEEKLY_SLOTS, error=f"at most {MAX_WEEKLY_SLOTS} slots"),
        metadata={"description": "When the member can serve each week"},
    )
    capacity_hours_per_week = StrictFloat(
        validate=between(0, 168),
        metadata={"description": "The most hours a week the member serves, in hours"},
    )

    @validates_schema(skip_on_field_errors=True)
    def check_overlaps(self, data: dict[str, Any], **kwargs: Any) -> None:
        slots = data.get("weekly_availability") or []
        errors: dict[int, list[str]] = {}
        for i, slot in enumerate(slots):
            for j, other in enumerate(slots[:i]):
                same_day = other["weekday"] == slot["weekday"]
                if same_day and slot["start"] < other["end"] and other["start"] < slot["end"]:
                    errors[i] = [f"overlaps slot {j} on the same weekday"]
                    break
        if errors:
            raise ValidationError({"weekly_availability": errors})


class MemberCreateSchema(MemberProfileSchema):
    """A registration (建档): the server sets ``id``, ``status`` (registered) and ``created_at``."""

    community_id = ref_field(required=True, metadata={"description": "where the member lives"})
    name = text_field(PERSON_NAME_LENGTH, required=True, metadata={"description": "姓名"})
    card_number = StrictString(
        required=True,
        validate=validate.Regexp(
            CARD_NUMBER_PATTERN,
            error="must be a card number of 2 to 64 letters, digits, - or _",
        ),
        metadata={"description": "registration card number (报到卡号)"},
    )
    location = StrictNested(LocationSchema, required=True, metadata={"description": "home, WGS84"})

    @validates_schema(skip_on_field_errors=True)
    def check_dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        issued, reported = data.get("card_issued_on"), data.get("reported_on")
        if issued is not None and reported is not None and reported < issued:
            raise ValidationError("must not be before the card was issued", "reported_on")


class MemberPatchSchema(MemberProfileSchema):
    """Profile changes and status transitions (registered → active → left only)."""

    status = StrictString(
        validate=one_of(MEMBER_STATUSES),
        metadata={"description": "registered (报到), active, or left"},
    )


class MemberListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    community_id = fields.String(
        load_default=None,
        validate=id_filter(),
        metadata={"description": "only this community's"},
    )
    unit_id = fields.String(
        load_default=None,
        validate=id_filter(),
        metadata={"description": "only this unit's (a unit's tracking view)"},
    )
    status = fields.String(load_default=None, validate=validate.OneOf(MEMBER_STATUSES))


class AvailabilityQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    start = StrictDateTime(required=True, metadata={"description": "horizon start, with offset"})
    end = StrictDateTime(required=True, metadata={"description": "horizon end, with offset"})

    @validates_schema(skip_on_field_errors=True)
    def check_horizon(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data["start"], data["end"]
        for name, moment in (("start", start), ("end", end)):
            if not in_supported_range(moment):
                raise ValidationError("must be between the years 2000 and 2200", name)
        if end <= start:
            raise ValidationError("must be after start", "end")
        if end - start > MAX_HORIZON:
            raise ValidationError(f"at most {MAX_HORIZON.days} days after start", "end")


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


class CommunitySchema(Schema):
    id = fields.String(required=True, metadata={"description": "The community's id"})
    name = fields.String(required=True, metadata={"description": "The name"})
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class GridSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The grid's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    name = fields.String(required=True, metadata={"description": "The name"})
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class BuildingSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The building's id"})
    grid_id = fields.String(required=True, metadata={"description": "The id of the grid"})
    name = fields.String(required=True, metadata={"description": "The name"})
    location = fields.Method("_location", allow_none=True, metadata={"description": "WGS84"})
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )

    def _location(self, building: Any) -> dict[str, float] | None:
        lat, lon = getattr(building, "lat", None), getattr(building, "lon", None)
        return None if lat is None or lon is None else {"lat": lat, "lon": lon}


class UnitRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The work unit's id"})
    name = fields.String(required=True, metadata={"description": "The name"})
    party_organisation = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The unit's Party organisation (党组织), or null"},
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class TrackedMemberSchema(Schema):
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    status = fields.String(
        required=True,
        validate=validate.OneOf(MEMBER_STATUSES),
        metadata={"description": "registered, active or left"},
    )
    reported_at = fields.DateTime(
        required=True, allow_none=True, metadata={"description": "when they reported (报到)"}
    )
    services = fields.Integer(required=True, metadata={"description": "completed tasks"})
    hours = fields.Float(required=True, metadata={"description": "hours served"})
    last_served_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": ("When the member last served (ISO 8601 with UTC offset), or null")
        },
    )
    open_tasks = fields.Integer(required=True, metadata={"description": "offered or accepted"})


class UnitTrackingSchema(Schema):
    unit_id = fields.String(required=True, metadata={"description": "The id of the work unit"})
    members = fields.List(
        fields.Nested(TrackedMemberSchema),
        required=True,
        metadata={"description": "The unit's members and where each stands"},
    )
    registered = fields.Integer(required=True, metadata={"description": "Members registered"})
    reported = fields.Integer(
        required=True, metadata={"description": "Members who have reported to their community"}
    )
    served = fields.Integer(required=True, metadata={"description": "with at least one service"})


class HomeSchema(Schema):
    lat = fields.Float(
        required=True, metadata={"description": "Latitude of the home in WGS84 degrees"}
    )
    lon = fields.Float(
        required=True, metadata={"description": "Longitude of the home in WGS84 degrees"}
    )


class SlotSchema(Schema):
    weekday = fields.String(
        required=True,
        validate=validate.OneOf(WEEKDAYS),
        metadata={"description": "The day of the week"},
    )
    start = fields.String(required=True, metadata={"description": "HH:MM, local time"})
    end = fields.String(required=True, metadata={"description": "HH:MM, local time"})


class MemberRecordSchema(Schema):
    """A member as stored. ``reported_at``: when the member became active (reported, 报到)."""

    id = fields.String(required=True, metadata={"description": "The member's id"})
    community_id = fields.String(
        required=True,
        metadata={"description": "The id of the community the member reported to (社区报到)"},
    )
    unit_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The id of the member's work unit, or null"},
    )
    card_number = fields.String(
        required=True, metadata={"description": "The member's card number, masked"}
    )
    name = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "姓名 (null: registered before names were kept)"},
    )
    phone = fields.String(
        required=True, allow_none=True, metadata={"description": "联系电话, masked (138****5678)"}
    )
    party_organisation = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The member's Party organisation, or null"},
    )
    position = fields.String(
        required=True, allow_none=True, metadata={"description": "The member's position, or null"}
    )
    card_issued_on = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "When the card was issued (YYYY-MM-DD), or null"},
    )
    reported_on = fields.Date(
        required=True,
        allow_none=True,
        metadata={
            "description": ("When the member reported to the community (YYYY-MM-DD), or null")
        },
    )
    occupation = fields.String(
        required=True, allow_none=True, metadata={"description": "The member's occupation, or null"}
    )
    specialties = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "What the member is good at (特长)"},
    )
    skills = fields.List(
        fields.String(), required=True, metadata={"description": "Skills the member holds"}
    )
    preferences = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Demand categories the member prefers"},
    )
    location = fields.Nested(HomeSchema, required=True)
    grid_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The id of the member's home grid, or null"},
    )
    building_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The id of the member's home building, or null"},
    )
    weekly_availability = fields.List(
        fields.Nested(SlotSchema),
        required=True,
        metadata={"description": "When the member can serve each week"},
    )
    capacity_hours_per_week = fields.Float(
        required=True, metadata={"description": "The most hours a week the member serves, in hours"}
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(MEMBER_STATUSES),
        metadata={"description": "registered, active or left"},
    )
    reported_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": (
                "When the member's report was recorded (ISO 8601 with UTC offset), or null"
            )
        },
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class MemberPhoneSchema(Schema):
    """A member's phone in clear (audited)."""

    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    name = fields.String(
        required=True, allow_none=True, metadata={"description": "The member's name, or null"}
    )
    phone = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The member's phone number, or null (this read is audited)"},
    )


class IntervalOutSchema(Schema):
    start = fields.String(required=True, metadata={"description": "ISO 8601, +08:00"})
    end = fields.String(required=True, metadata={"description": "ISO 8601, +08:00"})


class AvailabilitySchema(Schema):
    """``availability`` is usable as ``members[].availability`` of the dispatch contract."""

    member = fields.String(required=True, metadata={"description": "The member's id"})
    timezone = fields.String(
        required=True,
        validate=validate.Equal(TIMEZONE_NAME),
        metadata={"description": "The timezone of the times (Asia/Shanghai, +08:00)"},
    )
    start = fields.String(
        required=True,
        metadata={"description": "Start of the horizon: ISO 8601 date-time at +08:00"},
    )
    end = fields.String(
        required=True,
        metadata={"description": "End of the horizon (exclusive): ISO 8601 date-time at +08:00"},
    )
    availability = fields.List(
        fields.Nested(IntervalOutSchema),
        required=True,
        metadata={"description": "The member's free intervals in the window"},
    )


# --------------------------------------------------------------------------------------------
# The menu flow: demands and tasks
# --------------------------------------------------------------------------------------------

RESIDENT_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
MAX_DEMAND_WINDOW = MAX_HORIZON
MAX_WORKSPACE_CREW = 10
"""The largest crew a community's demand asks for (a team visit is the group mode's)."""
DISPATCH_TIME_LIMIT_S = 5.0
MAX_DISPATCH_TIME_LIMIT_S = 30.0
CANDIDATES_LIMIT = 5
MAX_CANDIDATES_LIMIT = 20


class DemandCreateSchema(StrictSchema):
    """A resident's order (点单). The server sets ``id``, ``community_id`` (from the path),
    ``status`` (open) and ``created_at``; a demand for a crew (``crew_size`` > 1) is offered to
    that many members at once.
    ``location`` may be left out when ``household_id`` or ``building_id`` names a place on
    file: the demand is then served there."""

    category = text_field(
        100,
        required=True,
        metadata={
            "description": ("What kind of help is asked (e.g. errands, repairs, companionship)")
        },
    )
    content = text_field(
        CONTENT_LENGTH,
        load_default=None,
        allow_none=True,
        metadata={"description": "需求内容: what the resident asks, in their words"},
    )
    source = StrictString(
        load_default=None,
        allow_none=True,
        validate=one_of(SOURCES),
        metadata={"description": "诉求来源", "enum": list(SOURCES)},
    )
    building_id = ref_field(
        load_default=None,
        allow_none=True,
        metadata={"description": "The id of the building where the help is needed"},
    )
    household_id = ref_field(
        load_default=None,
        allow_none=True,
        metadata={"description": "The id of the household asking (its contact stays masked)"},
    )
    skills = labels_field(load_default=list, metadata={"description": "every one is required"})
    location = StrictNested(
        LocationSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "WGS84 (default: the household's or the building's)"},
    )
    window = StrictNested(
        IntervalSchema, required=True, metadata={"description": "served inside it"}
    )
    duration_hours = StrictFloat(
        required=True,
        validate=between(0.25, 24),
        metadata={
            "description": ("How long the task takes, in hours (from a quarter hour to 24 hours)")
        },
    )
    priority = StrictInteger(
        required=True,
        validate=validate.Range(min=1, max=5, error="must be an integer from 1 to 5"),
        metadata={"description": "Urgency from 1 (low) to 5 (most urgent)"},
    )
    crew_size = StrictInteger(
        load_default=1,
        validate=between(1, MAX_WORKSPACE_CREW),
        metadata={"description": "members who serve it together (a crew starts at one time)"},
    )
    resident_ref = StrictString(
        load_default=None,
        allow_none=True,
        validate=[
            validate.Length(min=1, max=ID_LENGTH, error=f"must have 1 to {ID_LENGTH} characters"),
            validate.Regexp(RESIDENT_REF_PATTERN, error="must be an opaque id (A-Z, 0-9, . _ : -)"),
        ],
        metadata={"description": "an opaque resident id; never a name, phone or address"},
    )
    contact_phone = phone_field(
        metadata={
            "description": "the resident's phone, for the member who serves it; "
            "stored encrypted, shown masked"
        },
    )
    address = StrictString(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=200, error="must have 1 to 200 characters"),
        metadata={"description": "where to go (room, building); stored encrypted, shown masked"},
    )

    @validates_schema(skip_on_field_errors=True)
    def check_window(self, data: dict[str, Any], **kwargs: Any) -> None:
        window = data["window"]
        for name, moment in (("start", window.start), ("end", window.end)):
            if not in_supported_range(moment):
                raise ValidationError(
                    {"window": {name: ["must be between the years 2000 and 2200"]}}
                )
        if window.end <= utcnow():
            raise ValidationError({"window": {"end": ["must be in the future"]}})
        if window.end - window.start > MAX_DEMAND_WINDOW:
            raise ValidationError({"window": {"end": [f"at most {MAX_HORIZON.days} days long"]}})
        if data["duration_hours"] > window.hours:
            raise ValidationError("is longer than the window", field_name="duration_hours")


MAX_IMPORT_ROWS = 1000


class DemandImportSchema(StrictSchema):
    """Many residents' orders at once (an import): all are written, or none."""

    demands = fields.List(
        StrictNested(DemandCreateSchema),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_IMPORT_ROWS, error=f"must have 1 to {MAX_IMPORT_ROWS} rows"
        ),
        metadata={"description": "The demands to create, at most 1,000"},
    )
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "check every row and write nothing"},
    )


class DemandListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    community_id = fields.String(
        load_default=None,
        validate=id_filter(),
        metadata={"description": "only this community's"},
    )
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(DEMAND_STATUSES),
        metadata={"description": "open: the demand list (需求清单)"},
    )
    overdue = fields.Boolean(
        load_default=None,
        metadata={"description": "true: only demands whose window ended before they were served"},
    )


def _task_statuses(value: str) -> bool:
    names = value.split(",")
    if not names or any(name not in TASK_STATUSES for name in names):
        raise ValidationError(f"must be a comma-separated list of: {', '.join(TASK_STATUSES)}")
    return True


class TaskListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(
        load_default=None,
        validate=_task_statuses,
        metadata={
            "description": "comma-separated: offered,accepted is the task list (任务清单), "
            "completed the service list (服务清单)"
        },
    )
    community_id = fields.String(load_default=None, validate=id_filter())
    member_id = fields.String(load_default=None, validate=id_filter())
    overdue = fields.Boolean(
        load_default=None,
        metadata={"description": "true: only offered or accepted tasks whose end has passed"},
    )


class DispatchOptionsSchema(StrictSchema):
    time_limit_s = StrictFloat(
        load_default=DISPATCH_TIME_LIMIT_S,
        validate=validate.Range(
            min=0,
            max=MAX_DISPATCH_TIME_LIMIT_S,
            min_inclusive=False,
            error=f"must be greater than 0 and at most {MAX_DISPATCH_TIME_LIMIT_S:g}",
        ),
        metadata={"description": "seconds the engine may search (default 5)"},
    )


class DeclineSchema(StrictSchema):
    reason = text_field(
        500,
        required=True,
        metadata={"description": "Why the member declines the task, in their words"},
    )


class DeclineQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    redispatch = fields.Boolean(
        load_default=True,
        metadata={"description": "dispatch the demand again at once (default true)"},
    )


class CompleteSchema(StrictSchema):
    hours = StrictFloat(
        required=True,
        validate=validate.Range(
            min=0, max=24, min_inclusive=False, error="must be greater than 0 and at most 24"
        ),
        metadata={"description": "hours served"},
    )


class RateSchema(StrictSchema):
    rating = StrictInteger(
        required=True,
        validate=validate.Range(min=1, max=5, error="must be an integer from 1 to 5"),
        metadata={
            "description": ("The resident's rating of the service, from 1 (poor) to 5 (excellent)")
        },
    )


class ClaimSchema(StrictSchema):
    member_id = ref_field(
        required=True, metadata={"description": "The id of the member who claims the demand (认领)"}
    )


class WindowSchema(Schema):
    start = fields.DateTime(required=True, metadata={"description": "ISO 8601, +08:00"})
    end = fields.DateTime(required=True, metadata={"description": "ISO 8601, +08:00"})


class ContactSchema(Schema):
    """The resident's contact details: masked unless the caller needs them (see
    ``GET /demands/{id}/contact``); null after the retention period purged them."""

    phone = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The phone number, or null (masked unless masked is false)"},
    )
    address = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The address, or null (masked unless masked is false)"},
    )
    masked = fields.Boolean(
        required=True, metadata={"description": "Whether contact details are masked"}
    )
    purged = fields.Boolean(required=True, metadata={"description": "removed after retention"})


class DemandRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The demand's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    category = fields.String(required=True, metadata={"description": "What kind of help is asked"})
    skills = fields.List(
        fields.String(), required=True, metadata={"description": "Skills the task requires"}
    )
    location = fields.Nested(HomeSchema, required=True)
    window = fields.Nested(WindowSchema, required=True)
    duration_hours = fields.Float(
        required=True, metadata={"description": "How long the task takes, in hours"}
    )
    priority = fields.Integer(
        required=True, metadata={"description": "Urgency from 1 (low) to 5 (most urgent)"}
    )
    crew_size = fields.Integer(
        required=True, metadata={"description": "How many members the task needs"}
    )
    content = fields.String(required=True, allow_none=True, metadata={"description": "需求内容"})
    source = fields.String(
        required=True, allow_none=True, metadata={"description": "诉求来源", "enum": list(SOURCES)}
    )
    building_id = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of the building, or null"}
    )
    household_id = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of the household, or null"}
    )
    resident_ref = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "An opaque reference to the resident, or null"},
    )
    contact = fields.Nested(ContactSchema, required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(DEMAND_STATUSES),
        metadata={"description": "Where the demand stands (接诉即办: open to closed)"},
    )
    overdue = fields.Boolean(
        required=True,
        metadata={"description": "the window ended and the demand is not completed or cancelled"},
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )
    closed_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": ("When the demand was closed (ISO 8601 with UTC offset), or null")
        },
    )


class TaskRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The task's id"})
    demand_id = fields.String(required=True, metadata={"description": "The id of the demand"})
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    start = fields.DateTime(required=True, metadata={"description": "ISO 8601, +08:00"})
    end = fields.DateTime(required=True, metadata={"description": "ISO 8601, +08:00"})
    status = fields.String(
        required=True,
        validate=validate.OneOf(TASK_STATUSES),
        metadata={"description": "offered, accepted, completed or declined"},
    )
    decline_reason = fields.String(
        required=True, allow_none=True, metadata={"description": "Why the member declined, or null"}
    )
    hours = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "Hours served, in hours, or null before completion"},
    )
    rating = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The resident's rating from 1 to 5, or null"},
    )
    overdue = fields.Boolean(
        required=True, metadata={"description": "offered or accepted, and its end has passed"}
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )
    completed_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": ("When the task was completed (ISO 8601 with UTC offset), or null")
        },
    )
    redispatch = fields.Nested(
        "RedispatchSchema",
        allow_none=True,
        metadata={"description": "after a decline: where the demand went next"},
    )


class RedispatchSchema(Schema):
    """A declined demand dispatched again, everyone else's tasks pinned."""

    task = fields.Nested(
        TaskRecordSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The task the demand was offered as next (a crew's first)"},
    )
    crew = fields.List(
        fields.Nested(TaskRecordSchema),
        required=True,
        metadata={"description": "a crew demand's other new tasks (empty for one member)"},
    )
    reason = fields.String(
        required=True, allow_none=True, metadata={"description": "Why, as one code, or null"}
    )
    detail = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The reason in a sentence, or null"},
    )
    params = reason_params_field()


class LeftOutSchema(Schema):
    demand_id = fields.String(required=True, metadata={"description": "The id of the demand"})
    reason = fields.String(required=True, metadata={"description": "the engine's reason"})
    detail = fields.String(required=True, metadata={"description": "The reason in a sentence"})
    params = reason_params_field()


class MemberLoadSchema(Schema):
    """A member's load in the dispatched plan (the engine's ``load``)."""

    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    tasks = fields.Integer(required=True, metadata={"description": "tasks offered in this plan"})
    hours = fields.Float(required=True, metadata={"description": "hours of those tasks"})


class DispatchResultSchema(Schema):
    status = fields.String(
        required=True, metadata={"description": "the engine's status; nothing_to_dispatch"}
    )
    tasks = fields.List(
        fields.Nested(TaskRecordSchema),
        required=True,
        metadata={"description": "The tasks the run created"},
    )
    left_out = fields.List(
        fields.Nested(LeftOutSchema),
        required=True,
        metadata={"description": "Demands the run left out, with a reason"},
    )
    member_loads = fields.List(
        fields.Nested(MemberLoadSchema),
        required=True,
        metadata={"description": "each member given a task, with the plan's tasks and hours"},
    )


class DemandImportResultSchema(Schema):
    dry_run = fields.Boolean(
        required=True, metadata={"description": "Nothing was stored (a check only)"}
    )
    count = fields.Integer(required=True, metadata={"description": "rows accepted"})
    demands = fields.List(
        fields.Nested(DemandRecordSchema),
        required=True,
        metadata={"description": "the demands written (empty for a dry run)"},
    )


class DispatchRunSchema(Schema):
    """A community's dispatch run in the background (``Prefer: respond-async``)."""

    id = fields.String(required=True, metadata={"description": "The dispatch run's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    status = fields.String(
        required=True,
        validate=validate.OneOf(RUN_STATUSES),
        metadata={"description": "queued, running, succeeded or failed"},
    )
    time_limit_s = fields.Float(
        required=True, metadata={"description": "The solve's time limit, in seconds"}
    )
    result = fields.Dict(
        required=True,
        allow_none=True,
        metadata={
            "description": "once it succeeded: the synchronous dispatch's answer "
            "(status, tasks, left_out), times as ISO 8601 strings"
        },
    )
    error = fields.String(
        required=True, allow_none=True, metadata={"description": "Why it failed, or null"}
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )
    started_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "When the run started (ISO 8601 with UTC offset), or null"},
    )
    finished_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "When the run ended (ISO 8601 with UTC offset), or null"},
    )


class CandidatesQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(
        load_default=CANDIDATES_LIMIT,
        validate=validate.Range(
            min=1,
            max=MAX_CANDIDATES_LIMIT,
            error=f"must be an integer from 1 to {MAX_CANDIDATES_LIMIT}",
        ),
        metadata={"description": "how many members, best first (default 5)"},
    )


class CandidateSchema(Schema):
    member_id = fields.String(
        required=True, metadata={"description": "The id of a member who could serve the demand"}
    )
    distance_km = fields.Float(required=True, metadata={"description": "rounded to 0.01 km"})
    earliest_start = fields.DateTime(
        required=True,
        metadata={"description": "the earliest feasible start, ISO 8601, +08:00"},
    )
    cost = fields.Float(
        required=True, metadata={"description": "the engine's cost of this member serving it"}
    )
    prefers_category = fields.Boolean(
        required=True,
        metadata={"description": "the demand's category is among the member's service intentions"},
    )


class DemandCandidatesSchema(Schema):
    demand_id = fields.String(required=True, metadata={"description": "The id of the demand"})
    candidates = fields.List(
        fields.Nested(CandidateSchema),
        required=True,
        metadata={"description": "Members who could serve it, best first"},
    )
    reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "the engine's reason when nobody can take it, else null"},
    )
    detail = fields.String(
        required=True, allow_none=True, metadata={"description": "Why there is none, or null"}
    )
    params = reason_params_field()
