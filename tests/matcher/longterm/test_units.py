"""Unit–community pairing (结对共建): every answer passes the independent verifier with its
objective recomputed; each rule of ``docs/contracts/units.md`` binds in a case of its own; needs
that cannot
be met come back in ``uncovered`` with a reason, never as an error; small random districts match
brute force.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.errors import InvalidProblemError
from matcher.geo import haversine_km
from matcher.longterm.units.answer import Answer
from matcher.longterm.units.generate import generate
from matcher.longterm.units.solve import solve
from matcher.longterm.units.verify import recompute_objective, verify
from service.contracts.units import dump_answer, dump_problem, load_problem

Json = dict[str, Any]
KM = 1.0 / 111.2  # degrees of latitude per km


def _solve(data: Json) -> tuple[Answer, Json]:
    """Load, solve, verify against the raw JSON and recompute the objective."""
    answer = solve(load_problem(data))
    out = dump_answer(answer)
    assert verify(data, out) == []
    assert out["stats"]["objective"] == pytest.approx(
        recompute_objective(data, out), rel=1e-9, abs=1e-6
    )
    assert answer.stats.bound <= answer.stats.objective + 1e-6
    return answer, out


def _at(km_north: float) -> Json:
    return {"lat": 34.7466 + km_north * KM, "lon": 113.6253}


def _unit(uid: str, km: float, resources: list[str], **extra: Any) -> Json:
    return {"id": uid, "location": _at(km), "resources": resources, **extra}


def _community(cid: str, km: float, needs: dict[str, int], **extra: Any) -> Json:
    return {
        "id": cid,
        "location": _at(km),
        "needs": [{"category": c, "weight": w} for c, w in needs.items()],
        **extra,
    }


def _problem(units: list[Json], communities: list[Json], **options: Any) -> Json:
    return {
        "units": units,
        "communities": communities,
        "options": {"workers": 1, "time_limit_s": 5, **options},
    }


def _pairs(answer: Answer) -> set[tuple[str, str]]:
    return {(p.unit, p.community) for p in answer.pairs}


def _uncovered(answer: Answer) -> dict[tuple[str, str], str]:
    return {(u.community, u.need): u.reason for u in answer.uncovered}


# --------------------------------------------------------------------------------------------
# The objective's order: coverage, then pairs, then distance.


def test_one_to_one_pairs_each_community_with_the_unit_it_needs() -> None:
    data = _problem(
        [_unit("u-law", 0.0, ["legal"]), _unit("u-med", 5.0, ["medical"])],
        [_community("c-1", 5.0, {"legal": 3}), _community("c-2", 0.0, {"medical": 2})],
    )
    answer, _ = _solve(data)
    assert answer.status == "optimal"
    assert _pairs(answer) == {("u-law", "c-1"), ("u-med", "c-2")}  # far, but covering
    assert answer.stats.coverage == answer.stats.need_weight == 5
    assert answer.uncovered == () and answer.unpaired == () and answer.open_slots == ()


def test_heavier_needs_win_when_one_unit_cannot_serve_both() -> None:
    data = _problem(
        [_unit("u-law", 0.0, ["legal"])],
        [_community("c-1", 0.5, {"legal": 1}), _community("c-2", 3.0, {"legal": 4})],
    )
    answer, _ = _solve(data)
    assert _pairs(answer) == {("u-law", "c-2")}
    assert _uncovered(answer) == {("c-1", "legal"): "outweighed"}
    assert "u-law" in answer.uncovered[0].detail and "c-2" in answer.uncovered[0].detail
    assert [(o.community, o.reason) for o in answer.open_slots] == [("c-1", "no_unit")]


def test_a_unit_that_covers_nothing_still_pairs_and_nearness_comes_last() -> None:
    data = _problem(
        [
            _unit("u-near", 1.0, ["finance"]),
            _unit("u-far", 4.0, ["finance"]),
            _unit("u-law", 9.0, ["legal"]),
        ],
        [_community("c-1", 0.0, {"legal": 2})],
        units_per_community=2,
    )
    answer, _ = _solve(data)
    assert _pairs(answer) == {("u-law", "c-1"), ("u-near", "c-1")}
    assert [(u.unit, u.reason) for u in answer.unpaired] == [("u-far", "no_slot")]
    assert answer.stats.pairs == answer.stats.max_pairs == 2


# --------------------------------------------------------------------------------------------
# Rules, each binding.


def test_a_unit_pairs_with_at_most_max_communities() -> None:
    units = [_unit("u-law", 0.0, ["legal"])]
    communities = [_community("c-1", 1.0, {"legal": 2}), _community("c-2", 2.0, {"legal": 2})]
    answer, _ = _solve(_problem(units, communities))
    assert len(answer.pairs) == 1 and len(answer.uncovered) == 1
    units[0]["max_communities"] = 2
    answer, _ = _solve(_problem(units, communities))
    assert _pairs(answer) == {("u-law", "c-1"), ("u-law", "c-2")} and answer.uncovered == ()


def test_a_community_pairs_with_at_most_its_slots() -> None:
    data = _problem(
        [_unit("u-law", 1.0, ["legal"]), _unit("u-med", 1.0, ["medical"])],
        [_community("c-1", 0.0, {"legal": 1, "medical": 3}, max_units=1)],
        units_per_community=5,
    )
    answer, _ = _solve(data)
    assert _pairs(answer) == {("u-med", "c-1")}
    assert _uncovered(answer) == {("c-1", "legal"): "outweighed"}
    assert [(u.unit, u.reason) for u in answer.unpaired] == [("u-law", "no_slot")]


def test_the_distance_limit_binds_and_every_reason_says_too_far() -> None:
    data = _problem(
        [_unit("u-law", 20.0, ["legal"])],
        [_community("c-1", 0.0, {"legal": 2})],
        max_distance_km=10.0,
    )
    answer, _ = _solve(data)
    assert answer.pairs == ()
    assert _uncovered(answer) == {("c-1", "legal"): "too_far"}
    assert "20.0 km" in answer.uncovered[0].detail
    assert [u.reason for u in answer.unpaired] == ["too_far"]
    assert [(o.reason, o.open_slots) for o in answer.open_slots] == [("too_far", 1)]
    data["options"]["max_distance_km"] = 25.0
    answer, _ = _solve(data)
    assert _pairs(answer) == {("u-law", "c-1")}


def test_a_need_nobody_offers_is_uncovered_as_no_resource() -> None:
    data = _problem([_unit("u-1", 0.0, ["culture"])], [_community("c-1", 0.0, {"finance": 2})])
    answer, _ = _solve(data)
    assert _uncovered(answer) == {("c-1", "finance"): "no_resource"}
    assert _pairs(answer) == {("u-1", "c-1")}


def test_pinned_pairs_are_kept_even_against_the_objective() -> None:
    units = [_unit("u-law", 0.0, ["legal"]), _unit("u-art", 0.0, ["culture"])]
    communities = [_community("c-1", 0.0, {"legal": 3})]
    free, _ = _solve(_problem(units, communities))
    assert _pairs(free) == {("u-law", "c-1")}
    data = _problem(units, communities)
    data["pinned"] = [{"unit": "u-art", "community": "c-1"}]
    pinned, out = _solve(data)
    assert _pairs(pinned) == {("u-art", "c-1")}
    assert pinned.stats.objective > free.stats.objective
    tampered = copy.deepcopy(out)
    tampered["pairs"] = []
    assert "5" in {v.rule for v in verify(data, tampered)}


def test_the_verifier_flags_broken_answers() -> None:
    data = _problem(
        [_unit("u-1", 0.0, ["legal", "medical"]), _unit("u-2", 1.0, ["medical"])],
        [_community("c-1", 0.0, {"legal": 2, "medical": 1}), _community("c-2", 1.0, {})],
    )
    _, out = _solve(data)
    doubled = copy.deepcopy(out)
    doubled["pairs"].append({"unit": "u-1", "community": "c-2", "distance_km": 1.0, "covers": []})
    assert "2" in {v.rule for v in verify(data, doubled)}
    wrong_covers = copy.deepcopy(out)
    wrong_covers["pairs"][0]["covers"] = ["legal"]
    wrong_covers["pairs"][0]["distance_km"] += 1.0
    assert {"4", "6"} <= {v.rule for v in verify(data, wrong_covers)}
    dropped = copy.deepcopy(out)
    dropped["pairs"] = [p for p in dropped["pairs"] if p["community"] != "c-1"]
    assert {"6", "7"} <= {v.rule for v in verify(data, dropped)}


# --------------------------------------------------------------------------------------------
# Random districts: verified, and exactly as good as brute force.


@st.composite
def _districts(draw: st.DrawFn) -> Json:
    resources = ["legal", "medical", "education"]
    units = [
        _unit(
            f"u-{k}",
            draw(st.integers(0, 12)),
            draw(st.lists(st.sampled_from(resources), max_size=2, unique=True)),
            max_communities=draw(st.integers(1, 2)),
        )
        for k in range(draw(st.integers(0, 4)))
    ]
    communities = [
        _community(
            f"c-{k}",
            draw(st.integers(0, 12)),
            draw(st.dictionaries(st.sampled_from(resources), st.integers(1, 5), max_size=3)),
            max_units=draw(st.sampled_from([None, 1, 2])),
        )
        for k in range(draw(st.integers(1, 3)))
    ]
    limit = draw(st.sampled_from([None, 5.0, 8.0]))
    return _problem(units, communities, max_distance_km=limit)


def _km(unit: Json, community: Json) -> float:
    a, b = unit["location"], community["location"]
    return float(haversine_km(a["lat"], a["lon"], b["lat"], b["lon"]))


def _brute_force(data: Json) -> float:
    communities = [c["id"] for c in data["communities"]]
    where = {c["id"]: c for c in data["communities"]}
    options = []
    for unit in data["units"]:
        subsets = [
            s
            for r in range(unit.get("max_communities", 1) + 1)
            for s in itertools.combinations(communities, r)
        ]
        options.append(subsets)
    best = float("inf")
    for pick in itertools.product(*options):
        pairs = [
            {"unit": unit["id"], "community": c, "distance_km": _km(unit, where[c])}
            for unit, chosen in zip(data["units"], pick, strict=True)
            for c in chosen
        ]
        answer = {"pairs": pairs}
        violations = verify(data, {**answer, "status": "feasible"})
        if any(v.rule in {"2", "3", "4"} for v in violations):
            continue
        best = min(best, recompute_objective(data, answer))
    return best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_districts())
def test_random_districts_verify_and_match_brute_force(data: Json) -> None:
    answer, _ = _solve(data)
    assert answer.status == "optimal"
    assert answer.stats.objective == pytest.approx(_brute_force(data), abs=1e-3)


# --------------------------------------------------------------------------------------------
# Bad input, the generator.


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["units"][0].update(max_communities=0), "units[0].max_communities"),
        (lambda d: d["units"][0].update(resources=["legal", "legal"]), "units[0].resources[1]"),
        (lambda d: d["units"][1].update(id="u-1"), "units[1].id"),
        (lambda d: d["units"][0]["location"].update(lat=95), "units[0].location.lat"),
        (
            lambda d: d["communities"][0]["needs"][0].update(weight=1.5),
            "communities[0].needs[0].weight",
        ),
        (
            lambda d: d["communities"][0]["needs"].append({"category": "legal", "weight": 1}),
            "communities[0].needs[1].category",
        ),
        (lambda d: d.update(pinned=[{"unit": "u-9", "community": "c-1"}]), "pinned[0].unit"),
        (
            lambda d: d.update(
                pinned=[{"unit": "u-1", "community": "c-1"}, {"unit": "u-2", "community": "c-1"}]
            ),
            "pinned[1].community",
        ),
        (
            lambda d: (
                d.update(pinned=[{"unit": "u-2", "community": "c-1"}])
                or d["options"].update(max_distance_km=1.0)
            ),
            "pinned[0]",
        ),
        (lambda d: d["options"].update(units_per_community=0), "options.units_per_community"),
        (lambda d: d["options"].update(max_distance_km=-1), "options.max_distance_km"),
    ],
)
def test_bad_input_is_reported_by_field_path(mutate: Any, path: str) -> None:
    data = _problem(
        [_unit("u-1", 0.0, ["legal"]), _unit("u-2", 5.0, ["medical"])],
        [_community("c-1", 0.0, {"legal": 2})],
    )
    mutate(data)
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    assert path in caught.value.errors, caught.value.errors


def test_a_generated_district_round_trips_through_the_schema_and_solves() -> None:
    problem = generate(communities=6, members=1000, seed=2, units_per_community=3)
    data = dump_problem(problem)
    assert load_problem(data) == problem
    assert len(problem.units) == 20
    answer = solve(problem, time_limit_s=5)
    out = dump_answer(answer)
    assert verify(data, out) == []
    assert out["stats"]["objective"] == pytest.approx(recompute_objective(data, out), rel=1e-9)
    assert answer.stats.pairs == answer.stats.max_pairs == 18
    assert generate(communities=6, members=1000, seed=2, units_per_community=3) == problem


def test_the_verifier_reports_a_malformed_answer_instead_of_raising() -> None:
    data = _problem([_unit("u-1", 0.0, ["legal"])], [_community("c-1", 0.0, {"legal": 2})])
    junk: Json = {
        "status": "done",
        "pairs": [{"unit": ["u-1"], "community": "c-1"}, 3],
        "uncovered": [{"community": {"c": 1}, "need": None}],
        "unpaired": "none",
        "open_slots": [None],
        "stats": {"objective": "high"},
    }
    rules = {v.rule for v in verify(data, junk)}
    assert {"1", "6", "7", "answer"} <= rules
