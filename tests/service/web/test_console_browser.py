"""The console in a real browser (issue #8): headless Chromium (Debian's ``chromium``) driven by
Playwright, against the app served on a free port with a fresh SQLite database seeded with the
demo community.

A dispatcher logs in, sees the demand list, checks a demands sheet with a bad row (rejected,
nothing written), dispatches and reads the result; a member on a phone-sized viewport accepts
and completes; the dispatcher rates; the ledger and the publicity board show the service.
Screenshots land in ``test-artifacts/console/``. Without Chromium or Playwright the tests skip
with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from service.app import create_app
from service.db.flow import Demand, Task
from service.db.people import Person
from service.domain.availability import LOCAL
from service.domain.demo import DEMO_COMMUNITY, DEMO_PASSWORD, seed_demo
from service.domain.people import new_person
from tests.service.conftest import TEST_SETTINGS, thread_executor
from tests.service.helpers import travel_past_tasks

CHROMIUM = os.environ.get("LINLI_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[3] / "test-artifacts" / "console"
TIMEOUT_MS = 30_000
C = DEMO_COMMUNITY


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires it (apt-get install -y chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sync_api() -> Any:
    try:
        from playwright import sync_api
    except ImportError as err:
        _unavailable(f"Playwright is not installed ({err})")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium not found at {CHROMIUM}")
    return sync_api


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app on a free port, in a thread, on a fresh seeded SQLite database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'linli.sqlite3'}"
    app = create_app(
        {
            "LINLI_DATABASE_URL": url,
            **TEST_SETTINGS,
            "LINLI_SECURE_COOKIES": False,  # plain http on 127.0.0.1
            "EXECUTOR_FACTORY": thread_executor,
            "CONSOLE_DISPATCH_TIME_LIMIT_S": 2,
            "CONSOLE_MAP_TILE_URL": "data:,",  # no tile server in a test
        }
    )
    state = app.extensions["linli"]
    with state.sessions() as session:
        seed_demo(session, state.cipher)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()
    state.close(cancel_running=True)


@pytest.fixture(scope="module")
def browser(sync_api: Any) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        except sync_api.Error as err:
            _unavailable(f"Chromium does not start ({str(err).splitlines()[0]})")
        yield chromium
        chromium.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/console/")
    assert "/console/login" in page.url  # logged out: the login page, not a JSON 401
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def demands_sheet() -> bytes:
    """The demands template with one good row and one bad row (priority 9, ends before it
    starts)."""
    from openpyxl import load_workbook

    from service.web.workbooks import SHEET_TITLES, template

    book = load_workbook(io.BytesIO(template("demands")))
    sheet = book[SHEET_TITLES["demands"]]
    headers = {cell.value: cell.column for cell in sheet[1]}
    start = (datetime.now(LOCAL) + timedelta(days=2)).replace(hour=9, minute=0, second=0)
    rows = [
        {"类别": "便民维修", "纬度": 34.75, "经度": 113.66, "开始时间": start,
         "结束时间": start + timedelta(hours=3), "时长(小时)": 1, "优先级": 3},
        {"类别": "便民维修", "纬度": 34.75, "经度": 113.66, "开始时间": start,
         "结束时间": start - timedelta(hours=3), "时长(小时)": 1, "优先级": 9},
    ]  # fmt: skip
    for offset, row in enumerate(rows):
        for header, value in row.items():
            cell = sheet.cell(row=2 + offset, column=headers[header])
            cell.value = value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def member_for_offer(app: Flask) -> tuple[str, str]:
    """(username, task id) of an offered task, preferring one whose demand carries the
    resident's contact, then the demo member's; a member login is made for another member."""
    with app.extensions["linli"].sessions() as session:
        demo = session.scalars(select(Person).where(Person.username == "member")).one()
        offered = session.execute(
            select(Task, Demand.contact_phone_enc)
            .join(Demand, Demand.id == Task.demand_id)
            .where(Task.status == "offered")
            .order_by(Task.start, Task.id)
        ).all()
        assert offered, "the dispatch offered no task"
        task, _phone = min(
            offered, key=lambda row: (row[1] is None, row[0].member_id != demo.member_id)
        )
        if task.member_id == demo.member_id:
            return "member", task.id
        username = "member-browser"
        session.add(
            new_person(
                username=username,
                display_name="党员",
                password=DEMO_PASSWORD,
                role="member",
                member_id=task.member_id,
            )
        )
        session.commit()
        return username, task.id


def test_the_menu_flow_in_a_browser(live_app: tuple[Flask, str], browser: Any) -> None:
    """Dispatcher (office PC) and member (phone) run the whole flow in Chinese."""
    app, base = live_app
    office = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    office.set_default_timeout(TIMEOUT_MS)
    page = office.new_page()

    # The dispatcher logs in and sees the demand list.
    log_in(page, base, "dispatcher")
    assert page.get_by_role("heading", name="需求清单").is_visible()
    assert page.locator("#demand-table tbody tr").count() >= 10
    shot(page, "01-dispatcher-demand-list")

    # A demands sheet with a bad row: the dry run lists it, the import writes nothing.
    sheet = {"name": "需求.xlsx", "mimeType": "application/octet-stream", "buffer": demands_sheet()}
    rows_before = page.locator("#demand-table tbody tr").count()
    page.get_by_label("表格文件（.xlsx）").set_input_files(sheet)
    page.get_by_role("button", name="仅检查（试导入）").click()
    problems = page.locator("#import-problems")
    problems.wait_for()
    text = page.locator("main").inner_text()
    assert "第 3 行" in problems.inner_text() and "结束时间" in problems.inner_text()
    assert "须晚于开始时间" in problems.inner_text() and "未写入任何数据" in text
    assert "rows[" not in text and "must be" not in text  # the row and column, in Chinese
    shot(page, "02-import-dry-run-rejects-a-bad-row")
    page.get_by_label("表格文件（.xlsx）").set_input_files(sheet)
    page.get_by_role("button", name="导入", exact=True).click()
    page.locator("#import-problems").wait_for()
    page.goto(f"{base}/console/c/{C}/demands")
    assert page.locator("#demand-table tbody tr").count() == rows_before

    # One-click dispatch: a background run, its progress, then the result explained.
    page.get_by_role("button", name="一键派单").click()
    page.wait_for_url("**/console/runs/*")
    page.get_by_role("heading", name="派单结果").wait_for(timeout=90_000)
    assert page.get_by_role("heading", name="党员工作量").is_visible()
    summary = page.locator("#run-result").inner_text()
    assert "已派出" in summary
    shot(page, "03-dispatch-result")

    # The member, on a phone, accepts and completes.
    username, task_id = member_for_offer(app)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    phone.set_default_timeout(TIMEOUT_MS)
    mobile = phone.new_page()
    log_in(mobile, base, username)
    assert mobile.get_by_role("heading", name="我的任务").is_visible()
    card = mobile.locator(f"#task-{task_id}")
    shot(mobile, "04-member-my-tasks")
    card.get_by_role("button", name="接单").click()
    mobile.wait_for_load_state()
    assert mobile.get_by_text("已接单。").is_visible()
    card = mobile.locator(f"#task-{task_id}")
    contact = card.get_by_role("link", name="查看群众联系方式")
    if contact.count():  # the demand carries the resident's contact: shown now, in clear
        contact.click()
        assert mobile.get_by_role("link", name=re.compile(r"^1380000\d{4}$")).is_visible()
        shot(mobile, "05a-member-resident-contact")
        mobile.go_back()
    travel_past_tasks(app)  # a task is completed once it has been served
    card.get_by_label("服务时长（小时）").fill("1.5")
    shot(mobile, "05-member-accepted")
    card.get_by_role("button", name="服务完成").click()
    mobile.wait_for_load_state()
    assert mobile.get_by_text("已完成：服务 1.5 小时").is_visible()
    shot(mobile, "06-member-completed")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    phone.close()

    # The dispatcher rates the service; the ledger and the board show it.
    page.goto(f"{base}/console/c/{C}/services?unrated=1")
    form = page.locator(f'form[action="/console/tasks/{task_id}/rate"]')
    form.get_by_label("评价").select_option("5")
    form.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    assert page.get_by_text("已评价 ★★★★★").is_visible()
    page.goto(f"{base}/console/c/{C}/services")
    assert page.locator(f"#service-{task_id}").get_by_text("★★★★★").is_visible()
    shot(page, "07-service-list-rated")
    page.goto(f"{base}/console/c/{C}/ledger")
    assert page.locator("#ledger-table").get_by_text("★★★★★").count() >= 1
    shot(page, "08-ledger")
    page.goto(f"{base}/console/c/{C}/board")
    assert page.get_by_role("heading", name="花园路社区 · 公示栏").is_visible()
    assert page.locator("#board-table tbody tr").count() >= 30
    shot(page, "09-publicity-board")
    office.close()


def test_the_map_and_english_and_the_keyboard(live_app: tuple[Flask, str], browser: Any) -> None:
    """The map draws the GeoJSON with Leaflet from the app's own files; English on request;
    the login works from the keyboard alone."""
    _app, base = live_app
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None,
    )
    page.goto(f"{base}/console/login?lang=en")
    assert page.get_by_role("heading", name="Log in").is_visible()
    assert page.evaluate("document.activeElement.id") == "username"  # autofocus
    page.keyboard.type("dispatcher")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/c/*/demands")
    assert page.get_by_role("heading", name="Demand list").is_visible()
    page.keyboard.press("Tab")  # the skip link comes first, and leads to the content
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
           .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
           .map(e => e.name)"""
    )
    assert unlabelled == []
    page.goto(f"{base}/console/c/{C}/map?lang=zh")
    page.locator("#map.leaflet-container").wait_for()
    page.locator("#map path.leaflet-interactive").first.wait_for()
    assert page.locator("#map path.leaflet-interactive").count() >= 10
    shot(page, "10-map")
    assert outside == []  # no CDN, no tile server: everything from the app
    context.close()
