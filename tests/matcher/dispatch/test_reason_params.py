"""Structured reasons: every ``unassigned[]`` entry carries ``params``, the numbers and names of
its sentence, keyed as ``matcher.dispatch.answer.REASON_PARAMS`` documents for its code; the
verifier checks the keys and the values.

Each engine case is a real solve checked by the verifier (``solve_checked``: the contract alone,
params required); the verifier cases break the params of such an answer by hand.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from matcher import solve
from matcher.dispatch.answer import REASON_PARAMS, REASONS, Answer, Unassigned
from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from matcher.dispatch.verify import verify
from tests.matcher.dispatch.conftest import SolveChecked
from tests.matcher.dispatch.factories import (
    HOME,
    at,
    make_demand,
    make_member,
    make_problem,
    north_of,
)

LIMIT = 2.0
CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "contracts" / "dispatch.md"


def left_out(answer: Answer, demand: str) -> Unassigned:
    (found,) = [u for u in answer.unassigned if u.demand == demand]
    return found


def test_every_code_has_documented_keys() -> None:
    """The table covers every reason code, and the contract's section names every key."""
    assert set(REASON_PARAMS) == set(REASONS)
    text = CONTRACT.read_text(encoding="utf-8")
    section = text[text.index("## How Linli reads this contract") :]
    for code, sets in REASON_PARAMS.items():
        rows = [x.strip() for x in section.splitlines() if x.strip().startswith(f"| `{code}`")]
        assert len(rows) == len(sets), code
        documented = [set(re.findall(r"`(\w+)`", row.split("|")[2])) for row in rows]
        for keys in sets:
            assert any(keys <= found for found in documented), (code, sorted(keys))


def test_no_skill_params(solve_checked: SolveChecked) -> None:
    """Nobody holds plumbing: the skills and how many hold each."""
    problem = make_problem([make_member("m1")], [make_demand("d1", skills=["plumbing"])])
    u = left_out(solve_checked(problem, time_limit_s=LIMIT), "d1")
    assert u.reason == "no_skill"
    assert u.params == {
        "skills": ["plumbing"],
        "crew_size": 1,
        "pool": "members",
        "holders_per_skill": [0],
    }


def test_out_of_range_params(solve_checked: SolveChecked) -> None:
    """The only holder lives 9 km away with the default 5 km limit."""
    problem = make_problem([make_member("m1")], [make_demand("d1", location=north_of(HOME, 9.0))])
    u = left_out(solve_checked(problem, time_limit_s=LIMIT), "d1")
    assert u.reason == "out_of_range"
    assert u.params["holders"] == 1 and u.params["in_range"] == 0
    assert u.params["nearest_km"] == pytest.approx(9.0, abs=0.01)
    assert u.params["limit_km"] == 5.0
    assert "9.0 km" in u.detail


def test_no_availability_params(solve_checked: SolveChecked) -> None:
    """The member in range is free only in the afternoon: the window and the hours in params."""
    problem = make_problem(
        [make_member("m1", availability=[(at(13), at(18))])],
        [make_demand("d1", duration_hours=1.5)],
    )
    u = left_out(solve_checked(problem, time_limit_s=LIMIT), "d1")
    assert u.reason == "no_availability"
    assert u.params == {
        "crew_size": 1,
        "in_range": 1,
        "duration_hours": 1.5,
        "window_start": at(9).isoformat(),
        "window_end": at(12).isoformat(),
    }


def test_capacity_params(solve_checked: SolveChecked) -> None:
    """One member with 1 h and two urgent one-hour demands: 0 h left of 1 h."""
    problem = make_problem(
        [make_member("m1", capacity_hours=1.0)],
        [
            make_demand("d1", window=(at(9), at(17)), priority=5),
            make_demand("d2", window=(at(9), at(17)), priority=5),
        ],
    )
    answer = solve_checked(problem, time_limit_s=LIMIT)
    (u,) = answer.unassigned
    assert u.reason == "capacity"
    assert u.params == {
        "members": 1,
        "member_ids": ["m1"],
        "left_hours": [0.0],
        "capacity_hours": [1.0],
        "duration_hours": 1.0,
    }


