"""The console's pages through the Flask test client (issue #8), on the seeded demo community.

Every page: 200 for the right role, a redirect to the login page when logged out, 404 for
another community's ids, 403 for a member on the dispatcher's pages; every form post needs the
CSRF token; Chinese by default, English with ``?lang=en``. Then the menu flow, page by page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from service.app import create_app
from service.db.base import utcnow
from service.db.flow import Demand, DispatchRun, Task
from service.db.people import Person
from service.db.registration import Community, Member, new_id
from service.domain.demo import DEMO_COMMUNITY, DEMO_PASSWORD, seed_demo
from service.domain.people import new_person
from tests.service.conftest import PG_DATABASE, TEST_SETTINGS, _postgres_url, thread_executor
from tests.service.helpers import travel_past_tasks

C = DEMO_COMMUNITY
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TRANSLATIONS = Path(__file__).parents[3] / "service" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"

DISPATCHER_PAGES = {
    f"/console/c/{C}/demands": ("需求清单", "Demand list"),
    f"/console/c/{C}/tasks": ("任务清单", "Task list"),
    f"/console/c/{C}/services": ("服务清单", "Service list"),
    f"/console/c/{C}/members": ("在职党员", "In-service Party members"),
    f"/console/c/{C}/groups": ("分组", "Groups"),
    f"/console/c/{C}/posts": ("服务岗位", "Service posts"),
    f"/console/c/{C}/pairs": ("拉手式", "Hand-in-hand pairs"),
    f"/console/c/{C}/visits": ("组团走访", "Team visits"),
    f"/console/c/{C}/ledger": ("活动台账", "Ledger"),
    f"/console/c/{C}/visit-notes": ("民情走访台账", "Visit notes ledger"),
    f"/console/c/{C}/requests": ("群众诉求台账", "Requests ledger"),
    f"/console/c/{C}/feedback": ("诉求反馈台账", "Feedback ledger"),
    f"/console/c/{C}/map": ("需求与党员地图", "Map of demands and members"),
    f"/console/c/{C}/board": ("公示栏", "Publicity board"),
}
MEMBER_PAGES = {
    "/console/my/tasks": ("我的任务", "My tasks"),
    "/console/my/claim": ("附近抢单", "Claim nearby"),
    f"/console/c/{C}/board": ("公示栏", "Publicity board"),
}


@pytest.fixture(scope="module")
def console_app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on a database of its own, seeded with the demo community."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'linli.sqlite3'}"
    else:
        url = _postgres_url(f"{PG_DATABASE}_console")
    app = create_app(
        {
            "LINLI_DATABASE_URL": url,
            **TEST_SETTINGS,
            "EXECUTOR_FACTORY": thread_executor,
            "CONSOLE_DISPATCH_TIME_LIMIT_S": 2,
        }
    )
    state = app.extensions["linli"]
    with state.sessions() as session:
        seed_demo(session, state.cipher)
    yield app
    state.close(cancel_running=True)


class Login:
    """A person logged in through the console's login form."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        page = self.client.get("/console/login")
        response = self.client.post(
            "/console/login",
            data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token(page)},
        )
        assert response.status_code == 302, response.text
        self.csrf = token(self.client.get("/console/", follow_redirects=True))

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


def token(page: TestResponse) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def member_login(app: Flask, member_id: str) -> Login:
    """A login for this member (the demo has one member login; the flow needs whoever the
    engine chose)."""
    state = app.extensions["linli"]
    username = f"m-{member_id[-12:]}"
    with state.sessions() as session:
        if session.scalars(select(Person).where(Person.username == username)).first() is None:
            session.add(
                new_person(
                    username=username,
                    display_name=username,
                    password=DEMO_PASSWORD,
                    role="member",
                    member_id=member_id,
                )
            )
            session.commit()
    return Login(app, username)


def demo_member_id(app: Flask) -> str:
    with app.extensions["linli"].sessions() as session:
        person = session.scalars(select(Person).where(Person.username == "member")).one()
        assert person.member_id is not None
        return person.member_id


