"""The menu flow (点单 → 下单 → 接单 → 完成 → 评价): demands, dispatch and tasks, without Flask.

A resident orders a demand (open, on the demand list). The community dispatches its open demands
(:func:`dispatch_community`): the engine assigns them to active members, each assignment becomes
an offered task (the task list) and its demand is dispatched. A member accepts or declines an
offer (a decline puts the demand back on the demand list), or claims an open demand directly;
an accepted task is completed with the hours served (the service list) and then rated once.

Every change is one transaction whose writes are conditional updates (``UPDATE … WHERE id = ?
AND status = ?``): of two concurrent requests for the same change exactly one wins, the other
gets a 409, and nothing is ever half-written. The partial unique index
``uq_tasks_active_demand_id_member_id`` (one offered, accepted or completed task per member of a
demand) backs this up in the database. A demand served by a crew (``crew_size`` > 1) has one task
per member, all starting together: it is accepted once all accept, completed once all are done,
and one decline re-forms the whole crew (:func:`_transition`). Every read goes through
:func:`service.domain.scope.scoped`.

Logs name ids and counts only: never a resident reference, a location or a detail sentence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import CursorResult, Update, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.dispatch import problem as mp
from matcher.dispatch.answer import Answer, Assignment
from matcher.dispatch.arrays import ProblemArrays, build_arrays
from matcher.dispatch.candidates import Candidates, generate_candidates
from matcher.dispatch.plan import Plan
from matcher.dispatch.reasons import explain_unassigned
from matcher.dispatch.validation import validate_problem
from matcher.dispatch.verify import verify
from service.config.identity import Client
from service.contracts.dispatch import dump_problem, load_answer
from service.db.base import utcnow
from service.db.flow import Demand, Task
from service.db.longterm import Household
from service.db.registration import Building, Community, Grid, Member, new_id
from service.domain import audit
from service.domain.availability import LOCAL, MAX_HORIZON, expand_weekly
from service.domain.demand_history import record_step
from service.domain.demands import (  # noqa: F401  (the flow's states, re-exported)
    BUSY_TASK_STATUSES,
    CANCELLABLE,
    CHANGEOVER,
    NOTHING_TO_DISPATCH,
    REDISPATCH_TIME_LIMIT_S,
    UNSERVED,
    is_overdue_demand,
    present_contact,
    present_demand,
    present_task,
)
from service.domain.errors import Conflict, DomainError, Forbidden, Invalid, PlanRejected
from service.domain.outcomes import CANCELLED_DECLINE, CREW_REFORMED_DECLINE, NO_FAULT_DECLINES
from service.domain.personal_data import FieldCipher
from service.domain.reliability import member_reliability
from service.domain.scope import get_scoped, may_manage, require_manager, scoped
from service.domain.solving import Solver, in_process

log = logging.getLogger(__name__)


def _rowcount(session: Session, statement: Update) -> int:
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount)


def _commit_or_conflict(session: Session, message: str) -> None:
    """Commit; the unique index broken by a concurrent writer is a 409 (nothing written)."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(message, errors={"status": ["changed concurrently"]}) from None


# --------------------------------------------------------------------------------------------
# Resident orders (点单)
# --------------------------------------------------------------------------------------------


def _new_demand(
    community_id: str, data: dict[str, Any], cipher: FieldCipher, place: tuple[float, float]
) -> Demand:
    window: mp.Interval = data["window"]
    return Demand(
        id=new_id("d"),
        community_id=community_id,
        category=data["category"],
        skills=list(data["skills"]),
        lat=place[0],
        lon=place[1],
        window_start=window.start,
        window_end=window.end,
        duration_hours=data["duration_hours"],
        priority=data["priority"],
        crew_size=data["crew_size"],
        content=data.get("content"),
        source=data.get("source"),
        building_id=data.get("building_id"),
        household_id=data.get("household_id"),
        resident_ref=data["resident_ref"],
        contact_phone_enc=cipher.encrypt(data.get("contact_phone")),
        address_enc=cipher.encrypt(data.get("address")),
        status="open",
        created_at=utcnow(),
    )


def create_demand(
    session: Session,
    client: Client,
    community_id: str,
    data: dict[str, Any],
    cipher: FieldCipher,
) -> Demand:
    """An open demand in a community of the client's scope (404 otherwise; 403 for roles that
    may not enter demands); the resident's contact details are stored encrypted."""
    (demand,) = import_demands(session, client, community_id, [data], cipher, paths=[""])
    return demand


