"""Synthetic districts of vulnerable residents and members, around Zhengzhou, for hand-in-hand
pairing: demos, tests and benchmarks.

Residents and members live within about 1.2 km of their community's centre, a few residents on
the outskirts (2.5–4 km). Residents are elderly (45%), poor (20%), disabled (15%), students (15%)
or orphans (5%), one in five in two groups; they need one to three of the five proxies and
sometimes a skill (tutoring for students, sign language or health care for the disabled, elderly
care, counselling for orphans, legal aid for the poor). The vulnerability score follows the
groups. About one in four members takes part this period (one to three residents each), offering
two to five proxies. About 40% of residents had a partner last period; a few of those pairs no
longer work: the member left, moved away, no longer offers what the resident needs, or takes
fewer residents now.
"""

from __future__ import annotations

import math

import numpy as np

from matcher.longterm.pairs.problem import (
    PROXIES,
    ExistingPair,
    Location,
    PairMember,
    PairOptions,
    PairProblem,
    Resident,
)

CENTRE = Location(34.7466, 113.6253)
"""Zhengzhou, Erqi Square."""
KM_PER_DEG_LAT = 111.2
SKILLS: tuple[str, ...] = (
    "elderly_care",
    "tutoring",
    "health",
    "legal_aid",
    "sign_language",
    "counselling",
    "repairs",
    "digital_help",
)
_GROUP_SHARE = {"elderly": 0.45, "poor": 0.20, "disabled": 0.15, "student": 0.15, "orphan": 0.05}
_GROUP_BASE = {"orphan": 4, "disabled": 4, "elderly": 3, "poor": 3, "student": 2}
_GROUP_SKILLS: dict[str, tuple[tuple[str, float], ...]] = {
    "elderly": (("elderly_care", 0.3),),
    "student": (("tutoring", 0.7),),
    "orphan": (("counselling", 0.5), ("tutoring", 0.3)),
    "disabled": (("sign_language", 0.1), ("health", 0.3)),
    "poor": (("legal_aid", 0.1),),
}


def _offset(rng: np.random.Generator, centre: Location, low_km: float, high_km: float) -> Location:
    angle = rng.uniform(0, 2 * math.pi)
    r = math.sqrt(rng.uniform(low_km**2, high_km**2))
    dlat = r * math.sin(angle) / KM_PER_DEG_LAT
    dlon = r * math.cos(angle) / (KM_PER_DEG_LAT * math.cos(math.radians(centre.lat)))
    return Location(round(centre.lat + dlat, 6), round(centre.lon + dlon, 6))


def _pick(rng: np.random.Generator, names: tuple[str, ...], low: int, high: int) -> tuple[str, ...]:
    count = int(rng.integers(low, high + 1))
    return tuple(sorted(str(x) for x in rng.choice(names, size=count, replace=False)))


def _resident(rng: np.random.Generator, rid: str, community: str, centre: Location) -> Resident:
    names = tuple(_GROUP_SHARE)
    shares = np.array(list(_GROUP_SHARE.values()))
    first = str(rng.choice(names, p=shares))
    chosen = {first}
    if rng.uniform() < 0.2:
        chosen.add(str(rng.choice(names, p=shares)))
    groups = tuple(g for g in _GROUP_SHARE if g in chosen)  # a fixed order: rng draws follow it
    skills = {s for g in groups for s, p in _GROUP_SKILLS[g] if rng.uniform() < p}
    vulnerability = max(_GROUP_BASE[g] for g in groups) + (len(groups) > 1)
    vulnerability += int(rng.uniform() < 0.2) - int(rng.uniform() < 0.2)
    far = rng.uniform() < 0.05
    return Resident(
        id=rid,
        community=community,
        location=_offset(rng, centre, 2.5, 4.0) if far else _offset(rng, centre, 0.0, 1.2),
        groups=groups,
        needs=_pick(rng, PROXIES, 1, 3),
        vulnerability=min(5, max(1, vulnerability)),
        skills=tuple(sorted(skills)),
    )


def _member(rng: np.random.Generator, mid: str, community: str, centre: Location) -> PairMember:
    taking = rng.uniform() < 0.25
    places = int(rng.integers(1, 4)) if taking else 0
    return PairMember(
        id=mid,
        community=community,
        location=_offset(rng, centre, 0.0, 1.2),
        skills=_pick(rng, SKILLS, 0, 3),
        proxies=_pick(rng, PROXIES, 2, 5),
        max_residents=None if places == 2 else places,
        max_distance_km=None if rng.uniform() < 0.7 else float(rng.choice([1.5, 2.0, 4.0])),
    )


