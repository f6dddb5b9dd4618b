"""Independent checker for post allocations (设岗认岗), written from ``docs/contracts/posts.md``
alone.

This module shares no code with the solver (nor with the rest of :mod:`matcher`): it uses the
standard library only and reads the raw JSON objects (``dict``/``list`` as produced by
:func:`json.load`) of the problem and the answer. It recomputes eligibility, fit, ranks, blocking
pairs and the objective from the contract's text, checks the nine numbered rules and the answer's
bookkeeping, and reports every break as a :class:`MatchViolation`.

It never raises on a malformed answer: a missing key, an unknown member or post, a wrong type all
become violations with rule ``"answer"`` (or ``"1"`` for unknown and missing members). A malformed
problem raises :class:`ValueError` naming the bad field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matcher.longterm.violation import MatchViolation

__all__ = ["REASONS", "RULES", "STATUSES", "MatchViolation", "recompute_objective", "verify"]

STATUSES = ("optimal", "feasible", "no_solution")
MODES = ("optimal", "stable")
REASONS = ("no_choices", "no_skill", "full")
RULES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "answer")
_CHOICES = 5
_FILL_RANK = 6
_FIT_MAX = 7
_TOLERANCE = 1e-6


def _id(entry: Mapping[str, Any], key: str) -> str | None:
    """An id field of an answer entry, or None when it is missing or not a string."""
    value = entry.get(key)
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------------------------
# The problem, read strictly.


@dataclass(frozen=True)
class _Post:
    id: str
    community: str
    category: str
    seats: int
    skills: frozenset[str]
    desired: frozenset[str]
    grid: str | None
    commitment: tuple[str, str] | None


@dataclass(frozen=True)
class _Member:
    id: str
    community: str
    skills: frozenset[str]
    preferences: frozenset[str]
    grid: str | None
    choices: tuple[str, ...]


@dataclass(frozen=True)
class _Problem:
    posts: dict[str, _Post]
    members: dict[str, _Member]
    order: tuple[str, ...]
    mode: str
    fill: bool


def _text(obj: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}.{key}: must be a non-empty string")
    return value


def _texts(obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}.{key}: must be a list of strings")
    return tuple(value)


def _commitment(value: object) -> tuple[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return ("?", "?")
    return (str(value.get("service")), str(value.get("deadline")))


def _read_problem(problem_json: Mapping[str, Any]) -> _Problem:
    posts: dict[str, _Post] = {}
    for i, raw in enumerate(problem_json.get("posts", [])):
        where = f"posts[{i}]"
        seats = raw.get("seats")
        if isinstance(seats, bool) or not isinstance(seats, int):
            raise ValueError(f"{where}.seats: must be an integer")
        post = _Post(
            id=_text(raw, "id", where),
            community=_text(raw, "community", where),
            category=_text(raw, "category", where),
            seats=seats,
            skills=frozenset(_texts(raw, "skills", where)),
            desired=frozenset(_texts(raw, "desired_skills", where)),
            grid=_text(raw, "grid", where, optional=True),
            commitment=_commitment(raw.get("commitment")),
        )
        posts[post.id] = post
    members: dict[str, _Member] = {}
    order: list[str] = []
    for i, raw in enumerate(problem_json.get("members", [])):
        where = f"members[{i}]"
        member = _Member(
            id=_text(raw, "id", where),
            community=_text(raw, "community", where),
            skills=frozenset(_texts(raw, "skills", where)),
            preferences=frozenset(_texts(raw, "preferences", where)),
            grid=_text(raw, "grid", where, optional=True),
            choices=_texts(raw, "choices", where),
        )
        members[member.id] = member
        order.append(member.id)
    options = problem_json.get("options") or {}
    mode = options.get("mode", "optimal")
    if mode not in MODES:
        raise ValueError(f"options.mode: must be one of {', '.join(MODES)}")
    return _Problem(posts, members, tuple(order), mode, bool(options.get("fill_unranked", False)))


# --------------------------------------------------------------------------------------------
# The contract's definitions.


def _eligible(member: _Member, post: _Post) -> bool:
    return post.community == member.community and post.skills <= member.skills


def _fit(member: _Member, post: _Post) -> int:
    score = len(member.skills & post.desired)
    score += 1 if post.category in member.preferences else 0
    score += 1 if post.grid is not None and post.grid == member.grid else 0
    return score


def _rank(member: _Member, post_id: str) -> int:
    """1-based place of the post in the member's list, or 6 when not listed (placed by fit)."""
    return member.choices.index(post_id) + 1 if post_id in member.choices else _FILL_RANK


