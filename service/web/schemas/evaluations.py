"""Marshmallow schemas of the five evaluations (五评议).

Request bodies reject unknown fields (422 ``unknown field``): a client cannot set ids, the
reviewer, the recorder or a time. Query schemas ignore unknown parameters.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from service.contracts.fields import (
    StrictFloat,
    StrictInteger,
    StrictList,
    StrictNested,
    StrictSchema,
    StrictString,
    between,
    one_of,
)
from service.db.evaluations import (
    COMMENT_LENGTH,
    MARKS,
    REPORT_LENGTH,
    RESPONDENT_KINDS,
    STATEMENT_LENGTH,
)
from service.domain.evaluations.periods import Period
from service.domain.evaluations.scheme import TIERS
from service.web.schemas.ledger import FIRST_YEAR, LAST_YEAR
from service.web.schemas.workspace import ref_field, text_field

MAX_POINTS = 1_000_000.0


def _period(value: str) -> bool:
    try:
        period = Period.parse(value)
    except ValueError as err:
        raise ValidationError(str(err)) from None
    if not FIRST_YEAR <= period.year <= LAST_YEAR:
        raise ValidationError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return True


def _period_field(**kwargs: Any) -> StrictString:
    return StrictString(
        validate=_period, metadata={"description": "a half year: 2026H1 or 2026H2"}, **kwargs
    )


def _weight(**kwargs: Any) -> StrictFloat:
    return StrictFloat(load_default=0.0, validate=between(0, 1000), **kwargs)


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


class PeriodQuerySchema(Schema):
    """Exactly one of ``period`` (a half year) or ``year`` (the year end)."""

    class Meta:
        unknown = EXCLUDE

    period = _period_field(load_default=None)
    year = fields.Integer(
        load_default=None,
        validate=between(FIRST_YEAR, LAST_YEAR),
        error_messages={"invalid": "must be an integer such as 2026"},
        metadata={"description": "the year end: both half years, tiers, stars, shortlist"},
    )

    @validates_schema(skip_on_field_errors=True)
    def check_one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data["period"] is None) == (data["year"] is None):
            raise ValidationError("give exactly one of period (2026H1) or year (2026)", "period")


class HalfYearQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    period = _period_field(required=True)


class SelfEvaluationCreateSchema(StrictSchema):
    period = _period_field(required=True)
    text = text_field(REPORT_LENGTH, required=True, metadata={"description": "the written report"})


class LeaderReviewCreateSchema(StrictSchema):
    period = _period_field(required=True)
    mark = StrictString(
        required=True,
        validate=one_of(MARKS),
        metadata={"description": "excellent 优秀, good 良好, fair 一般, poor 较差"},
    )
    comment = text_field(
        COMMENT_LENGTH, required=True, metadata={"description": "The leader's review, in words"}
    )


class SurveyResponseCreateSchema(StrictSchema):
    member_id = ref_field(
        required=True, metadata={"description": "The id of the member the response is about"}
    )
    period = _period_field(required=True)
    score = StrictInteger(
        required=True,
        validate=between(1, 5),
        metadata={"description": "The score given, from 1 (poor) to 5 (excellent)"},
    )
    respondent_kind = StrictString(
        required=True,
        validate=one_of(RESPONDENT_KINDS),
        metadata={
            "description": ("Who answered: a residents' representative or a served resident")
        },
    )
    respondent_ref = ref_field(
        required=True,
        metadata={"description": "an opaque reference of the respondent (never a name)"},
    )


class VetoCreateSchema(StrictSchema):
    member_id = ref_field(
        required=True, metadata={"description": "The id of the member the veto is about"}
    )
    period = _period_field(required=True)
    statement = text_field(
        STATEMENT_LENGTH,
        required=True,
        metadata={"description": "the community's written statement that the member never served"},
    )


class PointsWeightsSchema(StrictSchema):
    per_hour = _weight(metadata={"description": "Points per hour of service"})
    per_service = _weight(metadata={"description": "Points per service completed"})
    per_rating_point = _weight(
        metadata={"description": "Points per rating point received (1 to 5 per rating)"}
    )
    per_commitment_kept = _weight(metadata={"description": "Points per commitment kept"})
    per_visit = _weight(metadata={"description": "Points per household visit attended"})
    per_survey_point = _weight(metadata={"description": "Points per survey score point received"})


class PointsPenaltiesSchema(StrictSchema):
    per_no_show = _weight(
        metadata={"description": "Points taken per session missed without notice"}
    )
    per_decline = _weight(metadata={"description": "Points taken per task declined"})
    per_missed_commitment = _weight(metadata={"description": "Points taken per commitment missed"})
    per_late_completion = _weight(metadata={"description": "Points taken per task completed late"})


class PointsTiersSchema(StrictSchema):
    mode = StrictString(
        required=True,
        validate=one_of(("thresholds", "quotas")),
        metadata={
            "description": ("thresholds: tiers by points; quotas: tiers by share of members")
        },
    )
    excellent = StrictFloat(
        required=True,
        validate=between(-MAX_POINTS, MAX_POINTS),
        metadata={"description": "Points (or share, with quotas) for the excellent tier"},
    )
    good = StrictFloat(
        required=True,
        validate=between(-MAX_POINTS, MAX_POINTS),
        metadata={"description": "Points (or share, with quotas) for the good tier"},
    )
    fair = StrictFloat(
        required=True,
        validate=between(-MAX_POINTS, MAX_POINTS),
        metadata={"description": "Points (or share, with quotas) for the fair tier"},
    )
    poor = StrictFloat(
        required=True,
        validate=between(-MAX_POINTS, MAX_POINTS),
        metadata={"description": "Points (or share, with quotas) for the poor tier"},
    )


class PointsSchemeSchema(StrictSchema):
    """A community's points scheme (社区参评)."""

    weights = StrictNested(PointsWeightsSchema, required=True)
    penalties = StrictNested(PointsPenaltiesSchema, required=True)
    tiers = StrictNested(
        PointsTiersSchema,
        required=True,
        metadata={
            "description": "thresholds: the least year points of each tier (below poor: bad); "
            "quotas: the share of the community's ranked members in each tier (the rest: bad)"
        },
    )
    stars = StrictList(
        StrictFloat(validate=between(-MAX_POINTS, MAX_POINTS)),
        required=True,
        validate=validate.Length(equal=5, error="must list 5 thresholds (1 to 5 stars)"),
        metadata={"description": "The points needed for one to five stars, lowest first"},
    )
    veto_star_cap = StrictInteger(
        required=True,
        validate=between(0, 5),
        metadata={"description": "The most stars a member with a veto (一票否决) can get"},
    )
    shortlist_size = StrictInteger(
        required=True,
        validate=between(0, 100),
        metadata={"description": "How many members the shortlist of the period lists"},
    )


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


