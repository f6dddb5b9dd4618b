"""Chinese everywhere (issue #19) on the map and the five evaluations' pages.

The pages' text is Chinese: half years as "2026年下半年" (the code ``2026H2`` only in the forms'
values and the URLs), the year select on this year in Asia/Shanghai, no "-0" in the breakdowns,
full-width colons after Chinese text, community names instead of codes. In headless Chromium
(Debian's ``chromium``, driven by Playwright; the fixtures of ``test_console_browser``) the
dispatcher opens the map (no base map by default: nothing fetched from outside, a metric scale,
the base map's attribution alone) and the evaluations, the member their self-evaluation and the
unit organiser the unit's evaluations; no page shows three English words in a row or a raw id
(:mod:`tests.service.web.chinese_text`). Screenshots land in ``test-artifacts/console/``.
Without Chromium or Playwright the browser test skips with the reason, except under ``CI=true``,
where it fails.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from service.app import create_app
from service.domain.availability import LOCAL
from service.domain.demo import seed_demo
from service.domain.evaluations.periods import Period
from service.web.console.evaluations import period_text, points_text, year_text
from tests.service.conftest import PG_DATABASE, TEST_SETTINGS, _postgres_url, thread_executor
from tests.service.web import test_console_browser as browser_tests
from tests.service.web.chinese_text import problems
from tests.service.web.test_console import C, Login

browser = browser_tests.browser  # the fixtures: headless Chromium, and Playwright or the skip
sync_api = browser_tests.sync_api
EVALUATIONS = f"/console/c/{C}/evaluations"
MAP = f"/console/c/{C}/map"
TODAY = datetime.now(LOCAL).date()
NOW_PERIOD = Period.containing(TODAY)
PERIOD_CODE = re.compile(r"\b\d{4}H[12]\b")
ASCII_COLON_AFTER_CHINESE = re.compile(r"[\u3400-\u9fff）][:;,]")


def _visible(page_text: str) -> str:
    """A page's text without its tags, scripts, styles and attributes."""
    body = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", page_text, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def _selected(page_text: str, select_id: str) -> str:
    """The value of the selected option of a ``<select>``."""
    found = re.search(rf'<select id="{select_id}".*?</select>', page_text, re.S)
    assert found, select_id
    chosen = re.findall(r'<option value="([^"]*)" selected', found.group())
    assert len(chosen) == 1, found.group()
    return chosen[0]


@pytest.fixture(scope="module")
def console_app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on a database of its own, seeded with the demo community."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('console_chinese') / 'linli.sqlite3'}"
    else:
        url = _postgres_url(f"{PG_DATABASE}_console_chinese")
    app = create_app(
        {"LINLI_DATABASE_URL": url, **TEST_SETTINGS, "EXECUTOR_FACTORY": thread_executor}
    )
    state = app.extensions["linli"]
    with state.sessions() as session:
        seed_demo(session, state.cipher)
    yield app
    state.close(cancel_running=True)


# --------------------------------------------------------------------------------------------
# The words
# --------------------------------------------------------------------------------------------


def test_half_years_years_and_points_as_people_write_them(console_app: Flask) -> None:
    """ "2026年上半年", "2026年", and points without a negative zero or float noise."""
    with console_app.test_request_context("/console/"):
        assert period_text("2026H1") == "2026年上半年"
        assert period_text(Period(2026, 2)) == "2026年下半年"
        assert year_text(2026) == "2026年"
    with console_app.test_request_context("/console/?lang=en"):
        assert period_text("2026H2") == "Second half of 2026"
        assert year_text(2026) == "2026"
    assert points_text(-0.0) == "0"
    assert points_text(-0.000001) == "0"
    assert points_text(2.50) == "2.5"
    assert points_text(1 / 3) == "0.33"
    assert points_text(-3.0) == "-3"
    assert points_text(None) == ""


def test_the_evaluations_page_names_half_years_and_selects_this_year(console_app: Flask) -> None:
    """The half year's page: labels in the selects and tables, never the code in the text; the
    year select on this year (Asia/Shanghai), newest first; "报表：" with a full-width colon."""
    dispatcher = Login(console_app, "dispatcher")
    page = dispatcher.get(EVALUATIONS)
    assert page.status_code == 200
    text = _visible(page.text)
    assert f"五评议 · {NOW_PERIOD.label}" in text
    assert PERIOD_CODE.findall(text) == []
    assert f'<option value="{NOW_PERIOD}" selected>{NOW_PERIOD.label}</option>' in page.text
    assert _selected(page.text, "q-year") == str(TODAY.year)
    years = re.findall(r'<option value="(\d{4})"', page.text)
    assert years == sorted(years, reverse=True) and years[0] == str(TODAY.year)
    assert f">{TODAY.year}年<" in page.text
    assert "报表：" in text and "报表:" not in text
    assert ASCII_COLON_AFTER_CHINESE.findall(text) == []
    year_page = dispatcher.get(f"{EVALUATIONS}?year={TODAY.year - 1}")
    assert _selected(year_page.text, "q-year") == str(TODAY.year - 1)
    assert PERIOD_CODE.findall(_visible(year_page.text)) == []


