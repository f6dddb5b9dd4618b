"""Synthetic districts of members to group, around Zhengzhou, for demos, tests and benchmarks.

Communities lie within a few km of Erqi Square; each has a few housing estates, and its members
live mostly in them (a few hundred metres across), some scattered. Members work in a dozen
industries (a few pairs related: education~culture, health~elderly care, law~mediation, IT~finance,
construction~transport); their claimed posts and service intentions lean towards their trade.
About 1% of members come as together pairs (spouses, colleagues sharing a car) and 0.5% as apart
pairs (a manager and their report).
"""

from __future__ import annotations

import math

import numpy as np

from matcher.longterm.groups.problem import (
    CATEGORIES,
    GroupMember,
    GroupOptions,
    GroupProblem,
    GroupSize,
    Location,
)

CENTRE = Location(34.7466, 113.6253)
"""Zhengzhou, Erqi Square."""
KM_PER_DEG_LAT = 111.2

INDUSTRIES: tuple[str, ...] = (
    "education",
    "culture",
    "health",
    "elderly_care",
    "law",
    "mediation",
    "it",
    "finance",
    "construction",
    "transport",
    "government",
    "retail",
)
RELATED_INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("education", "culture"),
    ("health", "elderly_care"),
    ("law", "mediation"),
    ("it", "finance"),
    ("construction", "transport"),
)
AFFINITY: dict[str, tuple[str, ...]] = {
    "education": ("tutoring", "policy_publicity"),
    "culture": ("policy_publicity", "tutoring"),
    "health": ("health", "elderly_care"),
    "elderly_care": ("elderly_care", "health"),
    "law": ("legal_aid", "mediation"),
    "mediation": ("mediation", "legal_aid"),
    "it": ("digital_help", "repairs"),
    "finance": ("poverty_relief", "digital_help"),
    "construction": ("repairs", "sanitation"),
    "transport": ("sanitation", "repairs"),
    "government": ("policy_publicity", "mediation"),
    "retail": ("poverty_relief", "sanitation"),
}
"""Categories a member of each industry tends to claim or wish for."""


def _offset(rng: np.random.Generator, centre: Location, radius_km: float) -> Location:
    angle = rng.uniform(0, 2 * math.pi)
    r = radius_km * math.sqrt(rng.uniform(0, 1))
    dlat = r * math.sin(angle) / KM_PER_DEG_LAT
    dlon = r * math.cos(angle) / (KM_PER_DEG_LAT * math.cos(math.radians(centre.lat)))
    return Location(round(centre.lat + dlat, 6), round(centre.lon + dlon, 6))


def _counts(rng: np.random.Generator, total: int, parts: int) -> list[int]:
    """``parts`` community sizes adding up to ``total``, varied (a few large, a few small)."""
    weights = rng.lognormal(0.0, 0.45, size=parts)
    sizes = np.floor(weights / weights.sum() * total).astype(np.int64)
    for k in rng.choice(parts, size=total - int(sizes.sum()), replace=True):
        sizes[k] += 1
    return [int(s) for s in sizes]


def _categories(
    rng: np.random.Generator, industry: str | None, low: int, high: int
) -> tuple[str, ...]:
    count = int(rng.integers(low, high + 1))
    chosen: list[str] = []
    leaning = AFFINITY.get(industry or "", ())
    while len(chosen) < count:
        pool = leaning if leaning and rng.uniform() < 0.6 else CATEGORIES
        pick = str(pool[int(rng.integers(len(pool)))])
        if pick not in chosen:
            chosen.append(pick)
    return tuple(sorted(chosen))


def generate(
    *,
    communities: int = 30,
    members: int = 10000,
    seed: int = 0,
    group_size: tuple[int, int] = (6, 10),
    together_share: float = 0.01,
    apart_share: float = 0.005,
    time_limit_s: float = 60.0,
) -> GroupProblem:
    """A district: ``members`` members in ``communities`` communities, to be grouped.

    Args:
        communities: Number of communities (at least 1).
        members: Members in all, split unevenly between communities.
        seed: Random seed; the same arguments give the same problem.
        group_size: ``(min, max)`` group size.
        together_share, apart_share: Share of members in a together / apart pair.
        time_limit_s: Written into the problem's options.
    """
    if communities < 1 or members < 0:
        raise ValueError("communities must be at least 1 and members at least 0")
    rng = np.random.default_rng(seed)
    district_km = 1.5 * math.sqrt(communities)
    people: list[GroupMember] = []
    together: list[tuple[str, str]] = []
    apart: list[tuple[str, str]] = []
    next_id = 1
    for c, count in enumerate(_counts(rng, members, communities)):
        cid = f"c-{c + 1:02d}"
        centre = _offset(rng, CENTRE, district_km)
        estates = [_offset(rng, centre, 0.8) for _ in range(int(rng.integers(3, 7)))]
        local: list[GroupMember] = []
        for _ in range(count):
            home = (
                _offset(rng, estates[int(rng.integers(len(estates)))], 0.2)
                if rng.uniform() < 0.85
                else _offset(rng, centre, 1.2)
            )
            industry = (
                None
                if rng.uniform() < 0.03
                else str(INDUSTRIES[int(rng.integers(len(INDUSTRIES)))])
            )
            local.append(
                GroupMember(
                    id=f"m-{next_id:05d}",
                    community=cid,
                    location=home,
                    industry=industry,
                    posts=_categories(rng, industry, 1, 2),
                    preferences=_categories(rng, industry, 1, 3),
                )
            )
            next_id += 1
        _pairs(rng, local, together_share, apart_share, together, apart)
        people.extend(local)
    return GroupProblem(
        members=tuple(people),
        group_size=GroupSize(*group_size),
        related_industries=RELATED_INDUSTRIES,
        together=tuple(together),
        apart=tuple(apart),
        options=GroupOptions(time_limit_s=time_limit_s, seed=seed),
    )


def _pairs(
    rng: np.random.Generator,
    local: list[GroupMember],
    together_share: float,
    apart_share: float,
    together: list[tuple[str, str]],
    apart: list[tuple[str, str]],
) -> None:
    """Disjoint random together pairs (the second moves next door) and apart pairs."""
    n = len(local)
    n_together = int(rng.binomial(n // 2, together_share)) if n >= 2 else 0
    n_apart = int(rng.binomial(n // 2, apart_share)) if n >= 2 else 0
    order = [int(k) for k in rng.permutation(n)]
    for t in range(n_together + n_apart):
        if 2 * t + 1 >= n:
            break
        a, b = order[2 * t], order[2 * t + 1]
        if t < n_together:
            local[b] = GroupMember(
                id=local[b].id,
                community=local[b].community,
                location=_offset(rng, local[a].location, 0.05),
                industry=local[b].industry,
                posts=local[b].posts,
                preferences=local[b].preferences,
            )
            together.append((local[a].id, local[b].id))
        else:
            apart.append((local[a].id, local[b].id))