def offer(app: Flask, member_id: str) -> str:
    """An offered task for the member on a new demand of theirs (test set-up, as a dispatch
    would write it)."""
    state = app.extensions["linli"]
    with state.sessions() as session:
        member = session.get(Member, member_id)
        assert member is not None
        start = utcnow() + timedelta(days=2)
        demand = Demand(
            id=new_id("d"),
            community_id=member.community_id,
            category=member.skills[0],
            skills=[member.skills[0]],
            lat=member.lat,
            lon=member.lon,
            window_start=start,
            window_end=start + timedelta(hours=3),
            duration_hours=1.0,
            priority=3,
            crew_size=1,
            resident_ref="r-console-test",
            contact_phone_enc=state.cipher.encrypt("13812345678"),
            address_enc=state.cipher.encrypt("花园路8号院3单元"),
            status="dispatched",
            created_at=utcnow(),
        )
        session.add(demand)
        session.flush()
        task = Task(
            id=new_id("t"),
            demand_id=demand.id,
            member_id=member_id,
            start=start,
            status="offered",
            created_at=utcnow(),
        )
        session.add(task)
        session.commit()
        return task.id


@pytest.fixture(scope="module")
def foreign(console_app: Flask) -> dict[str, str]:
    """Another community's community, member, demand, task and run (outside every demo
    login's scope)."""
    state = console_app.extensions["linli"]
    with state.sessions() as session:
        other = "elsewhere"
        if session.get(Community, other) is None:
            session.add(Community(id=other, name="别的社区", created_at=utcnow()))
            session.flush()
        member = Member(
            id=new_id("m"),
            community_id=other,
            card_number=f"9999{new_id('x')[-10:]}",
            skills=["repairs"],
            preferences=[],
            specialties=[],
            lat=34.7,
            lon=113.6,
            weekly_availability=[],
            capacity_hours_per_week=4.0,
            status="active",
        )
        start = utcnow() + timedelta(days=1)
        demand = Demand(
            id=new_id("d"),
            community_id=other,
            category="repairs",
            skills=["repairs"],
            lat=34.7,
            lon=113.6,
            window_start=start,
            window_end=start + timedelta(hours=2),
            duration_hours=1.0,
            priority=3,
            crew_size=1,
            status="open",
        )
        session.add_all([member, demand])
        session.flush()
        task = Task(
            id=new_id("t"),
            demand_id=demand.id,
            member_id=member.id,
            start=start,
            status="completed",
            hours=1.0,
        )
        run = DispatchRun(
            id=new_id("r"),
            community_id=other,
            status="succeeded",
            time_limit_s=1.0,
            actor_role="client",
            actor_id=1,
            result={"status": "optimal", "tasks": [], "left_out": []},
        )
        session.add_all([task, run])
        session.commit()
        return {
            "community": other,
            "member": member.id,
            "demand": demand.id,
            "task": task.id,
            "run": run.id,
        }


def wait_for_run(app: Flask, run_id: str, timeout_s: float = 120.0) -> DispatchRun:
    deadline = time.monotonic() + timeout_s
    while True:
        with app.extensions["linli"].sessions() as session:
            run = session.get(DispatchRun, run_id)
            assert run is not None
            if run.status not in ("queued", "running") or time.monotonic() > deadline:
                session.expunge(run)
                return run
        time.sleep(0.2)


# --------------------------------------------------------------------------------------------
# Logged out
# --------------------------------------------------------------------------------------------


def test_root_redirects_to_the_console(console_app: Flask) -> None:
    """``/`` is the console; the console sends a logged-out person to the login page."""
    client = console_app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and response.location.endswith("/console/")
    response = client.get("/console/")
    assert response.status_code == 302 and "/console/login" in response.location


@pytest.mark.parametrize(
    "url",
    [*DISPATCHER_PAGES, "/console/my/tasks", "/console/my/claim", "/console/runs/r-x"],
)
def test_logged_out_pages_redirect_to_the_login_page(console_app: Flask, url: str) -> None:
    """A page, not a JSON 401: the login form, which returns to the page afterwards."""
    response = console_app.test_client().get(url)
    assert response.status_code == 302
    assert "/console/login?next=" in response.location
    assert url.split("?")[0] in response.location


