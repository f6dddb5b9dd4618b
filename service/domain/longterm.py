"""The long-term records (issue #7), without Flask: posts and commitments, groups, pairs.

**Posts** (分类设岗亮承诺): a community's menu of posts; members rank up to five posts of their own
community; :func:`allocate` builds the posts problem of ``docs/posts.md`` from the stored rows,
solves it with :mod:`matcher.longterm.posts`, checks the answer with the independent verifier
and, in one transaction, stores the allocation and each placed member's commitment (the open
commitments of the community's previous allocation are withdrawn). A dispatcher marks an open
commitment kept or missed; an open commitment past its deadline (Asia/Shanghai date) is
``overdue``.

**Groups** (分组活动亮业绩): groups of a community, their members (a member is in at most one
group), the leader they elected (one of the members), a responsibility area (buildings and grids
of the community) and the households of that area.

**Pairs**: hand-in-hand pairs (a member with a vulnerable resident, an opaque ``resident_ref``)
and unit–community pairs, each for a period; ending a pair sets its end date, renewing it ends
the row and starts a new one for the next period, so history across periods is kept.

Scope: community-wide records (menu, groups, households, pairs) are read by clients whose
:func:`~service.domain.scope.community_ids` holds the community (or all); a member reads only
their own hand-in-hand pairs (a resident's vulnerability is not for every neighbour). Changes
need :func:`~service.domain.scope.require_manager` after the object was found in scope.
Commitments are member records (:func:`~service.domain.scope.visible_member_ids`). Objects
outside the scope answer 404. Logs name ids and counts only.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.longterm.groups.solve import solve as solve_groups
from matcher.longterm.groups.verify import verify as verify_groups
from matcher.longterm.pairs.solve import solve as solve_pairs
from matcher.longterm.pairs.verify import verify as verify_pairs
from matcher.longterm.posts.solve import solve as solve_posts
from matcher.longterm.posts.verify import verify as verify_posts
from service.config.identity import Client
from service.contracts import groups as groups_contract
from service.contracts import pairs as pairs_contract
from service.contracts import posts as posts_contract
from service.db.base import utcnow
from service.db.longterm import (
    Commitment,
    Group,
    GroupMember,
    HandInHandPair,
    Household,
    Post,
    PostAllocation,
    PostChoice,
    UnitPair,
)
from service.db.registration import Building, Community, Grid, Member, Unit, new_id
from service.domain import audit
from service.domain.availability import LOCAL
from service.domain.errors import Conflict, Forbidden, Invalid, NotFound
from service.domain.scope import (
    community_ids,
    get_scoped,
    may_manage,
    plausible_id,
    readable_community,
    require_manager,
    visible_member_ids,
)

log = logging.getLogger(__name__)

R = TypeVar("R", Post, Commitment, Group, Household, HandInHandPair, UnitPair, PostAllocation)
P = TypeVar("P", HandInHandPair, UnitPair)
T = TypeVar("T")
A = TypeVar("A")

NOT_FOUND: dict[type[Any], str] = {
    Post: "No such post.",
    PostAllocation: "No such allocation.",
    Commitment: "No such commitment.",
    Group: "No such group.",
    Household: "No such household.",
    HandInHandPair: "No such hand-in-hand pair.",
    UnitPair: "No such unit pair.",
}

ALLOCATED_MEMBER_STATUS = "active"
"""Only members who reported (报到) and serve are allocated posts."""


def today() -> date:
    """Today's date in Asia/Shanghai (deadlines and pair dates are local dates)."""
    return datetime.now(LOCAL).date()


# --------------------------------------------------------------------------------------------
# Scope
# --------------------------------------------------------------------------------------------


def reads_community(client: Client, community_id: str) -> bool:
    """True if the client may read this community's community-wide records."""
    readable = community_ids(client)
    return readable is None or community_id in readable


def managed_community(session: Session, client: Client, community_id: str) -> Community:
    """The community (404 outside the scope), 403 unless the client may change its records."""
    community = readable_community(session, client, community_id)
    require_manager(client, community.id)
    return community


