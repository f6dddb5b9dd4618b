"""Running jobs: a swappable executor, leases for queued jobs, the reaper and start-up recovery.

A job's row is the truth; the executor only carries work. Every active job has a lease in the
database (``lease_owner``, ``lease_expires_at``):

* ``queued``: held by the app instance that queued it (its :class:`JobRunner`), renewed by the
  :class:`Reaper` thread every tick. If that process dies, the lease runs out and the job is
  marked ``interrupted`` (the work sat in the dead process's executor queue).
* ``running``: held by the worker process (:mod:`service.worker`), renewed by its heartbeat
  about once a second. If the worker dies, the lease runs out and the reaper marks the job
  ``failed`` ("worker lost").

At start-up (:func:`recover_jobs`), jobs whose lease has run out are marked ``interrupted``:
the service restarted under them. Interrupted, failed and cancelled jobs can be resubmitted.

The executor is any :class:`concurrent.futures.Executor` made by ``executor_factory``; the
default is a spawn-context :class:`~concurrent.futures.ProcessPoolExecutor` whose size never
exceeds the cores (the engine solves on one thread). A Dask ``Client.get_executor()`` fits the
same slot: :func:`service.worker.run_job` needs only the job id and the database URL.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.models import IdempotencyRecord, Job, utcnow
from service.worker import WorkerSettings, run_job, worker_id

log = logging.getLogger(__name__)

ExecutorFactory = Callable[[], Executor]
FinishedCallback = Callable[[dict[str, Any]], None]

_MAX_ATTEMPTS = 3  # submissions of one job when executors break under it
_CHUNK = 500


def _start_solver_process(niceness: int) -> None:
    """Pool initializer: lower the priority, import the engine once, before the first job."""
    if niceness > 0:
        with contextlib.suppress(AttributeError, OSError):  # no os.nice on this platform
            os.nice(niceness)
    import matcher.solve
    import matcher.visits.solve  # noqa: F401
    import service.schemas.dispatch
    import service.schemas.visits  # noqa: F401


def process_pool_factory(max_workers: int, *, niceness: int = 10) -> ExecutorFactory:
    """A factory of spawn-context process pools of ``max_workers`` processes.

    Args:
        max_workers: Solver processes (one solver thread each).
        niceness: Added to the solver processes' nice value, so that the web workers keep
            answering requests (health checks, polling) while every core solves. Solves are
            bounded by wall-clock time limits, so a busy server gives plans less search, never
            later answers.
    """

    def make() -> Executor:
        return ProcessPoolExecutor(
            max_workers=max_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_solver_process,
            initargs=(niceness,),
        )

    return make


def _chunks(ids: list[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


@dataclass
class _Waiting:
    """A job held by the runner until a slot frees."""

    job_id: uuid.UUID
    tenant: object
    size: int
    seq: int
    attempt: int


class JobRunner:
    """Hands queued jobs to an executor and keeps their queue leases.

    With ``slots``, at most that many jobs are in the executor at once and the runner chooses
    which waiting job goes next, fairly: the tenant (API client) with the fewest jobs in the
    executor first, then the smallest job, then the oldest. A province-wide client sending many
    large jobs therefore never starves a community's small one: the community's job takes the
    next free slot. Without ``slots`` every job goes to the executor at once (its own order).

    Args:
        executor_factory: Makes the executor (again, if one breaks).
        sessions: Session factory of the service database.
        worker_settings: Passed to :func:`service.worker.run_job` with each job.
        on_finished: Called with ``run_job``'s result when a job ends (metrics).
        slots: Jobs in the executor at once (its processes), or ``None``: no limit.
    """

    def __init__(
        self,
        executor_factory: ExecutorFactory,
        *,
        sessions: sessionmaker[Session],
        worker_settings: WorkerSettings,
        on_finished: FinishedCallback | None = None,
        slots: int | None = None,
    ) -> None:
        self.executor_factory = executor_factory
        self.sessions = sessions
        self.worker_settings = worker_settings
        self.on_finished = on_finished
        self.slots = slots
        self.instance_id = "app:" + worker_id()
        self._executor: Executor | None = None
        self._lock = threading.RLock()
        self._pending: dict[uuid.UUID, threading.Event] = {}
        self._closed = False
        self._waiting: list[_Waiting] = []
        self._in_flight: dict[uuid.UUID, object] = {}
        self._seq = 0

    # -- submitting ---------------------------------------------------------------------------

    def lease_until(self, now: datetime | None = None) -> datetime:
        """When a queue lease taken now runs out."""
        return (now or utcnow()) + timedelta(seconds=self.worker_settings.lease_ttl_s)

    def _current(self) -> Executor:
        if self._executor is None:
            self._executor = self.executor_factory()
        return self._executor

    def submit(
        self, job_id: uuid.UUID, *, tenant: object = None, size: int = 0, attempt: int = 1
    ) -> threading.Event:
        """Queue a job whose row is committed (status ``queued``, leased by this runner).

        Args:
            tenant: Whose job it is (the API client), for the fair choice among waiting jobs.
            size: How large it is (demands, households), smaller first within a tenant's turn.

        Returns:
            An event set when the executor is done with the job (whatever its outcome).
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the job runner is closed")
            done = self._pending.setdefault(job_id, threading.Event())
            self._seq += 1
            self._waiting.append(_Waiting(job_id, tenant, size, self._seq, attempt))
        self._pump()
        return done

    def _next_waiting(self) -> _Waiting | None:
        """The waiting job that goes next (under the lock), or ``None`` if no slot is free."""
        if not self._waiting:
            return None
        if self.slots is not None and len(self._in_flight) >= self.slots:
            return None
        busy: dict[object, int] = {}
        for tenant in self._in_flight.values():
            busy[tenant] = busy.get(tenant, 0) + 1
        chosen = min(self._waiting, key=lambda w: (busy.get(w.tenant, 0), w.size, w.seq))
        self._waiting.remove(chosen)
        self._in_flight[chosen.job_id] = chosen.tenant
        return chosen

    def _pump(self) -> None:
        """Send waiting jobs to the executor while slots are free."""
        while True:
            with self._lock:
                if self._closed:
                    return
                chosen = self._next_waiting()
                if chosen is None:
                    return
                try:
                    future = self._send(chosen.job_id)
                except BaseException:
                    self._in_flight.pop(chosen.job_id, None)
                    raise
                executor = self._executor
            future.add_done_callback(functools.partial(self._done, chosen, executor))

    def _send(self, job_id: uuid.UUID) -> Future[Any]:
        """Submit one job to the executor (a new one if the current one broke)."""
        try:
            return self._current().submit(run_job, str(job_id), self.worker_settings)
        except (BrokenExecutor, RuntimeError):
            log.warning("executor unusable; starting a new one")
            self._discard(self._executor)
            return self._current().submit(run_job, str(job_id), self.worker_settings)

    def _discard(self, executor: Executor | None) -> None:
        with self._lock:
            if executor is not None and executor is self._executor:
                self._executor = None
                with contextlib.suppress(Exception):  # it is broken already
                    executor.shutdown(wait=False, cancel_futures=True)

    def _done(self, waiting: _Waiting, executor: Executor | None, future: Future[Any]) -> None:
        with self._lock:
            self._in_flight.pop(waiting.job_id, None)
        try:
            self._finish(waiting.job_id, waiting, executor, future)
        finally:
            self._pump()

    def _finish(
        self, job_id: uuid.UUID, waiting: _Waiting, executor: Executor | None, future: Future[Any]
    ) -> None:
        attempt = waiting.attempt
        error = None if future.cancelled() else future.exception()
        if error is None and not future.cancelled():
            result = future.result()
            if self.on_finished is not None:
                try:
                    self.on_finished(result)
                except Exception:
                    log.exception("on_finished callback failed")
        elif isinstance(error, BrokenExecutor):
            log.warning("job %s: executor broke (%s)", job_id, type(error).__name__)
            self._discard(executor)
            if attempt < _MAX_ATTEMPTS and not self._closed and self._still_queued(job_id):
                try:
                    self.submit(
                        job_id, tenant=waiting.tenant, size=waiting.size, attempt=attempt + 1
                    )
                    return
                except Exception:
                    log.exception("job %s: could not resubmit", job_id)
        elif error is not None:
            log.error("job %s: the executor raised %s", job_id, type(error).__name__)
        with self._lock:
            done = self._pending.pop(job_id, None)
        if done is not None:
            done.set()

    def _still_queued(self, job_id: uuid.UUID) -> bool:
        with self.sessions() as session:
            status = session.scalar(select(Job.status).where(Job.id == job_id))
        return status == "queued"

    # -- leases, shutdown -----------------------------------------------------------------

    def pending(self) -> list[uuid.UUID]:
        with self._lock:
            return list(self._pending)

    def renew_queue_leases(self) -> None:
        """Extend the leases of this runner's jobs that are still waiting in the executor."""
        ids = self.pending()
        if not ids:
            return
        until = self.lease_until()
        with self.sessions() as session:
            for chunk in _chunks(ids):
                session.execute(
                    update(Job)
                    .where(
                        Job.id.in_(chunk),
                        Job.status == "queued",
                        Job.lease_owner == self.instance_id,
                    )
                    .values(lease_expires_at=until),
                    execution_options={"synchronize_session": False},
                )
            session.commit()

    def close(self, *, cancel_running: bool = False, wait: bool = True) -> None:
        """Stop taking jobs; jobs still waiting become ``interrupted`` (resubmittable).

        Args:
            cancel_running: Also ask running jobs to stop (they keep their best plan).
            wait: Wait for the executor's processes to end.
        """
        with self._lock:
            self._closed = True
            ids = list(self._pending)
            self._waiting.clear()
            executor, self._executor = self._executor, None
        if ids:
            now = utcnow()
            with self.sessions() as session:
                for chunk in _chunks(ids):
                    session.execute(
                        update(Job)
                        .where(
                            Job.id.in_(chunk),
                            Job.status == "queued",
                            Job.lease_owner == self.instance_id,
                        )
                        .values(
                            status="interrupted",
                            finished_at=now,
                            lease_expires_at=None,
                            error="the service stopped before this job started; resubmit it",
                        ),
                        execution_options={"synchronize_session": False},
                    )
                    if cancel_running:
                        session.execute(
                            update(Job)
                            .where(Job.id.in_(chunk), Job.status == "running")
                            .values(cancel_requested=True),
                            execution_options={"synchronize_session": False},
                        )
                session.commit()
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)


