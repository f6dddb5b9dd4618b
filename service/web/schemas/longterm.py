"""Marshmallow schemas of the long-term records: posts, choices, allocations, commitments,
groups, households and pairs.

Request bodies reject unknown fields (422 ``unknown field``): a client never sets an id, a
community (it is in the path), a commitment's status at creation, or a pair's end date at
creation. Query strings ignore unknown parameters, like the rest of the workspace API.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from matcher.longterm.pairs.problem import MAX_VULNERABILITY, PROXIES
from matcher.longterm.posts.problem import MAX_CHOICES, MAX_DESIRED_SKILLS, MODES
from service.contracts.dispatch import LocationSchema
from service.contracts.fields import (
    StrictBoolean,
    StrictFloat,
    StrictInteger,
    StrictList,
    StrictNested,
    StrictSchema,
    StrictString,
    one_of,
)
from service.contracts.visits import DateField
from service.db.longterm import (
    COMMITMENT_MARKS,
    COMMITMENT_STATUSES,
    SERVICE_LENGTH,
    VULNERABLE_CATEGORIES,
)
from service.db.registration import ID_LENGTH, NAME_LENGTH
from service.web.schemas.workspace import (
    RESIDENT_REF_PATTERN,
    HomeSchema,
    id_filter,
    labels_field,
    ref_field,
    text_field,
)

MAX_SEATS = 1000
MAX_GROUP_MEMBERS = 200
MAX_AREA_ITEMS = 200
MAX_RESIDENTS = 5000
GROUPING_TIME_LIMIT_S = 5.0
MAX_GROUPING_TIME_LIMIT_S = 30.0
PERIOD_PATTERN = r"^[0-9]{4}(H[12]|Q[1-4])?$"
"""A year (``2026``), a half-year (``2026H2``) or a quarter (``2026Q3``)."""


def _unique(value: list[str]) -> bool:
    if len(set(value)) != len(value):
        raise ValidationError("must not repeat an id")
    return True


def _unique_names(value: list[str]) -> bool:
    if len(set(value)) != len(value):
        raise ValidationError("must not repeat a name")
    return True


def _refs(most: int, **kwargs: Any) -> StrictList:
    """A list of distinct ids, at most ``most`` long."""
    return StrictList(
        ref_field(),
        validate=[validate.Length(max=most, error=f"at most {most} items"), _unique],
        **kwargs,
    )


def _period(**kwargs: Any) -> StrictString:
    return StrictString(
        validate=validate.Regexp(
            PERIOD_PATTERN, error="must be a year (2026), a half-year (2026H2) or a quarter"
        ),
        metadata={"description": "e.g. 2026, 2026H2 or 2026Q3"},
        **kwargs,
    )


def _resident_ref(**kwargs: Any) -> StrictString:
    return StrictString(
        validate=[
            validate.Length(min=1, max=ID_LENGTH, error=f"must have 1 to {ID_LENGTH} characters"),
            validate.Regexp(RESIDENT_REF_PATTERN, error="must be an opaque id (A-Z, 0-9, . _ : -)"),
        ],
        metadata={"description": "an opaque resident id; never a name, phone or address"},
        **kwargs,
    )


# --------------------------------------------------------------------------------------------
# Posts, choices, allocations, commitments
# --------------------------------------------------------------------------------------------


class PostCommitmentSchema(StrictSchema):
    """承诺: what a member holding the post promises, and by when (办结时限)."""

    service = text_field(
        SERVICE_LENGTH,
        required=True,
        metadata={"description": "The service promised (承诺), in words"},
    )
    deadline = DateField(required=True, metadata={"description": "YYYY-MM-DD, Asia/Shanghai"})


class PostFieldsSchema(StrictSchema):
    """The fields of a post a client may set (all optional: a PATCH sends what changes)."""

    category = text_field(
        100, metadata={"description": "policy_publicity, sanitation, mediation..."}
    )
    title = text_field(NAME_LENGTH, metadata={"description": "The post's title (岗位名称)"})
    seats = StrictInteger(
        validate=validate.Range(
            min=1, max=MAX_SEATS, error=f"must be an integer from 1 to {MAX_SEATS}"
        ),
        metadata={"description": "How many members the post takes"},
    )
    skills = labels_field(metadata={"description": "required: a member must hold every one"})
    desired_skills = StrictList(
        text_field(100),
        validate=validate.Length(
            max=MAX_DESIRED_SKILLS, error=f"at most {MAX_DESIRED_SKILLS} items"
        ),
        metadata={"description": "raise the fit, not required"},
    )
    grid_id = ref_field(allow_none=True, metadata={"description": "the grid the post serves"})
    commitment = StrictNested(
        PostCommitmentSchema,
        allow_none=True,
        metadata={
            "description": ("What a member holding the post promises, and by when (optional)")
        },
    )


class PostCreateSchema(PostFieldsSchema):
    """A post of the menu; the server sets ``id``, ``community_id`` (the path) and
    ``created_at``."""

    category = text_field(
        100,
        required=True,
        metadata={
            "description": ("The post's category (e.g. policy_publicity, sanitation, mediation)")
        },
    )
    title = text_field(
        NAME_LENGTH, required=True, metadata={"description": "The post's title (岗位名称)"}
    )
    seats = StrictInteger(
        required=True,
        validate=validate.Range(
            min=1, max=MAX_SEATS, error=f"must be an integer from 1 to {MAX_SEATS}"
        ),
        metadata={"description": "How many members the post takes"},
    )


class PostChoicesSchema(StrictSchema):
    """A member's ranked choices (选岗), best first: posts of their own community."""

    posts = _refs(MAX_CHOICES, required=True, metadata={"description": "post ids, best first"})