def find(session: Session, model: type[R], object_id: str, client: Client) -> R:
    """A community record within the client's read scope, or a 404 (foreign or absent)."""
    row = session.get(model, object_id) if plausible_id(object_id) else None
    if row is None or not reads_community(client, row.community_id):
        raise NotFound(NOT_FOUND[model])
    if isinstance(row, HandInHandPair) and not _sees_pair(client, row):
        raise NotFound(NOT_FOUND[model])
    return row


def find_managed(session: Session, model: type[R], object_id: str, client: Client) -> R:
    """:func:`find`, then 403 unless the client may change the row's community's records."""
    row = find(session, model, object_id, client)
    require_manager(client, row.community_id)
    return row


def _commit(session: Session, message: str, errors: dict[str, list[str]]) -> None:
    """Commit; a unique constraint broken by a concurrent request is a 409."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(message, errors=errors) from None


def _invalid(errors: dict[str, list[str]], message: str = "unknown references") -> None:
    if errors:
        raise Invalid(f"The request is not valid: {message}.", errors=errors)


# --------------------------------------------------------------------------------------------
# Posts
# --------------------------------------------------------------------------------------------


def present_post(post: Post) -> dict[str, Any]:
    """A post row as the data ``PostRecordSchema`` dumps."""
    commitment = None
    if post.commitment_service is not None:
        commitment = {"service": post.commitment_service, "deadline": post.commitment_deadline}
    return {
        "id": post.id,
        "community_id": post.community_id,
        "category": post.category,
        "title": post.title,
        "seats": post.seats,
        "skills": post.skills,
        "desired_skills": post.desired_skills,
        "grid_id": post.grid_id,
        "commitment": commitment,
        "created_at": post.created_at,
    }


_POST_FIELDS = ("category", "title", "seats", "skills", "desired_skills", "grid_id")


def _apply_post(session: Session, post: Post, data: dict[str, Any]) -> None:
    """Copy the validated fields present in ``data`` onto the row; 422 for a foreign grid."""
    for name in _POST_FIELDS:
        if name in data:
            setattr(post, name, data[name])
    if "commitment" in data:
        commitment = data["commitment"] or {}
        post.commitment_service = commitment.get("service")
        post.commitment_deadline = commitment.get("deadline")
    if post.grid_id is not None:
        grid = session.get(Grid, post.grid_id)
        if grid is None or grid.community_id != post.community_id:
            _invalid({"grid_id": ["no such grid in the post's community"]})


def create_post(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Add a post to a community's menu (a manager of the community only)."""
    community = managed_community(session, client, community_id)
    post = Post(
        id=new_id("p"),
        community_id=community.id,
        skills=[],
        desired_skills=[],
        created_at=utcnow(),
    )
    _apply_post(session, post, data)
    session.add(post)
    session.commit()
    log.info("post %s added to community %s", post.id, community.id)
    return present_post(post)


