"""A left-out demand's reason in the console (issue #19): what the engine found, from the
reason's ``params`` (``docs/contracts/dispatch.md``), and what the dispatcher can do, in
Chinese; without params, what to do alone; never the engine's English sentence."""

from __future__ import annotations

import pytest
from flask import Flask

from service.web.console.base import reason_text
from tests.service.web.chinese_text import english_runs
from tests.service.web.test_console import console_app as console_app  # the fixture

CASES = {
    "no_skill": (
        {"skills": ["legal_aid"], "crew_size": 1, "pool": 30, "holders_per_skill": [0]},
        ["法律援助", "请登记具备该技能的党员"],
    ),
    "out_of_range": (
        {
            "skills": ["mediation"],
            "crew_size": 1,
            "holders": 2,
            "in_range": 0,
            "nearest_km": 6.14,
            "limit_km": 5.0,
        },
        ["2 名党员具备“矛盾调解”", "6.1 公里", "上限 5 公里", "放宽服务距离"],
    ),
    "no_availability": (
        {
            "crew_size": 1,
            "in_range": 9,
            "duration_hours": 1.5,
            "window_start": "2026-12-09T14:00:00+08:00",
            "window_end": "2026-12-09T18:00:00+08:00",
        },
        ["附近有 9 名", "12月9日 14:00–18:00", "1.5 小时", "放宽服务时间段"],
    ),
    "capacity": (
        {
            "members": 3,
            "member_ids": ["m-1", "m-2", "m-3"],
            "left_hours": [0.5, 0.0, 1.0],
            "capacity_hours": [4, 4, 6],
            "duration_hours": 2.0,
        },
        ["3 名党员", "不足 2 小时", "每周可服务小时"],
    ),
    "priority": (
        {
            "basis": "outranked",
            "priority": 2,
            "members": 4,
            "blocking_demands": ["d-1", "d-2"],
            "blocking_priority_min": 4,
            "blocking_priority_max": 5,
        },
        ["2 项更紧急的需求", "优先级 4–5", "提高优先级"],
    ),
}


@pytest.mark.parametrize("reason", sorted(CASES))
def test_a_reason_names_the_blocker_and_what_to_do_in_chinese(
    console_app: Flask, reason: str
) -> None:
    params, expected = CASES[reason]
    with console_app.test_request_context("/console/?lang=zh"):
        text = reason_text(reason, params)
        bare = reason_text(reason, {})
    for part in expected:
        assert part in text, (part, text)
    assert english_runs(text) == [] and "m-1" not in text
    assert bare and english_runs(bare) == [] and bare in text  # the advice holds alone too


def test_params_that_do_not_fit_fall_back_to_the_advice(console_app: Flask) -> None:
    with console_app.test_request_context("/console/?lang=zh"):
        odd = reason_text("out_of_range", {"holders": 2})
        bare = reason_text("out_of_range", None)
    assert odd == bare and "放宽服务距离" in bare


def test_the_dispatch_answer_carries_each_reasons_params(console_app: Flask) -> None:
    """The API answers the engine's ``params`` with each left-out demand (the console builds
    its sentence from them)."""
    from matcher import solve
    from matcher.dispatch.generate import generate_district
    from service.contracts.dispatch import dump_answer, load_answer

    problem = generate_district(members=40, demands=200, seed=5)
    answer = solve(problem)
    dumped = dump_answer(answer)
    assert dumped["unassigned"] and all(u["params"] for u in dumped["unassigned"])
    again = load_answer(dumped)
    assert [u.params for u in again.unassigned] == [dict(u.params) for u in answer.unassigned]
