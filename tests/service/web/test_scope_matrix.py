"""Every route of the workspace against another community's objects (issue #7).

Community b gets one object of every kind; then a key scoped to community a, and each role of
community a logged in as a person, calls every ``/api/v1`` route that takes an id with b's id.
Each call carries a body and query that are valid for the route (``REQUESTS``; a second test
proves each is accepted past validation when community b itself sends it), so every call reaches
the scope check, and each must answer 404: the object does not exist for it (never 2xx, 403, 409
or 422, which would tell that the id exists). Routes with two ids are called with b's community
and a valid second part. A route this test does not know fails it, so a new route cannot skip
the check.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.domain.evaluations.scheme import DEFAULT_SCHEME
from tests.service.domain.test_ledger_and_visit_records import _quarter
from tests.service.domain.test_menu_flow import API, PLACE, Flow, _ok, _window
from tests.service.web.test_sheets import demand_row, filled

PASSWORD = "a long enough password"
ROUTE_PREFIX = "/api/v1/"
SHARED = {"unit_id"}
"""Units are district-wide reference data every client may read (their tracking is filtered)."""
KEY_ONLY = {"job_id"}
"""Jobs belong to the API client that made them (covered by tests/service/web/test_jobs_api.py)."""


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
        self.ids["building_id"] = "pending"
        building = _ok(
            client.post(
                f"{API}/grids/{grid['id']}/buildings", json={"name": "1号楼"}, headers=key_b
            ),
            201,
        )
        self.ids["building_id"] = building["id"]
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
        self.quarter = _quarter([m["id"] for m in members])
        schedule = self._post(f"/communities/{b}/visit-schedules", self.quarter)
        self.ids["schedule_id"] = schedule["id"]
        self.ids["session_id"] = schedule["sessions"][0]["id"]
        household = self._post(
            f"/communities/{b}/households",
            {"building_id": building["id"], "location": PLACE, "needs": ["elderly_care"]},
        )
        self.ids["household_id"] = household["id"]
        note = {
            "household_id": household["id"],
            "visited_on": "2026-12-01",
            "visitors": [members[0]["id"]],
            "content": "家里水龙头漏水",
        }
        self.note = note
        self.ids["note_id"] = self._post(f"/communities/{b}/visit-notes", note)["id"]
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


PERIOD = "2026H2"


def requests_for(foreign: Foreign) -> dict[tuple[str, str], tuple[Any, str]]:
    """A valid ``(json body, query string)`` for every route that takes one id (and the
    export route with two): bodies that community b itself may send."""
    ids = foreign.ids
    member = ids["member_id"]
    demand_body = {
        "category": "elderly_care",
        "skills": ["elderly_care"],
        "location": PLACE,
        "window": _window(),
        "duration_hours": 1.0,
        "priority": 3,
    }
    pair = {"member_id": member, "resident_ref": "r-9", "category": "elderly", "period": PERIOD}
    c = "/api/v1/communities/<string:community_id>"
    return {
        ("GET", "/api/v1/commitments/<string:commitment_id>"): (None, ""),
        ("POST", "/api/v1/commitments/<string:commitment_id>/mark"): ({"status": "kept"}, ""),
        ("GET", f"{c}/board"): (None, ""),
        ("POST", f"{c}/demands"): (demand_body, ""),
        ("POST", f"{c}/demands/import"): ({"demands": [demand_body], "dry_run": True}, ""),
        ("POST", f"{c}/dispatch"): ({"time_limit_s": 1}, ""),
        ("GET", f"{c}/dispatch-runs"): (None, ""),
        ("GET", f"{c}/evaluation"): (None, f"?period={PERIOD}"),
        ("GET", f"{c}/evaluation.html"): (None, f"?period={PERIOD}"),
        ("GET", f"{c}/evaluation.xlsx"): (None, f"?period={PERIOD}"),
        ("GET", f"{c}/grids"): (None, ""),
        ("POST", f"{c}/grids"): ({"name": "g2"}, ""),
        ("GET", f"{c}/groups"): (None, ""),
        ("POST", f"{c}/groups"): ({"name": "组二"}, ""),
        ("POST", f"{c}/groups/compute"): ({"replace": True, "time_limit_s": 1}, ""),
        ("GET", f"{c}/hand-in-hand-pairs"): (None, ""),
        ("POST", f"{c}/hand-in-hand-pairs"): (pair, ""),
        ("POST", f"{c}/hand-in-hand-pairs/compute"): (
            {
                "period": PERIOD,
                "residents": [
                    {
                        "resident_ref": "r-8",
                        "category": "elderly",
                        "location": PLACE,
                        "vulnerability": 3,
                    }
                ],
            },
            "",
        ),
        ("GET", f"{c}/households"): (None, ""),
        ("POST", f"{c}/households"): (
            {"building_id": ids["building_id"], "location": PLACE, "needs": ["elderly_care"]},
            "",
        ),
        ("GET", f"{c}/ledger"): (None, ""),
        ("GET", f"{c}/ledger/totals"): (None, ""),
        ("GET", f"{c}/map"): (None, ""),
        ("GET", f"{c}/points-scheme"): (None, ""),
        ("PUT", f"{c}/points-scheme"): (DEFAULT_SCHEME, ""),
        ("GET", f"{c}/posts"): (None, ""),
        ("POST", f"{c}/posts"): ({"category": "elderly_care", "title": "助老二", "seats": 1}, ""),
        ("POST", f"{c}/posts/allocate"): ({}, ""),
        ("GET", f"{c}/posts/allocation"): (None, ""),
        ("GET", f"{c}/survey-responses"): (None, f"?period={PERIOD}"),
        ("POST", f"{c}/survey-responses"): (
            {
                "member_id": member,
                "period": PERIOD,
                "score": 5,
                "respondent_kind": "representative",
                "respondent_ref": "rep-1",
            },
            "",
        ),
        ("GET", f"{c}/unit-pairs"): (None, ""),
        ("POST", f"{c}/unit-pairs"): ({"unit_id": ids["unit_id"], "period": "2027"}, ""),
        ("GET", f"{c}/vetoes"): (None, ""),
        ("POST", f"{c}/vetoes"): (
            {"member_id": member, "period": PERIOD, "statement": "组织考评：一票否决"},
            "",
        ),
        ("GET", f"{c}/requests"): (None, ""),
        ("GET", f"{c}/feedback"): (None, ""),
        ("GET", f"{c}/visit-notes"): (None, ""),
        ("POST", f"{c}/visit-notes"): (foreign.note, ""),
        ("GET", "/api/v1/demands/<string:demand_id>/history"): (None, ""),
        ("POST", "/api/v1/demands/<string:demand_id>/feedback"): (
            {"outcome": "已上门维修", "no_feedback_reason": "联系不上"},
            "",
        ),
        ("POST", "/api/v1/visit-notes/<string:note_id>/demand"): (
            {k: v for k, v in demand_body.items() if k != "location"},
            "",
        ),
        ("GET", "/api/v1/members/<string:member_id>/phone"): (None, ""),
        ("GET", f"{c}/visit-schedules"): (None, ""),
        ("POST", f"{c}/visit-schedules"): (foreign.quarter, ""),
        ("GET", f"{c}/exports/<string:name>.xlsx"): (None, ""),
        ("POST", f"{c}/imports/<string:kind>"): (None, "?dry_run=true"),
        ("GET", "/api/v1/demands/<string:demand_id>"): (None, ""),
        ("POST", "/api/v1/demands/<string:demand_id>/cancel"): ({}, ""),
        ("GET", "/api/v1/demands/<string:demand_id>/candidates"): (None, ""),
        ("POST", "/api/v1/demands/<string:demand_id>/claim"): ({"member_id": member}, ""),
        ("GET", "/api/v1/demands/<string:demand_id>/contact"): (None, ""),
        ("GET", "/api/v1/dispatch-runs/<string:run_id>"): (None, ""),
        ("GET", "/api/v1/grids/<string:grid_id>/buildings"): (None, ""),
        ("POST", "/api/v1/grids/<string:grid_id>/buildings"): ({"name": "2号楼"}, ""),
        ("GET", "/api/v1/groups/<string:group_id>"): (None, ""),
        ("PATCH", "/api/v1/groups/<string:group_id>"): ({"name": "组三"}, ""),
        ("DELETE", "/api/v1/groups/<string:group_id>"): (None, ""),
        ("GET", "/api/v1/groups/<string:group_id>/households"): (None, ""),
        ("GET", "/api/v1/hand-in-hand-pairs/<string:pair_id>"): (None, ""),
        ("POST", "/api/v1/hand-in-hand-pairs/<string:pair_id>/end"): ({}, ""),
        ("POST", "/api/v1/hand-in-hand-pairs/<string:pair_id>/renew"): ({"period": "2027H1"}, ""),
        ("GET", "/api/v1/members/<string:member_id>"): (None, ""),
        ("PATCH", "/api/v1/members/<string:member_id>"): ({"occupation": "教师"}, ""),
        ("GET", "/api/v1/members/<string:member_id>/availability"): (
            None,
            "?start=2026-12-07T00:00:00%2B08:00&end=2026-12-14T00:00:00%2B08:00",
        ),
        ("GET", "/api/v1/members/<string:member_id>/evaluation"): (None, f"?period={PERIOD}"),
        ("GET", "/api/v1/members/<string:member_id>/evaluation.html"): (None, f"?period={PERIOD}"),
        ("GET", "/api/v1/members/<string:member_id>/evaluation.xlsx"): (None, f"?period={PERIOD}"),
        ("POST", "/api/v1/members/<string:member_id>/leader-reviews"): (
            {"period": PERIOD, "mark": "good", "comment": "按时完成"},
            "",
        ),
        ("GET", "/api/v1/members/<string:member_id>/post-choices"): (None, ""),
        ("PUT", "/api/v1/members/<string:member_id>/post-choices"): ({"posts": []}, ""),
        ("GET", "/api/v1/members/<string:member_id>/self-evaluation"): (None, f"?period={PERIOD}"),
        ("POST", "/api/v1/members/<string:member_id>/self-evaluation"): (
            {"period": PERIOD, "text": "本半年参加服务三次。"},
            "",
        ),
        ("GET", "/api/v1/posts/<string:post_id>"): (None, ""),
        ("PATCH", "/api/v1/posts/<string:post_id>"): ({"seats": 2}, ""),
        ("GET", "/api/v1/tasks/<string:task_id>"): (None, ""),
        ("POST", "/api/v1/tasks/<string:task_id>/accept"): ({}, ""),
        ("POST", "/api/v1/tasks/<string:task_id>/complete"): ({"hours": 1.0}, ""),
        ("POST", "/api/v1/tasks/<string:task_id>/decline"): ({"reason": "那天不在"}, ""),
        ("POST", "/api/v1/tasks/<string:task_id>/rate"): ({"rating": 5}, ""),
        ("GET", "/api/v1/unit-pairs/<string:pair_id>"): (None, ""),
        ("POST", "/api/v1/unit-pairs/<string:pair_id>/end"): ({}, ""),
        ("POST", "/api/v1/unit-pairs/<string:pair_id>/renew"): ({"period": "2028"}, ""),
        ("GET", "/api/v1/visit-schedules/<string:schedule_id>"): (None, ""),
        ("GET", "/api/v1/visit-schedules/<string:schedule_id>/calendar.ics"): (None, ""),
        ("GET", "/api/v1/visit-sessions/<string:session_id>"): (None, ""),
        ("POST", "/api/v1/visit-sessions/<string:session_id>/attendance"): (
            {"members": [member], "notes": "走访四户"},
            "",
        ),
    }


SECOND_PART = {"name": "demands", "kind": "demands"}
"""The second part of a two-id route: an export and an import that exist for every community."""


def _routes(app: Flask) -> list[tuple[str, str, list[str]]]:
    """(method, rule, arguments) of every API route that takes an object id."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(ROUTE_PREFIX) or "/static/" in rule.rule:
            continue
        if not rule.arguments:
            continue
        arguments = sorted(rule.arguments, key=rule.rule.index)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, arguments))
    return sorted(found)


