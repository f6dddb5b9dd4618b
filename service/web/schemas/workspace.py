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
    name = text_field(NAME_LENGTH, required=True)


class NamedCreateSchema(StrictSchema):
    """A grid or a building: only its name (the parent is in the path, the id is the server's)."""

    name = text_field(NAME_LENGTH, required=True)


class BuildingCreateSchema(NamedCreateSchema):
    """A building: its name and, if known, where it stands."""

    location = StrictNested(
        LocationSchema, load_default=None, allow_none=True, metadata={"description": "WGS84"}
    )


class UnitCreateSchema(StrictSchema):
    name = text_field(NAME_LENGTH, required=True)
    party_organisation = text_field(NAME_LENGTH, load_default=None, allow_none=True)


class WeeklySlotSchema(StrictSchema):
    """``{"weekday": "mon", "start": "09:00", "end": "12:00"}``, local time, within one day."""

    weekday = StrictString(required=True, validate=one_of(WEEKDAYS))
    start = ClockTimeField(required=True)
    end = ClockTimeField(required=True)

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
    unit_id = ref_field(allow_none=True)
    occupation = text_field(NAME_LENGTH, allow_none=True)
    specialties = labels_field()
    skills = labels_field()
    preferences = labels_field(metadata={"description": "service intentions (服务意向)"})
    location = StrictNested(LocationSchema, metadata={"description": "home, WGS84"})
    grid_id = ref_field(allow_none=True)
    building_id = ref_field(allow_none=True)
    weekly_availability = StrictList(
        StrictNested(WeeklySlotSchema),
        validate=validate.Length(max=MAX_WEEKLY_SLOTS, error=f"at most {MAX_WEEKLY_SLOTS} slots"),
    )
    capacity_hours_per_week = StrictFloat(validate=between(0, 168))

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

    status = StrictString(validate=one_of(MEMBER_STATUSES))


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
    id = fields.String(required=True)
    name = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class GridSchema(Schema):
    id = fields.String(required=True)
    community_id = fields.String(required=True)
    name = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class BuildingSchema(Schema):
    id = fields.String(required=True)
    grid_id = fields.String(required=True)
    name = fields.String(required=True)
    location = fields.Method("_location", allow_none=True, metadata={"description": "WGS84"})
    created_at = fields.DateTime(required=True)

    def _location(self, building: Any) -> dict[str, float] | None:
        lat, lon = getattr(building, "lat", None), getattr(building, "lon", None)
        return None if lat is None or lon is None else {"lat": lat, "lon": lon}


class UnitRecordSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    party_organisation = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class TrackedMemberSchema(Schema):
    member_id = fields.String(required=True)
    community_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(MEMBER_STATUSES))
    reported_at = fields.DateTime(
        required=True, allow_none=True, metadata={"description": "when they reported (报到)"}
    )
    services = fields.Integer(required=True, metadata={"description": "completed tasks"})
    hours = fields.Float(required=True, metadata={"description": "hours served"})
    last_served_at = fields.DateTime(required=True, allow_none=True)
    open_tasks = fields.Integer(required=True, metadata={"description": "offered or accepted"})


class UnitTrackingSchema(Schema):
    unit_id = fields.String(required=True)
    members = fields.List(fields.Nested(TrackedMemberSchema), required=True)
    registered = fields.Integer(required=True)
    reported = fields.Integer(required=True)
    served = fields.Integer(required=True, metadata={"description": "with at least one service"})


class HomeSchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class SlotSchema(Schema):
    weekday = fields.String(required=True, validate=validate.OneOf(WEEKDAYS))
    start = fields.String(required=True, metadata={"description": "HH:MM, local time"})
    end = fields.String(required=True, metadata={"description": "HH:MM, local time"})


