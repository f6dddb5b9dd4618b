"""The service's settings: environment variables, overridable by the ``create_app`` config dict.

Every setting has one name, used both as the environment variable and as the key of the dict
passed to :func:`service.app.create_app` (the dict wins). Values from the environment are
strings and are parsed here; values from the dict may already have their Python type.

==============================  =========================================================  =========
name                            meaning                                                    default
==============================  =========================================================  =========
``LINLI_DATABASE_URL``          SQLAlchemy URL (``postgresql+psycopg://...`` or sqlite)    instance
``LINLI_AUTO_MIGRATE``          run ``alembic upgrade head`` in ``create_app``             true
``LINLI_MAX_BODY_MB``           largest request body (413 above it)                        64
``LINLI_MAX_MEMBERS``           most members in one problem (422 above it)                 50000
``LINLI_MAX_DEMANDS``           most demands in one problem                                200000
``LINLI_MAX_TEAMS``             most teams in one problem                                  20000
``LINLI_MAX_TIME_LIMIT_S``      cap on ``options.time_limit_s`` (clamped, reported)        300
``LINLI_MAX_WORKERS``           solver processes per server (capped at the cores)          cores
``LINLI_SOLVER_PROCESSES``      solver processes of this app's pool (set by run_server)    derived
``LINLI_SOLVER_NICE``           nice increment of solver processes (requests come first)   10
``LINLI_SYNC_MAX_DEMANDS``      larger problems always run as async jobs (202)             1000
``LINLI_SYNC_MAX_TIME_LIMIT_S`` longer time limits always run as async jobs                30
``LINLI_SYNC_GRACE_S``          a sync request waits time limit + this, then answers 202   10
``LINLI_RATE_LIMIT``            requests per client: ``N/second|minute|hour`` or ``off``   600/min
``LINLI_RATE_BURST``            token-bucket size (burst)                                  N
``LINLI_LEASE_TTL_S``           a job's lease lasts this long without a heartbeat          6
``LINLI_HEARTBEAT_S``           a worker renews its lease and progress this often          1
``LINLI_CANCEL_POLL_S``         a worker reads its job's cancel flag this often            0.2
``LINLI_REAPER_INTERVAL_S``     the reaper looks for lost jobs this often                  1
``LINLI_CANCEL_WAIT_S``         ``DELETE /jobs/{id}`` waits this long for the final plan   5
``LINLI_IDEMPOTENCY_TTL_H``     idempotency records are kept this long                     24
``LINLI_SECRET_KEY``            signs people's session cookies                             instance
``LINLI_DATA_KEY``              Fernet key encrypting residents' contact details           instance
``LINLI_SECURE_COOKIES``        session cookies only over HTTPS (``Secure`` flag)          true
``LINLI_SESSION_HOURS``         a person's login lasts this long                           12
``LINLI_RETENTION_DAYS``        closed demands' contact details are purged after (days)    180
``LINLI_EXECUTOR``              where jobs run: ``process`` or ``dask://host:port``        process
``LINLI_EXECUTOR_SLOTS``        jobs this app keeps in the executor at once (``auto``)     auto
``LINLI_TENANT_MAX_RUNNING``    one API client's jobs in flight, cluster-wide (0: no cap)  0
``LINLI_JOB_ATTEMPTS``          a job whose worker is lost is run again, this many in all  3
``LINLI_FAN_OUT_MIN_DEMANDS``   on Dask, a job this large spreads its search (0: never)    0
==============================  =========================================================  =========

``instance``: ``sqlite:///<Flask instance path>/linli.sqlite3``; for the keys, a random key
generated once and kept in the instance folder (mode 0600). Production sets both keys (the
same on every host); losing the data key loses the residents' contact details.

``LINLI_EXECUTOR``: ``process`` is this app's own process pool (``LINLI_SOLVER_PROCESSES``);
``dask://host:port`` sends every job to the Dask scheduler there (:mod:`service.jobs.executors`),
whose workers must run this project and reach ``LINLI_DATABASE_URL``.

``LINLI_EXECUTOR_SLOTS``: ``auto`` (or 0) is the pool's size for ``process`` and, for Dask, the
cluster's worker threads as the scheduler reports them when the runner connects (at least 1);
the runner holds further jobs and sends the fairest next (:class:`service.jobs.runner.JobRunner`).
``LINLI_TENANT_MAX_RUNNING``: no front-end hands an API client's job to the executor while that
client has this many jobs running or handed over in the database (all front-ends together); 0
leaves it to the fair choice and the Dask priorities. ``LINLI_JOB_ATTEMPTS``: how many times a
job may be started; after the last lost worker it ends ``failed`` with its best plan so far.
``LINLI_FAN_OUT_MIN_DEMANDS``: a dispatch job with at least this many open demands, running on
a Dask worker, sends its neighbourhood sub-models to every worker of the cluster
(:mod:`service.jobs.fan_out`); the plan then depends on the seed, not on the number of workers, but
differs from the one-process search's. Off by default: on the machines measured the sub-models
are small and the fan-out did not pay (``benchmarks/results/fanout.md``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

PREFIX = "LINLI_"

DASK_SCHEME = "dask://"

_PERIODS_S = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


def cpu_count() -> int:
    """The cores this process may use (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``burst`` tokens, refilled at ``per_s`` tokens a second."""

    per_s: float
    burst: float


@dataclass(frozen=True)
class Settings:
    """The parsed settings; see the module docstring for each one."""

    database_url: str
    auto_migrate: bool = True
    max_body_mb: float = 64.0
    max_members: int = 50_000
    max_demands: int = 200_000
    max_teams: int = 20_000
    max_time_limit_s: float = 300.0
    max_workers: int = 0
    solver_processes: int = 0
    solver_nice: int = 10
    sync_max_demands: int = 1000
    sync_max_time_limit_s: float = 30.0
    sync_grace_s: float = 10.0
    rate_limit: RateLimit | None = RateLimit(per_s=10.0, burst=600.0)
    lease_ttl_s: float = 6.0
    heartbeat_s: float = 1.0
    cancel_poll_s: float = 0.2
    reaper_interval_s: float = 1.0
    cancel_wait_s: float = 5.0
    idempotency_ttl_h: float = 24.0
    secret_key: str = ""
    data_key: str = ""
    secure_cookies: bool = True
    session_hours: float = 12.0
    retention_days: float = 180.0
    executor: str = "process"
    executor_slots: int = 0
    tenant_max_running: int = 0
    job_attempts: int = 3
    fan_out_min_demands: int = 0

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def pool_size(self) -> int:
        """Solver processes of this app: never more than the cores (the solver is one thread)."""
        if self.solver_processes > 0:
            return self.solver_processes
        cap = self.max_workers if self.max_workers > 0 else cpu_count()
        return max(1, min(cpu_count(), cap))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_rate_limit(value: Any, burst: Any = None) -> RateLimit | None:
    """``"600/minute"`` → 10 tokens/s with a bucket of 600; ``off``/``0``/empty → no limit."""
    if value is None or isinstance(value, RateLimit):
        return value
    text = str(value).strip().lower()
    if text in {"", "0", "off", "none", "false"}:
        return None
    count_text, _, period = text.partition("/")
    count = float(count_text)
    seconds = _PERIODS_S.get(period.strip() or "second")
    if seconds is None or count <= 0:
        raise ValueError(f"LINLI_RATE_LIMIT must look like 600/minute, got {value!r}")
    size = float(burst) if burst not in (None, "") else count
    return RateLimit(per_s=count / seconds, burst=max(1.0, size))


def parse_executor(value: Any) -> str:
    """``process`` (or empty) → ``"process"``; ``dask://host:port`` → itself, normalised.

    Raises:
        ValueError: Any other value (``load_settings`` prefixes ``LINLI_EXECUTOR:``).
    """
    text = str(value).strip()
    if text.lower() in {"", "process"}:
        return "process"
    if text.lower().startswith(DASK_SCHEME):
        host, sep, port = text[len(DASK_SCHEME) :].rstrip("/").rpartition(":")
        if sep and host and "/" not in host and port.isdigit() and 0 < int(port) < 65536:
            return f"{DASK_SCHEME}{host}:{int(port)}"
    raise ValueError(f"must be 'process' or 'dask://host:port', got {value!r}")


def parse_slots(value: Any) -> int:
    """``auto`` (or ``0``) → 0, meaning derived from the executor; else a whole number ≥ 1.

    Raises:
        ValueError: Anything else (``load_settings`` prefixes ``LINLI_EXECUTOR_SLOTS:``).
    """
    text = str(value).strip().lower()
    if text == "auto":
        return 0
    return _whole(value, minimum=0, hint="'auto' or a whole number >= 1")


def _whole(value: Any, *, minimum: int, hint: str) -> int:
    """``value`` as an int ≥ ``minimum`` (bools and fractions refused)."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.lstrip("+").isdigit() or int(text) < minimum:
        raise ValueError(f"must be {hint}, got {value!r}")
    return int(text)


def _non_negative(value: Any) -> int:
    return _whole(value, minimum=0, hint="a whole number >= 0 (0: no cap)")


def _threshold(value: Any) -> int:
    return _whole(value, minimum=0, hint="a whole number >= 0 (0: never)")


def _positive(value: Any) -> int:
    return _whole(value, minimum=1, hint="a whole number >= 1")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "auto_migrate": _bool,
    "max_body_mb": float,
    "max_members": int,
    "max_demands": int,
    "max_teams": int,
    "max_time_limit_s": float,
    "max_workers": int,
    "solver_processes": int,
    "solver_nice": int,
    "sync_max_demands": int,
    "sync_max_time_limit_s": float,
    "sync_grace_s": float,
    "lease_ttl_s": float,
    "heartbeat_s": float,
    "cancel_poll_s": float,
    "reaper_interval_s": float,
    "cancel_wait_s": float,
    "idempotency_ttl_h": float,
    "secret_key": str,
    "data_key": str,
    "secure_cookies": _bool,
    "session_hours": float,
    "retention_days": float,
    "executor": parse_executor,
    "executor_slots": parse_slots,
    "tenant_max_running": _non_negative,
    "job_attempts": _positive,
    "fan_out_min_demands": _threshold,
}


