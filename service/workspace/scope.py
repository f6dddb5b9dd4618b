"""Who may see what: every workspace query goes through :func:`scoped`.

A client with no communities is a district administrator and sees everything. A client scoped to
communities sees only those communities and the grids, buildings, members and demands in them
(and the tasks of those demands); objects outside its scope do not exist for it (404, never 403,
so that ids reveal nothing). Units are district-wide reference data (a unit's members live in
many communities): every client may read them, only district administrators may create them.
"""

from __future__ import annotations

from typing import TypeVar, TypeVarTuple

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from service.dispatching import Client
from service.errors import fail
from service.workspace.models import (
    ID_LENGTH,
    Building,
    Community,
    Demand,
    Grid,
    Member,
    Task,
    Unit,
)

Ts = TypeVarTuple("Ts")
M = TypeVar("M", Community, Grid, Building, Unit, Member, Demand, Task)

NOT_FOUND = {
    Community: "No such community.",
    Grid: "No such grid.",
    Building: "No such building.",
    Unit: "No such unit.",
    Member: "No such member.",
    Demand: "No such demand.",
    Task: "No such task.",
}


def is_district(client: Client) -> bool:
    """True for a district administrator key (no community restriction)."""
    return not client.communities


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
    communities = list(client.communities)
    if entity is Community:
        return query.where(Community.id.in_(communities))
    if entity is Grid:
        return query.where(Grid.community_id.in_(communities))
    if entity is Building:
        grids = select(Grid.id).where(Grid.community_id.in_(communities))
        return query.where(Building.grid_id.in_(grids))
    if entity is Demand:
        return query.where(Demand.community_id.in_(communities))
    if entity is Task:
        demands = select(Demand.id).where(Demand.community_id.in_(communities))
        return query.where(Task.demand_id.in_(demands))
    return query.where(Member.community_id.in_(communities))


def plausible_id(value: str) -> bool:
    """False for ids no row can have (too long, control characters): answered 404 directly."""
    return 0 < len(value) <= ID_LENGTH and value.isprintable()


def get_scoped(session: Session, model: type[M], object_id: str, client: Client) -> M:
    """The object with this id within the client's scope, or a 404 (whether foreign or absent)."""
    found = None
    if plausible_id(object_id):
        query = select(model).where(model.id == object_id)
        found = session.scalars(scoped(query, client)).first()
    if found is None:
        fail(404, NOT_FOUND[model])
    return found


def require_district(client: Client) -> None:
    """403 unless the client is a district administrator."""
    if not is_district(client):
        fail(403, "Only a district administrator key (no community restriction) may do this.")
