"""The long-term records (issue #7): posts and commitments, groups and households, pairs.

``/communities/{id}/posts`` (the menu), ``/members/{id}/post-choices`` (ranked choices),
``/communities/{id}/posts/allocate`` (the posts model over the stored rows), ``/commitments``;
``/communities/{id}/groups`` (and ``/groups/compute``: the groups model), ``/groups/{id}``,
``/communities/{id}/households``, ``/groups/{id}/households``;
``/communities/{id}/hand-in-hand-pairs`` (and ``/compute``: the pairs model),
``/communities/{id}/unit-pairs``, and the pairs' ``end`` and ``renew`` actions. Every solve is
checked by the model's independent verifier before anything is stored. The logic is
:mod:`service.domain.longterm`; objects outside the client's scope answer 404.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.longterm import (
    Commitment,
    Group,
    GroupMember,
    HandInHandPair,
    Household,
    Post,
    UnitPair,
)
from service.domain.longterm import common as longterm_common
from service.domain.longterm import groups as group_records
from service.domain.longterm import pairs as pair_records
from service.domain.longterm import posts as post_records
from service.domain.scope import readable_community, require_manager
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint, current_solver
from service.web.auth import current_client
from service.web.paging import page_rows
from service.web.schemas.longterm import (
    AllocateSchema,
    AllocationRecordSchema,
    CommitmentListQuerySchema,
    CommitmentMarkSchema,
    CommitmentRecordSchema,
    ComputedGroupsSchema,
    ComputedPairsSchema,
    ComputeGroupsSchema,
    ComputePairsSchema,
    EndPairSchema,
    GroupCreateSchema,
    GroupFieldsSchema,
    GroupRecordSchema,
    HandInHandCreateSchema,
    HandInHandRecordSchema,
    HouseholdCreateSchema,
    HouseholdRecordSchema,
    PairListQuerySchema,
    PostChoicesRecordSchema,
    PostChoicesSchema,
    PostCreateSchema,
    PostFieldsSchema,
    PostRecordSchema,
    RenewPairSchema,
    UnitPairCreateSchema,
    UnitPairRecordSchema,
)

blp = Blueprint(
    "longterm",
    __name__,
    url_prefix=API_PREFIX,
    description="The long-term records: posts, choices and commitments (分类设岗亮承诺), groups "
    "and their areas (分组活动亮业绩), hand-in-hand and unit–community pairs.",
)

_ERRORS = (*AUTH_ERRORS, 403, 404)


def _session() -> Session:
    session: Session = current_app.extensions["linli"].sessions()
    return session


# --------------------------------------------------------------------------------------------
# Posts and choices
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/posts")
class CommunityPosts(MethodView):
    @blp.response(200, PostRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404)
    @blp.paginate()
    def get(self, community_id: str, pagination_parameters: PaginationParameters) -> Any:
        """The community's post menu (服务岗位), by category and title."""
        with _session() as session:
            readable_community(session, current_client(), community_id)
            rows = page_rows(
                session,
                post_records.posts_of(community_id),
                pagination_parameters,
                Post.category,
                Post.title,
                Post.id,
            )
            return [post_records.present_post(post) for (post,) in rows]

    @blp.arguments(PostCreateSchema)
    @blp.response(201, PostRecordSchema)
    @blp.error_responses(*_ERRORS, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Add a post (设岗) to the menu: category, title, seats, required and desired skills,
        optional grid and commitment (承诺 and its deadline).

        The server sets `id`, `community_id` (the path) and `created_at`; a body that sends
        them is a 422.
        """
        with _session() as session:
            return post_records.create_post(session, current_client(), community_id, data)


@blp.route("/posts/<string:post_id>")
class PostById(MethodView):
    @blp.response(200, PostRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, post_id: str) -> Any:
        """A post of a community this client may read."""
        with _session() as session:
            post = longterm_common.find(session, Post, post_id, current_client())
            return post_records.present_post(post)

    @blp.arguments(PostFieldsSchema)
    @blp.response(200, PostRecordSchema)
    @blp.error_responses(*_ERRORS, 422)
    def patch(self, data: dict[str, Any], post_id: str) -> Any:
        """Change a post (`commitment: null` removes its commitment). Commitments already made
        keep the text and deadline they were made with."""
        with _session() as session:
            return post_records.update_post(session, current_client(), post_id, data)


@blp.route("/members/<string:member_id>/post-choices")
class MemberPostChoices(MethodView):
    @blp.response(200, PostChoicesRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, member_id: str) -> Any:
        """A member's ranked choices (选岗), best first."""
        with _session() as session:
            return post_records.get_choices(session, current_client(), member_id)

    @blp.arguments(PostChoicesSchema)
    @blp.response(200, PostChoicesRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def put(self, data: dict[str, Any], member_id: str) -> Any:
        """Replace a member's ranked choices: up to 5 distinct posts of their own community,
        best first (`[]` clears them). The member themself or a manager of their community
        may; a member who left is a 409."""
        with _session() as session:
            return post_records.set_choices(session, current_client(), member_id, data["posts"])


# --------------------------------------------------------------------------------------------
# Allocation and commitments
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/posts/allocate")
class AllocatePosts(MethodView):
    @blp.arguments(AllocateSchema, required=False)
    @blp.response(201, AllocationRecordSchema)
    @blp.error_responses(*_ERRORS, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Allocate the community's active members to its posts (认岗) with the posts model
        (docs/contracts/posts.md) and store the result.

        The problem is built from the stored menu and choices; the answer is checked by the
        independent verifier before anything is written. In one transaction the open
        commitments of earlier allocations become `withdrawn` and each placed member gets an
        open commitment carrying the post's commitment and deadline. Members left out are
        listed with the engine's reason (no_choices, no_skill, full).
        """
        with _session() as session:
            return post_records.allocate(
                session,
                current_client(),
                community_id,
                mode=data["mode"],
                fill_unranked=data["fill_unranked"],
                solver=current_solver(),
            )


@blp.route("/communities/<string:community_id>/posts/allocation")
class LatestAllocation(MethodView):
    @blp.response(200, AllocationRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, community_id: str) -> Any:
        """The community's latest allocation, its commitments as they stand now."""
        with _session() as session:
            return post_records.latest_allocation(session, current_client(), community_id)


@blp.route("/commitments")
class Commitments(MethodView):
    @blp.arguments(CommitmentListQuerySchema, location="query")
    @blp.response(200, CommitmentRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 422)
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
        """The commitments (承诺) of the members whose records this client may read, by
        deadline. Filters: community, member, post, status; `?overdue=true`: open ones past
        their deadline (Asia/Shanghai date)."""
        selection = post_records.commitment_filters(
            post_records.visible_commitments(current_client()), query
        )
        with _session() as session:
            rows = page_rows(
                session,
                selection,
                pagination_parameters,
                Commitment.deadline,
                Commitment.created_at,
                Commitment.id,
            )
            day = longterm_common.today()
            return [post_records.present_commitment(c, day) for (c,) in rows]


@blp.route("/commitments/<string:commitment_id>")
class CommitmentById(MethodView):
    @blp.response(200, CommitmentRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, commitment_id: str) -> Any:
        """A commitment of a member whose records this client may read."""
        with _session() as session:
            commitment = post_records.get_commitment(session, current_client(), commitment_id)
            return post_records.present_commitment(commitment)


@blp.route("/commitments/<string:commitment_id>/mark")
class MarkCommitment(MethodView):
    @blp.arguments(CommitmentMarkSchema)
    @blp.response(200, CommitmentRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], commitment_id: str) -> Any:
        """The dispatcher marks an open commitment `kept` or `missed`; any other is a 409."""
        with _session() as session:
            return post_records.mark(session, current_client(), commitment_id, data["status"])


# --------------------------------------------------------------------------------------------
# Groups and households
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/groups")
class CommunityGroups(MethodView):
    @blp.response(200, GroupRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404)
    @blp.paginate()
    def get(self, community_id: str, pagination_parameters: PaginationParameters) -> Any:
        """The community's groups (分组) with members, leader and area, by name."""
        with _session() as session:
            readable_community(session, current_client(), community_id)
            selection = select(Group).where(Group.community_id == community_id)
            rows = page_rows(session, selection, pagination_parameters, Group.name, Group.id)
            return group_records.present_groups(session, [group for (group,) in rows])

    @blp.arguments(GroupCreateSchema)
    @blp.response(201, GroupRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Form a group: name, members (of this community, in no other group: else 409),
        the leader they elected (one of the members) and the responsibility area (责任区:
        buildings and grids of this community)."""
        with _session() as session:
            return group_records.create_group(session, current_client(), community_id, data)


@blp.route("/communities/<string:community_id>/groups/compute")
class ComputeGroups(MethodView):
    @blp.arguments(ComputeGroupsSchema, required=False)
    @blp.response(201, ComputedGroupsSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Group the community's active members with the groups model (docs/contracts/groups.md) and
        store the groups: near homes, related trades, shared posts and service intentions.

        The engine solves in-process (`time_limit_s`, default 5, at most 30); its answer is
        checked by the independent verifier before anything is written. A community that has
        groups is a 409 unless `replace` is true (its groups are dissolved in the same
        transaction). New groups have no leader (the members elect one) and no area yet.
        Members left out are listed with the engine's reason.
        """
        with _session() as session:
            return group_records.compute_groups(
                session, current_client(), community_id, data, solver=current_solver()
            )


@blp.route("/groups/<string:group_id>")
class GroupById(MethodView):
    @blp.response(200, GroupRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, group_id: str) -> Any:
        """A group of a community this client may read."""
        with _session() as session:
            group = longterm_common.find(session, Group, group_id, current_client())
            return group_records.present_groups(session, [group])[0]

    @blp.arguments(GroupFieldsSchema)
    @blp.response(200, GroupRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def patch(self, data: dict[str, Any], group_id: str) -> Any:
        """Change a group's name, members (`member_ids` is the whole new list), leader or
        area. The leader must remain one of the members (422)."""
        with _session() as session:
            return group_records.update_group(session, current_client(), group_id, data)

    @blp.response(204)
    @blp.error_responses(*_ERRORS)
    def delete(self, group_id: str) -> None:
        """Dissolve a group; its members may join another."""
        with _session() as session:
            group_records.delete_group(session, current_client(), group_id)


@blp.route("/communities/<string:community_id>/households")
class CommunityHouseholds(MethodView):
    @blp.response(200, HouseholdRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 403, 404)
    @blp.paginate()
    def get(self, community_id: str, pagination_parameters: PaginationParameters) -> Any:
        """The community's households (building, location, needs; no names or phones): for
        the community's managers only (403 for members and unit organisers)."""
        with _session() as session:
            longterm_common.managed_community(session, current_client(), community_id)
            selection = select(Household).where(Household.community_id == community_id)
            rows = page_rows(session, selection, pagination_parameters, Household.id)
            return [group_records.present_household(h) for (h,) in rows]

    @blp.arguments(HouseholdCreateSchema)
    @blp.response(201, HouseholdRecordSchema)
    @blp.error_responses(*_ERRORS, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Record a household in one of the community's buildings: its location and needs
        only (a name, phone or address is refused as an unknown field)."""
        with _session() as session:
            return group_records.create_household(session, current_client(), community_id, data)


@blp.route("/groups/<string:group_id>/households")
class GroupHouseholds(MethodView):
    @blp.response(200, HouseholdRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 403, 404)
    @blp.paginate()
    def get(self, group_id: str, pagination_parameters: PaginationParameters) -> Any:
        """The households of the group's responsibility area (in its buildings and in the
        buildings of its grids): for the community's managers and the group's own members."""
        client = current_client()
        with _session() as session:
            group = longterm_common.find(session, Group, group_id, client)
            in_group = client.role == "member" and (
                session.get(GroupMember, (group.id, client.member_id or "")) is not None
            )
            if not in_group:
                require_manager(client, group.community_id)
            selection = group_records.households_of_area(group)
            rows = page_rows(session, selection, pagination_parameters, Household.id)
            return [group_records.present_household(h) for (h,) in rows]


# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/hand-in-hand-pairs")
class CommunityHandInHand(MethodView):
    @blp.arguments(PairListQuerySchema, location="query")
    @blp.response(200, HandInHandRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    @blp.paginate()
    def get(
        self, query: dict[str, Any], community_id: str, pagination_parameters: PaginationParameters
    ) -> Any:
        """The community's hand-in-hand pairs (拉手式), newest period first; `?period=` and
        `?active=true` filter. A member sees only their own."""
        client = current_client()
        with _session() as session:
            readable_community(session, client, community_id)
            selection = pair_records.pair_filters(
                pair_records.hand_in_hand_of(client, community_id), HandInHandPair, query
            )
            rows = page_rows(
                session,
                selection,
                pagination_parameters,
                HandInHandPair.start_date.desc(),
                HandInHandPair.id,
            )
            return [pair_records.present_pair(pair) for (pair,) in rows]

    @blp.arguments(HandInHandCreateSchema)
    @blp.response(201, HandInHandRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Pair a member with a vulnerable resident (an opaque `resident_ref`; elderly,
        student, orphan, disabled or poor) for a period. A resident with an active pair is a
        409: end or renew it."""
        with _session() as session:
            return pair_records.create_hand_in_hand(session, current_client(), community_id, data)


@blp.route("/communities/<string:community_id>/hand-in-hand-pairs/compute")
class ComputeHandInHand(MethodView):
    @blp.arguments(ComputePairsSchema)
    @blp.response(201, ComputedPairsSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Pair vulnerable residents with the community's active members for a period, with
        the pairs model (docs/contracts/pairs.md), and store the pairs.

        The residents' homes, needs and vulnerability are used for this solve only: a pair
        stores the opaque `resident_ref` and the category. The active pairs of the listed
        residents are the existing pairs: the ones the model keeps carry on (a new row when the
        period changes), the others end on `start_date` (default today) and are listed in
        `dropped` with the engine's reason. The answer is checked by the independent verifier
        before anything is written; all of it is one transaction.
        """
        with _session() as session:
            return pair_records.compute_hand_in_hand(
                session, current_client(), community_id, data, solver=current_solver()
            )


@blp.route("/hand-in-hand-pairs/<string:pair_id>")
class HandInHandById(MethodView):
    @blp.response(200, HandInHandRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, pair_id: str) -> Any:
        """A hand-in-hand pair this client may read."""
        with _session() as session:
            pair = longterm_common.find(session, HandInHandPair, pair_id, current_client())
            return pair_records.present_pair(pair)


@blp.route("/hand-in-hand-pairs/<string:pair_id>/end")
class EndHandInHand(MethodView):
    @blp.arguments(EndPairSchema, required=False)
    @blp.response(200, HandInHandRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], pair_id: str) -> Any:
        """End an active pair on `end_date` (default today); an ended pair is a 409."""
        with _session() as session:
            return pair_records.end_pair(
                session, current_client(), HandInHandPair, pair_id, data["end_date"]
            )


@blp.route("/hand-in-hand-pairs/<string:pair_id>/renew")
class RenewHandInHand(MethodView):
    @blp.arguments(RenewPairSchema)
    @blp.response(201, HandInHandRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], pair_id: str) -> Any:
        """Carry the pair into a new period: this row ends on `start_date` (default today)
        and the returned new row starts then."""
        with _session() as session:
            return pair_records.renew_pair(session, current_client(), HandInHandPair, pair_id, data)


@blp.route("/communities/<string:community_id>/unit-pairs")
class CommunityUnitPairs(MethodView):
    @blp.arguments(PairListQuerySchema, location="query")
    @blp.response(200, UnitPairRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    @blp.paginate()
    def get(
        self, query: dict[str, Any], community_id: str, pagination_parameters: PaginationParameters
    ) -> Any:
        """The units paired with the community (结对共建), newest period first; `?period=` and
        `?active=true` filter."""
        with _session() as session:
            readable_community(session, current_client(), community_id)
            selection = pair_records.pair_filters(
                select(UnitPair).where(UnitPair.community_id == community_id), UnitPair, query
            )
            rows = page_rows(
                session, selection, pagination_parameters, UnitPair.start_date.desc(), UnitPair.id
            )
            return [pair_records.present_pair(pair) for (pair,) in rows]

    @blp.arguments(UnitPairCreateSchema)
    @blp.response(201, UnitPairRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Pair a unit with the community for a period; an active pair of the two is a 409."""
        with _session() as session:
            return pair_records.create_unit_pair(session, current_client(), community_id, data)


@blp.route("/unit-pairs/<string:pair_id>")
class UnitPairById(MethodView):
    @blp.response(200, UnitPairRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, pair_id: str) -> Any:
        """A unit–community pair of a community this client may read."""
        with _session() as session:
            return pair_records.present_pair(
                longterm_common.find(session, UnitPair, pair_id, current_client())
            )


@blp.route("/unit-pairs/<string:pair_id>/end")
class EndUnitPair(MethodView):
    @blp.arguments(EndPairSchema, required=False)
    @blp.response(200, UnitPairRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], pair_id: str) -> Any:
        """End an active unit pair on `end_date` (default today); an ended pair is a 409."""
        with _session() as session:
            return pair_records.end_pair(
                session, current_client(), UnitPair, pair_id, data["end_date"]
            )


@blp.route("/unit-pairs/<string:pair_id>/renew")
class RenewUnitPair(MethodView):
    @blp.arguments(RenewPairSchema)
    @blp.response(201, UnitPairRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], pair_id: str) -> Any:
        """Carry the unit pair into a new period: this row ends on `start_date` (default
        today) and the returned new row starts then."""
        with _session() as session:
            return pair_records.renew_pair(session, current_client(), UnitPair, pair_id, data)