def update_post(
    session: Session, client: Client, post_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Change a post; commitments already made keep the text they were made with."""
    post = find_managed(session, Post, post_id, client)
    _apply_post(session, post, data)
    session.commit()
    return present_post(post)


def posts_of(community_id: str) -> Select[Post]:
    """The posts of a community (the menu)."""
    return select(Post).where(Post.community_id == community_id)


# --------------------------------------------------------------------------------------------
# Choices
# --------------------------------------------------------------------------------------------


def _choices(session: Session, member_id: str) -> list[str]:
    query = select(PostChoice.post_id).where(PostChoice.member_id == member_id)
    return list(session.scalars(query.order_by(PostChoice.rank)))


def get_choices(session: Session, client: Client, member_id: str) -> dict[str, Any]:
    """A member's ranked choices, best first (a member record: 404 outside the scope)."""
    member = get_scoped(session, Member, member_id, client)
    return {"member_id": member.id, "posts": _choices(session, member.id)}


def may_choose_for(client: Client, member: Member) -> bool:
    """The member themself, or a manager of their community."""
    own = client.role == "member" and client.member_id == member.id
    return own or may_manage(client, member.community_id)


def set_choices(
    session: Session, client: Client, member_id: str, post_ids: Sequence[str]
) -> dict[str, Any]:
    """Replace a member's ranked choices: posts of their own community, best first.

    The member themself or a manager of their community may (403 otherwise); a member who left
    is a 409; a post that is not on the member's community's menu is a 422 naming its place.
    """
    member = get_scoped(session, Member, member_id, client)
    if not may_choose_for(client, member):
        raise Forbidden("Only the member or a manager of their community may set their choices.")
    if member.status == "left":
        raise Conflict("A member who left cannot choose posts.", errors={"status": ["left"]})
    known = set(
        session.scalars(
            select(Post.id).where(
                Post.id.in_(list(post_ids)), Post.community_id == member.community_id
            )
        )
    )
    _invalid(
        {
            f"posts[{i}]": ["no such post in the member's community"]
            for i, post_id in enumerate(post_ids)
            if post_id not in known
        }
    )
    session.execute(delete(PostChoice).where(PostChoice.member_id == member.id))
    for rank, post_id in enumerate(post_ids, start=1):
        session.add(PostChoice(member_id=member.id, rank=rank, post_id=post_id))
    _commit(session, "The choices were changed concurrently.", {"posts": ["try again"]})
    return {"member_id": member.id, "posts": list(post_ids)}


# --------------------------------------------------------------------------------------------
# Allocation (the posts model) and commitments
# --------------------------------------------------------------------------------------------


def solved_without_lock(
    session: Session,
    community_id: str,
    read: Callable[[], T],
    solve: Callable[[T], A],
    *,
    same: Callable[[T, T], bool] = operator.eq,
) -> tuple[T, A]:
    """Solve a community's long-term model holding no transaction (or lock) while it searches.

    ``read`` gathers the inputs; the read transaction ends before ``solve`` runs; then the
    community's row is locked (PostgreSQL; SQLite serialises writers) and the inputs are read
    again: if they changed meanwhile the answer is stale and nothing is written (409).
    Returns the inputs read under the lock (the caller writes from them) and the answer.
    """
    inputs = read()
    session.rollback()
    answer = solve(inputs)
    session.execute(select(Community.id).where(Community.id == community_id).with_for_update())
    current = read()
    if not same(inputs, current):
        raise Conflict(
            "The community's records changed while the model was solving; nothing was written.",
            errors={"community_id": ["changed during the solve: run it again"]},
        )
    return current, answer


def posts_problem(
    session: Session, community_id: str, *, mode: str = "optimal", fill_unranked: bool = False
) -> dict[str, Any]:
    """The posts problem (``docs/posts.md`` JSON) of a community: its menu and its active
    members with their skills, service intentions, grid and ranked choices."""
    posts = session.scalars(posts_of(community_id).order_by(Post.id)).all()
    members = session.scalars(
        select(Member)
        .where(Member.community_id == community_id, Member.status == ALLOCATED_MEMBER_STATUS)
        .order_by(Member.id)
    ).all()
    choices: dict[str, list[str]] = {}
    rows = session.execute(
        select(PostChoice.member_id, PostChoice.post_id)
        .join(Member, Member.id == PostChoice.member_id)
        .where(Member.community_id == community_id)
        .order_by(PostChoice.member_id, PostChoice.rank)
    )
    for member_id, post_id in rows:
        choices.setdefault(member_id, []).append(post_id)
    return {
        "posts": [_problem_post(post) for post in posts],
        "members": [_problem_member(member, choices.get(member.id, [])) for member in members],
        "options": {"mode": mode, "fill_unranked": fill_unranked},
    }


def _problem_post(post: Post) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": post.id,
        "community": post.community_id,
        "category": post.category,
        "title": post.title,
        "seats": post.seats,
        "skills": list(post.skills),
        "desired_skills": list(post.desired_skills),
        "grid": post.grid_id,
    }
    if post.commitment_service is not None and post.commitment_deadline is not None:
        entry["commitment"] = {
            "service": post.commitment_service,
            "deadline": post.commitment_deadline.isoformat(),
        }
    return entry


def _problem_member(member: Member, choices: list[str]) -> dict[str, Any]:
    return {
        "id": member.id,
        "community": member.community_id,
        "skills": list(member.skills),
        "preferences": list(member.preferences),
        "grid": member.grid_id,
        "choices": choices,
    }


class VerificationError(RuntimeError):
    """The engine's answer broke its contract: our bug, nothing is written (a 500)."""


