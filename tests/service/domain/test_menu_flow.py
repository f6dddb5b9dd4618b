"""The menu flow (issue #7, second slice): order → dispatch → accept → complete → rate.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture); ids are unique per test, as the
database is shared by the session. Windows lie in the coming days (dispatch plans from now on).
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError

from matcher.dispatch.verify import Violation
from service.db.base import utcnow
from service.db.flow import Task
from service.domain import flow
from service.domain.availability import LOCAL, WEEKDAYS
from service.domain.keys import create_api_client
from tests.service.helpers import assert_error, travel_past

API = "/api/v1"
HOME = {"lat": 34.761234, "lon": 113.651234}
"""Members' homes: distinctive digits, looked for in the logs."""
PLACE = {"lat": 34.7621, "lon": 113.6522}
"""Where the residents' demands are (about 150 m from HOME)."""
NAMES = itertools.cycle(("王建国", "李秀英", "张志强", "刘丽娟", "陈海涛", "杨晓燕", "赵国华"))
"""Members' names (a test that needs one passes ``name=``)."""
EVERY_DAY = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in WEEKDAYS]


def _key(app: Flask, name: str, communities: tuple[str, ...] = ()) -> dict[str, str]:
    with app.extensions["linli"].sessions() as session:
        _client, key = create_api_client(session, name, communities)
    return {"X-API-Key": key}


def _ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.get_json()
    return response.get_json()


def _day() -> date:
    """Two days after the service's clock (which a test may have moved past a task)."""
    from service.db.base import utcnow

    return (utcnow().astimezone(LOCAL) + timedelta(days=2)).date()


def _window(start_hour: int = 9, end_hour: int = 17) -> dict[str, str]:
    day = _day()
    return {
        "start": datetime.combine(day, time(start_hour), LOCAL).isoformat(),
        "end": datetime.combine(day, time(end_hour), LOCAL).isoformat(),
    }


