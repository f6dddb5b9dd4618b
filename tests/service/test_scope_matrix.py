"""Every route of the workspace against another community's objects (issue #7).

Community b gets one object of every kind; then a key scoped to community a, and each role of
community a logged in as a person, calls every ``/api/v1`` route that takes an id with b's id.
Each must answer 404 (the object does not exist for it) or 422 (a body or query refused before
anything is looked up reveals nothing either): never 2xx, 403 or 409, which would tell that the
id exists. A route this test does not know fails it, so a new route cannot
skip the check.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.service.test_ledger_and_visit_records import _quarter
from tests.service.test_menu_flow import API, Flow, _ok

PASSWORD = "a long enough password"
ROUTE_PREFIX = "/api/v1/"
SHARED = {"unit_id"}
"""Units are district-wide reference data every client may read (their tracking is filtered)."""
KEY_ONLY = {"job_id"}
"""Jobs belong to the API client that made them (covered by tests/service/test_jobs_api.py)."""


class Foreign(Flow):
    """Community b holds one object of every kind; community a has a member and logins."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        super().__init__(app, client)
        b, key_b = self.b, self.key_b
        self.ids: dict[str, str] = {"community_id": b}
        grid = _ok(
            client.post(f"{API}/communities/{b}/grids", json={"name": "g"}, headers=key_b), 201
        )
        self.ids["grid_id"] = grid["id"]
        building = _ok(
            client.post(
                f"{API}/grids/{grid['id']}/buildings", json={"name": "1号楼"}, headers=key_b
            ),
            201,
        )
        members = [self.member(b, ["elderly_care"]) for _ in range(2)]
        self.ids["member_id"] = members[0]["id"]
        offered = self.demand(b, ["elderly_care"], duration_hours=8)
        self.ids["task_id"] = self.dispatch(b, key_b)["tasks"][0]["id"]
        self.ids["demand_id"] = self.demand(b, ["elderly_care"])["id"]
        assert offered["id"] != self.ids["demand_id"]
        run = client.post(
            f"{API}/communities/{b}/dispatch",
            json={"time_limit_s": 1},
            headers={**key_b, "Prefer": "respond-async"},
        )
        self.ids["run_id"] = _ok(run, 202)["id"]
        post = self._post(
            f"/communities/{b}/posts", {"category": "elderly_care", "title": "助老", "seats": 1}
        )
        self.ids["post_id"] = post["id"]
        self._put(f"/members/{members[0]['id']}/post-choices", {"posts": [post["id"]]})
        allocation = self._post(f"/communities/{b}/posts/allocate", {})
        self.ids["commitment_id"] = allocation["commitments"][0]["id"]
        group = self._post(
            f"/communities/{b}/groups",
            {
                "name": "组",
                "member_ids": [m["id"] for m in members],
                "leader_id": members[0]["id"],
                "area": {"buildings": [building["id"]], "grids": []},
            },
        )
        self.ids["group_id"] = group["id"]
        pair = {
            "member_id": members[0]["id"],
            "resident_ref": "r-1",
            "category": "elderly",
            "period": "2026H2",
            "start_date": "2026-07-01",
        }
        self.ids["hand-in-hand-pairs"] = self._post(f"/communities/{b}/hand-in-hand-pairs", pair)[
            "id"
        ]
        unit = _ok(client.post(f"{API}/units", json={"name": "单位"}, headers=self.district), 201)
        self.ids["unit_id"] = unit["id"]
        unit_pair = {"unit_id": unit["id"], "period": "2026", "start_date": "2026-01-01"}
        self.ids["unit-pairs"] = self._post(f"/communities/{b}/unit-pairs", unit_pair)["id"]
        schedule = self._post(
            f"/communities/{b}/visit-schedules", _quarter([m["id"] for m in members])
        )
        self.ids["schedule_id"] = schedule["id"]
        self.ids["session_id"] = schedule["sessions"][0]["id"]
        # community a: a member of each role's login
        self.own = self.member(self.a, ["elderly_care"])
        self.logins: dict[str, FlaskClient] = {}
        for role, scope in (
            ("dispatcher", {"communities": [self.a]}),
            ("member", {"member_id": self.own["id"]}),
        ):
            name = f"{role}-{uuid.uuid4().hex[:8]}"
            body = {
                "username": name,
                "display_name": role,
                "password": PASSWORD,
                "role": role,
                **scope,
            }
            _ok(client.post(f"{API}/people", json=body, headers=self.district), 201)
            login = app.test_client()
            me = _ok(login.post(f"{API}/login", json={"username": name, "password": PASSWORD}))
            login.environ_base["HTTP_X_CSRF_TOKEN"] = me["csrf_token"]
            self.logins[role] = login

    def _post(self, url: str, body: Any) -> dict[str, Any]:
        response = self.client.post(f"{API}{url}", json=body, headers=self.key_b)
        assert response.status_code in (200, 201), response.get_json()
        return dict(response.get_json())

    def _put(self, url: str, body: Any) -> None:
        _ok(self.client.put(f"{API}{url}", json=body, headers=self.key_b))

    def value(self, rule: str, argument: str) -> str:
        if argument == "pair_id":
            return self.ids[rule.removeprefix(ROUTE_PREFIX).split("/")[0]]
        return self.ids[argument]


@pytest.fixture
def foreign(app: Flask, client: FlaskClient) -> Foreign:
    return Foreign(app, client)


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    """(method, rule, argument) of every API route that takes one object id."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(ROUTE_PREFIX) or "/static/" in rule.rule:
            continue
        if len(rule.arguments) != 1:
            continue
        (argument,) = rule.arguments
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, argument))
    return sorted(found)


def test_no_route_reveals_another_communitys_objects(app: Flask, foreign: Foreign) -> None:
    callers: dict[str, Any] = {
        "key": (foreign.client, foreign.key_a),
        "dispatcher": (foreign.logins["dispatcher"], {}),
        "member": (foreign.logins["member"], {}),
    }
    checked = 0
    for method, rule, argument in _routes(app):
        if argument in SHARED or argument in KEY_ONLY:
            continue
        object_id = foreign.value(rule, argument)
        url = rule.replace(f"<string:{argument}>", object_id)
        for who, (client, headers) in callers.items():
            response = client.open(url, method=method, json={}, headers=headers)
            assert response.status_code in (404, 422), (who, method, url, response.get_json())
            checked += 1
    assert checked >= 3 * 50  # the routes above, for three callers
