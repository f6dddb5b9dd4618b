"""The records in the console (issue #18) on the seeded demo: members by name with their phones
masked until a manager shows one (audited), and the three ledgers with their forms (a visit note
recorded and turned into a demand; the feedback that closes a served demand)."""

from __future__ import annotations

import io
import re
from datetime import datetime

from flask import Flask
from sqlalchemy import func, select

from service.db.audit import AuditEvent
from service.db.flow import Demand, DemandFeedback
from service.db.longterm import Household
from service.db.registration import Building, Grid, Member
from service.db.visits import VisitNote
from service.domain.availability import LOCAL
from service.domain.demo import DEMO_COMMUNITY as C
from tests.service.web.test_console import Login
from tests.service.web.test_console import console_app as console_app  # the fixture

RAW_ID = re.compile(r">[^<]*\b[mdtbhg]-[0-9a-f]{8,}")
"""A raw id in a page's text (inside an attribute it is fine)."""


def test_members_are_listed_by_name_and_a_phone_is_shown_only_on_request(
    console_app: Flask,
) -> None:
    dispatcher = Login(console_app, "dispatcher")
    page = dispatcher.get(f"/console/c/{C}/members")
    assert page.status_code == 200
    with console_app.extensions["linli"].sessions() as session:
        member = session.scalars(
            select(Member).where(Member.community_id == C).order_by(Member.name).limit(1)
        ).one()
    assert member.name and member.name in page.text
    assert "1380000" not in page.text and "138****" in page.text
    assert not RAW_ID.search(page.text)
    shown = dispatcher.post(f"/console/c/{C}/members/{member.id}/phone")
    assert shown.status_code == 200
    assert re.search(rf"{member.name} 的联系电话：1380000\d{{4}}", shown.text)
    with console_app.extensions["linli"].sessions() as session:
        audited = session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.object_id == member.id, AuditEvent.action == "view_contact"
            )
        )
    assert audited == 1
    member_login = Login(console_app, "member")
    assert member_login.post(f"/console/c/{C}/members/{member.id}/phone").status_code in (403, 404)


