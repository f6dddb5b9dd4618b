"""Reference checks on a post problem whose shape is already right.

The schema at the edge (``service.contracts.posts``) checks types and ranges; this module checks
what only the whole problem can tell: unique ids, and choices that name known posts of the
member's own community, each at most once. Every error names its field path.
"""

from __future__ import annotations

from collections import defaultdict

from matcher.errors import InvalidProblemError
from matcher.longterm.posts.problem import MAX_CHOICES, MAX_DESIRED_SKILLS, MODES, Problem


def validate(problem: Problem) -> None:
    """Raise :class:`InvalidProblemError` listing every reference error, or return ``None``."""
    errors: dict[str, list[str]] = defaultdict(list)
    _check_posts(problem, errors)
    _check_members(problem, errors)
    if problem.options.mode not in MODES:
        errors["options.mode"].append(f"must be one of: {', '.join(MODES)}")
    if errors:
        raise InvalidProblemError(dict(errors))


def _check_posts(problem: Problem, errors: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for i, post in enumerate(problem.posts):
        if post.id in seen:
            errors[f"posts[{i}].id"].append(f"duplicate post id {post.id!r}")
        seen.add(post.id)
        if post.seats < 1:
            errors[f"posts[{i}].seats"].append("must be at least 1")
        if len(post.desired_skills) > MAX_DESIRED_SKILLS:
            errors[f"posts[{i}].desired_skills"].append(
                f"must list at most {MAX_DESIRED_SKILLS} skills"
            )


def _check_members(problem: Problem, errors: dict[str, list[str]]) -> None:
    community_of = {p.id: p.community for p in problem.posts}
    seen: set[str] = set()
    for i, member in enumerate(problem.members):
        if member.id in seen:
            errors[f"members[{i}].id"].append(f"duplicate member id {member.id!r}")
        seen.add(member.id)
        if len(member.choices) > MAX_CHOICES:
            errors[f"members[{i}].choices"].append(f"must list at most {MAX_CHOICES} posts")
        listed: set[str] = set()
        for j, post in enumerate(member.choices):
            path = f"members[{i}].choices[{j}]"
            if post not in community_of:
                errors[path].append(f"unknown post {post!r}")
            elif community_of[post] != member.community:
                errors[path].append(
                    f"post {post!r} belongs to community {community_of[post]!r}, "
                    f"not the member's {member.community!r}"
                )
            if post in listed:
                errors[path].append(f"lists post {post!r} twice")
            listed.add(post)
