"""Groups of members (``docs/contracts/groups.md``): every answer passes the independent verifier
with its
objective recomputed, each rule binds where it should, members the rules force out come back with
reasons (not errors), small communities are solved exactly, and bad input names its field."""

from __future__ import annotations

import copy
import itertools
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.errors import InvalidProblemError
from matcher.longterm.groups import solve as solve_module
from matcher.longterm.groups.answer import GroupAnswer
from matcher.longterm.groups.generate import generate
from matcher.longterm.groups.solve import dissimilarity_matrix, solve
from matcher.longterm.groups.verify import recompute_objective, verify
from service.contracts.groups import dump_answer, dump_problem, load_problem

Json = dict[str, Any]
KM = 1 / 111.2  # degrees of latitude per km


def _solve(data: Json, time_limit_s: float = 2.0, seed: int = 0) -> GroupAnswer:
    """Load, solve, verify, recompute: the path every test takes."""
    problem = load_problem(data)
    answer = solve(problem, time_limit_s=time_limit_s, seed=seed)
    answer_json = json.loads(json.dumps(dump_answer(answer)))
    violations = verify(data, answer_json)
    assert violations == [], violations
    assert recompute_objective(data, answer_json) == pytest.approx(
        answer.stats.objective, rel=1e-6, abs=1e-4
    )
    assert answer.stats.bound <= answer.stats.objective + 1e-6
    return answer


def _member(
    i: int,
    dlat_km: float = 0.0,
    dlon_km: float = 0.0,
    *,
    community: str = "c-1",
    industry: str | None = "education",
    posts: tuple[str, ...] = ("tutoring",),
) -> Json:
    return {
        "id": f"m-{i:02d}",
        "community": community,
        "location": {"lat": 34.75 + dlat_km * KM, "lon": 113.62 + dlon_km * KM},
        "industry": industry,
        "posts": list(posts),
        "preferences": [],
    }


def _clusters(sizes: list[int], group_size: tuple[int, int], *, spread_km: float = 5.0) -> Json:
    """Clusters of members far apart, each of one trade and one interest."""
    trades = ["education", "health", "law", "it", "retail", "transport"]
    cats = ["tutoring", "health", "legal_aid", "digital_help", "sanitation", "repairs"]
    members, i = [], 0
    for c, size in enumerate(sizes):
        for k in range(size):
            members.append(
                _member(
                    i,
                    c * spread_km + 0.01 * k,
                    0.02 * k,
                    industry=trades[c % 6],
                    posts=(cats[c % 6],),
                )
            )
            i += 1
    return {
        "members": members,
        "group_size": {"min": group_size[0], "max": group_size[1]},
        "options": {"time_limit_s": 2, "seed": 0},
    }


def _groups_of(answer: GroupAnswer) -> set[frozenset[str]]:
    return {frozenset(g.members) for g in answer.groups}


def _ids(lo: int, hi: int) -> frozenset[str]:
    return frozenset(f"m-{i:02d}" for i in range(lo, hi))


# -- what the groups are ---------------------------------------------------------------------


def test_neighbours_of_one_trade_form_one_group_and_small_communities_are_exact() -> None:
    answer = _solve(_clusters([5, 5], (4, 6)))
    assert _groups_of(answer) == {_ids(0, 5), _ids(5, 10)}
    assert answer.status == "optimal" and answer.stats.exact_communities == 1
    group = answer.groups[0]
    assert group.industries[0].industry == "education" and group.industries[0].members == 5
    assert group.shared_interests == ("tutoring",)
    assert group.radius_km < 0.1 and "5 members" in group.summary


def test_local_search_recovers_clusters_in_a_large_community() -> None:
    answer = _solve(_clusters([8, 8, 8, 8, 8], (8, 8)))
    assert answer.stats.method == "search: 1"
    assert _groups_of(answer) == {_ids(8 * c, 8 * c + 8) for c in range(5)}
    assert answer.status == "feasible" and answer.stats.gap < 0.05


def _set_partitions(n: int) -> list[tuple[int, ...]]:
    """Every partition of ``range(n)`` as a restricted growth string of group labels."""
    found: list[tuple[int, ...]] = [(0,)]
    for _ in range(1, n):
        found = [(*p, g) for p in found for g in range(max(p) + 2)]
    return found


def test_the_exact_model_matches_brute_force_on_a_tiny_community() -> None:
    data = _clusters([3, 3, 2], (2, 4), spread_km=0.4)
    data["members"][1]["industry"] = "law"
    data["members"][6]["posts"] = ["health", "tutoring"]
    data["apart"] = [["m-00", "m-02"]]
    answer = _solve(data)
    problem = load_problem(data)
    d = dissimilarity_matrix(problem.members, problem)
    best = math.inf
    for labels in _set_partitions(8):
        if labels[0] == labels[2]:
            continue
        groups = [[i for i in range(8) if labels[i] == g] for g in range(max(labels) + 1)]
        if all(2 <= len(g) <= 4 for g in groups):
            value = sum(
                2 * sum(d[a, b] for a, b in itertools.combinations(g, 2)) / (len(g) - 1)
                for g in groups
            )
            best = min(best, value)
    assert answer.status == "optimal"
    assert answer.stats.objective == pytest.approx(best, abs=1e-4)


