"""People's logins, roles against every scope, residents' contact details, the audit trail,
re-dispatch after a decline and overdue flags (issue #7).

Every test runs on SQLite and PostgreSQL (the ``app`` fixture). Each person logs in with their
own test client (their own cookie jar); API keys stand for machines.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from matcher.dispatch.verify import Violation
from service.db.audit import AuditEvent
from service.db.base import utcnow
from service.db.flow import Demand
from service.domain import flow
from service.domain.people import new_person
from tests.service.domain.test_menu_flow import API, Flow, _ok
from tests.service.helpers import assert_error as _assert_error
from tests.service.helpers import travel_past

PASSWORD = "correct horse battery"
PHONE = "13812345678"
ADDRESS = "金水区花园路88号3号楼2单元501"


def assert_error(response: Any, code: int, field: str | None = None) -> dict[str, Any]:
    """An error of the one shape with this code (and naming ``field``, if given)."""
    body = _assert_error(response, code)
    if field is not None:
        assert field in body["errors"], body
    return body


class Person:
    """A logged-in person: their own client and the CSRF token of their session."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client = app.test_client()
        response = self.client.post(
            f"{API}/login", json={"username": username, "password": PASSWORD}
        )
        self.me = _ok(response)
        self.csrf = self.me["csrf_token"]

    def get(self, url: str) -> Any:
        return self.client.get(f"{API}{url}")

    def post(self, url: str, body: Any = None, *, csrf: bool = True) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.client.post(f"{API}{url}", json=body, headers=headers)


class Roles(Flow):
    """Two communities a and b; a unit with a member in each; people of every role."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        super().__init__(app, client)
        self.unit = _ok(
            client.post(f"{API}/units", json={"name": "供电公司"}, headers=self.district), 201
        )["id"]
        self.m_a1 = self.member(self.a, ["elderly_care"], unit_id=self.unit)
        self.m_a2 = self.member(self.a, ["elderly_care"])
        self.m_b1 = self.member(self.b, ["elderly_care"], unit_id=self.unit)
        tag = uuid.uuid4().hex[:8]
        self.names = {
            role: f"{role}-{tag}"
            for role in ("district", "dispatcher", "organiser", "member1", "member2")
        }
        self.login_for("district", "district")
        self.login_for("dispatcher", "dispatcher", communities=[self.a])
        self.login_for("organiser", "unit_organiser", unit_id=self.unit)
        self.login_for("member1", "member", member_id=self.m_a1["id"])
        self.login_for("member2", "member", member_id=self.m_a2["id"])

    def login_for(self, name: str, role: str, **scope: Any) -> dict[str, Any]:
        body = {
            "username": self.names[name],
            "display_name": name,
            "password": PASSWORD,
            "role": role,
            **scope,
        }
        return dict(_ok(self.client.post(f"{API}/people", json=body, headers=self.district), 201))

    def person(self, name: str) -> Person:
        return Person(self.app, self.names[name])


@pytest.fixture
def roles(app: Flask, client: FlaskClient) -> Roles:
    return Roles(app, client)


# --------------------------------------------------------------------------------------------
# Logins, cookies, CSRF
# --------------------------------------------------------------------------------------------


def test_login_sets_a_hardened_cookie_and_me_says_who(roles: Roles) -> None:
    person = Person(roles.app, roles.names["dispatcher"])
    assert person.me["role"] == "dispatcher" and person.me["communities"] == [roles.a]
    assert "password" not in person.me and len(person.csrf) >= 32
    cookie = person.client.get_cookie("linli_session")
    assert cookie is not None and cookie.http_only and cookie.secure
    assert cookie.same_site == "Lax"
    me = _ok(person.get("/me"))
    assert me["username"] == roles.names["dispatcher"] and me["csrf_token"] == person.csrf
    assert person.post("/logout").status_code == 204
    assert_error(person.get("/me"), 401)


def test_logout_ends_the_session_on_the_server_even_for_a_kept_cookie(roles: Roles) -> None:
    """The cookie copied before logout no longer works afterwards, and logging out on one
    device ends the person's sessions on every other device too."""
    laptop = roles.person("dispatcher")
    phone = roles.person("dispatcher")
    kept = laptop.client.get_cookie("linli_session")
    assert kept is not None
    assert _ok(phone.get("/me"))["role"] == "dispatcher"
    assert laptop.post("/logout").status_code == 204
    replay = roles.app.test_client()
    replay.set_cookie(kept.key, kept.value, domain=kept.domain or "localhost")
    assert_error(replay.get(f"{API}/me"), 401)
    assert_error(phone.get("/me"), 401)
    again = roles.person("dispatcher")  # a new login works again
    assert _ok(again.get("/me"))["role"] == "dispatcher"