def _expire(
    session: Session, now: datetime, status: str, new_status: str, error: str
) -> list[uuid.UUID]:
    ids = list(
        session.scalars(select(Job.id).where(Job.status == status, Job.lease_expires_at < now))
    )
    for chunk in _chunks(ids):
        session.execute(
            update(Job)
            .where(Job.id.in_(chunk), Job.status == status, Job.lease_expires_at < now)
            .values(status=new_status, error=error, finished_at=now, lease_expires_at=None),
            execution_options={"synchronize_session": False},
        )
    session.commit()
    return ids


def recover_jobs(sessions: sessionmaker[Session]) -> list[uuid.UUID]:
    """At start-up: active jobs whose lease ran out are ``interrupted`` (resubmittable)."""
    now = utcnow()
    with sessions() as session:
        running = _expire(
            session,
            now,
            "running",
            "interrupted",
            "the service restarted while this job was running; resubmit it",
        )
        queued = _expire(
            session,
            now,
            "queued",
            "interrupted",
            "the service restarted before this job started; resubmit it",
        )
    if running or queued:
        log.warning("marked %d interrupted job(s) at start-up", len(running) + len(queued))
    return running + queued


def reap_lost_jobs(sessions: sessionmaker[Session]) -> list[uuid.UUID]:
    """Running jobs whose worker stopped heartbeating → ``failed``; orphaned queued ones →
    ``interrupted``."""
    now = utcnow()
    with sessions() as session:
        lost = _expire(session, now, "running", "failed", "worker lost: its heartbeat stopped")
        orphaned = _expire(
            session,
            now,
            "queued",
            "interrupted",
            "the server process that queued this job stopped; resubmit it",
        )
    for job_id in lost:
        log.warning("job %s: worker lost, marked failed", job_id)
    return lost + orphaned


