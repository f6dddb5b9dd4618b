"""Group each community's members: admission, then CP-SAT (small) or construction + local search.

The objective (``docs/contracts/groups.md``), smaller is better::

    Σ_grouped members i  mean_{j in i's group, j != i} d(i, j)  +  w.unassigned · |left out|

    d(i, j) = w.distance · min(distance_km(i, j) / far_km, 1)
            + w.industry · (1 − industry similarity)        (same 1, related r, else 0)
            + w.interest · (1 − Jaccard(posts ∪ preferences of i, of j))

A group's share is ``2 · P_g / (s_g − 1)`` with ``P_g`` the sum of ``d`` over its unordered pairs
and ``s_g`` its size, so the objective does not favour large or small groups for their own sake.

Per community, the stages are lexicographic: leave out as few members as the rules force
(admission: communities too small, together sets too large or contradicting an apart pair,
counts that no set of allowed sizes adds up to), then minimise dissimilarity:

* communities of at most :data:`EXACT_MAX_MEMBERS` members: CP-SAT over every size pattern
  (exact up to the integer scaling :data:`OBJECTIVE_SCALE`);
* larger ones: a seeded construction with ``k = ⌊n / min⌋`` groups (k-medoids++ seeds, balanced
  assignment by min-cost flow so that the size range holds, a few medoid rounds), repair of
  apart pairs, then local search (block moves and member swaps, exact deltas) with near-swap
  perturbations (iterated local search) until the community's share of the time limit or
  patience runs out; last, anyone out who fits a group is put back.

The bound is exact for communities CP-SAT proved; elsewhere each member's mean dissimilarity is
bounded below by the mean of its nearest admissible community-mates (the k-nearest bound).

The parts, in the order a community meets them: :mod:`.similarity` (``d`` and a group's share),
:mod:`.community` (local indices, the plan), :mod:`.admission` (who is out, and why),
:mod:`.exact` (CP-SAT), :mod:`.seeding` (construction), :mod:`.repair`, :mod:`.improve` (local
search), :mod:`.bound` (the k-nearest bound) and :mod:`.describe` (the answer). This module
only chooses between them and shares out the time limit.
"""

from __future__ import annotations

import time

import numpy as np

from matcher.longterm.groups.admission import admit, choose_left_out, explain_left_out, fewest_out
from matcher.longterm.groups.answer import GroupAnswer
from matcher.longterm.groups.bound import knn_bound
from matcher.longterm.groups.community import Community, Plan, partner_lists, split_by_community
from matcher.longterm.groups.describe import assemble_answer
from matcher.longterm.groups.exact import size_patterns, solve_exact
from matcher.longterm.groups.improve import search
from matcher.longterm.groups.problem import GroupProblem
from matcher.longterm.groups.similarity import OBJECTIVE_SCALE, dissimilarity_matrix
from matcher.longterm.groups.validation import validate

__all__ = [
    "EXACT_MAX_MEMBERS",
    "OBJECTIVE_SCALE",
    "dissimilarity_matrix",
    "solve",
]

EXACT_MAX_MEMBERS = 12
"""Communities with at most this many admitted members are solved by CP-SAT."""
EXACT_MAX_PATTERNS = 40
"""...unless their size range allows more group-size patterns than this."""

MIN_COMMUNITY_S = 0.02
"""Each community gets at least this many seconds, whatever is left of the time limit."""


def solve(
    problem: GroupProblem, *, time_limit_s: float | None = None, seed: int | None = None
) -> GroupAnswer:
    """Group every community's members.

    Args:
        problem: The members, size range, related industries, together and apart pairs.
        time_limit_s, seed: Override ``problem.options``.

    Returns:
        The groups with centres and reasons, members left out with reasons, the objective and a
        lower bound.

    Raises:
        InvalidProblemError: If :func:`validate` finds reference errors.
    """
    validate(problem)
    t0 = time.perf_counter()
    limit = float(problem.options.time_limit_s if time_limit_s is None else time_limit_s)
    seed = int(problem.options.seed if seed is None else seed)
    rng = np.random.default_rng(seed)
    communities = split_by_community(problem)
    remaining_members = sum(len(c.members) for c in communities)
    plans = []
    for comm in communities:
        left = max(0.0, t0 + 0.9 * limit - time.perf_counter())
        budget = max(MIN_COMMUNITY_S, left * len(comm.members) / max(remaining_members, 1))
        plans.append(_solve_community(comm, problem, rng, seed, time.perf_counter() + budget))
        remaining_members -= len(comm.members)
    return assemble_answer(problem, communities, plans, time.perf_counter() - t0)


def _solve_community(
    comm: Community,
    problem: GroupProblem,
    rng: np.random.Generator,
    seed: int,
    deadline: float,
) -> Plan:
    """Admission, then CP-SAT (small communities) or construction and local search, the bound,
    and a reason for everyone left out."""
    low, high = problem.group_size.min, problem.group_size.max
    blocks, plan = admit(comm, low, high)
    if not blocks:
        return plan
    n_admitted = sum(len(b) for b in blocks)
    fewest = fewest_out([len(b) for b in blocks], low, high)
    exact = None
    if (
        n_admitted <= EXACT_MAX_MEMBERS
        and sum(len(size_patterns(c, low, high)) for c in range(n_admitted + 1))
        <= EXACT_MAX_PATTERNS
    ):
        exact = solve_exact(comm, blocks, low, high, seed, deadline)
    if exact is not None:
        plan.groups = exact.groups
        left_out = exact.out
        plan.exact = exact.proven
        plan.bound = max(exact.bound, knn_bound(comm, plan.groups, low, high))
        plan.method = "cpsat"
    else:
        kept, dropped = choose_left_out(comm.d, blocks, fewest, low)
        partners = partner_lists(len(comm.members), comm.apart)
        if kept:
            part = search(comm.d, kept, dropped, low, high, partners, rng, deadline)
            plan.groups = part.groups()
            left_out = [i for b in blocks for i in b if part.group[i] < 0]
        else:
            left_out = [i for b in dropped for i in b]
        plan.bound = knn_bound(comm, plan.groups, low, high)
        plan.method = "search"
    explain_left_out(comm, plan, left_out, fewest, low, high)
    return plan