def test_a_lockout_ends_the_sessions_already_open(roles: Roles) -> None:
    """Someone guessing a password ten times locks the username and ends its open sessions."""
    member = roles.person("member1")
    assert _ok(member.get("/me"))["role"] == "member"
    guesser = roles.app.test_client()
    for _ in range(10):
        bad = guesser.post(
            f"{API}/login", json={"username": roles.names["member1"], "password": "guess guess"}
        )
        assert_error(bad, 401)
    assert_error(member.get("/me"), 401)


def test_wrong_passwords_are_refused_and_then_locked_out(roles: Roles) -> None:
    client = roles.app.test_client()
    name = roles.names["member2"]
    for _ in range(10):
        bad = client.post(f"{API}/login", json={"username": name, "password": "wrong password"})
        assert_error(bad, 401)
    good = client.post(f"{API}/login", json={"username": name, "password": PASSWORD})
    assert_error(good, 429)
    assert_error(client.get(f"{API}/me"), 401)


def test_unknown_users_and_missing_fields(roles: Roles) -> None:
    client = roles.app.test_client()
    unknown = client.post(f"{API}/login", json={"username": "nobody", "password": PASSWORD})
    assert_error(unknown, 401)
    assert_error(client.post(f"{API}/login", json={"username": "x"}), 422, "password")


def test_a_change_without_the_csrf_token_is_refused(roles: Roles) -> None:
    dispatcher = roles.person("dispatcher")
    body = {"time_limit_s": 1}
    refused = dispatcher.post(f"/communities/{roles.a}/dispatch", body, csrf=False)
    assert_error(refused, 403)
    wrong = dispatcher.client.post(
        f"{API}/communities/{roles.a}/dispatch", json=body, headers={"X-CSRF-Token": "forged"}
    )
    assert_error(wrong, 403)
    assert _ok(dispatcher.post(f"/communities/{roles.a}/dispatch", body))["status"]


def test_people_do_not_reach_the_solver_endpoints(roles: Roles) -> None:
    district = roles.person("district")
    assert_error(district.get("/jobs"), 403)


def test_login_creation_rules(roles: Roles) -> None:
    bad_role = {
        "username": "x-" + uuid.uuid4().hex[:6],
        "display_name": "x",
        "password": PASSWORD,
        "role": "dispatcher",
    }
    response = roles.client.post(f"{API}/people", json=bad_role, headers=roles.district)
    assert_error(response, 422, "communities")
    weak = {**bad_role, "communities": [roles.a], "password": "short"}
    assert_error(roles.client.post(f"{API}/people", json=weak, headers=roles.district), 422)
    mass = {**bad_role, "communities": [roles.a], "id": 1, "active": False}
    response = roles.client.post(f"{API}/people", json=mass, headers=roles.district)
    assert_error(response, 422, "id")
    taken = {**bad_role, "communities": [roles.a], "username": roles.names["dispatcher"]}
    assert_error(roles.client.post(f"{API}/people", json=taken, headers=roles.district), 409)
    # a community key creates member logins for its members only, and nothing else
    member_login = {**bad_role, "role": "member", "member_id": roles.m_b1["id"]}
    assert_error(roles.client.post(f"{API}/people", json=member_login, headers=roles.key_a), 404)
    admin = {**bad_role, "role": "district"}
    assert_error(roles.client.post(f"{API}/people", json=admin, headers=roles.key_a), 403)
    # a member cannot create logins at all
    member = roles.person("member1")
    own = {**member_login, "member_id": roles.m_a1["id"]}
    assert_error(member.post("/people", own), 403)