def test_the_api_still_answers_json_401_and_the_console_assets_are_public(
    console_app: Flask,
) -> None:
    """The console's exemption from ``authenticate`` covers the console's blueprints only."""
    client = console_app.test_client()
    response = client.get("/api/v1/demands")
    assert response.status_code == 401 and response.get_json()["code"] == 401
    assert client.post("/api/v1/logout").status_code == 401
    for asset in ("console/console.css", "console/console.js", "leaflet/leaflet.js"):
        with client.get(f"/console/static/{asset}") as response:
            assert response.status_code == 200


# --------------------------------------------------------------------------------------------
# Logging in
# --------------------------------------------------------------------------------------------


def test_the_login_form_checks_the_token_and_the_password(console_app: Flask) -> None:
    """No token: 403. A wrong password: the form again, in Chinese, 401. Right: the session."""
    client = console_app.test_client()
    page = client.get("/console/login")
    assert page.status_code == 200 and "登录" in page.text
    good = {"username": "dispatcher", "password": DEMO_PASSWORD}
    assert client.post("/console/login", data=good).status_code == 403
    wrong = client.post(
        "/console/login", data={**good, "password": "not-the-password", "csrf_token": token(page)}
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    ok = client.post(
        "/console/login",
        data={**good, "csrf_token": token(page), "next": f"/console/c/{C}/tasks"},
    )
    assert ok.status_code == 302 and ok.location.endswith(f"/console/c/{C}/tasks")
    me = client.get("/api/v1/me")  # the same session as POST /api/v1/login
    assert me.status_code == 200 and me.get_json()["username"] == "dispatcher"


def test_the_login_never_redirects_off_site(console_app: Flask) -> None:
    client = console_app.test_client()
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={
            "username": "dispatcher",
            "password": DEMO_PASSWORD,
            "csrf_token": token(page),
            "next": "//evil.example/",
        },
    )
    assert response.status_code == 302 and response.location.endswith("/console/")


