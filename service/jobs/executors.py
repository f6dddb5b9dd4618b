"""Where jobs run: the default process pool or a Dask cluster, chosen by ``LINLI_EXECUTOR``.

:func:`executor_factory` turns the setting into the ``executor_factory`` that
:class:`service.jobs.runner.JobRunner` takes. Both kinds are standard
:class:`concurrent.futures.Executor`
objects, so the runner, the leases, the reaper and :func:`service.jobs.worker.run_job` are the same
on one machine and on a cluster:

* ``process`` (default): a spawn-context process pool of ``Settings.pool_size`` solvers.
* ``dask://host:port``: ``distributed.Client("tcp://host:port").get_executor()``. The Dask
  workers import this project (same version, same environment) and reach the database; a task
  is the module-level :func:`service.jobs.worker.run_job` with the job id and
  :class:`~service.jobs.worker.WorkerSettings` (both pickle by reference), so no code is shipped.

Dask keeps no durable queue: the job's row is the truth. A task on a worker that dies is
retried by the scheduler on another worker; since the first attempt already took the job's lease,
the retry finds the job running and skips it. Once the dead worker's lease runs out, a reaper
(:func:`service.jobs.runner.requeue_lost_jobs`, any front-end's, exactly one by a conditional
update)
queues the job again under its own runner, which sends it as a new task; after
``LINLI_JOB_ATTEMPTS`` lost starts the job ends ``failed`` (worker lost, its best plan so far
kept). If the scheduler itself is lost, its tasks are cancelled; :class:`DaskExecutor` reports
that as a broken executor, so the runner connects again (a job is submitted at most three
times) and resubmits the jobs whose rows are still ``queued``; a job that was running ends
``succeeded`` if its worker finishes it, else it is queued again by the reaper like any lost
worker's job. Dask workers exit when they lose their scheduler: run them under a service manager
that restarts them (README, deployment).

Fairness: each task carries a Dask ``priority`` (:func:`service.jobs.runner.dask_priority`: fewer
jobs
of its client in flight first, then smaller), so the scheduler orders the tasks of several
front-ends alike; :meth:`DaskExecutor.threads` gives the runner its default number of slots.

:func:`solve_problem_json` is the task of ``linli dispatch --executor``: JSON in, JSON out, so
it needs no database.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future
from typing import Any

from service.config.settings import DASK_SCHEME, Settings, parse_executor
from service.jobs.runner import ExecutorFactory, process_pool_factory

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
RETRY_AFTER_S = 5.0
PROBE_TIMEOUT_S = 2.0
CLOSE_TIMEOUT_S = 5.0


def dask_address(executor: str) -> str | None:
    """The scheduler address (``tcp://host:port``) of a parsed ``LINLI_EXECUTOR``, or None for
    ``process``."""
    spec = parse_executor(executor)
    return None if spec == "process" else "tcp://" + spec[len(DASK_SCHEME) :]


def connect(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address`` (``tcp://host:port``).

    Raises:
        OSError: The scheduler did not answer within ``timeout_s``.
    """
    from distributed import Client

    return Client(address, timeout=timeout_s, set_as_default=False)


class DaskExecutor(Executor):
    """A Dask client's executor that owns its client (closed with the executor).

    ``distributed``'s ``ClientExecutor`` neither closes its client nor takes the
    ``cancel_futures`` argument of :meth:`concurrent.futures.Executor.shutdown`; this does both.

    Args:
        client: A connected ``distributed.Client`` (see :func:`connect`).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        # pure=False: a resubmitted job (same id, same settings) is a new task, never a result
        # Dask still remembers.
        self._executor = client.get_executor(pure=False)
        self._shut_down = False
        self._lost = False  # the scheduler was lost: later cancellations are losses too

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Submit ``fn(*args, **kwargs)``; its future fails with :class:`BrokenExecutor` if the
        scheduler is lost before the task ends (Dask then cancels the task), so that
        :class:`~service.jobs.runner.JobRunner` starts a new client and resubmits the job if its row
        is still ``queued``."""
        return self._relay(self._executor.submit(fn, *args, **kwargs))

    def _relay(self, inner: Future[Any]) -> Future[Any]:
        """A future that follows ``inner`` and turns the scheduler's loss into
        :class:`BrokenExecutor`."""
        outer: Future[Any] = Future()

        def relay(done: Future[Any]) -> None:
            if not done.cancelled():
                error = done.exception()
                if error is None:
                    outer.set_result(done.result())
                else:
                    outer.set_exception(error)
            elif self._shut_down and not self._lost:
                outer.cancel()  # this executor was shut down on purpose
            else:
                # the scheduler is gone (Dask cancels its tasks). This runs in the client's
                # event loop, and the runner closes this client and opens a new one in its
                # callback, which must not happen on that loop.
                self._lost = True
                broken = BrokenExecutor("the connection to the Dask scheduler was lost")
                threading.Thread(
                    target=outer.set_exception, args=(broken,), name="linli-dask-lost", daemon=True
                ).start()

        inner.add_done_callback(relay)
        return outer

    def submit_prioritised(
        self, priority: int, fn: Callable[..., Any], /, *args: Any
    ) -> Future[Any]:
        """:meth:`submit` with a Dask ``priority`` (higher runs first, among the tasks the
        scheduler holds and on each worker; ``distributed.Client.submit``'s keyword)."""
        return self._relay(self._executor.submit(fn, *args, priority=priority))

    def workers(self) -> int:
        """Workers connected to the scheduler now."""
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def threads(self) -> int:
        """Worker threads on the cluster now (the sum of the workers' ``nthreads``)."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return sum(int(info.get("nthreads", 0)) for info in workers.values())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop: wait for the tasks (``wait`` and not ``cancel_futures``) or cancel them, then
        close the client. After the scheduler was lost, only close the client (its tasks are
        gone already)."""
        self._shut_down = True
        if not self._lost:
            with contextlib.suppress(Exception):  # the scheduler may be going away meanwhile
                self._executor.shutdown(wait=wait and not cancel_futures)
        with contextlib.suppress(Exception):
            self.client.close(timeout=CLOSE_TIMEOUT_S)


class Unreachable(Executor):
    """Stands for a Dask scheduler that does not answer: every future fails at once with
    :class:`BrokenExecutor`."""

    def __init__(self, address: str) -> None:
        self.address = address

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(
            BrokenExecutor(f"the Dask scheduler at {self.address} does not answer")
        )
        return future


class DaskExecutorFactory:
    """Makes :class:`DaskExecutor` objects on one scheduler; describes the cluster (health).

    The client that :meth:`describe` connects (when no job has run yet) is the one the next
    executor uses, so a health probe never leaves a second connection behind.

    Args:
        address: The scheduler, ``tcp://host:port``.
        timeout_s: How long the runner waits for the scheduler when it needs an executor.
        probe_timeout_s: How long a health probe waits for it.
    """

    kind = "dask"

    def __init__(
        self,
        address: str,
        *,
        timeout_s: float = CONNECT_TIMEOUT_S,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self.probe_timeout_s = probe_timeout_s
        self.retry_after_s = RETRY_AFTER_S
        self._retry_at = 0.0
        self._client: Any = None
        self._lock = threading.Lock()

    def _connected(self, timeout_s: float) -> Any:
        with self._lock:
            if self._client is None or self._client.status not in ("running", "connecting"):
                self._client = connect(self.address, timeout_s=timeout_s)
            return self._client

    def __call__(self) -> Executor:
        """A :class:`DaskExecutor`; while the scheduler does not answer, an executor whose
        futures fail with :class:`BrokenExecutor` (the runner retries, then leaves the job
        ``queued`` for the reaper to mark ``interrupted``: resubmittable, never stuck). After a
        failed connection the next ``retry_after_s`` seconds do not wait for the scheduler
        again."""
        if time.monotonic() < self._retry_at:
            return Unreachable(self.address)
        try:
            return DaskExecutor(self._connected(self.timeout_s))
        except Exception as exc:
            log.warning("Dask scheduler %s does not answer (%s)", self.address, exc)
            self._retry_at = time.monotonic() + self.retry_after_s
            return Unreachable(self.address)

    def describe(self) -> dict[str, Any]:
        """``{"kind": "dask", "address", "workers"}``; ``workers`` is None when the scheduler
        does not answer within ``probe_timeout_s``."""
        workers: int | None
        try:
            client = self._connected(self.probe_timeout_s)
            workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        except Exception:  # the scheduler is away: unknown, not an error of this request
            workers = None
        return {"kind": self.kind, "address": self.address, "workers": workers}

    def close(self) -> None:
        """Close the client (an executor that uses it stops with it)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


class ProcessExecutorFactory:
    """The default: :func:`service.jobs.runner.process_pool_factory`, with a description for
    health."""

    kind = "process"

    def __init__(self, max_workers: int, *, niceness: int = 10) -> None:
        self.max_workers = max_workers
        self._make = process_pool_factory(max_workers, niceness=niceness)

    def __call__(self) -> Executor:
        return self._make()

    def describe(self) -> dict[str, Any]:
        """``{"kind": "process", "address": None, "workers": <pool size>}``."""
        return {"kind": self.kind, "address": None, "workers": self.max_workers}


def executor_factory(settings: Settings) -> ExecutorFactory:
    """The job executor factory that ``settings.executor`` names.

    Returns:
        A callable making a :class:`concurrent.futures.Executor`; it also has ``kind`` and
        ``describe()`` (used by ``GET /readyz?verbose=true``).
    """
    address = dask_address(settings.executor)
    if address is not None:
        return DaskExecutorFactory(address)
    return ProcessExecutorFactory(settings.pool_size, niceness=settings.solver_nice)


def describe_executor(factory: object) -> dict[str, Any]:
    """What ``factory`` is, for health checks: its ``describe()``, else ``{"kind": "custom"}``
    (an ``EXECUTOR_FACTORY`` given to ``create_app``)."""
    describe = getattr(factory, "describe", None)
    if callable(describe):
        return dict(describe())
    return {"kind": "custom", "address": None, "workers": None}


def solve_problem_json(
    problem_json: dict[str, Any],
    *,
    time_limit_s: float | None,
    seed: int | None,
    workers: int | None,
    fan_out_min_demands: int = 0,
) -> dict[str, Any]:
    """Solve a dispatch problem given as contract JSON and return the answer JSON.

    The task of ``linli dispatch --executor``: module-level and JSON in and out, so it pickles
    by reference and runs on any worker that imports this project. On a Dask worker, a
    problem of at least ``fan_out_min_demands`` open demands (0: never) spreads its search over
    the cluster (:mod:`service.jobs.fan_out`).
    """
    from matcher.dispatch.solve import solve
    from service.contracts.dispatch import dump_answer, load_problem
    from service.jobs.fan_out import cluster_executor

    problem = load_problem(problem_json)
    with cluster_executor(problem, fan_out_min_demands) as executor:
        answer = solve(
            problem, time_limit_s=time_limit_s, seed=seed, workers=workers, executor=executor
        )
    return dump_answer(answer)


def make_executor(executor: str) -> Executor:
    """One executor for one-off work (the CLI): ``process`` is a one-process pool,
    ``dask://host:port`` a client of that scheduler.

    Raises:
        ValueError: ``executor`` is neither.
        OSError: The scheduler does not answer within :data:`CONNECT_TIMEOUT_S`.
    """
    address = dask_address(executor)
    if address is not None:
        return DaskExecutor(connect(address))
    return process_pool_factory(1, niceness=0)()
