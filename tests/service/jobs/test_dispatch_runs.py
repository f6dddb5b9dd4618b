"""A community's dispatch as a background run (``Prefer: respond-async``), issue #7."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.dispatch.verify import Violation
from service.db.base import utcnow
from service.db.flow import DispatchRun
from service.db.registration import new_id
from service.domain import flow
from service.jobs import dispatch_runs
from tests.service.domain.test_menu_flow import API, Flow, _ok
from tests.service.helpers import assert_error

ASYNC = {"Prefer": "respond-async"}


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> Flow:
    return Flow(app, client)


def _wait(world: Flow, url: str, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        run = _ok(world.get(url))
        if run["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return dict(run)
        time.sleep(0.1)


def _add_run(app: Flask, community: str, *, status: str, age: timedelta) -> str:
    with app.extensions["linli"].sessions() as session:
        run = DispatchRun(
            id=new_id("r"),
            community_id=community,
            status=status,
            time_limit_s=1.0,
            actor_role="client",
            actor_id=1,
            created_at=utcnow() - age,
        )
        session.add(run)
        session.commit()
        return run.id


def test_an_async_dispatch_answers_at_once_and_its_run_holds_the_verified_plan(
    world: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[list[Violation]] = []
    real_verify = flow.verify

    def spy(problem: Any, answer: Any) -> list[Violation]:
        checked.append(real_verify(problem, answer))
        return checked[-1]

    monkeypatch.setattr(flow, "verify", spy)
    world.member(world.a, ["elderly_care"])
    demand = world.demand(world.a, ["elderly_care"])
    unservable = world.demand(world.a, ["plumbing"])
    response = world.client.post(
        f"{API}/communities/{world.a}/dispatch",
        json={"time_limit_s": 2},
        headers={**world.key_a, **ASYNC},
    )
    run = _ok(response, 202)
    assert run["status"] in ("queued", "running", "succeeded")
    assert response.headers["Location"].endswith(f"/api/v1/dispatch-runs/{run['id']}")
    done = _wait(world, f"/dispatch-runs/{run['id']}")
    assert done["status"] == "succeeded" and done["error"] is None, done
    assert checked == [[]]
    result = done["result"]
    assert [t["demand_id"] for t in result["tasks"]] == [demand["id"]]
    assert [x["demand_id"] for x in result["left_out"]] == [unservable["id"]]
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "dispatched"
    listed = _ok(world.get(f"/communities/{world.a}/dispatch-runs"))
    assert listed[0]["id"] == run["id"]


def test_one_run_at_a_time_per_community(app: Flask, world: Flow) -> None:
    active = _add_run(app, world.a, status="running", age=timedelta(seconds=5))
    response = world.client.post(
        f"{API}/communities/{world.a}/dispatch", json={}, headers={**world.key_a, **ASYNC}
    )
    body = assert_error(response, 409)
    assert active in body["message"]
    other = world.client.post(
        f"{API}/communities/{world.b}/dispatch", json={}, headers={**world.key_b, **ASYNC}
    )
    assert other.status_code == 202


def test_a_stale_run_is_marked_failed_and_no_longer_blocks(app: Flask, world: Flow) -> None:
    stale = _add_run(app, world.a, status="running", age=timedelta(hours=1))
    assert dispatch_runs.recover_runs(app.extensions["linli"].sessions) >= 1
    failed = _ok(world.get(f"/dispatch-runs/{stale}"))
    assert failed["status"] == "failed" and "nothing was written" in failed["error"]
    queued_long_ago = _add_run(app, world.a, status="queued", age=timedelta(hours=1))
    response = world.client.post(
        f"{API}/communities/{world.a}/dispatch", json={}, headers={**world.key_a, **ASYNC}
    )
    assert response.status_code == 202  # the stale one was failed on the way
    assert _ok(world.get(f"/dispatch-runs/{queued_long_ago}"))["status"] == "failed"
    _wait(world, f"/dispatch-runs/{response.get_json()['id']}")


def test_runs_are_scoped_to_the_communitys_managers(app: Flask, world: Flow) -> None:
    run = _add_run(app, world.a, status="succeeded", age=timedelta(seconds=1))
    assert_error(world.get(f"/dispatch-runs/{run}", headers=world.key_b), 404)
    assert_error(world.get(f"/communities/{world.a}/dispatch-runs", headers=world.key_b), 404)
    assert _ok(world.get(f"/dispatch-runs/{run}", headers=world.district))["id"] == run
    response = world.client.post(
        f"{API}/communities/{world.a}/dispatch", json={}, headers={**world.key_b, **ASYNC}
    )
    assert_error(response, 404)
