"""Posts and commitments (分类设岗亮承诺): the post menu, members' ranked choices, the allocation
by the posts model (verified) and each placed member's commitment, marked kept or missed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from matcher.longterm.posts.verify import verify as verify_posts
from service.config.identity import Client
from service.db.base import utcnow
from service.db.longterm import (
    Commitment,
    Post,
    PostAllocation,
    PostChoice,
)
from service.db.registration import Grid, Member, new_id
from service.domain import audit
from service.domain.errors import Conflict, Forbidden, NotFound
from service.domain.longterm.common import (
    ALLOCATED_MEMBER_STATUS,
    NOT_FOUND,
    commit_checked,
    find_managed,
    managed_community,
    refuse_invalid,
    solve_checked,
    solved_without_lock,
    today,
)
from service.domain.scope import (
    get_scoped,
    may_manage,
    plausible_id,
    readable_community,
    require_manager,
    visible_member_ids,
)
from service.domain.solving import Solver, in_process

log = logging.getLogger(__name__)

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
            refuse_invalid({"grid_id": ["no such grid in the post's community"]})


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
    refuse_invalid(
        {
            f"posts[{i}]": ["no such post in the member's community"]
            for i, post_id in enumerate(post_ids)
            if post_id not in known
        }
    )
    session.execute(delete(PostChoice).where(PostChoice.member_id == member.id))
    for rank, post_id in enumerate(post_ids, start=1):
        session.add(PostChoice(member_id=member.id, rank=rank, post_id=post_id))
    commit_checked(session, "The choices were changed concurrently.", {"posts": ["try again"]})
    return {"member_id": member.id, "posts": list(post_ids)}


# --------------------------------------------------------------------------------------------
# Allocation (the posts model) and commitments
# --------------------------------------------------------------------------------------------


def posts_problem(
    session: Session, community_id: str, *, mode: str = "optimal", fill_unranked: bool = False
) -> dict[str, Any]:
    """The posts problem (``docs/contracts/posts.md`` JSON) of a community: its menu and its active
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


def solve_and_verify(problem_json: dict[str, Any], solver: Solver = in_process) -> dict[str, Any]:
    """Solve a posts problem and check the answer with the independent verifier.

    Raises:
        VerificationError: The verifier found violations (logged by rule and subject: ids).
    """
    return solve_checked("posts", problem_json, verify=verify_posts, solver=solver)


def allocate(
    session: Session,
    client: Client,
    community_id: str,
    *,
    mode: str = "optimal",
    fill_unranked: bool = False,
    solver: Solver = in_process,
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
        lambda problem: solve_and_verify(problem, solver=solver),
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
