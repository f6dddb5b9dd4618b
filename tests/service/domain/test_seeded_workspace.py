"""The whole menu flow through the API on the seeded demo community, by people who log in
(issue #7's "done when"): a member claims, the dispatcher dispatches the rest, members accept
and complete, the community rates, and the ledger and the board show it."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.domain.demo import DEMO_COMMUNITY, DEMO_PASSWORD, seed_demo
from tests.service.domain.test_menu_flow import API, _ok
from tests.service.helpers import assert_error, travel_past


class Login:
    def __init__(self, app: Flask, username: str) -> None:
        self.client = app.test_client()
        me = _ok(
            self.client.post(f"{API}/login", json={"username": username, "password": DEMO_PASSWORD})
        )
        self.me, self.headers = me, {"X-CSRF-Token": me["csrf_token"]}

    def get(self, url: str) -> Any:
        return self.client.get(f"{API}{url}")

    def post(self, url: str, body: Any = None) -> Any:
        return self.client.post(f"{API}{url}", json=body, headers=self.headers)


def test_the_menu_flow_runs_end_to_end_on_the_seeded_community(app: Flask) -> None:
    state = app.extensions["linli"]
    with state.sessions() as session:
        first = seed_demo(session, state.cipher)
    with state.sessions() as session:
        assert seed_demo(session, state.cipher).created is False  # seeding is idempotent
    assert first.community_id == DEMO_COMMUNITY

    dispatcher, member = Login(app, "dispatcher"), Login(app, "member")
    me = member.me["member_id"]
    skills = set(_ok(member.get(f"/members/{me}"))["skills"])
    open_list = _ok(
        dispatcher.get(f"/demands?status=open&community_id={DEMO_COMMUNITY}&page_size=100")
    )
    assert len(open_list) >= 10
    mine = [
        d
        for d in _ok(member.get("/demands?status=open&page_size=100"))
        if set(d["skills"]) <= skills
    ]
    claimed = None
    for demand in mine:  # 抢单: the first open demand the member has free time for
        response = member.post(f"/demands/{demand['id']}/claim", {"member_id": me})
        if response.status_code == 201:
            claimed = response.get_json()
            break
        assert_error(response, 422)
    assert claimed is not None and claimed["status"] == "accepted"

    result = _ok(dispatcher.post(f"/communities/{DEMO_COMMUNITY}/dispatch", {"time_limit_s": 3}))
    assert result["status"] in ("optimal", "feasible") and result["tasks"]
    assert all(t["status"] == "offered" for t in result["tasks"])
    for task in result["tasks"]:
        _ok(dispatcher.post(f"/tasks/{task['id']}/accept"))
    served = [claimed, *result["tasks"]]
    for task in served:
        done = member if task["member_id"] == me else dispatcher
        travel_past(task)
        _ok(done.post(f"/tasks/{task['id']}/complete", {"hours": 1.5}))
        _ok(dispatcher.post(f"/tasks/{task['id']}/rate", {"rating": 5}))
    assert_error(member.post(f"/tasks/{claimed['id']}/rate", {"rating": 1}), 403)

    for task in served:  # on the service list and in the ledger, beside half a year of history
        assert _ok(dispatcher.get(f"/tasks/{task['id']}"))["status"] == "completed"
        ledger = _ok(
            dispatcher.get(
                f"/communities/{DEMO_COMMUNITY}/ledger?kind=service&member={task['member_id']}"
                "&page_size=100"
            )
        )
        assert task["id"] in {e["source"]["task_id"] for e in ledger}
    own = _ok(member.get(f"/communities/{DEMO_COMMUNITY}/ledger?kind=service"))
    assert {e["member_id"] for e in own} == {me}
    board = _ok(dispatcher.get(f"/communities/{DEMO_COMMUNITY}/board"))
    text = str(board)
    assert "lat" not in text and "lon" not in text
    assert board["totals"]["services"] >= len(served)
