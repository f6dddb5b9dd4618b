"""Reference checks on a grouping problem whose shape is already right.

The schema at the edge (``service.contracts.groups``) checks types and ranges; this module checks
what only the whole problem can tell: unique member ids, a usable size range, together and apart
pairs naming two different known members, together pairs inside one community. Every error names
its field path.
"""

from __future__ import annotations

from collections import defaultdict

from matcher.errors import InvalidProblemError
from matcher.longterm.groups.problem import GroupProblem

MIN_GROUP_SIZE = 2
"""A group of one is no group: ``group_size.min`` is at least this."""


def validate(problem: GroupProblem) -> None:
    """Raise :class:`InvalidProblemError` listing every reference error, or return ``None``."""
    errors: dict[str, list[str]] = defaultdict(list)
    _check_members(problem, errors)
    _check_sizes(problem, errors)
    _check_pairs(problem, "together", errors)
    _check_pairs(problem, "apart", errors)
    if errors:
        raise InvalidProblemError(dict(errors))


def _check_members(problem: GroupProblem, errors: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for i, member in enumerate(problem.members):
        if member.id in seen:
            errors[f"members[{i}].id"].append(f"duplicate member id {member.id!r}")
        seen.add(member.id)


def _check_sizes(problem: GroupProblem, errors: dict[str, list[str]]) -> None:
    size = problem.group_size
    if size.min < MIN_GROUP_SIZE:
        errors["group_size.min"].append(f"must be at least {MIN_GROUP_SIZE}")
    if size.max < size.min:
        errors["group_size.max"].append(f"must not be below group_size.min ({size.min})")
    options = problem.options
    if options.far_km <= 0:
        errors["options.far_km"].append("must be greater than 0")
    if not 0.0 <= options.related_industry_similarity <= 1.0:
        errors["options.related_industry_similarity"].append("must be between 0 and 1")


def _check_pairs(problem: GroupProblem, name: str, errors: dict[str, list[str]]) -> None:
    community = {m.id: m.community for m in problem.members}
    pairs: tuple[tuple[str, str], ...] = getattr(problem, name)
    for i, pair in enumerate(pairs):
        path = f"{name}[{i}]"
        if len(pair) != 2:
            errors[path].append("must name exactly two members")
            continue
        known = True
        for j, member in enumerate(pair):
            if member not in community:
                errors[f"{path}[{j}]"].append(f"unknown member {member!r}")
                known = False
        if pair[0] == pair[1]:
            errors[path].append(f"names {pair[0]!r} twice; a pair needs two different members")
        elif known and name == "together" and community[pair[0]] != community[pair[1]]:
            errors[path].append(
                f"{pair[0]!r} (community {community[pair[0]]!r}) and {pair[1]!r} (community "
                f"{community[pair[1]]!r}) live in different communities; groups never cross "
                "communities"
            )
