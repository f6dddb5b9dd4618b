"""Posts (设岗认岗): every allocation passes the independent verifier with its objective recomputed;
each rule of ``docs/contracts/posts.md`` binds in a case of its own; what cannot be granted comes
back as
``unassigned`` with a reason, never as an error; small random menus match brute force.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.errors import InvalidProblemError
from matcher.longterm.posts.answer import Answer
from matcher.longterm.posts.generate import generate
from matcher.longterm.posts.solve import solve, with_mode
from matcher.longterm.posts.verify import recompute_objective, verify
from service.contracts.posts import dump_answer, dump_problem, load_problem

Json = dict[str, Any]


def _solve(data: Json) -> tuple[Answer, Json]:
    """Load, solve, verify against the raw JSON and recompute the objective."""
    answer = solve(load_problem(data))
    out = dump_answer(answer)
    assert verify(data, out) == []
    assert out["stats"]["objective"] == pytest.approx(recompute_objective(data, out), abs=1e-6)
    return answer, out


def _post(pid: str, seats: int = 1, **extra: Any) -> Json:
    return {
        "id": pid,
        "community": "c-1",
        "category": "policy_publicity",
        "title": f"岗位 {pid}",
        "seats": seats,
        **extra,
    }


def _member(mid: str, choices: list[str], **extra: Any) -> Json:
    return {"id": mid, "community": "c-1", "choices": choices, **extra}


def _placed(answer: Answer) -> dict[str, str]:
    return {a.member: a.post for a in answer.allocations}


def _reasons(answer: Answer) -> dict[str, str]:
    return {u.member: u.reason for u in answer.unassigned}


# --------------------------------------------------------------------------------------------
# Rules, each binding.


def test_everyone_gets_a_first_choice_when_seats_allow() -> None:
    data = {
        "posts": [_post("p-1", 2), _post("p-2", 1)],
        "members": [
            _member("m-1", ["p-1"]),
            _member("m-2", ["p-2", "p-1"]),
            _member("m-3", ["p-1"]),
        ],
    }
    answer, _ = _solve(data)
    assert answer.status == "optimal"
    assert _placed(answer) == {"m-1": "p-1", "m-2": "p-2", "m-3": "p-1"}
    assert answer.stats.placed_by_rank == (3, 0, 0, 0, 0)
    assert answer.stats.bound == answer.stats.objective


def test_seats_bind_and_the_overflow_goes_to_second_choices() -> None:
    data = {
        "posts": [_post("p-1", 1), _post("p-2", 2)],
        "members": [_member(f"m-{k}", ["p-1", "p-2"]) for k in range(3)],
    }
    answer, _ = _solve(data)
    assert sorted(_placed(answer).values()) == ["p-1", "p-2", "p-2"]


def test_a_full_post_leaves_members_unassigned_as_full_with_the_post_named() -> None:
    data = {"posts": [_post("p-1", 1)], "members": [_member(f"m-{k}", ["p-1"]) for k in range(3)]}
    answer, _ = _solve(data)
    assert len(answer.allocations) == 1
    assert sorted(_reasons(answer).values()) == ["full", "full"]
    assert all("p-1" in u.detail and "1 seat" in u.detail for u in answer.unassigned)
    assert answer.stats.unplaced == 2


def test_required_skills_bind() -> None:
    data = {
        "posts": [_post("p-law", 1, skills=["legal"]), _post("p-2", 1)],
        "members": [_member("m-1", ["p-law", "p-2"]), _member("m-2", ["p-law"])],
    }
    answer, _ = _solve(data)
    assert _placed(answer) == {"m-1": "p-2"}
    assert _reasons(answer) == {"m-2": "no_skill"}
    assert "legal" in answer.unassigned[0].detail
    data["members"][1]["skills"] = ["legal"]
    answer, _ = _solve(data)
    assert _placed(answer) == {"m-1": "p-2", "m-2": "p-law"}


def test_members_are_placed_only_at_posts_they_listed() -> None:
    data = {
        "posts": [_post("p-1", 1), _post("p-2", 3)],
        "members": [_member(f"m-{k}", ["p-1"]) for k in range(2)],
    }
    answer, _ = _solve(data)
    assert len(answer.allocations) == 1 and set(_reasons(answer).values()) == {"full"}
    assert [(v.post, v.seats_left) for v in answer.vacancies] == [("p-2", 3)]


def test_members_who_listed_nothing_wait_unless_fill_unranked() -> None:
    data: Json = {
        "posts": [
            _post("p-1", 1),
            _post("p-2", 1, category="elderly_care", desired_skills=["nursing"], grid="g-2"),
        ],
        "members": [_member("m-1", [], skills=["nursing"], grid="g-2")],
    }
    answer, _ = _solve(data)
    assert (
        _reasons(answer) == {"m-1": "no_choices"} and "fill_unranked" in answer.unassigned[0].detail
    )
    data["options"] = {"fill_unranked": True}
    answer, _ = _solve(data)
    (allocation,) = answer.allocations
    assert (allocation.post, allocation.rank, allocation.fit) == ("p-2", None, 2)
    assert answer.stats.filled == 1 and answer.stats.rank_cost == 36


def test_filling_stays_inside_the_members_community() -> None:
    data = {
        "posts": [_post("p-1", 5)],
        "members": [{"id": "m-9", "community": "c-2"}],
        "options": {"fill_unranked": True},
    }
    answer, _ = _solve(data)
    assert _reasons(answer) == {"m-9": "no_skill"}
    assert "c-2 has set no posts" in answer.unassigned[0].detail


def test_a_choice_of_another_communitys_post_is_rejected_with_its_path() -> None:
    data = {
        "posts": [_post("p-1")],
        "members": [{"id": "m-1", "community": "c-2", "choices": ["p-1"]}],
    }
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    assert "members[0].choices[0]" in caught.value.errors


def test_commitments_travel_with_the_allocation() -> None:
    promise = {"service": "每月调解楼院纠纷一次", "deadline": "2027-06-30"}
    data = {
        "posts": [_post("p-1", 1, commitment=promise), _post("p-2")],
        "members": [_member("m-1", ["p-1"]), _member("m-2", ["p-2"])],
    }
    _, out = _solve(data)
    by_member = {a["member"]: a["commitment"] for a in out["allocations"]}
    assert by_member == {"m-1": promise, "m-2": None}
    tampered = copy.deepcopy(out)
    tampered["allocations"][0]["commitment"] = {"service": "别的", "deadline": "2027-06-30"}
    assert {v.rule for v in verify(data, tampered)} == {"6"}


# --------------------------------------------------------------------------------------------
# The objective's order: count, then squared ranks, then fit.


def test_placing_one_more_member_beats_better_ranks() -> None:
    data = {
        "posts": [_post("p-1"), _post("p-2")],
        "members": [_member("m-a", ["p-1"]), _member("m-b", ["p-1", "p-2"])],
    }
    answer, _ = _solve(data)
    assert _placed(answer) == {"m-a": "p-1", "m-b": "p-2"}


def test_squared_ranks_prefer_two_second_choices_to_a_first_and_a_third() -> None:
    """(1, 3) and (2, 2) tie on the sum of ranks; squares (10 against 8) pick the even one."""
    data = {
        "posts": [_post("p-x"), _post("p-y"), _post("p-z", skills=["x-ray"])],
        "members": [_member("m-a", ["p-x", "p-y"]), _member("m-b", ["p-z", "p-x", "p-y"])],
    }
    answer, _ = _solve(data)
    assert _placed(answer) == {"m-a": "p-y", "m-b": "p-x"}
    assert answer.stats.rank_cost == 8 and answer.stats.placed_by_rank == (0, 2, 0, 0, 0)


def test_rank_beats_fit_and_fit_breaks_ties() -> None:
    data = {
        "posts": [_post("p-1", desired_skills=["writing"]), _post("p-2")],
        "members": [
            _member("m-a", ["p-1", "p-2"], skills=["writing"]),
            _member("m-b", ["p-1", "p-2"]),
        ],
    }
    answer, _ = _solve(data)
    assert _placed(answer) == {"m-a": "p-1", "m-b": "p-2"}  # same ranks either way: fit decides
    data["members"][0]["choices"] = ["p-2", "p-1"]
    answer, _ = _solve(data)
    assert _placed(answer) == {"m-a": "p-2", "m-b": "p-1"}  # both first choices beat fit


def test_a_seat_goes_to_a_member_who_asked_before_one_placed_by_fit() -> None:
    data = {
        "posts": [_post("p-1", desired_skills=["writing"])],
        "members": [_member("m-a", []), _member("m-b", ["p-1"])],
        "options": {"fill_unranked": True},
    }
    data["members"][0]["skills"] = ["writing"]
    answer, _ = _solve(data)
    assert _placed(answer) == {"m-b": "p-1"} and _reasons(answer) == {"m-a": "full"}


# --------------------------------------------------------------------------------------------
# Stable mode and blocking pairs.


def _blocking_case(mode: str) -> Json:
    """p-1 ranks m-b (who holds its desired skill) above m-a; m-a listed only p-1."""
    return {
        "posts": [_post("p-1", desired_skills=["legal"]), _post("p-2")],
        "members": [_member("m-a", ["p-1"]), _member("m-b", ["p-1", "p-2"], skills=["legal"])],
        "options": {"mode": mode},
    }


def test_the_optimal_mode_reports_its_blocking_pairs() -> None:
    answer, out = _solve(_blocking_case("optimal"))
    assert _placed(answer) == {"m-a": "p-1", "m-b": "p-2"}
    assert (answer.stats.blocking_pairs, answer.stats.blocking_members) == (1, 1)
    violations = verify(_blocking_case("stable"), {**out, "mode": "stable"})
    assert [(v.rule, v.subject) for v in violations] == [("8", "member m-b")]


def test_the_stable_mode_has_no_blocking_pair_and_reports_its_price() -> None:
    answer, _ = _solve(_blocking_case("stable"))
    assert _placed(answer) == {"m-b": "p-1"}
    assert _reasons(answer) == {"m-a": "full"}
    assert answer.stats.blocking_pairs == 0
    assert answer.status == "feasible" and answer.stats.bound < answer.stats.objective


def test_stable_mode_fills_the_seats_left_with_unranked_members() -> None:
    data = _blocking_case("stable")
    data["members"].append(_member("m-c", []))
    data["options"]["fill_unranked"] = True
    answer, _ = _solve(data)
    assert _placed(answer) == {"m-b": "p-1", "m-c": "p-2"}


# --------------------------------------------------------------------------------------------
# The verifier catches what it should.


def test_the_verifier_flags_broken_answers() -> None:
    data = {
        "posts": [_post("p-1", 1, skills=["legal"]), _post("p-2", 1)],
        "members": [_member("m-1", ["p-1", "p-2"], skills=["legal"]), _member("m-2", ["p-2"])],
    }
    _, out = _solve(data)
    crowded = copy.deepcopy(out)
    crowded["allocations"] = [
        {"member": "m-1", "post": "p-2", "rank": 2, "fit": 0, "commitment": None},
        {"member": "m-2", "post": "p-2", "rank": 1, "fit": 0, "commitment": None},
    ]
    assert "3" in {v.rule for v in verify(data, crowded)}
    unskilled = copy.deepcopy(out)
    unskilled["allocations"] = [
        {"member": "m-2", "post": "p-1", "rank": 1, "fit": 0, "commitment": None}
    ]
    rules = {v.rule for v in verify(data, unskilled)}
    assert {"1", "4", "5"} <= rules
    wrong_reason = copy.deepcopy(out)
    wrong_reason["allocations"] = wrong_reason["allocations"][:1]
    wrong_reason["unassigned"] = [
        {"member": out["allocations"][1]["member"], "reason": "no_skill", "detail": "x"}
    ]
    assert {"7", "9"} <= {v.rule for v in verify(data, wrong_reason)}


# --------------------------------------------------------------------------------------------
# Random menus: verified, and no better than brute force can do.


@st.composite
def _menus(draw: st.DrawFn) -> Json:
    skills = ["legal", "medical", "writing"]
    posts = []
    for k in range(draw(st.integers(1, 4))):
        posts.append(
            {
                "id": f"p-{k}",
                "community": draw(st.sampled_from(["c-1", "c-1", "c-2"])),
                "category": draw(st.sampled_from(["mediation", "health", "tutoring"])),
                "title": f"post {k}",
                "seats": draw(st.integers(1, 2)),
                "skills": draw(st.lists(st.sampled_from(skills), max_size=1, unique=True)),
                "desired_skills": draw(st.lists(st.sampled_from(skills), max_size=2, unique=True)),
                "grid": draw(st.sampled_from([None, "g-1", "g-2"])),
            }
        )
    members = []
    for k in range(draw(st.integers(0, 5))):
        community = draw(st.sampled_from(["c-1", "c-2"]))
        own = [p["id"] for p in posts if p["community"] == community]
        choices = draw(st.permutations(own)) if own else []
        members.append(
            {
                "id": f"m-{k}",
                "community": community,
                "skills": draw(st.lists(st.sampled_from(skills), max_size=2, unique=True)),
                "preferences": draw(
                    st.lists(st.sampled_from(["mediation", "health"]), unique=True)
                ),
                "grid": draw(st.sampled_from([None, "g-1", "g-2"])),
                "choices": list(choices)[: draw(st.integers(0, len(choices)))],
            }
        )
    options = {
        "mode": draw(st.sampled_from(["optimal", "stable"])),
        "fill_unranked": draw(st.booleans()),
    }
    return {"posts": posts, "members": members, "options": options}


def _brute_force(data: Json) -> float:
    posts = {p["id"]: p for p in data["posts"]}
    fill = data["options"]["fill_unranked"]
    options: list[list[str | None]] = []
    for m in data["members"]:
        listed = m["choices"] or (
            [p for p, q in posts.items() if q["community"] == m["community"]] if fill else []
        )
        ok = [
            p
            for p in listed
            if set(posts[p]["skills"]) <= set(m["skills"])
            and posts[p]["community"] == m["community"]
        ]
        options.append([None, *ok])
    best = float("inf")
    for pick in itertools.product(*options):
        taken: dict[str, int] = {}
        for p in pick:
            if p is not None:
                taken[p] = taken.get(p, 0) + 1
        if any(n > posts[p]["seats"] for p, n in taken.items()):
            continue
        allocation = [
            {"member": m["id"], "post": p} for m, p in zip(data["members"], pick, strict=True) if p
        ]
        best = min(best, recompute_objective(data, {"allocations": allocation}))
    return best


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_menus())
def test_random_menus_verify_and_the_optimal_mode_matches_brute_force(data: Json) -> None:
    answer, _ = _solve(data)
    best = _brute_force(data)
    if data["options"]["mode"] == "optimal":
        assert answer.stats.objective == pytest.approx(best, abs=1e-6)
    else:
        assert answer.stats.objective >= best - 1e-6 and answer.stats.bound == pytest.approx(best)
        assert answer.stats.blocking_pairs == 0


# --------------------------------------------------------------------------------------------
# Bad input, the generator, determinism.


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["posts"][0].update(seats=0), "posts[0].seats"),
        (lambda d: d["posts"][0].update(seats="3"), "posts[0].seats"),
        (lambda d: d["posts"][0].pop("title"), "posts[0].title"),
        (
            lambda d: d["posts"][0].update(commitment={"service": "x", "deadline": "30/06/2027"}),
            "posts[0].commitment.deadline",
        ),
        (lambda d: d["posts"][1].update(id="p-1"), "posts[1].id"),
        (lambda d: d["members"][0].update(choices=["p-1", "p-2", "p-1"]), "members[0].choices[2]"),
        (lambda d: d["members"][0].update(choices=["p-9"]), "members[0].choices[0]"),
        (lambda d: d["members"][0].update(choices=["p-1"] * 6), "members[0].choices"),
        (lambda d: d["members"][1].update(id="m-1"), "members[1].id"),
        (lambda d: d.update(options={"mode": "fastest"}), "options.mode"),
        (lambda d: d.update(options={"fill_unranked": "yes"}), "options.fill_unranked"),
    ],
)
def test_bad_input_is_reported_by_field_path(mutate: Any, path: str) -> None:
    data = {
        "posts": [_post("p-1"), _post("p-2")],
        "members": [_member("m-1", ["p-1"]), _member("m-2", [])],
    }
    mutate(data)
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    assert path in caught.value.errors, caught.value.errors


def test_a_generated_district_round_trips_through_the_schema_and_solves_in_both_modes() -> None:
    problem = generate(communities=4, members=400, seed=3, fill_unranked=True)
    data = dump_problem(problem)
    assert load_problem(data) == problem
    assert all(1 <= len(m.choices) <= 5 for m in problem.members if m.choices)
    assert any(not m.choices for m in problem.members)
    for mode in ("optimal", "stable"):
        variant = with_mode(problem, mode)
        answer = solve(variant)
        out = dump_answer(answer)
        assert verify(dump_problem(variant), out) == []
        assert out["stats"]["objective"] == pytest.approx(
            recompute_objective(dump_problem(variant), out)
        )
        assert answer.stats.placed > 0.5 * answer.stats.seekers
    assert generate(communities=4, members=400, seed=3, fill_unranked=True) == problem


def test_the_same_problem_gives_the_same_answer() -> None:
    problem = generate(communities=2, members=150, seed=5)
    first, second = solve(problem), solve(problem)
    assert first.allocations == second.allocations and first.unassigned == second.unassigned


def test_the_verifier_reports_a_malformed_answer_instead_of_raising() -> None:
    data = {"posts": [_post("p-1")], "members": [_member("m-1", ["p-1"])]}
    junk: Json = {
        "status": "done",
        "allocations": [{"member": ["m-1"], "post": {"p": 1}}, 7],
        "unassigned": "none",
        "vacancies": [None],
        "stats": [],
    }
    rules = {v.rule for v in verify(data, junk)}
    assert {"1", "answer"} <= rules
