"""Limits against abuse: body size, item counts, solver caps and a per-client rate limit.

The rate limit is a token bucket **in memory, per server process**: each gunicorn worker keeps
its own buckets, so with ``N`` workers a client may reach up to ``N`` times the configured rate
before every worker refuses it. That keeps a read free of database writes; a shared (database
or Redis) bucket can replace :class:`RateLimiter` behind the same ``take`` method.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.config.settings import RateLimit, Settings

SOLVER_THREADS = 1
"""Threads one solve uses: the engine runs HiGHS single-threaded, so ``workers`` is capped at 1."""

ITEM_LIMITS = ("members", "demands", "teams")


def item_count_errors(data: object, settings: Settings) -> dict[str, list[str]]:
    """Lists in the raw JSON that are longer than the server allows, before any parsing.

    Returns:
        ``{"demands": ["at most 200000 items"]}`` for each list over its limit (empty if none).
    """
    if not isinstance(data, Mapping):
        return {}
    caps = {
        "members": settings.max_members,
        "demands": settings.max_demands,
        "teams": settings.max_teams,
    }
    errors: dict[str, list[str]] = {}
    for name in ITEM_LIMITS:
        value = data.get(name)
        if isinstance(value, list) and len(value) > caps[name]:
            errors[name] = [f"at most {caps[name]} items"]
    return errors


@dataclass(frozen=True)
class SolveLimits:
    """What the client asked for and what the server applies (reported in the job)."""

    requested_time_limit_s: float
    applied_time_limit_s: float
    requested_workers: int
    applied_workers: int

    def as_json(self) -> dict[str, Any]:
        return {
            "time_limit_s": {
                "requested": self.requested_time_limit_s,
                "applied": self.applied_time_limit_s,
            },
            "workers": {"requested": self.requested_workers, "applied": self.applied_workers},
        }

    @property
    def clamped(self) -> bool:
        return (
            self.requested_time_limit_s != self.applied_time_limit_s
            or self.requested_workers != self.applied_workers
        )


def clamp(time_limit_s: float, workers: int, settings: Settings) -> SolveLimits:
    """Cap the time limit at ``LINLI_MAX_TIME_LIMIT_S`` and the solver threads at one."""
    return SolveLimits(
        requested_time_limit_s=float(time_limit_s),
        applied_time_limit_s=min(float(time_limit_s), settings.max_time_limit_s),
        requested_workers=int(workers),
        applied_workers=SOLVER_THREADS,
    )


def apply_limits(problem_json: dict[str, Any], limits: SolveLimits) -> dict[str, Any]:
    """The problem JSON with the applied time limit and workers in its options."""
    options = dict(problem_json.get("options") or {})
    options["time_limit_s"] = limits.applied_time_limit_s
    options["workers"] = limits.applied_workers
    return {**problem_json, "options": options}


def apply_visit_limits(problem_json: dict[str, Any], limits: SolveLimits) -> dict[str, Any]:
    """A visit problem JSON with the applied time limit (its options have no ``workers``)."""
    options = dict(problem_json.get("options") or {})
    options["time_limit_s"] = limits.applied_time_limit_s
    return {**problem_json, "options": options}


def visit_item_count_errors(data: object, settings: Settings) -> dict[str, list[str]]:
    """:func:`item_count_errors` for a raw visit problem: members, teams, and the households of
    all its areas together (held to the demands limit)."""
    errors = item_count_errors(data, settings)
    areas = data.get("areas") if isinstance(data, Mapping) else None
    if isinstance(areas, list):
        households = sum(
            len(area["households"])
            for area in areas
            if isinstance(area, Mapping) and isinstance(area.get("households"), list)
        )
        if households > settings.max_demands:
            errors["areas"] = [f"at most {settings.max_demands} households in all"]
    return errors


class RateLimiter:
    """Token buckets per client, in this process's memory (thread-safe).

    Args:
        rate: Refill rate and bucket size.
        clock: Seconds, monotonic (for tests).
    """

    def __init__(self, rate: RateLimit, *, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[object, tuple[float, float]] = {}

    def take(self, client: object) -> float | None:
        """Take one token for ``client``; ``None`` if allowed, else seconds until one is back."""
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(client, (self.rate.burst, now))
            tokens = min(self.rate.burst, tokens + (now - updated) * self.rate.per_s)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return None
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate.per_s

    @staticmethod
    def retry_after_header(seconds: float) -> str:
        """``Retry-After`` in whole seconds, at least 1."""
        return str(max(1, math.ceil(seconds)))