def solve_and_verify(problem_json: dict[str, Any]) -> dict[str, Any]:
    """Solve a posts problem and check the answer with the independent verifier.

    Raises:
        VerificationError: The verifier found violations (logged by rule and subject: ids).
    """
    answer = posts_contract.dump_answer(solve_posts(posts_contract.load_problem(problem_json)))
    violations = verify_posts(problem_json, answer)
    if violations:
        for violation in violations:
            log.error("posts answer breaks rule %s (%s)", violation.rule, violation.subject)
        raise VerificationError(f"{len(violations)} violations of the posts contract")
    return answer


def allocate(
    session: Session,
    client: Client,
    community_id: str,
    *,
    mode: str = "optimal",
    fill_unranked: bool = False,
) -> dict[str, Any]:
    """Allocate a community's active members to its posts and store the commitments.

    One transaction: the open commitments of earlier allocations become ``withdrawn``, the
    allocation (status, objective, reasons, vacancies) and one open commitment per placed member
    are written. The model solves with no transaction open (:func:`solved_without_lock`);
    the writes are serialised by a row lock on the community taken after the solve.
    """
    managed_community(session, client, community_id)
    _problem, answer = solved_without_lock(
        session,
        community_id,
        lambda: posts_problem(session, community_id, mode=mode, fill_unranked=fill_unranked),
        solve_and_verify,
    )
    session.execute(
        update(Commitment)
        .where(Commitment.community_id == community_id, Commitment.status == "open")
        .values(status="withdrawn")
        .execution_options(synchronize_session=False)
    )
    now = utcnow()
    allocation = PostAllocation(
        id=new_id("pa"),
        community_id=community_id,
        mode=answer["mode"],
        status=answer["status"],
        objective=float(answer["stats"]["objective"]),
        bound=float(answer["stats"]["bound"]),
        unassigned=[
            {"member_id": u["member"], "reason": u["reason"], "detail": u["detail"]}
            for u in answer["unassigned"]
        ],
        vacancies=[
            {"post_id": v["post"], "seats_left": v["seats_left"]} for v in answer["vacancies"]
        ],
        created_at=now,
    )
    session.add(allocation)
    session.flush()
    commitments = [_commitment(allocation, entry, now) for entry in answer["allocations"]]
    session.add_all(commitments)
    session.commit()
    log.info(
        "community %s: allocation %s placed %d members (%s)",
        community_id,
        allocation.id,
        len(commitments),
        allocation.status,
    )
    return present_allocation(allocation, commitments)


def _commitment(allocation: PostAllocation, entry: dict[str, Any], now: datetime) -> Commitment:
    promised = entry.get("commitment") or {}
    deadline = promised.get("deadline")
    return Commitment(
        id=new_id("cm"),
        community_id=allocation.community_id,
        allocation_id=allocation.id,
        member_id=entry["member"],
        post_id=entry["post"],
        rank=entry["rank"],
        fit=entry["fit"],
        service=promised.get("service"),
        deadline=None if deadline is None else date.fromisoformat(deadline),
        status="open",
        created_at=now,
    )


def present_allocation(
    allocation: PostAllocation, commitments: Iterable[Commitment]
) -> dict[str, Any]:
    """An allocation and its commitments as ``AllocationRecordSchema`` dumps them."""
    day = today()
    return {
        "id": allocation.id,
        "community_id": allocation.community_id,
        "mode": allocation.mode,
        "status": allocation.status,
        "objective": allocation.objective,
        "bound": allocation.bound,
        "commitments": [present_commitment(c, day) for c in commitments],
        "unassigned": allocation.unassigned,
        "vacancies": allocation.vacancies,
        "created_at": allocation.created_at,
    }


def latest_allocation(session: Session, client: Client, community_id: str) -> dict[str, Any]:
    """The community's latest allocation (its commitments as they stand now), or a 404."""
    readable_community(session, client, community_id)
    allocation = session.scalars(
        select(PostAllocation)
        .where(PostAllocation.community_id == community_id)
        .order_by(PostAllocation.created_at.desc(), PostAllocation.id.desc())
        .limit(1)
    ).first()
    if allocation is None:
        raise NotFound("This community has no allocation yet.")
    commitments = session.scalars(
        select(Commitment)
        .where(Commitment.allocation_id == allocation.id)
        .order_by(Commitment.post_id, Commitment.member_id)
    ).all()
    return present_allocation(allocation, commitments)


