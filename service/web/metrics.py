"""Prometheus metrics: requests, solve durations, queue depth, running jobs and the executor.

Counters and histograms live in this process (one registry per app). Under gunicorn with several
workers, :func:`service.cli.server.run_server` sets ``PROMETHEUS_MULTIPROC_DIR`` so every worker's
values are summed in ``/metrics`` (prometheus_client's multiprocess mode). Queue depth and
running jobs are read from the database at scrape time, so they are right for the whole service.

The executor's gauges are read at scrape time from the job runner of the process that answers
the scrape: ``linli_executor_workers{kind}`` (the executor's ``describe()``: a Dask cluster's
connected workers, left out while the scheduler does not answer), ``linli_executor_slots``
(jobs the runner keeps in the executor at once; left out when unlimited or not known yet),
``linli_jobs_in_flight`` (its jobs in the executor) and ``linli_jobs_waiting`` (its jobs held for
a slot or for their client's cap). ``linli_executor_reconnects_total`` counts executors
replaced after breaking (e.g. the Dask scheduler was lost).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.db.jobs import Job

if TYPE_CHECKING:
    from service.jobs.runner import JobRunner

SOLVE_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class JobGauges(Collector):
    """``linli_jobs_queued`` and ``linli_jobs_running``, counted in the database."""

    def __init__(self, sessions: sessionmaker[Session], pool_size: int) -> None:
        self.sessions = sessions
        self.pool_size = pool_size

    def collect(self) -> Iterator[Metric]:
        counts = {"queued": 0, "running": 0}
        try:
            with self.sessions() as session:
                rows = session.execute(
                    select(Job.status, func.count())
                    .where(Job.status.in_(tuple(counts)))
                    .group_by(Job.status)
                ).all()
            counts.update({status: int(n) for status, n in rows})
        except Exception:
            return
        yield GaugeMetricFamily(
            "linli_jobs_queued", "Jobs waiting for a solver process (queue depth)", counts["queued"]
        )
        yield GaugeMetricFamily("linli_jobs_running", "Jobs being solved", counts["running"])
        yield GaugeMetricFamily(
            "linli_solver_processes", "Solver processes of this server process", self.pool_size
        )


class ExecutorGauges(Collector):
    """The executor's workers and slots and the runner's jobs in flight and waiting, read from
    the job runner at scrape time."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner

    def collect(self) -> Iterator[Metric]:
        from service.jobs.executors import describe_executor

        described = describe_executor(self.runner.executor_factory)
        workers = GaugeMetricFamily(
            "linli_executor_workers",
            "Workers of the job executor (a Dask cluster's connected workers, the pool's size)",
            labels=["kind"],
        )
        if described.get("workers") is not None:
            workers.add_metric([str(described.get("kind"))], float(described["workers"]))
        yield workers
        slots = self.runner.slots
        if slots is not None:
            yield GaugeMetricFamily(
                "linli_executor_slots", "Jobs this runner keeps in the executor at once", slots
            )
        counts = self.runner.counts()
        yield GaugeMetricFamily(
            "linli_jobs_in_flight", "This runner's jobs in the executor", counts["in_flight"]
        )
        yield GaugeMetricFamily(
            "linli_jobs_waiting",
            "This runner's queued jobs held for a slot or their client's cap",
            counts["waiting"],
        )


class Metrics:
    """The app's metrics and their text exposition."""

    def __init__(self, sessions: sessionmaker[Session], *, pool_size: int) -> None:
        if _multiprocess() and prometheus_values.ValueClass.__name__ != "MmapedValue":
            # prometheus_client picks its value class at import; the variable may be set later.
            prometheus_values.ValueClass = prometheus_values.get_value_class()
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "linli_http_requests",
            "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "linli_http_request_duration_seconds",
            "HTTP request latency by endpoint",
            ["endpoint", "method"],
            buckets=REQUEST_BUCKETS_S,
            registry=self.registry,
        )
        self.solve_seconds = Histogram(
            "linli_solve_duration_seconds",
            "Wall time of solves in worker processes, by final status",
            ["status"],
            buckets=SOLVE_BUCKETS_S,
            registry=self.registry,
        )
        self.jobs_submitted = Counter(
            "linli_jobs_submitted",
            "Jobs handed to the executor, by mode (sync, async)",
            ["mode"],
            registry=self.registry,
        )
        self.executor_reconnects = Counter(
            "linli_executor_reconnects",
            "Job executors replaced after breaking (e.g. the Dask scheduler was lost)",
            registry=self.registry,
        )
        self.gauges = JobGauges(sessions, pool_size)
        self.executor_gauges: ExecutorGauges | None = None

    def watch(self, runner: JobRunner) -> None:
        """Report ``runner``'s executor gauges at each scrape."""
        self.executor_gauges = ExecutorGauges(runner)

    def observe_solve(self, result: dict[str, object]) -> None:
        """The job runner's ``on_finished`` callback."""
        status = str(result.get("status", "unknown"))
        if status in {"skipped"}:
            return
        solve_s = result.get("solve_s", 0.0)
        self.solve_seconds.labels(status=status).observe(
            float(solve_s) if isinstance(solve_s, int | float) else 0.0
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if _multiprocess():
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = CollectorRegistry()
            registry.register(_Forward(self.registry))
        registry.register(self.gauges)
        if self.executor_gauges is not None:
            registry.register(self.executor_gauges)
        return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward(Collector):
    """Another registry's metrics, so the database gauges can be added per scrape."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
