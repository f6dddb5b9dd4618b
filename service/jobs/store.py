"""Reading and changing job rows for the API (always scoped to one API client)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, undefer

from service.db.base import machine_now
from service.db.jobs import ACTIVE_STATUSES, Job


@dataclass(frozen=True)
class NewJob:
    """What a new job row holds."""

    client_id: int
    problem: dict[str, Any]
    limits: dict[str, Any]
    n_members: int
    n_demands: int
    n_teams: int
    mode: str
    lease_owner: str
    lease_expires_at: datetime
    idempotency_key: str | None = None
    request_hash: str | None = None
    resubmitted_from: uuid.UUID | None = None
    kind: str = "dispatch"


def create_job(session: Session, new: NewJob) -> Job:
    """Insert a queued job (committed), leased by the runner that will queue it."""
    job = Job(
        id=uuid.uuid4(),
        client_id=new.client_id,
        kind=new.kind,
        mode=new.mode,
        status="queued",
        n_members=new.n_members,
        n_demands=new.n_demands,
        n_teams=new.n_teams,
        problem=new.problem,
        limits=new.limits,
        progress={"phase": "queued", "elapsed_s": 0.0},
        answer=None,
        best_answer=None,
        error=None,
        cancel_requested=False,
        idempotency_key=new.idempotency_key,
        request_hash=new.request_hash,
        lease_owner=new.lease_owner,
        lease_expires_at=new.lease_expires_at,
        resubmitted_from=new.resubmitted_from,
        created_at=machine_now(),
    )
    session.add(job)
    session.commit()
    return job


def get_job(
    session: Session,
    client_id: int,
    job_id: uuid.UUID,
    *,
    answers: bool = True,
    problem: bool = False,
) -> Job | None:
    """The client's job, with its answers loaded if ``answers`` (and its problem if
    ``problem``); ``None`` if not theirs."""
    query = select(Job).where(Job.id == job_id, Job.client_id == client_id)
    if answers:
        query = query.options(undefer(Job.answer), undefer(Job.best_answer))
    if problem:
        query = query.options(undefer(Job.problem))
    return session.scalars(query).first()


def get_problem(session: Session, client_id: int, job_id: uuid.UUID) -> Job | None:
    """The client's job with its stored problem loaded."""
    query = select(Job).where(Job.id == job_id, Job.client_id == client_id)
    return session.scalars(query.options(undefer(Job.problem))).first()


def list_jobs(
    session: Session,
    client_id: int,
    *,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Job], int]:
    """One page of the client's jobs, newest first, and how many there are in all."""
    where = [Job.client_id == client_id]
    if status is not None:
        where.append(Job.status == status)
    total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    if offset >= total:  # past the end (also keeps huge page numbers out of SQL)
        return [], int(total)
    rows = session.scalars(
        select(Job)
        .where(*where)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def request_cancel(session: Session, client_id: int, job_id: uuid.UUID) -> str | None:
    """Cancel a job: a queued one ends ``cancelled`` now; a running one is flagged.

    Returns:
        The job's status after the request, or ``None`` if the client has no such job.
    """
    now = machine_now()
    mine = (Job.id == job_id) & (Job.client_id == client_id)
    session.execute(
        update(Job)
        .where(mine, Job.status == "queued")
        .values(
            status="cancelled",
            cancel_requested=True,
            finished_at=now,
            lease_expires_at=None,
            progress={"phase": "cancelled", "elapsed_s": 0.0},
        ),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Job).where(mine, Job.status == "running").values(cancel_requested=True),
        execution_options={"synchronize_session": False},
    )
    session.commit()
    return session.scalar(select(Job.status).where(mine))


def is_active(status: str) -> bool:
    return status in ACTIVE_STATUSES
