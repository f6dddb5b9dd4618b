"""The community workspace (issue #7), first slice: registration and who may see what.

``/communities``, ``/communities/{id}/grids``, ``/grids/{id}/buildings``, ``/units``, ``/members``
and a member's availability over a dispatch horizon. Every query goes through
:func:`service.domain.scope.scoped`: a key scoped to communities sees only those (and what is
in them); objects outside its scope answer 404, as if they did not exist. Keys with no
communities are district administrators.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.base import utcnow
from service.db.flow import Task
from service.db.registration import (
    MEMBER_TRANSITIONS,
    Building,
    Community,
    Grid,
    Member,
    Unit,
    new_id,
)
from service.domain import audit
from service.domain.availability import TIMEZONE_NAME, expand_weekly, local_iso
from service.domain.members import apply_profile, present_member, reveal_phone
from service.domain.personal_data import FieldCipher
from service.domain.scope import (
    get_scoped,
    require_district,
    require_manager,
    require_role,
    scoped,
)
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint
from service.web.auth import current_client
from service.web.errors import fail
from service.web.paging import page_rows
from service.web.schemas.examples import MEMBER_EXAMPLE
from service.web.schemas.workspace import (
    AvailabilityQuerySchema,
    AvailabilitySchema,
    BuildingCreateSchema,
    BuildingSchema,
    CommunityCreateSchema,
    CommunitySchema,
    GridSchema,
    MemberCreateSchema,
    MemberListQuerySchema,
    MemberPatchSchema,
    MemberPhoneSchema,
    MemberRecordSchema,
    NamedCreateSchema,
    UnitCreateSchema,
    UnitRecordSchema,
    UnitTrackingSchema,
)

blp = Blueprint(
    "workspace",
    __name__,
    url_prefix=API_PREFIX,
    description="The community workspace: registration of communities, grids, buildings, units "
    "and members (建档亮身份), scoped to the API key's communities.",
)


def _session() -> Session:
    session: Session = current_app.extensions["linli"].sessions()
    return session


def _cipher() -> FieldCipher:
    cipher: FieldCipher = current_app.extensions["linli"].cipher
    return cipher


def _commit(session: Session, conflict: str, errors: dict[str, list[str]]) -> None:
    """Commit; a unique constraint broken by a concurrent request is a 409."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        fail(409, conflict, errors=errors)


# --------------------------------------------------------------------------------------------
# Communities, grids, buildings, units
# --------------------------------------------------------------------------------------------