class Flow:
    """Two communities (a district key, a key for each); helpers to add members and demands."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app, self.client = app, client
        self.district = _key(app, "district")
        self.a, self.b = (f"c-{uuid.uuid4().hex[:10]}" for _ in range(2))
        for community in (self.a, self.b):
            _ok(
                client.post(
                    f"{API}/communities",
                    json={"id": community, "name": community},
                    headers=self.district,
                ),
                201,
            )

        self.key_a = _key(app, "community a", (self.a,))
        self.key_b = _key(app, "community b", (self.b,))

    def member(
        self, community: str, skills: list[str], *, active: bool = True, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "community_id": community,
            "card_number": f"card-{uuid.uuid4().hex[:12]}",
            "name": next(NAMES),
            "location": HOME,
            "skills": skills,
            "weekly_availability": EVERY_DAY,
            "capacity_hours_per_week": 20,
            **extra,
        }
        member = _ok(self.client.post(f"{API}/members", json=body, headers=self.district), 201)
        if active:
            member = _ok(
                self.client.patch(
                    f"{API}/members/{member['id']}",
                    json={"status": "active"},
                    headers=self.district,
                )
            )
        return dict(member)

    def demand(self, community: str, skills: list[str], **extra: Any) -> dict[str, Any]:
        body = {
            "category": "elderly_care",
            "skills": skills,
            "location": PLACE,
            "window": _window(),
            "duration_hours": 1.5,
            "priority": 3,
            **extra,
        }
        key = self.key_a if community == self.a else self.key_b
        url = f"{API}/communities/{community}/demands"
        return dict(_ok(self.client.post(url, json=body, headers=key), 201))

    def dispatch(self, community: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.post(
            f"{API}/communities/{community}/dispatch",
            json={"time_limit_s": 2},
            headers=headers or self.key_a,
        )
        return dict(_ok(response))

    def post(self, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(f"{API}{url}", json=body, headers=headers or self.key_a)

    def get(self, url: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.get(f"{API}{url}", headers=headers or self.key_a)


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> Flow:
    return Flow(app, client)


def _offered(world: Flow) -> tuple[dict[str, Any], dict[str, Any]]:
    """A member and one demand of community a, dispatched: (the demand, its offered task)."""
    world.member(world.a, ["elderly_care"])
    demand = world.demand(world.a, ["elderly_care"])
    result = world.dispatch(world.a)
    assert [t["demand_id"] for t in result["tasks"]] == [demand["id"]]
    return demand, result["tasks"][0]


def test_the_whole_flow(world: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register, order, dispatch (the plan checked by verify in the endpoint), accept, complete,
    rate; the demand, task and service lists follow."""
    checked: list[list[Violation]] = []
    real_verify = flow.verify

    def spy(problem: Any, answer: Any) -> list[Violation]:
        found = real_verify(problem, answer)
        checked.append(found)
        return found

    monkeypatch.setattr(flow, "verify", spy)
    carer = world.member(world.a, ["elderly_care"], preferences=["elderly_care"])
    mediator = world.member(world.a, ["elderly_care", "mediation"])
    world.member(world.a, ["plumbing"], active=False)  # registered, not reported: not dispatched
    care = world.demand(world.a, ["elderly_care"], resident_ref="r-1001")
    dispute = world.demand(world.a, ["mediation"], category="mediation", priority=5)
    pipes = world.demand(world.a, ["plumbing"], category="repairs")
    assert care["status"] == "open" and care["id"].startswith("d-")
    assert care["community_id"] == world.a and care["crew_size"] == 1
    assert care["resident_ref"] == "r-1001"
    assert care["window"] == _window()  # +08:00, as the contract writes times
    listed = world.get(f"/demands?status=open&community_id={world.a}")
    assert {d["id"] for d in _ok(listed)} == {care["id"], dispute["id"], pipes["id"]}

    result = world.dispatch(world.a)
    assert checked == [[]]
    assert result["status"] in {"optimal", "feasible"}
    by_demand = {t["demand_id"]: t for t in result["tasks"]}
    assert set(by_demand) == {care["id"], dispute["id"]}
    assert by_demand[dispute["id"]]["member_id"] == mediator["id"]
    assert by_demand[care["id"]]["member_id"] in {carer["id"], mediator["id"]}
    assert all(t["status"] == "offered" for t in result["tasks"])
    assert [(x["demand_id"], x["reason"]) for x in result["left_out"]] == [
        (pipes["id"], "no_skill")
    ]
    assert result["left_out"][0]["detail"]
    hours: dict[str, float] = {}
    for t in result["tasks"]:
        span = datetime.fromisoformat(t["end"]) - datetime.fromisoformat(t["start"])
        hours[t["member_id"]] = hours.get(t["member_id"], 0.0) + span / timedelta(hours=1)
    loads = {x["member_id"]: x for x in result["member_loads"]}
    assert set(loads) == set(hours)  # the engine's load: every member given a task, no other
    for member_id, total in hours.items():
        assert loads[member_id]["hours"] == pytest.approx(total)
    assert sum(x["tasks"] for x in loads.values()) == len(result["tasks"])
    for demand_id, status in ((care["id"], "dispatched"), (pipes["id"], "open")):
        assert _ok(world.get(f"/demands/{demand_id}"))["status"] == status
    task_list = _ok(world.get(f"/tasks?status=offered,accepted&community_id={world.a}"))
    assert {t["id"] for t in task_list} == {t["id"] for t in result["tasks"]}

    task = by_demand[care["id"]]
    start, end = datetime.fromisoformat(task["start"]), datetime.fromisoformat(task["end"])
    window = care["window"]
    assert datetime.fromisoformat(window["start"]) <= start
    assert end == start + timedelta(hours=1.5) <= datetime.fromisoformat(window["end"])

    accepted = _ok(world.post(f"/tasks/{task['id']}/accept"))
    assert accepted["status"] == "accepted"
    assert _ok(world.get(f"/demands/{care['id']}"))["status"] == "accepted"
    travel_past(task)
    completed = _ok(world.post(f"/tasks/{task['id']}/complete", {"hours": 1.25}))
    assert completed["status"] == "completed" and completed["hours"] == 1.25
    assert _ok(world.get(f"/demands/{care['id']}"))["status"] == "completed"
    rated = _ok(world.post(f"/tasks/{task['id']}/rate", {"rating": 5}))
    assert rated["rating"] == 5 and rated["status"] == "completed"
    service_list = _ok(world.get(f"/tasks?status=completed&community_id={world.a}"))
    assert [t["id"] for t in service_list] == [task["id"]]
    assert _ok(world.get(f"/tasks/{task['id']}")) == rated

    again = world.dispatch(world.a)  # only the plumbing demand is open: nobody can serve it
    assert again["tasks"] == []
    assert [x["demand_id"] for x in again["left_out"]] == [pipes["id"]]


