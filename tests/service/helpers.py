"""Helpers shared by the service tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from matcher.dispatch.problem import Problem
from matcher.dispatch.verify import verify
from service.contracts.dispatch import dump_problem, load_answer
from service.domain.keys import create_api_client

ACTIVE = ("queued", "running")


def body_of(problem: Problem, *, time_limit_s: float = 2.0) -> dict[str, Any]:
    """The JSON body for a problem, with its time limit."""
    body = dump_problem(problem)
    body["options"]["time_limit_s"] = time_limit_s
    return body


def wait_for_job(
    client: FlaskClient,
    headers: dict[str, str],
    job_id: str,
    *,
    until: Callable[[dict[str, Any]], bool] | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` until ``until(job)`` (default: the job has ended)."""
    check = until or (lambda job: job["status"] not in ACTIVE)
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.get_json()
        job: dict[str, Any] = response.get_json()
        if check(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s")
        time.sleep(0.05)


def assert_error(response: Any, code: int) -> dict[str, Any]:
    """The response is an error of the one shape, with this code."""
    assert response.status_code == code, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def assert_verified(problem: Problem, answer_json: dict[str, Any]) -> None:
    """The answer loads back through the contract and breaks no rule of the problem."""
    answer = load_answer(answer_json)
    assert verify(problem, answer) == []
    assert {a.demand for a in answer.assignments} | {u.demand for u in answer.unassigned} == {
        d.id for d in problem.demands
    }


def new_auth(app: Flask, name: str = "test client") -> dict[str, str]:
    """Headers with the key of a new API client of ``app``."""
    with app.extensions["linli"].sessions() as session:
        _client, key = create_api_client(session, name)
    return {"X-API-Key": key}


class HeldExecutor(Executor):
    """An executor that never runs anything: its jobs stay queued (as behind busy solvers)."""

    def __init__(self) -> None:
        self.futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.futures.append(future)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        for future in self.futures:
            future.cancel()


def travel_past(*tasks: dict[str, Any], minutes: float = 240.0) -> None:
    """Move the service's clock to four hours after the latest end of ``tasks`` (never back): a task
    is completed only after it started, with at most the hours since. The autouse fixture
    ``_real_clock`` puts the clock back after the test."""
    from datetime import UTC, datetime, timedelta

    from service.db import base

    ends = [datetime.fromisoformat(t["end"]) for t in tasks]
    target = max(ends) + timedelta(minutes=minutes)
    offset = target - datetime.now(UTC)
    if offset > base._clock_offset:
        base.set_clock_offset(offset)


def travel_past_tasks(app: Flask) -> None:
    """:func:`travel_past` every offered or accepted task stored in ``app``'s database."""
    from datetime import timedelta

    from sqlalchemy import select

    from service.db.flow import Demand, Task
    from service.domain.availability import LOCAL

    with app.extensions["linli"].sessions() as session:
        rows = session.execute(
            select(Task.start, Demand.duration_hours)
            .join(Demand, Demand.id == Task.demand_id)
            .where(Task.status.in_(("offered", "accepted")))
        ).all()
    ends = [
        {"end": (start + timedelta(hours=hours)).astimezone(LOCAL).isoformat()}
        for start, hours in rows
    ]
    if ends:
        travel_past(*ends)


def back_to_now() -> None:
    """Put the service's clock back (after :func:`travel_past`)."""
    from datetime import timedelta

    from service.db.base import set_clock_offset

    set_clock_offset(timedelta(0))