def _seeks(problem: _Problem, member: _Member) -> bool:
    return bool(member.choices) or problem.fill


def _candidates(problem: _Problem, member: _Member) -> list[_Post]:
    if member.choices:
        listed = [problem.posts[p] for p in member.choices if p in problem.posts]
        return [p for p in listed if _eligible(member, p)]
    if not problem.fill:
        return []
    return [p for p in problem.posts.values() if _eligible(member, p)]


def _priority(problem: _Problem, member: _Member, post: _Post) -> tuple[int, int, str]:
    """Smaller is better: how ``post`` ranks ``member``."""
    return (-_fit(member, post), _rank(member, post.id), member.id)


# --------------------------------------------------------------------------------------------
# Reading the answer.


def _placement(problem: _Problem, answer: Mapping[str, Any]) -> dict[str, str]:
    """member id -> post id, from the first well-formed allocation of each known member."""
    placed: dict[str, str] = {}
    allocations = answer.get("allocations")
    for entry in allocations if isinstance(allocations, list) else []:
        if not isinstance(entry, Mapping):
            continue
        member, post = _id(entry, "member"), _id(entry, "post")
        if member in problem.members and post in problem.posts and member not in placed:
            placed[str(member)] = str(post)
    return placed


def _blocking(problem: _Problem, placed: Mapping[str, str]) -> list[tuple[str, str]]:
    holders: dict[str, list[str]] = {p: [] for p in problem.posts}
    for holder, held_post in placed.items():
        holders[held_post].append(holder)
    pairs: list[tuple[str, str]] = []
    for member in problem.members.values():
        if not member.choices:
            continue
        got = placed.get(member.id)
        current = _rank(member, got) if got is not None else _FILL_RANK + 1
        for r, post_id in enumerate(member.choices, start=1):
            if r >= current:
                break
            post = problem.posts.get(post_id)
            if post is None or not _eligible(member, post):
                continue
            held = holders[post.id]
            if len(held) < post.seats:
                pairs.append((member.id, post.id))
                continue
            mine = _priority(problem, member, post)
            if any(_priority(problem, problem.members[h], post) > mine for h in held):
                pairs.append((member.id, post.id))
    return pairs


def _objective_terms(problem: _Problem, placed: Mapping[str, str]) -> tuple[int, int, int]:
    unplaced = sum(1 for m in problem.members.values() if _seeks(problem, m) and m.id not in placed)
    squares = sum(_rank(problem.members[m], p) ** 2 for m, p in placed.items())
    total_fit = sum(_fit(problem.members[m], problem.posts[p]) for m, p in placed.items())
    return unplaced, squares, total_fit


def recompute_objective(problem_json: Mapping[str, Any], answer_json: Mapping[str, Any]) -> float:
    """The objective of ``docs/contracts/posts.md`` for the answer's allocations (unknown ids
    ignored)."""
    problem = _read_problem(problem_json)
    placed = _placement(problem, answer_json)
    unplaced, squares, total_fit = _objective_terms(problem, placed)
    n = len(problem.members)
    w_rank = _FIT_MAX * n + 1
    w_unplaced = _FILL_RANK**2 * n * w_rank + _FIT_MAX * n + 1
    return float(w_unplaced * unplaced + w_rank * squares - total_fit)


# --------------------------------------------------------------------------------------------
# The checks.


class _Report:
    def __init__(self) -> None:
        self.found: list[MatchViolation] = []

    def add(self, rule: str, subject: str, message: str) -> None:
        self.found.append(MatchViolation(rule, subject, message))