def test_no_negative_zero_in_the_breakdowns(console_app: Flask) -> None:
    """A penalty counted zero times is −0.0 in the API's figures and "0" on the page."""
    dispatcher = Login(console_app, "dispatcher")
    api = dispatcher.get(f"/api/v1/communities/{C}/evaluation?period={NOW_PERIOD}").get_json()
    negative_zeros = [
        item
        for row in api["rows"]
        for item in row["items"]
        if item["points"] == 0 and math.copysign(1.0, item["points"]) < 0
    ]
    assert negative_zeros  # the case is there to be shown
    page = dispatcher.get(f"{EVALUATIONS}?period={NOW_PERIOD}")
    assert re.findall(r">\s*-0(\.0+)?\s*<", page.text) == []
    year_page = dispatcher.get(f"{EVALUATIONS}?year={NOW_PERIOD.year}")
    assert re.findall(r">\s*-0(\.0+)?\s*<", year_page.text) == []


def test_the_member_and_organiser_pages_name_half_years_and_communities(
    console_app: Flask,
) -> None:
    """党员自评 and 单位考评: half years by their labels, the community by its name."""
    member = Login(console_app, "member").get("/console/my/evaluation")
    text = _visible(member.text)
    assert f"我的党员自评 · {NOW_PERIOD.label}" in text
    assert PERIOD_CODE.findall(text) == []
    organiser = Login(console_app, "organiser").get("/console/unit/evaluations")
    text = _visible(organiser.text)
    assert f"单位考评 · {NOW_PERIOD.label}" in text
    assert PERIOD_CODE.findall(text) == []
    assert "花园路社区" in text and f"<td>{C}</td>" not in organiser.text


# --------------------------------------------------------------------------------------------
# In a browser
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app on a free port, in a thread, on a fresh seeded SQLite database, with the map's
    default (no base map)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser_chinese') / 'linli.sqlite3'}"
    app = create_app(
        {
            "LINLI_DATABASE_URL": url,
            **TEST_SETTINGS,
            "LINLI_SECURE_COOKIES": False,  # plain http on 127.0.0.1
            "EXECUTOR_FACTORY": thread_executor,
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


def _check_text(page: Any, name: str) -> None:
    """The visible text has no English run and no raw id; the screenshot is kept either way."""
    browser_tests.shot(page, name)
    found = problems(page.locator("body").inner_text())
    assert found == [], f"{name}: {found}"


def test_the_map_and_the_evaluations_in_chinese(
    live_app: tuple[Flask, str], browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dispatcher, member (phone) and unit organiser open their pages: Chinese only."""
    for name in ("LINLI_MAP_PRESET", "LINLI_MAP_TILE_URL", "LINLI_TIANDITU_KEY"):
        monkeypatch.delenv(name, raising=False)
    _app, base = live_app
    office = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    office.set_default_timeout(browser_tests.TIMEOUT_MS)
    page = office.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    browser_tests.log_in(page, base, "dispatcher")

    # The map without a base map: the community drawn, a metric scale, no attribution prefix.
    page.goto(f"{base}{MAP}")
    page.locator("#map.leaflet-container").wait_for()
    page.locator("#map path.leaflet-interactive").first.wait_for()
    assert page.locator("#map .leaflet-tile").count() == 0
    assert page.locator("#map .map-building").count() >= 4
    assert page.locator("#map path.leaflet-interactive").count() >= 36 + 4  # members, grids
    scale = page.locator("#map .leaflet-control-scale").inner_text()
    assert re.fullmatch(r"\d+ k?m", scale.strip()), scale
    assert page.locator("#map .leaflet-control-attribution").count() == 0
    assert "Leaflet" not in page.locator("#map").inner_text()
    assert page.get_by_text("本地图未加载底图").is_visible()
    open_demands = page.locator("#map path.leaflet-interactive[fill='#d62728']")
    assert open_demands.count() >= 10
    open_demands.first.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "待派单" in popup.inner_text()
    assert re.search("优先级：(不急|一般|较急|紧急|特急)", popup.inner_text())
    assert re.search(r"时间：\d{1,2}月\d{1,2}日 \d\d:\d\d–", popup.inner_text())
    page.wait_for_timeout(300)  # the popup's fade
    _check_text(page, "chinese-01-map-no-base-map")

    # The evaluations: the half year, then the year end.
    page.goto(f"{base}{EVALUATIONS}")
    assert page.locator("#q-year").input_value() == str(TODAY.year)
    assert page.locator("#q-period option:checked").inner_text() == NOW_PERIOD.label
    page.locator("#evaluation-table details summary").first.click()
    _check_text(page, "chinese-02-evaluations-half-year")
    page.locator("#q-year").select_option(str(TODAY.year))
    page.locator("#q-year").locator("xpath=..").get_by_role("button").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=f"五评议 · {TODAY.year} 年度").is_visible()
    _check_text(page, "chinese-03-evaluations-year-end")
    assert outside == []  # no tile server, no CDN
    office.close()

    # The member, on a phone: the self-evaluation.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    phone.set_default_timeout(browser_tests.TIMEOUT_MS)
    mobile = phone.new_page()
    browser_tests.log_in(mobile, base, "member")
    mobile.goto(f"{base}/console/my/evaluation")
    assert mobile.get_by_role("heading", name=f"我的党员自评 · {NOW_PERIOD.label}").is_visible()
    _check_text(mobile, "chinese-04-member-self-evaluation")
    phone.close()

    # The unit organiser: the unit's evaluations.
    desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    desk.set_default_timeout(browser_tests.TIMEOUT_MS)
    organiser = desk.new_page()
    browser_tests.log_in(organiser, base, "organiser")
    organiser.goto(f"{base}/console/unit/evaluations")
    assert organiser.get_by_role("heading", name=f"单位考评 · {NOW_PERIOD.label}").is_visible()
    _check_text(organiser, "chinese-05-unit-evaluations")
    desk.close()
