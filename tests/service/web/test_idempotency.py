"""``Idempotency-Key``: replays, mismatches, requests still in progress, per-client scope."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from matcher.dispatch.problem import Problem
from service.db.clients import IdempotencyRecord
from tests.service.helpers import assert_error, assert_verified, body_of, wait_for_job

URL = "/api/v1/dispatch"


def _jobs_with_key(app: Flask, key: str) -> int:
    from sqlalchemy import func, select

    from service.db.jobs import Job

    with app.extensions["linli"].sessions() as session:
        return int(
            session.scalar(select(func.count()).select_from(Job).where(Job.idempotency_key == key))
            or 0
        )


def test_sync_replay_returns_the_first_response(
    app: Flask, client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    """Same key, same body: the same status and body, one job, and a replay marker."""
    headers = {**auth, "Idempotency-Key": "sync-replay-1"}
    body = body_of(small_problem)
    first = client.post(URL, json=body, headers=headers)
    assert first.status_code == 200
    assert_verified(small_problem, first.get_json())
    again = client.post(URL, json=body, headers=headers)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Link"] == first.headers["Link"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _jobs_with_key(app, "sync-replay-1") == 1


def test_async_replay_returns_the_same_202(
    app: Flask, client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    headers = {**auth, "Idempotency-Key": "async-replay-1", "Prefer": "respond-async"}
    body = body_of(small_problem)
    first = client.post(URL, json=body, headers=headers)
    assert first.status_code == 202
    again = client.post(URL, json=body, headers=headers)
    assert again.status_code == 202
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert _jobs_with_key(app, "async-replay-1") == 1
    wait_for_job(client, auth, first.get_json()["id"])
    resubmit = {**auth, "Idempotency-Key": "resubmit-1"}
    url = f"/api/v1/jobs/{first.get_json()['id']}/resubmit"
    new = client.post(url, headers=resubmit)
    assert new.status_code == 202
    assert client.post(url, headers=resubmit).get_json()["id"] == new.get_json()["id"]
    wait_for_job(client, auth, new.get_json()["id"])


def test_same_key_with_another_body_is_422(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    headers = {**auth, "Idempotency-Key": "mismatch-1"}
    body = body_of(small_problem)
    assert client.post(URL, json=body, headers=headers).status_code == 200
    body["options"]["seed"] = 99
    error = assert_error(client.post(URL, json=body, headers=headers), 422)
    assert list(error["errors"]) == ["Idempotency-Key"]


def test_same_key_while_the_first_is_running_is_409(
    app: Flask, large_problem: Problem, auth: dict[str, str]
) -> None:
    """A replay while the first request is still being solved: 409; afterwards, the replay."""
    headers = {**auth, "Idempotency-Key": "in-progress-1"}
    body = body_of(large_problem, time_limit_s=3)
    first: dict[str, Any] = {}

    def send() -> None:
        response = app.test_client().post(URL, json=body, headers=headers)
        first["status"], first["body"] = response.status_code, response.get_json()

    thread = threading.Thread(target=send)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while _jobs_with_key(app, "in-progress-1") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        error = assert_error(app.test_client().post(URL, json=body, headers=headers), 409)
        assert "still being processed" in error["message"]
    finally:
        thread.join(timeout=60)
    assert first["status"] == 200
    assert_verified(large_problem, first["body"])
    replay = app.test_client().post(URL, json=body, headers=headers)
    assert replay.status_code == 200 and replay.get_json() == first["body"]


def test_keys_are_scoped_per_client(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    other_key: str,
    small_problem: Problem,
) -> None:
    """Two clients using the same key value get independent jobs."""
    body = body_of(small_problem)
    mine = client.post(
        URL, json=body, headers={**auth, "Idempotency-Key": "shared", "Prefer": "respond-async"}
    )
    theirs = client.post(
        URL,
        json=body,
        headers={"X-API-Key": other_key, "Idempotency-Key": "shared", "Prefer": "respond-async"},
    )
    assert mine.status_code == theirs.status_code == 202
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    wait_for_job(client, auth, mine.get_json()["id"])
    wait_for_job(client, {"X-API-Key": other_key}, theirs.get_json()["id"])


def test_failed_requests_release_their_key(
    app: Flask, client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    """An error response is not stored: the client can fix nothing and retry with the key."""
    headers = {**auth, "Idempotency-Key": "retry-after-error"}
    body = body_of(small_problem)
    body["members"][1]["id"] = body["members"][0]["id"]
    assert_error(client.post(URL, json=body, headers=headers), 422)
    from sqlalchemy import select

    with app.extensions["linli"].sessions() as session:
        assert (
            session.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.key == "retry-after-error")
            ).first()
            is None
        )
    assert client.post(URL, json=body_of(small_problem), headers=headers).status_code == 200


def test_malformed_key_is_422(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    error = assert_error(
        client.post(
            URL, json=body_of(small_problem), headers={**auth, "Idempotency-Key": "x" * 300}
        ),
        422,
    )
    assert list(error["errors"]) == ["headers.Idempotency-Key"]