class DraftSourcesSchema(Schema):
    task_ids = fields.List(fields.String(), metadata={"description": "Ids of the tasks counted"})
    visit_ids = fields.List(fields.String(), metadata={"description": "Ids of the visits counted"})
    commitments_kept = fields.List(fields.String(), metadata={"description": "Commitments kept"})
    commitments_missed = fields.List(
        fields.String(), metadata={"description": "Commitments missed"}
    )


class DraftFiguresSchema(Schema):
    services = fields.Integer(metadata={"description": "Services completed"})
    hours = fields.Float(metadata={"description": "Hours of service, in hours"})
    ratings = fields.Integer(metadata={"description": "How many ratings"})
    mean_rating = fields.Float(
        allow_none=True,
        metadata={"description": "The mean rating from 1 to 5, or null without ratings"},
    )
    visits = fields.Integer(metadata={"description": "Household visits attended"})
    visit_hours = fields.Float(
        metadata={"description": "Hours of visits attended in the period, in hours"}
    )
    commitments_kept = fields.Integer(metadata={"description": "Commitments kept"})
    commitments_missed = fields.Integer(metadata={"description": "Commitments missed"})
    sources = fields.Nested(DraftSourcesSchema)


class DraftSchema(Schema):
    member_id = fields.String(metadata={"description": "The id of the member"})
    period = fields.String(
        metadata={"description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")}
    )
    figures = fields.Nested(DraftFiguresSchema)
    text = fields.String(metadata={"description": "a pre-filled report to edit"})
    submitted = fields.Nested(
        lambda: SelfEvaluationRecordSchema(),
        allow_none=True,
        metadata={"description": "The self-evaluation already submitted, or null"},
    )


