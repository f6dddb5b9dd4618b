"""The answer: each group described (centre, radius, trades, shared interests, a sentence), the
members left out with reasons, objective, bound, gap and status."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from matcher.geo import haversine_km
from matcher.longterm.groups.answer import (
    Group,
    GroupAnswer,
    GroupStats,
    IndustryCount,
    Unassigned,
)
from matcher.longterm.groups.community import Community, Plan
from matcher.longterm.groups.problem import GroupProblem, Location
from matcher.longterm.groups.similarity import group_share

__all__ = ["assemble_answer", "describe_group"]


def describe_group(comm: Community, members: list[int], gid: str) -> Group:
    """A group of the answer: members, centre, radius, trades, shared interests, summary."""
    people = [comm.members[i] for i in members]
    lat = np.array([m.location.lat for m in people])
    lon = np.array([m.location.lon for m in people])
    centre = Location(round(float(lat.mean()), 6), round(float(lon.mean()), 6))
    radius = float(np.max(haversine_km(centre.lat, centre.lon, lat, lon)))
    pairwise = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    s = len(people)
    mean_km = float(pairwise.sum() / (s * (s - 1))) if s > 1 else 0.0
    trades = Counter(m.industry for m in people if m.industry is not None)
    industries = tuple(
        IndustryCount(name, count)
        for name, count in sorted(trades.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    held = Counter(c for m in people for c in m.interests)
    shared = tuple(
        name
        for name, count in sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))
        if 2 * count >= s
    )
    share = group_share(comm.d, members)
    return Group(
        id=gid,
        community=comm.id,
        members=tuple(m.id for m in people),
        centre=centre,
        radius_km=round(radius, 3),
        mean_distance_km=round(mean_km, 3),
        industries=industries,
        shared_interests=shared,
        dissimilarity=round(share, 6),
        summary=_summary(s, radius, mean_km, industries, shared, held),
    )


def _summary(
    size: int,
    radius_km: float,
    mean_km: float,
    industries: tuple[IndustryCount, ...],
    shared: tuple[str, ...],
    held: Counter[str],
) -> str:
    parts = [f"{size} members living within {radius_km:.1f} km of the centre"]
    parts[0] += f" ({mean_km:.1f} km apart on average)"
    if industries:
        shown = ", ".join(f"{x.members} in {x.industry}" for x in industries[:3])
        more = len(industries) - 3
        parts.append(
            shown + (f" and {more} other trade{'s' if more > 1 else ''}" if more > 0 else "")
        )
    if shared:
        everyone = [c for c in shared if held[c] == size]
        if everyone:
            parts.append("all claim or wish for " + " and ".join(everyone[:3]))
        most = [c for c in shared if held[c] < size]
        if most:
            parts.append("at least half claim or wish for " + " and ".join(most[:3]))
    else:
        parts.append("no post or service intention held by half of them")
    return "; ".join(parts)


def assemble_answer(
    problem: GroupProblem, communities: list[Community], plans: list[Plan], solve_s: float
) -> GroupAnswer:
    """The answer from every community's plan: groups in order, reasons, status and stats."""
    groups: list[Group] = []
    unassigned: list[Unassigned] = []
    for comm, plan in zip(communities, plans, strict=True):
        ordered = sorted(plan.groups, key=lambda g: min(g))
        for k, members in enumerate(ordered, start=1):
            groups.append(describe_group(comm, sorted(members), f"g-{comm.id}-{k:02d}"))
        for i, (reason, detail) in sorted(plan.out.items()):
            unassigned.append(Unassigned(comm.members[i].id, comm.id, reason, detail))
    dissimilarity = math.fsum(g.dissimilarity for g in groups)
    penalty = problem.options.weights.unassigned * len(unassigned)
    objective = dissimilarity + penalty
    bound = min(objective, math.fsum(p.bound for p in plans) + penalty)
    exact = sum(1 for p in plans if p.exact)
    if not groups and problem.members:
        status = "no_solution"
    elif exact == len(plans) or not problem.members:
        status = "optimal"
    else:
        status = "feasible"
    methods = Counter(p.method for p in plans)
    stats = GroupStats(
        objective=round(objective, 6),
        bound=round(bound, 6),
        gap=round((objective - bound) / max(abs(objective), 1.0), 6),
        dissimilarity=round(dissimilarity, 6),
        unassigned=len(unassigned),
        groups=len(groups),
        communities=len(communities),
        exact_communities=exact,
        solve_s=round(solve_s, 3),
        method=", ".join(f"{name}: {count}" for name, count in sorted(methods.items())),
    )
    return GroupAnswer(status, tuple(groups), tuple(unassigned), stats)