def _place_errors(
    session: Session, community_id: str, row: dict[str, Any]
) -> tuple[tuple[float, float] | None, dict[str, list[str]]]:
    """Where a demand is served: its own location, else its household's, else its building's;
    and the problems of its building and household references."""
    errors: dict[str, list[str]] = {}
    place = None if row.get("location") is None else (row["location"].lat, row["location"].lon)
    building_id, household_id = row.get("building_id"), row.get("household_id")
    household = None if household_id is None else session.get(Household, household_id)
    if household_id is not None and (household is None or household.community_id != community_id):
        errors["household_id"] = ["no such household in this community"]
        household = None
    building = None
    if building_id is not None:
        building = session.scalars(
            select(Building)
            .join(Grid, Grid.id == Building.grid_id)
            .where(Building.id == building_id, Grid.community_id == community_id)
        ).first()
        if building is None:
            errors["building_id"] = ["no such building in this community"]
        elif household is not None and household.building_id != building.id:
            errors["building_id"] = ["must be the household's building"]
    if place is None and household is not None:
        place = (household.lat, household.lon)
    if place is None and building is not None:
        if building.lat is None or building.lon is None:
            errors["location"] = ["required: the building has no location on file"]
        else:
            place = (building.lat, building.lon)
    if place is None and not errors:
        errors["location"] = ["required (or a building or household with a location)"]
    return place, errors


def import_demands(
    session: Session,
    client: Client,
    community_id: str,
    rows: Sequence[dict[str, Any]],
    cipher: FieldCipher,
    *,
    dry_run: bool = False,
    paths: Sequence[str] | None = None,
    commit: bool = True,
) -> list[Demand]:
    """Open demands from validated rows, all in one transaction (or none: ``dry_run``;
    ``commit=False`` leaves the transaction to the caller, who writes more with it).

    A row's location may come from its household or building (:func:`_place_errors`); a
    problem in any row is a 422 naming the row (``paths[i]``, default ``demands[i]``) and
    nothing is written.
    """
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    prefixes = list(paths) if paths is not None else [f"demands[{i}]" for i in range(len(rows))]
    demands: list[Demand] = []
    problems: dict[str, list[str]] = {}
    for prefix, row in zip(prefixes, rows, strict=True):
        place, errors = _place_errors(session, community.id, row)
        for field, messages in errors.items():
            problems[f"{prefix}.{field}" if prefix else field] = messages
        if place is not None:
            demands.append(_new_demand(community.id, row, cipher, place))
    if problems:
        raise Invalid("The request is not valid: unknown references.", errors=problems)
    if dry_run:
        return demands
    for demand in demands:
        session.add(demand)
        audit.record(session, client, "create", "demand", demand.id, community.id)
        record_step(session, client, demand.id, "ordered", at=demand.created_at)
    if not commit:
        return demands
    session.commit()
    if len(demands) == 1:
        log.info("demand %s ordered in community %s", demands[0].id, community.id)
    else:
        log.info("%d demands ordered in community %s", len(demands), community.id)
    return demands


# --------------------------------------------------------------------------------------------
# Community dispatches (下单 / 派单)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Busy:
    """A task that already holds a member's time."""

    member_id: str
    start: datetime
    end: datetime


