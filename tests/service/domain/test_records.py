"""The records a community keeps (issue #18), through the API on SQLite and PostgreSQL: members
by name with phones kept encrypted and revealed only with an audit entry, demands with their
content, source and place, the guard rails of the menu flow, and the three ledgers (visit
notes, requests with each step, feedback) with their Excel exports."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from service.db.audit import AuditEvent
from service.db.registration import Member
from service.domain.availability import LOCAL
from tests.service.domain.test_menu_flow import API, PLACE, Flow, _ok, _window
from tests.service.domain.test_menu_flow import world as world  # the fixture
from tests.service.helpers import assert_error, back_to_now, travel_past

PHONE = "13912345678"


def _building(world: Flow, community: str, headers: dict[str, str], **location: float) -> str:
    grid = _ok(world.post(f"/communities/{community}/grids", {"name": "第一网格"}, headers), 201)
    body: dict[str, Any] = {"name": "3号楼", **({"location": location} if location else {})}
    return str(_ok(world.post(f"/grids/{grid['id']}/buildings", body, headers), 201)["id"])


def _household(world: Flow, community: str, building: str, headers: dict[str, str]) -> str:
    body = {"building_id": building, "location": PLACE, "needs": ["elderly_care"]}
    return str(_ok(world.post(f"/communities/{community}/households", body, headers), 201)["id"])


# --------------------------------------------------------------------------------------------
# Members: names, phones, cards
# --------------------------------------------------------------------------------------------


def test_a_member_is_registered_by_name_and_their_phone_is_masked_until_revealed(
    app: Flask, world: Flow
) -> None:
    member = world.member(
        world.a,
        ["elderly_care"],
        name="陈慧敏",
        phone=PHONE,
        party_organisation="医院党总支第一支部",
        position="护士长",
        card_issued_on="2026-03-01",
        reported_on="2026-03-12",
    )
    assert member["name"] == "陈慧敏" and member["phone"] == "139****5678"
    assert (member["card_issued_on"], member["reported_on"]) == ("2026-03-01", "2026-03-12")
    assert member["party_organisation"] == "医院党总支第一支部" and member["position"] == "护士长"
    listed = _ok(world.get(f"/members?community_id={world.a}"))
    assert PHONE not in str(listed)
    with app.extensions["linli"].sessions() as session:
        stored = session.get(Member, member["id"])
        assert stored is not None and stored.phone_enc and PHONE not in stored.phone_enc
    revealed = _ok(world.get(f"/members/{member['id']}/phone"))
    assert revealed == {"member_id": member["id"], "name": "陈慧敏", "phone": PHONE}
    with app.extensions["linli"].sessions() as session:
        views = session.scalars(
            select(AuditEvent).where(
                AuditEvent.object_id == member["id"], AuditEvent.action == "view_contact"
            )
        ).all()
    assert len(views) == 1
    assert_error(world.get(f"/members/{member['id']}/phone", world.key_b), 404)


def test_member_fields_are_checked_and_named(world: Flow) -> None:
    base = {
        "community_id": world.a,
        "card_number": "card-records-1",
        "name": "刘海涛",
        "location": PLACE,
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"phone": "12345"}, "phone"),
        ({"phone": "138123456789"}, "phone"),
        ({"name": ""}, "name"),
        ({"name": "刘" * 51}, "name"),
        ({"card_number": "卡 1"}, "card_number"),
        ({"card_issued_on": "2026-02-30"}, "card_issued_on"),
        ({"card_issued_on": "2026-03-10", "reported_on": "2026-03-01"}, "reported_on"),
    ]
    for change, field in cases:
        body = assert_error(world.post("/members", {**base, **change}, world.district), 422)
        assert list(body["errors"]) == [field], (change, body)
    missing = {k: v for k, v in base.items() if k != "name"}
    assert list(assert_error(world.post("/members", missing, world.district), 422)["errors"]) == [
        "name"
    ]
    landline = _ok(world.post("/members", {**base, "phone": "0371-6123 4567"}, world.district), 201)
    assert landline["phone"] is not None and "6123" not in landline["phone"]


# --------------------------------------------------------------------------------------------
# Demands: content, source, place
# --------------------------------------------------------------------------------------------


def test_a_demand_keeps_its_content_and_source_and_takes_its_place_from_its_building(
    world: Flow,
) -> None:
    building = _building(world, world.a, world.key_a, lat=34.7611, lon=113.6511)
    bare = _building(world, world.a, world.key_a)
    body = {
        "category": "repairs",
        "content": "厨房水管漏水",
        "source": "qq_group",
        "building_id": building,
        "window": _window(),
        "duration_hours": 1.0,
        "priority": 4,
    }
    demand = _ok(world.post(f"/communities/{world.a}/demands", body), 201)
    assert (demand["content"], demand["source"]) == ("厨房水管漏水", "qq_group")
    assert demand["location"] == {"lat": 34.7611, "lon": 113.6511}
    assert demand["building_id"] == building
    no_place = assert_error(
        world.post(f"/communities/{world.a}/demands", {**body, "building_id": bare}), 422
    )
    assert list(no_place["errors"]) == ["location"]
    foreign = _building(world, world.b, world.key_b, lat=34.7, lon=113.6)
    body_b = {**body, "building_id": foreign}
    assert list(
        assert_error(world.post(f"/communities/{world.a}/demands", body_b), 422)["errors"]
    ) == ["building_id"]
    bad = {**body, "source": "wechat_group", "content": "x" * 501}
    errors = assert_error(world.post(f"/communities/{world.a}/demands", bad), 422)["errors"]
    assert set(errors) == {"source", "content"}
    phone = {**body, "contact_phone": "12345"}
    assert list(
        assert_error(world.post(f"/communities/{world.a}/demands", phone), 422)["errors"]
    ) == ["contact_phone"]


# --------------------------------------------------------------------------------------------
# Guard rails
# --------------------------------------------------------------------------------------------


def test_a_task_is_completed_only_after_it_starts_and_with_the_hours_it_can_have_taken(
    world: Flow,
) -> None:
    world.member(world.a, ["elderly_care"])
    world.demand(world.a, ["elderly_care"])
    (task,) = world.dispatch(world.a)["tasks"]
    _ok(world.post(f"/tasks/{task['id']}/accept"))
    early = assert_error(world.post(f"/tasks/{task['id']}/complete", {"hours": 1.5}), 409)
    assert list(early["errors"]) == ["start"]
    assert _ok(world.get(f"/tasks/{task['id']}"))["status"] == "accepted"
    travel_past(task, minutes=1)  # 1.5 h served and a minute
    too_many = assert_error(world.post(f"/tasks/{task['id']}/complete", {"hours": 2}), 422)
    assert list(too_many["errors"]) == ["hours"]
    done = _ok(world.post(f"/tasks/{task['id']}/complete", {"hours": 1.5}))
    assert done["status"] == "completed"


def test_an_offer_cannot_be_accepted_after_its_window_ended(world: Flow) -> None:
    world.member(world.a, ["elderly_care"])
    demand = world.demand(world.a, ["elderly_care"])
    (task,) = world.dispatch(world.a)["tasks"]
    end = datetime.fromisoformat(demand["window"]["end"])
    travel_past({"end": end.isoformat()}, minutes=5)
    body = assert_error(world.post(f"/tasks/{task['id']}/accept"), 409)
    assert list(body["errors"]) == ["window"]
    back_to_now()
    assert _ok(world.get(f"/tasks/{task['id']}"))["status"] == "offered"


# --------------------------------------------------------------------------------------------
# 群众诉求台账 and 诉求反馈台账
# --------------------------------------------------------------------------------------------


def test_the_requests_ledger_holds_every_step_with_who_did_it(world: Flow) -> None:
    first = world.member(world.a, ["elderly_care"], name="张志强")
    world.demand(world.a, ["elderly_care"], content="老人需要陪同就医", source="phone")
    (offered,) = world.dispatch(world.a)["tasks"]
    world.member(world.a, ["elderly_care"], name="李秀英")
    declined = _ok(world.post(f"/tasks/{offered['id']}/decline", {"reason": "当天值班"}))
    again = declined["redispatch"]["task"]
    assert again is not None and again["member_id"] != first["id"]
    _ok(world.post(f"/tasks/{again['id']}/accept"))
    travel_past(again)
    _ok(world.post(f"/tasks/{again['id']}/complete", {"hours": 1.5}))
    _ok(world.post(f"/tasks/{again['id']}/rate", {"rating": 5}))
    history = _ok(world.get(f"/demands/{offered['demand_id']}/history"))
    steps = [(h["action"], h["member_name"]) for h in history]
    assert steps == [
        ("ordered", None),
        ("dispatched", "张志强"),
        ("declined", "张志强"),
        ("dispatched", "李秀英"),
        ("accepted", "李秀英"),
        ("completed", "李秀英"),
        ("rated", "李秀英"),
    ]
    assert history[2]["note"] == "当天值班" and all(h["actor"] for h in history)
    times = [datetime.fromisoformat(h["at"]) for h in history]
    assert times == sorted(times)
    (entry,) = _ok(world.get(f"/communities/{world.a}/requests"))
    assert entry["demand"]["content"] == "老人需要陪同就医" and entry["served_by"] == ["李秀英"]
    assert entry["feedback"] is None
    assert _ok(world.get(f"/communities/{world.a}/requests?source=sms")) == []
    assert_error(world.get(f"/communities/{world.a}/requests", world.key_b), 404)
    assert_error(world.get(f"/demands/{offered['demand_id']}/history", world.key_b), 404)


def test_a_demand_closes_only_with_its_feedback_recorded_once(world: Flow) -> None:
    world.member(world.a, ["elderly_care"])
    demand = world.demand(world.a, ["elderly_care"], content="楼道灯坏了")
    told = {"outcome": "已更换灯泡", "told_via": "phone", "satisfaction": "satisfied"}
    url = f"/demands/{demand['id']}/feedback"
    now = datetime.now(LOCAL)
    early = assert_error(world.post(url, {**told, "told_at": now.isoformat()}), 409)
    assert list(early["errors"]) == ["status"]
    (task,) = world.dispatch(world.a)["tasks"]
    _ok(world.post(f"/tasks/{task['id']}/accept"))
    travel_past(task)
    _ok(world.post(f"/tasks/{task['id']}/complete", {"hours": 1}))
    (waiting,) = _ok(world.get(f"/communities/{world.a}/feedback"))
    assert waiting["awaiting"] is True and waiting["demand"]["status"] == "completed"
    moment = datetime.fromisoformat(task["end"]) + timedelta(hours=1)  # before the moved clock
    for bad, field in (
        ({"outcome": "x"}, "told_at"),
        ({**told, "told_at": moment.isoformat(), "no_feedback_reason": "y"}, "told_at"),
        ({"outcome": "x", "told_at": moment.isoformat()}, "told_via"),
        ({"outcome": "x", "no_feedback_reason": "y", "satisfaction": "satisfied"}, "satisfaction"),
    ):
        assert list(assert_error(world.post(url, bad), 422)["errors"]) == [field], bad
    future = (moment + timedelta(days=1)).isoformat()  # after the moved clock's present
    assert list(assert_error(world.post(url, {**told, "told_at": future}), 422)["errors"]) == [
        "told_at"
    ]
    recorded = _ok(world.post(url, {**told, "told_at": moment.isoformat()}), 201)
    assert recorded["outcome"] == "已更换灯泡" and recorded["satisfaction"] == "satisfied"
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "closed"
    assert_error(world.post(url, {**told, "told_at": moment.isoformat()}), 409)
    (closed,) = _ok(world.get(f"/communities/{world.a}/feedback"))
    assert closed["awaiting"] is False and closed["feedback"]["told_via"] == "phone"
    history = _ok(world.get(f"/demands/{demand['id']}/history"))
    assert history[-1]["action"] == "feedback" and history[-1]["note"] == "satisfied"


def test_a_cancelled_demand_takes_feedback_and_stays_cancelled(world: Flow) -> None:
    demand = world.demand(world.a, ["elderly_care"])
    _ok(world.post(f"/demands/{demand['id']}/cancel", {}))
    body = {"outcome": "居民已自行解决", "no_feedback_reason": "居民已搬离，无法联系"}
    _ok(world.post(f"/demands/{demand['id']}/feedback", body), 201)
    assert _ok(world.get(f"/demands/{demand['id']}"))["status"] == "cancelled"
    assert_error(world.post(f"/demands/{demand['id']}/feedback", body), 409)


# --------------------------------------------------------------------------------------------
# 民情走访台账
# --------------------------------------------------------------------------------------------


def test_a_visit_note_becomes_a_demand_once_at_the_households_place(world: Flow) -> None:
    visitor = world.member(world.a, ["elderly_care"], name="赵德明")
    building = _building(world, world.a, world.key_a)
    household = _household(world, world.a, building, world.key_a)
    today = datetime.now(LOCAL).date()
    note_body = {
        "household_id": household,
        "visited_on": today.isoformat(),
        "visitors": [visitor["id"]],
        "content": "独居老人，希望每周有人来看看",
        "category": "elderly_care",
    }
    note = _ok(world.post(f"/communities/{world.a}/visit-notes", note_body), 201)
    assert note["visitor_names"] == ["赵德明"] and note["demand_id"] is None
    for change, field in (
        ({"visited_on": (today + timedelta(days=1)).isoformat()}, "visited_on"),
        ({"household_id": "h-nowhere"}, "household_id"),
        ({"visitors": ["m-nowhere"]}, "visitors[0]"),
        ({"visitors": []}, "visitors"),
    ):
        body = assert_error(
            world.post(f"/communities/{world.a}/visit-notes", {**note_body, **change}), 422
        )
        assert list(body["errors"]) == [field], change
    order = {
        "category": "elderly_care",
        "skills": ["elderly_care"],
        "window": _window(),
        "duration_hours": 1.0,
        "priority": 3,
    }
    assert_error(world.post(f"/visit-notes/{note['id']}/demand", order, world.key_b), 404)
    made = _ok(world.post(f"/visit-notes/{note['id']}/demand", order), 201)
    demand = made["demand"]
    assert made["note"]["demand_id"] == demand["id"]
    assert (demand["source"], demand["household_id"]) == ("team_visit", household)
    assert demand["content"] == note_body["content"] and demand["location"] == PLACE
    assert demand["building_id"] is None and demand["status"] == "open"
    assert_error(world.post(f"/visit-notes/{note['id']}/demand", order), 409)
    with_location = {**order, "location": PLACE}
    assert list(
        assert_error(world.post(f"/visit-notes/{note['id']}/demand", with_location), 422)["errors"]
    ) == ["location"]
    listed = _ok(world.get(f"/communities/{world.a}/visit-notes?open=false"))
    assert [n["id"] for n in listed] == [note["id"]]
    assert _ok(world.get(f"/communities/{world.a}/visit-notes?open=true")) == []
    assert_error(world.get(f"/communities/{world.a}/visit-notes", world.key_b), 404)


# --------------------------------------------------------------------------------------------
# The ledgers as Excel
# --------------------------------------------------------------------------------------------


def _sheet(world: Flow, name: str) -> list[list[Any]]:
    response = world.client.get(
        f"{API}/communities/{world.a}/exports/{name}.xlsx", headers=world.key_a
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    book = load_workbook(io.BytesIO(response.data))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def test_the_three_ledgers_export_to_excel_and_reopen_with_the_same_rows(world: Flow) -> None:
    visitor = world.member(world.a, ["elderly_care"], name="孙文杰")
    building = _building(world, world.a, world.key_a)
    household = _household(world, world.a, building, world.key_a)
    note = {
        "household_id": household,
        "visited_on": datetime.now(LOCAL).date().isoformat(),
        "visitors": [visitor["id"]],
        "content": "希望多组织健康讲座",
        "category": "health",
    }
    _ok(world.post(f"/communities/{world.a}/visit-notes", note), 201)
    world.demand(world.a, ["elderly_care"], content="想学用手机缴费", source="walk_in")
    (task,) = world.dispatch(world.a)["tasks"]
    _ok(world.post(f"/tasks/{task['id']}/accept"))
    travel_past(task)
    _ok(world.post(f"/tasks/{task['id']}/complete", {"hours": 1}))

    notes = _sheet(world, "visit-notes")
    assert notes[0][:5] == ["走访日期", "走访人员", "楼栋", "户编号", "走访情况"]
    assert [row[1:5] for row in notes[1:]] == [["孙文杰", "3号楼", household, "希望多组织健康讲座"]]

    requests = _sheet(world, "requests")
    column = {header: i for i, header in enumerate(requests[0])}
    listed = _ok(world.get(f"/communities/{world.a}/requests"))
    assert [row[column["需求编号"]] for row in requests[1:]] == [e["demand"]["id"] for e in listed]
    (row,) = requests[1:]
    assert row[column["需求内容"]] == "想学用手机缴费" and row[column["诉求来源"]] == "来访"
    assert row[column["服务党员"]] == "孙文杰" and row[column["状态"]] == "已完成待反馈"
    process = row[column["办理过程"]].split("\n")
    assert [re.split(r"[ ，]", p)[2] for p in process] == [
        "群众点单",
        "社区派单",
        "党员接单",
        "服务完成",
    ]
    assert "孙文杰" in process[1] and "经办：community a" in process[0]

    feedback = _sheet(world, "feedback")
    column = {header: i for i, header in enumerate(feedback[0])}
    assert [r[column["需求编号"]] for r in feedback[1:]] == [task["demand_id"]]
    assert feedback[1][column["办理结果"]] is None
