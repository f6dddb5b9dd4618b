"""Every solve of the workspace runs as a job of the one runner (issue #16): a community's
dispatch, the re-dispatch after a decline and a post allocation each leave a finished job of the
internal workspace client, solved in the runner's process pool, not in the request's thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.db.clients import ApiClient
from service.db.jobs import Job
from service.jobs.solver import WORKSPACE
from tests.service.domain.test_menu_flow import Flow, _ok


def _workspace_jobs(app: Flask) -> list[tuple[str, str, str]]:
    """The internal workspace client's jobs, oldest first (a test keeps the ids it saw before:
    another test may have made a job while the service's clock was moved)."""
    with app.extensions["linli"].sessions() as session:
        rows = session.execute(
            select(Job.id, Job.kind, Job.status)
            .join(ApiClient, ApiClient.id == Job.client_id)
            .where(ApiClient.name == WORKSPACE)
            .order_by(Job.created_at)
        ).all()
    return [(str(i), k, s) for i, k, s in rows]


@pytest.fixture
def flow(app: Flask, client: FlaskClient) -> Flow:
    return Flow(app, client)


def test_a_dispatch_and_a_re_dispatch_are_jobs_of_the_runner(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request waits on the runner: the engine never runs in the request's thread."""
    import matcher.dispatch.solve as engine

    threads: list[str] = []
    real = engine.solve

    def spy(*args: Any, **kwargs: Any) -> Any:  # only reached if a solve runs in this process
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "solve", spy)
    before = {job_id for job_id, _, _ in _workspace_jobs(app)}
    for _ in range(2):
        flow.member(flow.a, ["elderly_care"])
    demand = flow.demand(flow.a, ["elderly_care"])
    result = flow.dispatch(flow.a)
    (task,) = result["tasks"]
    assert task["demand_id"] == demand["id"]
    declined = _ok(
        flow.post(f"/tasks/{task['id']}/decline", {"reason": "away that day"}, flow.key_a)
    )
    assert declined["redispatch"]["task"] is not None
    jobs = [job for job in _workspace_jobs(app) if job[0] not in before]
    assert [(kind, status) for _, kind, status in jobs] == [
        ("dispatch", "succeeded"),
        ("dispatch", "succeeded"),
    ]
    assert threads == []  # the solves ran in the runner's worker processes


def test_a_post_allocation_is_a_job_of_the_runner(app: Flask, flow: Flow) -> None:
    before = {job_id for job_id, _, _ in _workspace_jobs(app)}
    post = _ok(
        flow.post(
            f"/communities/{flow.a}/posts",
            {"category": "elderly_care", "title": "助老", "seats": 1},
        ),
        201,
    )
    member = flow.member(flow.a, ["elderly_care"])
    _ok(
        flow.client.put(
            f"/api/v1/members/{member['id']}/post-choices",
            json={"posts": [post["id"]]},
            headers=flow.key_a,
        )
    )
    allocation = _ok(flow.post(f"/communities/{flow.a}/posts/allocate", {}), 201)
    assert [c["member_id"] for c in allocation["commitments"]] == [member["id"]]
    jobs = [job for job in _workspace_jobs(app) if job[0] not in before]
    assert [(kind, status) for _, kind, status in jobs] == [("posts", "succeeded")]
