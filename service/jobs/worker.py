"""What runs in a worker process: take a job's lease, solve, heartbeat, write the answer.

:func:`run_job` is the one function handed to the executor. It needs only the job id and
:class:`WorkerSettings` (picklable, small), opens its own database engine, and so runs the same
in a local process pool or on a remote (Dask) worker that reaches the database.

While the engine solves, a heartbeat thread

* renews the lease (``lease_expires_at``, ``heartbeat_at``) and stores the latest progress
  every ``heartbeat_s`` (about a second), and
* reads the job's ``cancel_requested`` flag every ``cancel_poll_s``; the engine's ``stop()``
  callback (polled every 50 ms inside the engine) returns that flag, so a cancelled solve ends
  with the best plan found so far.

A job's ``kind`` picks the engine (:func:`service.contracts.solving.solve_json`): ``dispatch``,
``visits`` (no stop callback: a visit job cancelled while running ends when its solve does,
keeping the whole schedule), or a long-term matching (``posts``, ``groups``, ``pairs``).

Every write is guarded by ``lease_owner``: a worker whose lease was taken away (the reaper
declared it lost, and queued the job again or failed it) can no longer change the job. Taking
the lease counts a start (``attempts``), which bounds the retries of a job whose workers die.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from service.contracts.solving import solve_json
from service.db.base import machine_now
from service.db.engine import make_engine
from service.db.jobs import Job
from service.jobs.fan_out import cluster_executor
from service.jobs.limits import SOLVER_THREADS

log = logging.getLogger(__name__)

SOLVER_FAILED = "the solver failed on this problem: an internal error, logged by the server"
"""The error a failed job shows: it names no exception, module or line (those go to the log)."""

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs besides the job id."""

    database_url: str
    lease_ttl_s: float = 6.0
    heartbeat_s: float = 1.0
    cancel_poll_s: float = 0.2
    snapshot_every_s: float = 5.0  # how often the best plan so far is stored (it costs a dump)
    fan_out_min_demands: int = 0  # on a Dask worker, fan the search out from this many; 0: never


def _engine(url: str) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = make_engine(url, pool_size=2)
        return engine


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def worker_id() -> str:
    """``host:pid:random``: who holds a lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """A running job's lease: heartbeat, progress and cancel flag, kept by a thread."""

    def __init__(self, engine: Engine, job_id: uuid.UUID, owner: str, settings: WorkerSettings):
        self.engine = engine
        self.job_id = job_id
        self.owner = owner
        self.settings = settings
        self.cancelled = False
        self.lost = False
        self._stop = threading.Event()
        self._done = threading.Event()
        self._progress: dict[str, Any] | None = None
        self._written: dict[str, Any] | None = None
        self._best: dict[str, Any] | None = None  # the best answer so far, dumped
        self._best_written: dict[str, Any] | None = None
        self._best_at = 0.0
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def held(self) -> Any:
        """SQL condition: the job is running under this lease."""
        return (Job.id == self.job_id) & (Job.lease_owner == self.owner) & (Job.status == "running")

    # -- engine callbacks ------------------------------------------------------------------

    def report(self, event: Any) -> None:
        """The engine's ``progress`` callback: remember the latest event."""
        self._progress = {
            "phase": str(event.phase),
            "elapsed_s": round(float(event.elapsed_s), 3),
            "objective": _finite(event.objective),
            "bound": _finite(event.bound),
            "message": str(event.message or ""),
        }
        snapshot = getattr(event, "snapshot", None)
        now = time.monotonic()
        if snapshot is not None and now - self._best_at >= self.settings.snapshot_every_s:
            from service.contracts.dispatch import dump_answer

            self._best = dump_answer(snapshot())  # inside the callback: the plan is consistent
            self._best_at = time.monotonic()

    def report_visits(self, phase: str, figures: dict[str, object]) -> None:
        """``solve_visits``' ``progress`` callback: remember the latest phase and figures."""
        elapsed = figures.get("elapsed_s", 0.0)
        objective = figures.get("objective")
        self._progress = {
            "phase": phase,
            "elapsed_s": round(float(elapsed), 3) if isinstance(elapsed, int | float) else 0.0,
            "objective": _finite(objective) if isinstance(objective, int | float) else None,
            "bound": None,  # sessions and their bound are in the message, not in objective units
            "message": " ".join(f"{k}={v}" for k, v in figures.items() if k != "elapsed_s"),
        }

    def should_stop(self) -> bool:
        """The engine's ``stop`` callback: true once the job is cancelled or the lease is lost."""
        return self._stop.is_set()

    # -- thread ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        next_beat = time.monotonic() + self.settings.heartbeat_s
        while not self._done.wait(self.settings.cancel_poll_s):
            try:
                self._poll_cancel()
                if time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + self.settings.heartbeat_s
            except Exception as exc:
                log.warning("job %s: heartbeat failed (%s)", self.job_id, type(exc).__name__)

    def _poll_cancel(self) -> None:
        with Session(self.engine) as session:
            row = session.execute(
                select(Job.cancel_requested, Job.status, Job.lease_owner).where(
                    Job.id == self.job_id
                )
            ).first()
        if row is None or row.status != "running" or row.lease_owner != self.owner:
            self.lost = True
            self._stop.set()
        elif row.cancel_requested:
            self.cancelled = True
            self._stop.set()

    def _beat(self) -> None:
        now = machine_now()
        values: dict[str, Any] = {
            "heartbeat_at": now,
            "lease_expires_at": now + timedelta(seconds=self.settings.lease_ttl_s),
        }
        progress = self._progress
        if progress is not None and progress is not self._written:
            values["progress"] = {**progress, "updated_at": now.isoformat()}
        best = self._best
        if best is not None and best is not self._best_written:
            values["best_answer"] = best
        with Session(self.engine) as session:
            result = session.execute(
                update(Job).where(self.held()).values(**values),
                execution_options={"synchronize_session": False},
            )
            session.commit()
        if result.rowcount == 0:  # type: ignore[attr-defined]
            self.lost = True
            self._stop.set()
        else:
            self._written = progress
            self._best_written = best


