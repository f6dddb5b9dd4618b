"""Allocate members to posts: a min-cost flow (``optimal``) or deferred acceptance (``stable``).

The objective (``docs/contracts/posts.md``), smaller is better, with ``n`` the number of members::

    w_unplaced · U  +  w_rank · S  −  F
    w_rank     = FIT_MAX · n + 1                       (FIT_MAX = 7)
    w_unplaced = 36 · n · w_rank + FIT_MAX · n + 1     (36 = 6², the rank cost of a fill)

``U`` counts members seeking a post who get none, ``S`` the sum of squared ranks of the placed
(6² for a member placed by fit), ``F`` the sum of their fits. ``F`` lies in ``[0, FIT_MAX · n]``
and ``S`` in ``[0, 36 · n]``, so one more member placed outweighs any change of ``S`` and ``F``,
and one step of ``S`` outweighs any change of ``F``: the weights order allocations exactly
lexicographically. :func:`objective_weights` is the one place they are computed.

``optimal`` mode: members only reach posts in their own community, so each community is one
small flow network ``member → post → sink`` (plus a ``member → sink`` arc for staying unplaced),
solved exactly by :class:`SimpleMinCostFlow` with that community's own weights; lexicographic
optima of independent parts add up to the district's.

``stable`` mode: members propose down their lists; a post keeps the ``seats`` applicants it ranks
best (higher fit, then a member who ranked it higher, then the smaller member id) — the
member-proposing deferred acceptance, which yields the stable allocation every member likes best.
Members placed by fit (``fill_unranked``) then take the seats left, by the same flow.
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from ortools.graph.python import min_cost_flow

from matcher.longterm.posts.answer import Allocation, Answer, Stats, Unassigned, Vacancy
from matcher.longterm.posts.problem import (
    FIT_MAX,
    MAX_CHOICES,
    UNRANKED_RANK,
    Member,
    Post,
    Problem,
    fit,
    is_eligible,
)

__all__ = ["blocking_pairs", "objective_weights", "solve", "with_mode"]

_SHOWN = 3
"""Posts named at most in one detail sentence."""


def objective_weights(members: int) -> tuple[int, int]:
    """``(w_unplaced, w_rank)`` for a problem of ``members`` members (see the module docstring)."""
    w_rank = FIT_MAX * members + 1
    w_unplaced = UNRANKED_RANK**2 * members * w_rank + FIT_MAX * members + 1
    return w_unplaced, w_rank


@dataclass(frozen=True)
class _Arc:
    """A post a member may get: index into ``problem.posts``, rank (None: by fit) and fit."""

    post: int
    rank: int | None
    fit: int

    @property
    def rank_cost(self) -> int:
        return (UNRANKED_RANK if self.rank is None else self.rank) ** 2


@dataclass(frozen=True)
class _Placement:
    """Post index per member (-1: none) and the arc used."""

    post: tuple[int, ...]
    arc: tuple[_Arc | None, ...]


def solve(
    problem: Problem, *, time_limit_s: float | None = None, seed: int | None = None
) -> Answer:
    """Allocate a validated post problem (see :func:`validate`).

    Args:
        problem: The posts, members and options.
        time_limit_s, seed: Accepted for a uniform interface; the allocation is exact and
            deterministic in both modes, so they do not change it.

    Returns:
        The allocation; members without a post are in ``unassigned`` with a reason.
    """
    del time_limit_s, seed
    started = time.perf_counter()
    arcs, seekers = _candidates(problem)
    seats = [post.seats for post in problem.posts]
    optimal = _allocate_optimal(problem, arcs, list(range(len(problem.members))), seats)
    if problem.options.mode == "stable":
        placement = _allocate_stable(problem, arcs, seekers, seats)
    else:
        placement = optimal
    objective = _objective(problem, seekers, placement)
    bound = _objective(problem, seekers, optimal)
    return _answer(problem, arcs, seekers, placement, objective, bound, started)


# --------------------------------------------------------------------------------------------
# Candidates: the rules on who may hold which post (community, skills, choices, fill).


def _candidates(problem: Problem) -> tuple[list[list[_Arc]], list[bool]]:
    """Posts each member may get (listed ones in rank order) and who seeks a post at all."""
    index = {post.id: k for k, post in enumerate(problem.posts)}
    by_community: dict[str, list[int]] = defaultdict(list)
    for k, post in enumerate(problem.posts):
        by_community[post.community].append(k)
    arcs: list[list[_Arc]] = []
    seekers: list[bool] = []
    for member in problem.members:
        if member.choices:
            ranked = [(r, index[p]) for r, p in enumerate(member.choices, start=1)]
            arcs.append(_arcs(problem, member, ranked))
            seekers.append(True)
        elif problem.options.fill_unranked:
            unranked = [(None, k) for k in by_community.get(member.community, [])]
            arcs.append(_arcs(problem, member, unranked))
            seekers.append(True)
        else:
            arcs.append([])
            seekers.append(False)
    return arcs, seekers


def _arcs(problem: Problem, member: Member, posts: Sequence[tuple[int | None, int]]) -> list[_Arc]:
    return [
        _Arc(k, rank, fit(member, problem.posts[k]))
        for rank, k in posts
        if is_eligible(member, problem.posts[k])
    ]


# --------------------------------------------------------------------------------------------
# Optimal mode: one min-cost flow per community, one function per rule.


def _allocate_optimal(
    problem: Problem, arcs: list[list[_Arc]], members: list[int], seats: list[int]
) -> _Placement:
    """Place ``members`` (indices) into ``seats`` (per post) minimising the objective."""
    post = [-1] * len(problem.members)
    used: list[_Arc | None] = [None] * len(problem.members)
    by_community: dict[str, list[int]] = defaultdict(list)
    for m in members:
        if arcs[m]:
            by_community[problem.members[m].community].append(m)
    for community_members in by_community.values():
        for m, arc in _flow(arcs, community_members, seats):
            post[m] = arc.post
            used[m] = arc
    return _Placement(tuple(post), tuple(used))


def _flow(arcs: list[list[_Arc]], members: list[int], seats: list[int]) -> list[tuple[int, _Arc]]:
    """Solve one community's network exactly; the (member, arc) pairs that carry flow."""
    posts = sorted({a.post for m in members for a in arcs[m] if seats[a.post] > 0})
    post_node = {k: len(members) + j for j, k in enumerate(posts)}
    sink = len(members) + len(posts)
    w_unplaced, w_rank = objective_weights(len(members))
    flow = min_cost_flow.SimpleMinCostFlow()
    choice_arcs, choice_of = _add_choice_arcs(flow, arcs, members, post_node, w_rank)
    _add_seat_arcs(flow, posts, post_node, seats, sink)
    _add_unplaced_arcs(flow, len(members), sink, w_unplaced)
    supplies = np.ones(len(members) + len(posts) + 1, dtype=np.int64)
    supplies[len(members) :] = 0
    supplies[sink] = -len(members)
    flow.set_nodes_supplies(np.arange(len(supplies), dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}: the network is our bug")
    carried = flow.flows(choice_arcs) if len(choice_arcs) else np.zeros(0, dtype=np.int64)
    return [choice_of[i] for i in np.flatnonzero(carried > 0)]


def _add_choice_arcs(
    flow: min_cost_flow.SimpleMinCostFlow,
    arcs: list[list[_Arc]],
    members: list[int],
    post_node: dict[int, int],
    w_rank: int,
) -> tuple[np.ndarray, list[tuple[int, _Arc]]]:
    """Rules 2, 4, 5 (community, skills, choices): an arc only to a post the member may hold,
    costing ``w_rank · rank² − fit``."""
    tails: list[int] = []
    heads: list[int] = []
    costs: list[int] = []
    choice_of: list[tuple[int, _Arc]] = []
    for node, m in enumerate(members):
        for arc in arcs[m]:
            if arc.post in post_node:
                tails.append(node)
                heads.append(post_node[arc.post])
                costs.append(w_rank * arc.rank_cost - arc.fit)
                choice_of.append((m, arc))
    if not tails:
        return np.zeros(0, dtype=np.int64), choice_of
    ids = flow.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, dtype=np.int64),
        np.asarray(heads, dtype=np.int64),
        np.ones(len(tails), dtype=np.int64),
        np.asarray(costs, dtype=np.int64),
    )
    return np.asarray(ids, dtype=np.int64), choice_of


