"""Who may see what: every workspace query goes through :func:`scoped`.

Roles (:data:`ROLES`): a district administrator (or an API key with no communities) sees
everything. A dispatcher or an API key scoped to communities sees those communities and the
grids, buildings, members and demands in them (and the tasks of those demands). A member sees
their own member record and tasks, and their community's demand list (to claim from it). A unit
organiser sees its unit's members, their tasks and the demands they served. Objects outside the
scope do not exist for the client (404, never 403, so that ids reveal nothing); objects inside
it that the role may read but not change answer 403 to a change. Units are district-wide
reference data (a unit's members live in many communities): every client may read them, only
district administrators may create them.
"""

from __future__ import annotations

from typing import TypeVar, TypeVarTuple

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.flow import Demand, DispatchRun, Task
from service.db.registration import ID_LENGTH, Building, Community, Grid, Member, Unit
from service.domain.errors import Forbidden, NotFound

Ts = TypeVarTuple("Ts")
M = TypeVar("M", Community, Grid, Building, Unit, Member, Demand, Task, DispatchRun)

NOT_FOUND = {
    Community: "No such community.",
    Grid: "No such grid.",
    Building: "No such building.",
    Unit: "No such unit.",
    Member: "No such member.",
    Demand: "No such demand.",
    Task: "No such task.",
    DispatchRun: "No such dispatch run.",
}


ROLES = ("district", "dispatcher", "unit_organiser", "member", "client")
"""People's roles, and ``client`` for API keys."""

MANAGING_ROLES = frozenset({"district", "dispatcher", "client"})
"""Roles that may change community records (members, demands, dispatch, posts, groups...)."""


def is_district(client: Client) -> bool:
    """True for a district administrator, or an API key with no community restriction."""
    return client.role == "district" or (client.role == "client" and not client.communities)


def community_ids(client: Client) -> list[str] | None:
    """The communities whose community-wide records the client may read; ``None``: all.

    Dispatchers and keys read their communities, a member reads the community they live in
    (the open demand list, the post menu, the board), a unit organiser reads no community-wide
    record (only its unit's members' records, see :func:`scoped`).
    """
    if is_district(client):
        return None
    if client.role == "unit_organiser":
        return []
    return list(client.communities)


def managed_community_ids(client: Client) -> list[str] | None:
    """The communities whose records the client may change; ``None``: all."""
    if is_district(client):
        return None
    if client.role in MANAGING_ROLES:
        return list(client.communities)
    return []


def may_manage(client: Client, community_id: str) -> bool:
    """True if the client may change this community's records."""
    managed = managed_community_ids(client)
    return managed is None or community_id in managed


def require_manager(client: Client, community_id: str) -> None:
    """403 unless the client may change this community's records.

    Call it after the object was found with :func:`get_scoped` (a foreign object is a 404
    before it is ever a 403).
    """
    if not may_manage(client, community_id):
        raise Forbidden("This role may not change this community's records.")


def require_role(client: Client, *roles: str) -> None:
    """403 unless the client's role is one of ``roles`` (``district`` always passes)."""
    if not (is_district(client) or client.role in roles):
        raise Forbidden(f"Only these roles may do this: {', '.join(roles)}.")


def visible_member_ids(client: Client) -> Select[str] | None:
    """A query of the member ids whose personal records the client may read; ``None``: all."""
    if is_district(client):
        return None
    if client.role == "member":
        return select(Member.id).where(Member.id == (client.member_id or ""))
    if client.role == "unit_organiser":
        return select(Member.id).where(Member.unit_id == (client.unit_id or ""))
    return select(Member.id).where(Member.community_id.in_(list(client.communities)))


def scoped(query: Select[*Ts], client: Client) -> Select[*Ts]:
    """``query`` (whose first entity is a workspace model) limited to the client's scope.

    Raises:
        TypeError: For an entity without a scope rule (fail closed: a new table must say how
            it is scoped before it can be queried).
    """
    entity = query.column_descriptions[0]["entity"]
    if entity not in NOT_FOUND:
        raise TypeError(f"no scope rule for {entity!r}")
    if is_district(client) or entity is Unit:
        return query
    if entity is DispatchRun:
        return query.where(DispatchRun.community_id.in_(managed_community_ids(client) or []))
    communities = community_ids(client) or []
    members = visible_member_ids(client)
    assert members is not None
    if entity is Community:
        if client.role == "unit_organiser":
            return query.where(
                Community.id.in_(
                    select(Member.community_id).where(Member.unit_id == (client.unit_id or ""))
                )
            )
        return query.where(Community.id.in_(communities))
    if entity is Grid:
        return query.where(Grid.community_id.in_(communities))
    if entity is Building:
        grids = select(Grid.id).where(Grid.community_id.in_(communities))
        return query.where(Building.grid_id.in_(grids))
    if entity is Demand:
        if client.role == "unit_organiser":
            served = select(Task.demand_id).where(Task.member_id.in_(members))
            return query.where(Demand.id.in_(served))
        return query.where(Demand.community_id.in_(communities))
    if entity is Task:
        if client.role in ("member", "unit_organiser"):
            return query.where(Task.member_id.in_(members))
        demands = select(Demand.id).where(Demand.community_id.in_(communities))
        return query.where(Task.demand_id.in_(demands))
    return query.where(Member.id.in_(members))


def plausible_id(value: str) -> bool:
    """False for ids no row can have (too long, control characters): answered 404 directly."""
    return 0 < len(value) <= ID_LENGTH and value.isprintable()


def readable_community(session: Session, client: Client, community_id: str) -> Community:
    """The community, if the client reads its community-wide records (the post menu, groups,
    schedules, the board); else a 404 (absent or outside the scope alike)."""
    allowed = community_ids(client)
    found = None
    if plausible_id(community_id) and (allowed is None or community_id in allowed):
        found = session.get(Community, community_id)
    if found is None:
        raise NotFound(NOT_FOUND[Community])
    return found


def get_scoped(session: Session, model: type[M], object_id: str, client: Client) -> M:
    """The object with this id within the client's scope, or a 404 (whether foreign or absent)."""
    found = None
    if plausible_id(object_id):
        query = select(model).where(model.id == object_id)
        found = session.scalars(scoped(query, client)).first()
    if found is None:
        raise NotFound(NOT_FOUND[model])
    return found


def require_district(client: Client) -> None:
    """403 unless the client is a district administrator."""
    if not is_district(client):
        raise Forbidden("Only a district administrator key (no community restriction) may do this.")
