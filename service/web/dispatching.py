"""What the dispatch, visit-schedule and job endpoints do, between the views and the
database/executor.

The service never builds a model: it validates
(:func:`matcher.dispatch.validation.validate_problem`),
applies the server's caps, stores the job and hands it to the
:class:`~service.jobs.runner.JobRunner`;
the worker process solves.

Sync or async: a request answers synchronously (200 with the answer) unless the client sent
``Prefer: respond-async``, the problem has more than ``LINLI_SYNC_MAX_DEMANDS`` demands, or its
(capped) time limit is above ``LINLI_SYNC_MAX_TIME_LIMIT_S``; then it answers 202 with the job.
A sync request that is not answered within its time limit plus ``LINLI_SYNC_GRACE_S`` (a busy
pool) also answers 202 with the job, which goes on.

Visit schedules (``POST /visit-schedules``) are jobs of kind ``visits`` in the same table, runner
and worker; their households count as the demands of the sync rule, and their answer is the
schedule.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from flask import request
from sqlalchemy.orm import Session, sessionmaker

from matcher.dispatch.problem import Problem
from matcher.dispatch.validation import validate_problem
from matcher.visits.problem import VisitProblem
from matcher.visits.validation import validate_visit_problem
from service.config.identity import Client
from service.config.settings import Settings
from service.contracts.calendar import calendar_bytes
from service.contracts.dispatch import dump_problem
from service.contracts.visits import dump_visit_problem, load_schedule, load_visit_problem
from service.db.jobs import ACTIVE_STATUSES, Job
from service.jobs.limits import SolveLimits, apply_limits, apply_visit_limits, clamp
from service.jobs.runner import JobRunner
from service.jobs.store import NewJob, create_job, get_job, get_problem, request_cancel
from service.web.errors import error_body, fail
from service.web.idempotency import IdempotencyStore, IdempotentRequest, Outcome
from service.web.metrics import Metrics
from service.web.schemas.jobs import JobSchema, present_job

API_PREFIX = "/api/v1"
_CANCEL_POLL_S = 0.05


def wants_async(prefer: str | None) -> bool:
    """True if a ``Prefer`` header (RFC 7240) asks for ``respond-async``."""
    if not prefer:
        return False
    tokens = (part.split(";")[0].strip().lower() for part in prefer.split(","))
    return "respond-async" in tokens


def job_location(job_id: uuid.UUID) -> str:
    return f"{request.script_root}{API_PREFIX}/jobs/{job_id}"


class DispatchService:
    """Dispatch requests and job operations for one app."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        runner: JobRunner,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.runner = runner
        self.metrics = metrics
        self.idempotency = IdempotencyStore(
            sessions,
            lock_s=settings.max_time_limit_s + settings.sync_grace_s + 60.0,
        )

    # -- dispatch ---------------------------------------------------------------------------

    def validate(self, problem: Problem) -> dict[str, bool]:
        """Reference checks on a problem whose shape is valid; raises ``InvalidProblemError``."""
        validate_problem(problem)
        return {"valid": True}

    def dispatch(
        self,
        client: Client,
        problem: Problem,
        *,
        prefer_async: bool,
        idempotency: IdempotentRequest | None,
    ) -> Outcome:
        """Store and run a problem: 200 with the answer, or 202 with the job."""
        return self.idempotency.run(
            client.id,
            idempotency,
            lambda: self._dispatch(client, problem, prefer_async, idempotency),
        )

    def _dispatch(
        self,
        client: Client,
        problem: Problem,
        prefer_async: bool,
        idempotency: IdempotentRequest | None,
    ) -> Outcome:
        validate_problem(problem)
        limits = clamp(problem.options.time_limit_s, problem.options.workers, self.settings)
        sync = not (
            prefer_async
            or len(problem.demands) > self.settings.sync_max_demands
            or limits.applied_time_limit_s > self.settings.sync_max_time_limit_s
        )
        job, done = self._queue(
            client,
            apply_limits(dump_problem(problem), limits),
            limits,
            mode="sync" if sync else "async",
            size=(len(problem.members), len(problem.demands), len(problem.teams)),
            idempotency=idempotency,
        )
        return self._respond(client, job, done, limits, sync=sync, prefer_async=prefer_async)

    # -- visit schedules ----------------------------------------------------------------------

    def schedule_visits(
        self,
        client: Client,
        problem: VisitProblem,
        *,
        prefer_async: bool,
        idempotency: IdempotentRequest | None,
    ) -> Outcome:
        """Store and run a visit problem: 200 with the schedule, or 202 with the job.

        Raises:
            InvalidProblemError: Reference errors (checked before anything is stored).
        """
        validate_visit_problem(problem)
        return self.idempotency.run(
            client.id,
            idempotency,
            lambda: self._schedule_visits(client, problem, prefer_async, idempotency),
        )

    def _schedule_visits(
        self,
        client: Client,
        problem: VisitProblem,
        prefer_async: bool,
        idempotency: IdempotentRequest | None,
    ) -> Outcome:
        limits = clamp(problem.options.time_limit_s, 0, self.settings)
        households = sum(len(area.households) for area in problem.areas)
        sync = not (
            prefer_async
            or households > self.settings.sync_max_demands
            or limits.applied_time_limit_s > self.settings.sync_max_time_limit_s
        )
        job, done = self._queue(
            client,
            apply_visit_limits(dump_visit_problem(problem), limits),
            limits,
            kind="visits",
            mode="sync" if sync else "async",
            size=(len(problem.members), households, len(problem.teams)),
            idempotency=idempotency,
        )
        return self._respond(client, job, done, limits, sync=sync, prefer_async=prefer_async)

    def calendar(self, client: Client, job_id: uuid.UUID, team: str | None) -> bytes:
        """The ``.ics`` of a finished visit job's sessions (or of one team's); 404 otherwise."""
        with self.sessions() as session:
            job = get_job(session, client.id, job_id, problem=True)
        if job is None:
            fail(404, "No such job.")
        if job.kind != "visits":
            fail(404, f"The job is a {job.kind} job; only visit schedules have a calendar.")
        if job.status in ACTIVE_STATUSES or job.answer is None:
            fail(404, f"The job has no schedule (it is {job.status}).")
        problem = load_visit_problem(job.problem)
        if team is not None and team not in {t.id for t in problem.teams}:
            fail(
                404, f"No team {team!r} in this schedule.", errors={"query.team": ["unknown team"]}
            )
        return calendar_bytes(problem, load_schedule(job.answer), team)

    # -- answering ----------------------------------------------------------------------------

    def _respond(
        self,
        client: Client,
        job: Job,
        done: threading.Event,
        limits: SolveLimits,
        *,
        sync: bool,
        prefer_async: bool,
    ) -> Outcome:
        """202 with the job if async; else wait for the answer (200), or 202 if it is late."""
        if not sync:
            return self._accepted(job, prefer_async=prefer_async)
        done.wait(limits.applied_time_limit_s + self.settings.sync_grace_s)
        with self.sessions() as session:
            current = get_job(session, client.id, job.id)
        assert current is not None
        if current.status in ("succeeded", "cancelled") and current.answer is not None:
            return Outcome(
                200,
                current.answer,
                {"Link": f'<{job_location(job.id)}>; rel="related"'},
                job.id,
            )
        if current.status == "failed":
            body = error_body(500, f"The solve failed: {current.error or 'unknown error'}.")
            return Outcome(500, body, {}, job.id)
        return self._accepted(current, prefer_async=False)

    def _queue(
        self,
        client: Client,
        problem_json: dict[str, Any],
        limits: SolveLimits,
        *,
        mode: str,
        size: tuple[int, int, int],
        idempotency: IdempotentRequest | None,
        resubmitted_from: uuid.UUID | None = None,
        kind: str = "dispatch",
    ) -> tuple[Job, threading.Event]:
        with self.sessions() as session:
            job = create_job(
                session,
                NewJob(
                    client_id=client.id,
                    problem=problem_json,
                    limits=limits.as_json(),
                    n_members=size[0],
                    n_demands=size[1],
                    n_teams=size[2],
                    mode=mode,
                    lease_owner=self.runner.instance_id,
                    lease_expires_at=self.runner.lease_until(),
                    idempotency_key=None if idempotency is None else idempotency.key,
                    request_hash=None if idempotency is None else idempotency.fingerprint,
                    resubmitted_from=resubmitted_from,
                    kind=kind,
                ),
            )
        done = self.runner.submit(job.id, tenant=client.id, size=size[1])
        self.metrics.jobs_submitted.labels(mode=mode).inc()
        return job, done

    def _accepted(self, job: Job, *, prefer_async: bool) -> Outcome:
        headers = {"Location": job_location(job.id), "Retry-After": "1"}
        if prefer_async:
            headers["Preference-Applied"] = "respond-async"
        body = JobSchema().dump(present_job(job, answers=True))
        return Outcome(202, body, headers, job.id)

    # -- jobs ---------------------------------------------------------------------------------

    def get(self, client: Client, job_id: uuid.UUID) -> dict[str, Any]:
        with self.sessions() as session:
            job = get_job(session, client.id, job_id)
        if job is None:
            fail(404, "No such job.")
        return present_job(job, answers=True)

    def cancel(self, client: Client, job_id: uuid.UUID) -> tuple[dict[str, Any], int]:
        """Stop a job and keep its best plan: 200 once it has ended, 202 if still stopping."""
        with self.sessions() as session:
            status = request_cancel(session, client.id, job_id)
        if status is None:
            fail(404, "No such job.")
        if status in ("succeeded", "failed", "interrupted"):
            fail(409, f"The job has already ended ({status}).")
        deadline = time.monotonic() + self.settings.cancel_wait_s
        while True:
            with self.sessions() as session:
                job = get_job(session, client.id, job_id)
            assert job is not None  # jobs are never deleted
            if job.status not in ACTIVE_STATUSES or time.monotonic() >= deadline:
                break
            time.sleep(_CANCEL_POLL_S)
        return present_job(job, answers=True), 202 if job.status in ACTIVE_STATUSES else 200

    def resubmit(
        self, client: Client, job_id: uuid.UUID, idempotency: IdempotentRequest | None
    ) -> Outcome:
        """A new async job from a finished job's stored problem (caps applied again)."""
        return self.idempotency.run(
            client.id, idempotency, lambda: self._resubmit(client, job_id, idempotency)
        )

    def _resubmit(
        self, client: Client, job_id: uuid.UUID, idempotency: IdempotentRequest | None
    ) -> Outcome:
        with self.sessions() as session:
            original = get_problem(session, client.id, job_id)
            if original is None:
                fail(404, "No such job.")
            if original.status in ACTIVE_STATUSES:
                fail(409, f"The job is still {original.status}; cancel it first.")
            problem_json = dict(original.problem)
            requested = original.limits or {}
            size = (original.n_members, original.n_demands, original.n_teams)
            kind = original.kind
        limits = clamp(
            float(requested.get("time_limit_s", {}).get("requested", 10.0)),
            int(requested.get("workers", {}).get("requested", 0)),
            self.settings,
        )
        apply = apply_visit_limits if kind == "visits" else apply_limits
        job, _done = self._queue(
            client,
            apply(problem_json, limits),
            limits,
            mode="async",
            size=size,
            idempotency=idempotency,
            resubmitted_from=job_id,
            kind=kind,
        )
        return self._accepted(job, prefer_async=False)