def verify(problem_json: Mapping[str, Any], answer_json: Mapping[str, Any]) -> list[MatchViolation]:
    """Every break of the contract by ``answer_json`` for ``problem_json`` (empty: none)."""
    problem = _read_problem(problem_json)
    report = _Report()
    if not isinstance(answer_json, Mapping):
        report.add("answer", "answer", "the answer is not a JSON object")
        return report.found
    if answer_json.get("status") not in STATUSES:
        report.add("answer", "status", f"status must be one of {', '.join(STATUSES)}")
    if answer_json.get("mode", problem.mode) != problem.mode:
        report.add("answer", "mode", f"mode is {answer_json.get('mode')!r}, not {problem.mode!r}")
    placed = _check_allocations(problem, answer_json, report)
    unassigned = _check_unassigned(problem, answer_json, placed, report)
    for member in problem.order:
        if member not in placed and member not in unassigned:
            report.add("1", f"member {member}", "appears neither in allocations nor in unassigned")
    _check_seats(problem, placed, report)
    _check_maximal(problem, placed, report)
    blocking = _blocking(problem, placed)
    if problem.mode == "stable":
        for member, post in blocking:
            report.add(
                "8",
                f"member {member}",
                f"blocking pair with {post}: the member ranks it above what they got and the post "
                "has a free seat or holds someone it ranks lower",
            )
    _check_vacancies(problem, answer_json, placed, report)
    _check_stats(problem, problem_json, answer_json, placed, blocking, report)
    return report.found


def _check_allocations(
    problem: _Problem, answer: Mapping[str, Any], report: _Report
) -> dict[str, str]:
    allocations = answer.get("allocations")
    if not isinstance(allocations, list):
        report.add("answer", "allocations", "allocations must be a list")
        return {}
    placed: dict[str, str] = {}
    for i, entry in enumerate(allocations):
        if not isinstance(entry, Mapping):
            report.add("answer", f"allocations[{i}]", "must be a JSON object")
            continue
        member_id, post_id = _id(entry, "member"), _id(entry, "post")
        if member_id not in problem.members:
            report.add("1", f"allocations[{i}]", f"unknown member {member_id!r}")
            continue
        if post_id not in problem.posts:
            report.add("1", f"member {member_id}", f"placed at unknown post {post_id!r}")
            continue
        if member_id in placed:
            report.add("1", f"member {member_id}", "is allocated more than once")
            continue
        placed[member_id] = post_id
        _check_one(problem, problem.members[member_id], problem.posts[post_id], entry, report)
    return placed


def _check_one(
    problem: _Problem, member: _Member, post: _Post, entry: Mapping[str, Any], report: _Report
) -> None:
    subject = f"member {member.id}"
    if post.community != member.community:
        report.add(
            "2",
            subject,
            f"placed at {post.id} of community {post.community}, not at home in {member.community}",
        )
    missing = sorted(post.skills - member.skills)
    if missing:
        report.add("4", subject, f"lacks {', '.join(missing)} required by {post.id}")
    rank = entry.get("rank")
    if member.choices:
        if post.id not in member.choices:
            report.add("5", subject, f"placed at {post.id}, which the member did not list")
        elif rank != member.choices.index(post.id) + 1 or isinstance(rank, bool):
            expected = member.choices.index(post.id) + 1
            report.add("5", subject, f"rank is {rank!r}; {post.id} is choice {expected}")
    else:
        if not problem.fill:
            report.add("5", subject, "listed nothing and fill_unranked is off, yet placed")
        if rank is not None:
            report.add("5", subject, f"placed by fit, so rank must be null, not {rank!r}")
    fit = _fit(member, post)
    if entry.get("fit") != fit or isinstance(entry.get("fit"), bool):
        report.add("5", subject, f"fit is {entry.get('fit')!r}; the contract gives {fit}")
    if "commitment" not in entry or _commitment(entry.get("commitment")) != post.commitment:
        report.add(
            "6", subject, f"carries commitment {entry.get('commitment')!r}, not that of {post.id}"
        )


def _check_unassigned(
    problem: _Problem, answer: Mapping[str, Any], placed: Mapping[str, str], report: _Report
) -> set[str]:
    entries = answer.get("unassigned")
    if not isinstance(entries, list):
        report.add("answer", "unassigned", "unassigned must be a list")
        return set()
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            report.add("answer", f"unassigned[{i}]", "must be a JSON object")
            continue
        member_id = _id(entry, "member")
        if member_id not in problem.members:
            report.add("1", f"unassigned[{i}]", f"unknown member {member_id!r}")
            continue
        subject = f"member {member_id}"
        if member_id in placed or member_id in seen:
            report.add("1", subject, "appears more than once among allocations and unassigned")
            continue
        seen.add(member_id)
        detail = entry.get("detail")
        if not isinstance(detail, str) or not detail.strip():
            report.add("answer", subject, "an unassigned member needs a detail sentence")
        expected = _reason(problem, problem.members[member_id], placed)
        if entry.get("reason") != expected:
            report.add("9", subject, f"reason is {entry.get('reason')!r}; it should be {expected}")
    return seen


