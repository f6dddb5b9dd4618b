"""Hand-in-hand pairs (``docs/contracts/pairs.md``): every answer passes the independent verifier
with its
objective recomputed, each pair rule binds, last period's pairs carry on unless they cannot, the
most vulnerable are paired first, residents left without a partner come back with the reason the
data gives, and bad input names its field."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.errors import InvalidProblemError
from matcher.longterm.pairs.answer import PairAnswer
from matcher.longterm.pairs.generate import generate
from matcher.longterm.pairs.solve import solve
from matcher.longterm.pairs.verify import recompute_objective, verify
from service.contracts.pairs import dump_answer, dump_problem, load_problem

Json = dict[str, Any]
KM = 1 / 111.2  # degrees of latitude per km


def _solve(data: Json) -> PairAnswer:
    """Load, solve, verify, recompute: the path every test takes."""
    answer = solve(load_problem(data))
    answer_json = json.loads(json.dumps(dump_answer(answer)))
    violations = verify(data, answer_json)
    assert violations == [], violations
    assert recompute_objective(data, answer_json) == pytest.approx(
        answer.stats.objective, rel=1e-12, abs=1e-3
    )
    assert answer.stats.bound <= answer.stats.objective
    return answer


def _at(north_km: float, east_km: float = 0.0) -> Json:
    return {"lat": 34.75 + north_km * KM, "lon": 113.62 + east_km * KM}


def _resident(
    rid: str, north_km: float, *, v: int = 3, needs: tuple[str, ...] = ("errands",), **extra: Any
) -> Json:
    return {
        "id": rid,
        "community": "c-1",
        "location": _at(north_km),
        "groups": ["elderly"],
        "needs": list(needs),
        "vulnerability": v,
        **extra,
    }


def _member(mid: str, north_km: float, **extra: Any) -> Json:
    return {"id": mid, "community": "c-1", "location": _at(north_km), **extra}


def _problem(
    residents: list[Json], members: list[Json], existing: list[Json] | None = None
) -> Json:
    return {
        "residents": residents,
        "members": members,
        "existing_pairs": existing or [],
        "options": {"max_residents_per_member": 1, "max_distance_km": 3.0},
    }


def _partners(answer: PairAnswer) -> dict[str, str]:
    return {p.resident: p.member for p in answer.pairs}


def _reasons(answer: PairAnswer) -> dict[str, str]:
    return {u.resident: u.reason for u in answer.unpaired}


# -- what the pairs are ------------------------------------------------------------------------


def test_each_resident_gets_the_nearest_member_free() -> None:
    data = _problem(
        [_resident("r-1", 0.0), _resident("r-2", 2.0)],
        [_member("m-1", 0.1), _member("m-2", 1.9), _member("m-3", 1.0)],
    )
    answer = _solve(data)
    assert _partners(answer) == {"r-1": "m-1", "r-2": "m-2"}
    assert answer.status == "optimal" and answer.stats.distance_km == pytest.approx(0.2, abs=1e-3)


def test_the_most_vulnerable_resident_is_paired_first_even_if_farther() -> None:
    data = _problem(
        [_resident("r-near", 0.1, v=2), _resident("r-frail", 2.5, v=5)], [_member("m-1", 0.0)]
    )
    answer = _solve(data)
    assert _partners(answer) == {"r-frail": "m-1"}
    assert _reasons(answer) == {"r-near": "capacity"}
    assert "vulnerability 5" in answer.unpaired[0].detail


def test_most_vulnerable_first_still_pairs_as_many_as_possible_at_each_level() -> None:
    # m-b serves only r-5; m-a serves r-5 and r-4: pairing r-5 with m-a would strand r-4.
    data = _problem(
        [
            _resident("r-5", 0.0, v=5),
            _resident("r-4", 0.0, v=4, needs=("voice",)),
            _resident("r-3", 0.0, v=3, needs=("voice",)),
        ],
        [_member("m-a", 0.0), _member("m-b", 2.9, proxies=["errands"])],
    )
    answer = _solve(data)
    assert _partners(answer) == {"r-5": "m-b", "r-4": "m-a"}
    assert answer.stats.unpaired_vulnerability == 3


# -- each rule binds ---------------------------------------------------------------------------


def test_needs_must_be_offered_and_skills_held() -> None:
    data = _problem(
        [
            _resident("r-1", 0.0, needs=("voice", "visits")),
            _resident("r-2", 0.0, skills=["sign_language"]),
        ],
        [
            _member("m-1", 0.0, proxies=["voice"], skills=["tutoring"]),
            _member("m-2", 0.5, proxies=["errands"]),
        ],
    )
    data["options"]["max_residents_per_member"] = 2
    answer = _solve(data)
    assert answer.pairs == () and _reasons(answer) == {"r-1": "no_skill", "r-2": "no_skill"}
    assert "sign_language" in answer.unpaired[1].detail
    data["members"][0]["proxies"] = ["voice", "visits", "errands"]
    data["members"][1]["skills"] = ["sign_language"]
    assert _partners(_solve(data)) == {"r-1": "m-1", "r-2": "m-2"}


def test_the_members_range_binds_and_can_be_widened() -> None:
    data = _problem([_resident("r-1", 5.0)], [_member("m-1", 0.0)])
    answer = _solve(data)
    assert _reasons(answer) == {"r-1": "out_of_range"} and "5.0 km" in answer.unpaired[0].detail
    data["members"][0]["max_distance_km"] = 6.0
    assert _partners(_solve(data)) == {"r-1": "m-1"}


def test_a_member_takes_at_most_max_residents() -> None:
    residents = [_resident(f"r-{k}", 0.1 * k) for k in range(3)]
    answer = _solve(_problem(residents, [_member("m-1", 0.0, max_residents=2)]))
    assert len(answer.pairs) == 2 and list(_reasons(answer).values()) == ["capacity"]
    answer = _solve(_problem(residents, [_member("m-1", 0.0, max_residents=0)]))
    assert answer.status == "no_solution"
    assert set(_reasons(answer).values()) == {"capacity"}


def test_pairs_never_cross_communities() -> None:
    data = _problem([_resident("r-1", 0.0)], [_member("m-1", 0.0, community="c-2")])
    assert _reasons(_solve(data)) == {"r-1": "no_skill"}


def test_no_residents_is_trivially_optimal() -> None:
    answer = _solve(_problem([], [_member("m-1", 0.0)]))
    assert answer.status == "optimal" and answer.stats.objective == 0


# -- continuity ---------------------------------------------------------------------------------


def test_a_working_pair_is_kept_even_when_a_nearer_member_is_free() -> None:
    data = _problem(
        [_resident("r-1", 0.0)],
        [_member("m-near", 0.0), _member("m-old", 2.5)],
        [{"resident": "r-1", "member": "m-old"}],
    )
    answer = _solve(data)
    assert answer.pairs[0].member == "m-old" and answer.pairs[0].kept
    assert answer.stats.kept == 1 and answer.dropped == ()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["members"].pop(0), "member_left"),
        (lambda d: d["members"][0].update(location=_at(8.0)), "out_of_range"),
        (lambda d: d["members"][0].update(proxies=["voice"]), "no_skill"),
        (lambda d: d["members"][0].update(community="c-2"), "other_community"),
    ],
)
def test_a_pair_that_no_longer_works_is_dropped_and_the_resident_re_paired(
    change: Any, reason: str
) -> None:
    data = _problem(
        [_resident("r-1", 0.0)],
        [_member("m-old", 0.5), _member("m-new", 1.0)],
        [{"resident": "r-1", "member": "m-old"}],
    )
    change(data)
    answer = _solve(data)
    assert [(d.member, d.reason) for d in answer.dropped] == [("m-old", reason)]
    assert _partners(answer) == {"r-1": "m-new"} and not answer.pairs[0].kept


def test_a_member_with_fewer_places_keeps_the_most_vulnerable() -> None:
    data = _problem(
        [_resident("r-a", 0.0, v=2), _resident("r-b", 0.1, v=5), _resident("r-c", 0.2, v=4)],
        [_member("m-1", 0.0, max_residents=2), _member("m-2", 2.0)],
        [{"resident": r, "member": "m-1"} for r in ("r-a", "r-b", "r-c")],
    )
    answer = _solve(data)
    kept = {p.resident for p in answer.pairs if p.kept}
    assert kept == {"r-b", "r-c"}
    assert [(d.resident, d.reason) for d in answer.dropped] == [("r-a", "capacity")]
    assert _partners(answer)["r-a"] == "m-2"


# -- exactness on tiny problems ----------------------------------------------------------------


def _brute_force(data: Json) -> float:
    """The contract's objective minimised by enumeration (continuity as rule 4 fixes it)."""
    problem = load_problem(data)
    answer = solve(problem)  # for the kept pairs, which rule 4 fixes; checked by the verifier
    kept = {p.resident: p.member for p in answer.pairs if p.kept}
    members = {m.id: m for m in problem.members}
    places = {m.id: problem.capacity(m) - list(kept.values()).count(m.id) for m in problem.members}
    free = [r for r in problem.residents if r.id not in kept]
    probe = copy.deepcopy(data)
    best = float("inf")
    for choice in itertools.product([None, *members], repeat=len(free)):
        load: dict[str, int] = {}
        for m in choice:
            if m is not None:
                load[m] = load.get(m, 0) + 1
        if any(load[m] > places[m] for m in load):
            continue
        probe_answer = {
            "pairs": [{"resident": r, "member": m} for r, m in kept.items()]
            + [{"resident": r.id, "member": m} for r, m in zip(free, choice, strict=True) if m],
            "unpaired": [{"resident": r.id} for r, m in zip(free, choice, strict=True) if not m],
        }
        violations = [
            v for v in verify(probe, {**probe_answer, "dropped": [], "stats": {}}) if v.rule == "3"
        ]
        if not violations:
            best = min(best, recompute_objective(probe, probe_answer))
    return best


