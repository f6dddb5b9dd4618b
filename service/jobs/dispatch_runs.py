"""A community's dispatch as a job: the console never waits on a solve.

``POST /communities/{id}/dispatch`` with ``Prefer: respond-async`` stores a queued
:class:`~service.db.registration.DispatchRun` and answers 202 at once; a small thread pool of
the app runs :func:`service.domain.flow.dispatch_community` (the same transaction as a
synchronous dispatch: all of the plan is written, or nothing) and stores its result on the run.
One run at a time per community (a second is a 409 naming the active one). A run still queued
or running :data:`STALE_AFTER` after it was created belonged to a server that stopped (no run
lasts that long: the time limit is at most 30 s); the reaper and the next start mark it failed
(nothing of it was written) and the dispatcher starts another. Several servers on one database
never fail each other's live runs.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.config.identity import Client
from service.db.base import machine_now
from service.db.flow import ACTIVE_RUN_STATUSES, DispatchRun
from service.db.registration import Community, new_id
from service.domain import flow
from service.domain.errors import Conflict, DomainError
from service.domain.scope import get_scoped, require_manager
from service.domain.solving import Solver, in_process

log = logging.getLogger(__name__)

RUN_THREADS = 2
STALE_AFTER = timedelta(minutes=15)
INTERRUPTED = "The server stopped while this run was queued or running; nothing was written."


class RunPool:
    """The threads that run dispatch runs (each solve is single-threaded C++ in OR-Tools)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        threads: int = RUN_THREADS,
        *,
        solver: Solver = in_process,
    ) -> None:
        self.sessions = sessions
        self.solver = solver
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="linli-run")

    def submit(self, run_id: str, client: Client) -> None:
        self._pool.submit(execute_run, self.sessions, run_id, client, self.solver)

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def present_run(run: DispatchRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "community_id": run.community_id,
        "status": run.status,
        "time_limit_s": run.time_limit_s,
        "result": run.result,
        "error": run.error,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def start_run(
    session: Session, client: Client, community_id: str, *, time_limit_s: float
) -> DispatchRun:
    """A queued run for the community (404 outside the scope, 403 for non-managers, 409 while
    another run of the community is queued or running)."""
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    recover_runs_in(session)
    active = session.scalars(
        select(DispatchRun.id).where(
            DispatchRun.community_id == community.id,
            DispatchRun.status.in_(ACTIVE_RUN_STATUSES),
        )
    ).first()
    if active is not None:
        raise Conflict(
            f"A dispatch of this community is already under way ({active}).",
            errors={"community_id": [f"dispatch {active} is queued or running"]},
        )
    run = DispatchRun(
        id=new_id("r"),
        community_id=community.id,
        status="queued",
        time_limit_s=time_limit_s,
        actor_role=client.role,
        actor_id=client.id,
        created_at=machine_now(),
    )
    session.add(run)
    try:
        session.commit()
    except IntegrityError:  # pragma: no cover - the community vanished meanwhile
        session.rollback()
        raise Conflict("The community changed meanwhile.") from None
    log.info("dispatch run %s queued for community %s", run.id, community.id)
    return run


def execute_run(
    sessions: sessionmaker[Session], run_id: str, client: Client, solver: Solver = in_process
) -> None:
    """Run one queued run to its end (never raises: the outcome is stored on the run)."""
    with sessions() as session:
        started = session.execute(
            update(DispatchRun)
            .where(DispatchRun.id == run_id, DispatchRun.status == "queued")
            .values(status="running", started_at=machine_now())
        )
        session.commit()
        if started.rowcount != 1:  # type: ignore[attr-defined]
            return
        run = session.get(DispatchRun, run_id)
        assert run is not None
        community_id, time_limit_s = run.community_id, run.time_limit_s
    outcome: dict[str, Any] = {"status": "failed", "finished_at": None}
    with sessions() as session:
        try:
            result = flow.dispatch_community(
                session, client, community_id, time_limit_s=time_limit_s, solver=solver
            )
            outcome.update(status="succeeded", result=_json_ready(result))
        except DomainError as err:
            outcome["error"] = err.message[:500]
        except Exception as err:  # the run must end, whatever happened
            log.error("dispatch run %s failed (%s)", run_id, type(err).__name__)
            outcome["error"] = "An internal error stopped the dispatch; nothing was written."
    outcome["finished_at"] = machine_now()
    with sessions() as session:
        session.execute(update(DispatchRun).where(DispatchRun.id == run_id).values(**outcome))
        session.commit()
    log.info("dispatch run %s %s", run_id, outcome["status"])


def _json_ready(result: dict[str, Any]) -> dict[str, Any]:
    """The dispatch result with its datetimes as ISO strings (+08:00), as stored JSON."""
    return {key: _iso(value) for key, value in result.items()}


def _iso(value: Any) -> Any:
    """``value`` with every datetime as an ISO 8601 string (with its offset)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    return value


def recover_runs_in(session: Session, now: datetime | None = None) -> int:
    """Mark stale runs (queued or running for :data:`STALE_AFTER`) failed; returns how many."""
    cutoff = (now or machine_now()) - STALE_AFTER
    result = session.execute(
        update(DispatchRun)
        .where(DispatchRun.status.in_(ACTIVE_RUN_STATUSES), DispatchRun.created_at < cutoff)
        .values(status="failed", error=INTERRUPTED, finished_at=machine_now())
    )
    session.commit()
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.warning("%d interrupted dispatch runs marked failed", count)
    return count


def recover_runs(sessions: sessionmaker[Session]) -> int:
    """:func:`recover_runs_in` in a session of its own (the reaper and the start call it)."""
    with sessions() as session:
        return recover_runs_in(session)
