"""The workspace's solves, through the one job runner: a job row, the runner's executor, a wait.

The domain builds a contract's JSON problem and asks a solver for the JSON answer
(:data:`service.domain.solving.Solver`); in the service that solver is a :class:`RunnerSolver`,
so a community's dispatch, a re-dispatch after a decline, a post allocation, groups, hand-in-hand
pairs and a visit schedule run exactly as the API's jobs do: in the process pool or on the Dask
cluster, with the job's lease, heartbeat, retries and fairness, never in the request's thread and
never holding a database lock. The jobs belong to one internal API client (:data:`WORKSPACE`,
whose key nobody holds), so they take their fair turn among the API's tenants.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config.settings import Settings
from service.db.clients import ApiClient
from service.db.jobs import ACTIVE_STATUSES, Job
from service.domain.errors import SolverUnavailable
from service.jobs.limits import SOLVER_THREADS, apply_limits, apply_visit_limits, clamp
from service.jobs.runner import JobRunner
from service.jobs.store import NewJob, create_job, request_cancel

log = logging.getLogger(__name__)

WORKSPACE = "linli workspace (internal)"
"""The API client that owns the workspace's jobs (its key is random and never shown)."""

QUEUE_WAIT_S = 60.0
"""How long a workspace solve may wait for a free solver before it gives up (503)."""


class RunnerSolver:
    """A :data:`~service.domain.solving.Solver` that runs each solve as a job and waits."""

    def __init__(
        self, runner: JobRunner, sessions: sessionmaker[Session], settings: Settings
    ) -> None:
        self.runner = runner
        self.sessions = sessions
        self.settings = settings
        self._client_id: int | None = None
        self._owner_lock = threading.Lock()

    def _owner(self) -> int:
        """The internal client's id, made on first use (one per database, under a lock)."""
        with self._owner_lock:
            if self._client_id is not None:
                return self._client_id
            with self.sessions() as session:
                found = session.scalar(select(ApiClient.id).where(ApiClient.name == WORKSPACE))
                if found is None:
                    unusable = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
                    row = ApiClient(name=WORKSPACE, key_hash=unusable, communities=[])
                    session.add(row)
                    session.commit()
                    found = row.id
                self._client_id = int(found)
            return self._client_id

    def __call__(self, kind: str, problem_json: dict[str, Any], *, time_limit_s: float) -> Any:
        """Solve ``problem_json`` (a contract's JSON) as a job of ``kind``; its JSON answer.

        Raises:
            SolverUnavailable: No solver took the job in time, or the solve failed.
        """
        limits = clamp(time_limit_s, SOLVER_THREADS, self.settings)
        if kind == "dispatch":
            problem_json = apply_limits(problem_json, limits)
        elif kind == "visits":
            problem_json = apply_visit_limits(problem_json, limits)
        client_id = self._owner()
        with self.sessions() as session:
            job = create_job(
                session,
                NewJob(
                    client_id=client_id,
                    problem=problem_json,
                    limits=limits.as_json(),
                    n_members=len(problem_json.get("members") or ()),
                    n_demands=len(problem_json.get("demands") or ()),
                    n_teams=len(problem_json.get("teams") or ()),
                    mode="sync",
                    lease_owner=self.runner.instance_id,
                    lease_expires_at=self.runner.lease_until(),
                    kind=kind,
                ),
            )
            job_id = job.id
        try:
            done = self.runner.submit(job_id, tenant=client_id, size=1)
        except RuntimeError as err:  # the runner is closed: the service is stopping
            raise SolverUnavailable("The service is stopping; nothing was written.") from err
        finished = done.wait(
            limits.applied_time_limit_s + self.settings.sync_grace_s + QUEUE_WAIT_S
        )
        with self.sessions() as session:
            row = session.scalars(select(Job).where(Job.id == job_id)).one()
            status, answer, error = row.status, row.answer, row.error
            if not finished or status in ACTIVE_STATUSES:
                request_cancel(session, client_id, job_id)
        if status in ("succeeded", "cancelled") and answer is not None:
            return answer
        log.error("workspace %s job %s ended %s", kind, job_id, status)
        if status == "failed":
            raise SolverUnavailable(f"The solver failed on this {kind} problem ({error}).")
        raise SolverUnavailable("Every solver is busy; nothing was written. Try again shortly.")