def _take_lease(engine: Engine, job_id: uuid.UUID, owner: str, settings: WorkerSettings) -> bool:
    now = machine_now()
    with Session(engine) as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued", Job.cancel_requested.is_(False))
            .values(
                status="running",
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=settings.lease_ttl_s),
                heartbeat_at=now,
                started_at=now,
                worker_pid=os.getpid(),
                attempts=Job.attempts + 1,
                progress={"phase": "starting", "elapsed_s": 0.0, "updated_at": now.isoformat()},
            ),
            execution_options={"synchronize_session": False},
        )
        session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _finish(engine: Engine, lease: Lease, values: dict[str, Any]) -> bool:
    now = machine_now()
    with Session(engine) as session:
        result = session.execute(
            update(Job)
            .where(lease.held())
            .values(finished_at=now, lease_expires_at=None, **values),
            execution_options={"synchronize_session": False},
        )
        session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def run_job(job_id: str, settings: WorkerSettings) -> dict[str, Any]:
    """Solve one queued job (dispatch or visits, by its ``kind``) and store its outcome; never
    raises for a solver failure.

    Returns:
        ``{"job_id", "status", "solve_s"}``; ``status`` is the job's final status, or
        ``"skipped"`` if the job was no longer queued (cancelled, taken by another worker, or
        still ``running`` under a lost worker's lease that the reaper has not requeued yet),
        or ``"lost"`` if the lease was taken away before the answer could be stored.
    """
    engine = _engine(settings.database_url)
    key = uuid.UUID(job_id)
    owner = worker_id()
    if not _take_lease(engine, key, owner, settings):
        return {"job_id": job_id, "status": "skipped", "solve_s": 0.0}
    lease = Lease(engine, key, owner, settings)
    lease.start()
    started = time.perf_counter()
    try:
        with Session(engine) as session:
            kind, problem_json = session.execute(
                select(Job.kind, Job.problem).where(Job.id == key)
            ).one()
        solved = solve_json(
            kind,
            problem_json,
            progress=lease.report,
            visit_progress=lease.report_visits,
            stop=lease.should_stop,
            executor_for=lambda problem: cluster_executor(problem, settings.fan_out_min_demands),
            visit_workers=SOLVER_THREADS,
        )
        answer_json, objective, bound = solved.answer, solved.objective, solved.bound
        lease.close()
        elapsed = time.perf_counter() - started
        status = "cancelled" if lease.cancelled else "succeeded"
        progress = {
            "phase": "done",
            "elapsed_s": round(elapsed, 3),
            "objective": _finite(objective),
            "bound": _finite(bound),
            "message": "cancelled: best plan found so far" if lease.cancelled else "",
            "updated_at": machine_now().isoformat(),
        }
        stored = _finish(
            engine, lease, {"status": status, "answer": answer_json, "progress": progress}
        )
    except Exception as exc:
        lease.close()
        elapsed = time.perf_counter() - started
        log.error(
            "job %s failed: %s\n%s",
            job_id,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        status = "failed"
        try:
            stored = _finish(engine, lease, {"status": "failed", "error": SOLVER_FAILED})
        except Exception:
            stored = False
    return {"job_id": job_id, "status": status if stored else "lost", "solve_s": elapsed}