class MemberRecordSchema(Schema):
    """A member as stored. ``reported_at``: when the member became active (reported, 报到)."""

    id = fields.String(required=True)
    community_id = fields.String(required=True)
    unit_id = fields.String(required=True, allow_none=True)
    card_number = fields.String(required=True)
    name = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "姓名 (null: registered before names were kept)"},
    )
    phone = fields.String(
        required=True, allow_none=True, metadata={"description": "联系电话, masked (138****5678)"}
    )
    party_organisation = fields.String(required=True, allow_none=True)
    position = fields.String(required=True, allow_none=True)
    card_issued_on = fields.Date(required=True, allow_none=True)
    reported_on = fields.Date(required=True, allow_none=True)
    occupation = fields.String(required=True, allow_none=True)
    specialties = fields.List(fields.String(), required=True)
    skills = fields.List(fields.String(), required=True)
    preferences = fields.List(fields.String(), required=True)
    location = fields.Nested(HomeSchema, required=True)
    grid_id = fields.String(required=True, allow_none=True)
    building_id = fields.String(required=True, allow_none=True)
    weekly_availability = fields.List(fields.Nested(SlotSchema), required=True)
    capacity_hours_per_week = fields.Float(required=True)
    status = fields.String(required=True, validate=validate.OneOf(MEMBER_STATUSES))
    reported_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class MemberPhoneSchema(Schema):
    """A member's phone in clear (audited)."""

    member_id = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)


class IntervalOutSchema(Schema):
    start = fields.String(required=True, metadata={"description": "ISO 8601, +08:00"})
    end = fields.String(required=True, metadata={"description": "ISO 8601, +08:00"})


class AvailabilitySchema(Schema):
    """``availability`` is usable as ``members[].availability`` of the dispatch contract."""

    member = fields.String(required=True)
    timezone = fields.String(required=True, validate=validate.Equal(TIMEZONE_NAME))
    start = fields.String(required=True)
    end = fields.String(required=True)
    availability = fields.List(fields.Nested(IntervalOutSchema), required=True)


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

    category = text_field(100, required=True)
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
    building_id = ref_field(load_default=None, allow_none=True)
    household_id = ref_field(load_default=None, allow_none=True)
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
    duration_hours = StrictFloat(required=True, validate=between(0.25, 24))
    priority = StrictInteger(
        required=True,
        validate=validate.Range(min=1, max=5, error="must be an integer from 1 to 5"),
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
    reason = text_field(500, required=True)


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
    )


class ClaimSchema(StrictSchema):
    member_id = ref_field(required=True)


class WindowSchema(Schema):
    start = fields.DateTime(required=True, metadata={"description": "ISO 8601, +08:00"})
    end = fields.DateTime(required=True, metadata={"description": "ISO 8601, +08:00"})


class ContactSchema(Schema):
    """The resident's contact details: masked unless the caller needs them (see
    ``GET /demands/{id}/contact``); null after the retention period purged them."""

    phone = fields.String(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)
    masked = fields.Boolean(required=True)
    purged = fields.Boolean(required=True, metadata={"description": "removed after retention"})


class DemandRecordSchema(Schema):
    id = fields.String(required=True)
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    skills = fields.List(fields.String(), required=True)
    location = fields.Nested(HomeSchema, required=True)
    window = fields.Nested(WindowSchema, required=True)
    duration_hours = fields.Float(required=True)
    priority = fields.Integer(required=True)
    crew_size = fields.Integer(required=True)
    content = fields.String(required=True, allow_none=True, metadata={"description": "需求内容"})
    source = fields.String(
        required=True, allow_none=True, metadata={"description": "诉求来源", "enum": list(SOURCES)}
    )
    building_id = fields.String(required=True, allow_none=True)
    household_id = fields.String(required=True, allow_none=True)
    resident_ref = fields.String(required=True, allow_none=True)
    contact = fields.Nested(ContactSchema, required=True)
    status = fields.String(required=True, validate=validate.OneOf(DEMAND_STATUSES))
    overdue = fields.Boolean(
        required=True,
        metadata={"description": "the window ended and the demand is not completed or cancelled"},
    )
    created_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(required=True, allow_none=True)


