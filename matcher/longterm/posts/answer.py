"""The post allocation (``docs/contracts/posts.md``) as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.longterm.posts.problem import Commitment

STATUSES = ("optimal", "feasible", "no_solution")
REASONS = ("no_choices", "no_skill", "full")
"""Why a member holds no post: they listed none (and ``fill_unranked`` is off); they lack the
required skills of every post they could get; every post they could get is full."""


@dataclass(frozen=True)
class Allocation:
    """A member placed at a post; ``rank`` is the post's place in their list (None: by fit)."""

    member: str
    post: str
    rank: int | None
    fit: int
    commitment: Commitment | None


@dataclass(frozen=True)
class Unassigned:
    """A member without a post, why (one of :data:`REASONS`) and what a dispatcher can do."""

    member: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Vacancy:
    """A post with seats left after the allocation."""

    post: str
    seats_left: int
    detail: str


@dataclass(frozen=True)
class Stats:
    """Figures of the allocation; ``objective`` and ``bound`` as defined in
    ``docs/contracts/posts.md``.

    ``placed_by_rank[k]`` counts members placed at their (k+1)-th choice; ``filled`` those placed
    by fit. ``blocking_pairs`` counts (member, post) pairs that would both rather be together
    than with what they got; ``blocking_members`` the members in at least one.
    """

    objective: float
    bound: float
    members: int
    seekers: int
    placed: int
    placed_by_rank: tuple[int, ...]
    filled: int
    unplaced: int
    rank_cost: int
    fit: int
    seats: int
    vacant_seats: int
    blocking_pairs: int
    blocking_members: int
    solve_s: float


@dataclass(frozen=True)
class Answer:
    """Status, the allocation, members without a post, posts with seats left, and figures."""

    status: str
    mode: str
    allocations: tuple[Allocation, ...]
    unassigned: tuple[Unassigned, ...]
    vacancies: tuple[Vacancy, ...]
    stats: Stats