def test_a_member_who_left_can_no_longer_log_in(roles: Roles) -> None:
    member = roles.person("member2")
    _ok(
        roles.client.patch(
            f"{API}/members/{roles.m_a2['id']}", json={"status": "left"}, headers=roles.district
        )
    )
    assert_error(member.get("/tasks"), 401)
    again = roles.app.test_client().post(
        f"{API}/login", json={"username": roles.names["member2"], "password": PASSWORD}
    )
    assert_error(again, 401)


# --------------------------------------------------------------------------------------------
# Every role against every scope
# --------------------------------------------------------------------------------------------


def _ids(response: Any) -> set[str]:
    return {row["id"] for row in _ok(response)}


def test_a_dispatcher_sees_and_changes_only_their_community(roles: Roles) -> None:
    demand_b = roles.demand(roles.b, ["elderly_care"])
    demand_a = roles.demand(roles.a, ["elderly_care"])
    dispatcher = roles.person("dispatcher")
    assert demand_b["id"] not in _ids(dispatcher.get("/demands"))
    assert demand_a["id"] in _ids(dispatcher.get("/demands"))
    assert _ids(dispatcher.get("/members")) == {roles.m_a1["id"], roles.m_a2["id"]}
    assert_error(dispatcher.get(f"/demands/{demand_b['id']}"), 404)
    assert_error(dispatcher.get(f"/members/{roles.m_b1['id']}"), 404)
    assert_error(dispatcher.post(f"/demands/{demand_b['id']}/cancel"), 404)
    assert_error(dispatcher.post(f"/communities/{roles.b}/dispatch", {"time_limit_s": 1}), 404)
    assert_error(dispatcher.get(f"/communities/{roles.b}/grids"), 404)
    assert {c["id"] for c in _ok(dispatcher.get("/communities"))} == {roles.a}
    assert_error(dispatcher.post("/communities", {"id": "c-x", "name": "x"}), 403)


def test_a_member_sees_their_own_tasks_and_their_communitys_demand_list(roles: Roles) -> None:
    demand = roles.demand(roles.a, ["elderly_care"], duration_hours=8)
    other = roles.demand(roles.a, ["elderly_care"], duration_hours=8)
    foreign = roles.demand(roles.b, ["elderly_care"])
    result = roles.dispatch(roles.a)
    tasks = {t["member_id"]: t for t in result["tasks"]}
    assert set(tasks) == {roles.m_a1["id"], roles.m_a2["id"]}
    mine, theirs = tasks[roles.m_a1["id"]], tasks[roles.m_a2["id"]]
    member = roles.person("member1")
    assert _ids(member.get("/tasks")) == {mine["id"]}
    assert_error(member.get(f"/tasks/{theirs['id']}"), 404)
    assert_error(member.post(f"/tasks/{theirs['id']}/accept"), 404)
    assert _ids(member.get("/members")) == {roles.m_a1["id"]}
    assert_error(member.get(f"/members/{roles.m_a2['id']}"), 404)
    listed = _ids(member.get("/demands"))
    assert {demand["id"], other["id"]} <= listed and foreign["id"] not in listed
    assert_error(member.get(f"/demands/{foreign['id']}"), 404)
    # a member acts on their own tasks, never as the community
    assert_error(member.post(f"/communities/{roles.a}/dispatch", {"time_limit_s": 1}), 403)
    order = {k: demand[k] for k in ("category", "location", "window", "duration_hours")}
    assert_error(member.post(f"/communities/{roles.a}/demands", {**order, "priority": 3}), 403)
    accepted = _ok(member.post(f"/tasks/{mine['id']}/accept"))
    assert accepted["status"] == "accepted"
    travel_past(mine)
    _ok(member.post(f"/tasks/{mine['id']}/complete", {"hours": 1}))
    assert_error(member.post(f"/tasks/{mine['id']}/rate", {"rating": 5}), 403)
    assert _ok(roles.post(f"/tasks/{mine['id']}/rate", {"rating": 5}))["rating"] == 5
    assert_error(member.get(f"/demands/{demand['id']}/candidates"), 403)
    assert_error(member.get("/audit-events"), 403)
    assert_error(member.get("/people"), 403)