class AllocateSchema(StrictSchema):
    mode = StrictString(
        load_default="optimal",
        validate=one_of(MODES),
        metadata={"description": "optimal (default) or stable, see docs/contracts/posts.md"},
    )
    fill_unranked = StrictBoolean(
        load_default=False,
        metadata={"description": "place members who listed nothing by fit"},
    )


class CommitmentMarkSchema(StrictSchema):
    status = StrictString(
        required=True,
        validate=one_of(COMMITMENT_MARKS),
        metadata={"description": "kept or missed"},
    )


class CommitmentListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    community_id = fields.String(load_default=None, validate=id_filter())
    member_id = fields.String(load_default=None, validate=id_filter())
    post_id = fields.String(load_default=None, validate=id_filter())
    status = fields.String(load_default=None, validate=validate.OneOf(COMMITMENT_STATUSES))
    overdue = fields.Boolean(
        load_default=None,
        metadata={"description": "true: only open commitments past their deadline"},
    )


class CommitmentTextSchema(Schema):
    service = fields.String(
        required=True, metadata={"description": "The service promised, in words"}
    )
    deadline = DateField(
        required=True, metadata={"description": "The deadline (YYYY-MM-DD), or null"}
    )


class PostRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The post's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    category = fields.String(required=True, metadata={"description": "The category"})
    title = fields.String(required=True, metadata={"description": "The post's title"})
    seats = fields.Integer(
        required=True, metadata={"description": "How many members the post takes"}
    )
    skills = fields.List(
        fields.String(), required=True, metadata={"description": "Required skills"}
    )
    desired_skills = fields.List(
        fields.String(), required=True, metadata={"description": "Skills that raise the fit"}
    )
    grid_id = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of the grid"}
    )
    commitment = fields.Nested(
        CommitmentTextSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The commitment that goes with it, or null"},
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class PostChoicesRecordSchema(Schema):
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    posts = fields.List(fields.String(), required=True, metadata={"description": "best first"})


class CommitmentRecordSchema(Schema):
    """A member's claimed post (认岗) and commitment; ``overdue``: open past its deadline
    (Asia/Shanghai date)."""

    id = fields.String(required=True, metadata={"description": "The commitment's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    allocation_id = fields.String(
        required=True, metadata={"description": "The id of the allocation"}
    )
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    post_id = fields.String(required=True, metadata={"description": "The id of the post"})
    rank = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The rank the member gave the post, or null"},
    )
    fit = fields.Integer(
        required=True, metadata={"description": "How well the member fits the post, 0 to 7"}
    )
    service = fields.String(
        required=True, allow_none=True, metadata={"description": "The service promised, or null"}
    )
    deadline = DateField(
        required=True,
        allow_none=True,
        metadata={"description": "The deadline (YYYY-MM-DD), or null"},
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(COMMITMENT_STATUSES),
        metadata={"description": "open, kept, missed or withdrawn"},
    )
    overdue = fields.Boolean(
        required=True, metadata={"description": "The deadline has passed and it is still open"}
    )
    marked_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": (
                "When the commitment was marked kept or missed (ISO 8601 with UTC offset), or null"
            )
        },
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class PostUnplacedSchema(Schema):
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    reason = fields.String(required=True, metadata={"description": "no_choices, no_skill, full"})
    detail = fields.String(required=True, metadata={"description": "The reason in a sentence"})