def test_local_search_finds_the_exact_optimum_of_small_communities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = generate(communities=3, members=30, seed=1, group_size=(3, 5))
    data = dump_problem(problem)
    exact = _solve(data, time_limit_s=6)
    assert exact.status == "optimal"
    monkeypatch.setattr(solve_module, "EXACT_MAX_MEMBERS", 0)
    searched = _solve(data)
    assert searched.stats.exact_communities == 0
    assert searched.stats.objective == pytest.approx(exact.stats.objective, abs=1e-4)
    assert searched.stats.bound <= exact.stats.objective + 1e-6


# -- rules -------------------------------------------------------------------------------------


def test_groups_never_cross_communities() -> None:
    data = _clusters([6], (3, 6))
    twins = copy.deepcopy(data["members"])
    for k, m in enumerate(twins):
        m["id"], m["community"] = f"m-{50 + k}", "c-2"
    data["members"] += twins
    answer = _solve(data)
    for g in answer.groups:
        assert {m.startswith("m-5") for m in g.members} == {g.community == "c-2"}


def test_sizes_stay_in_range_and_an_odd_count_leaves_out_the_least_fitting() -> None:
    data = _clusters([5, 5], (4, 5))
    data["members"].append(_member(10, 30.0, 30.0, industry="retail", posts=("repairs",)))
    answer = _solve(data)
    assert [u.member for u in answer.unassigned] == ["m-10"]
    assert answer.unassigned[0].reason == "size" and "widen group_size" in (
        answer.unassigned[0].detail
    )
    assert answer.stats.objective >= 10.0  # the default weight of a member left out


def test_a_community_below_the_minimum_is_left_out_whole_as_too_few() -> None:
    data = _clusters([3], (4, 6))
    answer = _solve(data)
    assert answer.status == "no_solution" and answer.groups == ()
    assert {u.reason for u in answer.unassigned} == {"too_few"}
    assert len(answer.unassigned) == 3


def test_together_binds_across_the_community_in_both_solvers() -> None:
    for sizes in ([4, 4], [8, 8, 8]):
        data = _clusters(sizes, (4, 8) if len(sizes) == 2 else (8, 8))
        data["together"] = [["m-00", "m-07"]]  # the first and last of different clusters
        answer = _solve(data)
        group = next(g for g in answer.groups if "m-00" in g.members)
        assert "m-07" in group.members


def test_a_together_set_larger_than_a_group_is_left_out_with_its_reason() -> None:
    data = _clusters([6, 6], (2, 3))
    data["together"] = [["m-00", "m-01"], ["m-01", "m-02"], ["m-02", "m-03"]]
    answer = _solve(data)
    out = {u.member: u.reason for u in answer.unassigned}
    assert out == dict.fromkeys(["m-00", "m-01", "m-02", "m-03"], "together")
    assert "raise group_size.max" in answer.unassigned[0].detail


def test_together_and_apart_on_one_set_is_a_conflict() -> None:
    data = _clusters([6], (2, 3))
    data["together"] = [["m-00", "m-01"], ["m-01", "m-02"]]
    data["apart"] = [["m-00", "m-02"]]
    answer = _solve(data)
    assert {u.member: u.reason for u in answer.unassigned} == dict.fromkeys(
        ["m-00", "m-01", "m-02"], "conflict"
    )


def test_apart_binds_between_identical_neighbours_in_both_solvers() -> None:
    for sizes, size in (([4, 4], (4, 4)), ([8, 8, 8], (8, 8))):
        data = _clusters(sizes, size)
        data["apart"] = [["m-00", "m-01"]]
        answer = _solve(data)
        group = next(g for g in answer.groups if "m-00" in g.members)
        assert "m-01" not in group.members


def test_apart_that_no_grouping_can_honour_leaves_members_out_not_an_error() -> None:
    data = _clusters([4], (2, 2))
    data["apart"] = [["m-00", "m-01"], ["m-00", "m-02"], ["m-00", "m-03"]]
    answer = _solve(data)
    out = {u.member: u.reason for u in answer.unassigned}
    assert len(out) == 2 and out["m-00"] == "apart"
    assert len(answer.groups) == 1


def test_apart_forcing_members_out_of_a_large_community_is_reported() -> None:
    data = _clusters([7, 7, 7], (7, 7))
    data["apart"] = [["m-00", f"m-{k:02d}"] for k in range(1, 21)]
    answer = _solve(data)
    assert [(u.member, u.reason) for u in answer.unassigned if u.member == "m-00"] == [
        ("m-00", "apart")
    ]
    assert all(len(g.members) == 7 for g in answer.groups)


def test_the_same_seed_gives_the_same_groups() -> None:
    data = dump_problem(generate(communities=2, members=60, seed=9, group_size=(5, 7)))
    first = _solve(data, time_limit_s=30, seed=3)  # patience, not the clock, ends the search
    second = _solve(data, time_limit_s=30, seed=3)
    assert first.groups == second.groups