def test_a_member_claims_for_themself_only(roles: Roles) -> None:
    demand = roles.demand(roles.a, ["elderly_care"])
    member = roles.person("member1")
    assert_error(
        member.post(f"/demands/{demand['id']}/claim", {"member_id": roles.m_a2["id"]}), 404
    )
    task = _ok(member.post(f"/demands/{demand['id']}/claim", {"member_id": roles.m_a1["id"]}), 201)
    assert task["member_id"] == roles.m_a1["id"] and task["status"] == "accepted"


def test_a_unit_organiser_reads_their_units_members_and_changes_nothing(roles: Roles) -> None:
    roles.demand(roles.a, ["elderly_care"])
    roles.dispatch(roles.a)
    organiser = roles.person("organiser")
    assert _ids(organiser.get("/members")) == {roles.m_a1["id"], roles.m_b1["id"]}
    assert_error(organiser.get(f"/members/{roles.m_a2['id']}"), 404)
    tasks = _ok(organiser.get("/tasks"))
    assert {t["member_id"] for t in tasks} <= {roles.m_a1["id"], roles.m_b1["id"]}
    served = {t["demand_id"] for t in tasks}
    assert _ids(organiser.get("/demands")) == served
    assert_error(organiser.post(f"/communities/{roles.a}/dispatch", {"time_limit_s": 1}), 403)
    for task in tasks:
        assert_error(organiser.post(f"/tasks/{task['id']}/accept"), 403)
    assert_error(organiser.post(f"/communities/{roles.a}/grids", {"name": "g"}), 403)


def test_the_district_sees_everything(roles: Roles) -> None:
    roles.demand(roles.a, ["elderly_care"])
    roles.demand(roles.b, ["elderly_care"])
    district = roles.person("district")
    communities = {c["id"] for c in _ok(district.get("/communities"))}
    assert {roles.a, roles.b} <= communities
    for community, members in ((roles.a, 2), (roles.b, 1)):
        assert len(_ok(district.get(f"/members?community_id={community}"))) == members


# --------------------------------------------------------------------------------------------
# Residents' contact details
# --------------------------------------------------------------------------------------------


def test_contact_details_are_encrypted_masked_and_shown_only_to_who_needs_them(
    app: Flask, roles: Roles
) -> None:
    demand = roles.demand(roles.a, ["elderly_care"], contact_phone=PHONE, address=ADDRESS)
    assert demand["contact"] == {
        "phone": "138****5678",
        "address": "金水区****",
        "masked": True,
        "purged": False,
    }
    with app.extensions["linli"].sessions() as session:
        row = session.get(Demand, demand["id"])
        assert row is not None and row.contact_phone_enc and row.address_enc
        assert PHONE not in row.contact_phone_enc and "花园路" not in row.address_enc
    member1, member2 = roles.person("member1"), roles.person("member2")
    for person in (member1, member2):
        assert_error(person.get(f"/demands/{demand['id']}/contact"), 403)
    task = roles.dispatch(roles.a)["tasks"][0]
    server = member1 if task["member_id"] == roles.m_a1["id"] else member2
    bystander = member2 if server is member1 else member1
    clear = _ok(server.get(f"/demands/{demand['id']}/contact"))
    assert clear == {"phone": PHONE, "address": ADDRESS, "masked": False, "purged": False}
    assert_error(bystander.get(f"/demands/{demand['id']}/contact"), 403)
    assert _ok(roles.person("dispatcher").get(f"/demands/{demand['id']}/contact"))["phone"] == PHONE
    assert _ok(server.get(f"/demands/{demand['id']}"))["contact"]["phone"] == "138****5678"
    trail = _ok(
        roles.client.get(
            f"{API}/audit-events?object_id={demand['id']}&action=view_contact",
            headers=roles.key_a,
        )
    )
    assert [e["actor_role"] for e in trail] == ["dispatcher", "member"]
    assert all(PHONE not in str(e) for e in trail)


def test_bad_contact_details_name_the_field(roles: Roles) -> None:
    body = {
        "category": "x",
        "location": {"lat": 34.7, "lon": 113.6},
        "window": roles.demand(roles.a, [])["window"],
        "duration_hours": 1,
        "priority": 3,
        "contact_phone": "call me",
    }
    response = roles.post(f"/communities/{roles.a}/demands", body)
    assert_error(response, 422, "contact_phone")