def test_dispatch_with_nothing_open_answers_empty_lists(world: Flow) -> None:
    world.member(world.a, ["elderly_care"])
    result = world.dispatch(world.a)
    assert result == {
        "status": "nothing_to_dispatch",
        "tasks": [],
        "left_out": [],
        "member_loads": [],
    }


def test_dispatch_without_active_members_leaves_every_demand_out(world: Flow) -> None:
    demand = world.demand(world.a, ["elderly_care"])
    result = world.dispatch(world.a)
    assert result["tasks"] == []
    assert [x["demand_id"] for x in result["left_out"]] == [demand["id"]]
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "open"


def test_a_plan_failing_verification_writes_nothing(
    world: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.member(world.a, ["elderly_care"])
    demand = world.demand(world.a, ["elderly_care"])
    monkeypatch.setattr(flow, "verify", lambda problem, answer: [Violation("3", "broken")])
    response = world.post(f"/communities/{world.a}/dispatch", {"time_limit_s": 1})
    assert_error(response, 500)
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "open"
    assert _ok(world.get(f"/tasks?community_id={world.a}")) == []


def test_members_busy_with_a_task_are_not_offered_an_overlapping_one(world: Flow) -> None:
    """A second dispatch keeps the first one's tasks: the only member cannot take a demand
    that overlaps the task they hold."""
    world.member(world.a, ["elderly_care"])
    first = world.demand(world.a, ["elderly_care"], window=_window(9, 11), duration_hours=2)
    assert len(world.dispatch(world.a)["tasks"]) == 1
    second = world.demand(world.a, ["elderly_care"], window=_window(10, 12), duration_hours=1)
    result = world.dispatch(world.a)
    assert result["tasks"] == []
    assert [x["demand_id"] for x in result["left_out"]] == [second["id"]]
    assert _ok(world.get(f"/demands/{first['id']}"))["status"] == "dispatched"


def test_decline_returns_the_demand_to_the_demand_list(world: Flow) -> None:
    demand, task = _offered(world)
    declined = _ok(world.post(f"/tasks/{task['id']}/decline", {"reason": "away that day"}))
    assert declined["status"] == "declined"
    assert declined["decline_reason"] == "away that day"
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "open"
    assert demand["id"] in {d["id"] for d in _ok(world.get("/demands?status=open"))}
    again = world.dispatch(world.a)  # a new offer: the declined task no longer counts
    assert [t["demand_id"] for t in again["tasks"]] == [demand["id"]]
    assert again["tasks"][0]["id"] != task["id"]


def test_cancel_an_open_or_dispatched_demand(world: Flow) -> None:
    demand, task = _offered(world)
    cancelled = _ok(world.post(f"/demands/{demand['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    declined = _ok(world.get(f"/tasks/{task['id']}"))
    assert declined["status"] == "declined"
    assert declined["decline_reason"] == "the demand was cancelled"
    assert_error(world.post(f"/demands/{demand['id']}/cancel"), 409)
    assert_error(world.post(f"/tasks/{task['id']}/accept"), 409)
    open_one = world.demand(world.a, ["elderly_care"])
    assert _ok(world.post(f"/demands/{open_one['id']}/cancel"))["status"] == "cancelled"
    assert world.dispatch(world.a)["status"] == "nothing_to_dispatch"
    claimed = world.demand(world.a, ["elderly_care"])
    _ok(world.post(f"/demands/{claimed['id']}/claim", {"member_id": task["member_id"]}), 201)
    assert_error(world.post(f"/demands/{claimed['id']}/cancel"), 409)
    assert_error(world.post(f"/demands/{claimed['id']}/cancel", None, world.key_b), 404)


def test_illegal_transitions_are_409_and_change_nothing(world: Flow) -> None:
    demand, task = _offered(world)
    body = assert_error(world.post(f"/tasks/{task['id']}/complete", {"hours": 1}), 409)
    assert "offered" in body["message"]
    assert_error(world.post(f"/tasks/{task['id']}/rate", {"rating": 4}), 409)
    assert_error(
        world.post(f"/demands/{demand['id']}/claim", {"member_id": task["member_id"]}), 409
    )
    _ok(world.post(f"/tasks/{task['id']}/decline", {"reason": "ill"}))
    for action, payload in (
        ("complete", {"hours": 1}),
        ("accept", None),
        ("decline", {"reason": "x"}),
    ):
        assert_error(world.post(f"/tasks/{task['id']}/{action}", payload), 409)
    assert _ok(world.get(f"/tasks/{task['id']}"))["status"] == "declined"
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "open"

    task = world.dispatch(world.a)["tasks"][0]
    _ok(world.post(f"/tasks/{task['id']}/accept"))
    assert_error(world.post(f"/tasks/{task['id']}/accept"), 409)
    assert_error(world.post(f"/tasks/{task['id']}/decline", {"reason": "changed my mind"}), 409)
    travel_past(task)
    _ok(world.post(f"/tasks/{task['id']}/complete", {"hours": 2}))
    assert_error(world.post(f"/tasks/{task['id']}/accept"), 409)
    assert_error(world.post(f"/tasks/{task['id']}/complete", {"hours": 2}), 409)
    _ok(world.post(f"/tasks/{task['id']}/rate", {"rating": 3}))
    body = assert_error(world.post(f"/tasks/{task['id']}/rate", {"rating": 5}), 409)
    assert "rated" in body["message"]
    final = _ok(world.get(f"/tasks/{task['id']}"))
    assert (final["status"], final["hours"], final["rating"]) == ("completed", 2, 3)
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "completed"


def test_claims(world: Flow) -> None:
    """An active member of the community with the skills claims an open demand; others 422."""
    able = world.member(world.a, ["elderly_care"])
    unskilled = world.member(world.a, ["mediation"])
    inactive = world.member(world.a, ["elderly_care"], active=False)
    foreign = world.member(world.b, ["elderly_care"])
    demand = world.demand(world.a, ["elderly_care"])
    for member in (unskilled, inactive):
        body = assert_error(
            world.post(f"/demands/{demand['id']}/claim", {"member_id": member["id"]}), 422
        )
        assert list(body["errors"]) == ["member_id"]
    url = f"/demands/{demand['id']}/claim"
    assert_error(world.post(url, {"member_id": foreign["id"]}, world.district), 422)
    assert_error(world.post(url, {"member_id": foreign["id"]}), 404)  # outside key a's scope
    task = _ok(world.post(url, {"member_id": able["id"]}), 201)
    assert (task["status"], task["member_id"], task["demand_id"]) == (
        "accepted",
        able["id"],
        demand["id"],
    )
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "accepted"
    assert_error(world.post(url, {"member_id": able["id"]}), 409)
    travel_past(task)
    _ok(world.post(f"/tasks/{task['id']}/complete", {"hours": 1}))


def test_a_foreign_key_gets_404_on_every_object(world: Flow) -> None:
    demand, task = _offered(world)
    member_b = world.member(world.b, ["elderly_care"])
    other = world.key_b
    for url in (f"/demands/{demand['id']}", f"/tasks/{task['id']}"):
        assert_error(world.get(url, other), 404)
    assert_error(world.post(f"/tasks/{task['id']}/accept", None, other), 404)
    assert_error(world.post(f"/tasks/{task['id']}/decline", {"reason": "x"}, other), 404)
    assert_error(world.post(f"/tasks/{task['id']}/complete", {"hours": 1}, other), 404)
    assert_error(world.post(f"/tasks/{task['id']}/rate", {"rating": 1}, other), 404)
    claim = {"member_id": member_b["id"]}
    assert_error(world.post(f"/demands/{demand['id']}/claim", claim, other), 404)
    assert_error(world.post(f"/communities/{world.a}/dispatch", {}, other), 404)
    order = {
        "category": "x",
        "location": PLACE,
        "window": _window(),
        "duration_hours": 1,
        "priority": 1,
    }
    assert_error(world.post(f"/communities/{world.a}/demands", order, other), 404)
    assert _ok(world.get(f"/demands?community_id={world.a}", other)) == []
    assert _ok(world.get(f"/tasks?community_id={world.a}", other)) == []
    assert demand["id"] not in {d["id"] for d in _ok(world.get("/demands", other))}
    assert task["id"] not in {t["id"] for t in _ok(world.get("/tasks", other))}
    assert_error(world.get(f"/demands/d-{'x' * 100}"), 404)
    # Nothing changed for the owner.
    assert _ok(world.get(f"/tasks/{task['id']}"))["status"] == "offered"


def test_no_mass_assignment(world: Flow) -> None:
    demand, task = _offered(world)
    order = {
        "category": "x",
        "location": PLACE,
        "window": _window(),
        "duration_hours": 1,
        "priority": 1,
    }
    url = f"/communities/{world.a}/demands"
    for extra in (
        {"id": "d-mine"},
        {"status": "completed"},
        {"community_id": world.b},
        {"created_at": "2026-01-01T00:00:00+08:00"},
        {"resident_name": "Wang"},
    ):
        body = assert_error(world.post(url, {**order, **extra}), 422)
        assert list(body["errors"]) == list(extra)
    body = assert_error(world.post(url, {**order, "crew_size": 11}), 422)
    assert list(body["errors"]) == ["crew_size"]
    assert_error(world.post(url, {**order, "duration_hours": 9}), 422)  # longer than the window
    past = {"start": "2025-01-06T09:00:00+08:00", "end": "2025-01-06T12:00:00+08:00"}
    body = assert_error(world.post(url, {**order, "window": past}), 422)
    assert list(body["errors"]) == ["window.end"]
    assert_error(world.post(url, {**order, "resident_ref": "Wang Fang 138"}), 422)
    assert_error(world.post(f"/tasks/{task['id']}/decline", {}), 422)
    assert_error(world.post(f"/tasks/{task['id']}/decline", {"reason": "x", "status": "open"}), 422)
    assert_error(world.post(f"/tasks/{task['id']}/complete", {"hours": 0}), 422)
    assert_error(world.post(f"/tasks/{task['id']}/rate", {"rating": 6}), 422)
    assert_error(world.post(f"/communities/{world.a}/dispatch", {"time_limit_s": 31}), 422)
    assert_error(world.post(f"/communities/{world.a}/dispatch", {"members": []}), 422)
    assert_error(
        world.post(f"/demands/{demand['id']}/claim", {"member_id": "m-1", "start": "x"}), 422
    )
    assert_error(world.get("/tasks?status=offered,nonsense"), 422)
    assert _ok(world.get(f"/tasks/{task['id']}"))["status"] == "offered"


def test_one_active_task_per_demand_in_the_database(app: Flask, world: Flow) -> None:
    """The partial unique index: a second offered, accepted or completed task for a demand is
    refused by the database itself; declined ones do not count."""
    demand, task = _offered(world)
    sessions = app.extensions["linli"].sessions

    def add(status: str) -> None:
        with sessions() as session:
            session.add(
                Task(
                    id=f"t-{uuid.uuid4().hex[:16]}",
                    demand_id=demand["id"],
                    member_id=task["member_id"],
                    start=utcnow(),
                    status=status,
                    created_at=utcnow(),
                )
            )
            session.commit()

    add("declined")
    for status in ("offered", "accepted", "completed"):
        with pytest.raises(IntegrityError):
            add(status)


def _at_once(app: Flask, headers: dict[str, str], requests: list[tuple[str, Any]]) -> list[int]:
    """POST each ``(url, body)`` from a thread (and client) of its own, all released together;
    the status codes in the order of ``requests``."""
    barrier = threading.Barrier(len(requests))
    codes: dict[int, int] = {}

    def post(i: int, url: str, body: Any) -> None:
        client = app.test_client()
        barrier.wait()
        codes[i] = client.post(f"{API}{url}", json=body, headers=headers).status_code

    threads = [
        threading.Thread(target=post, args=(i, url, body)) for i, (url, body) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return [codes[i] for i in range(len(requests))]


def test_concurrent_claims_have_one_winner(app: Flask, world: Flow) -> None:
    """Two threads (each with its own client) claim the same demand at once: exactly one 201,
    the other 409, and the demand has one task (PostgreSQL: row locks of the conditional
    UPDATE; SQLite: one writer at a time)."""
    for _round in range(5):
        # fresh members each round: a member holding earlier rounds' tasks may have no free
        # time left in the window, which is a 422 of its own and not this race
        members = [world.member(world.a, ["elderly_care"])["id"] for _ in range(2)]
        demand = world.demand(world.a, ["elderly_care"])
        url = f"/demands/{demand['id']}/claim"
        codes = _at_once(app, world.key_a, [(url, {"member_id": m}) for m in members])
        assert sorted(codes) == [201, 409]
        tasks = _ok(world.get(f"/tasks?community_id={world.a}&status=accepted"))
        assert [t["demand_id"] for t in tasks].count(demand["id"]) == 1


def test_accept_racing_cancel_has_one_winner(app: Flask, world: Flow) -> None:
    """A member accepts an offer while the community cancels its demand: one wins, the other
    is a 409 (no deadlock, no 500), and demand and task agree."""
    world.member(world.a, ["elderly_care"])
    for _round in range(3):
        demand = world.demand(world.a, ["elderly_care"])
        task = world.dispatch(world.a)["tasks"][0]
        accept, cancel = _at_once(
            app,
            world.key_a,
            [(f"/tasks/{task['id']}/accept", None), (f"/demands/{demand['id']}/cancel", None)],
        )
        assert sorted((accept, cancel)) == [200, 409]
        demand_status = _ok(world.get(f"/demands/{demand['id']}"))["status"]
        task_status = _ok(world.get(f"/tasks/{task['id']}"))["status"]
        if accept == 200:
            assert (demand_status, task_status) == ("accepted", "accepted")
            travel_past(task)
            _ok(world.post(f"/tasks/{task['id']}/complete", {"hours": 1}))
        else:
            assert (demand_status, task_status) == ("cancelled", "declined")


def test_logs_hold_no_resident_ref_or_home_coordinates(
    world: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world.member(world.a, ["elderly_care"])
    demand = world.demand(world.a, ["elderly_care"], resident_ref="r-secret-4711")
    task = world.dispatch(world.a)["tasks"][0]
    _ok(world.post(f"/tasks/{task['id']}/accept"))
    travel_past(task)
    _ok(world.post(f"/tasks/{task['id']}/complete", {"hours": 1}))
    _ok(world.post(f"/tasks/{task['id']}/rate", {"rating": 4}))
    _ok(world.get(f"/demands/{demand['id']}"))
    assert demand["id"] in caplog.text  # the flow does log, by id
    for secret in ("r-secret-4711", "34.761234", "113.651234", "34.7621", "113.6522"):
        assert secret not in caplog.text