def test_an_api_login_session_opens_the_console_and_logout_ends_it(console_app: Flask) -> None:
    client = console_app.test_client()
    me = client.post("/api/v1/login", json={"username": "dispatcher", "password": DEMO_PASSWORD})
    assert me.status_code == 200
    assert client.get(f"/console/c/{C}/demands").status_code == 200
    assert client.post("/console/logout").status_code == 403  # the token is required
    out = client.post("/console/logout", data={"csrf_token": me.get_json()["csrf_token"]})
    assert out.status_code == 302
    assert client.get(f"/console/c/{C}/demands").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_each_role_starts_on_its_page(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    assert dispatcher.get("/console/").location.endswith(f"/console/c/{C}/demands")
    member = Login(console_app, "member")
    assert member.get("/console/").location.endswith("/console/my/tasks")
    admin = Login(console_app, "admin")
    home = admin.get("/console/")
    assert home.status_code == 200 and "花园路社区" in home.text


# --------------------------------------------------------------------------------------------
# Pages per role, languages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", list(DISPATCHER_PAGES))
def test_dispatcher_pages_are_chinese_by_default_and_english_on_request(
    console_app: Flask, url: str
) -> None:
    dispatcher = Login(console_app, "dispatcher")
    chinese, english = DISPATCHER_PAGES[url]
    page = dispatcher.get(url)
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and chinese in page.text
    page = dispatcher.get(f"{url}?lang=en")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text and english in page.text
    assert "linli_lang=en" in page.headers.get("Set-Cookie", "")
    assert english in dispatcher.get(url).text  # remembered in the cookie
    assert chinese in dispatcher.get(f"{url}?lang=zh").text


@pytest.mark.parametrize("url", list(MEMBER_PAGES))
def test_member_pages_are_chinese_by_default_and_english_on_request(
    console_app: Flask, url: str
) -> None:
    member = Login(console_app, "member")
    chinese, english = MEMBER_PAGES[url]
    page = member.get(url)
    assert page.status_code == 200 and chinese in page.text
    assert english in member.get(f"{url}?lang=en").text


@pytest.mark.parametrize("url", [u for u in DISPATCHER_PAGES if not u.endswith("/board")])
def test_a_member_may_not_open_the_dispatcher_pages(console_app: Flask, url: str) -> None:
    """The member reads the community's demand list through the API, but the console's
    dispatcher pages are for its managers: 403 (a page, in Chinese)."""
    response = Login(console_app, "member").get(url)
    assert response.status_code == 403 and "无权操作" in response.text


def test_the_dispatcher_has_no_member_pages(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    assert dispatcher.get("/console/my/tasks").status_code == 403
    assert dispatcher.get("/console/my/claim").status_code == 403


def test_another_communitys_ids_do_not_exist(console_app: Flask, foreign: dict[str, str]) -> None:
    """404 (never 403) for every page and form of another community's records."""
    for username in ("dispatcher", "member"):
        person = Login(console_app, username)
        for url in DISPATCHER_PAGES:
            assert (
                person.get(url.replace(f"/c/{C}/", f"/c/{foreign['community']}/")).status_code
                == 404
            )
        assert person.get(f"/console/demands/{foreign['demand']}/candidates").status_code == 404
        assert person.get(f"/console/runs/{foreign['run']}").status_code == 404
        assert person.get(f"/console/my/tasks/{foreign['task']}/contact").status_code in (403, 404)
        posts = {
            f"/console/c/{foreign['community']}/dispatch": {},
            f"/console/demands/{foreign['demand']}/cancel": {},
            f"/console/demands/{foreign['demand']}/assign": {"member_id": foreign["member"]},
            f"/console/tasks/{foreign['task']}/rate": {"rating": "5"},
            f"/console/tasks/{foreign['task']}/accept": {},
            f"/console/tasks/{foreign['task']}/decline": {"reason": "x"},
            f"/console/tasks/{foreign['task']}/complete": {"hours": "1"},
        }
        for url, data in posts.items():
            assert person.post(url, data).status_code in (
                (404,) if username == "dispatcher" else (403, 404)
            ), url
    with console_app.extensions["linli"].sessions() as session:
        demand = session.get(Demand, foreign["demand"])
        assert demand is not None and demand.status == "open"


def test_every_form_post_needs_the_csrf_token(console_app: Flask) -> None:
    """Without the token every change is refused (403) and nothing changes."""
    dispatcher = Login(console_app, "dispatcher")
    member = Login(console_app, "member")
    me = demo_member_id(console_app)
    offered = offer(console_app, me)
    with console_app.extensions["linli"].sessions() as session:
        demand_id = session.scalars(
            select(Demand.id).where(Demand.community_id == C, Demand.status == "open")
        ).first()
    assert demand_id is not None
    posts = [
        (dispatcher, f"/console/c/{C}/dispatch", {}),
        (dispatcher, f"/console/demands/{demand_id}/cancel", {}),
        (dispatcher, f"/console/demands/{demand_id}/assign", {"member_id": me}),
        (dispatcher, f"/console/tasks/{offered}/rate", {"rating": "5"}),
        (member, f"/console/tasks/{offered}/accept", {}),
        (member, f"/console/tasks/{offered}/decline", {"reason": "busy"}),
        (member, f"/console/tasks/{offered}/complete", {"hours": "1"}),
        (member, f"/console/demands/{demand_id}/claim", {}),
        (member, "/console/logout", {}),
    ]
    for person, url, data in posts:
        for sent in ({}, {"csrf_token": "not-the-token"}):
            response = person.client.post(url, data={**data, **sent})
            assert response.status_code == 403, url
            assert "表单已过期" in response.text
    with console_app.extensions["linli"].sessions() as session:
        assert session.get(Task, offered).status == "offered"  # type: ignore[union-attr]
        assert session.get(Demand, demand_id).status == "open"  # type: ignore[union-attr]
        runs = session.scalars(select(DispatchRun).where(DispatchRun.community_id == C)).all()
        assert runs == []
    assert member.get("/console/my/tasks").status_code == 200  # still logged in


# --------------------------------------------------------------------------------------------
# The menu flow, page by page
# --------------------------------------------------------------------------------------------


def test_dispatch_runs_in_the_background_and_the_result_is_explained(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    demands = dispatcher.get(f"/console/c/{C}/demands")
    assert "一键派单" in demands.text
    started = dispatcher.post(f"/console/c/{C}/dispatch")
    assert started.status_code == 302 and "/console/runs/" in started.location
    run_id = started.location.rsplit("/", 1)[1]
    page = dispatcher.get(f"/console/runs/{run_id}")
    assert page.status_code == 200 and f"/api/v1/dispatch-runs/{run_id}" in page.text
    run = wait_for_run(console_app, run_id)
    assert run.status == "succeeded", run.error
    assert run.result is not None
    page = dispatcher.get(f"/console/runs/{run_id}")
    assert "派单结果" in page.text and "党员工作量" in page.text
    assert "本周全部任务小时" in page.text  # the member's whole week beside this run's tasks
    if run.result["left_out"]:
        assert "处理建议" in page.text and 'lang="en"' not in page.text
    served, left = len(run.result["tasks"]), len(run.result["left_out"])
    assert f"已派出 {served} 条需求，{left} 条未派出" in page.text
    if left:
        assert "未派出的需求及原因" in page.text
    tasks = dispatcher.get(f"/console/c/{C}/tasks")
    assert tasks.status_code == 200 and tasks.text.count("待接单") >= min(served, 1)
    english = dispatcher.get(f"/console/runs/{run_id}?lang=en")
    assert f"{served} demands dispatched, {left} left out." in english.text


def test_a_second_dispatch_while_one_runs_goes_to_the_running_one(console_app: Flask) -> None:
    """One run at a time per community: the button leads to the run under way."""
    state = console_app.extensions["linli"]
    with state.sessions() as session:
        running = DispatchRun(
            id=new_id("r"),
            community_id=C,
            status="running",
            time_limit_s=1.0,
            actor_role="dispatcher",
            actor_id=1,
            created_at=utcnow(),
            started_at=utcnow(),
        )
        session.add(running)
        session.commit()
        run_id = running.id
    dispatcher = Login(console_app, "dispatcher")
    try:
        second = dispatcher.post(f"/console/c/{C}/dispatch")
        assert second.status_code == 302 and second.location.endswith(f"/console/runs/{run_id}")
        page = dispatcher.get(second.location)
        assert "派单中" in page.text and "本社区的派单正在进行中" in page.text
        assert "<progress" in page.text
    finally:
        with state.sessions() as session:
            row = session.get(DispatchRun, run_id)
            assert row is not None
            row.status, row.error, row.finished_at = "failed", "test", utcnow()
            session.commit()


def test_who_should_take_this_one_and_assigning_from_it(console_app: Flask) -> None:
    dispatcher = Login(console_app, "dispatcher")
    state = console_app.extensions["linli"]
    me = demo_member_id(console_app)
    with state.sessions() as session:
        member = session.get(Member, me)
        assert member is not None
        start = utcnow() + timedelta(days=3)
        demand = Demand(
            id=new_id("d"),
            community_id=C,
            category=member.skills[0],
            skills=[member.skills[0]],
            lat=member.lat,
            lon=member.lon,
            window_start=start,
            window_end=start + timedelta(days=4),
            duration_hours=1.0,
            priority=5,
            crew_size=1,
            status="open",
        )
        session.add(demand)
        session.commit()
        demand_id = demand.id
    page = dispatcher.get(f"/console/demands/{demand_id}/candidates")
    assert page.status_code == 200 and "谁来接单" in page.text
    listed = re.findall(r'name="member_id" value="([^"]+)"', page.text)
    assert listed, page.text
    assigned = dispatcher.post(f"/console/demands/{demand_id}/assign", {"member_id": listed[0]})
    assert assigned.status_code == 302
    with state.sessions() as session:
        assert session.get(Demand, demand_id).status == "accepted"  # type: ignore[union-attr]
    again = dispatcher.get(f"/console/demands/{demand_id}/candidates")
    assert again.status_code == 200 and "只有待派单的需求" in again.text


def test_a_member_accepts_sees_the_contact_and_completes_then_the_dispatcher_rates(
    console_app: Flask,
) -> None:
    me = demo_member_id(console_app)
    task_id = offer(console_app, me)
    member = Login(console_app, "member")
    page = member.get("/console/my/tasks")
    assert f'id="task-{task_id}"' in page.text and "接单" in page.text
    assert "13812345678" not in page.text  # masked until accepted
    assert member.get(f"/console/my/tasks/{task_id}/contact").status_code == 403
    accepted = member.post(f"/console/tasks/{task_id}/accept", follow_redirects=True)
    assert "已接单" in accepted.text
    contact = member.get(f"/console/my/tasks/{task_id}/contact")
    assert contact.status_code == 200 and "13812345678" in contact.text
    assert "花园路8号院3单元" in contact.text
    travel_past_tasks(console_app)
    bad = member.post(f"/console/tasks/{task_id}/complete", {"hours": "30"}, follow_redirects=True)
    assert "请填写服务时长" in bad.text
    done = member.post(
        f"/console/tasks/{task_id}/complete", {"hours": "1.5"}, follow_redirects=True
    )
    assert "已完成：服务 1.5 小时" in done.text
    assert member.get(f"/console/my/tasks/{task_id}/contact").status_code == 403
    assert member.post(f"/console/tasks/{task_id}/rate", {"rating": "5"}).status_code == 403

    dispatcher = Login(console_app, "dispatcher")
    services = dispatcher.get(f"/console/c/{C}/services?unrated=1")
    assert f'action="/console/tasks/{task_id}/rate"' in services.text
    rated = dispatcher.post(
        f"/console/tasks/{task_id}/rate", {"rating": "4"}, follow_redirects=True
    )
    assert "已评价 ★★★★" in rated.text
    twice = dispatcher.post(
        f"/console/tasks/{task_id}/rate", {"rating": "1"}, follow_redirects=True
    )
    assert "状态已变化" in twice.text
    ledger = dispatcher.get(f"/console/c/{C}/ledger?kind=service")
    assert ledger.status_code == 200 and "★★★★" in ledger.text
    board = dispatcher.get(f"/console/c/{C}/board")
    assert board.status_code == 200 and "4101" not in board.text  # no card numbers
    with console_app.extensions["linli"].sessions() as session:
        name = session.scalars(select(Member.name).where(Member.id == me)).one()
    assert name and name in board.text and "1380000" not in board.text


def test_a_decline_is_dispatched_again_and_the_task_list_shows_it(console_app: Flask) -> None:
    me = demo_member_id(console_app)
    task_id = offer(console_app, me)
    member = Login(console_app, "member")
    empty = member.post(f"/console/tasks/{task_id}/decline", {"reason": ""}, follow_redirects=True)
    assert "请填写拒单原因" in empty.text
    declined = member.post(
        f"/console/tasks/{task_id}/decline", {"reason": "那天要加班"}, follow_redirects=True
    )
    assert declined.status_code == 200 and "已拒单" in declined.text
    dispatcher = Login(console_app, "dispatcher")
    tasks = dispatcher.get(f"/console/c/{C}/tasks")
    assert "拒单与自动改派" in tasks.text and "那天要加班" in tasks.text
    assert ("已改派给" in tasks.text) or ("待派单" in tasks.text)


def test_a_member_claims_an_open_demand_nearby(console_app: Flask) -> None:
    member = Login(console_app, "member")
    page = member.get("/console/my/claim")
    assert page.status_code == 200
    claimable = re.findall(r'action="/console/demands/([^/]+)/claim"', page.text)
    outcomes = []
    for demand_id in claimable:
        response = member.post(f"/console/demands/{demand_id}/claim", follow_redirects=True)
        outcomes.append(response.text)
        if "抢单成功" in response.text:
            break
    assert not claimable or any(("抢单成功" in o) or ("没有空闲时间" in o) for o in outcomes)


# --------------------------------------------------------------------------------------------
# The catalog
# --------------------------------------------------------------------------------------------


def test_the_committed_catalog_is_complete_and_compiled() -> None:
    """Every msgid has a Chinese translation, and the committed ``.mo`` is the ``.po``
    compiled (``pybabel compile -d service/translations``)."""
    with (TRANSLATIONS / "messages.po").open("rb") as f:
        po = read_po(f)
    with (TRANSLATIONS / "messages.mo").open("rb") as f:
        mo = read_mo(f)
    untranslated = [m.id for m in po if m.id and not m.string]
    assert untranslated == []
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


def test_the_visits_page_lists_a_stored_quarter_with_its_calendars(console_app: Flask) -> None:
    """组团走访: the sessions of a stored schedule, and iCalendar links that download."""
    with console_app.extensions["linli"].sessions() as session:
        rows = list(
            session.scalars(
                select(Member).where(Member.community_id == C).order_by(Member.id).limit(3)
            )
        )
        members, names = [m.id for m in rows], [m.name for m in rows]
    quarter = {
        "quarter": {"start": "2026-01-01", "end": "2026-01-31"},
        "visit_weekdays": ["sat", "sun"],
        "max_sessions_per_day": 2,
        "session": {"start": "09:00", "max_hours": 3.0},
        "members": [{"id": m} for m in members],
        "teams": [
            {"id": "第一组", "members": members, "leader": members[0], "quorum": 2, "area": "a-1"}
        ],
        "areas": [
            {
                "id": "a-1",
                "start": {"lat": 34.75, "lon": 113.62},
                "households": [
                    {
                        "id": f"h-{k}",
                        "location": {"lat": 34.75 + 0.001 * k, "lon": 113.62},
                        "visit_minutes": 20,
                        "visits": 1,
                    }
                    for k in range(1, 5)
                ],
            }
        ],
        "options": {"time_limit_s": 1, "seed": 0, "min_days_between_visits": 7},
    }
    dispatcher = Login(console_app, "dispatcher")
    stored = dispatcher.client.post(
        f"/api/v1/communities/{C}/visit-schedules",
        json=quarter,
        headers={"X-CSRF-Token": dispatcher.csrf},
    )
    assert stored.status_code == 201, stored.text
    schedule_id = stored.get_json()["id"]
    page = dispatcher.get(f"/console/c/{C}/visits")
    assert page.status_code == 200 and "社区日历（.ics）" in page.text
    found = re.findall(r'href="(/api/v1/visit-schedules/[^"]+calendar\.ics[^"]*)"', page.text)
    links = [link for link in found if f"/{schedule_id}/" in link]  # beside the demo's quarter
    assert f"/api/v1/visit-schedules/{schedule_id}/calendar.ics" in links and len(links) == 2
    for link in links:
        calendar = dispatcher.get(link.replace("&amp;", "&"))
        assert calendar.status_code == 200 and b"BEGIN:VCALENDAR" in calendar.data
        text = calendar.data.decode().replace("\r\n ", "")  # unfold the long lines
        assert all(f"CN={name}" in text for name in names)  # attendees by name


def test_console_pages_share_the_api_rate_limit(tmp_path: Path) -> None:
    """A person who spends their requests gets a 429 page with ``Retry-After``."""
    app = create_app(
        {
            "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'limited.sqlite3'}",
            **TEST_SETTINGS,
            "LINLI_RATE_LIMIT": "3/minute",
            "EXECUTOR_FACTORY": thread_executor,
        }
    )
    try:
        state = app.extensions["linli"]
        with state.sessions() as session:
            seed_demo(session, state.cipher)
        dispatcher = Login(app, "dispatcher")  # the redirect after the login spends one
        codes = [dispatcher.get(f"/console/c/{C}/tasks").status_code for _ in range(4)]
        assert codes[0] == 200 and codes[-1] == 429
        limited = dispatcher.get(f"/console/c/{C}/tasks")
        assert int(limited.headers["Retry-After"]) >= 1 and "请求过于频繁" in limited.text
    finally:
        app.extensions["linli"].close(cancel_running=True)
