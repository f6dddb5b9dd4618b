"""The detector of English runs and raw ids on Chinese pages (``chinese_text``)."""

from __future__ import annotations

from tests.service.web.chinese_text import english_runs, problems, raw_ids


def test_three_english_words_in_a_row_are_a_run() -> None:
    """The engine's sentence is found whole; digits and punctuation do not break a run."""
    text = "谁来接单\n9 members with the skills are within range, but none is free for 1.5 h"
    assert english_runs(text) == [
        "members with the skills are within range, but none is free for 1.5 h"
    ]
    assert english_runs("rows[3].window.end: must be after start") == [
        "rows[3].window.end: must be after start"
    ]


def test_chinese_text_and_short_english_pass() -> None:
    """Two words, single words between Chinese characters and line breaks are not runs."""
    lines = ["导入 Excel 表格（.xlsx）", "打印页（A4）", "WGS-84 坐标", "党员 Top two"]
    lines += ["One", "two", "three", "教师 · 1a4b5f"]  # letters among digits are no words
    text = "\n".join(lines)
    assert english_runs(text) == []


def test_allowed_words_do_not_make_a_run() -> None:
    """A run of allowed product names passes; one other word among them does not."""
    assert english_runs("Excel API JSON") == []
    assert english_runs("Excel API server") == ["Excel API server"]
    assert english_runs("Leaflet OpenStreetMap contributors", allowed={"openstreetmap"}) == [
        "Leaflet OpenStreetMap contributors"
    ]


def test_raw_ids_are_found_but_id_tails_and_numbers_are_not() -> None:
    """``m-3f2a9c0d1e4b`` and UUIDs are raw ids; a six-digit tail alone, a date or a phone is
    not."""
    text = (
        "党员 m-3f2a9c0d1e4b 与需求 d-00aa11bb22 · 教师 · 3f2a9c · 2026-12-08 · 13800001234 · "
        "run 1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    )
    assert raw_ids(text) == [
        "m-3f2a9c0d1e4b",
        "d-00aa11bb22",
        "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    ]
    assert raw_ids("2026年下半年 · 12月9日 14:00–16:00 · GS(2024)0568号") == []


def test_problems_lists_every_finding_and_nothing_for_a_clean_page() -> None:
    """One line per finding, so a failing assertion shows them all."""
    assert problems("五评议 · 2026年下半年\n报表：Excel 表格（.xlsx）") == []
    found = problems("Nobody in range is free\n党员 m-abcdef12")
    assert found == ["English words: 'Nobody in range is free'", "raw id: 'm-abcdef12'"]