def generate(
    *,
    communities: int = 30,
    members: int = 10000,
    seed: int = 0,
    residents: int = 3000,
    existing_share: float = 0.4,
    broken_share: float = 0.08,
    time_limit_s: float = 30.0,
) -> PairProblem:
    """A district: ``residents`` vulnerable residents and ``members`` members in ``communities``.

    Args:
        communities: Number of communities (at least 1); people are spread evenly-ish.
        members, residents: Totals over the district.
        seed: Random seed; the same arguments give the same problem.
        existing_share: Share of residents paired last period (with a member who could serve).
        broken_share: Share of those pairs made unworkable (member left, moved, needs changed,
            capacity lowered).
        time_limit_s: Written into the problem's options.
    """
    if communities < 1 or members < 0 or residents < 0:
        raise ValueError("communities must be at least 1; members and residents at least 0")
    rng = np.random.default_rng(seed)
    district_km = 1.5 * math.sqrt(communities)
    centres = [_offset(rng, CENTRE, 0.0, district_km) for _ in range(communities)]
    home_r = rng.integers(communities, size=residents)
    home_m = rng.integers(communities, size=members)
    people = [
        _resident(rng, f"r-{k + 1:05d}", f"c-{c + 1:02d}", centres[c]) for k, c in enumerate(home_r)
    ]
    helpers = [
        _member(rng, f"m-{k + 1:05d}", f"c-{c + 1:02d}", centres[c]) for k, c in enumerate(home_m)
    ]
    options = PairOptions(time_limit_s=time_limit_s, seed=seed)
    existing = _last_period(rng, people, helpers, options, existing_share)
    people, helpers, existing = _break(rng, people, helpers, existing, broken_share)
    return PairProblem(tuple(people), tuple(helpers), tuple(existing), options)


def _fits(r: Resident, m: PairMember, options: PairOptions) -> bool:
    if m.community != r.community or not set(r.needs) <= set(m.proxies):
        return False
    if not set(r.skills) <= set(m.skills):
        return False
    reach = options.max_distance_km if m.max_distance_km is None else m.max_distance_km
    dlat = (r.location.lat - m.location.lat) * KM_PER_DEG_LAT
    dlon = (
        (r.location.lon - m.location.lon) * KM_PER_DEG_LAT * math.cos(math.radians(r.location.lat))
    )
    return math.hypot(dlat, dlon) <= 0.98 * reach  # a margin for the flat-earth estimate


def _places(m: PairMember, options: PairOptions) -> int:
    return options.max_residents_per_member if m.max_residents is None else m.max_residents


def _last_period(
    rng: np.random.Generator,
    people: list[Resident],
    helpers: list[PairMember],
    options: PairOptions,
    share: float,
) -> list[ExistingPair]:
    by_community: dict[str, list[int]] = {}
    for j, m in enumerate(helpers):
        by_community.setdefault(m.community, []).append(j)
    load = [0] * len(helpers)
    pairs = []
    for r in people:
        if rng.uniform() >= share:
            continue
        options_j = [
            j
            for j in by_community.get(r.community, [])
            if load[j] < _places(helpers[j], options) and _fits(r, helpers[j], options)
        ]
        if options_j:
            j = int(rng.choice(options_j))
            load[j] += 1
            pairs.append(ExistingPair(r.id, helpers[j].id))
    return pairs


def _break(
    rng: np.random.Generator,
    people: list[Resident],
    helpers: list[PairMember],
    existing: list[ExistingPair],
    share: float,
) -> tuple[list[Resident], list[PairMember], list[ExistingPair]]:
    """Make some existing pairs unworkable: the member left, moved, or stopped offering a need."""
    residents = {r.id: k for k, r in enumerate(people)}
    members = {m.id: k for k, m in enumerate(helpers)}
    gone: set[str] = set()
    for pair in existing:
        if rng.uniform() >= share or pair.member in gone:
            continue
        m = helpers[members[pair.member]]
        r = people[residents[pair.resident]]
        kind = int(rng.integers(4))
        if kind == 0:
            gone.add(m.id)
        elif kind == 1:
            moved = _offset(rng, m.location, 6.0, 8.0)
            helpers[members[m.id]] = PairMember(
                m.id, m.community, moved, m.skills, m.proxies, m.max_residents, m.max_distance_km
            )
        elif kind == 2:
            proxies = tuple(p for p in m.proxies if p != r.needs[0])
            helpers[members[m.id]] = PairMember(
                m.id, m.community, m.location, m.skills, proxies, m.max_residents, m.max_distance_km
            )
        else:
            helpers[members[m.id]] = PairMember(
                m.id, m.community, m.location, m.skills, m.proxies, 0, m.max_distance_km
            )
    return people, [m for m in helpers if m.id not in gone], existing