def _subtract(
    intervals: Iterable[tuple[datetime, datetime]], busy: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """``intervals`` minus the ``busy`` ones (all half-open)."""
    free: list[tuple[datetime, datetime]] = []
    for start, end in intervals:
        pieces = [(start, end)]
        for b_start, b_end in busy:
            pieces = [
                piece
                for a, b in pieces
                for piece in ((a, min(b, b_start)), (max(a, b_end), b))
                if piece[0] < piece[1]
            ]
        free.extend(pieces)
    return free


def build_problem(
    demands: Sequence[Demand],
    members: Sequence[Member],
    busy: Sequence[Busy],
    *,
    now: datetime,
    time_limit_s: float,
    reliability: Mapping[str, float] | None = None,
) -> mp.Problem:
    """The dispatch problem of a community's open demands and active members.

    A member's availability is the weekly pattern expanded from ``now`` (or the earliest
    window, if later) to the latest window end, at most :data:`MAX_HORIZON` long, minus the
    tasks the member already holds (with the changeover around them). Their capacity is the
    weekly capacity times the weeks of that horizon, minus the hours of those tasks. Their
    ``reliability`` is the given one (:func:`service.domain.reliability.member_reliability`;
    1.0 for a member not in it).
    """
    start = max(now, min(d.window_start for d in demands))
    end = min(max(d.window_end for d in demands), start + MAX_HORIZON)
    weeks = max(1, math.ceil((end - start) / timedelta(days=7))) if end > start else 1
    problem_members = []
    for member in members:
        held = [b for b in busy if b.member_id == member.id and b.start < end and start < b.end]
        blocked = [(b.start - CHANGEOVER, b.end + CHANGEOVER) for b in held]
        free = _subtract(expand_weekly(member.weekly_availability, start, end), blocked)
        held_hours = sum((b.end - b.start) / timedelta(hours=1) for b in held)
        problem_members.append(
            mp.Member(
                id=member.id,
                location=mp.Location(member.lat, member.lon),
                skills=tuple(member.skills),
                availability=tuple(mp.Interval(a, b) for a, b in free),
                capacity_hours=max(0.0, member.capacity_hours_per_week * weeks - held_hours),
                preferences=tuple(member.preferences),
                reliability=(reliability or {}).get(member.id, 1.0),
            )
        )
    problem_demands = tuple(
        mp.Demand(
            id=d.id,
            category=d.category,
            skills=tuple(d.skills),
            location=mp.Location(d.lat, d.lon),
            window=mp.Interval(d.window_start.astimezone(LOCAL), d.window_end.astimezone(LOCAL)),
            duration_hours=d.duration_hours,
            priority=d.priority,
            crew_size=d.crew_size,
            resident=d.resident_ref,
            community=d.community_id,
        )
        for d in demands
    )
    options = mp.Options(time_limit_s=time_limit_s, seed=0, workers=1)
    return mp.Problem(members=tuple(problem_members), demands=problem_demands, options=options)


def _members_and_busy(
    session: Session, client: Client, community_id: str
) -> tuple[list[Member], list[Busy]]:
    """A community's active members and the tasks that already hold their time."""
    members = list(
        session.scalars(
            scoped(
                select(Member)
                .where(Member.community_id == community_id, Member.status == "active")
                .order_by(Member.id),
                client,
            )
        )
    )
    return members, _busy(session, client, [m.id for m in members])


def _busy(session: Session, client: Client, member_ids: Sequence[str]) -> list[Busy]:
    """The offered and accepted tasks that hold these members' time."""
    held = session.execute(
        scoped(
            select(Task.member_id, Task.start, Demand.duration_hours)
            .join(Demand, Demand.id == Task.demand_id)
            .where(Task.member_id.in_(list(member_ids)), Task.status.in_(BUSY_TASK_STATUSES)),
            client,
        )
    )
    return [Busy(m, s, s + timedelta(hours=h)) for m, s, h in held]


def solve_verified(
    problem: mp.Problem,
    *,
    time_limit_s: float,
    subject: str,
    refusal: str,
    solver: Solver = in_process,
) -> Answer:
    """Solve a dispatch problem built from the records and check it with the verifier.

    The caller holds no transaction; ``solver`` runs the engine (the service's job runner). A
    plan that breaks a rule is our bug: it is logged (the rules only, never the records) and
    refused with ``refusal`` (:class:`PlanRejected`).
    """
    validate_problem(problem)
    answer = load_answer(solver("dispatch", dump_problem(problem), time_limit_s=time_limit_s))
    violations = verify(problem, answer)
    if violations:
        rules = ", ".join(sorted({v.rule for v in violations}))
        log.error("%s: the answer breaks rules %s; nothing written", subject, rules)
        raise PlanRejected(refusal)
    return answer


def offer(
    session: Session, client: Client, assignment: Assignment, community_id: str, detail: str
) -> list[Task] | None:
    """Offer one assignment if its demand is still open (conditional update): one offered task
    per member of its crew (one for a demand of one), all starting together.

    Returns the new offered tasks (added to the session and audited), or ``None`` when the
    demand changed meanwhile (claimed, cancelled or dispatched by someone else).
    """
    moved = _rowcount(
        session,
        update(Demand)
        .where(Demand.id == assignment.demand, Demand.status == "open")
        .values(status="dispatched")
        .execution_options(synchronize_session=False),
    )
    if moved != 1:
        return None
    tasks = []
    for member_id in assignment.members:
        task = Task(
            id=new_id("t"),
            demand_id=assignment.demand,
            member_id=member_id,
            start=assignment.start,
            status="offered",
            created_at=utcnow(),
        )
        session.add(task)
        audit.record(session, client, "create", "task", task.id, community_id, detail)
        record_step(session, client, task.demand_id, "dispatched", member_id=task.member_id)
        tasks.append(task)
    return tasks


def dispatch_community(
    session: Session,
    client: Client,
    community_id: str,
    *,
    time_limit_s: float,
    now: datetime | None = None,
    solver: Solver = in_process,
) -> dict[str, Any]:
    """Dispatch a community's open demands to its active members, in one transaction.

    Returns:
        ``{"status", "tasks", "left_out", "member_loads"}``: the engine's status (or
        ``nothing_to_dispatch``), the offered tasks created, the demands left out with the
        engine's reason and detail, and the plan's load of each member given a task (the
        engine's ``Answer.load``: tasks and hours).
    """
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    demands = list(
        session.scalars(
            scoped(
                select(Demand)
                .where(Demand.community_id == community.id, Demand.status == "open")
                .order_by(Demand.created_at, Demand.id),
                client,
            )
        )
    )
    if not demands:
        return {"status": NOTHING_TO_DISPATCH, "tasks": [], "left_out": [], "member_loads": []}
    members, busy = _members_and_busy(session, client, community.id)
    problem = build_problem(
        demands,
        members,
        busy,
        now=now or utcnow(),
        time_limit_s=time_limit_s,
        reliability=member_reliability(session, community.id, now=now),
    )
    community_key = community.id
    durations = {d.id: d.duration_hours for d in demands}
    session.rollback()  # hold no transaction (or lock) while the engine searches
    answer = solve_verified(
        problem,
        time_limit_s=time_limit_s,
        subject=f"dispatch of community {community_key}",
        refusal="The engine's plan failed verification; nothing was dispatched.",
        solver=solver,
    )
    tasks: list[Task] = []
    left_out = [
        {"demand_id": u.demand, "reason": u.reason, "detail": u.detail, "params": dict(u.params)}
        for u in answer.unassigned
    ]
    for assignment in answer.assignments:
        crew = offer(session, client, assignment, community_key, "offered")
        if crew is None:
            left_out.append(
                {
                    "demand_id": assignment.demand,
                    "reason": "conflict",
                    "detail": "The demand changed while dispatching (claimed or cancelled).",
                    "params": {},
                }
            )
            continue
        tasks.extend(crew)
    _commit_or_conflict(session, "Demands changed while dispatching; nothing was dispatched.")
    log.info(
        "community %s dispatched: %d tasks offered, %d demands left out (%s)",
        community_key,
        len(tasks),
        len(left_out),
        answer.status,
    )
    return {
        "status": answer.status,
        "tasks": [present_task(t, durations[t.demand_id]) for t in tasks],
        "left_out": left_out,
        "member_loads": [
            {"member_id": load.member, "tasks": load.tasks, "hours": round(load.hours, 6)}
            for load in answer.load
            if load.tasks
        ],
    }


# --------------------------------------------------------------------------------------------
# Who should take this one? (one open demand's candidates)
# --------------------------------------------------------------------------------------------


def earliest_starts(problem: mp.Problem) -> tuple[ProblemArrays, Candidates, dict[int, int]]:
    """Who can take a one-demand problem's demand, by the engine's own candidate rules.

    Skills, range and a start on the grid inside the window and the member's free time come
    from :func:`matcher.dispatch.candidates.generate_candidates`; members without the hours left
    for the demand are dropped. Returns the arrays, the candidates and each eligible member's
    index with its earliest feasible start (seconds from ``arr.origin``). "Who should take this
    one?" and a member's claim both ask this one question.
    """
    validate_problem(problem)
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    earliest: dict[int, int] = {}
    for r in np.flatnonzero(cands.use_s <= arr.m_capacity_s[cands.member]):
        m, first = int(cands.member[r]), int(cands.first_start[r])
        if m not in earliest or first < earliest[m]:
            earliest[m] = first
    return arr, cands, earliest


def top_candidates(
    session: Session,
    demand: str,
    client: Client,
    limit: int = 5,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The ``limit`` members the engine would consider first for one open demand (no solve).

    The problem is the one :func:`dispatch_community` builds, with this demand alone: the
    community's active members, their free time and hours left after the tasks they hold. The
    engine's candidate generation (skills, range, a start on the grid inside window and free
    time) gives the rows; members without the hours left for the demand are dropped. Members are
    ranked by the engine's cost for the pair, each with their earliest feasible start.

    Args:
        demand: The demand's id (404 outside the client's scope; 409 unless it is open).

    Returns:
        ``{"demand_id", "candidates", "reason", "detail"}``; ``reason`` and ``detail`` are the
        engine's (:func:`matcher.dispatch.reasons.explain_unassigned`) when nobody can take it,
        else null.
    """
    row = get_scoped(session, Demand, demand, client)
    require_manager(client, row.community_id)
    if row.status != "open":
        raise Conflict(
            f"Only an open demand has candidates; this one is {row.status}.",
            errors={"status": ["must be open"]},
        )
    members, busy = _members_and_busy(session, client, row.community_id)
    problem = build_problem([row], members, busy, now=now or utcnow(), time_limit_s=1.0)
    demand_id, category = row.id, row.category
    session.rollback()  # hold no transaction while the engine works
    arr, cands, earliest = earliest_starts(problem)
    cost = {int(m): float(c) for m, c in zip(cands.member, cands.cost, strict=True)}
    km = {int(m): float(k) for m, k in zip(cands.member, cands.distance_km, strict=True)}
    ranked = sorted(earliest, key=lambda m: (cost[m], earliest[m], problem.members[m].id))
    result: dict[str, Any] = {
        "demand_id": demand_id,
        "candidates": [
            {
                "member_id": problem.members[m].id,
                "distance_km": round(km[m], 2),
                "earliest_start": (arr.origin + timedelta(seconds=earliest[m])).astimezone(LOCAL),
                "cost": round(cost[m], 6),
                "prefers_category": category in problem.members[m].preferences,
            }
            for m in ranked[:limit]
        ],
        "reason": None,
        "detail": None,
        "params": {},
    }
    if not ranked:
        (left,) = explain_unassigned(arr, cands, Plan(arr))
        result["reason"], result["detail"] = left.reason, left.detail
        result["params"] = dict(left.params)
    log.info("demand %s: %d candidates, %d shown", demand_id, len(ranked), len(ranked[:limit]))
    return result


# --------------------------------------------------------------------------------------------
# Members accept, decline, complete; residents rate (接单 → 完成 → 评价)
# --------------------------------------------------------------------------------------------


def _duration(session: Session, task: Task) -> float:
    query = select(Demand.duration_hours).where(Demand.id == task.demand_id)
    return float(session.scalars(query).one())


def _present(session: Session, task: Task) -> dict[str, Any]:
    demand = session.get(Demand, task.demand_id)
    assert demand is not None
    return present_task(task, demand.duration_hours, demand.window_end)


def get_task(session: Session, client: Client, task_id: str) -> dict[str, Any]:
    task = get_scoped(session, Task, task_id, client)
    return _present(session, task)


def _community_of(session: Session, task: Task) -> str:
    return str(
        session.scalars(select(Demand.community_id).where(Demand.id == task.demand_id)).one()
    )


def _require_member_or_manager(session: Session, client: Client, task: Task) -> None:
    """403 unless the client is the task's member or may manage its community."""
    if client.role == "member" and client.member_id == task.member_id:
        return
    require_manager(client, _community_of(session, task))


