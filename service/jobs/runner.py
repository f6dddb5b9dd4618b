"""Running jobs: a swappable executor, leases for queued jobs, the reaper and start-up recovery.

A job's row is the truth; the executor only carries work. Every active job has a lease in the
database (``lease_owner``, ``lease_expires_at``):

* ``queued``: held by the app instance that queued it (its :class:`JobRunner`), renewed by the
  :class:`Reaper` thread every tick. If that process dies, the lease runs out and the job is
  marked ``interrupted`` (the work sat in the dead process's executor queue). ``sent_at`` tells
  whether the runner still holds the job (``NULL``) or handed it to its executor.
* ``running``: held by the worker process (:mod:`service.jobs.worker`), renewed by its heartbeat
  about once a second. If the worker dies, the lease runs out and the reaper queues the job
  again under its own runner (``attempts`` counts the starts), until ``LINLI_JOB_ATTEMPTS``
  starts were lost; then the job ends ``failed`` ("worker lost") with its best plan so far.

At start-up (:func:`recover_jobs`), jobs whose lease has run out are marked ``interrupted``:
the service restarted under them. Interrupted, failed and cancelled jobs can be resubmitted.

Fairness: the runner keeps at most ``slots`` jobs in its executor and sends the fairest waiting
job next (the API client with the fewest jobs in flight in the database, then the smallest job,
then the oldest); with a tenant cap it never hands over a job of a client that already has that
many jobs in flight, counted over every front-end on the database; and a Dask task gets a
priority from the same ordering, so the cluster prefers it across front-ends too.

The executor is any :class:`concurrent.futures.Executor` made by ``executor_factory``; the
default is a spawn-context :class:`~concurrent.futures.ProcessPoolExecutor` whose size never
exceeds the cores (the engine solves on one thread). A Dask ``Client.get_executor()`` fits the
same slot: :func:`service.jobs.worker.run_job` needs only the job id and the database URL.
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
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from service.db.base import machine_now
from service.db.clients import ApiClient, IdempotencyRecord
from service.db.jobs import Job
from service.jobs.worker import WorkerSettings, run_job, worker_id

log = logging.getLogger(__name__)

ExecutorFactory = Callable[[], Executor]
FinishedCallback = Callable[[dict[str, Any]], None]

_MAX_ATTEMPTS = 3  # submissions of one job when executors break under it
_CHUNK = 500
AUTO: Literal["auto"] = "auto"
"""``slots=AUTO``: as many as the executor's threads (a Dask cluster's, asked on connecting)."""
_PRIORITY_SIZE_SPAN = 1_000_000_000
_PRIORITY_BUSY_MAX = 1_000_000


def _start_solver_process(niceness: int) -> None:
    """Pool initializer: lower the priority, import the engine once, before the first job."""
    if niceness > 0:
        with contextlib.suppress(AttributeError, OSError):  # no os.nice on this platform
            os.nice(niceness)
    import matcher.dispatch.solve
    import matcher.visits.solve  # noqa: F401
    import service.contracts.dispatch
    import service.contracts.visits  # noqa: F401


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


def in_flight(job: Any = Job) -> ColumnElement[bool]:
    """SQL condition: ``job`` (the ``Job`` entity or an alias of it) is in an executor: running,
    or queued and handed over by its runner."""
    return (job.status == "running") | ((job.status == "queued") & job.sent_at.is_not(None))


def dask_priority(busy: int, size: int) -> int:
    """The Dask ``priority`` of a job whose client has ``busy`` jobs in flight: higher runs
    first, so fewer jobs in flight comes first, then the smaller job."""
    return -(
        min(max(busy, 0), _PRIORITY_BUSY_MAX) * _PRIORITY_SIZE_SPAN
        + min(max(size, 0), _PRIORITY_SIZE_SPAN - 1)
    )


def _threads_of(executor: Executor) -> int | None:
    """The threads an executor runs tasks on (``executor.threads()``), or None if it cannot
    say or has none yet (a cluster whose workers have not connected)."""
    threads = getattr(executor, "threads", None)
    if not callable(threads):
        return None
    try:
        count = int(threads())
    except Exception as exc:  # the scheduler went away meanwhile: ask again next time
        log.warning("could not count the executor's threads (%s)", type(exc).__name__)
        return None
    return count if count > 0 else None


@dataclass
class _Waiting:
    """A job held by the runner until a slot frees."""

    job_id: uuid.UUID
    tenant: object
    size: int
    seq: int
    attempt: int


_SENT, _CAPPED, _GONE = "sent", "capped", "gone"


class JobRunner:
    """Hands queued jobs to an executor and keeps their queue leases.

    With ``slots``, at most that many jobs are in the executor at once and the runner chooses
    which waiting job goes next, fairly: the tenant (API client) with the fewest jobs in flight
    (counted in the database, so over every front-end) first, then the smallest job, then the
    oldest. A province-wide client sending many large jobs therefore never starves a
    community's small one: the community's job takes the next free slot. Without ``slots``
    every job goes to the executor at once (its own order).

    With ``tenant_cap``, a job goes to the executor only while its client has fewer than that
    many other jobs in flight in the database (checked and marked in one conditional update,
    under a lock on the client's row on PostgreSQL, so several front-ends together never exceed
    it); otherwise it keeps waiting, queued and leased, and goes once one of them ends (the
    reaper calls :meth:`pump` every tick, for jobs that ended on another front-end).

    An executor with ``submit_prioritised(priority, fn, *args)`` (a Dask cluster) gets each
    job's :func:`dask_priority`, so the scheduler orders the jobs of several front-ends alike.

    Args:
        executor_factory: Makes the executor (again, if one breaks).
        sessions: Session factory of the service database.
        worker_settings: Passed to :func:`service.jobs.worker.run_job` with each job.
        on_finished: Called with ``run_job``'s result when a job ends (metrics).
        slots: Jobs in the executor at once (its processes); :data:`AUTO`: the executor's
            ``threads()`` when the runner connects (a Dask cluster's worker threads; asked
            again after a reconnect, kept if the new cluster reports none yet; one at a time
            until a first count); ``None``: no limit.
        tenant_cap: Most jobs in flight per tenant over all front-ends; 0: no cap.
        on_reconnect: Called when a broken executor is replaced (metrics).
    """

    def __init__(
        self,
        executor_factory: ExecutorFactory,
        *,
        sessions: sessionmaker[Session],
        worker_settings: WorkerSettings,
        on_finished: FinishedCallback | None = None,
        slots: int | Literal["auto"] | None = None,
        tenant_cap: int = 0,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        if slots is not None and slots != AUTO and (not isinstance(slots, int) or slots < 1):
            raise ValueError(f"slots must be a whole number >= 1, 'auto' or None, got {slots!r}")
        self.executor_factory = executor_factory
        self.sessions = sessions
        self.worker_settings = worker_settings
        self.on_finished = on_finished
        self.on_reconnect = on_reconnect
        self.tenant_cap = max(0, tenant_cap)
        self.instance_id = "app:" + worker_id()
        self._slot_setting = slots
        self._auto_slots: int | None = None
        self._executor: Executor | None = None
        self._lock = threading.RLock()
        self._pending: dict[uuid.UUID, threading.Event] = {}
        self._closed = False
        self._waiting: list[_Waiting] = []
        self._in_flight: dict[int, _Waiting] = {}  # by submission (a job may be in it twice)
        self._seq = 0

    @property
    def slots(self) -> int | None:
        """Jobs in the executor at once: the setting, or (``AUTO``) the executor's threads once
        known; ``None``: no limit (or not known yet)."""
        if self._slot_setting == AUTO:
            return self._auto_slots
        return self._slot_setting

    def counts(self) -> dict[str, int]:
        """``{"in_flight", "waiting"}``: this runner's jobs in the executor and held by it."""
        with self._lock:
            return {"in_flight": len(self._in_flight), "waiting": len(self._waiting)}

    # -- submitting ---------------------------------------------------------------------------

    def lease_until(self, now: datetime | None = None) -> datetime:
        """When a queue lease taken now runs out."""
        return (now or machine_now()) + timedelta(seconds=self.worker_settings.lease_ttl_s)

    def _current(self) -> Executor:
        if self._executor is None:
            self._executor = self.executor_factory()
            if self._slot_setting == AUTO:
                self._auto_slots = _threads_of(self._executor) or self._auto_slots
        return self._executor

    def submit(
        self, job_id: uuid.UUID, *, tenant: object = None, size: int = 0, attempt: int = 1
    ) -> threading.Event:
        """Queue a job whose row is committed (status ``queued``, leased by this runner).

        Args:
            tenant: Whose job it is: the job's API client id (``Job.client_id``), for the fair
                choice among waiting jobs.
            size: How large it is (demands, households), smaller first within a tenant's turn.

        Returns:
            An event set when the executor is done with the job (whatever its outcome), or
            when the job is no longer this runner's to send (cancelled meanwhile).
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the job runner is closed")
            done = self._pending.setdefault(job_id, threading.Event())
            self._seq += 1
            self._waiting.append(_Waiting(job_id, tenant, size, self._seq, attempt))
        self.pump()
        return done

    def _free_slots(self) -> int | None:
        """Free slots now (under the lock), or ``None`` for no limit."""
        if self._slot_setting == AUTO and self._auto_slots is None:
            # connect, or ask again: the cluster says how many threads it has (none yet: 1)
            self._auto_slots = _threads_of(self._current())
        limit = self.slots
        if limit is None:
            return 1 if self._slot_setting == AUTO else None  # AUTO, cluster away: one at a time
        return limit - len(self._in_flight)

    def pump(self) -> None:
        """Send waiting jobs to the executor while slots are free and their tenants are under
        the cap. Called on submit, when a job ends, and by the reaper every tick."""
        while True:
            with self._lock:
                if self._closed or not self._waiting:
                    return
                free = self._free_slots()
                if free is not None and free <= 0:
                    return
                chosen, busy = self._choose()
                if chosen is None:
                    return
                self._in_flight[chosen.seq] = chosen
                try:
                    future = self._send(chosen.job_id, priority=dask_priority(busy, chosen.size))
                except BaseException:
                    self._in_flight.pop(chosen.seq, None)
                    raise
                executor = self._executor
            future.add_done_callback(functools.partial(self._done, chosen, executor))

    def _choose(self) -> tuple[_Waiting | None, int]:
        """The waiting job that goes next and its tenant's jobs in flight (under the lock);
        it is marked handed-over (``sent_at``) in the database. ``(None, 0)``: every waiting
        job's tenant is at its cap."""
        busy = self._busy_tenants()
        capped: set[object] = set()
        for waiting in sorted(self._waiting, key=lambda w: (busy.get(w.tenant, 0), w.size, w.seq)):
            if waiting.tenant in capped:
                continue
            outcome = self._claim(waiting.job_id)
            if outcome == _CAPPED:
                capped.add(waiting.tenant)
                continue
            self._waiting.remove(waiting)
            if outcome == _SENT:
                return waiting, busy.get(waiting.tenant, 0)
            self._release(waiting.job_id)  # _GONE: cancelled, or not ours
        return None, 0

    def _release(self, job_id: uuid.UUID) -> None:
        """Set the job's event unless another submission of it is still waiting or in the
        executor (a lost worker's job queued again while Dask retries its first task)."""
        with self._lock:
            others = [w for w in (*self._waiting, *self._in_flight.values()) if w.job_id == job_id]
            done = None if others else self._pending.pop(job_id, None)
        if done is not None:
            done.set()

    def _busy_tenants(self) -> dict[object, int]:
        """Jobs in flight per waiting tenant: in the database (every front-end), at least this
        runner's own."""
        busy: dict[object, int] = {}
        for sent in self._in_flight.values():
            busy[sent.tenant] = busy.get(sent.tenant, 0) + 1
        clients = sorted({w.tenant for w in self._waiting if isinstance(w.tenant, int)})
        if not clients:
            return busy
        with self.sessions() as session:
            rows = session.execute(
                select(Job.client_id, func.count())
                .where(Job.client_id.in_(clients), in_flight())
                .group_by(Job.client_id)
            ).all()
        for client_id, count in rows:
            busy[client_id] = max(busy.get(client_id, 0), int(count))
        return busy

    def _claim(self, job_id: uuid.UUID) -> str:
        """Mark a waiting job handed over (``sent_at``) if it is still queued under this
        runner's lease and (with a cap) its client has fewer than ``tenant_cap`` other jobs in
        flight: one conditional update, after locking the client's row on PostgreSQL so that
        two front-ends cannot both take the last place.

        Returns:
            ``"sent"``, ``"capped"`` (still queued, wait), or ``"gone"`` (cancelled or no
            longer this runner's).
        """
        mine = (Job.id == job_id) & (Job.status == "queued") & (Job.lease_owner == self.instance_id)
        condition = mine
        with self.sessions() as session:
            if self.tenant_cap > 0:
                if session.get_bind().dialect.name == "postgresql":
                    client_of_job = select(Job.client_id).where(Job.id == job_id).scalar_subquery()
                    session.execute(
                        select(ApiClient.id)
                        .where(ApiClient.id == client_of_job)
                        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: inserts go on
                    )
                other = aliased(Job)
                others = (
                    select(func.count())
                    .select_from(other)
                    .where(other.client_id == Job.client_id, other.id != Job.id, in_flight(other))
                    .correlate(Job)
                    .scalar_subquery()
                )
                condition = mine & (others < self.tenant_cap)
            result = session.execute(
                update(Job).where(condition).values(sent_at=machine_now()),
                execution_options={"synchronize_session": False},
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                session.commit()
                return _SENT
            still_mine = session.scalar(select(func.count()).select_from(Job).where(mine))
            session.commit()
        return _CAPPED if still_mine else _GONE

    def _send(self, job_id: uuid.UUID, *, priority: int) -> Future[Any]:
        """Submit one job to the executor (a new one if the current one broke)."""
        try:
            return self._submit_to(self._current(), job_id, priority)
        except (BrokenExecutor, RuntimeError):
            log.warning("executor unusable; starting a new one")
            self._discard(self._executor)
            return self._submit_to(self._current(), job_id, priority)

    def _submit_to(self, executor: Executor, job_id: uuid.UUID, priority: int) -> Future[Any]:
        prioritised = getattr(executor, "submit_prioritised", None)
        if callable(prioritised):
            future: Future[Any] = prioritised(priority, run_job, str(job_id), self.worker_settings)
            return future
        return executor.submit(run_job, str(job_id), self.worker_settings)

    def _discard(self, executor: Executor | None) -> None:
        with self._lock:
            if executor is not None and executor is self._executor:
                self._executor = None
                with contextlib.suppress(Exception):  # it is broken already
                    executor.shutdown(wait=False, cancel_futures=True)
                if self.on_reconnect is not None:
                    with contextlib.suppress(Exception):
                        self.on_reconnect()

    def _done(self, waiting: _Waiting, executor: Executor | None, future: Future[Any]) -> None:
        with self._lock:
            self._in_flight.pop(waiting.seq, None)
        try:
            self._finish(waiting.job_id, waiting, executor, future)
        finally:
            self.pump()

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
        self._release(job_id)

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
            now = machine_now()
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
    now = machine_now()
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


LOST_ERROR = "worker lost: its heartbeat stopped"


def requeue_lost_jobs(
    sessions: sessionmaker[Session], runner: JobRunner, *, max_attempts: int
) -> list[uuid.UUID]:
    """Running jobs whose worker stopped heartbeating, with starts left (``attempts <
    max_attempts``): queued again under ``runner``'s lease (best plan so far kept) and handed
    to it. One conditional update, so of several front-ends' reapers exactly one takes each."""
    now = machine_now()
    lost = (
        (Job.status == "running")
        & (Job.lease_expires_at < now)
        & (Job.attempts < max_attempts)
        & Job.cancel_requested.is_(False)  # a cancelled one ends failed, with its best plan
    )
    taken: list[tuple[uuid.UUID, int, int]] = []
    with sessions() as session:
        ids = list(session.scalars(select(Job.id).where(lost)))
        for chunk in _chunks(ids):
            rows = session.execute(
                update(Job)
                .where(Job.id.in_(chunk), lost)
                .values(
                    status="queued",
                    lease_owner=runner.instance_id,
                    lease_expires_at=runner.lease_until(now),
                    sent_at=None,
                    heartbeat_at=None,
                    worker_pid=None,
                    progress={
                        "phase": "queued",
                        "elapsed_s": 0.0,
                        "message": "its worker was lost; queued again",
                    },
                )
                .returning(Job.id, Job.client_id, Job.n_demands),
                execution_options={"synchronize_session": False},
            ).all()
            taken += [(row[0], row[1], row[2]) for row in rows]
        session.commit()
    for job_id, client_id, size in taken:
        log.warning("job %s: worker lost, queued again", job_id)
        try:
            runner.submit(job_id, tenant=client_id, size=size)
        except RuntimeError:  # the runner closed meanwhile: the lease runs out, interrupted
            log.warning("job %s: runner closed before the retry", job_id)
    return [job_id for job_id, _client, _size in taken]


def reap_lost_jobs(
    sessions: sessionmaker[Session],
    *,
    runner: JobRunner | None = None,
    max_attempts: int = 1,
) -> list[uuid.UUID]:
    """Lost workers' jobs: queued again under ``runner`` while they have starts left
    (:func:`requeue_lost_jobs`), else ``failed`` ("worker lost", best plan kept); orphaned
    queued ones (their runner's process stopped) → ``interrupted``.

    Args:
        runner: The runner that takes requeued jobs; ``None``: no retries.
        max_attempts: Starts a job may have (``LINLI_JOB_ATTEMPTS``).
    """
    retried = (
        requeue_lost_jobs(sessions, runner, max_attempts=max_attempts)
        if runner is not None and max_attempts > 1
        else []
    )
    now = machine_now()
    with sessions() as session:
        lost = _expire(session, now, "running", "failed", LOST_ERROR)
        orphaned = _expire(
            session,
            now,
            "queued",
            "interrupted",
            "the server process that queued this job stopped; resubmit it",
        )
    for job_id in lost:
        log.warning("job %s: worker lost, marked failed", job_id)
    return retried + lost + orphaned


def purge_idempotency_records(sessions: sessionmaker[Session], older_than_h: float) -> int:
    """Forget idempotency records older than ``older_than_h`` hours."""
    cutoff = machine_now() - timedelta(hours=older_than_h)
    with sessions() as session:
        result = session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff),
            execution_options={"synchronize_session": False},
        )
        session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Reaper:
    """A daemon thread: renews queue leases, requeues or reaps lost jobs, lets the runner send
    jobs that waited for their tenant's cap, purges old idempotency records (and runs the other
    ``purges``, e.g. the contact-details retention, every ten minutes).

    Args:
        max_attempts: Starts a job may have before a lost worker fails it
            (``LINLI_JOB_ATTEMPTS``).
    """

    PURGE_EVERY_S = 600.0

    def __init__(
        self,
        runner: JobRunner,
        *,
        interval_s: float,
        idempotency_ttl_h: float,
        purges: Sequence[Callable[[], object]] = (),
        max_attempts: int = 3,
    ) -> None:
        self.runner = runner
        self.max_attempts = max_attempts
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
        reap_lost_jobs(self.runner.sessions, runner=self.runner, max_attempts=self.max_attempts)
        self.runner.pump()

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