@blp.route("/communities")
class Communities(MethodView):
    @blp.response(200, CommunitySchema(many=True))
    @blp.error_responses(*AUTH_ERRORS)
    def get(self) -> Any:
        """List the communities this key may act for (all of them for a district key)."""
        with _session() as session:
            query = scoped(select(Community).order_by(Community.id), current_client())
            return list(session.scalars(query))

    @blp.arguments(CommunityCreateSchema)
    @blp.response(201, CommunitySchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 409, 422)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a community (district administrator keys only; its id is a slug)."""
        require_district(current_client())
        message = "A community with this id exists."
        errors = {"id": ["already exists"]}
        with _session() as session:
            if session.get(Community, data["id"]) is not None:
                fail(409, message, errors=errors)
            community = Community(id=data["id"], name=data["name"], created_at=utcnow())
            session.add(community)
            _commit(session, message, errors)
            return community


@blp.route("/communities/<string:community_id>/grids")
class Grids(MethodView):
    @blp.response(200, GridSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, community_id: str) -> Any:
        """List a community's grids."""
        client = current_client()
        with _session() as session:
            get_scoped(session, Community, community_id, client)
            query = select(Grid).where(Grid.community_id == community_id).order_by(Grid.name)
            return list(session.scalars(scoped(query, client)))

    @blp.arguments(NamedCreateSchema)
    @blp.response(201, GridSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Add a grid (网格) to a community this key may act for."""
        with _session() as session:
            client = current_client()
            community = get_scoped(session, Community, community_id, client)
            require_manager(client, community.id)
            grid = Grid(
                id=new_id("g"), community_id=community.id, name=data["name"], created_at=utcnow()
            )
            session.add(grid)
            session.commit()
            return grid


@blp.route("/grids/<string:grid_id>/buildings")
class Buildings(MethodView):
    @blp.response(200, BuildingSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, grid_id: str) -> Any:
        """List a grid's buildings."""
        client = current_client()
        with _session() as session:
            get_scoped(session, Grid, grid_id, client)
            query = select(Building).where(Building.grid_id == grid_id).order_by(Building.name)
            return list(session.scalars(scoped(query, client)))

    @blp.arguments(BuildingCreateSchema)
    @blp.response(201, BuildingSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 422)
    def post(self, data: dict[str, Any], grid_id: str) -> Any:
        """Add a building or courtyard to a grid this key may act for (with where it stands,
        if known: a demand may then take its place from its building)."""
        with _session() as session:
            client = current_client()
            grid = get_scoped(session, Grid, grid_id, client)
            require_manager(client, grid.community_id)
            location = data.get("location")
            building = Building(
                id=new_id("b"),
                grid_id=grid.id,
                name=data["name"],
                lat=None if location is None else location.lat,
                lon=None if location is None else location.lon,
                created_at=utcnow(),
            )
            session.add(building)
            session.commit()
            return building


@blp.route("/units")
class Units(MethodView):
    @blp.response(200, UnitRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS)
    def get(self) -> Any:
        """List the units (单位): district-wide reference data every key may read."""
        with _session() as session:
            query = scoped(select(Unit).order_by(Unit.name, Unit.id), current_client())
            return list(session.scalars(query))

    @blp.arguments(UnitCreateSchema)
    @blp.response(201, UnitRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 422)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a unit and its Party organisation (district administrator keys only)."""
        require_district(current_client())
        with _session() as session:
            unit = Unit(id=new_id("u"), created_at=utcnow(), **data)
            session.add(unit)
            session.commit()
            return unit


# --------------------------------------------------------------------------------------------
# Members
# --------------------------------------------------------------------------------------------


def _check_references(session: Session, client: Client, member: Member) -> None:
    """422 unless the unit exists and the grid and building are the member's community's."""
    errors: dict[str, list[str]] = {}
    if member.unit_id is not None:
        query = scoped(select(Unit.id).where(Unit.id == member.unit_id), client)
        if session.scalar(query) is None:
            errors["unit_id"] = ["no such unit"]
    if member.grid_id is not None:
        query = scoped(
            select(Grid.id).where(
                Grid.id == member.grid_id, Grid.community_id == member.community_id
            ),
            client,
        )
        if session.scalar(query) is None:
            errors["grid_id"] = ["no such grid in the member's community"]
    if member.building_id is not None:
        grid = session.scalar(
            scoped(select(Building.grid_id).where(Building.id == member.building_id), client)
        )
        if grid is None:
            errors["building_id"] = ["no such building"]
        elif grid != member.grid_id:
            errors["building_id"] = ["must be a building of the member's grid (grid_id)"]
    if errors:
        fail(422, "The request is not valid: unknown references.", errors=errors)


@blp.route("/members")
class Members(MethodView):
    @blp.arguments(MemberListQuerySchema, location="query")
    @blp.response(200, MemberRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 422)
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
        """List the members of this key's communities, by card number (page, page_size;
        filter by community, unit or status).

        A unit's tracking view: `?unit_id=` shows whether (`status`) and when (`reported_at`)
        its members reported.
        """
        selection = scoped(select(Member), current_client())
        for name in ("community_id", "unit_id", "status"):
            if query[name] is not None:
                selection = selection.where(getattr(Member, name) == query[name])
        with _session() as session:
            rows = page_rows(session, selection, pagination_parameters, Member.card_number)
            return [present_member(member, _cipher()) for (member,) in rows]

    @blp.arguments(MemberCreateSchema, description="A registration (建档).", example=MEMBER_EXAMPLE)
    @blp.response(201, MemberRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a member (建档) in a community this key may act for.

        The server sets `id`, `status` (`registered`) and `created_at`; a body that sends them
        is a 422. A community outside the key's scope is a 404 (as if it did not exist); a card
        number already registered is a 409.
        """
        client = current_client()
        message = "A member with this registration card number is registered."
        errors = {"card_number": ["already registered"]}
        with _session() as session:
            community = get_scoped(session, Community, data["community_id"], client)
            require_manager(client, community.id)
            taken = session.scalar(
                select(Member.id).where(Member.card_number == data["card_number"])
            )
            if taken is not None:
                fail(409, message, errors=errors)
            member = Member(
                id=new_id("m"),
                community_id=community.id,
                card_number=data["card_number"],
                specialties=[],
                skills=[],
                preferences=[],
                weekly_availability=[],
                capacity_hours_per_week=0.0,
                status="registered",
                created_at=utcnow(),
            )
            apply_profile(member, data, _cipher())
            _check_references(session, client, member)
            session.add(member)
            audit.record(session, client, "create", "member", member.id, community.id)
            _commit(session, message, errors)
            return present_member(member, _cipher())