class SelfEvaluationRecordSchema(Schema):
    id = fields.String(metadata={"description": "The self-evaluation's id"})
    member_id = fields.String(metadata={"description": "The id of the member"})
    community_id = fields.String(metadata={"description": "The id of the community"})
    period = fields.String(
        metadata={"description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")}
    )
    text = fields.String(metadata={"description": "The text"})
    figures = fields.Nested(DraftFiguresSchema)
    submitted_at = fields.DateTime(
        metadata={"description": "When it was submitted (ISO 8601 with UTC offset)"}
    )


class LeaderReviewRecordSchema(Schema):
    id = fields.String(metadata={"description": "The leader review's id"})
    member_id = fields.String(metadata={"description": "The id of the member"})
    unit_id = fields.String(metadata={"description": "The id of the work unit"})
    period = fields.String(
        metadata={"description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")}
    )
    mark = fields.String(metadata={"description": "The leader's mark"})
    comment = fields.String(metadata={"description": "The leader's comment"})
    reviewer_role = fields.String(metadata={"description": "The reviewer's role"})
    created_at = fields.DateTime(
        metadata={"description": ("When it was created: an ISO 8601 date-time with its UTC offset")}
    )


class SurveyResponseRecordSchema(Schema):
    id = fields.String(metadata={"description": "The survey response's id"})
    community_id = fields.String(metadata={"description": "The id of the community"})
    member_id = fields.String(metadata={"description": "The id of the member"})
    period = fields.String(
        metadata={"description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")}
    )
    score = fields.Integer(metadata={"description": "The score from 1 to 5"})
    respondent_kind = fields.String(metadata={"description": "Who answered"})
    respondent_ref = fields.String(metadata={"description": "An opaque reference to who answered"})
    created_at = fields.DateTime(
        metadata={"description": ("When it was created: an ISO 8601 date-time with its UTC offset")}
    )


class VetoRecordSchema(Schema):
    id = fields.String(metadata={"description": "The veto's id"})
    community_id = fields.String(metadata={"description": "The id of the community"})
    member_id = fields.String(metadata={"description": "The id of the member"})
    period = fields.String(
        metadata={"description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")}
    )
    statement = fields.String(metadata={"description": "The veto's statement of facts"})
    recorded_by_role = fields.String(metadata={"description": "The role of who recorded it"})
    created_at = fields.DateTime(
        metadata={"description": ("When it was created: an ISO 8601 date-time with its UTC offset")}
    )


class PointsSchemeRecordSchema(Schema):
    community_id = fields.String(metadata={"description": "The id of the community"})
    configured = fields.Boolean(metadata={"description": "false: the default scheme"})
    config = fields.Nested(PointsSchemeSchema)
    updated_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": ("When the scheme last changed (ISO 8601 with UTC offset), or null")
        },
    )


class EvaluationFlagSchema(Schema):
    member_id = fields.String(metadata={"description": "The id of the member"})
    community_id = fields.String(metadata={"description": "The id of the community"})
    status = fields.String(metadata={"description": "Where the member stands"})
    reported = fields.Boolean(metadata={"description": "The member has reported to the community"})
    services = fields.Integer(metadata={"description": "Services in the period"})
    visits = fields.Integer(metadata={"description": "Visits in the period"})
    reasons = fields.List(fields.String(), metadata={"description": "never_reported, never_served"})
    self_evaluation_id = fields.String(
        allow_none=True, metadata={"description": "The id of the self-evaluation, or null"}
    )
    leader_review_id = fields.String(
        allow_none=True, metadata={"description": "The id of the leader review, or null"}
    )


class UnitFlagsSchema(Schema):
    unit_id = fields.String(metadata={"description": "The id of the work unit"})
    period = fields.String(
        metadata={"description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")}
    )
    members = fields.List(
        fields.Nested(EvaluationFlagSchema),
        metadata={"description": "The unit's members and their flags"},
    )
    flagged = fields.List(
        fields.Nested(EvaluationFlagSchema), metadata={"description": "for action"}
    )