def load_settings(
    config: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    default_database_url: str,
) -> Settings:
    """Settings from ``environ`` (default: ``os.environ``), overridden by ``config``.

    Raises:
        ValueError: If a value cannot be parsed (the message names the setting).
    """
    source: dict[str, Any] = {
        k: v
        for k, v in (os.environ if environ is None else environ).items()
        if k.startswith(PREFIX)
    }
    source.update({k: v for k, v in (config or {}).items() if k.startswith(PREFIX)})
    values: dict[str, Any] = {
        "database_url": source.get("LINLI_DATABASE_URL") or default_database_url
    }
    for field in fields(Settings):
        name = PREFIX + field.name.upper()
        if field.name in _CONVERTERS and name in source and source[name] not in (None, ""):
            try:
                values[field.name] = _CONVERTERS[field.name](source[name])
            except (TypeError, ValueError) as err:
                raise ValueError(f"{name}: {err}") from err
    if "LINLI_RATE_LIMIT" in source or "LINLI_RATE_BURST" in source:
        try:
            values["rate_limit"] = parse_rate_limit(
                source.get("LINLI_RATE_LIMIT", "600/minute"), source.get("LINLI_RATE_BURST")
            )
        except (TypeError, ValueError) as err:
            raise ValueError(f"LINLI_RATE_LIMIT: {err}") from err
    return Settings(**values)
