"""Schemas of the three ledgers a community files (民情走访台账, 群众诉求台账, 诉求反馈台账)."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from service.contracts.fields import (
    StrictDate,
    StrictDateTime,
    StrictList,
    StrictSchema,
    StrictString,
    one_of,
)
from service.db.flow import (
    CONTENT_LENGTH,
    DEMAND_ACTIONS,
    DEMAND_STATUSES,
    SATISFACTION,
    SOURCES,
    TOLD_VIA,
)
from service.db.visits import NOTE_LENGTH
from service.web.schemas.workspace import (
    DemandCreateSchema,
    DemandRecordSchema,
    id_filter,
    ref_field,
    text_field,
)

MAX_VISITORS = 20


class FeedbackCreateSchema(StrictSchema):
    """诉求反馈: what was done and how the resident was told, or why they could not be told."""

    outcome = text_field(
        CONTENT_LENGTH, required=True, metadata={"description": "办理结果: what was done"}
    )
    told_at = StrictDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "when the resident was told (with offset)"},
    )
    told_via = StrictString(
        load_default=None,
        allow_none=True,
        validate=one_of(TOLD_VIA),
        metadata={"description": "how they were told", "enum": list(TOLD_VIA)},
    )
    satisfaction = StrictString(
        load_default=None,
        allow_none=True,
        validate=one_of(SATISFACTION),
        metadata={"description": "满意度, as the resident said", "enum": list(SATISFACTION)},
    )
    no_feedback_reason = text_field(
        CONTENT_LENGTH,
        load_default=None,
        allow_none=True,
        metadata={"description": "why the resident could not be told (instead of told_at)"},
    )

    @validates_schema(skip_on_field_errors=True)
    def check_one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        told, reason = data["told_at"] is not None, data["no_feedback_reason"] is not None
        if told == reason:
            raise ValidationError(
                "give either told_at (with told_via) or no_feedback_reason", "told_at"
            )
        if told and data["told_via"] is None:
            raise ValidationError("required with told_at", "told_via")
        if not told and (data["told_via"] is not None or data["satisfaction"] is not None):
            raise ValidationError("only when the resident was told (told_at)", "satisfaction")


class FeedbackSchema(Schema):
    demand_id = fields.String(required=True, metadata={"description": "The id of the demand"})
    outcome = fields.String(required=True, metadata={"description": "What was done, in words"})
    told_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": ("When the resident was told (ISO 8601 with UTC offset), or null")
        },
    )
    told_via = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "How the resident was told, or null", "enum": list(TOLD_VIA)},
    )
    satisfaction = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The resident's satisfaction, or null",
            "enum": list(SATISFACTION),
        },
    )
    no_feedback_reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why the resident was not asked, or null"},
    )
    recorded_by = fields.String(required=True, metadata={"description": "who recorded it"})
    recorded_at = fields.DateTime(
        required=True,
        metadata={"description": "When the feedback was recorded (ISO 8601 with UTC offset)"},
    )


class DemandEventSchema(Schema):
    at = fields.DateTime(required=True, metadata={"description": "+08:00"})
    action = fields.String(
        required=True, metadata={"description": "What happened", "enum": list(DEMAND_ACTIONS)}
    )
    member_id = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of the member"}
    )
    member_name = fields.String(
        required=True, allow_none=True, metadata={"description": "The member's name, or null"}
    )
    actor = fields.String(required=True, metadata={"description": "who did it, by name"})
    note = fields.String(
        required=True, allow_none=True, metadata={"description": "a reason, hours, a rating"}
    )


class RequestEntrySchema(Schema):
    """One row of the requests ledger (群众诉求台账): a demand with its whole history."""

    demand = fields.Nested(DemandRecordSchema, required=True)
    history = fields.List(
        fields.Nested(DemandEventSchema),
        required=True,
        metadata={"description": "What happened to the demand, in order"},
    )
    served_by = fields.List(
        fields.String(), required=True, metadata={"description": "names of who served it"}
    )
    feedback = fields.Nested(
        FeedbackSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The feedback to the resident, or null"},
    )


class LedgerListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    start = fields.Date(load_default=None, data_key="from", metadata={"description": "from"})
    end = fields.Date(load_default=None, data_key="to", metadata={"description": "to, inclusive"})
    status = fields.String(load_default=None, validate=validate.OneOf(DEMAND_STATUSES))
    source = fields.String(load_default=None, validate=validate.OneOf(SOURCES))

    @validates_schema(skip_on_field_errors=True)
    def check_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["start"] and data["end"] and data["end"] < data["start"]:
            raise ValidationError("must not be before from", "to")
        for name in ("start", "end"):
            day = data[name]
            if day is not None and not 2000 <= day.year <= 2200:
                raise ValidationError("must be between the years 2000 and 2200", name)


class FeedbackEntrySchema(Schema):
    """One row of the feedback ledger (诉求反馈台账)."""

    demand = fields.Nested(DemandRecordSchema, required=True)
    served_by = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of the members who served"}
    )
    feedback = fields.Nested(
        FeedbackSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The feedback to the resident, or null"},
    )
    awaiting = fields.Boolean(
        required=True, metadata={"description": "completed, the resident not yet told back"}
    )


class VisitNoteCreateSchema(StrictSchema):
    """民情走访: one household's note of one visit."""

    household_id = ref_field(
        required=True, metadata={"description": "The id of the household visited"}
    )
    visited_on = StrictDate(required=True, metadata={"description": "the visit's date"})
    session_id = ref_field(
        load_default=None,
        allow_none=True,
        metadata={"description": "the team outing it was taken on, if any"},
    )
    visitors = StrictList(
        ref_field(),
        required=True,
        validate=validate.Length(min=1, max=MAX_VISITORS, error=f"1 to {MAX_VISITORS} members"),
        metadata={"description": "member ids of who called"},
    )
    content = text_field(
        NOTE_LENGTH, required=True, metadata={"description": "what the household said or needs"}
    )
    category = text_field(
        100,
        load_default=None,
        allow_none=True,
        metadata={"description": ("The kind of need noted, if any (becomes a demand's category)")},
    )


class VisitNoteSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The note's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    household_id = fields.String(
        required=True, metadata={"description": "The id of the household visited"}
    )
    session_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The id of the visit session, or null"},
    )
    visited_on = fields.Date(
        required=True, metadata={"description": "The date of the visit (YYYY-MM-DD)"}
    )
    visitors = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of the members who visited"}
    )
    visitor_names = fields.List(
        fields.String(), required=True, metadata={"description": "The visitors' names"}
    )
    content = fields.String(required=True, metadata={"description": "What was found, in words"})
    category = fields.String(
        required=True, allow_none=True, metadata={"description": "The kind of need noted, or null"}
    )
    demand_id = fields.String(
        required=True, allow_none=True, metadata={"description": "the demand it became"}
    )
    recorded_by = fields.String(required=True, metadata={"description": "Who recorded the note"})
    created_at = fields.DateTime(
        required=True,
        metadata={"description": "When the note was recorded (ISO 8601 with UTC offset)"},
    )


class NoteListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    household_id = fields.String(load_default=None, validate=id_filter())
    open = fields.Boolean(
        load_default=None, metadata={"description": "true: only notes not yet a demand"}
    )


class NoteToDemandSchema(DemandCreateSchema):
    """The demand a note becomes: its place, household and source come from the note."""

    class Meta(StrictSchema.Meta):
        exclude = ("location", "household_id", "building_id", "source")


class NoteDemandSchema(Schema):
    note = fields.Nested(VisitNoteSchema, required=True)
    demand = fields.Nested(DemandRecordSchema, required=True)


__all__ = [
    "DemandEventSchema",
    "FeedbackCreateSchema",
    "FeedbackEntrySchema",
    "FeedbackSchema",
    "LedgerListQuerySchema",
    "NoteDemandSchema",
    "NoteListQuerySchema",
    "NoteToDemandSchema",
    "RequestEntrySchema",
    "VisitNoteCreateSchema",
    "VisitNoteSchema",
]
