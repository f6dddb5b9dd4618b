"""Who makes a request: the one identity every layer passes down (no Flask, no database)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    """Who makes a request: a machine (an API key) or a person (a login session).

    ``role`` is ``client`` for API keys (a key without communities acts as the district), or a
    person's role: ``district`` (administrator), ``dispatcher`` (their communities),
    ``unit_organiser`` (their unit's members, ``unit_id``) or ``member`` (their own tasks,
    ``member_id``; ``communities`` holds the community they live in).
    """

    id: int
    name: str
    communities: tuple[str, ...]
    role: str = "client"
    unit_id: str | None = None
    member_id: str | None = None