class PostVacancySchema(Schema):
    post_id = fields.String(required=True, metadata={"description": "The id of the post"})
    seats_left = fields.Integer(required=True, metadata={"description": "Seats left empty"})


class AllocationRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The allocation's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    mode = fields.String(
        required=True, metadata={"description": "The allocation mode: optimal or stable"}
    )
    status = fields.String(required=True, metadata={"description": "the engine's status"})
    objective = fields.Float(
        required=True, metadata={"description": "The plan's cost (lower is better)"}
    )
    bound = fields.Float(
        required=True, metadata={"description": "A proved lower bound of the cost"}
    )
    commitments = fields.List(
        fields.Nested(CommitmentRecordSchema),
        required=True,
        metadata={"description": "The commitments made"},
    )
    unassigned = fields.List(
        fields.Nested(PostUnplacedSchema),
        required=True,
        metadata={"description": "Members left without a post, with a reason"},
    )
    vacancies = fields.List(
        fields.Nested(PostVacancySchema),
        required=True,
        metadata={"description": "Posts with seats left"},
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


# --------------------------------------------------------------------------------------------
# Groups and households
# --------------------------------------------------------------------------------------------


class ResponsibilityAreaSchema(StrictSchema):
    """A responsibility area (责任区): buildings and grids of the group's community."""

    buildings = _refs(
        MAX_AREA_ITEMS,
        load_default=list,
        metadata={"description": "Ids of the buildings in the area"},
    )
    grids = _refs(
        MAX_AREA_ITEMS, load_default=list, metadata={"description": "Ids of the grids in the area"}
    )


class GroupFieldsSchema(StrictSchema):
    name = text_field(NAME_LENGTH, metadata={"description": "The group's name"})
    member_ids = _refs(MAX_GROUP_MEMBERS, metadata={"description": "the whole membership"})
    leader_id = ref_field(allow_none=True, metadata={"description": "elected; one of member_ids"})
    area = StrictNested(ResponsibilityAreaSchema)


class GroupCreateSchema(GroupFieldsSchema):
    """A group; the server sets ``id``, ``community_id`` (the path) and ``created_at``."""

    name = text_field(NAME_LENGTH, required=True, metadata={"description": "The group's name"})
    member_ids = _refs(
        MAX_GROUP_MEMBERS, load_default=list, metadata={"description": "Ids of the group's members"}
    )
    leader_id = ref_field(
        load_default=None,
        allow_none=True,
        metadata={"description": ("The id of the group's leader, one of its members (optional)")},
    )


class GroupSizeRangeSchema(StrictSchema):
    min = StrictInteger(
        load_default=6,
        validate=validate.Range(min=2, max=MAX_GROUP_MEMBERS, error="must be from 2 to 200"),
        metadata={"description": "The fewest members of a group"},
    )
    max = StrictInteger(
        load_default=10,
        validate=validate.Range(min=2, max=MAX_GROUP_MEMBERS, error="must be from 2 to 200"),
        metadata={"description": "The most members of a group (not below min)"},
    )

    @validates_schema(skip_on_field_errors=True)
    def check_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["max"] < data["min"]:
            raise ValidationError("must not be below min", field_name="max")


class ComputeGroupsSchema(StrictSchema):
    """Options of a grouping run (docs/contracts/groups.md)."""

    group_size = StrictNested(
        GroupSizeRangeSchema,
        load_default=lambda: {"min": 6, "max": 10},
        metadata={"description": "default 6 to 10 members"},
    )
    time_limit_s = StrictFloat(
        load_default=GROUPING_TIME_LIMIT_S,
        validate=validate.Range(
            min=0,
            max=MAX_GROUPING_TIME_LIMIT_S,
            min_inclusive=False,
            error=f"must be greater than 0 and at most {MAX_GROUPING_TIME_LIMIT_S:g}",
        ),
        metadata={"description": "seconds the engine may search (default 5)"},
    )
    replace = StrictBoolean(
        load_default=False,
        metadata={"description": "dissolve the community's groups first (else 409)"},
    )


class HouseholdCreateSchema(StrictSchema):
    """A household: no name, phone or address (unknown fields are refused)."""

    building_id = ref_field(
        required=True, metadata={"description": "The id of the household's building (楼栋)"}
    )
    location = StrictNested(LocationSchema, required=True, metadata={"description": "WGS84"})
    needs = labels_field(load_default=list, metadata={"description": "e.g. errands, visits"})


class ResponsibilityAreaRecordSchema(Schema):
    buildings = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of the buildings"}
    )
    grids = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of the grids"}
    )


