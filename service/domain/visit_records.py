"""A community's stored quarter of team visits (组团走访) and the attendance recorded after each
outing, without Flask.

:func:`create_schedule` checks a visit problem against the workspace (every member id is an
active member of the community), solves it in-process with the engine (time limit capped),
checks the answer with the independent verifier :mod:`matcher.visits.verify` and stores it in
one transaction: the schedule, one :class:`VisitSessionRecord` per outing and the households
left out with the engine's reasons. :func:`record_attendance` records who came and which
households were visited, once the outing is over; recording again replaces the record (a
correction), in one transaction.

Scope: schedules and sessions are community-wide records, readable by clients that read the
community (:func:`service.domain.scope.community_ids`) and changed only by its managers
(:func:`service.domain.scope.require_manager`); anything else is a 404.

Logs name ids and counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.visits.answer import Schedule, ScheduleStats, VisitSession
from matcher.visits.problem import Quarter, VisitProblem
from matcher.visits.validation import validate_visit_problem
from matcher.visits.verify import verify_schedule
from service.config.identity import Client
from service.contracts.calendar import calendar_bytes
from service.contracts.visits import dump_visit_problem, load_schedule
from service.db.base import utcnow
from service.db.registration import Member, new_id
from service.db.visits import VisitAttendance, VisitSchedule, VisitSessionRecord
from service.domain import audit
from service.domain.availability import LOCAL, TIMEZONE_NAME
from service.domain.errors import Conflict, Invalid, NotFound, PlanRejected
from service.domain.members import member_names
from service.domain.scope import (
    community_ids,
    plausible_id,
    readable_community,
    require_manager,
)
from service.domain.solving import Solver, in_process

log = logging.getLogger(__name__)

FIRST_YEAR, LAST_YEAR = 2000, 2200
"""Stored quarters lie in these years (no overflow converting their times)."""

MAX_VISIT_TIME_LIMIT_S = 10.0
"""The engine's time limit for a quarter solved while the request waits (the problem's own
``options.time_limit_s`` if lower)."""

MAX_STORED_HOUSEHOLDS = 500
"""The most households a stored quarter may have (it is solved while the request waits)."""


# --------------------------------------------------------------------------------------------
# Scope
# --------------------------------------------------------------------------------------------


def _in_scope(query: Select[Any], column: Any, client: Client) -> Select[Any]:
    allowed = community_ids(client)
    return query if allowed is None else query.where(column.in_(allowed))


def get_schedule_row(session: Session, client: Client, schedule_id: str) -> VisitSchedule:
    """A stored schedule of a community the client reads, or a 404."""
    found = None
    if plausible_id(schedule_id):
        query = select(VisitSchedule).where(VisitSchedule.id == schedule_id)
        found = session.scalars(_in_scope(query, VisitSchedule.community_id, client)).first()
    if found is None:
        raise NotFound("No such visit schedule.")
    return found


def get_session_row(session: Session, client: Client, session_id: str) -> VisitSessionRecord:
    """A visit session of a community the client reads, or a 404."""
    found = None
    if plausible_id(session_id):
        query = select(VisitSessionRecord).where(VisitSessionRecord.id == session_id)
        found = session.scalars(_in_scope(query, VisitSessionRecord.community_id, client)).first()
    if found is None:
        raise NotFound("No such visit session.")
    return found


def schedules_query(client: Client, community_id: str) -> Select[Any]:
    """A community's stored schedules (the caller checked the community is readable)."""
    query = select(VisitSchedule).where(VisitSchedule.community_id == community_id)
    return _in_scope(query, VisitSchedule.community_id, client)


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------


def present_session(row: VisitSessionRecord, attended: list[str] | None) -> dict[str, Any]:
    """A session as ``VisitSessionRecordSchema`` dumps it (times in +08:00)."""
    return {
        "id": row.id,
        "schedule_id": row.schedule_id,
        "community_id": row.community_id,
        "team": row.team,
        "date": row.visit_date,
        "start": row.starts_at.astimezone(LOCAL),
        "end": row.ends_at.astimezone(LOCAL),
        "walk_km": row.walk_km,
        "households": list(row.households),
        "attendees": list(row.attendees),
        "status": row.status,
        "attendance": None
        if row.recorded_at is None
        else {
            "members": attended or [],
            "households": list(row.visited_households or []),
            "notes": row.notes,
            "recorded_at": row.recorded_at.astimezone(LOCAL),
        },
    }


