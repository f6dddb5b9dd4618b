"""The console's entry of one demand (点单) and its five-evaluations pages (五评议), through the
Flask test client on the seeded demo community (an app and database of this module's own).

The new-demand form goes through the API's schema and flow (a bad field re-renders the form with
its message, 422, nothing written); the evaluation pages show the API's figures, and what they
record (a veto, a survey answer, the points scheme, a self-evaluation, a leader review) is what
the API then reads.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from service.app import create_app
from service.db.base import utcnow
from service.db.evaluations import LeaderReview, SelfEvaluation
from service.db.flow import Demand, Task
from service.db.registration import Member, new_id
from service.domain.availability import LOCAL
from service.domain.coordinates import gcj02_to_wgs84
from service.domain.demo import seed_demo
from service.domain.evaluations.periods import Period
from service.domain.evaluations.scheme import TIER_LABELS
from tests.service.conftest import PG_DATABASE, TEST_SETTINGS, _postgres_url, thread_executor
from tests.service.web import test_console
from tests.service.web.test_console import C, Login, demo_member_id

foreign = test_console.foreign  # the fixture: another community's records
NEW = f"/console/c/{C}/demands/new"
EVALUATIONS = f"/console/c/{C}/evaluations"
NOW_PERIOD = Period.containing(datetime.now(LOCAL).date())


@pytest.fixture(scope="module")
def console_app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on a database of its own (not test_console's), seeded with the demo community."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('console_more') / 'linli.sqlite3'}"
    else:
        url = _postgres_url(f"{PG_DATABASE}_console_more")
    app = create_app(
        {"LINLI_DATABASE_URL": url, **TEST_SETTINGS, "EXECUTOR_FACTORY": thread_executor}
    )
    state = app.extensions["linli"]
    with state.sessions() as session:
        seed_demo(session, state.cipher)
    yield app
    state.close(cancel_running=True)


def _count_demands(app: Flask) -> int:
    with app.extensions["linli"].sessions() as session:
        return int(session.scalar(select(func.count(Demand.id))) or 0)


def _local(day_offset: int, hour: int) -> str:
    day = datetime.now(LOCAL).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(hour), LOCAL).strftime("%Y-%m-%dT%H:%M")


def _good_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "category": "repairs",
        "content": "厨房水管漏水，需要上门维修",
        "source": "phone",
        "skills": ["repairs", "digital_help"],
        "lat": "34.7512",
        "lon": "113.6321",
        "crs": "wgs84",
        "window_start": _local(2, 9),
        "window_end": _local(2, 12),
        "duration_hours": "1.5",
        "priority": "4",
        "resident_ref": "r-form-1",
        "contact_phone": "13900001111",
        "address": "花园路1号院2单元",
    }
    form.update(changes)
    return form


# --------------------------------------------------------------------------------------------
# 点单: one demand at a time
# --------------------------------------------------------------------------------------------


def test_the_demand_list_links_to_a_labelled_form(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    listing = dispatcher.get(f"/console/c/{C}/demands")
    assert f'href="{NEW}"' in listing.text and "新增需求" in listing.text
    page = dispatcher.get(NEW)
    assert page.status_code == 200 and "新增需求" in page.text
    assert "便民维修" in page.text and "GCJ-02" in page.text
    # every input, select and textarea has a label (by for=id, or wrapped in one)
    ids = re.findall(
        r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', page.text
    )
    assert ids
    for found in ids:
        assert f'for="{found}"' in page.text, found
    wrapped = re.findall(r'<label><input type="checkbox" name="skills"', page.text)
    assert len(wrapped) >= 10
    english = dispatcher.get(f"{NEW}?lang=en")
    assert "New demand" in english.text and "Required skills" in english.text


def test_the_form_creates_a_demand_that_the_list_shows(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    before = _count_demands(console_app)
    created = dispatcher.post(NEW, _good_form())
    assert created.status_code == 302, created.text
    assert created.location.endswith(f"/console/c/{C}/demands")
    listing = dispatcher.get(created.location)
    assert "需求已录入" in listing.text
    assert "139****1111" in listing.text and "13900001111" not in listing.text
    assert _count_demands(console_app) == before + 1
    with console_app.extensions["linli"].sessions() as session:
        demand = session.scalars(select(Demand).where(Demand.resident_ref == "r-form-1")).one()
        assert demand.community_id == C and demand.status == "open"
        assert demand.category == "repairs" and demand.skills == ["repairs", "digital_help"]
        assert demand.priority == 4 and demand.duration_hours == 1.5
        assert (demand.lat, demand.lon) == (34.7512, 113.6321)
        start = demand.window_start.astimezone(LOCAL)
        assert start.strftime("%Y-%m-%dT%H:%M") == _local(2, 9)
        assert demand.contact_phone_enc and "13900001111" not in demand.contact_phone_enc
        demand_id = demand.id
    api = dispatcher.get(f"/api/v1/demands/{demand_id}")
    assert api.status_code == 200 and api.get_json()["contact"]["phone"] == "139****1111"


def test_gcj02_coordinates_are_stored_as_wgs84(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    form = _good_form(crs="gcj02", resident_ref="r-form-gcj", lat="34.7500", lon="113.6300")
    assert dispatcher.post(NEW, form).status_code == 302
    with console_app.extensions["linli"].sessions() as session:
        demand = session.scalars(select(Demand).where(Demand.resident_ref == "r-form-gcj")).one()
    expected = gcj02_to_wgs84(34.75, 113.63)
    assert demand.lat == pytest.approx(expected[0], abs=1e-9)
    assert demand.lon == pytest.approx(expected[1], abs=1e-9)
    assert abs(demand.lat - 34.75) > 1e-4  # the offset was taken off


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"window_end": _local(2, 8)}, "window_end", "须晚于开始时间"),
        (
            {"window_start": _local(-3, 9), "window_end": _local(-3, 12)},
            "window_end",
            "须在当前时间之后",
        ),
        ({"duration_hours": "5"}, "duration_hours", "超过了时间窗口"),
        ({"window_start": ""}, "window_start", "必填"),
        ({"lat": "北纬"}, "lat", "请填写数字"),
        ({"contact_phone": "call me"}, "contact_phone", "请填写电话号码"),
        ({"resident_ref": "王大妈"}, "resident_ref", "不得填写姓名"),
        ({"category": ""}, "category", "必填"),
    ],
)
def test_a_bad_field_re_renders_the_form_and_writes_nothing(
    console_app: Flask, changes: dict[str, str], field: str, message: str
) -> None:
    dispatcher = Login(console_app, "dispatcher")
    before = _count_demands(console_app)
    form = _good_form(**{"resident_ref": "r-form-bad", **changes})
    page = dispatcher.post(NEW, form)
    assert page.status_code == 422
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]+)</p>', page.text)
    assert found, page.text
    assert message in html.unescape(found.group(1))
    assert "请更正下面标出的项目" in page.text
    # the entered values are kept
    assert 'value="13900001111"' in page.text or field == "contact_phone"
    assert _count_demands(console_app) == before


def test_the_form_needs_the_token_a_manager_and_the_community(
    console_app: Flask, foreign: dict[str, str]
) -> None:
    dispatcher = Login(console_app, "dispatcher")
    before = _count_demands(console_app)
    for sent in ({}, {"csrf_token": "not-the-token"}):
        refused = dispatcher.client.post(NEW, data={**_good_form(), **sent})
        assert refused.status_code == 403 and "表单已过期" in refused.text
    member = Login(console_app, "member")
    assert member.get(NEW).status_code == 403
    assert member.post(NEW, _good_form()).status_code == 403
    other = NEW.replace(f"/c/{C}/", f"/c/{foreign['community']}/")
    assert dispatcher.get(other).status_code == 404
    assert dispatcher.post(other, _good_form()).status_code == 404
    assert _count_demands(console_app) == before
    logged_out = console_app.test_client().get(NEW)
    assert logged_out.status_code == 302 and "/console/login" in logged_out.location


# --------------------------------------------------------------------------------------------
# 五评议: the dispatcher's page
# --------------------------------------------------------------------------------------------


def _served(app: Flask, member_id: str, *, hours: float, rating: int) -> str:
    """A completed, rated service of the member two days ago (test set-up)."""
    with app.extensions["linli"].sessions() as session:
        member = session.get(Member, member_id)
        assert member is not None
        start = utcnow() - timedelta(days=2)
        demand = Demand(
            id=new_id("d"),
            community_id=member.community_id,
            category=member.skills[0],
            skills=[member.skills[0]],
            lat=member.lat,
            lon=member.lon,
            window_start=start,
            window_end=start + timedelta(hours=hours + 1),
            duration_hours=hours,
            priority=3,
            crew_size=1,
            status="completed",
            created_at=start - timedelta(days=1),
        )
        session.add(demand)
        session.flush()
        task = Task(
            id=new_id("t"),
            demand_id=demand.id,
            member_id=member_id,
            start=start,
            status="completed",
            hours=hours,
            rating=rating,
            created_at=start - timedelta(days=1),
            completed_at=start + timedelta(hours=hours),
        )
        session.add(task)
        session.commit()
        return task.id


def _row(page_text: str, member_id: str) -> str:
    found = re.search(
        rf'<tr id="eval-{re.escape(member_id)}".*?</tr>\s*(?=<tr id="eval-|</tbody>)',
        page_text,
        re.S,
    )
    assert found, member_id
    return found.group(0)


def _cell(row: str, name: str) -> str:
    found = re.search(rf'<td class="{name}"[^>]*>(.*?)</td>', row, re.S)
    assert found, row
    return found.group(1).strip()


def test_the_half_year_page_shows_the_apis_figures(console_app: Flask) -> None:
    me = demo_member_id(console_app)
    _served(console_app, me, hours=2.5, rating=5)
    dispatcher = Login(console_app, "dispatcher")
    page = dispatcher.get(f"{EVALUATIONS}?period={NOW_PERIOD}")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    assert "五评议" in page.text and "各党员积分" in page.text
    api = dispatcher.get(f"/api/v1/communities/{C}/evaluation?period={NOW_PERIOD}").get_json()
    assert api["rows"]
    for row in api["rows"]:
        assert _cell(_row(page.text, row["member_id"]), "points") == f"{row['points']:g}"
    mine = next(r for r in api["rows"] if r["member_id"] == me)
    assert mine["points"] > 0
    breakdown = _row(page.text, me)
    assert "服务时长" in breakdown and "评价分" in breakdown
    assert f"/api/v1/communities/{C}/evaluation.xlsx?period={NOW_PERIOD}" in page.text
    report = dispatcher.get(f"/api/v1/communities/{C}/evaluation.html?period={NOW_PERIOD}")
    assert report.status_code == 200 and "积分报告" in report.text
    workbook = dispatcher.get(f"/api/v1/communities/{C}/evaluation.xlsx?period={NOW_PERIOD}")
    assert workbook.status_code == 200 and workbook.data[:2] == b"PK"
    english = dispatcher.get(f"{EVALUATIONS}?period={NOW_PERIOD}&lang=en")
    assert "Five evaluations" in english.text and "Results per member" in english.text
    # the navigation leads there
    assert f'href="{EVALUATIONS}"' in dispatcher.get(f"/console/c/{C}/demands?lang=zh").text


def test_the_year_end_page_shows_tiers_stars_and_the_shortlist(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    year = NOW_PERIOD.year
    page = dispatcher.get(f"{EVALUATIONS}?year={year}")
    assert page.status_code == 200 and "最美在职党员" in page.text
    api = dispatcher.get(f"/api/v1/communities/{C}/evaluation?year={year}").get_json()
    for row in api["rows"]:
        shown = _row(page.text, row["member_id"])
        assert _cell(shown, "points") == f"{row['points']:g}"
        assert _cell(shown, "tier") == TIER_LABELS[row["tier"]]
        assert "★" * row["stars"] + "☆" * (5 - row["stars"]) in shown
    shortlist = re.search(r'<ol id="shortlist">(.*?)</ol>', page.text, re.S)
    assert (shortlist is not None) == bool(api["shortlist"])
    if shortlist:
        assert shortlist.group(1).count("<li>") == len(api["shortlist"])


def test_bad_query_and_roles(console_app: Flask, foreign: dict[str, str]) -> None:
    dispatcher = Login(console_app, "dispatcher")
    assert dispatcher.get(f"{EVALUATIONS}?period=2026H3").status_code == 422
    assert dispatcher.get(f"{EVALUATIONS}?period=2026H1&year=2026").status_code == 422
    member = Login(console_app, "member")
    assert member.get(EVALUATIONS).status_code == 403
    other = EVALUATIONS.replace(f"/c/{C}/", f"/c/{foreign['community']}/")
    assert dispatcher.get(other).status_code == 404
    for url, data in (
        (
            f"{other}/vetoes",
            {"member_id": foreign["member"], "period": str(NOW_PERIOD), "statement": "x"},
        ),
        (f"{other}/surveys", {"member_id": foreign["member"], "period": str(NOW_PERIOD)}),
        (f"{other}/scheme", {}),
    ):
        assert dispatcher.post(url, data).status_code == 404
        assert member.post(url.replace(foreign["community"], C), data).status_code == 403
    assert dispatcher.get("/console/my/evaluation").status_code == 403
    assert dispatcher.get("/console/unit/evaluations").status_code == 403
    assert member.get("/console/unit/evaluations").status_code == 403


def test_a_veto_recorded_in_the_console_shows_on_the_page_and_in_the_api(
    console_app: Flask,
) -> None:
    dispatcher = Login(console_app, "dispatcher")
    with console_app.extensions["linli"].sessions() as session:
        vetoed = session.scalars(
            select(Member.id).where(Member.community_id == C).order_by(Member.id.desc())
        ).first()
    assert vetoed is not None
    statement = "本半年经社区核实未参加任何服务"
    data = {"member_id": vetoed, "period": str(NOW_PERIOD), "statement": statement}
    without = dispatcher.client.post(f"{EVALUATIONS}/vetoes", data=data)
    assert without.status_code == 403  # the CSRF token is required
    recorded = dispatcher.post(
        f"{EVALUATIONS}/vetoes", {**data, "back": f"{EVALUATIONS}?year={NOW_PERIOD.year}"}
    )
    assert recorded.status_code == 302
    assert recorded.location.endswith(f"{EVALUATIONS}?year={NOW_PERIOD.year}")
    page = dispatcher.get(recorded.location)
    assert "一票否决说明已记录" in page.text
    row = _row(page.text, vetoed)
    assert statement in _cell(row, "veto") and "否决前" in _cell(row, "veto")
    assert _cell(row, "tier") != "优秀"
    listed = dispatcher.get(f"/api/v1/communities/{C}/vetoes").get_json()
    assert [v["statement"] for v in listed if v["member_id"] == vetoed] == [statement]
    api = dispatcher.get(f"/api/v1/members/{vetoed}/evaluation?year={NOW_PERIOD.year}").get_json()
    assert api["rows"][0]["veto"]["vetoed"] is True
    again = dispatcher.post(f"{EVALUATIONS}/vetoes", data, follow_redirects=True)
    assert "已记录过" in again.text
    empty = dispatcher.post(
        f"{EVALUATIONS}/vetoes", {**data, "statement": ""}, follow_redirects=True
    )
    assert "说明：必填" in empty.text


def test_a_survey_answer_and_the_points_scheme(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    me = demo_member_id(console_app)
    answer = {
        "member_id": me,
        "period": str(NOW_PERIOD),
        "score": "4",
        "respondent_kind": "representative",
        "respondent_ref": "rep-07",
    }
    done = dispatcher.post(f"{EVALUATIONS}/surveys", answer, follow_redirects=True)
    assert "群众测评已录入" in done.text and "rep-07" in done.text
    listed = dispatcher.get(
        f"/api/v1/communities/{C}/survey-responses?period={NOW_PERIOD}"
    ).get_json()
    assert [(a["member_id"], a["score"]) for a in listed if a["respondent_ref"] == "rep-07"] == [
        (me, 4)
    ]
    twice = dispatcher.post(f"{EVALUATIONS}/surveys", answer, follow_redirects=True)
    assert "已录入过" in twice.text

    page = dispatcher.get(EVALUATIONS)
    form = re.search(r'<form[^>]*id="scheme-form".*?</form>', page.text, re.S)
    assert form
    fields = dict(re.findall(r'name="([a-z_.0-9]+)"[^>]*value="([^"]*)"', form.group(0)))
    fields["tiers.mode"] = "thresholds"
    fields.pop("csrf_token", None)
    fields.pop("back", None)
    fields["weights.per_survey_point"] = "2"
    saved = dispatcher.post(f"{EVALUATIONS}/scheme", fields, follow_redirects=True)
    assert "积分办法已保存" in saved.text
    scheme = dispatcher.get(f"/api/v1/communities/{C}/points-scheme").get_json()
    assert scheme["configured"] is True and scheme["config"]["weights"]["per_survey_point"] == 2
    bad = dispatcher.post(
        f"{EVALUATIONS}/scheme", {**fields, "stars.4": "1"}, follow_redirects=True
    )
    assert "星级" in bad.text and "逐级升高" in bad.text
    scheme = dispatcher.get(f"/api/v1/communities/{C}/points-scheme").get_json()
    assert scheme["config"]["stars"][4] != 1


# --------------------------------------------------------------------------------------------
# 党员自评 and 领导点评
# --------------------------------------------------------------------------------------------


def test_a_member_submits_the_self_evaluation_once(console_app: Flask) -> None:
    member = Login(console_app, "member")
    me = demo_member_id(console_app)
    page = member.get("/console/my/evaluation")
    assert page.status_code == 200 and "党员自评" in page.text
    assert 'href="/console/my/evaluation"' in page.text
    draft = member.get(f"/api/v1/members/{me}/self-evaluation?period={NOW_PERIOD}").get_json()
    assert html.escape(draft["text"], quote=False) in page.text
    assert f"<dd>{draft['figures']['services']}</dd>" in page.text
    text = draft["text"] + "本人将继续做好服务。"
    without = member.client.post(
        "/console/my/evaluation", data={"period": str(NOW_PERIOD), "text": text}
    )
    assert without.status_code == 403
    sent = member.post("/console/my/evaluation", {"period": str(NOW_PERIOD), "text": text})
    assert sent.status_code == 302
    shown = member.get(sent.location)
    assert "党员自评已提交" in shown.text and 'id="submitted"' in shown.text
    assert "self-evaluation-form" not in shown.text
    again = member.post(
        "/console/my/evaluation",
        {"period": str(NOW_PERIOD), "text": "第二次"},
        follow_redirects=True,
    )
    assert "不能重复提交" in again.text
    with console_app.extensions["linli"].sessions() as session:
        rows = session.scalars(select(SelfEvaluation).where(SelfEvaluation.member_id == me)).all()
        assert [r.text for r in rows] == [text]
    api = member.get(f"/api/v1/members/{me}/self-evaluation?period={NOW_PERIOD}").get_json()
    assert api["submitted"]["text"] == text


def test_an_organiser_sees_the_flags_and_records_a_review(console_app: Flask) -> None:
    organiser = Login(console_app, "organiser")
    assert organiser.get("/console/").location.endswith("/console/unit/evaluations")
    page = organiser.get("/console/unit/evaluations")
    assert page.status_code == 200 and "单位考评" in page.text
    me = demo_member_id(console_app)
    with console_app.extensions["linli"].sessions() as session:
        member = session.get(Member, me)
        assert member is not None and member.unit_id is not None
        unit_id = member.unit_id
    flags = organiser.get(f"/api/v1/units/{unit_id}/evaluation-flags?period={NOW_PERIOD}")
    body = flags.get_json()
    assert f'<strong id="flagged-count">{len(body["flagged"])}</strong>' in page.text
    for row in body["flagged"]:
        assert f'id="unit-{row["member_id"]}" class="is-flagged"' in page.text
    review = {"period": str(NOW_PERIOD), "mark": "excellent", "comment": "服务积极，群众满意"}
    assert (
        organiser.client.post(f"/console/unit/members/{me}/review", data=review).status_code == 403
    )
    done = organiser.post(f"/console/unit/members/{me}/review", review, follow_redirects=True)
    assert "领导点评已记录" in done.text and "服务积极，群众满意" in done.text
    twice = organiser.post(f"/console/unit/members/{me}/review", review, follow_redirects=True)
    assert "已记录过" in twice.text
    with console_app.extensions["linli"].sessions() as session:
        rows = session.scalars(select(LeaderReview).where(LeaderReview.member_id == me)).all()
        assert [(r.mark, r.comment) for r in rows] == [("excellent", "服务积极，群众满意")]
    dispatcher = Login(console_app, "dispatcher")
    api = dispatcher.get(f"/api/v1/members/{me}/evaluation?period={NOW_PERIOD}").get_json()
    assert api["rows"][0]["evaluations"]["leader_review"]["mark"] == "excellent"
    results = dispatcher.get(f"{EVALUATIONS}?period={NOW_PERIOD}")
    assert "优秀" in _row(results.text, me)
    # a member of another unit is not the organiser's to review
    with console_app.extensions["linli"].sessions() as session:
        other = session.scalars(
            select(Member.id).where(Member.community_id == C, Member.unit_id != unit_id)
        ).first()
    assert other is not None
    refused = organiser.post(f"/console/unit/members/{other}/review", review)
    assert refused.status_code in (403, 404)


@pytest.mark.parametrize(
    "url", [NEW, EVALUATIONS, "/console/my/evaluation", "/console/unit/evaluations"]
)
def test_the_new_pages_send_a_logged_out_person_to_the_login(console_app: Flask, url: str) -> None:
    response = console_app.test_client().get(url)
    assert response.status_code == 302 and "/console/login?next=" in response.location


@pytest.mark.parametrize(
    ("username", "url", "chinese", "english"),
    [
        ("member", "/console/my/evaluation", "我的党员自评", "My self-evaluation"),
        ("organiser", "/console/unit/evaluations", "单位考评", "Unit evaluations"),
    ],
)
def test_the_member_and_organiser_pages_in_both_languages(
    console_app: Flask, username: str, url: str, chinese: str, english: str
) -> None:
    person = Login(console_app, username)
    page = person.get(url)
    assert page.status_code == 200 and chinese in page.text and f'href="{url}"' in page.text
    assert english in person.get(f"{url}?lang=en").text