def is_overdue(commitment: Commitment, day: date) -> bool:
    """Open and past its deadline (a commitment is due by the end of its deadline day)."""
    deadline = commitment.deadline
    return commitment.status == "open" and deadline is not None and deadline < day


def present_commitment(commitment: Commitment, day: date | None = None) -> dict[str, Any]:
    """A commitment row as ``CommitmentRecordSchema`` dumps it, ``overdue`` as of ``day``."""
    return {
        "id": commitment.id,
        "community_id": commitment.community_id,
        "allocation_id": commitment.allocation_id,
        "member_id": commitment.member_id,
        "post_id": commitment.post_id,
        "rank": commitment.rank,
        "fit": commitment.fit,
        "service": commitment.service,
        "deadline": commitment.deadline,
        "status": commitment.status,
        "overdue": is_overdue(commitment, day or today()),
        "marked_at": commitment.marked_at,
        "created_at": commitment.created_at,
    }


def visible_commitments(client: Client) -> Select[Commitment]:
    """The commitments of the members whose records the client may read."""
    query = select(Commitment)
    members = visible_member_ids(client)
    return query if members is None else query.where(Commitment.member_id.in_(members))


def commitment_filters(query: Select[Commitment], filters: dict[str, Any]) -> Any:
    """``query`` narrowed by the list's filters (community, member, post, status, overdue)."""
    for name in ("community_id", "member_id", "post_id", "status"):
        if filters.get(name) is not None:
            query = query.where(getattr(Commitment, name) == filters[name])
    overdue = filters.get("overdue")
    if overdue is not None:
        late = (Commitment.status == "open") & (Commitment.deadline < today())
        query = query.where(late if overdue else ~late | Commitment.deadline.is_(None))
    return query


def get_commitment(session: Session, client: Client, commitment_id: str) -> Commitment:
    """A commitment of a member whose records the client may read, or a 404."""
    found = None
    if plausible_id(commitment_id):
        query = visible_commitments(client).where(Commitment.id == commitment_id)
        found = session.scalars(query).first()
    if found is None:
        raise NotFound(NOT_FOUND[Commitment])
    return found


