"""Demands served by a crew (issue #18: the workspace's crew size): the community dispatches a
crew of members who start together, one task each; the demand is accepted once all of them
accept and completed once all of them are done; one decline re-forms the whole crew (the other
members are released without blame and may be asked again); a crew demand is never claimed.
Every plan is checked by the verifier inside the dispatch."""

from __future__ import annotations

from typing import Any

from tests.service.domain.test_menu_flow import Flow, _ok
from tests.service.domain.test_menu_flow import world as world  # the fixture
from tests.service.helpers import assert_error, travel_past


def _crew(world: Flow, size: int, members: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    for _ in range(members):
        world.member(world.a, ["repairs"])
    demand = world.demand(world.a, ["repairs"], category="repairs", crew_size=size)
    result = world.dispatch(world.a)
    tasks = [t for t in result["tasks"] if t["demand_id"] == demand["id"]]
    return demand, tasks


def test_a_crew_demand_is_offered_to_its_whole_crew_at_one_start(world: Flow) -> None:
    demand, tasks = _crew(world, 3, 4)
    assert demand["crew_size"] == 3
    assert len(tasks) == 3 and len({t["member_id"] for t in tasks}) == 3
    assert len({t["start"] for t in tasks}) == 1
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "dispatched"
    history = _ok(world.get(f"/demands/{demand['id']}/history"))
    assert [h["action"] for h in history].count("dispatched") == 3


def test_the_demand_is_accepted_and_completed_only_with_the_whole_crew(world: Flow) -> None:
    demand, tasks = _crew(world, 2, 2)
    first, second = tasks
    _ok(world.post(f"/tasks/{first['id']}/accept"))
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "dispatched"
    _ok(world.post(f"/tasks/{second['id']}/accept"))
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "accepted"
    travel_past(first)
    _ok(world.post(f"/tasks/{first['id']}/complete", {"hours": 1.5}))
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "accepted"
    _ok(world.post(f"/tasks/{second['id']}/complete", {"hours": 1.0}))
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "completed"
    ledger = _ok(world.get(f"/communities/{world.a}/ledger?kind=service"))
    assert {e["source"]["task_id"] for e in ledger} == {first["id"], second["id"]}


def test_one_decline_re_forms_the_crew_without_blaming_the_others(world: Flow) -> None:
    demand, tasks = _crew(world, 2, 4)
    first, second = tasks
    _ok(world.post(f"/tasks/{first['id']}/accept"))
    declined = _ok(world.post(f"/tasks/{second['id']}/decline", {"reason": "出差"}))
    released = _ok(world.get(f"/tasks/{first['id']}"))
    assert released["status"] == "declined"
    assert released["decline_reason"] == "another member of the crew declined"
    again = declined["redispatch"]
    assert again["task"] is not None and len(again["crew"]) == 1
    crew = {again["task"]["member_id"], again["crew"][0]["member_id"]}
    assert second["member_id"] not in crew  # the one who declined is not asked again
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "dispatched"


def test_a_crew_demand_cannot_be_claimed_and_a_cancel_releases_its_crew(world: Flow) -> None:
    demand, tasks = _crew(world, 2, 2)
    member = tasks[0]["member_id"]
    _ok(world.post(f"/tasks/{tasks[0]['id']}/accept"))
    other = world.demand(world.a, ["repairs"], category="repairs", crew_size=2)
    body = assert_error(world.post(f"/demands/{other['id']}/claim", {"member_id": member}), 422)
    assert list(body["errors"]) == ["demand_id"]
    _ok(world.post(f"/demands/{demand['id']}/cancel", {}))
    statuses = {_ok(world.get(f"/tasks/{t['id']}"))["status"] for t in tasks}
    assert statuses == {"declined"}