class PointsItemSchema(Schema):
    item = fields.String(metadata={"description": "What is counted"})
    quantity = fields.Float(
        metadata={"description": "How many (hours, services or points) were counted"}
    )
    weight = fields.Float(metadata={"description": "Points per unit of quantity"})
    points = fields.Float(metadata={"description": "Points earned in the period"})
    sources = fields.List(fields.String(), metadata={"description": "the facts' ids"})


class HalfYearTallySchema(Schema):
    member_id = fields.String(metadata={"description": "The id of the member"})
    community_id = fields.String(metadata={"description": "The id of the community"})
    period = fields.String(
        metadata={"description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")}
    )
    points = fields.Float(metadata={"description": "Points earned in the period"})
    ratings = fields.Integer(metadata={"description": "How many ratings"})
    mean_rating = fields.Float(
        allow_none=True,
        metadata={"description": "The mean rating from 1 to 5, or null without ratings"},
    )
    items = fields.List(
        fields.Nested(PointsItemSchema),
        metadata={"description": "How the points add up, item by item"},
    )


class VetoStateSchema(Schema):
    vetoed = fields.Boolean(metadata={"description": "A veto (一票否决) applies"})
    statements = fields.List(fields.Dict(), metadata={"description": "The vetoes' statements"})
    tier_without_veto = fields.String(
        metadata={"description": "The tier the member would have without the veto"}
    )
    stars_without_veto = fields.Integer(
        metadata={"description": "The stars the member would have without the veto"}
    )
    why = fields.List(
        fields.String(), metadata={"description": "Why the veto applies, sentence by sentence"}
    )


class EvaluationRowSchema(Schema):
    """A member's half year (``period``) or year end (``year``) in one community."""

    member_id = fields.String(metadata={"description": "The id of the member"})
    member_name = fields.String(metadata={"description": "姓名"})
    community_id = fields.String(metadata={"description": "The id of the community"})
    community_name = fields.String(metadata={"description": "The community's name"})
    period = fields.String(
        allow_none=True,
        metadata={
            "description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")
        },
    )
    year = fields.Integer(allow_none=True, metadata={"description": "The year, or null"})
    points = fields.Float(metadata={"description": "Points earned in the period"})
    ratings = fields.Integer(allow_none=True, metadata={"description": "How many ratings"})
    mean_rating = fields.Float(
        allow_none=True,
        metadata={"description": "The mean rating from 1 to 5, or null without ratings"},
    )
    items = fields.List(
        fields.Nested(PointsItemSchema),
        metadata={"description": "How the points add up, item by item"},
    )
    rank = fields.Integer(allow_none=True, metadata={"description": "The rank, 1 first, or null"})
    tier = fields.String(
        allow_none=True,
        validate=validate.OneOf(TIERS),
        metadata={"description": "The tier, or null"},
    )
    tier_label = fields.String(
        allow_none=True, metadata={"description": "The tier in words, or null"}
    )
    stars = fields.Integer(allow_none=True, metadata={"description": "Stars from 0 to 5, or null"})
    shortlisted = fields.Boolean(
        allow_none=True, metadata={"description": "On the period's shortlist, or null"}
    )
    halves = fields.List(
        fields.Nested(HalfYearTallySchema), metadata={"description": "The two half years' tallies"}
    )
    veto = fields.Nested(
        VetoStateSchema, allow_none=True, metadata={"description": "The veto's effect, or null"}
    )
    evaluations = fields.Dict(
        metadata={"description": "self-evaluation, leader review, survey summary (half year)"}
    )


class EvaluationResultsSchema(Schema):
    scope = fields.String(metadata={"description": "member, unit or community"})
    id = fields.String(metadata={"description": "The id of the results"})
    period = fields.String(
        allow_none=True,
        metadata={
            "description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")
        },
    )
    year = fields.Integer(allow_none=True, metadata={"description": "The year, or null"})
    rows = fields.List(
        fields.Nested(EvaluationRowSchema), metadata={"description": "One row per member"}
    )
    shortlist = fields.List(
        fields.String(), metadata={"description": "最美在职党员, per community"}
    )
    totals = fields.Dict(metadata={"description": "Totals of the rows"})