def present_schedule_summary(row: VisitSchedule) -> dict[str, Any]:
    """A schedule without its sessions (``VisitScheduleSummarySchema``)."""
    return {
        "id": row.id,
        "community_id": row.community_id,
        "quarter": {"start": row.quarter_start, "end": row.quarter_end},
        "timezone": row.timezone,
        "status": row.status,
        "sessions_count": int(row.stats.get("sessions", 0)),
        "unscheduled_count": sum(len(u["households"]) for u in row.unscheduled),
        "stats": dict(row.stats),
        "created_at": row.created_at,
    }


def _attended_by_session(session: Session, session_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(session_ids)
    found: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(VisitAttendance.session_id, VisitAttendance.member_id)
        .where(VisitAttendance.session_id.in_(ids))
        .order_by(VisitAttendance.session_id, VisitAttendance.member_id)
    )
    for session_id, member_id in rows:
        found[session_id].append(member_id)
    return found


def _sessions_of(session: Session, schedule_id: str) -> list[VisitSessionRecord]:
    return list(
        session.scalars(
            select(VisitSessionRecord)
            .where(VisitSessionRecord.schedule_id == schedule_id)
            .order_by(VisitSessionRecord.starts_at, VisitSessionRecord.team, VisitSessionRecord.id)
        )
    )


def present_schedule(session: Session, row: VisitSchedule) -> dict[str, Any]:
    """A schedule with its sessions and unscheduled households (``VisitScheduleRecordSchema``)."""
    sessions = _sessions_of(session, row.id)
    attended = _attended_by_session(session, (s.id for s in sessions))
    return {
        **present_schedule_summary(row),
        "teams": [
            {k: team[k] for k in ("id", "members", "leader", "quorum", "area")}
            for team in row.teams
        ],
        "sessions": [present_session(s, attended[s.id]) for s in sessions],
        "unscheduled": [dict(u) for u in row.unscheduled],
    }


def get_session(session: Session, client: Client, session_id: str) -> dict[str, Any]:
    """A visit session with its attendance (404 outside the client's communities)."""
    row = get_session_row(session, client, session_id)
    return present_session(row, _attended_by_session(session, [row.id])[row.id])


# --------------------------------------------------------------------------------------------
# Storing a quarter
# --------------------------------------------------------------------------------------------


def _member_references(problem: VisitProblem) -> list[tuple[str, str]]:
    """Every member id of the problem with its field path."""
    found = [(f"members[{i}].id", m.id) for i, m in enumerate(problem.members)]
    for i, team in enumerate(problem.teams):
        found += [(f"teams[{i}].members[{j}]", m) for j, m in enumerate(team.members)]
        if team.leader is not None:
            found.append((f"teams[{i}].leader", team.leader))
    return found


def check_problem(
    session: Session, community_id: str, problem: VisitProblem, *, max_households: int
) -> None:
    """422 (by field path) unless the problem fits a community's stored quarter.

    References between the problem's objects are the engine's validation; then the time zone
    must be Asia/Shanghai, the quarter small enough to solve while the request waits, and
    every member id an active member of the community.
    """
    validate_visit_problem(problem)
    errors: dict[str, list[str]] = {}
    if problem.timezone != TIMEZONE_NAME:
        errors["timezone"] = [f"must be {TIMEZONE_NAME} for a community's stored schedule"]
    for name in ("start", "end"):
        if not FIRST_YEAR <= getattr(problem.quarter, name).year <= LAST_YEAR:
            errors[f"quarter.{name}"] = [f"must be between the years {FIRST_YEAR} and {LAST_YEAR}"]
    households = sum(len(area.households) for area in problem.areas)
    if households > max_households:
        errors["areas"] = [
            f"at most {max_households} households in all for a stored quarter "
            f"(has {households}); schedule larger ones as a job: POST /api/v1/visit-schedules"
        ]
    references = _member_references(problem)
    ids = {member_id for _path, member_id in references}
    active = set(
        session.scalars(
            select(Member.id).where(
                Member.id.in_(ids),
                Member.community_id == community_id,
                Member.status == "active",
            )
        )
    )
    for path, member_id in references:
        if member_id not in active:
            errors.setdefault(path, []).append(
                f"must be an active member of community {community_id}"
            )
    if errors:
        raise Invalid("The quarter does not fit this community's workspace.", errors=errors)


