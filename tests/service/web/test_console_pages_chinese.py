"""Every console page of the seeded demo, as each role sees it, is Chinese and names people and
places: no run of English words, no raw id, no half-width punctuation after Chinese text, in the
text a person reads (issue #19). The pages
are rendered by the app (tags, scripts and styles stripped); the browser walk of
``test_console_chinese.py`` checks the pages that draw in the browser."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask

from service.domain.demo import DEMO_COMMUNITY as C
from tests.service.web.chinese_text import problems
from tests.service.web.test_console import Login
from tests.service.web.test_console import console_app as console_app  # the fixture

DISPATCHER = [
    f"/console/c/{C}/demands",
    f"/console/c/{C}/demands?status=closed",
    f"/console/c/{C}/demands/new",
    f"/console/c/{C}/tasks",
    f"/console/c/{C}/services",
    f"/console/c/{C}/members",
    f"/console/c/{C}/groups",
    f"/console/c/{C}/posts",
    f"/console/c/{C}/pairs",
    f"/console/c/{C}/visits",
    f"/console/c/{C}/ledger",
    f"/console/c/{C}/visit-notes",
    f"/console/c/{C}/requests",
    f"/console/c/{C}/feedback",
    f"/console/c/{C}/board",
]
MEMBER = ["/console/my/tasks", "/console/my/claim", f"/console/c/{C}/board"]
ORGANISER = ["/console/unit/evaluations"]

_HALF_WIDTH = re.compile(r"[\u4e00-\u9fff\u3001-\u3011][ ]?[:;(,](?!//)")
"""ASCII punctuation right after Chinese text (Chinese takes full-width ：；（，)."""
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def visible_text(page: str) -> str:
    """What a person reads: the text between the tags (line breaks kept), entities decoded."""
    body = _HIDDEN.sub(" ", page)
    body = re.sub(r"<(br|p|li|tr|h\d|div|section|td|th)\b", "\n<", body, flags=re.I)
    return html.unescape(_TAG.sub(" ", body))


@pytest.mark.parametrize(
    ("who", "pages"),
    [("dispatcher", DISPATCHER), ("member", MEMBER), ("organiser", ORGANISER)],
)
def test_every_page_is_chinese_with_no_raw_id(
    console_app: Flask, who: str, pages: list[str]
) -> None:
    person = Login(console_app, who)
    found = {}
    for url in pages:
        page = person.get(url)
        assert page.status_code == 200, (url, page.status_code)
        text = visible_text(page.text)
        trouble = problems(text) + [f"half-width: {m!r}" for m in _HALF_WIDTH.findall(text)]
        if trouble:
            found[url] = trouble
    assert found == {}
