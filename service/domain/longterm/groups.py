"""Groups (分组活动亮业绩) and their households: members (a member is in at most one group), the
elected leader, the responsibility area (buildings and grids), the households of that area, and
the groups computed by the groups model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from matcher.longterm.groups.verify import verify as verify_groups
from service.config.identity import Client
from service.db.base import utcnow
from service.db.longterm import (
    Commitment,
    Group,
    GroupMember,
    Household,
    Post,
)
from service.db.registration import Building, Grid, Member, new_id
from service.domain.errors import Conflict
from service.domain.longterm.common import (
    ALLOCATED_MEMBER_STATUS,
    LONGTERM_TIME_LIMIT_S,
    commit_checked,
    find_managed,
    managed_community,
    refuse_invalid,
    solve_checked,
    solved_without_lock,
)
from service.domain.solving import Solver, in_process

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Groups and households
# --------------------------------------------------------------------------------------------


def _group_members(session: Session, group_ids: Sequence[str]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {group_id: [] for group_id in group_ids}
    rows = session.execute(
        select(GroupMember.group_id, GroupMember.member_id)
        .where(GroupMember.group_id.in_(list(group_ids)))
        .order_by(GroupMember.member_id)
    )
    for group_id, member_id in rows:
        members[group_id].append(member_id)
    return members


def present_group(group: Group, member_ids: list[str]) -> dict[str, Any]:
    """A group row and its members as ``GroupRecordSchema`` dumps them."""
    return {
        "id": group.id,
        "community_id": group.community_id,
        "name": group.name,
        "member_ids": member_ids,
        "leader_id": group.leader_id,
        "area": {"buildings": group.area_buildings, "grids": group.area_grids},
        "created_at": group.created_at,
    }


def present_groups(session: Session, groups: Sequence[Group]) -> list[dict[str, Any]]:
    """Groups with their members (one query for all members)."""
    members = _group_members(session, [group.id for group in groups])
    return [present_group(group, members[group.id]) for group in groups]


def _check_members(session: Session, community_id: str, member_ids: Sequence[str]) -> None:
    """422 unless every id is a member of the community who has not left."""
    rows = session.execute(
        select(Member.id, Member.status).where(
            Member.id.in_(list(member_ids)), Member.community_id == community_id
        )
    )
    status = {member_id: state for member_id, state in rows}
    errors: dict[str, list[str]] = {}
    for i, member_id in enumerate(member_ids):
        if member_id not in status:
            errors[f"member_ids[{i}]"] = ["no such member in the group's community"]
        elif status[member_id] == "left":
            errors[f"member_ids[{i}]"] = ["this member has left"]
    refuse_invalid(errors)


def _check_area(session: Session, community_id: str, area: dict[str, list[str]]) -> None:
    """422 unless every building and grid of the area is the community's."""
    buildings = set(
        session.scalars(
            select(Building.id)
            .join(Grid, Grid.id == Building.grid_id)
            .where(Building.id.in_(area["buildings"]), Grid.community_id == community_id)
        )
    )
    grids = set(
        session.scalars(
            select(Grid.id).where(Grid.id.in_(area["grids"]), Grid.community_id == community_id)
        )
    )
    errors: dict[str, list[str]] = {}
    for i, building_id in enumerate(area["buildings"]):
        if building_id not in buildings:
            errors[f"area.buildings[{i}]"] = ["no such building in the group's community"]
    for i, grid_id in enumerate(area["grids"]):
        if grid_id not in grids:
            errors[f"area.grids[{i}]"] = ["no such grid in the group's community"]
    refuse_invalid(errors)


def _check_free(session: Session, group_id: str, member_ids: Sequence[str]) -> None:
    """409 if a member is already in another group (a member is in at most one group)."""
    rows = session.execute(
        select(GroupMember.member_id, GroupMember.group_id).where(
            GroupMember.member_id.in_(list(member_ids)), GroupMember.group_id != group_id
        )
    )
    taken = {member_id: group for member_id, group in rows}
    errors = {
        f"member_ids[{i}]": [f"already in group {taken[member_id]}"]
        for i, member_id in enumerate(member_ids)
        if member_id in taken
    }
    if errors:
        raise Conflict("A member is in at most one group.", errors=errors)