def solve_checked(
    problem: VisitProblem, *, time_limit_s: float, solver: Solver = in_process
) -> tuple[Schedule, dict[str, Any]]:
    """The engine's schedule (and its JSON), checked by the independent verifier (500 if broken)."""
    problem_json = dump_visit_problem(problem)
    answer = solver("visits", problem_json, time_limit_s=time_limit_s)
    schedule = load_schedule(answer)
    violations = verify_schedule(problem_json, answer)
    if violations:
        rules = sorted({v.rule for v in violations})
        log.error("visit schedule failed verification (rules %s); nothing stored", rules)
        raise PlanRejected("The engine's schedule failed verification; nothing was stored.")
    return schedule, answer


def _teams_record(problem: VisitProblem) -> list[dict[str, Any]]:
    areas = {area.id: area for area in problem.areas}
    return [
        {
            "id": team.id,
            "members": list(team.members),
            "leader": team.leader,
            "quorum": team.quorum,
            "area": team.area,
            "households": [h.id for h in areas[team.area].households],
        }
        for team in problem.teams
    ]


def _session_row(
    schedule_id: str, community_id: str, visit: VisitSession, zone: ZoneInfo
) -> VisitSessionRecord:
    starts_at = datetime.combine(visit.date, visit.start, tzinfo=zone)
    ends_at = datetime.combine(visit.date, visit.end, tzinfo=zone)
    if ends_at <= starts_at:  # an outing past midnight ends the next day
        ends_at += timedelta(days=1)
    return VisitSessionRecord(
        id=new_id("vss"),
        schedule_id=schedule_id,
        community_id=community_id,
        team=visit.team,
        visit_date=visit.date,
        starts_at=starts_at,
        ends_at=ends_at,
        duration_hours=(ends_at - starts_at) / timedelta(hours=1),
        walk_km=visit.walk_km,
        households=list(visit.route),
        attendees=list(visit.attendees),
        status="planned",
    )


def create_schedule(
    session: Session,
    client: Client,
    community_id: str,
    problem: VisitProblem,
    *,
    max_households: int,
    max_time_limit_s: float = MAX_VISIT_TIME_LIMIT_S,
    solver: Solver = in_process,
) -> dict[str, Any]:
    """Solve a community's quarter (through ``solver``), verify and store it in one transaction.

    Returns:
        The stored schedule as :func:`present_schedule` shows it.
    """
    community = readable_community(session, client, community_id)
    require_manager(client, community.id)
    check_problem(session, community.id, problem, max_households=max_households)
    community_key = community.id
    session.rollback()  # hold no transaction while the engine searches
    time_limit_s = min(problem.options.time_limit_s, max_time_limit_s)
    schedule, answer = solve_checked(problem, time_limit_s=time_limit_s, solver=solver)
    row = VisitSchedule(
        id=new_id("vs"),
        community_id=community_key,
        quarter_start=problem.quarter.start,
        quarter_end=problem.quarter.end,
        timezone=problem.timezone,
        status=schedule.status,
        teams=_teams_record(problem),
        unscheduled=answer["unscheduled"],
        stats=answer["stats"],
        created_at=utcnow(),
    )
    session.add(row)
    zone = ZoneInfo(problem.timezone)
    session.add_all(_session_row(row.id, community_key, s, zone) for s in schedule.sessions)
    session.commit()
    log.info(
        "community %s stored visit schedule %s: %d sessions, %d unscheduled entries (%s)",
        community_key,
        row.id,
        len(schedule.sessions),
        len(schedule.unscheduled),
        schedule.status,
    )
    return present_schedule(session, row)


# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------