@st.composite
def _problems(draw: st.DrawFn, most_residents: int = 8, most_members: int = 4) -> Json:
    proxies = ["errands", "voice", "disputes", "needs", "visits"]
    residents = [
        _resident(
            f"r-{k}",
            draw(st.floats(-3, 3)),
            v=draw(st.integers(1, 5)),
            needs=tuple(draw(st.sets(st.sampled_from(proxies[:3]), max_size=2))),
            skills=sorted(draw(st.sets(st.sampled_from(["s1", "s2"]), max_size=1))),
            community=draw(st.sampled_from(["c-1", "c-2"])),
        )
        for k in range(draw(st.integers(0, most_residents)))
    ]
    members = [
        _member(
            f"m-{k}",
            draw(st.floats(-3, 3)),
            proxies=sorted(draw(st.sets(st.sampled_from(proxies[:3]), min_size=1))),
            skills=sorted(draw(st.sets(st.sampled_from(["s1", "s2"]), max_size=2))),
            max_residents=draw(st.integers(0, 3)),
            max_distance_km=draw(st.sampled_from([1.0, 2.0, 4.0])),
            community=draw(st.sampled_from(["c-1", "c-2"])),
        )
        for k in range(draw(st.integers(0, most_members)))
    ]
    existing: list[Json] = []
    for r in residents:
        paired_before: bool = draw(st.booleans())
        if members and paired_before:
            mid = draw(st.sampled_from([m["id"] for m in members] + ["m-gone"]))
            existing.append({"resident": r["id"], "member": mid})
    return _problem(residents, members, existing)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