class GroupUnplacedSchema(Schema):
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    reason = fields.String(
        required=True, metadata={"description": "too_few, together, conflict, size, apart"}
    )
    detail = fields.String(required=True, metadata={"description": "The reason in a sentence"})


class GroupRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The group's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    name = fields.String(required=True, metadata={"description": "The name"})
    member_ids = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of the members"}
    )
    leader_id = fields.String(
        required=True, allow_none=True, metadata={"description": "The id of the leader, or null"}
    )
    area = fields.Nested(ResponsibilityAreaRecordSchema, required=True)
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class ComputedGroupsSchema(Schema):
    status = fields.String(required=True, metadata={"description": "the engine's status"})
    objective = fields.Float(
        required=True, metadata={"description": "The plan's cost (lower is better)"}
    )
    bound = fields.Float(
        required=True, metadata={"description": "A proved lower bound of the cost"}
    )
    groups = fields.List(
        fields.Nested(GroupRecordSchema), required=True, metadata={"description": "The groups"}
    )
    unassigned = fields.List(
        fields.Nested(GroupUnplacedSchema),
        required=True,
        metadata={"description": "Members left out of the groups, with a reason"},
    )


class HouseholdRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The household's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    building_id = fields.String(
        required=True, metadata={"description": "The id of the household's building"}
    )
    location = fields.Nested(HomeSchema, required=True)
    needs = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "The household's needs (categories)"},
    )
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


class HandInHandCreateSchema(StrictSchema):
    """A member takes a vulnerable resident by the hand for a period (拉手式)."""

    member_id = ref_field(
        required=True, metadata={"description": "The id of the member who looks after the resident"}
    )
    resident_ref = _resident_ref(required=True)
    category = StrictString(
        required=True,
        validate=one_of(VULNERABLE_CATEGORIES),
        metadata={"description": "The resident's vulnerable group"},
    )
    period = _period(required=True)
    start_date = DateField(load_default=None, metadata={"description": "default: today"})


class UnitPairCreateSchema(StrictSchema):
    """A unit paired with the community for a period (结对共建)."""

    unit_id = ref_field(
        required=True, metadata={"description": "The id of the work unit paired with the community"}
    )
    period = _period(required=True)
    start_date = DateField(load_default=None, metadata={"description": "default: today"})


class EndPairSchema(StrictSchema):
    end_date = DateField(load_default=None, metadata={"description": "default: today"})


class RenewPairSchema(StrictSchema):
    """The same pair for the next period: the current row ends, a new row starts."""

    period = _period(required=True)
    start_date = DateField(load_default=None, metadata={"description": "default: today"})


class PairListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    period = fields.String(load_default=None, validate=validate.Length(min=1, max=16))
    active = fields.Boolean(
        load_default=None, metadata={"description": "true: no end date; false: ended"}
    )


class PairResidentSchema(StrictSchema):
    """A vulnerable resident for one pairing run: used by the engine, not stored (only the
    ref and the category are kept with the pair)."""

    resident_ref = _resident_ref(required=True)
    category = StrictString(
        required=True,
        validate=one_of(VULNERABLE_CATEGORIES),
        metadata={"description": "The resident's vulnerable group"},
    )
    location = StrictNested(LocationSchema, required=True, metadata={"description": "home, WGS84"})
    needs = StrictList(
        StrictString(validate=one_of(PROXIES)),
        load_default=list,
        validate=_unique_names,
        metadata={"description": "among errands, voice, disputes, needs, visits"},
    )
    skills = labels_field(load_default=list, metadata={"description": "the partner must hold them"})
    vulnerability = StrictInteger(
        required=True,
        validate=validate.Range(
            min=1, max=MAX_VULNERABILITY, error=f"must be an integer from 1 to {MAX_VULNERABILITY}"
        ),
        metadata={"description": "How vulnerable the resident is, from 1 (least) to 5 (most)"},
    )