def test_the_three_ledgers_show_half_a_year_by_name(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    requests = dispatcher.get(f"/console/c/{C}/requests")
    assert requests.status_code == 200
    assert (
        "群众点单" in requests.text and "社区派单" in requests.text and "诉求反馈" in requests.text
    )
    assert "经办：社区党委 李娜" in requests.text
    feedback = dispatcher.get(f"/console/c/{C}/feedback")
    assert "待反馈（4）" in feedback.text and "满意" in feedback.text
    notes = dispatcher.get(f"/console/c/{C}/visit-notes")
    assert "已转为需求" in notes.text and "转为需求" in notes.text
    qq = dispatcher.get(f"/console/c/{C}/requests?source=qq_group")
    assert qq.status_code == 200 and "QQ群" in qq.text
    for page in (requests, feedback, notes):
        assert not RAW_ID.search(page.text)
        assert "2026H" not in page.text


def test_recording_the_feedback_closes_a_served_demand(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    with console_app.extensions["linli"].sessions() as session:
        waiting = session.scalars(
            select(Demand).where(Demand.community_id == C, Demand.status == "completed").limit(1)
        ).one()
    url = f"/console/demands/{waiting.id}/feedback"
    form = dispatcher.get(url)
    assert form.status_code == 200 and "登记反馈" in form.text
    missing = dispatcher.post(url, {"told": "yes", "told_at": "", "told_via": "phone"})
    assert missing.status_code == 422 and "请更正" in missing.text
    now = datetime.now(LOCAL).strftime("%Y-%m-%dT%H:%M")
    done = dispatcher.post(
        url,
        {
            "outcome": "已上门处理",
            "told": "yes",
            "told_at": now,
            "told_via": "visit",
            "satisfaction": "satisfied",
        },
        follow_redirects=True,
    )
    assert "反馈已登记" in done.text
    with console_app.extensions["linli"].sessions() as session:
        assert session.get(Demand, waiting.id).status == "closed"  # type: ignore[union-attr]
        stored = session.get(DemandFeedback, waiting.id)
        assert stored is not None and stored.told_via == "visit"
    again = dispatcher.post(url, {"outcome": "x", "told": "no", "no_feedback_reason": "y"})
    assert again.status_code == 422 and "已经登记过了" in again.text


def test_a_visit_note_is_recorded_and_becomes_a_demand(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    with console_app.extensions["linli"].sessions() as session:
        household = session.scalars(select(Household).where(Household.community_id == C)).first()
        visitors = list(session.scalars(select(Member.id).where(Member.community_id == C).limit(2)))
    assert household is not None
    today = datetime.now(LOCAL).date().isoformat()
    url = f"/console/c/{C}/visit-notes"
    bad = dispatcher.post(url, {"household_id": household.id, "visited_on": today, "content": ""})
    assert bad.status_code == 422
    recorded = dispatcher.post(
        url,
        {
            "household_id": household.id,
            "visited_on": today,
            "visitors": visitors,
            "content": "楼道扶手松动，老人上下楼不安全",
            "category": "repairs",
        },
        follow_redirects=True,
    )
    assert "走访记录已登记" in recorded.text and "楼道扶手松动" in recorded.text
    with console_app.extensions["linli"].sessions() as session:
        note = session.scalars(
            select(VisitNote).where(VisitNote.content == "楼道扶手松动，老人上下楼不安全")
        ).one()
    made = dispatcher.post(
        f"/console/visit-notes/{note.id}/demand",
        {
            "category": "repairs",
            "content": note.content,
            "window_start": f"{_tomorrow()}T09:00",
            "window_end": f"{_tomorrow()}T12:00",
            "duration_hours": "1",
            "priority": "4",
        },
        follow_redirects=True,
    )
    assert "已转为需求" in made.text
    with console_app.extensions["linli"].sessions() as session:
        note_after = session.get(VisitNote, note.id)
        assert note_after is not None and note_after.demand_id is not None
        demand = session.get(Demand, note_after.demand_id)
        assert demand is not None and demand.source == "team_visit"
        assert (demand.lat, demand.lon) == (household.lat, household.lon)
    twice = dispatcher.post(
        f"/console/visit-notes/{note.id}/demand",
        {
            "category": "repairs",
            "window_start": f"{_tomorrow()}T09:00",
            "window_end": f"{_tomorrow()}T12:00",
            "duration_hours": "1",
            "priority": "4",
        },
    )
    assert twice.status_code == 422 and "已经转为需求" in twice.text


def _tomorrow() -> str:
    from datetime import timedelta

    return (datetime.now(LOCAL).date() + timedelta(days=1)).isoformat()


def test_a_sheet_imported_in_the_console_names_each_problem_by_row_and_column_in_chinese(
    console_app: Flask,
) -> None:
    from tests.service.web.test_sheets import demand_row, filled, member_row

    dispatcher = Login(console_app, "dispatcher")
    bad = filled("members", [member_row(), member_row(联系电话="12345"), member_row(技能="跳舞")])
    page = dispatcher.post(
        f"/console/c/{C}/imports/members",
        {"file": (io.BytesIO(bad), "党员.xlsx"), "dry_run": "true"},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    text = re.sub(r"<[^>]+>", " ", page.text)
    assert "第 3 行" in text and "联系电话" in text and "请填写电话号码" in text
    assert "第 4 行" in text and "技能" in text and "请从下拉列表选择" in text
    assert "rows[" not in text and "must be" not in text and "unknown category" not in text
    good = filled("demands", [demand_row(需求内容="想学用手机挂号", 诉求来源="短信平台")])
    with console_app.extensions["linli"].sessions() as session:
        before = session.scalar(select(func.count(Demand.id)).where(Demand.community_id == C))
    done = dispatcher.post(
        f"/console/c/{C}/imports/demands",
        {"file": (io.BytesIO(good), "需求.xlsx"), "dry_run": "false"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "已导入 1 行" in done.text and "想学用手机挂号" in done.text  # the list, up to date
    with console_app.extensions["linli"].sessions() as session:
        after = session.scalar(select(func.count(Demand.id)).where(Demand.community_id == C))
    assert after == before + 1


def test_a_member_is_registered_in_the_console_with_a_place_from_their_building(
    console_app: Flask,
) -> None:
    dispatcher = Login(console_app, "dispatcher")
    url = f"/console/c/{C}/members/new"
    assert "登记党员" in dispatcher.get(url).text
    with console_app.extensions["linli"].sessions() as session:
        building = session.scalars(
            select(Building).join(Grid, Grid.id == Building.grid_id).where(Grid.community_id == C)
        ).first()
    assert building is not None and building.lat is not None
    form = {
        "name": "吴振华",
        "card_number": "4101-console-0001",
        "phone": "12345",
        "building_id": building.id,
        "skills": ["repairs"],
        "weekly": "周六 09:00-12:00",
        "capacity": "4",
    }
    bad = dispatcher.post(url, form)
    assert bad.status_code == 422 and "请填写电话号码" in bad.text
    done = dispatcher.post(url, {**form, "phone": "13900002222"}, follow_redirects=True)
    assert "吴振华 已登记" in done.text
    with console_app.extensions["linli"].sessions() as session:
        member = session.scalars(
            select(Member).where(Member.card_number == "4101-console-0001")
        ).one()
    assert (member.lat, member.lon) == (building.lat, building.lon)
    assert member.grid_id == building.grid_id and member.skills == ["repairs"]
    assert member.phone_enc and "13900002222" not in member.phone_enc
    assert member.weekly_availability == [{"weekday": "sat", "start": "09:00", "end": "12:00"}]
    again = dispatcher.post(url, {**form, "phone": "13900002222"})
    assert again.status_code == 422 and "该报到卡号已登记" in again.text


def test_the_demand_form_asks_for_a_crew_and_the_list_shows_it(console_app: Flask) -> None:
    from tests.service.web.test_console_more import NEW, _good_form

    dispatcher = Login(console_app, "dispatcher")
    form = _good_form(crew_size="3", resident_ref="r-crew-1")
    assert dispatcher.post(NEW, form).status_code == 302
    with console_app.extensions["linli"].sessions() as session:
        demand = session.scalars(select(Demand).where(Demand.resident_ref == "r-crew-1")).one()
    assert demand.crew_size == 3
    listing = dispatcher.get(f"/console/c/{C}/demands")
    assert "需 3 人" in listing.text
    too_big = dispatcher.post(NEW, _good_form(crew_size="11", resident_ref="r-crew-2"))
    assert too_big.status_code == 422