def test_random_problems_give_answers_that_pass_the_verifier(data: Json) -> None:
    answer = _solve(data)
    assert len(answer.pairs) + len(answer.unpaired) == len(data["residents"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems(most_residents=5, most_members=3))
def test_tiny_random_problems_are_solved_to_the_enumerated_optimum(data: Json) -> None:
    answer = _solve(data)
    assert answer.stats.objective == pytest.approx(_brute_force(data), abs=1e-3)


# -- the verifier catches broken answers -------------------------------------------------------


def test_the_verifier_reports_each_broken_rule() -> None:
    data = _problem(
        [_resident("r-1", 0.0, v=5), _resident("r-2", 0.2), _resident("r-3", 0.4, v=1)],
        [_member("m-1", 0.0), _member("m-2", 0.3, proxies=["voice"])],
        [{"resident": "r-1", "member": "m-1"}],
    )
    answer = json.loads(json.dumps(dump_answer(solve(load_problem(data)))))

    def rules(change: Any) -> set[str]:
        broken = copy.deepcopy(answer)
        change(broken)
        return {v.rule for v in verify(data, broken)}

    assert rules(lambda a: a["pairs"].append(dict(a["pairs"][0]))) >= {"1"}
    assert rules(lambda a: a["pairs"][0].update(member="m-2")) >= {"3", "4"}
    assert rules(
        lambda a: (
            a["pairs"].append(
                {"resident": "r-2", "member": "m-1", "distance_km": 0.2, "kept": False}
            )
            or a["unpaired"].pop(0)
        )
    ) >= {"2"}
    assert rules(lambda a: a["unpaired"][0].update(reason="no_skill")) == {"6"}
    assert rules(
        lambda a: a.update(
            pairs=[],
            unpaired=a["unpaired"] + [{"resident": "r-1", "reason": "capacity", "detail": "full"}],
        )
    ) >= {"4", "5"}


# -- input and generator -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["residents"][0].pop("vulnerability"), "residents[0].vulnerability"),
        (lambda d: d["residents"][0].update(vulnerability=6), "residents[0].vulnerability"),
        (lambda d: d["residents"][0].update(needs=["cooking"]), "residents[0].needs[0]"),
        (lambda d: d["residents"][0].update(groups=[]), "residents[0].groups"),
        (lambda d: d["residents"][0].update(name="Wang"), "residents[0].name"),
        (lambda d: d["residents"][1].update(id="r-1"), "residents[1].id"),
        (lambda d: d["members"][0].update(proxies=["voice", "x"]), "members[0].proxies[1]"),
        (lambda d: d["members"][0].update(max_residents=-1), "members[0].max_residents"),
        (lambda d: d["members"][0]["location"].update(lon=200), "members[0].location.lon"),
        (
            lambda d: d.update(existing_pairs=[{"resident": "r-9", "member": "m-1"}]),
            "existing_pairs[0].resident",
        ),
        (
            lambda d: d.update(
                existing_pairs=[
                    {"resident": "r-1", "member": "m-1"},
                    {"resident": "r-1", "member": "m-9"},
                ]
            ),
            "existing_pairs[1].resident",
        ),
        (lambda d: d["options"].update(max_distance_km=0), "options.max_distance_km"),
    ],
)
def test_bad_input_names_its_field(change: Any, path: str) -> None:
    data = _problem([_resident("r-1", 0.0), _resident("r-2", 0.0)], [_member("m-1", 0.0)])
    change(data)
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    assert path in caught.value.errors, caught.value.errors


def test_an_existing_pair_with_a_member_who_left_is_accepted() -> None:
    data = _problem(
        [_resident("r-1", 0.0)], [_member("m-1", 0.0)], [{"resident": "r-1", "member": "m-gone"}]
    )
    assert load_problem(data).existing_pairs[0].member == "m-gone"


def test_the_generator_round_trips_through_the_schema_and_solves() -> None:
    problem = generate(communities=4, members=400, residents=150, seed=3, broken_share=0.3)
    data = json.loads(json.dumps(dump_problem(problem)))
    assert load_problem(data) == problem
    answer = _solve(data)
    assert answer.stats.kept > 0 and answer.dropped
    assert answer.stats.paired + answer.stats.unpaired == 150
