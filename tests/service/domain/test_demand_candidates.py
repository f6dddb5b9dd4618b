"""``GET /demands/{id}/candidates``: who should take this one (issue #7), on SQLite and PostgreSQL.

The engine's candidate generation on the community's dispatch problem with the one demand: the
best members by the engine's cost, or the engine's reason when nobody can take it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.service.domain.test_menu_flow import HOME, Flow, _ok, _window
from tests.service.helpers import assert_error

NEAR_KM = 0.15  # HOME to PLACE
ONE_KM_NORTH = {"lat": HOME["lat"] + 0.009, "lon": HOME["lon"]}
TEN_KM_NORTH = {"lat": HOME["lat"] + 0.09, "lon": HOME["lon"]}


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> Flow:
    return Flow(app, client)


def _candidates(world: Flow, demand_id: str, query: str = "", **kw: Any) -> Any:
    return world.get(f"/demands/{demand_id}/candidates{query}", **kw)


def test_the_nearest_qualified_free_member_ranks_first(world: Flow) -> None:
    near = world.member(world.a, ["elderly_care"], preferences=["elderly_care"])
    farther = world.member(world.a, ["elderly_care", "mediation"], location=ONE_KM_NORTH)
    world.member(world.a, ["mediation"])  # nearest, without the skill
    world.member(world.a, ["elderly_care"], location=TEN_KM_NORTH)  # out of range (5 km)
    world.member(world.a, ["elderly_care"], active=False)  # not reported
    world.member(world.b, ["elderly_care"])  # another community
    demand = world.demand(world.a, ["elderly_care"])
    body = _ok(_candidates(world, demand["id"]))
    assert body["demand_id"] == demand["id"]
    assert (body["reason"], body["detail"]) == (None, None)
    rows = body["candidates"]
    assert [c["member_id"] for c in rows] == [near["id"], farther["id"]]
    first, second = rows
    assert first["distance_km"] == pytest.approx(NEAR_KM, abs=0.02)
    assert first["distance_km"] == round(first["distance_km"], 2)
    assert 0.8 < second["distance_km"] < 1.2
    assert first["earliest_start"] == _window()["start"]  # free all day: the window's start
    assert first["earliest_start"].endswith("+08:00")
    assert (first["prefers_category"], second["prefers_category"]) == (True, False)
    assert first["cost"] < second["cost"]
    # Only read: the demand stays open and no task was made.
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "open"
    assert _ok(world.get(f"/tasks?community_id={world.a}")) == []


def test_a_busy_member_starts_after_their_task(world: Flow) -> None:
    """The free time of a member who holds a task excludes it (and the changeover)."""
    member = world.member(world.a, ["elderly_care"])
    held = world.demand(world.a, ["elderly_care"], window=_window(9, 11), duration_hours=2)
    task = _ok(world.post(f"/demands/{held['id']}/claim", {"member_id": member["id"]}), 201)
    assert task["status"] == "accepted"
    demand = world.demand(world.a, ["elderly_care"], window=_window(9, 17), duration_hours=1)
    (row,) = _ok(_candidates(world, demand["id"]))["candidates"]
    assert row["member_id"] == member["id"]
    after = datetime.fromisoformat(_window()["start"]) + timedelta(hours=2, minutes=15)
    assert row["earliest_start"] == after.isoformat()  # 09:00-11:00 held, 15 min changeover


def test_limit(world: Flow) -> None:
    members = [world.member(world.a, ["elderly_care"])["id"] for _ in range(3)]
    demand = world.demand(world.a, ["elderly_care"])
    assert len(_ok(_candidates(world, demand["id"]))["candidates"]) == 3  # default 5
    two = _ok(_candidates(world, demand["id"], "?limit=2"))["candidates"]
    assert len(two) == 2 and {c["member_id"] for c in two} <= set(members)
    for bad in ("0", "21", "x"):
        body = assert_error(_candidates(world, demand["id"], f"?limit={bad}"), 422)
        assert "limit" in str(body["errors"])


def test_foreign_and_unknown_demands_are_404(world: Flow) -> None:
    world.member(world.a, ["elderly_care"])
    demand = world.demand(world.a, ["elderly_care"])
    assert_error(_candidates(world, demand["id"], headers=world.key_b), 404)
    assert_error(_candidates(world, "d-nonexistent"), 404)
    assert len(_ok(_candidates(world, demand["id"], headers=world.district))["candidates"]) == 1


def test_a_demand_that_is_not_open_is_409(world: Flow) -> None:
    world.member(world.a, ["elderly_care"])
    dispatched = world.demand(world.a, ["elderly_care"])
    assert len(world.dispatch(world.a)["tasks"]) == 1
    cancelled = world.demand(world.a, ["elderly_care"])
    _ok(world.post(f"/demands/{cancelled['id']}/cancel"))
    for demand, status in ((dispatched, "dispatched"), (cancelled, "cancelled")):
        body = assert_error(_candidates(world, demand["id"]), 409)
        assert status in body["message"]


def test_no_candidates_gives_the_engines_reason(world: Flow) -> None:
    world.member(world.a, ["elderly_care"], location=TEN_KM_NORTH)
    world.member(world.a, ["mediation"])
    cases = {
        "no_skill": world.demand(world.a, ["plumbing"], category="repairs"),
        "out_of_range": world.demand(world.a, ["elderly_care"]),
    }
    for reason, demand in cases.items():
        body = _ok(_candidates(world, demand["id"]))
        assert body["candidates"] == []
        assert body["reason"] == reason
        assert isinstance(body["detail"], str) and body["detail"]
    nobody = world.demand(world.b, ["elderly_care"])  # community b has no members
    body = _ok(_candidates(world, nobody["id"], headers=world.key_b))
    assert (body["candidates"], body["reason"]) == ([], "no_skill")


def test_a_member_without_hours_left_is_not_a_candidate(world: Flow) -> None:
    world.member(world.a, ["elderly_care"], capacity_hours_per_week=1)
    demand = world.demand(world.a, ["elderly_care"], duration_hours=1.5)
    body = _ok(_candidates(world, demand["id"]))
    assert (body["candidates"], body["reason"]) == ([], "capacity")
    assert body["detail"]