def _add_seat_arcs(
    flow: min_cost_flow.SimpleMinCostFlow,
    posts: list[int],
    post_node: dict[int, int],
    seats: list[int],
    sink: int,
) -> None:
    """Rule 3 (seats): a post passes at most ``seats`` members to the sink."""
    if not posts:
        return
    flow.add_arcs_with_capacity_and_unit_cost(
        np.asarray([post_node[k] for k in posts], dtype=np.int64),
        np.full(len(posts), sink, dtype=np.int64),
        np.asarray([seats[k] for k in posts], dtype=np.int64),
        np.zeros(len(posts), dtype=np.int64),
    )


def _add_unplaced_arcs(
    flow: min_cost_flow.SimpleMinCostFlow, members: int, sink: int, w_unplaced: int
) -> None:
    """The first level of the objective: a member may stay unplaced at cost ``w_unplaced``."""
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(members, dtype=np.int64),
        np.full(members, sink, dtype=np.int64),
        np.ones(members, dtype=np.int64),
        np.full(members, w_unplaced, dtype=np.int64),
    )


# --------------------------------------------------------------------------------------------
# Stable mode: member-proposing deferred acceptance, then the fill.


def _post_key(arc: _Arc, order: int) -> tuple[int, int, int]:
    """How a post ranks an applicant: larger is better (fit, then own rank, then smaller id)."""
    return (arc.fit, -(UNRANKED_RANK if arc.rank is None else arc.rank), -order)