def mark(session: Session, client: Client, commitment_id: str, status: str) -> dict[str, Any]:
    """The dispatcher marks an open commitment ``kept`` or ``missed``; otherwise a 409.

    A conditional update: of two concurrent marks exactly one wins.
    """
    commitment = get_commitment(session, client, commitment_id)
    require_manager(client, commitment.community_id)
    changed = session.execute(
        update(Commitment)
        .where(Commitment.id == commitment.id, Commitment.status == "open")
        .values(status=status, marked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        session.rollback()
        session.refresh(commitment)
        raise Conflict(
            f"Only an open commitment can be marked; this one is {commitment.status}.",
            errors={"status": ["the commitment must be open"]},
        )
    audit.record(
        session,
        client,
        "transition",
        "commitment",
        commitment.id,
        commitment.community_id,
        f"open → {status}",
    )
    session.commit()
    session.refresh(commitment)
    return present_commitment(commitment)


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
    _invalid(errors)


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
    _invalid(errors)


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
        _invalid({"leader_id": ["must be one of the group's members"]}, "the leader")
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
    _commit(session, "A member is in at most one group.", {"member_ids": ["changed concurrently"]})
    log.info("group %s created in community %s", group.id, community.id)
    return present_group(group, member_ids)


def update_group(
    session: Session, client: Client, group_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Change a group's name, members, leader or area (a leader must stay a member)."""
    group = find_managed(session, Group, group_id, client)
    current = _group_members(session, [group.id])[group.id]
    member_ids = _write_group(session, group, data, current)
    _commit(session, "A member is in at most one group.", {"member_ids": ["changed concurrently"]})
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
    """The groups problem (``docs/groups.md`` JSON) of a community's active members: home,
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


def solve_groups_and_verify(problem_json: dict[str, Any]) -> dict[str, Any]:
    """Group the members and check the answer with the independent verifier.

    Raises:
        VerificationError: The verifier found violations (logged by rule and subject: ids).
    """
    problem = groups_contract.load_problem(problem_json)
    answer = groups_contract.dump_answer(solve_groups(problem))
    violations = verify_groups(problem_json, answer)
    if violations:
        for violation in violations:
            log.error("groups answer breaks rule %s (%s)", violation.rule, violation.subject)
        raise VerificationError(f"{len(violations)} violations of the groups contract")
    return answer


def compute_groups(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
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
        session, community_id, read, lambda inputs: solve_groups_and_verify(inputs[1])
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
    _commit(session, "The groups were changed concurrently.", {"replace": ["try again"]})
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
        _invalid({"building_id": ["no such building in the community"]})
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


# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


def _sees_pair(client: Client, pair: HandInHandPair) -> bool:
    """A member sees only their own hand-in-hand pairs; other readers see the community's."""
    return client.role != "member" or pair.member_id == client.member_id


def hand_in_hand_of(client: Client, community_id: str) -> Select[HandInHandPair]:
    """The community's hand-in-hand pairs the client may read."""
    query = select(HandInHandPair).where(HandInHandPair.community_id == community_id)
    if client.role == "member":
        query = query.where(HandInHandPair.member_id == (client.member_id or ""))
    return query


def pair_filters(query: Select[P], model: type[P], filters: dict[str, Any]) -> Select[P]:
    """``?period=`` and ``?active=`` (true: no end date yet)."""
    if filters.get("period") is not None:
        query = query.where(model.period == filters["period"])
    if filters.get("active") is not None:
        end = model.end_date
        query = query.where(end.is_(None) if filters["active"] else end.is_not(None))
    return query


def present_pair(pair: HandInHandPair | UnitPair) -> dict[str, Any]:
    """A hand-in-hand or unit pair as its record schema dumps it."""
    record: dict[str, Any] = {
        "id": pair.id,
        "community_id": pair.community_id,
        "period": pair.period,
        "start_date": pair.start_date,
        "end_date": pair.end_date,
        "active": pair.end_date is None,
        "created_at": pair.created_at,
    }
    if isinstance(pair, HandInHandPair):
        record.update(
            member_id=pair.member_id, resident_ref=pair.resident_ref, category=pair.category
        )
    else:
        record["unit_id"] = pair.unit_id
    return record


def _check_pair_member(session: Session, community_id: str, member_id: str) -> None:
    member = session.get(Member, member_id)
    if member is None or member.community_id != community_id:
        _invalid({"member_id": ["no such member in the community"]})
    elif member.status == "left":
        _invalid({"member_id": ["this member has left"]})


def create_hand_in_hand(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Pair a member of the community with a vulnerable resident for a period.

    A resident with an active pair is a 409 (end or renew that pair instead).
    """
    community = managed_community(session, client, community_id)
    _check_pair_member(session, community.id, data["member_id"])
    active = session.scalar(
        select(HandInHandPair.id).where(
            HandInHandPair.community_id == community.id,
            HandInHandPair.resident_ref == data["resident_ref"],
            HandInHandPair.end_date.is_(None),
        )
    )
    message = "This resident has an active pair; end or renew it."
    errors = {"resident_ref": ["has an active pair"]}
    if active is not None:
        raise Conflict(message, errors=errors)
    pair = HandInHandPair(
        id=new_id("hp"),
        community_id=community.id,
        member_id=data["member_id"],
        resident_ref=data["resident_ref"],
        category=data["category"],
        period=data["period"],
        start_date=data["start_date"] or today(),
        created_at=utcnow(),
    )
    session.add(pair)
    _commit(session, message, errors)
    log.info("hand-in-hand pair %s created in community %s", pair.id, community.id)
    return present_pair(pair)


def create_unit_pair(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Pair a unit with the community for a period; an active pair of the two is a 409."""
    community = managed_community(session, client, community_id)
    if session.get(Unit, data["unit_id"]) is None:
        _invalid({"unit_id": ["no such unit"]})
    active = session.scalar(
        select(UnitPair.id).where(
            UnitPair.community_id == community.id,
            UnitPair.unit_id == data["unit_id"],
            UnitPair.end_date.is_(None),
        )
    )
    message = "This unit and community have an active pair; end or renew it."
    errors = {"unit_id": ["has an active pair with this community"]}
    if active is not None:
        raise Conflict(message, errors=errors)
    pair = UnitPair(
        id=new_id("up"),
        community_id=community.id,
        unit_id=data["unit_id"],
        period=data["period"],
        start_date=data["start_date"] or today(),
        created_at=utcnow(),
    )
    session.add(pair)
    _commit(session, message, errors)
    return present_pair(pair)


def _end(session: Session, model: type[P], pair_id: str, end: date) -> int:
    """Set the end date of an active pair (conditional update): the number of rows changed."""
    result = session.execute(
        update(model)
        .where(model.id == pair_id, model.end_date.is_(None), model.start_date <= end)
        .values(end_date=end)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def end_pair(
    session: Session,
    client: Client,
    model: type[P],
    pair_id: str,
    end_date: date | None,
) -> dict[str, Any]:
    """End an active pair (default: today). An ended pair is a 409; an end before the start a
    422."""
    pair = find_managed(session, model, pair_id, client)
    end = end_date or today()
    _check_end(pair, end)
    if _end(session, model, pair.id, end) != 1:
        session.rollback()
        raise Conflict("This pair has ended already.", errors={"end_date": ["already set"]})
    audit.record(
        session,
        client,
        "transition",
        model.__tablename__[:-1],
        pair.id,
        pair.community_id,
        "ended",
    )
    session.commit()
    session.refresh(pair)
    return present_pair(pair)


def _check_end(pair: HandInHandPair | UnitPair, end: date, field: str = "end_date") -> None:
    """409 for an ended pair; 422 (naming ``field``) for an end before the pair's start."""
    if pair.end_date is not None:
        raise Conflict("This pair has ended already.", errors={"end_date": ["already set"]})
    if end < pair.start_date:
        _invalid({field: ["must not be before the pair's start_date"]}, "dates")


def renew_pair(
    session: Session,
    client: Client,
    model: type[P],
    pair_id: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """Carry an active pair into the next period: in one transaction the current row ends the
    day the new one starts (default: today) and a new row starts with the new period."""
    pair = find_managed(session, model, pair_id, client)
    start = data["start_date"] or today()
    _check_end(pair, start, "start_date")
    if data["period"] == pair.period:
        _invalid({"period": ["must differ from the pair's current period"]}, "the period")
    if isinstance(pair, HandInHandPair):
        _check_pair_member(session, pair.community_id, pair.member_id)
    if _end(session, model, pair.id, start) != 1:
        session.rollback()
        raise Conflict("This pair has ended already.", errors={"end_date": ["already set"]})
    fresh = _next_period(pair, data["period"], start)
    session.add(fresh)
    _commit(session, "This pair was renewed concurrently.", {"period": ["try again"]})
    return present_pair(fresh)


def _next_period(
    pair: HandInHandPair | UnitPair, period: str, start: date
) -> HandInHandPair | UnitPair:
    if isinstance(pair, HandInHandPair):
        return HandInHandPair(
            id=new_id("hp"),
            community_id=pair.community_id,
            member_id=pair.member_id,
            resident_ref=pair.resident_ref,
            category=pair.category,
            period=period,
            start_date=start,
            created_at=utcnow(),
        )
    return UnitPair(
        id=new_id("up"),
        community_id=pair.community_id,
        unit_id=pair.unit_id,
        period=period,
        start_date=start,
        created_at=utcnow(),
    )


# --------------------------------------------------------------------------------------------
# Computing hand-in-hand pairs (the pairs model)
# --------------------------------------------------------------------------------------------


def hand_in_hand_problem(
    session: Session, community_id: str, data: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, HandInHandPair]]:
    """The hand-in-hand problem (``docs/pairs.md`` JSON) of a community: the residents of the
    request, the community's active members (home and skills) and, as existing pairs, the
    active pairs of those residents. Also those active pairs by resident ref."""
    members = session.scalars(
        select(Member)
        .where(Member.community_id == community_id, Member.status == ALLOCATED_MEMBER_STATUS)
        .order_by(Member.id)
    ).all()
    refs = [resident["resident_ref"] for resident in data["residents"]]
    active = {
        pair.resident_ref: pair
        for pair in session.scalars(
            select(HandInHandPair).where(
                HandInHandPair.community_id == community_id,
                HandInHandPair.resident_ref.in_(refs),
                HandInHandPair.end_date.is_(None),
            )
        )
    }
    problem = {
        "residents": [
            {
                "id": resident["resident_ref"],
                "community": community_id,
                "location": {"lat": resident["location"].lat, "lon": resident["location"].lon},
                "groups": [resident["category"]],
                "needs": list(resident["needs"]),
                "skills": list(resident["skills"]),
                "vulnerability": resident["vulnerability"],
            }
            for resident in data["residents"]
        ],
        "members": [
            {
                "id": member.id,
                "community": member.community_id,
                "location": {"lat": member.lat, "lon": member.lon},
                "skills": list(member.skills),
            }
            for member in members
        ],
        "existing_pairs": [
            {"resident": ref, "member": pair.member_id} for ref, pair in sorted(active.items())
        ],
        "options": {
            "max_residents_per_member": data["max_residents_per_member"],
            "max_distance_km": data["max_distance_km"],
        },
    }
    return problem, active


def solve_pairs_and_verify(problem_json: dict[str, Any]) -> dict[str, Any]:
    """Pair residents with members and check the answer with the independent verifier.

    Raises:
        VerificationError: The verifier found violations (logged by rule only: the subjects
            name residents).
    """
    answer = pairs_contract.dump_answer(solve_pairs(pairs_contract.load_problem(problem_json)))
    violations = verify_pairs(problem_json, answer)
    if violations:
        for violation in violations:
            log.error("pairs answer breaks rule %s", violation.rule)
        raise VerificationError(f"{len(violations)} violations of the pairs contract")
    return answer


def compute_hand_in_hand(
    session: Session, client: Client, community_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Pair the request's vulnerable residents with the community's active members for a
    period, with the pairs model, and store the pairs.

    The residents' locations, needs and vulnerability are used for the solve only; the pairs
    store the opaque ``resident_ref`` and the category. In one transaction: a pair the model
    keeps stays (a new row for the new period when the period changes, the old row ending on
    ``start_date``); a dropped or replaced pair ends on ``start_date``; a new pair is a new row.
    Active pairs of residents not in the request are left alone.
    """
    managed_community(session, client, community_id)
    start = data["start_date"] or today()

    def read() -> tuple[dict[str, Any], dict[str, HandInHandPair]]:
        problem, active = hand_in_hand_problem(session, community_id, data)
        if any(start < pair.start_date for pair in active.values()):
            _invalid({"start_date": ["must not be before an active pair's start_date"]}, "dates")
        return problem, active

    (_problem, active), answer = solved_without_lock(
        session,
        community_id,
        read,
        lambda inputs: solve_pairs_and_verify(inputs[0]),
        same=lambda a, b: a[0] == b[0] and set(a[1]) == set(b[1]),
    )
    category = {r["resident_ref"]: r["category"] for r in data["residents"]}
    result: list[HandInHandPair] = []
    fresh: list[HandInHandPair] = []
    for entry in answer["pairs"]:
        old = active.get(entry["resident"])
        if entry["kept"] and old is not None and old.period == data["period"]:
            result.append(old)
            continue
        if old is not None:
            old.end_date = start
        fresh.append(
            HandInHandPair(
                id=new_id("hp"),
                community_id=community_id,
                member_id=entry["member"],
                resident_ref=entry["resident"],
                category=category[entry["resident"]],
                period=data["period"],
                start_date=start,
                created_at=utcnow(),
            )
        )
    dropped = []
    for entry in answer["dropped"]:
        old = active[entry["resident"]]
        if old.end_date is None:
            old.end_date = start
        dropped.append(
            {
                "pair_id": old.id,
                "resident_ref": old.resident_ref,
                "member_id": old.member_id,
                "reason": entry["reason"],
                "detail": entry["detail"],
            }
        )
    session.flush()  # the ended rows first: one active pair per resident
    session.add_all(fresh)
    _commit(session, "The pairs were changed concurrently.", {"residents": ["try again"]})
    log.info(
        "community %s: %d hand-in-hand pairs kept, %d new, %d ended",
        community_id,
        len(result),
        len(fresh),
        len(dropped),
    )
    return {
        "status": answer["status"],
        "objective": answer["stats"]["objective"],
        "pairs": [present_pair(pair) for pair in result + fresh],
        "unpaired": [
            {"resident_ref": u["resident"], "reason": u["reason"], "detail": u["detail"]}
            for u in answer["unpaired"]
        ],
        "dropped": dropped,
    }