def _write_group(
    session: Session, group: Group, data: dict[str, Any], current: list[str]
) -> list[str]:
    """Apply a group's validated fields; the members it ends with."""
    member_ids = list(data.get("member_ids", current))
    if "member_ids" in data:
        _check_members(session, group.community_id, member_ids)
    if "name" in data:
        group.name = data["name"]
    if "area" in data:
        _check_area(session, group.community_id, data["area"])
        group.area_buildings = list(data["area"]["buildings"])
        group.area_grids = list(data["area"]["grids"])
    if "leader_id" in data:
        group.leader_id = data["leader_id"]
    if group.leader_id is not None and group.leader_id not in member_ids:
        refuse_invalid({"leader_id": ["must be one of the group's members"]}, "the leader")
    if "member_ids" in data:
        _check_free(session, group.id, member_ids)
        session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
        session.add_all(GroupMember(group_id=group.id, member_id=m) for m in member_ids)
    return sorted(member_ids)


def create_group(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """A group of a community: members, elected leader (one of them) and area."""
    community = managed_community(session, client, community_id)
    group = Group(
        id=new_id("gr"),
        community_id=community.id,
        name=data["name"],
        area_buildings=[],
        area_grids=[],
        created_at=utcnow(),
    )
    session.add(group)
    member_ids = _write_group(session, group, data, [])
    commit_checked(
        session, "A member is in at most one group.", {"member_ids": ["changed concurrently"]}
    )
    log.info("group %s created in community %s", group.id, community.id)
    return present_group(group, member_ids)


def update_group(
    session: Session, client: Client, group_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Change a group's name, members, leader or area (a leader must stay a member)."""
    group = find_managed(session, Group, group_id, client)
    current = _group_members(session, [group.id])[group.id]
    member_ids = _write_group(session, group, data, current)
    commit_checked(
        session, "A member is in at most one group.", {"member_ids": ["changed concurrently"]}
    )
    return present_group(group, member_ids)


def delete_group(session: Session, client: Client, group_id: str) -> None:
    """Dissolve a group (its members become free to join another)."""
    group = find_managed(session, Group, group_id, client)
    session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    session.delete(group)
    session.commit()


def groups_problem(
    session: Session,
    community_id: str,
    *,
    group_size: dict[str, int],
    time_limit_s: float,
) -> dict[str, Any]:
    """The groups problem (``docs/contracts/groups.md`` JSON) of a community's active members: home,
    trade (occupation), the categories of the posts they hold (open commitments) and their
    service intentions."""
    members = session.scalars(
        select(Member)
        .where(Member.community_id == community_id, Member.status == ALLOCATED_MEMBER_STATUS)
        .order_by(Member.id)
    ).all()
    held: dict[str, set[str]] = {}
    rows = session.execute(
        select(Commitment.member_id, Post.category)
        .join(Post, Post.id == Commitment.post_id)
        .where(Commitment.community_id == community_id, Commitment.status == "open")
    )
    for member_id, category in rows:
        held.setdefault(member_id, set()).add(category)
    return {
        "members": [
            {
                "id": member.id,
                "community": member.community_id,
                "location": {"lat": member.lat, "lon": member.lon},
                "industry": member.occupation,
                "posts": sorted(held.get(member.id, ())),
                "preferences": list(member.preferences),
            }
            for member in members
        ],
        "group_size": dict(group_size),
        "options": {"time_limit_s": time_limit_s, "seed": 0},
    }


def solve_groups_and_verify(
    problem_json: dict[str, Any], solver: Solver = in_process
) -> dict[str, Any]:
    """Group the members and check the answer with the independent verifier.

    Raises:
        VerificationError: The verifier found violations (logged by rule and subject: ids).
    """
    time_limit_s = float(
        problem_json.get("options", {}).get("time_limit_s") or LONGTERM_TIME_LIMIT_S
    )
    return solve_checked(
        "groups", problem_json, verify=verify_groups, solver=solver, time_limit_s=time_limit_s
    )


def compute_groups(
    session: Session,
    client: Client,
    community_id: str,
    data: dict[str, Any],
    *,
    solver: Solver = in_process,
) -> dict[str, Any]:
    """Group a community's active members with the groups model and store the groups.

    A community that has groups is a 409 unless ``replace`` is true: then, in the same
    transaction, its groups are dissolved (areas and leaders with them). The new groups have
    no leader (the members elect one) and an empty area.
    """
    managed_community(session, client, community_id)

    def read() -> tuple[list[str], dict[str, Any]]:
        existing = list(
            session.scalars(select(Group.id).where(Group.community_id == community_id)).all()
        )
        if existing and not data["replace"]:
            raise Conflict(
                "This community has groups; send replace: true to dissolve them first.",
                errors={"replace": ["must be true to replace the community's groups"]},
            )
        problem = groups_problem(
            session,
            community_id,
            group_size=data["group_size"],
            time_limit_s=data["time_limit_s"],
        )
        return existing, problem

    (existing, _problem), answer = solved_without_lock(
        session,
        community_id,
        read,
        lambda inputs: solve_groups_and_verify(inputs[1], solver=solver),
    )
    if existing:
        session.execute(delete(GroupMember).where(GroupMember.group_id.in_(existing)))
        session.execute(delete(Group).where(Group.id.in_(existing)))
    now = utcnow()
    stored: list[dict[str, Any]] = []
    for number, proposed in enumerate(answer["groups"], start=1):
        group = Group(
            id=new_id("gr"),
            community_id=community_id,
            name=f"第{number}组",
            area_buildings=[],
            area_grids=[],
            created_at=now,
        )
        session.add(group)
        session.add_all(GroupMember(group_id=group.id, member_id=m) for m in proposed["members"])
        stored.append(present_group(group, sorted(proposed["members"])))
    commit_checked(session, "The groups were changed concurrently.", {"replace": ["try again"]})
    log.info("community %s: %d groups computed", community_id, len(stored))
    return {
        "status": answer["status"],
        "objective": answer["stats"]["objective"],
        "bound": answer["stats"]["bound"],
        "groups": stored,
        "unassigned": [
            {"member_id": u["member"], "reason": u["reason"], "detail": u["detail"]}
            for u in answer["unassigned"]
        ],
    }


def present_household(household: Household) -> dict[str, Any]:
    """A household row as ``HouseholdRecordSchema`` dumps it."""
    return {
        "id": household.id,
        "community_id": household.community_id,
        "building_id": household.building_id,
        "location": {"lat": household.lat, "lon": household.lon},
        "needs": household.needs,
        "created_at": household.created_at,
    }


def create_household(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """A household of a community, in one of its buildings (422 for a foreign building)."""
    community = managed_community(session, client, community_id)
    grid = session.scalar(select(Building.grid_id).where(Building.id == data["building_id"]))
    owner = (
        None if grid is None else session.scalar(select(Grid.community_id).where(Grid.id == grid))
    )
    if owner != community.id:
        refuse_invalid({"building_id": ["no such building in the community"]})
    household = Household(
        id=new_id("h"),
        community_id=community.id,
        building_id=data["building_id"],
        lat=data["location"].lat,
        lon=data["location"].lon,
        needs=list(data["needs"]),
        created_at=utcnow(),
    )
    session.add(household)
    session.commit()
    return present_household(household)


def households_of_area(group: Group) -> Select[Household]:
    """The households in the group's area: its buildings, and the buildings of its grids."""
    in_grids = select(Building.id).where(Building.grid_id.in_(group.area_grids))
    return select(Household).where(
        Household.community_id == group.community_id,
        or_(Household.building_id.in_(group.area_buildings), Household.building_id.in_(in_grids)),
    )