def _member_order(problem: Problem) -> list[int]:
    """Position of each member in member-id order (the last tie-break of the posts)."""
    order = [0] * len(problem.members)
    ranked = sorted(range(len(problem.members)), key=lambda m: problem.members[m].id)
    for position, m in enumerate(ranked):
        order[m] = position
    return order


def _allocate_stable(
    problem: Problem, arcs: list[list[_Arc]], seekers: list[bool], seats: list[int]
) -> _Placement:
    order = _member_order(problem)
    held: list[list[tuple[tuple[int, int, int], int]]] = [[] for _ in problem.posts]
    arc_of: dict[int, _Arc] = {}
    next_choice = [0] * len(problem.members)
    free = deque(m for m, member in enumerate(problem.members) if member.choices and arcs[m])
    while free:
        m = free.popleft()
        while next_choice[m] < len(arcs[m]):
            arc = arcs[m][next_choice[m]]
            next_choice[m] += 1
            heap = held[arc.post]
            heapq.heappush(heap, (_post_key(arc, order[m]), m))
            arc_of[m] = arc
            if len(heap) <= seats[arc.post]:
                break
            _, rejected = heapq.heappop(heap)
            del arc_of[rejected]
            if rejected != m:
                free.append(rejected)
                break
    post = [-1] * len(problem.members)
    used: list[_Arc | None] = [None] * len(problem.members)
    for m, arc in arc_of.items():
        post[m] = arc.post
        used[m] = arc
    unranked = [m for m, member in enumerate(problem.members) if seekers[m] and not member.choices]
    if unranked:
        left = list(seats)
        for k in post:
            if k >= 0:
                left[k] -= 1
        filled = _allocate_optimal(problem, arcs, unranked, left)
        for m in unranked:
            post[m] = filled.post[m]
            used[m] = filled.arc[m]
    return _Placement(tuple(post), tuple(used))


# --------------------------------------------------------------------------------------------
# Figures: objective, blocking pairs.


def _objective(problem: Problem, seekers: list[bool], placement: _Placement) -> float:
    w_unplaced, w_rank = objective_weights(len(problem.members))
    unplaced = sum(1 for m, s in enumerate(seekers) if s and placement.post[m] < 0)
    rank_cost = sum(a.rank_cost for a in placement.arc if a is not None)
    total_fit = sum(a.fit for a in placement.arc if a is not None)
    return float(w_unplaced * unplaced + w_rank * rank_cost - total_fit)


def blocking_pairs(
    problem: Problem, arcs: list[list[_Arc]], placement: _Placement
) -> list[tuple[int, int]]:
    """(member, post) pairs where the member ranks the post above what they got and the post has
    a free seat or holds someone it ranks below the member."""
    order = _member_order(problem)
    holders: list[list[int]] = [[] for _ in problem.posts]
    for m, k in enumerate(placement.post):
        if k >= 0:
            holders[k].append(m)
    worst: list[tuple[int, int, int] | None] = [None] * len(problem.posts)
    for k, held in enumerate(holders):
        if len(held) >= problem.posts[k].seats and held:
            keys = []
            for m in held:
                arc = placement.arc[m]
                assert arc is not None
                keys.append(_post_key(arc, order[m]))
            worst[k] = min(keys)
    pairs: list[tuple[int, int]] = []
    for m, member in enumerate(problem.members):
        if not member.choices:
            continue
        got = placement.arc[m]
        current = MAX_CHOICES + 1 if got is None or got.rank is None else got.rank
        for arc in arcs[m]:
            assert arc.rank is not None
            if arc.rank >= current:
                break
            bar = worst[arc.post]
            if bar is None or _post_key(arc, order[m]) > bar:
                pairs.append((m, arc.post))
    return pairs


# --------------------------------------------------------------------------------------------
# The answer: allocations, reasons, vacancies, stats.