def test_priority_params_on_cost_and_outranked(solve_checked: SolveChecked) -> None:
    """Serving costs 1 (1 km) against 0.3 for leaving out: basis cost; a member busy with a more
    urgent demand at the only start: basis outranked, naming it."""
    cheap = make_problem([make_member("m1")], [make_demand("d1")], weights={"unassigned": 0.1})
    u = left_out(solve_checked(cheap, time_limit_s=LIMIT), "d1")
    assert u.reason == "priority"
    assert u.params["basis"] == "cost"
    assert u.params["member_ids"] == ["m1"]
    assert u.params["penalty"] == pytest.approx(0.3)
    assert u.params["cost"] >= u.params["penalty"]  # type: ignore[operator]

    busy = make_problem(
        [make_member("m1", availability=[(at(9), at(10))])],
        [make_demand("d1", priority=5), make_demand("d2", priority=2)],
    )
    u = left_out(solve_checked(busy, time_limit_s=LIMIT), "d2")
    assert u.reason == "priority"
    assert u.params == {
        "basis": "outranked",
        "priority": 2,
        "members": 1,
        "blocking_demands": ["d1"],
        "blocking_priority_min": 5,
        "blocking_priority_max": 5,
    }


def test_params_are_json(solve_checked: SolveChecked) -> None:
    """On a generated district every params object serialises as strict JSON."""
    from matcher.dispatch.generate import generate_district

    problem = generate_district(members=40, demands=120, seed=5)
    answer = solve_checked(problem, time_limit_s=LIMIT, seed=0, workers=1)
    assert answer.unassigned
    codes = set()
    for u in answer.unassigned:
        json.dumps(u.params, allow_nan=False)
        assert frozenset(u.params) in REASON_PARAMS[u.reason]
        codes.add(u.reason)
    assert len(codes) >= 2


# ---------------------------------------------------------------------------------------------
# The verifier's checks of params


def capacity_answer(solve_checked: SolveChecked) -> tuple[Problem, Answer]:
    problem = make_problem(
        [make_member("m1", capacity_hours=1.0)],
        [
            make_demand("d1", window=(at(9), at(17)), priority=5),
            make_demand("d2", window=(at(9), at(17)), priority=5),
        ],
    )
    return problem, solve_checked(problem, time_limit_s=LIMIT)


def with_params(answer: Answer, params: object) -> Answer:
    (u,) = answer.unassigned
    return replace(answer, unassigned=(replace(u, params=params),))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"extra_km": 1.0},  # an undocumented key
        {"left_hours": math.nan},  # NaN
        {"members": True},  # a boolean is no number here
        {"member_ids": [["m1"]]},  # a list of lists
    ],
    ids=["extra-key", "nan", "bool", "nested"],
)
def test_bad_params_are_reason_violations(solve_checked: SolveChecked, change: dict) -> None:
    """Keys other than the code's, or values other than numbers, strings and lists of them, are
    reason violations of that demand (and only that)."""
    problem, answer = capacity_answer(solve_checked)
    (u,) = answer.unassigned
    bad = with_params(answer, {**u.params, **change})
    assert [(v.rule, v.demand) for v in verify(problem, bad)] == [("reason", u.demand)]


def test_missing_key_and_other_codes_keys(solve_checked: SolveChecked) -> None:
    """A key left out, or the keys of another code, are reason violations."""
    problem, answer = capacity_answer(solve_checked)
    (u,) = answer.unassigned
    fewer = {k: v for k, v in u.params.items() if k != "left_hours"}
    other = {"basis": "cost", "priority": 5, "penalty": 500.0, "cost": 1.0, "member_ids": ["m1"]}
    for params in (fewer, other, "capacity"):
        bad = with_params(answer, params)
        assert [(v.rule, v.demand) for v in verify(problem, bad)] == [("reason", u.demand)]


def test_params_required_only_when_asked(solve_checked: SolveChecked) -> None:
    """An answer read back without params passes by default and fails with require_params."""
    problem, answer = capacity_answer(solve_checked)
    (u,) = answer.unassigned
    bare = with_params(answer, {})
    assert verify(problem, bare) == []
    assert [(v.rule, v.demand) for v in verify(problem, bare, require_params=True)] == [
        ("reason", u.demand)
    ]


def test_an_answer_records_how_its_bound_was_proved_and_the_verifier_checks_it() -> None:
    """``stats.bound_proof`` counts the parts whose bound each method gave (#17: ``optimal``
    only with a bound the engine proved, recorded in ``stats``); the
    verifier refuses unknown methods and, for this project's own answers, an ``optimal``
    answer that records none."""
    problem = generate_district(members=20, demands=40, seed=1)
    answer = solve(problem, time_limit_s=3)
    assert answer.status == "optimal" and answer.stats.bound_proof.get("exact", 0) >= 1
    assert verify(problem, answer, allow=(), require_params=True) == []
    unproved = replace(answer, stats=replace(answer.stats, bound_proof={}))
    assert [v.rule for v in verify(problem, unproved, allow=(), require_params=True)] == ["status"]
    assert verify(problem, unproved, allow=()) == []  # read back from a form that drops stats
    odd = replace(answer, stats=replace(answer.stats, bound_proof={"guess": 1}))
    assert [v.rule for v in verify(problem, odd, allow=())] == ["status"]
