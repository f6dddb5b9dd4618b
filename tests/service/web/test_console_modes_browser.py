"""The long-term modes walked in headless Chromium (issue #19), as the role that does each action.

The dispatcher (office PC) sets a post, runs the allocation and marks a commitment; the member (a
phone, 390×844) ranks their post choices; the dispatcher computes groups, sets their areas and
records a leader, pairs households hand in hand and renews a pair, pairs a unit, schedules a
quarter and records an outing. Every page is checked with
:func:`tests.service.web.chinese_text.problems` (no English run, no raw id), and screenshots land
in ``test-artifacts/console/modes-*.png``. Without Chromium or Playwright the test skips with the
reason, except under ``CI=true``, where it fails (the fixtures of ``test_console_browser``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.domain.demo import DEMO_COMMUNITY as C
from tests.service.web.chinese_text import problems
from tests.service.web.test_console_browser import TIMEOUT_MS, log_in, shot
from tests.service.web.test_console_browser import browser as browser  # the fixtures
from tests.service.web.test_console_browser import live_app as live_app
from tests.service.web.test_console_browser import sync_api as sync_api


def checked(page: Any, name: str) -> str:
    """Screenshot the page and assert it reads as Chinese with no raw id; its text."""
    page.wait_for_load_state()
    shot(page, f"modes-{name}")
    text = str(page.inner_text("body"))
    assert problems(text) == [], (name, problems(text))
    assert "msg-error" not in page.content(), (name, text[:2000])
    return text


def opened(page: Any, form: str) -> None:
    """Open the ``<details>`` that holds ``form`` if it is closed."""
    summary = page.locator(f"details:has({form}) > summary")
    if summary.count() and not page.locator(form).is_visible():
        summary.first.click()


def test_every_mode_in_a_browser(live_app: tuple[Flask, str], browser: Any) -> None:
    """设岗认岗 → 选岗 (phone) → 认岗 → 承诺; 分组; 结对; 组团走访, each page in Chinese."""
    _app, base = live_app
    office = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    office.set_default_timeout(TIMEOUT_MS)
    page = office.new_page()
    log_in(page, base, "dispatcher")

    # 设岗: a post with its commitment and deadline.
    page.goto(f"{base}/console/c/{C}/posts")
    checked(page, "01-posts")
    opened(page, "#post-new")
    page.locator("#post-category").select_option("policy_publicity")
    page.locator("#post-title").fill("楼道政策宣讲员")
    page.locator("#post-seats").fill("3")
    page.locator("#post-service").fill("每月宣讲一次")
    page.locator("#post-deadline").fill("2026-12-31")
    page.locator("#post-new button[type=submit]").click()
    assert "楼道政策宣讲员" in checked(page, "02-post-set")

    # 选岗: the member ranks it on their phone.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    phone.set_default_timeout(TIMEOUT_MS)
    mobile = phone.new_page()
    log_in(mobile, base, "member")
    mobile.get_by_role("link", name="我的岗位选择").click()
    checked(mobile, "03-member-choices")
    mobile.locator("#rank1").select_option(label="楼道政策宣讲员（政策宣传）")
    mobile.get_by_role("button", name="保存我的志愿").click()
    assert "你的志愿已保存" in checked(mobile, "04-member-choices-saved")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390

    # 认岗: the allocation, explained; then a commitment kept.
    page.goto(f"{base}/console/c/{C}/posts")
    page.get_by_role("button", name="运行认岗").click()
    text = checked(page, "05-allocation")
    assert "谁认了哪个岗位" in text and "第1志愿" in text
    page.get_by_role("link", name="返回设岗认岗与承诺").click()
    page.get_by_role("button", name="标记已兑现").first.click()
    assert "承诺已标记" in checked(page, "06-commitment-kept")
    mobile.reload()
    assert "我的承诺" in checked(mobile, "07-member-commitments")

    # 分组: a proposal explained, areas set, a leader recorded.
    page.goto(f"{base}/console/c/{C}/groups")
    checked(page, "08-groups")
    page.locator("#g-min").fill("2")
    page.locator("#g-max").fill("4")
    page.get_by_role("button", name="计算分组").click()
    assert "分组方案" in checked(page, "09-groups-proposal")
    page.get_by_role("link", name="调整分组并记录组长").click()
    areas = page.locator("form[action$='/area']").count()
    for i in range(areas):
        form = page.locator("form[action$='/area']").nth(i)
        boxes = form.locator("input[name=grids]")
        boxes.nth(i % boxes.count()).check()
        form.get_by_role("button", name="设置责任区").click()
        page.wait_for_load_state()
    page.locator("form[action$='/leader']").first.get_by_role("button", name="记录组长").click()
    assert "组长已记录" in checked(page, "10-groups-adjusted")

    # 结对: hand-in-hand pairs for two households, a renewal; a unit pair.
    page.goto(f"{base}/console/c/{C}/pairs")
    checked(page, "11-pairs")
    opened(page, "#pairs-compute")
    boxes = page.locator("#pairs-compute input[name=household]:not([disabled])")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="提出并确认结对").click()
    assert "户已结对" in checked(page, "12-pairs-result")
    page.get_by_role("link", name="返回结对").click()
    page.get_by_role("button", name="续至下一期").first.click()
    assert "结对已续至" in checked(page, "13-pair-renewed")
    page.get_by_role("button", name="确认结对共建").click()
    assert "单位已与社区结对共建" in checked(page, "14-unit-pair")

    # 组团走访: the quarter scheduled, its calendars, an outing recorded.
    page.goto(f"{base}/console/c/{C}/visits")
    checked(page, "15-visits")
    page.locator("#q-start").fill("2026-01-01")
    page.locator("#q-end").fill("2026-03-31")
    page.get_by_role("button", name="安排本季度走访").click()
    text = checked(page, "16-visits-scheduled")
    assert "社区日历（.ics）" in text
    outing = page.locator("form[id^=attend-]").first
    outing.locator("textarea").fill("老人反映楼道灯坏了")
    outing.get_by_role("button", name="记录走访").click()
    assert "本次走访已记录" in checked(page, "17-outing-recorded")
    office.close()
    phone.close()