def _reason(problem: _Problem, member: _Member, placed: Mapping[str, str]) -> str:
    if not _seeks(problem, member):
        return "no_choices"
    return "full" if _candidates(problem, member) else "no_skill"


def _check_seats(problem: _Problem, placed: Mapping[str, str], report: _Report) -> None:
    taken = Counter(placed.values())
    for post_id, count in taken.items():
        seats = problem.posts[post_id].seats
        if count > seats:
            report.add("3", f"post {post_id}", f"holds {count} members but has {seats} seats")


def _check_maximal(problem: _Problem, placed: Mapping[str, str], report: _Report) -> None:
    taken = Counter(placed.values())
    for member in problem.members.values():
        if member.id in placed or not _seeks(problem, member):
            continue
        free = [p.id for p in _candidates(problem, member) if taken[p.id] < p.seats]
        if free:
            report.add(
                "7",
                f"member {member.id}",
                f"left out although {', '.join(free)} has a free seat the member could take",
            )


def _check_vacancies(
    problem: _Problem, answer: Mapping[str, Any], placed: Mapping[str, str], report: _Report
) -> None:
    taken = Counter(placed.values())
    expected = {
        p.id: p.seats - taken[p.id] for p in problem.posts.values() if taken[p.id] < p.seats
    }
    entries = answer.get("vacancies", [])
    if not isinstance(entries, list):
        report.add("answer", "vacancies", "vacancies must be a list")
        return
    seen: set[str] = set()
    for entry in entries:
        post_id = _id(entry, "post") if isinstance(entry, Mapping) else None
        if post_id not in expected or post_id in seen:
            report.add("answer", f"vacancy {post_id}", "is not a post with seats left, or repeated")
            continue
        seen.add(post_id)
        if entry.get("seats_left") != expected[post_id]:
            report.add(
                "answer",
                f"post {post_id}",
                f"seats_left is {entry.get('seats_left')!r}, not {expected[post_id]}",
            )
    for post_id in expected.keys() - seen:
        report.add("answer", f"post {post_id}", "has seats left but is missing from vacancies")


def _check_stats(
    problem: _Problem,
    problem_json: Mapping[str, Any],
    answer: Mapping[str, Any],
    placed: Mapping[str, str],
    blocking: Sequence[tuple[str, str]],
    report: _Report,
) -> None:
    stats = answer.get("stats")
    if not isinstance(stats, Mapping):
        report.add("answer", "stats", "stats must be a JSON object")
        return
    unplaced, squares, total_fit = _objective_terms(problem, placed)
    by_rank = [0] * _CHOICES
    for member_id, post_id in placed.items():
        rank = _rank(problem.members[member_id], post_id)
        if problem.members[member_id].choices and rank <= _CHOICES:
            by_rank[rank - 1] += 1
    seats = sum(p.seats for p in problem.posts.values())
    expected: dict[str, object] = {
        "members": len(problem.members),
        "seekers": sum(1 for m in problem.members.values() if _seeks(problem, m)),
        "placed": len(placed),
        "placed_by_rank": by_rank,
        "filled": sum(1 for m in placed if not problem.members[m].choices),
        "unplaced": unplaced,
        "rank_cost": squares,
        "fit": total_fit,
        "seats": seats,
        "vacant_seats": seats - len(placed),
        "blocking_pairs": len(blocking),
        "blocking_members": len({m for m, _ in blocking}),
    }
    for key, value in expected.items():
        given = stats.get(key)
        if given != value or isinstance(given, bool):
            report.add("answer", f"stats.{key}", f"is {given!r}; the allocation gives {value!r}")
    objective = recompute_objective(problem_json, answer)
    given_objective = stats.get("objective")
    bound = stats.get("bound")
    if not isinstance(given_objective, int | float) or abs(given_objective - objective) > (
        _TOLERANCE * max(1.0, abs(objective))
    ):
        report.add("answer", "stats.objective", f"is {given_objective!r}; recomputed {objective}")
        return
    if not isinstance(bound, int | float) or bound > given_objective + _TOLERANCE * max(
        1.0, abs(objective)
    ):
        report.add("answer", "stats.bound", f"is {bound!r}; must be a number ≤ the objective")
    elif answer.get("status") == "optimal" and bound < given_objective - _TOLERANCE * max(
        1.0, abs(objective)
    ):
        report.add("answer", "status", "optimal, but the bound is below the objective")