# -- the verifier catches broken answers -----------------------------------------------------


def test_the_verifier_reports_each_broken_rule() -> None:
    data = _clusters([5, 5], (4, 6))
    data["apart"] = [["m-00", "m-09"]]
    answer = json.loads(json.dumps(dump_answer(solve(load_problem(data), time_limit_s=1))))
    broken = copy.deepcopy(answer)
    moved = broken["groups"][0]["members"].pop()
    broken["groups"][1]["members"].append(moved)  # sizes 4 and 6: still in range, figures stale
    other = next(g for g in broken["groups"] if "m-09" in g["members"])
    other["members"] += ["m-00", "m-00"]  # twice or thrice, with its apart partner, size > 6
    rules = {v.rule for v in verify(data, broken)}
    assert {"1", "3", "5", "6", "answer"} <= rules
    lost = copy.deepcopy(answer)
    lost["groups"].pop()
    assert {"1", "answer"} <= {v.rule for v in verify(data, lost)}
    lazy = copy.deepcopy(answer)
    lazy["unassigned"] = [
        {"member": m, "community": "c-1", "reason": "size", "detail": "left out"}
        for m in lazy["groups"].pop()["members"]
    ]
    lazy["stats"]["objective"] = recompute_objective(data, lazy)
    lazy["stats"]["groups"] -= 1
    lazy["stats"]["unassigned"] = 5
    assert {v.rule for v in verify(data, lazy)} == {"8"}


# -- random problems ---------------------------------------------------------------------------


@st.composite
def _problems(draw: st.DrawFn) -> Json:
    low = draw(st.integers(2, 4))
    high = draw(st.integers(low, 6))
    members: list[Json] = []
    for c in range(draw(st.integers(1, 2))):
        for _ in range(draw(st.integers(0, 16))):
            i = len(members)
            members.append(
                _member(
                    i,
                    draw(st.floats(-2, 2)),
                    draw(st.floats(-2, 2)),
                    community=f"c-{c}",
                    industry=draw(st.sampled_from([None, "education", "culture", "law"])),
                    posts=tuple(draw(st.sets(st.sampled_from(["a", "b", "c"]), max_size=2))),
                )
            )
    pairs = st.tuples(st.integers(0, 40), st.integers(0, 40))
    together: list[list[str]] = []
    apart: list[list[str]] = []
    for kind, chosen in (("together", together), ("apart", apart)):
        for a, b in draw(st.lists(pairs, max_size=4)):
            if a < len(members) and b < len(members) and a != b:
                same = members[a]["community"] == members[b]["community"]
                if same or kind == "apart":
                    chosen.append([members[a]["id"], members[b]["id"]])
    return {
        "members": members,
        "group_size": {"min": low, "max": high},
        "related_industries": [["education", "culture"]],
        "together": together,
        "apart": apart,
        "options": {"time_limit_s": 0.3},
    }


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
def test_random_problems_give_answers_that_pass_the_verifier(data: Json) -> None:
    answer = _solve(data, time_limit_s=0.3)
    grouped = sum(len(g.members) for g in answer.groups)
    assert grouped + len(answer.unassigned) == len(data["members"])


# -- input and generator -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["members"][0].pop("community"), "members[0].community"),
        (lambda d: d["members"][1]["location"].update(lat=95), "members[1].location.lat"),
        (lambda d: d["members"][2].update(nickname="x"), "members[2].nickname"),
        (lambda d: d["members"][3].update(id="m-00"), "members[3].id"),
        (lambda d: d.update(together=[["m-00", "m-99"]]), "together[0][1]"),
        (lambda d: d.update(apart=[["m-00"]]), "apart[0]"),
        (lambda d: d.update(apart=[["m-01", "m-01"]]), "apart[0]"),
        (lambda d: d.update(group_size={"min": 1, "max": 4}), "group_size.min"),
        (lambda d: d.update(group_size={"min": 5, "max": 4}), "group_size.max"),
        (lambda d: d["options"].update(far_km=0), "options.far_km"),
        (lambda d: d["options"].update(weights={"distance": -1}), "options.weights.distance"),
    ],
)
def test_bad_input_names_its_field(change: Any, path: str) -> None:
    data = _clusters([5], (3, 5))
    change(data)
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    assert path in caught.value.errors, caught.value.errors


def test_together_across_communities_is_rejected() -> None:
    data = _clusters([5], (3, 5))
    data["members"][4]["community"] = "c-2"
    data["together"] = [["m-00", "m-04"]]
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    assert "different communities" in caught.value.errors["together[0]"][0]


def test_the_generator_round_trips_through_the_schema_and_solves() -> None:
    problem = generate(communities=3, members=150, seed=5, together_share=0.05, apart_share=0.05)
    data = json.loads(json.dumps(dump_problem(problem)))
    assert load_problem(data) == problem
    assert problem.together and problem.apart
    answer = _solve(data, time_limit_s=2.0)
    assert answer.stats.communities == 3 and answer.stats.groups >= 15
