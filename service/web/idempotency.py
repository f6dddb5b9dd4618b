"""``Idempotency-Key``: the first response to a request is stored and replayed.

A key belongs to one API client. The first request with a key claims it (a row in
``idempotency_records``, state ``in_progress``); when it succeeds (2xx) its status, body and
headers are stored, and a replay with the same request gets exactly that response back, with
``Idempotent-Replayed: true``. The same key with a different request (method, path, query or
body bytes) is a 422; a replay while the first request is still being processed is a 409. An
error response is not stored: the claim is released, so the client can retry.

A claim left ``in_progress`` by a crashed process is taken over after ``locked_until``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.db.base import utcnow
from service.db.clients import IdempotencyRecord
from service.web.errors import fail

REPLAY_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Outcome:
    """A response as data: status, JSON body and headers (what is stored and replayed)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    job_id: Any = None


@dataclass(frozen=True)
class IdempotentRequest:
    """The key a client sent and the fingerprint of its request."""

    key: str
    fingerprint: str


def fingerprint(request: Request) -> str:
    """SHA-256 of method, path, sorted query and the raw body bytes."""
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b" ")
    digest.update(request.path.encode())
    for name, value in sorted(request.args.items(multi=True)):
        digest.update(f"\n{name}={value}".encode())
    digest.update(b"\n\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def from_request(request: Request, key: str | None) -> IdempotentRequest | None:
    return None if key is None else IdempotentRequest(key, fingerprint(request))


class IdempotencyStore:
    """Claims, completes and replays idempotent requests in the database."""

    def __init__(self, sessions: sessionmaker[Session], *, lock_s: float) -> None:
        self.sessions = sessions
        self.lock_s = lock_s

    def run(
        self, client_id: int, request: IdempotentRequest | None, produce: Callable[[], Outcome]
    ) -> Outcome:
        """``produce()`` once per key: replays return the stored first response."""
        if request is None:
            return produce()
        replay = self._claim(client_id, request)
        if replay is not None:
            return replay
        try:
            outcome = produce()
        except BaseException:
            self._release(client_id, request.key)
            raise
        if 200 <= outcome.status < 300:
            self._complete(client_id, request.key, outcome)
        else:
            self._release(client_id, request.key)
        return outcome

    def _claim(self, client_id: int, request: IdempotentRequest) -> Outcome | None:
        for _attempt in range(3):
            now = utcnow()
            until = now + timedelta(seconds=self.lock_s)
            with self.sessions() as session:
                session.add(
                    IdempotencyRecord(
                        client_id=client_id,
                        key=request.key,
                        request_hash=request.fingerprint,
                        state="in_progress",
                        locked_until=until,
                        created_at=now,
                    )
                )
                try:
                    session.commit()
                    return None
                except IntegrityError:
                    session.rollback()
                record = session.scalars(
                    select(IdempotencyRecord).where(
                        IdempotencyRecord.client_id == client_id,
                        IdempotencyRecord.key == request.key,
                    )
                ).first()
                if record is None:
                    continue  # released meanwhile: claim again
                if record.request_hash != request.fingerprint:
                    fail(
                        422,
                        "This Idempotency-Key was used with a different request.",
                        errors={"Idempotency-Key": ["already used with a different request"]},
                    )
                if record.state == "in_progress":
                    if record.locked_until is not None and record.locked_until < now:
                        taken = session.execute(
                            update(IdempotencyRecord)
                            .where(
                                IdempotencyRecord.id == record.id,
                                IdempotencyRecord.locked_until == record.locked_until,
                            )
                            .values(locked_until=until),
                            execution_options={"synchronize_session": False},
                        )
                        session.commit()
                        if taken.rowcount == 1:  # type: ignore[attr-defined]
                            return None
                    fail(
                        409,
                        "A request with this Idempotency-Key is still being processed.",
                        errors={"Idempotency-Key": ["still being processed"]},
                    )
                headers = dict(record.response_headers or {})
                headers[REPLAY_HEADER] = "true"
                return Outcome(
                    int(record.response_status or 200), record.response_body, headers, record.job_id
                )
        fail(409, "This Idempotency-Key is contended; retry.")

    def _complete(self, client_id: int, key: str, outcome: Outcome) -> None:
        with self.sessions() as session:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key)
                .values(
                    state="done",
                    response_status=outcome.status,
                    response_body=outcome.body,
                    response_headers=outcome.headers,
                    job_id=outcome.job_id,
                    locked_until=None,
                ),
                execution_options={"synchronize_session": False},
            )
            session.commit()

    def _release(self, client_id: int, key: str) -> None:
        with self.sessions() as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.client_id == client_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.state == "in_progress",
                ),
                execution_options={"synchronize_session": False},
            )
            session.commit()