def test_retention_purges_closed_demands_contact_details(app: Flask, roles: Roles) -> None:
    old = roles.demand(roles.a, ["elderly_care"], contact_phone=PHONE, address=ADDRESS)
    fresh = roles.demand(roles.a, ["elderly_care"], contact_phone=PHONE)
    still_open = roles.demand(roles.a, ["elderly_care"], contact_phone=PHONE)
    for demand in (old, fresh):
        _ok(roles.post(f"/demands/{demand['id']}/cancel"))
    sessions = app.extensions["linli"].sessions
    with sessions() as session:
        session.execute(
            update(Demand)
            .where(Demand.id == old["id"])
            .values(closed_at=utcnow() - timedelta(days=200))
        )
        session.commit()
        assert flow.purge_contacts(session, retention_days=180) >= 1
        purged_rows = session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "purge_contact")
        ).all()
    assert old["id"] in purged_rows and fresh["id"] not in purged_rows
    purged = _ok(roles.get(f"/demands/{old['id']}"))["contact"]
    assert purged == {"phone": None, "address": None, "masked": True, "purged": True}
    assert _ok(roles.get(f"/demands/{fresh['id']}"))["contact"]["phone"] == "138****5678"
    assert _ok(roles.get(f"/demands/{still_open['id']}"))["contact"]["purged"] is False