def _url(foreign: Foreign, rule: str, arguments: list[str]) -> str:
    url = rule
    for argument in arguments:
        value = SECOND_PART.get(argument) or foreign.value(rule, argument)
        url = url.replace(f"<string:{argument}>", value)
    return url


def _call(client: FlaskClient, method: str, url: str, body: Any, headers: dict[str, str]) -> Any:
    if url.split("?")[0].endswith("/imports/demands"):  # the Excel import: a workbook
        data = {"file": (io.BytesIO(filled("demands", [demand_row()])), "demands.xlsx")}
        return client.open(
            url, method=method, data=data, headers=headers, content_type="multipart/form-data"
        )
    return client.open(url, method=method, json=body, headers=headers)


def test_no_route_reveals_another_communitys_objects(app: Flask, foreign: Foreign) -> None:
    """Valid requests with community b's ids, from community a: 404 on every route."""
    callers: dict[str, Any] = {
        "key": (foreign.client, foreign.key_a),
        "dispatcher": (foreign.logins["dispatcher"], {}),
        "member": (foreign.logins["member"], {}),
    }
    requests = requests_for(foreign)
    checked = 0
    for method, rule, arguments in _routes(app):
        if SHARED.intersection(arguments) or KEY_ONLY.intersection(arguments):
            continue
        assert (method, rule) in requests, f"no valid request for {method} {rule}: add one"
        body, query = requests[(method, rule)]
        url = _url(foreign, rule, arguments) + query
        for who, (client, headers) in callers.items():
            response = _call(client, method, url, body, headers)
            assert response.status_code == 404, (who, method, url, response.get_json())
            checked += 1
    assert checked >= 3 * 75  # the routes above, for three callers


def test_the_matrix_requests_are_valid_for_the_owner(app: Flask, foreign: Foreign) -> None:
    """Community b sending the same requests is never refused for their shape (no 422 from
    the schema: a body or query that failed would stop the matrix before the scope check)."""
    requests = requests_for(foreign)
    for method, rule, arguments in _routes(app):
        if (method, rule) not in requests:
            continue
        body, query = requests[(method, rule)]
        url = _url(foreign, rule, arguments) + query
        response = _call(foreign.client, method, url, body, foreign.key_b)
        assert response.status_code < 500, (method, url, response.get_data(as_text=True))
        if response.status_code == 422:
            errors = response.get_json()["errors"]
            schema_paths = {p for p in errors if not p.startswith(("member_id", "period", "$"))}
            assert not schema_paths, (method, url, errors)