def schedule_calendar(
    session: Session, client: Client, schedule_id: str, team: str | None
) -> bytes:
    """The ``.ics`` of a stored schedule's sessions (or of one team's); 404 for a foreign
    schedule or an unknown team."""
    row = get_schedule_row(session, client, schedule_id)
    if team is not None and team not in {t["id"] for t in row.teams}:
        raise NotFound(
            f"No team {team!r} in this schedule.", errors={"query.team": ["unknown team"]}
        )
    sessions = tuple(
        VisitSession(
            team=s.team,
            date=s.visit_date,
            start=s.starts_at.astimezone(ZoneInfo(row.timezone)).time(),
            end=s.ends_at.astimezone(ZoneInfo(row.timezone)).time(),
            attendees=tuple(s.attendees),
            route=tuple(s.households),
            walk_km=s.walk_km,
        )
        for s in _sessions_of(session, row.id)
    )
    # The calendar needs the quarter and the time zone only (no households' locations are kept).
    frame = VisitProblem(
        quarter=Quarter(row.quarter_start, row.quarter_end),
        members=(),
        teams=(),
        areas=(),
        timezone=row.timezone,
    )
    stats = ScheduleStats(len(sessions), sum(s.walk_km for s in sessions), 0.0, 0.0, 0, 0, 0, 0)
    names = member_names(session, (m for s in sessions for m in s.attendees))
    return calendar_bytes(frame, Schedule(row.status, sessions, (), stats), team, names)


# --------------------------------------------------------------------------------------------
# Attendance
# --------------------------------------------------------------------------------------------


def _team_of(schedule: VisitSchedule, team_id: str) -> dict[str, Any]:
    return next(t for t in schedule.teams if t["id"] == team_id)


def _attendance_errors(
    session: Session,
    row: VisitSessionRecord,
    team: dict[str, Any],
    members: list[str],
    households: list[str],
) -> dict[str, list[str]]:
    """Field problems of an attendance record (the schema checked shapes and duplicates)."""
    errors: dict[str, list[str]] = {}
    known = set(
        session.scalars(
            select(Member.id).where(Member.id.in_(members), Member.community_id == row.community_id)
        )
    )
    for i, member_id in enumerate(members):
        if member_id not in known:
            errors[f"members[{i}]"] = [
                f"must be a member of community {row.community_id} (a planned attendee, "
                "a member of the team or a substitute from the community)"
            ]
    area = set(team["households"])
    for i, household in enumerate(households):
        if household not in area:
            errors[f"households[{i}]"] = [f"must be a household of team {row.team}'s area"]
    return errors


def record_attendance(
    session: Session,
    client: Client,
    session_id: str,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record who attended an outing and which households were visited, in one transaction.

    Only once the outing has ended (409 before). Recording again replaces the previous record
    (a correction): the attendance rows are rewritten, ``recorded_at`` moves on.

    Args:
        data: ``members`` (ids, non-empty, unique), ``households`` (ids of the team's area,
            unique) and ``notes`` (or null).
    """
    row = get_session_row(session, client, session_id)
    require_manager(client, row.community_id)
    moment = now or utcnow()
    if moment < row.ends_at:
        raise Conflict(
            "Attendance can be recorded only after the outing "
            f"(it ends {row.ends_at.astimezone(LOCAL).isoformat()}).",
            errors={"date": ["the outing has not ended yet"]},
        )
    schedule = session.get(VisitSchedule, row.schedule_id)
    assert schedule is not None  # sessions cascade with their schedule
    members, households = list(data["members"]), list(data["households"])
    errors = _attendance_errors(session, row, _team_of(schedule, row.team), members, households)
    if errors:
        raise Invalid("The attendance does not fit this outing.", errors=errors)
    # The update comes first: it locks the session's row, so concurrent recordings queue.
    session.execute(
        update(VisitSessionRecord)
        .where(VisitSessionRecord.id == row.id)
        .values(
            status="attended",
            visited_households=households,
            notes=data["notes"],
            recorded_at=moment,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(VisitAttendance).where(VisitAttendance.session_id == row.id))
    session.add_all(VisitAttendance(session_id=row.id, member_id=m) for m in members)
    audit.record(
        session, client, "transition", "visit_session", row.id, row.community_id, "attended"
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "The attendance was recorded concurrently.", errors={"status": ["changed"]}
        ) from None
    session.refresh(row)
    log.info(
        "visit session %s: attendance of %d members, %d households recorded",
        row.id,
        len(members),
        len(households),
    )
    return present_session(row, sorted(members))