def _transition(
    session: Session,
    client: Client,
    task_id: str,
    *,
    source: str,
    target: str,
    demand_change: tuple[str, str] | None,
    values: dict[str, Any] | None = None,
    unrated: bool = False,
    managers_only: bool = False,
    step: tuple[str, str | None] | None = None,
    check: Callable[[Task, Demand], None] | None = None,
    crew: str = "last",
) -> Task:
    """Move a task from ``source`` to ``target`` (and its demand), or 409 with nothing written.

    A demand served by a crew has one task per member. ``crew`` says when the demand follows:
    ``last`` (accept, complete) moves it only with the last of its tasks still in ``source``
    (the others' rows stay as they are); ``reform`` (a decline) moves it at once and declines the
    crew's other offered and accepted tasks with :data:`CREW_REFORMED_DECLINE`, so that the
    demand is dispatched again as a whole crew.

    The task's member or a manager of its community may move it (``managers_only``: only a
    manager; 403 otherwise). The demand's row is updated (and locked) before the task's, in the
    order every writer of the flow uses, so that concurrent changes wait for each other instead
    of deadlocking. The change, its audit entry and its step of the demand's history (``step``:
    action and note) are one transaction. ``check`` refuses a change the task's times do not
    allow (raising a domain error), after the permission check and before anything is written.
    """
    task = get_scoped(session, Task, task_id, client)
    if managers_only:
        require_manager(client, _community_of(session, task))
    else:
        _require_member_or_manager(session, client, task)
    community_id = _community_of(session, task)
    if check is not None and task.status == source:
        demand_row = session.get(Demand, task.demand_id)
        assert demand_row is not None
        check(task, demand_row)
    done = True
    if demand_change is not None:
        before, after = demand_change
        others = session.scalar(
            select(func.count(Task.id)).where(
                Task.demand_id == task.demand_id, Task.id != task.id, Task.status == source
            )
        )
        if crew == "last" and others:
            after = before  # the crew's other members have yet to follow: only lock the row
        demand_values: dict[str, Any] = {"status": after}
        if after in ("completed", "cancelled"):
            demand_values["closed_at"] = utcnow()
        done = (
            _rowcount(
                session,
                update(Demand)
                .where(Demand.id == task.demand_id, Demand.status == before)
                .values(**demand_values)
                .execution_options(synchronize_session=False),
            )
            == 1
        )
        if done and crew == "reform":
            session.execute(
                update(Task)
                .where(
                    Task.demand_id == task.demand_id,
                    Task.id != task.id,
                    Task.status.in_(BUSY_TASK_STATUSES),
                )
                .values(status="declined", decline_reason=CREW_REFORMED_DECLINE)
                .execution_options(synchronize_session=False)
            )
    condition = [Task.id == task.id, Task.status == source]
    if unrated:
        condition.append(Task.rating.is_(None))
    if done:
        done = (
            _rowcount(
                session,
                update(Task)
                .where(*condition)
                .values(status=target, **(values or {}))
                .execution_options(synchronize_session=False),
            )
            == 1
        )
    if not done:
        session.rollback()
        session.refresh(task)
        if task.status != source:
            raise Conflict(
                f"A task that is {task.status} cannot become {target}.",
                errors={"status": [f"must be {source}"]},
            )
        if unrated:
            raise Conflict("This task is rated already.", errors={"rating": ["rated once only"]})
        raise Conflict("The task's demand changed meanwhile.", errors={"status": ["changed"]})
    change = f"{source} → {target}" if source != target else "rated"
    audit.record(session, client, "transition", "task", task.id, community_id, change)
    if step is not None:
        record_step(
            session, client, task.demand_id, step[0], member_id=task.member_id, note=step[1]
        )
    session.commit()
    session.refresh(task)
    log.info("task %s: %s", task.id, change)
    return task


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def accept(
    session: Session, client: Client, task_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """offered → accepted; the demand dispatched → accepted. Not once the demand's window has
    ended (409: the offer lapsed; the community dispatches it again or cancels it)."""
    moment = now or utcnow()

    def still_open(task: Task, demand: Demand) -> None:
        if demand.window_end <= moment:
            raise Conflict(
                f"The demand's window ended at {_local(demand.window_end)}; the offer lapsed.",
                errors={"window": ["has ended"]},
                reason="window_ended",
                params={"end": _local(demand.window_end)},
            )

    task = _transition(
        session,
        client,
        task_id,
        source="offered",
        target="accepted",
        demand_change=("dispatched", "accepted"),
        step=("accepted", None),
        check=still_open,
    )
    return _present(session, task)


def hours_allowed(task: Task, demand: Demand, now: datetime) -> float:
    """The most hours a task can report by ``now``: the time since it started, and no more
    than the whole window the resident asked to be served in (0 before it starts)."""
    elapsed = (now - task.start).total_seconds() / 3600
    window = (demand.window_end - demand.window_start).total_seconds() / 3600
    return max(0.0, min(elapsed, window))


def decline(
    session: Session,
    client: Client,
    task_id: str,
    reason: str,
    *,
    redispatch: bool = True,
    now: datetime | None = None,
    solver: Solver = in_process,
) -> dict[str, Any]:
    """offered → declined; the demand goes back to the demand list (open) and, unless
    ``redispatch`` is false, is dispatched again at once (:func:`redispatch_demand`)."""
    task = _transition(
        session,
        client,
        task_id,
        source="offered",
        target="declined",
        demand_change=("dispatched", "open"),
        values={"decline_reason": reason},
        step=("declined", reason),
        crew="reform",
    )
    result = _present(session, task)
    if redispatch:
        try:
            result["redispatch"] = redispatch_demand(
                session, client, task.demand_id, now=now, solver=solver
            )
        except DomainError:  # the decline stands; the demand waits on the demand list
            session.rollback()
            result["redispatch"] = {
                "task": None,
                "crew": [],
                "reason": "error",
                "detail": "The re-dispatch failed; the demand is open on the demand list.",
            }
    return result


def complete(
    session: Session, client: Client, task_id: str, hours: float, *, now: datetime | None = None
) -> dict[str, Any]:
    """accepted → completed with the hours served; the demand accepted → completed.

    Not before the task starts (409), and with at most the hours since it started, and no more
    than its demand's window is long (:func:`hours_allowed`): 422 on ``hours`` otherwise.
    """
    moment = now or utcnow()

    def started(task: Task, demand: Demand) -> None:
        if moment < task.start:
            raise Conflict(
                f"The task starts at {_local(task.start)}; it can be completed only after that.",
                errors={"start": ["has not come yet"]},
                reason="not_started",
                params={"start": _local(task.start)},
            )
        allowed = hours_allowed(task, demand, moment)
        if hours > allowed + 1e-9:
            raise Invalid(
                "More hours than the task can have taken.",
                errors={"hours": [f"at most {allowed:.2f} (since it started, within its window)"]},
                reason="too_many_hours",
                params={"hours": round(allowed, 2)},
            )

    task = _transition(
        session,
        client,
        task_id,
        source="accepted",
        target="completed",
        demand_change=("accepted", "completed"),
        values={"hours": hours, "completed_at": moment},
        step=("completed", f"{hours:g} h"),
        check=started,
    )
    return _present(session, task)


def rate(session: Session, client: Client, task_id: str, rating: int) -> dict[str, Any]:
    """A completed task's rating (1..5), once; entered by the community (or its system), not
    by the member who served."""
    task = _transition(
        session,
        client,
        task_id,
        source="completed",
        target="completed",
        demand_change=None,
        values={"rating": rating},
        unrated=True,
        managers_only=True,
        step=("rated", str(rating)),
    )
    return _present(session, task)


# --------------------------------------------------------------------------------------------
# A decline re-dispatches its demand, everyone else's tasks pinned
# --------------------------------------------------------------------------------------------


def _acting_for(client: Client, community_id: str) -> Client:
    """The community's view the engine needs when a member's decline re-dispatches: all of
    the community's members, with the same actor id for the audit trail."""
    return Client(id=client.id, name=client.name, communities=(community_id,), role="client")


def redispatch_demand(
    session: Session,
    client: Client,
    demand_id: str,
    *,
    now: datetime | None = None,
    solver: Solver = in_process,
) -> dict[str, Any]:
    """Dispatch one open demand again, without moving anybody else's plan.

    Every task that holds a member's time (offered or accepted) stays as it is: it is taken
    out of its member's free time and hours (:func:`build_problem`), so the engine can only
    use what is left. Members who declined this demand before are not asked again. The new
    offer, if any, is written with the same conditional update as a dispatch.

    Returns:
        ``{"task", "reason", "detail"}``: the new offered task, or null with the engine's
        reason why nobody can take it (``conflict`` if the demand changed meanwhile).
    """
    demand = session.get(Demand, demand_id)
    if demand is None or demand.status != "open":
        return {
            "task": None,
            "crew": [],
            "reason": "conflict",
            "detail": "The demand is no longer open.",
        }
    community_id = demand.community_id
    declined = set(
        session.scalars(
            select(Task.member_id).where(
                Task.demand_id == demand_id,
                Task.status == "declined",
                or_(Task.decline_reason.is_(None), Task.decline_reason.not_in(NO_FAULT_DECLINES)),
            )
        )
    )
    members, busy = _members_and_busy(session, _acting_for(client, community_id), community_id)
    members = [m for m in members if m.id not in declined]
    if not members:
        session.rollback()
        detail = "No active member of the community is left who has not declined it."
        return {"task": None, "crew": [], "reason": "no_candidate", "detail": detail}
    problem = build_problem(
        [demand],
        members,
        busy,
        now=now or utcnow(),
        time_limit_s=REDISPATCH_TIME_LIMIT_S,
        reliability=member_reliability(session, community_id, now=now),
    )
    duration, window_end = demand.duration_hours, demand.window_end
    session.rollback()  # hold no transaction (or lock) while the engine searches
    answer = solve_verified(
        problem,
        time_limit_s=REDISPATCH_TIME_LIMIT_S,
        subject=f"re-dispatch of demand {demand_id}",
        refusal="The engine's plan failed verification; the demand stays open.",
        solver=solver,
    )
    if not answer.assignments:
        (left,) = answer.unassigned
        return {
            "task": None,
            "crew": [],
            "reason": left.reason,
            "detail": left.detail,
            "params": dict(left.params),
        }
    (assignment,) = answer.assignments
    crew = offer(session, client, assignment, community_id, "re-dispatched")
    if crew is None:
        session.rollback()
        return {
            "task": None,
            "crew": [],
            "reason": "conflict",
            "detail": "The demand changed meanwhile.",
        }
    _commit_or_conflict(session, "The demand was dispatched concurrently.")
    log.info("demand %s re-dispatched as %d task(s)", demand_id, len(crew))
    first, *rest = crew
    return {
        "task": present_task(first, duration, window_end),
        "crew": [present_task(t, duration, window_end) for t in rest],
        "reason": None,
        "detail": None,
    }


# --------------------------------------------------------------------------------------------
# Cancelling, claiming
# --------------------------------------------------------------------------------------------


def cancel(session: Session, client: Client, demand_id: str) -> Demand:
    """An open or dispatched demand is cancelled (its offered task, if any, is declined);
    an accepted, completed or cancelled one is a 409."""
    demand = get_scoped(session, Demand, demand_id, client)
    require_manager(client, demand.community_id)
    source = demand.status
    changed = _rowcount(
        session,
        update(Demand)
        .where(Demand.id == demand.id, Demand.status == source, Demand.status.in_(CANCELLABLE))
        .values(status="cancelled", closed_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    if changed != 1:
        session.rollback()
        session.refresh(demand)
        raise Conflict(
            f"Only an open or dispatched demand can be cancelled; this one is {demand.status}.",
            errors={"status": ["must be open or dispatched"]},
        )
    session.execute(  # a crew's members who accepted already are released too
        update(Task)
        .where(Task.demand_id == demand.id, Task.status.in_(BUSY_TASK_STATUSES))
        .values(status="declined", decline_reason=CANCELLED_DECLINE)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session, client, "transition", "demand", demand.id, demand.community_id, "→ cancelled"
    )
    record_step(session, client, demand.id, "cancelled")
    session.commit()
    session.refresh(demand)
    log.info("demand %s cancelled", demand.id)
    return demand


def _claim_start(
    session: Session, client: Client, demand: Demand, member: Member, now: datetime
) -> datetime | None:
    """The member's earliest feasible start for the demand (free time, hours left, travel
    from nowhere else: the engine's candidate rules), or ``None`` if they have none."""
    busy = _busy(session, _acting_for(client, demand.community_id), [member.id])
    problem = build_problem([demand], [member], busy, now=now, time_limit_s=1.0)
    arr, _cands, earliest = earliest_starts(problem)
    if not earliest:
        return None
    return arr.origin + timedelta(seconds=min(earliest.values()))


def claim(
    session: Session,
    client: Client,
    demand_id: str,
    member_id: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A member claims (抢单) an open demand: an accepted task, or 409 if it is not open.

    A member claims for themself; a manager of the community may claim on a member's behalf
    (403 otherwise). The member must be active, live in the demand's community, hold its
    skills and have free time and hours left for it inside its window, next to the tasks they
    already hold (422 otherwise; a member outside the client's scope is a 404). The task starts
    at the member's earliest feasible start.
    """
    demand = get_scoped(session, Demand, demand_id, client)
    member = get_scoped(session, Member, member_id, client)
    if not (client.role == "member" and client.member_id == member.id):
        require_manager(client, demand.community_id)
    if demand.crew_size > 1:
        raise Invalid(
            f"This demand needs a crew of {demand.crew_size} serving together: the community "
            "dispatches it.",
            errors={"demand_id": [f"needs a crew of {demand.crew_size}; it cannot be claimed"]},
            reason="crew_not_claimable",
            params={"crew": demand.crew_size},
        )
    problems: list[str] = []
    if member.community_id != demand.community_id:
        problems.append("must be a member of the demand's community")
    if member.status != "active":
        problems.append(f"must be an active member (is {member.status})")
    missing = sorted(set(demand.skills) - set(member.skills))
    if missing:
        problems.append(f"lacks the skills: {', '.join(missing)}")
    if problems:
        raise Invalid("This member cannot serve this demand.", errors={"member_id": problems})
    start = _claim_start(session, client, demand, member, now or utcnow())
    if start is None:
        session.rollback()  # a fresh read: was it claimed meanwhile?
        session.refresh(demand)
        if demand.status != "open":  # claimed meanwhile: that is the conflict to report
            raise Conflict(
                f"Only an open demand can be claimed; this one is {demand.status}.",
                errors={"status": ["must be open"]},
            )
        raise Invalid(
            "This member has no free time (or hours left) for this demand inside its window.",
            errors={"member_id": ["no free time for it next to the tasks they hold"]},
        )
    taken = _rowcount(
        session,
        update(Demand)
        .where(Demand.id == demand.id, Demand.status == "open")
        .values(status="accepted")
        .execution_options(synchronize_session=False),
    )
    if taken != 1:
        session.rollback()
        session.refresh(demand)
        raise Conflict(
            f"Only an open demand can be claimed; this one is {demand.status}.",
            errors={"status": ["must be open"]},
        )
    task = Task(
        id=new_id("t"),
        demand_id=demand.id,
        member_id=member.id,
        start=start,
        status="accepted",
        created_at=utcnow(),
    )
    session.add(task)
    audit.record(session, client, "create", "task", task.id, demand.community_id, "claimed")
    record_step(session, client, demand.id, "claimed", member_id=member.id)
    _commit_or_conflict(session, "The demand was claimed concurrently.")
    log.info("demand %s claimed as task %s", demand.id, task.id)
    return present_task(task, demand.duration_hours, demand.window_end)


# --------------------------------------------------------------------------------------------
# Residents' contact details: shown to who needs them, purged after the retention period
# --------------------------------------------------------------------------------------------


def reveal_contact(
    session: Session, client: Client, demand_id: str, cipher: FieldCipher
) -> dict[str, Any]:
    """A demand's contact details in clear, for a manager of its community or the member who
    holds its offered or accepted task (403 for anyone else); audited."""
    demand = get_scoped(session, Demand, demand_id, client)
    serving = (
        client.role == "member"
        and session.scalars(
            select(Task.id).where(
                Task.demand_id == demand.id,
                Task.member_id == (client.member_id or ""),
                Task.status.in_(BUSY_TASK_STATUSES),
            )
        ).first()
    )
    if not serving and not may_manage(client, demand.community_id):
        raise Forbidden("Only the community or the member serving this demand sees its contact.")
    contact = present_contact(demand, cipher, reveal=True)
    audit.record(session, client, "view_contact", "demand", demand.id, demand.community_id)
    session.commit()
    return contact


def purge_contacts(session: Session, *, retention_days: float, now: datetime | None = None) -> int:
    """Erase the contact details of demands closed more than ``retention_days`` ago.

    Returns:
        How many demands were purged (each gets an audit entry, in the same transaction).
    """
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    due = list(
        session.execute(
            select(Demand.id, Demand.community_id).where(
                Demand.closed_at.is_not(None),
                Demand.closed_at <= cutoff,
                Demand.contact_purged_at.is_(None),
            )
        )
    )
    for demand_id, community_id in due:
        session.execute(
            update(Demand)
            .where(Demand.id == demand_id)
            .values(contact_phone_enc=None, address_enc=None, contact_purged_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        audit.record(session, None, "purge_contact", "demand", demand_id, community_id)
    session.commit()
    if due:
        log.info("retention: contact details of %d closed demands purged", len(due))
    return len(due)
