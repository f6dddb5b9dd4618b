"""Synthetic districts of work units and communities around Zhengzhou, for tests and benchmarks.

Communities lie within about 6 km of Erqi Square; units (district bureaus, hospitals, schools,
banks, police stations, ...) within about 7 km, a little denser towards the centre. Each unit has
the primary resource of its kind, often a second one and sometimes a third; about one unit in
ten (hospitals, bureaus) may pair with two communities. Each community lists three to six needs
drawn with realistic prevalence (elderly care, medical care and sanitation are common, technology
rare) and integer weights 1–5.

By default the district has one unit per 50 registered members (10,000 members: 200 units), six
slots per community and a 10 km distance limit.
"""

from __future__ import annotations

import math

import numpy as np

from matcher.dispatch.problem import Location
from matcher.longterm.units.problem import RESOURCES, Community, Need, Options, Problem, Unit

CENTRE = Location(34.7466, 113.6253)
"""Zhengzhou, Erqi Square."""
KM_PER_DEG_LAT = 111.2

KINDS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    # name, share, resources: primary first, then the likely second ones
    ("司法所", 0.07, ("legal", "social_work")),
    ("律师事务所", 0.05, ("legal", "finance")),
    ("医院", 0.08, ("medical", "elderly_care")),
    ("社区卫生服务中心", 0.06, ("medical", "elderly_care")),
    ("学校", 0.12, ("education", "culture")),
    ("住建局", 0.05, ("construction", "sanitation")),
    ("建筑公司", 0.05, ("construction", "employment")),
    ("银行", 0.08, ("finance", "technology")),
    ("税务局", 0.04, ("finance", "legal")),
    ("文化馆", 0.05, ("culture", "education")),
    ("城管局", 0.06, ("sanitation", "public_security")),
    ("派出所", 0.07, ("public_security", "legal")),
    ("民政局", 0.05, ("social_work", "elderly_care")),
    ("通信公司", 0.05, ("technology", "education")),
    ("人社局", 0.04, ("employment", "social_work")),
    ("养老院", 0.04, ("elderly_care", "medical")),
)
PREVALENCE: dict[str, float] = {
    "legal": 0.55,
    "medical": 0.8,
    "education": 0.5,
    "construction": 0.35,
    "finance": 0.25,
    "culture": 0.45,
    "sanitation": 0.65,
    "public_security": 0.45,
    "social_work": 0.4,
    "technology": 0.15,
    "employment": 0.35,
    "elderly_care": 0.85,
}
MEMBERS_PER_UNIT = 50


def _offset(rng: np.random.Generator, radius_km: float, power: float) -> Location:
    angle = rng.uniform(0.0, 2.0 * math.pi)
    r = radius_km * rng.uniform(0.0, 1.0) ** power
    dlat = r * math.sin(angle) / KM_PER_DEG_LAT
    dlon = r * math.cos(angle) / (KM_PER_DEG_LAT * math.cos(math.radians(CENTRE.lat)))
    return Location(round(CENTRE.lat + dlat, 6), round(CENTRE.lon + dlon, 6))


def generate(
    *,
    communities: int = 30,
    members: int = 10000,
    seed: int = 0,
    units: int | None = None,
    units_per_community: int = 6,
    max_distance_km: float | None = 10.0,
    time_limit_s: float = 10.0,
) -> Problem:
    """A district of ``units`` units (default ``members // 50``) and ``communities`` communities."""
    rng = np.random.default_rng(seed)
    count = max(1, members // MEMBERS_PER_UNIT) if units is None else units
    shares = np.array([share for _, share, _ in KINDS])
    kinds = rng.choice(len(KINDS), size=count, p=shares / shares.sum())
    made_units = []
    for k, kind in enumerate(kinds):
        name, _, resources = KINDS[int(kind)]
        offer = [resources[0]]
        if rng.random() < 0.6:
            offer.append(resources[1])
        if rng.random() < 0.15:
            extra = str(rng.choice(RESOURCES))
            if extra not in offer:
                offer.append(extra)
        made_units.append(
            Unit(
                id=f"u-{k + 1:03d}",
                name=f"{name}{k + 1}",
                location=_offset(rng, 7.0, 0.7),
                resources=tuple(offer),
                max_communities=2 if rng.random() < 0.1 else 1,
            )
        )
    made_communities = []
    prevalence = np.array([PREVALENCE[r] for r in RESOURCES])
    for c in range(communities):
        wanted = int(rng.integers(3, 7))
        categories = rng.choice(
            len(RESOURCES), size=wanted, replace=False, p=prevalence / prevalence.sum()
        )
        weights = rng.choice([1, 2, 3, 4, 5], size=wanted, p=[0.15, 0.25, 0.3, 0.2, 0.1])
        made_communities.append(
            Community(
                id=f"c-{c + 1:02d}",
                name=f"社区{c + 1}",
                location=_offset(rng, 6.0, 0.5),
                needs=tuple(
                    Need(RESOURCES[int(k)], int(w))
                    for k, w in zip(categories, weights, strict=True)
                ),
            )
        )
    options = Options(
        units_per_community=units_per_community,
        max_distance_km=max_distance_km,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    return Problem(units=tuple(made_units), communities=tuple(made_communities), options=options)