class ComputePairsSchema(StrictSchema):
    """A pairing run (docs/contracts/pairs.md) for a period."""

    period = _period(required=True)
    start_date = DateField(load_default=None, metadata={"description": "default: today"})
    residents = StrictList(
        StrictNested(PairResidentSchema),
        required=True,
        validate=validate.Length(max=MAX_RESIDENTS, error=f"at most {MAX_RESIDENTS} residents"),
        metadata={"description": "The residents to pair, at most 5,000"},
    )
    max_residents_per_member = StrictInteger(
        load_default=2,
        validate=validate.Range(min=0, max=20, error="must be an integer from 0 to 20"),
        metadata={"description": "How many residents one member looks after, at most"},
    )
    max_distance_km = StrictFloat(
        load_default=3.0,
        validate=validate.Range(
            min=0, max=50, min_inclusive=False, error="must be greater than 0 and at most 50"
        ),
        metadata={
            "description": ("The farthest a member lives from the resident, in km (straight line)")
        },
    )

    @validates_schema(skip_on_field_errors=True)
    def check_refs(self, data: dict[str, Any], **kwargs: Any) -> None:
        seen: set[str] = set()
        errors: dict[int, dict[str, list[str]]] = {}
        for i, resident in enumerate(data["residents"]):
            if resident["resident_ref"] in seen:
                errors[i] = {"resident_ref": ["repeats an earlier resident"]}
            seen.add(resident["resident_ref"])
        if errors:
            raise ValidationError({"residents": errors})


class HandInHandRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The hand-in-hand pair's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    resident_ref = fields.String(
        required=True, metadata={"description": "An opaque reference to the resident (no name)"}
    )
    category = fields.String(
        required=True,
        validate=validate.OneOf(VULNERABLE_CATEGORIES),
        metadata={"description": "The resident's vulnerable group"},
    )
    period = fields.String(
        required=True,
        metadata={
            "description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")
        },
    )
    start_date = DateField(required=True, metadata={"description": "The first day (YYYY-MM-DD)"})
    end_date = DateField(
        required=True,
        allow_none=True,
        metadata={"description": "The last day (YYYY-MM-DD), or null while it runs"},
    )
    active = fields.Boolean(required=True, metadata={"description": "Whether it is in force now"})
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class UnitPairRecordSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The unit–community pair's id"})
    community_id = fields.String(required=True, metadata={"description": "The id of the community"})
    unit_id = fields.String(required=True, metadata={"description": "The id of the work unit"})
    period = fields.String(
        required=True,
        metadata={
            "description": ("The period: a year, a half year (2026H1) or a quarter (2026Q3)")
        },
    )
    start_date = DateField(required=True, metadata={"description": "The first day (YYYY-MM-DD)"})
    end_date = DateField(
        required=True,
        allow_none=True,
        metadata={"description": "The last day (YYYY-MM-DD), or null while it runs"},
    )
    active = fields.Boolean(required=True, metadata={"description": "Whether it is in force now"})
    created_at = fields.DateTime(
        required=True,
        metadata={
            "description": ("When it was created: an ISO 8601 date-time with its UTC offset")
        },
    )


class PairUnpairedSchema(Schema):
    resident_ref = fields.String(
        required=True, metadata={"description": "An opaque reference to the resident (no name)"}
    )
    reason = fields.String(
        required=True, metadata={"description": "no_skill, out_of_range, capacity"}
    )
    detail = fields.String(required=True, metadata={"description": "The reason in a sentence"})


class PairDroppedSchema(Schema):
    pair_id = fields.String(required=True, metadata={"description": "the pair that ended"})
    resident_ref = fields.String(
        required=True, metadata={"description": "An opaque reference to the resident (no name)"}
    )
    member_id = fields.String(required=True, metadata={"description": "The id of the member"})
    reason = fields.String(
        required=True,
        metadata={"description": "member_left, other_community, no_skill, out_of_range, capacity"},
    )
    detail = fields.String(required=True, metadata={"description": "The reason in a sentence"})


class ComputedPairsSchema(Schema):
    status = fields.String(required=True, metadata={"description": "the engine's status"})
    objective = fields.Float(
        required=True, metadata={"description": "The plan's cost (lower is better)"}
    )
    pairs = fields.List(
        fields.Nested(HandInHandRecordSchema),
        required=True,
        metadata={"description": "the active pairs of the run's residents"},
    )
    unpaired = fields.List(
        fields.Nested(PairUnpairedSchema),
        required=True,
        metadata={"description": "Residents left unpaired, with a reason"},
    )
    dropped = fields.List(
        fields.Nested(PairDroppedSchema),
        required=True,
        metadata={"description": "Existing pairs dropped, with a reason"},
    )