@blp.route("/members/<string:member_id>")
class MemberById(MethodView):
    @blp.response(200, MemberRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, member_id: str) -> Any:
        """A member of this key's communities."""
        with _session() as session:
            member = get_scoped(session, Member, member_id, current_client())
            return present_member(member, _cipher())

    @blp.arguments(MemberPatchSchema)
    @blp.response(200, MemberRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def patch(self, data: dict[str, Any], member_id: str) -> Any:
        """Change a member's profile, or their status: registered → active → left only.

        Becoming active (reported, 报到) sets `reported_at`. Another transition is a 409; the
        same status again changes nothing.
        """
        client = current_client()
        with _session() as session:
            member = get_scoped(session, Member, member_id, client)
            require_manager(client, member.community_id)
            new_status = data.get("status", member.status)
            if new_status != member.status:
                if (member.status, new_status) not in MEMBER_TRANSITIONS:
                    fail(
                        409,
                        f"A member cannot go from {member.status} to {new_status}.",
                        errors={"status": ["allowed: registered → active → left"]},
                    )
                if new_status == "active":
                    member.reported_at = utcnow()
                member.status = new_status
            apply_profile(member, data, _cipher())
            _check_references(session, client, member)
            detail = ", ".join(sorted(data))[:200]
            audit.record(
                session, client, "update", "member", member.id, member.community_id, detail
            )
            session.commit()
            return present_member(member, _cipher())


@blp.route("/members/<string:member_id>/phone")
class MemberPhone(MethodView):
    @blp.response(200, MemberPhoneSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404)
    def get(self, member_id: str) -> Any:
        """A member's phone in clear, for a manager of their community or the district.

        Every call is written to the audit trail (`view_contact`); lists show the phone
        masked. A member who has no phone on file answers `phone: null`.
        """
        with _session() as session:
            return reveal_phone(session, current_client(), member_id, _cipher())


@blp.route("/members/<string:member_id>/availability")
class MemberAvailability(MethodView):
    @blp.arguments(AvailabilityQuerySchema, location="query")
    @blp.response(200, AvailabilitySchema)
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], member_id: str) -> Any:
        """A member's weekly pattern expanded into the intervals of a horizon (at most 92 days).

        Intervals are in Asia/Shanghai time (`+08:00`), clipped to `[start, end)`, usable as
        `members[].availability` of the dispatch contract. A member who left has none.
        """
        with _session() as session:
            member = get_scoped(session, Member, member_id, current_client())
            slots = [] if member.status == "left" else member.weekly_availability
        intervals = expand_weekly(slots, query["start"], query["end"])
        return {
            "member": member.id,
            "timezone": TIMEZONE_NAME,
            "start": local_iso(query["start"]),
            "end": local_iso(query["end"]),
            "availability": [{"start": local_iso(a), "end": local_iso(b)} for a, b in intervals],
        }


# --------------------------------------------------------------------------------------------
# Dynamic tracking: a unit sees whether and when its members reported and served
# --------------------------------------------------------------------------------------------


@blp.route("/units/<string:unit_id>/tracking")
class UnitTracking(MethodView):
    @blp.response(200, UnitTrackingSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404)
    def get(self, unit_id: str) -> Any:
        """Whether and when each of a unit's members reported (报到) and served (动态跟踪).

        For the unit's organiser, the district, and a community's dispatchers and keys (who see
        the unit's members living in their communities). Members see no tracking (403).
        """
        client = current_client()
        require_role(client, "dispatcher", "client", "unit_organiser")
        if client.role == "unit_organiser" and client.unit_id != unit_id:
            fail(404, "No such unit.")
        with _session() as session:
            unit = get_scoped(session, Unit, unit_id, client)
            done = Task.status == "completed"
            busy = Task.status.in_(("offered", "accepted"))
            query = scoped(
                select(
                    Member,
                    func.count(Task.id).filter(done),
                    func.coalesce(func.sum(Task.hours).filter(done), 0.0),
                    func.max(Task.completed_at).filter(done),
                    func.count(Task.id).filter(busy),
                )
                .outerjoin(Task, Task.member_id == Member.id)
                .where(Member.unit_id == unit.id)
                .group_by(Member.id)
                .order_by(Member.community_id, Member.id),
                client,
            )
            rows = session.execute(query).all()
            members: list[dict[str, Any]] = [
                {
                    "member_id": member.id,
                    "community_id": member.community_id,
                    "status": member.status,
                    "reported_at": member.reported_at,
                    "services": int(services),
                    "hours": float(hours or 0.0),
                    "last_served_at": last,
                    "open_tasks": int(open_tasks),
                }
                for member, services, hours, last, open_tasks in rows
            ]
            return {
                "unit_id": unit.id,
                "members": members,
                "registered": len(members),
                "reported": sum(m["reported_at"] is not None for m in members),
                "served": sum(m["services"] > 0 for m in members),
            }