def _answer(
    problem: Problem,
    arcs: list[list[_Arc]],
    seekers: list[bool],
    placement: _Placement,
    objective: float,
    bound: float,
    started: float,
) -> Answer:
    allocations: list[Allocation] = []
    unassigned: list[Unassigned] = []
    taken = [0] * len(problem.posts)
    for m, member in enumerate(problem.members):
        arc = placement.arc[m]
        if arc is None:
            unassigned.append(_explain(problem, m, arcs[m], seekers[m]))
            continue
        post = problem.posts[arc.post]
        taken[arc.post] += 1
        allocations.append(Allocation(member.id, post.id, arc.rank, arc.fit, post.commitment))
    listed_by: dict[str, list[Member]] = defaultdict(list)
    for member in problem.members:
        for pid in member.choices:
            listed_by[pid].append(member)
    vacancies = tuple(
        _vacancy(post, post.seats - taken[k], listed_by[post.id])
        for k, post in enumerate(problem.posts)
        if taken[k] < post.seats
    )
    blocking = blocking_pairs(problem, arcs, placement)
    by_rank = [0] * MAX_CHOICES
    for a in allocations:
        if a.rank is not None:
            by_rank[a.rank - 1] += 1
    seats = sum(post.seats for post in problem.posts)
    stats = Stats(
        objective=objective,
        bound=bound,
        members=len(problem.members),
        seekers=sum(seekers),
        placed=len(allocations),
        placed_by_rank=tuple(by_rank),
        filled=sum(1 for a in allocations if a.rank is None),
        unplaced=sum(1 for m, s in enumerate(seekers) if s and placement.post[m] < 0),
        rank_cost=sum(a.rank_cost for a in placement.arc if a is not None),
        fit=sum(a.fit for a in allocations),
        seats=seats,
        vacant_seats=seats - len(allocations),
        blocking_pairs=len(blocking),
        blocking_members=len({m for m, _ in blocking}),
        solve_s=round(time.perf_counter() - started, 4),
    )
    return Answer(
        status="optimal" if objective <= bound else "feasible",
        mode=problem.options.mode,
        allocations=tuple(allocations),
        unassigned=tuple(unassigned),
        vacancies=vacancies,
        stats=stats,
    )


def _ordinal(rank: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(rank, f"{rank}th")


def _seats(n: int) -> str:
    return f"{n} seat" if n == 1 else f"{n} seats"


def _more(items: list[str]) -> str:
    shown = "; ".join(items[:_SHOWN])
    return shown + (f"; and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _explain(problem: Problem, m: int, arcs: list[_Arc], seeker: bool) -> Unassigned:
    member = problem.members[m]
    if not seeker:
        return Unassigned(
            member.id,
            "no_choices",
            "listed no post; ask the member to choose from the menu, or set "
            "options.fill_unranked to place members who listed nothing by fit",
        )
    if not arcs:
        if member.choices:
            posts = {p.id: p for p in problem.posts if p.community == member.community}
            gaps = []
            for r, pid in enumerate(member.choices, start=1):
                missing = sorted(set(posts[pid].skills) - set(member.skills))
                gaps.append(f"{pid} ({_ordinal(r)} choice) needs {', '.join(missing)}")
            detail = (
                f"lacks the required skills of every post listed: {_more(gaps)}; "
                "ask the member to choose posts they qualify for"
            )
        else:
            own = [p for p in problem.posts if p.community == member.community]
            detail = (
                f"community {member.community} has set no posts"
                if not own
                else f"holds the required skills of none of the {len(own)} posts of community "
                f"{member.community}"
            )
            detail += "; ask the member to choose, or set a post they can hold"
        return Unassigned(member.id, "no_skill", detail)
    described = []
    for arc in arcs:
        post = problem.posts[arc.post]
        which = f"{_ordinal(arc.rank)} choice" if arc.rank is not None else "by fit"
        described.append(f"{post.id} ({which}, {_seats(post.seats)})")
    if problem.options.mode == "stable":
        why = "their seats went to members the posts rank higher (fit, then the member's own rank)"
    else:
        why = "their seats went to members who would otherwise be left out or ranked them higher"
    return Unassigned(
        member.id,
        "full",
        f"every post the member could hold is full: {_more(described)}; {why}; "
        "add a seat or ask the member to choose more posts",
    )


def _vacancy(post: Post, seats_left: int, listing: list[Member]) -> Vacancy:
    qualified = [member for member in listing if is_eligible(member, post)]
    if not listing:
        detail = "no member listed this post"
    elif not qualified:
        needs = ", ".join(post.skills)
        detail = f"listed by {len(listing)} member(s), none holding its required skills ({needs})"
    else:
        detail = (
            f"listed by {len(listing)} member(s), {len(qualified)} qualified, all placed at "
            "posts they ranked higher"
        )
    return Vacancy(
        post.id,
        seats_left,
        f"{_seats(seats_left)} left: {detail}; promote the post or recruit for it",
    )


def with_mode(problem: Problem, mode: str) -> Problem:
    """The same problem solved in another mode (``optimal`` or ``stable``)."""
    return replace(problem, options=replace(problem.options, mode=mode))