def purge_idempotency_records(sessions: sessionmaker[Session], older_than_h: float) -> int:
    """Forget idempotency records older than ``older_than_h`` hours."""
    cutoff = utcnow() - timedelta(hours=older_than_h)
    with sessions() as session:
        result = session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff),
            execution_options={"synchronize_session": False},
        )
        session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Reaper:
    """A daemon thread: renews queue leases, reaps lost jobs, purges old idempotency records
    (and runs the other ``purges``, e.g. the contact-details retention, every ten minutes)."""

    PURGE_EVERY_S = 600.0

    def __init__(
        self,
        runner: JobRunner,
        *,
        interval_s: float,
        idempotency_ttl_h: float,
        purges: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.runner = runner
        self.interval_s = interval_s
        self.idempotency_ttl_h = idempotency_ttl_h
        self.purges = tuple(purges)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="linli-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def tick(self) -> None:
        """One round (also callable directly, e.g. from tests)."""
        self.runner.renew_queue_leases()
        reap_lost_jobs(self.runner.sessions)

    def _run(self) -> None:
        since_purge = self.PURGE_EVERY_S
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
                since_purge += self.interval_s
                if since_purge >= self.PURGE_EVERY_S:
                    purge_idempotency_records(self.runner.sessions, self.idempotency_ttl_h)
                    for purge in self.purges:
                        purge()
                    since_purge = 0.0
            except Exception as exc:
                log.warning("reaper round failed (%s)", type(exc).__name__)
