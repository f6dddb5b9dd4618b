"""Synthetic districts of post menus and members' ranked choices, for tests and benchmarks.

Each community has 4–8 grids and sets 8–15 posts over the usual categories (policy publicity,
sanitation, poverty relief, mediation, elderly care, tutoring, health, legal aid, repairs, digital
help, culture and sports, public order). Posts that need a profession require its skill (legal aid:
``legal``, health: ``medical``, tutoring: ``teaching``, repairs: ``repair``, digital help:
``digital``); every category has a few desired skills. Seats add up to 80–105 % of the members who
choose, spread over the posts half by expected popularity and half at random, so some posts are
oversubscribed and others go begging.

Members get skills from an occupation (lawyer, doctor, teacher, engineer, civil servant, ...),
one to three service intentions leaning to their skills, and a home grid. About one in eight lists
nothing; the others rank one to five of their own community's posts, drawn without replacement
with weights skewed toward popular posts (a heavy-tailed popularity per post times a category
base), posts of their intentions and their grid, and away from posts they lack the skills for
(some still list one).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from matcher.longterm.posts.problem import (
    CATEGORIES,
    MAX_CHOICES,
    Commitment,
    Member,
    Options,
    Post,
    Problem,
)

TITLES: dict[str, str] = {
    "policy_publicity": "政策宣传员",
    "sanitation": "环境卫生监督员",
    "poverty_relief": "扶贫帮困联络员",
    "mediation": "矛盾纠纷调解员",
    "elderly_care": "助老服务员",
    "tutoring": "课业辅导员",
    "health": "健康咨询员",
    "legal_aid": "法律援助员",
    "repairs": "便民维修员",
    "digital_help": "智能手机帮教员",
    "culture_sports": "文体活动组织员",
    "public_order": "治安巡逻员",
}
SERVICES: dict[str, str] = {
    "policy_publicity": "每月在楼院宣讲政策一次",
    "sanitation": "每周参加环境整治一次",
    "poverty_relief": "每季度走访帮扶困难家庭两户",
    "mediation": "每月参与楼院纠纷调解",
    "elderly_care": "每周探望独居老人一次",
    "tutoring": "每周为困难家庭学生辅导两小时",
    "health": "每月开展健康咨询一次",
    "legal_aid": "每月坐班法律咨询半天",
    "repairs": "每月为居民义务维修一次",
    "digital_help": "每月教老年人使用智能手机一次",
    "culture_sports": "每季度组织文体活动一次",
    "public_order": "每月参加治安巡逻两次",
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "legal_aid": ("legal",),
    "health": ("medical",),
    "tutoring": ("teaching",),
    "repairs": ("repair",),
    "digital_help": ("digital",),
}
DESIRED: dict[str, tuple[str, ...]] = {
    "policy_publicity": ("publicity", "writing"),
    "sanitation": ("organising",),
    "poverty_relief": ("social_work", "finance"),
    "mediation": ("mediation", "legal", "psychology"),
    "elderly_care": ("nursing", "medical", "social_work"),
    "tutoring": ("writing", "psychology"),
    "health": ("nursing", "psychology"),
    "legal_aid": ("mediation",),
    "repairs": ("electrical", "plumbing"),
    "digital_help": ("teaching",),
    "culture_sports": ("arts", "sports", "organising"),
    "public_order": ("security",),
}
BASE_POPULARITY: dict[str, float] = {
    "policy_publicity": 1.6,
    "sanitation": 1.2,
    "poverty_relief": 1.0,
    "mediation": 0.9,
    "elderly_care": 1.5,
    "tutoring": 1.1,
    "health": 0.8,
    "legal_aid": 0.6,
    "repairs": 0.7,
    "digital_help": 0.9,
    "culture_sports": 1.4,
    "public_order": 0.8,
}
OCCUPATIONS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("civil_servant", 0.30, ("publicity", "writing", "organising")),
    ("teacher", 0.14, ("teaching", "writing", "psychology")),
    ("doctor", 0.08, ("medical", "nursing", "psychology")),
    ("lawyer", 0.06, ("legal", "mediation", "writing")),
    ("engineer", 0.12, ("repair", "electrical", "plumbing", "digital")),
    ("it", 0.07, ("digital", "teaching")),
    ("finance", 0.07, ("finance", "writing")),
    ("social_worker", 0.06, ("social_work", "psychology", "mediation")),
    ("police", 0.04, ("security", "mediation", "sports")),
    ("artist", 0.06, ("arts", "sports", "organising")),
)
LENGTHS = (1, 2, 3, 4, 5)
LENGTH_SHARES = (0.10, 0.15, 0.25, 0.20, 0.30)


def generate(
    *,
    communities: int = 30,
    members: int = 10000,
    seed: int = 0,
    no_choice_share: float = 0.12,
    fill_unranked: bool = False,
    mode: str = "optimal",
) -> Problem:
    """A district of ``communities`` menus and ``members`` members (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    sizes = _community_sizes(rng, communities, members)
    posts: list[Post] = []
    people: list[Member] = []
    for c, size in enumerate(sizes):
        community = f"c-{c + 1:02d}"
        grids = [f"{community}-g{g + 1}" for g in range(int(rng.integers(4, 9)))]
        profiles = _profiles(rng, size, community, grids, first=len(people) + 1)
        lists = rng.random(size) >= no_choice_share
        own_posts, popularity = _posts(rng, community, grids, len(posts), int(lists.sum()))
        posts.extend(own_posts)
        choices = _choices(rng, profiles, own_posts, popularity)
        for k, member in enumerate(profiles):
            people.append(replace(member, choices=choices[k] if lists[k] else ()))
    options = Options(mode=mode, fill_unranked=fill_unranked)
    return Problem(posts=tuple(posts), members=tuple(people), options=options)


def _community_sizes(rng: np.random.Generator, communities: int, members: int) -> list[int]:
    weights = rng.lognormal(0.0, 0.3, size=communities)
    return [int(x) for x in rng.multinomial(members, weights / weights.sum())]


def _top_k(rng: np.random.Generator, weights: np.ndarray, sizes: np.ndarray) -> list[list[int]]:
    """Per row, ``sizes[row]`` columns drawn without replacement in proportion to ``weights``
    (Gumbel top-k), in the order drawn."""
    keys = np.log(weights) + rng.gumbel(size=weights.shape)
    order = np.argsort(-keys, axis=1)
    return [[int(k) for k in order[row, : int(sizes[row])]] for row in range(len(order))]


def _posts(
    rng: np.random.Generator, community: str, grids: list[str], offset: int, choosing: int
) -> tuple[list[Post], np.ndarray]:
    count = int(rng.integers(8, 16))
    base = np.array([BASE_POPULARITY[c] for c in CATEGORIES])
    categories = [str(c) for c in rng.permutation(CATEGORIES)[: min(count, len(CATEGORIES))]]
    while len(categories) < count:  # a second post of a common category, in another grid
        categories.append(str(rng.choice(CATEGORIES, p=base / base.sum())))
    popularity = np.array([BASE_POPULARITY[c] for c in categories]) * rng.lognormal(
        0.0, 0.6, size=count
    )
    total_seats = max(count, round(choosing * rng.uniform(0.80, 1.05)))
    shares = 0.5 * popularity / popularity.sum() + 0.5 * rng.dirichlet(np.full(count, 2.0))
    seats = np.maximum(1, np.floor(shares * total_seats).astype(int))
    deadline = date(2027, 6, 30) if rng.random() < 0.5 else date(2027, 12, 31)
    posts = []
    for k, category in enumerate(categories):
        grid = str(rng.choice(grids)) if rng.random() < 0.7 else None
        title = TITLES[category] + (f"（{grid.rsplit('-', 1)[1]}网格）" if grid else "")
        posts.append(
            Post(
                id=f"p-{offset + k + 1:04d}",
                community=community,
                category=category,
                title=title,
                seats=int(seats[k]),
                skills=REQUIRED.get(category, ()),
                desired_skills=DESIRED[category],
                grid=grid,
                commitment=Commitment(service=SERVICES[category], deadline=deadline),
            )
        )
    return posts, popularity


def _profiles(
    rng: np.random.Generator, size: int, community: str, grids: list[str], first: int
) -> list[Member]:
    """Members with skills from an occupation, intentions leaning to them, and a home grid."""
    shares = np.array([share for _, share, _ in OCCUPATIONS])
    trades = rng.choice(len(OCCUPATIONS), size=size, p=shares / shares.sum())
    homes = rng.integers(len(grids), size=size)
    skill_sets: list[tuple[str, ...]] = []
    for t in trades:
        trade = OCCUPATIONS[int(t)][2]
        keep = rng.random(len(trade)) < 0.75
        held = {s for s, k in zip(trade, keep, strict=True) if k} or {trade[0]}
        if rng.random() < 0.2:
            other = OCCUPATIONS[int(rng.integers(len(OCCUPATIONS)))][2]
            held.add(other[int(rng.integers(len(other)))])
        skill_sets.append(tuple(sorted(held)))
    leaning = np.array(
        [
            [
                3.0 if set(REQUIRED.get(c, ()) + DESIRED[c]) & set(skills) else 1.0
                for c in CATEGORIES
            ]
            for skills in skill_sets
        ]
    ).reshape(size, len(CATEGORIES))
    wants = _top_k(rng, leaning, rng.integers(1, 4, size=size))
    return [
        Member(
            id=f"m-{first + k:05d}",
            community=community,
            skills=skill_sets[k],
            preferences=tuple(CATEGORIES[c] for c in wants[k]),
            grid=grids[int(homes[k])],
        )
        for k in range(size)
    ]


def _choices(
    rng: np.random.Generator, members: list[Member], posts: list[Post], popularity: np.ndarray
) -> list[tuple[str, ...]]:
    """Up to five ranked posts per member, skewed to popular posts, intentions and the grid."""
    weights = np.tile(popularity, (len(members), 1))
    for row, member in enumerate(members):
        for k, post in enumerate(posts):
            if post.category in member.preferences:
                weights[row, k] *= 3.0
            if post.grid is not None and post.grid == member.grid:
                weights[row, k] *= 2.0
            if not set(post.skills) <= set(member.skills):
                weights[row, k] *= 0.05
    lengths = rng.choice(LENGTHS, size=len(members), p=LENGTH_SHARES)
    lengths = np.minimum(lengths, min(MAX_CHOICES, len(posts)))
    picked = _top_k(rng, weights, lengths)
    return [tuple(posts[k].id for k in row) for row in picked]