class TaskRecordSchema(Schema):
    id = fields.String(required=True)
    demand_id = fields.String(required=True)
    member_id = fields.String(required=True)
    start = fields.DateTime(required=True, metadata={"description": "ISO 8601, +08:00"})
    end = fields.DateTime(required=True, metadata={"description": "ISO 8601, +08:00"})
    status = fields.String(required=True, validate=validate.OneOf(TASK_STATUSES))
    decline_reason = fields.String(required=True, allow_none=True)
    hours = fields.Float(required=True, allow_none=True)
    rating = fields.Integer(required=True, allow_none=True)
    overdue = fields.Boolean(
        required=True, metadata={"description": "offered or accepted, and its end has passed"}
    )
    created_at = fields.DateTime(required=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    redispatch = fields.Nested(
        "RedispatchSchema",
        allow_none=True,
        metadata={"description": "after a decline: where the demand went next"},
    )


class RedispatchSchema(Schema):
    """A declined demand dispatched again, everyone else's tasks pinned."""

    task = fields.Nested(TaskRecordSchema, required=True, allow_none=True)
    crew = fields.List(
        fields.Nested(TaskRecordSchema),
        required=True,
        metadata={"description": "a crew demand's other new tasks (empty for one member)"},
    )
    reason = fields.String(required=True, allow_none=True)
    detail = fields.String(required=True, allow_none=True)
    params = fields.Dict(
        keys=fields.String(),
        dump_default=dict,
        metadata={"description": "the numbers and names detail is built from (may be empty)"},
    )


class LeftOutSchema(Schema):
    demand_id = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "the engine's reason"})
    detail = fields.String(required=True)
    params = fields.Dict(
        keys=fields.String(),
        dump_default=dict,
        metadata={
            "description": "the numbers and names detail is built from; keys per reason in "
            "docs/contracts/dispatch.md"
        },
    )


class MemberLoadSchema(Schema):
    """A member's load in the dispatched plan (the engine's ``load``)."""

    member_id = fields.String(required=True)
    tasks = fields.Integer(required=True, metadata={"description": "tasks offered in this plan"})
    hours = fields.Float(required=True, metadata={"description": "hours of those tasks"})


class DispatchResultSchema(Schema):
    status = fields.String(
        required=True, metadata={"description": "the engine's status; nothing_to_dispatch"}
    )
    tasks = fields.List(fields.Nested(TaskRecordSchema), required=True)
    left_out = fields.List(fields.Nested(LeftOutSchema), required=True)
    member_loads = fields.List(
        fields.Nested(MemberLoadSchema),
        required=True,
        metadata={"description": "each member given a task, with the plan's tasks and hours"},
    )


class DemandImportResultSchema(Schema):
    dry_run = fields.Boolean(required=True)
    count = fields.Integer(required=True, metadata={"description": "rows accepted"})
    demands = fields.List(
        fields.Nested(DemandRecordSchema),
        required=True,
        metadata={"description": "the demands written (empty for a dry run)"},
    )


class DispatchRunSchema(Schema):
    """A community's dispatch run in the background (``Prefer: respond-async``)."""

    id = fields.String(required=True)
    community_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(RUN_STATUSES))
    time_limit_s = fields.Float(required=True)
    result = fields.Dict(
        required=True,
        allow_none=True,
        metadata={
            "description": "once it succeeded: the synchronous dispatch's answer "
            "(status, tasks, left_out), times as ISO 8601 strings"
        },
    )
    error = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    finished_at = fields.DateTime(required=True, allow_none=True)


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
    member_id = fields.String(required=True)
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
    demand_id = fields.String(required=True)
    candidates = fields.List(fields.Nested(CandidateSchema), required=True)
    reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "the engine's reason when nobody can take it, else null"},
    )
    detail = fields.String(required=True, allow_none=True)
    params = fields.Dict(
        keys=fields.String(),
        dump_default=dict,
        metadata={
            "description": "the numbers and names detail is built from; keys per reason in "
            "docs/contracts/dispatch.md"
        },
    )