def test_logs_of_a_whole_flow_hold_no_contact_details(
    roles: Roles, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    demand = roles.demand(roles.a, ["elderly_care"], contact_phone=PHONE, address=ADDRESS)
    dispatcher = roles.person("dispatcher")
    task = roles.dispatch(roles.a)["tasks"][0]
    _ok(dispatcher.get(f"/demands/{demand['id']}/contact"))
    _ok(dispatcher.post(f"/tasks/{task['id']}/accept"))
    travel_past(task)
    _ok(dispatcher.post(f"/tasks/{task['id']}/complete", {"hours": 1}))
    _ok(dispatcher.post(f"/tasks/{task['id']}/rate", {"rating": 4}))
    assert demand["id"] in caplog.text
    for secret in (PHONE, "5678", ADDRESS, "花园路", PASSWORD):
        assert secret not in caplog.text


# --------------------------------------------------------------------------------------------
# The audit trail
# --------------------------------------------------------------------------------------------


def test_every_change_is_audited_and_the_trail_is_scoped(roles: Roles) -> None:
    demand = roles.demand(roles.a, ["elderly_care"])
    foreign = roles.demand(roles.b, ["elderly_care"])
    task = roles.dispatch(roles.a)["tasks"][0]
    member = roles.person("member1" if task["member_id"] == roles.m_a1["id"] else "member2")
    _ok(member.post(f"/tasks/{task['id']}/accept"))
    dispatcher = roles.person("dispatcher")
    trail = _ok(dispatcher.get("/audit-events?page_size=100"))
    assert {e["community_id"] for e in trail} == {roles.a}
    about = {(e["object_type"], e["object_id"], e["action"], e["actor_role"]) for e in trail}
    assert ("demand", demand["id"], "create", "client") in about
    assert ("task", task["id"], "create", "client") in about
    assert ("task", task["id"], "transition", "member") in about
    assert all(e["object_id"] != foreign["id"] for e in trail)
    everything = _ok(roles.person("district").get(f"/audit-events?object_id={foreign['id']}"))
    assert [e["action"] for e in everything] == ["create"]


# --------------------------------------------------------------------------------------------
# A decline re-dispatches; overdue flags
# --------------------------------------------------------------------------------------------


def test_a_decline_redispatches_with_every_accepted_task_pinned(roles: Roles) -> None:
    third = roles.member(roles.a, ["elderly_care"])
    first = roles.demand(roles.a, ["elderly_care"], duration_hours=8)  # a day's work each
    second = roles.demand(roles.a, ["elderly_care"], duration_hours=8)
    tasks = roles.dispatch(roles.a)["tasks"]
    assert {t["demand_id"] for t in tasks} == {first["id"], second["id"]}
    keep, drop = tasks
    kept = _ok(roles.post(f"/tasks/{keep['id']}/accept"))
    declined = _ok(roles.post(f"/tasks/{drop['id']}/decline", {"reason": "出差"}))
    assert declined["status"] == "declined"
    again = declined["redispatch"]["task"]
    assert again is not None and again["demand_id"] == drop["demand_id"]
    assert again["status"] == "offered"
    assert again["member_id"] not in {drop["member_id"], keep["member_id"]}
    assert again["member_id"] in {roles.m_a1["id"], roles.m_a2["id"], third["id"]}
    assert _ok(roles.get(f"/tasks/{keep['id']}")) == kept  # nobody else's plan moved
    assert _ok(roles.get(f"/demands/{drop['demand_id']}"))["status"] == "dispatched"
    # declined by the last free member too: nobody is left, the demand waits on the list
    last = _ok(roles.post(f"/tasks/{again['id']}/decline", {"reason": "生病"}))
    assert last["redispatch"]["task"] is None and last["redispatch"]["reason"]
    assert _ok(roles.get(f"/demands/{drop['demand_id']}"))["status"] == "open"


def test_decline_without_redispatch_leaves_the_demand_open(roles: Roles) -> None:
    demand = roles.demand(roles.a, ["elderly_care"])
    task = roles.dispatch(roles.a)["tasks"][0]
    declined = _ok(roles.post(f"/tasks/{task['id']}/decline?redispatch=false", {"reason": "x"}))
    assert declined.get("redispatch") is None
    assert _ok(roles.get(f"/demands/{demand['id']}"))["status"] == "open"


def test_overdue_demands_and_tasks_are_flagged_and_filtered(app: Flask, roles: Roles) -> None:
    late = roles.demand(roles.a, ["elderly_care"])
    on_time = roles.demand(roles.a, ["elderly_care"])
    tasks = {t["demand_id"]: t for t in roles.dispatch(roles.a)["tasks"]}
    with app.extensions["linli"].sessions() as session:
        session.execute(
            update(Demand)
            .where(Demand.id == late["id"])
            .values(window_end=utcnow() - timedelta(minutes=1))
        )
        session.commit()
    assert _ok(roles.get(f"/demands/{late['id']}"))["overdue"] is True
    assert _ok(roles.get(f"/demands/{on_time['id']}"))["overdue"] is False
    assert _ids(roles.get(f"/demands?overdue=true&community_id={roles.a}")) == {late["id"]}
    overdue_tasks = _ok(roles.get(f"/tasks?overdue=true&community_id={roles.a}"))
    assert [t["id"] for t in overdue_tasks] == [tasks[late["id"]]["id"]]
    assert overdue_tasks[0]["overdue"] is True
    not_late = _ids(roles.get(f"/tasks?overdue=false&community_id={roles.a}"))
    assert tasks[on_time["id"]]["id"] in not_late


def test_a_claim_needs_free_time_next_to_the_tasks_held(roles: Roles) -> None:
    busy_member = roles.m_a1
    held = roles.demand(roles.a, ["elderly_care"], duration_hours=8)
    _ok(roles.post(f"/demands/{held['id']}/claim", {"member_id": busy_member["id"]}), 201)
    same_time = roles.demand(roles.a, ["elderly_care"], duration_hours=1)
    refused = roles.post(f"/demands/{same_time['id']}/claim", {"member_id": busy_member["id"]})
    assert_error(refused, 422, "member_id")
    assert _ok(roles.get(f"/demands/{same_time['id']}"))["status"] == "open"


# --------------------------------------------------------------------------------------------
# Dynamic tracking for units
# --------------------------------------------------------------------------------------------


def test_a_unit_tracks_whether_and_when_its_members_reported_and_served(roles: Roles) -> None:
    demand = roles.demand(roles.a, ["elderly_care"])
    task = _ok(roles.post(f"/demands/{demand['id']}/claim", {"member_id": roles.m_a1["id"]}), 201)
    travel_past(task)
    _ok(roles.post(f"/tasks/{task['id']}/complete", {"hours": 2.5}))
    organiser = roles.person("organiser")
    tracking = _ok(organiser.get(f"/units/{roles.unit}/tracking"))
    rows = {m["member_id"]: m for m in tracking["members"]}
    assert set(rows) == {roles.m_a1["id"], roles.m_b1["id"]}
    served = rows[roles.m_a1["id"]]
    assert (served["services"], served["hours"], served["open_tasks"]) == (1, 2.5, 0)
    assert served["reported_at"] is not None and served["last_served_at"] is not None
    idle = rows[roles.m_b1["id"]]
    assert (idle["services"], idle["hours"], idle["last_served_at"]) == (0, 0.0, None)
    assert (tracking["registered"], tracking["reported"], tracking["served"]) == (2, 2, 1)
    # a dispatcher sees the unit's members of their own community only
    mine = _ok(roles.person("dispatcher").get(f"/units/{roles.unit}/tracking"))
    assert [m["member_id"] for m in mine["members"]] == [roles.m_a1["id"]]
    assert_error(roles.person("member1").get(f"/units/{roles.unit}/tracking"), 403)
    other_unit = _ok(
        roles.client.post(f"{API}/units", json={"name": "另一单位"}, headers=roles.district), 201
    )["id"]
    assert_error(organiser.get(f"/units/{other_unit}/tracking"), 404)


# --------------------------------------------------------------------------------------------
# Importing demands: all or nothing
# --------------------------------------------------------------------------------------------


def test_an_import_checks_every_row_and_writes_all_or_nothing(roles: Roles) -> None:
    good = {
        k: v
        for k, v in roles.demand(roles.a, []).items()
        if k in ("category", "location", "window", "duration_hours", "priority")
    }
    rows = [good, {**good, "contact_phone": PHONE}, {**good, "priority": 9}]
    before = len(_ok(roles.get(f"/demands?community_id={roles.a}&page_size=100")))
    bad = roles.post(f"/communities/{roles.a}/demands/import", {"demands": rows})
    body = assert_error(bad, 422, "demands[2].priority")
    assert list(body["errors"]) == ["demands[2].priority"]
    after_bad = len(_ok(roles.get(f"/demands?community_id={roles.a}&page_size=100")))
    assert after_bad == before
    dry = _ok(
        roles.post(f"/communities/{roles.a}/demands/import", {"demands": rows[:2], "dry_run": True})
    )
    assert (dry["dry_run"], dry["count"], dry["demands"]) == (True, 2, [])
    done = _ok(roles.post(f"/communities/{roles.a}/demands/import", {"demands": rows[:2]}), 201)
    assert done["count"] == 2 and done["demands"][1]["contact"]["phone"] == "138****5678"
    after = len(_ok(roles.get(f"/demands?community_id={roles.a}&page_size=100")))
    assert after == before + 2
    member = roles.person("member1")
    assert_error(member.post(f"/communities/{roles.a}/demands/import", {"demands": rows[:1]}), 403)
    foreign = roles.post(f"/communities/{roles.b}/demands/import", {"demands": rows[:1]})
    assert_error(foreign, 404)


def test_a_failed_redispatch_keeps_the_decline_and_the_demand_open(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    demand = roles.demand(roles.a, ["elderly_care"])
    task = roles.dispatch(roles.a)["tasks"][0]
    broken = [Violation(rule="5", message="forced", demand=demand["id"])]
    monkeypatch.setattr(flow, "verify", lambda problem, answer: broken)
    declined = _ok(roles.post(f"/tasks/{task['id']}/decline", {"reason": "x"}))
    assert declined["status"] == "declined"
    assert declined["redispatch"]["task"] is None and declined["redispatch"]["reason"] == "error"
    assert _ok(roles.get(f"/demands/{demand['id']}"))["status"] == "open"


def test_passwords_are_stored_as_salted_scrypt_hashes_by_default() -> None:
    """Outside the test suite's fast setting, a login's password is a salted scrypt hash."""
    first = new_person(username="a", display_name="a", password=PASSWORD, role="district")
    second = new_person(username="b", display_name="b", password=PASSWORD, role="district")
    assert first.password_hash.startswith("scrypt:") and PASSWORD not in first.password_hash
    assert first.password_hash != second.password_hash  # salted
