"""Seeded synthetic districts: a :class:`~matcher.dispatch.problem.Problem` like a Chinese city
district.

:func:`generate_district` draws everything with one :func:`numpy.random.default_rng` stream, in
bulk, and builds the frozen value objects only at the end, so a district of 50,000 members and
150,000 demands takes seconds. The same arguments always give the same problem.

Choices (each one a guess at what a real district under the source document looks like):

Geography
    The district is centred on Zhengzhou (34.7466 N, 113.6253 E). It has
    ``max(1, round(members / 300))`` communities (社区) whose centres sit on a square grid 1.5 km
    apart, each jittered by up to ±0.15 km per axis (neighbours 1.2–1.8 km apart). Registered
    members are shared out among communities in proportion to a size drawn from 250–400. Each
    community is split into 4–9 grids (网格) whose centres lie within 0.45 km of the community
    centre; a member's home is normal (σ 0.4 km per axis) around their grid's centre, so homes
    spread about 0.5 km around the community centre. Coordinates are rounded to 6 decimals.
Skills and intentions
    Categories are the posts communities set (:data:`CATEGORIES`). A member holds 1–4 skills
    (30/36/22/12 %) drawn without replacement with skewed popularity: policy publicity,
    sanitation, elderly care and digital help are common; legal aid, psychological support and
    health are rare (lawyers, counsellors, doctors), and a member who holds one of those often
    also holds the trade next to it (a lawyer mediates). Service intentions (``preferences``,
    ranked) are 0–3 categories, mostly among the member's own skills.
Availability
    Members have day jobs. A weekday evening block is 19:00–21:30 (30 % of members: 18:30–21:00)
    on 2–4 weekdays a week; 88 % also give weekend mornings 09:00–12:00 (or 08:30–11:30) and/or
    afternoons 14:00–17:30 (or 14:30–17:00). About 10 % are retired or shift workers with
    weekday daytime blocks (09:00–11:30, 14:30–17:00) on 2–4 days and fewer evenings. Blocks of a
    day never overlap, intervals are sorted, everything is clipped to the horizon, and a member
    left with nothing gets one evening. Capacity is 2–12 h per horizon on a half-hour grid
    (mean about 5 h); ``max_distance_km`` is unset (options default 2 km) for 70 % of members and
    1–3 km for the rest; reliability is 0.85–1.0 for 90 %, 0.5–0.8 for the rest.
Residents and demands
    Demands come from residents (``r-00001``...) who live around grid centres, so communities
    receive demands in proportion to their size. About 30 % of demands come from repeat
    residents (2–5 demands each, vulnerable people whose demands mostly share one main need);
    a resident's demands share the resident's home as location. ``skills`` is ``[category]``,
    plus a related second skill on about 10 % of demands. Priorities 1–5 are 12/38/32/10/8 %.
    Durations are 0.5–3 h on a half-hour grid, mostly 1–2 h. Windows start on whole or half
    hours and are: a weekday evening (17:30–19:00 to 21:00–22:00), a weekend day (4–10 h from
    08:00–14:00), "within 12–72 h" from a daytime start, or (rarely) weekday daytime; demands
    longer than 2 h and crews only get the weekend or multi-day kinds.
Crews, teams, continuity, pins
    About 6 % of demands need a crew of 2–3; about 2 % are ``team_only`` (crew of 2–4 from one
    standing team; category drawn from the skills of a team in the resident's community, favouring
    team work such as sanitation and visits). Teams (分组) are formed per grid from about 80 % of
    its members, 4–10 members each with a leader among them; nobody is in two teams. About 40 %
    of repeat residents have a hand-in-hand partner (拉手式): a member of the same community, near
    the resident, holding the resident's main need; the partner is ``preferred_members`` on every
    demand of that resident whose skills the partner holds (about 8 % of demands). About 1 % of
    single-member demands are already accepted (``pinned``) by a member of the demand's
    community; pins respect rules 2–7 of the contract (window, availability, skills, distance,
    no overlap with a 15 min changeover, capacity). If no member can take one, it is not pinned.
Options
    ``Options(time_limit_s=10, seed=seed, max_distance_km=2.0)`` with default weights.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.dispatch.problem import Demand, Interval, Location, Member, Options, Pin, Problem, Team
from matcher.geo import EARTH_RADIUS_KM, haversine_km
from matcher.vocabulary import CATEGORIES

__all__ = ["CATEGORIES", "district_summary", "generate_district"]

Array = npt.NDArray[Any]

CENTRE_LAT, CENTRE_LON = 34.7466, 113.6253  # Zhengzhou
DEFAULT_HORIZON_START = datetime(2026, 12, 7, tzinfo=timezone(timedelta(hours=8)))  # a Monday
DEFAULT_MAX_DISTANCE_KM = 2.0
CHANGEOVER_MIN = 15
PIN_SHARE = 0.01  # share of demands already accepted (tests raise it to stress the pins)
TIME_STEP_MIN = 15

_IDS: tuple[str, ...] = tuple(CATEGORIES)
_K = len(_IDS)
_INDEX = {c: i for i, c in enumerate(_IDS)}
_KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0


def _weights(table: dict[str, float]) -> Array:
    w = np.array([table.get(c, 0.0) for c in _IDS], dtype=float)
    return w / w.sum()


# How many members hold each skill (relative) and how often residents ask for each category.
_SKILL_W = _weights(
    {
        "policy_publicity": 10, "sanitation": 10, "poverty_relief": 5, "mediation": 4.5,
        "elderly_care": 9, "tutoring": 5, "health": 3, "legal_aid": 2, "repairs": 6.5,
        "digital_help": 8, "psychological_support": 2, "public_order": 5, "culture": 5,
    }
)  # fmt: skip
_DEMAND_W = _weights(
    {
        "policy_publicity": 6, "sanitation": 9, "poverty_relief": 7, "mediation": 7,
        "elderly_care": 14, "tutoring": 7, "health": 5, "legal_aid": 3, "repairs": 10,
        "digital_help": 10, "psychological_support": 3, "public_order": 5, "culture": 5,
    }
)  # fmt: skip
# Main needs of vulnerable repeat residents (助老、助学、助孤、助残、助贫).
_VULNERABLE_W = _weights(
    {
        "elderly_care": 5, "poverty_relief": 3, "health": 2, "digital_help": 2, "repairs": 2,
        "psychological_support": 1, "tutoring": 1, "legal_aid": 0.5,
    }
)  # fmt: skip
# Work a standing team does together (组团式): clean-ups, visits, patrols, publicity.
_TEAM_WORK = tuple(
    _INDEX[c]
    for c in ("sanitation", "policy_publicity", "public_order", "culture", "poverty_relief",
              "elderly_care")
)  # fmt: skip
_RELATED: dict[str, tuple[str, ...]] = {
    "policy_publicity": ("culture", "poverty_relief"),
    "sanitation": ("public_order",),
    "poverty_relief": ("policy_publicity", "elderly_care"),
    "mediation": ("legal_aid", "public_order"),
    "elderly_care": ("health", "digital_help", "sanitation"),
    "tutoring": ("psychological_support", "culture"),
    "health": ("elderly_care",),
    "legal_aid": ("mediation",),
    "repairs": ("elderly_care", "sanitation"),
    "digital_help": ("elderly_care", "policy_publicity"),
    "psychological_support": ("elderly_care", "mediation"),
    "public_order": ("mediation", "sanitation"),
    "culture": ("policy_publicity", "tutoring"),
}
_RELATED_TABLE = np.array(
    [[_INDEX[r] for r in (_RELATED[c] * 3)[:3]] for c in _IDS], dtype=np.int64
)
_RELATED_COUNT = np.array([len(_RELATED[c]) for c in _IDS], dtype=np.int64)
# A rare professional skill often comes with the trade next to it: (skill, companion, share).
_COMPANIONS = (
    ("legal_aid", "mediation", 0.5),
    ("health", "elderly_care", 0.4),
    ("psychological_support", "mediation", 0.3),
)


def _hm(hours: int, minutes: int = 0) -> int:
    return hours * 60 + minutes


@dataclass(frozen=True)
class _Clock:
    """Minutes counted from ``base``, the local midnight of the horizon's first day."""

    base: datetime
    lo: int  # first usable minute (horizon start, rounded up to a half hour)
    hi: int  # last usable minute (horizon end, rounded down to a half hour)
    weekday: Array  # (days,) 0 = Monday, for each day that the horizon touches

    @classmethod
    def of(cls, start: datetime, days: int) -> _Clock:
        base = start.replace(hour=0, minute=0, second=0, microsecond=0)
        offset = (start - base).total_seconds() / 60.0
        end = offset + days * 1440
        covered = math.ceil(end / 1440)
        weekday = (base.weekday() + np.arange(covered)) % 7
        return cls(base, math.ceil(offset / 30) * 30, math.floor(end / 30) * 30, weekday)

    @property
    def days(self) -> int:
        return len(self.weekday)

    def day_set(self, *, weekend: bool, first: int, last: int) -> Array:
        """Days of the kind on which ``[first, last]`` (minutes of the day) fits the horizon."""
        d = np.arange(self.days)
        kind = (self.weekday >= 5) == weekend
        return d[kind & (d * 1440 + first >= self.lo) & (d * 1440 + last <= self.hi)]


@dataclass
class _Layout:
    community_lat: Array
    community_lon: Array
    grid_lat: Array
    grid_lon: Array
    grid_ptr: Array  # community c owns grids grid_ptr[c]:grid_ptr[c+1]
    sizes: Array  # registered members per community


@dataclass
class _Roster:
    lat: Array
    lon: Array
    community: Array
    grid: Array
    member_ptr: Array  # community c owns members member_ptr[c]:member_ptr[c+1]
    hold: Array  # (members, K) bool
    preferences: list[tuple[str, ...]]
    capacity_min: Array
    max_km: Array  # nan = options default
    reliability: Array
    av_start: Array
    av_end: Array
    av_ptr: Array  # member m owns intervals av_ptr[m]:av_ptr[m+1]

    def limit_km(self, idx: Array) -> Array:
        lim = self.max_km[idx]
        return np.where(np.isnan(lim), DEFAULT_MAX_DISTANCE_KM, lim)


@dataclass
class _Book:
    category: Array
    second: Array  # second skill index or -1
    lat: Array
    lon: Array
    community: Array
    start: Array
    end: Array
    duration: Array  # minutes
    priority: Array
    crew: Array
    team_only: Array
    resident: Array
    preferred: Array  # member index or -1
    pin_member: Array  # member index or -1
    pin_start: Array


def _to_degrees(x_km: Array, y_km: Array) -> tuple[Array, Array]:
    lat = CENTRE_LAT + y_km / _KM_PER_DEG
    lon = CENTRE_LON + x_km / (_KM_PER_DEG * math.cos(math.radians(CENTRE_LAT)))
    return np.round(lat, 6), np.round(lon, 6)


def _share(total: int, weights: Array) -> Array:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    raw = total * weights / weights.sum()
    parts = np.floor(raw).astype(np.int64)
    short = total - int(parts.sum())
    parts[np.argsort(-(raw - parts), kind="stable")[:short]] += 1
    return parts


def _top_k(rng: np.random.Generator, logits: Array, k: Array) -> tuple[Array, Array]:
    """Per row, ``k`` distinct columns drawn with probability ∝ ``exp(logits)`` (Gumbel top-k).

    Returns the boolean selection and each column's rank (0 = drawn first).
    """
    keys = logits + rng.gumbel(size=logits.shape)
    order = np.argsort(-keys, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(logits.shape[1])[None, :], axis=1)
    return rank < k[:, None], rank


def _layout(rng: np.random.Generator, members: int) -> _Layout:
    n = max(1, round(members / 300))
    side = math.ceil(math.sqrt(n))
    rows = math.ceil(n / side)
    cell = np.arange(n)
    x = (cell % side - (side - 1) / 2) * 1.5 + rng.uniform(-0.15, 0.15, n)
    y = ((rows - 1) / 2 - cell // side) * 1.5 + rng.uniform(-0.15, 0.15, n)
    sizes = _share(members, rng.uniform(250, 400, n))
    grids = rng.integers(4, 10, n)
    grid_ptr = np.concatenate([[0], np.cumsum(grids)])
    owner = np.repeat(cell, grids)
    angle = rng.uniform(0, 2 * np.pi, len(owner))
    radius = 0.45 * np.sqrt(rng.random(len(owner)))
    gx, gy = x[owner] + radius * np.cos(angle), y[owner] + radius * np.sin(angle)
    clat, clon = _to_degrees(x, y)
    glat, glon = _to_degrees(gx, gy)
    return _Layout(clat, clon, glat, glon, grid_ptr, sizes)


def _scatter(
    rng: np.random.Generator, layout: _Layout, community: Array, sigma_km: float
) -> tuple[Array, Array, Array]:
    """Grid and home of people living in ``community`` (grids equally likely)."""
    lo, hi = layout.grid_ptr[community], layout.grid_ptr[community + 1]
    grid = lo + np.floor(rng.random(len(community)) * (hi - lo)).astype(np.int64)
    cos_lat = math.cos(math.radians(CENTRE_LAT))
    dlat = rng.normal(0, sigma_km, len(community)) / _KM_PER_DEG
    dlon = rng.normal(0, sigma_km, len(community)) / (_KM_PER_DEG * cos_lat)
    lat = np.round(layout.grid_lat[grid] + dlat, 6)
    lon = np.round(layout.grid_lon[grid] + dlon, 6)
    return grid, lat, lon


def _availability(rng: np.random.Generator, n: int, clock: _Clock) -> tuple[Array, Array, Array]:
    """Weekly free time of ``n`` members as sorted, non-overlapping intervals in CSR form."""
    days = clock.days
    weekend = (clock.weekday >= 5)[None, :]
    weekday = ~weekend
    n_weekdays = int(weekday.sum())
    retired = rng.random(n) < 0.10

    # Weekday evenings: exactly k of every five weekdays (k = 2..4, retired 1..3).
    k = np.where(retired, rng.integers(1, 4, n), rng.choice([2, 3, 4], n, p=[0.35, 0.4, 0.25]))
    k_eff = np.minimum(np.rint(k * n_weekdays / 5).astype(np.int64), n_weekdays)
    keys = np.where(weekday, rng.random((n, days)), 2.0)
    rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    evening = (rank < k_eff[:, None]) & weekday

    # Weekend mornings and/or afternoons.
    gives_weekend = (rng.random(n) < 0.88)[:, None]
    w_morning = gives_weekend & weekend & (rng.random((n, days)) < 0.5)
    w_afternoon = gives_weekend & weekend & (rng.random((n, days)) < 0.45)

    # Retired and shift workers: weekday daytime on 2..4 of five weekdays.
    kd = np.where(retired, rng.integers(2, 5, n), 0)
    kd_eff = np.minimum(np.rint(kd * n_weekdays / 5).astype(np.int64), n_weekdays)
    keys = np.where(weekday, rng.random((n, days)), 2.0)
    rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    daytime = (rank < kd_eff[:, None]) & weekday
    d_morning = daytime & (rng.random((n, days)) < 0.7)
    d_afternoon = daytime & ~d_morning | daytime & (rng.random((n, days)) < 0.6)

    early_evening = (rng.random(n) < 0.3)[:, None]
    early_morning = (rng.random(n) < 0.25)[:, None]
    short_afternoon = (rng.random(n) < 0.25)[:, None]
    chosen = np.stack([w_morning | d_morning, w_afternoon | d_afternoon, evening], axis=2)
    shape = (n, days)
    first = np.stack(
        [
            np.broadcast_to(
                np.where(weekend, np.where(early_morning, _hm(8, 30), _hm(9)), _hm(9)), shape
            ),
            np.broadcast_to(np.where(weekend & ~short_afternoon, _hm(14), _hm(14, 30)), shape),
            np.broadcast_to(np.where(early_evening, _hm(18, 30), _hm(19)), shape),
        ],
        axis=2,
    )
    last = np.stack(
        [
            np.broadcast_to(
                np.where(weekend, np.where(early_morning, _hm(11, 30), _hm(12)), _hm(11, 30)), shape
            ),
            np.broadcast_to(np.where(weekend & ~short_afternoon, _hm(17, 30), _hm(17)), shape),
            np.broadcast_to(np.where(early_evening, _hm(21), _hm(21, 30)), shape),
        ],
        axis=2,
    )
    m, d, s = np.nonzero(chosen)  # C order: by member, then day, then slot of the day
    start = np.maximum(d * 1440 + first[m, d, s], clock.lo)
    end = np.minimum(d * 1440 + last[m, d, s], clock.hi)
    keep = end - start >= 30
    m, start, end = m[keep], start[keep], end[keep]

    # Nobody registers with no free time at all: give the empty-handed one evening.
    empty = np.setdiff1d(np.arange(n), m)
    if len(empty):
        nights = clock.day_set(weekend=False, first=_hm(19), last=_hm(21, 30))
        if len(nights) == 0:
            nights = clock.day_set(weekend=True, first=_hm(19), last=_hm(21, 30))
        if len(nights):
            day = nights[rng.integers(0, len(nights), len(empty))]
            fs, fe = day * 1440 + _hm(19), day * 1440 + _hm(21, 30)
        else:
            fs = np.full(len(empty), clock.lo)
            fe = np.minimum(fs + 150, clock.hi)
        m = np.concatenate([m, empty])
        start, end = np.concatenate([start, fs]), np.concatenate([end, fe])
        order = np.lexsort((start, m))
        m, start, end = m[order], start[order], end[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(m, minlength=n))])
    return start.astype(np.int64), end.astype(np.int64), ptr


def _roster(rng: np.random.Generator, layout: _Layout, clock: _Clock) -> _Roster:
    sizes = layout.sizes
    n = int(sizes.sum())
    community = np.repeat(np.arange(len(sizes)), sizes)
    grid, lat, lon = _scatter(rng, layout, community, 0.4)

    count = rng.choice([1, 2, 3, 4], n, p=[0.30, 0.36, 0.22, 0.12])
    hold, _ = _top_k(rng, np.broadcast_to(np.log(_SKILL_W), (n, _K)), count)
    for skill, companion, share in _COMPANIONS:
        add = hold[:, _INDEX[skill]] & (hold.sum(axis=1) < 4) & (rng.random(n) < share)
        hold[add, _INDEX[companion]] = True

    n_pref = rng.choice([0, 1, 2, 3], n, p=[0.2, 0.4, 0.3, 0.1])
    n_pref = np.minimum(n_pref, hold.sum(axis=1) + (rng.random(n) < 0.3))
    logits = np.where(hold, math.log(40.0), 0.0) + 0.5 * np.log(_SKILL_W)[None, :]
    chosen, rank = _top_k(rng, logits, n_pref)
    rank = np.where(chosen, rank, _K)
    order = np.argsort(rank, axis=1, kind="stable")
    preferences = [
        tuple(_IDS[c] for c in row[:p])
        for row, p in zip(order.tolist(), n_pref.tolist(), strict=True)
    ]

    capacity = np.clip(np.rint((2.0 + rng.gamma(2.0, 1.6, n)) * 2) / 2, 2.0, 12.0)
    max_km = np.where(rng.random(n) < 0.3, np.rint(rng.uniform(1.0, 3.0, n) * 2) / 2, np.nan)
    reliable = rng.random(n) < 0.9
    reliability = np.round(
        np.where(reliable, rng.uniform(0.85, 1.0, n), rng.uniform(0.5, 0.8, n)), 2
    )
    av_start, av_end, av_ptr = _availability(rng, n, clock)
    return _Roster(
        lat=lat,
        lon=lon,
        community=community,
        grid=grid,
        member_ptr=np.concatenate([[0], np.cumsum(sizes)]),
        hold=hold,
        preferences=preferences,
        capacity_min=np.rint(capacity * 60).astype(np.int64),
        max_km=max_km,
        reliability=reliability,
        av_start=av_start,
        av_end=av_end,
        av_ptr=av_ptr,
    )


def _teams(rng: np.random.Generator, roster: _Roster, n_grids: int) -> list[tuple[Array, int]]:
    """Standing groups (分组) of 4–10 members of one grid: (members, leader), in grid order."""
    teams: list[tuple[Array, int]] = []
    joins = rng.random(len(roster.grid)) < 0.8
    by_grid = np.argsort(roster.grid, kind="stable")
    ptr = np.searchsorted(roster.grid[by_grid], np.arange(n_grids + 1))
    for g in range(n_grids):
        people = by_grid[ptr[g] : ptr[g + 1]]
        people = rng.permutation(people[joins[people]])
        i = 0
        while len(people) - i >= 4:
            size = min(int(rng.integers(4, 11)), len(people) - i)
            group = np.sort(people[i : i + size])
            teams.append((group, int(group[rng.integers(0, size)])))
            i += size
    return teams


def _residents(rng: np.random.Generator, n: int) -> tuple[Array, int]:
    """Resident index of each demand (numbered by first appearance) and how many repeat."""
    n_repeat_demands = round(0.3 * n)
    counts = rng.integers(2, 6, n_repeat_demands // 2 + 1)
    cum = np.cumsum(counts)
    cut = int(np.searchsorted(cum, n_repeat_demands))
    counts = counts[: cut + 1].copy()
    if len(counts):
        counts[-1] -= int(cum[cut] - n_repeat_demands)
        if counts[-1] < 2 and len(counts) > 1:
            counts[-2] += counts[-1]
            counts = counts[:-1]
        counts = counts[counts > 0]
    n_repeat = len(counts)
    singles = n - int(counts.sum())
    resident = np.concatenate(
        [np.repeat(np.arange(n_repeat), counts), n_repeat + np.arange(singles)]
    )[rng.permutation(n)]
    return resident.astype(np.int64), n_repeat


def _windows(
    rng: np.random.Generator, clock: _Clock, duration: Array, group: Array
) -> tuple[Array, Array]:
    """Windows ``[start, end)`` in minutes for demands of ``duration`` (``group``: crews/teams)."""
    n = len(duration)
    long_or_group = (duration > 120) | group
    u = rng.random(n)
    # 0 evening, 1 weekend day, 2 multi-day, 3 weekday daytime.
    kind = np.where(
        long_or_group,
        np.where(u < 0.45, 1, 2),
        np.select([u < 0.42, u < 0.66, u < 0.95], [0, 1, 2], 3),
    )
    day_sets = [
        clock.day_set(weekend=False, first=_hm(17, 30), last=_hm(22)),
        clock.day_set(weekend=True, first=_hm(8), last=_hm(18)),
        np.arange(clock.days)[
            (np.arange(clock.days) * 1440 + _hm(8) >= clock.lo)
            & (np.arange(clock.days) * 1440 + _hm(8) + 180 <= clock.hi)
        ],
        clock.day_set(weekend=False, first=_hm(8), last=_hm(17)),
    ]
    for k in (0, 1, 3):
        if len(day_sets[k]) == 0:
            kind[kind == k] = 2
    start = np.full(n, clock.lo, dtype=np.int64)
    end = np.full(n, clock.hi, dtype=np.int64)
    half = 30
    for k, days in enumerate(day_sets):
        sel = np.nonzero(kind == k)[0]
        if len(sel) == 0 or len(days) == 0:
            continue
        day = days[rng.integers(0, len(days), len(sel))] * 1440
        m = len(sel)
        if k == 0:
            s = day + _hm(17, 30) + half * rng.integers(0, 4, m)
            e = day + _hm(21) + half * rng.integers(0, 3, m)
        elif k == 1:
            s = day + _hm(8) + half * rng.integers(0, 13, m)
            e = s + half * rng.integers(8, 21, m)
        elif k == 2:
            s = day + _hm(8) + half * rng.integers(0, 25, m)
            e = s + half * rng.integers(24, 145, m)
        else:
            s = day + _hm(8) + half * rng.integers(0, 5, m)
            e = s + half * rng.integers(6, 19, m)
        start[sel], end[sel] = s, e
    start = np.maximum(start, clock.lo)
    end = np.minimum(end, clock.hi)
    start = np.maximum(np.minimum(start, end - duration), clock.lo)
    return start, end


def _book(
    rng: np.random.Generator,
    n: int,
    layout: _Layout,
    roster: _Roster,
    teams: list[tuple[Array, int]],
    clock: _Clock,
) -> _Book:
    resident, n_repeat = _residents(rng, n)
    n_residents = int(resident.max()) + 1 if n else 0
    home_community = rng.choice(len(layout.sizes), n_residents, p=layout.sizes / layout.sizes.sum())
    _, home_lat, home_lon = _scatter(rng, layout, home_community, 0.4)
    main_need = rng.choice(_K, n_residents, p=_VULNERABLE_W)
    community = home_community[resident]

    category = rng.choice(_K, n, p=_DEMAND_W)
    repeat = resident < n_repeat
    usual = repeat & (rng.random(n) < 0.65)
    category[usual] = main_need[resident[usual]]

    u = rng.random(n)
    team_only = u < 0.02
    crewed = (u >= 0.02) & (u < 0.08)
    crew = np.where(crewed, rng.integers(2, 4, n), 1)
    crew = np.where(team_only, rng.integers(2, 5, n), crew)
    second_share = np.where(crewed, 0.35, 0.085)
    has_second = ~team_only & (rng.random(n) < second_share)
    pick = np.floor(rng.random(n) * _RELATED_COUNT[category]).astype(np.int64)
    second = np.where(has_second, _RELATED_TABLE[category, pick], -1)

    # team_only: the category is work that some team of the resident's community can do.
    teams_of: dict[int, list[int]] = {}
    for t, (people, _leader) in enumerate(teams):
        teams_of.setdefault(int(roster.community[people[0]]), []).append(t)
    for j in np.nonzero(team_only)[0].tolist():
        options = teams_of.get(int(community[j]), [])
        if not options:  # no team here (a tiny community): an ordinary crew instead
            team_only[j] = False
            crew[j] = min(int(crew[j]), 3)
            continue
        people = teams[options[int(rng.integers(0, len(options)))]][0]
        union: Array = np.asarray(roster.hold[people].any(axis=0))
        work = [c for c in _TEAM_WORK if union[c]] or np.nonzero(union)[0].tolist()
        category[j] = work[int(rng.integers(0, len(work)))]
        crew[j] = min(int(crew[j]), len(people))

    weights = np.array([0.08, 0.32, 0.25, 0.22, 0.07, 0.06])
    duration = 30 * rng.choice(np.arange(1, 7), n, p=weights)
    start, end = _windows(rng, clock, duration, crew > 1)
    priority = rng.choice(np.arange(1, 6), n, p=[0.12, 0.38, 0.32, 0.10, 0.08])

    book = _Book(
        category=category,
        second=second,
        lat=home_lat[resident],
        lon=home_lon[resident],
        community=community,
        start=start,
        end=end,
        duration=duration.astype(np.int64),
        priority=priority,
        crew=crew.astype(np.int64),
        team_only=team_only,
        resident=resident,
        preferred=np.full(n, -1, dtype=np.int64),
        pin_member=np.full(n, -1, dtype=np.int64),
        pin_start=np.zeros(n, dtype=np.int64),
    )
    _partners(rng, book, roster, n_repeat, home_community, home_lat, home_lon, main_need)
    return book


def _partners(
    rng: np.random.Generator,
    book: _Book,
    roster: _Roster,
    n_repeat: int,
    home_community: Array,
    home_lat: Array,
    home_lon: Array,
    main_need: Array,
) -> None:
    """Hand-in-hand pairs (拉手式): a nearby member of the community who can meet the main need."""
    partnered = np.nonzero(rng.random(n_repeat) < 0.42)[0]
    partner = np.full(len(home_community), -1, dtype=np.int64)
    for r in partnered.tolist():
        c = int(home_community[r])
        lo, hi = int(roster.member_ptr[c]), int(roster.member_ptr[c + 1])
        able = lo + np.nonzero(roster.hold[lo:hi, main_need[r]])[0]
        if len(able) == 0:
            continue
        dist = haversine_km(roster.lat[able], roster.lon[able], home_lat[r], home_lon[r])
        near = able[np.argsort(dist, kind="stable")[:5]]
        partner[r] = near[rng.integers(0, len(near))]
    cand = partner[book.resident]
    has = (cand >= 0) & ~book.team_only
    idx = np.nonzero(has)[0]
    holds = roster.hold[cand[idx], book.category[idx]]
    sec = book.second[idx]
    holds &= (sec < 0) | roster.hold[cand[idx], np.maximum(sec, 0)]
    book.preferred[idx[holds]] = cand[idx[holds]]


def _pin(rng: np.random.Generator, book: _Book, roster: _Roster) -> None:
    """Mark about 1 % of single-member demands as accepted, keeping rules 2–7 of the contract."""
    target = round(PIN_SHARE * len(book.category))
    single = np.nonzero((book.crew == 1) & ~book.team_only)[0]
    order = rng.permutation(single)[: 4 * target]
    capacity_left = roster.capacity_min.copy()
    pins: dict[int, list[tuple[int, int]]] = {}
    placed = 0
    for j in order.tolist():
        if placed >= target:
            break
        c = int(book.community[j])
        lo, hi = int(roster.member_ptr[c]), int(roster.member_ptr[c + 1])
        need = [int(book.category[j])] + ([int(book.second[j])] if book.second[j] >= 0 else [])
        able = lo + np.nonzero(roster.hold[lo:hi][:, need].all(axis=1))[0]
        dur = int(book.duration[j])
        able = able[capacity_left[able] >= dur]
        if len(able) == 0:
            continue
        dist = haversine_km(roster.lat[able], roster.lon[able], book.lat[j], book.lon[j])
        able = able[dist <= roster.limit_km(able) - 1e-6]
        w0, w1 = int(book.start[j]), int(book.end[j])
        for m in rng.permutation(able).tolist():
            start = _first_start(roster, m, w0, w1, dur, pins.get(m, []))
            if start is not None:
                book.pin_member[j], book.pin_start[j] = m, start
                pins.setdefault(m, []).append((start, start + dur))
                capacity_left[m] -= dur
                placed += 1
                break


def _first_start(
    roster: _Roster, m: int, w0: int, w1: int, dur: int, taken: list[tuple[int, int]]
) -> int | None:
    """Earliest grid start in ``[w0, w1)`` inside one free interval of ``m``, clear of ``taken``."""
    for k in range(int(roster.av_ptr[m]), int(roster.av_ptr[m + 1])):
        a, b = max(int(roster.av_start[k]), w0), min(int(roster.av_end[k]), w1)
        s = w0 + -(-(a - w0) // TIME_STEP_MIN) * TIME_STEP_MIN
        while s + dur <= b:
            e = s + dur
            if all(e + CHANGEOVER_MIN <= ts or te + CHANGEOVER_MIN <= s for ts, te in taken):
                return s
            s += TIME_STEP_MIN
    return None


def _assemble(
    clock: _Clock,
    roster: _Roster,
    teams: list[tuple[Array, int]],
    book: _Book,
    seed: int,
) -> Problem:
    n_members, n_demands = len(roster.lat), len(book.category)
    mid = [f"m-{i:0{max(5, len(str(n_members)))}d}" for i in range(1, n_members + 1)]
    did = [f"d-{i:0{max(6, len(str(n_demands)))}d}" for i in range(1, n_demands + 1)]
    tw = max(4, len(str(len(teams))))
    n_res = int(book.resident.max()) + 1 if n_demands else 0
    rw = max(5, len(str(n_res)))

    times: dict[int, datetime] = {}

    def at(minute: int) -> datetime:
        t = times.get(minute)
        if t is None:
            t = times[minute] = clock.base + timedelta(minutes=minute)
        return t

    spans: dict[tuple[int, int], Interval] = {}

    def span(a: int, b: int) -> Interval:
        iv = spans.get((a, b))
        if iv is None:
            iv = spans[(a, b)] = Interval(at(a), at(b))
        return iv

    skill_sets: dict[tuple[bool, ...], tuple[str, ...]] = {}
    av_start, av_end, av_ptr = (
        roster.av_start.tolist(),
        roster.av_end.tolist(),
        roster.av_ptr.tolist(),
    )
    members = []
    for i, (lat, lon, row, cap, lim, rel, prefs) in enumerate(
        zip(
            roster.lat.tolist(),
            roster.lon.tolist(),
            map(tuple, roster.hold.tolist()),
            roster.capacity_min.tolist(),
            roster.max_km.tolist(),
            roster.reliability.tolist(),
            roster.preferences,
            strict=True,
        )
    ):
        skills = skill_sets.get(row)
        if skills is None:
            skills = skill_sets[row] = tuple(c for c, held in zip(_IDS, row, strict=True) if held)
        members.append(
            Member(
                id=mid[i],
                location=Location(lat, lon),
                skills=skills,
                availability=tuple(
                    span(av_start[k], av_end[k]) for k in range(av_ptr[i], av_ptr[i + 1])
                ),
                capacity_hours=cap / 60.0,
                max_distance_km=None if math.isnan(lim) else lim,
                preferences=prefs,
                reliability=rel,
            )
        )

    demands = []
    for j, (cat, sec, lat, lon, s, e, dur, pri, crew, team_only, res, pref, pm, ps) in enumerate(
        zip(
            book.category.tolist(),
            book.second.tolist(),
            book.lat.tolist(),
            book.lon.tolist(),
            book.start.tolist(),
            book.end.tolist(),
            book.duration.tolist(),
            book.priority.tolist(),
            book.crew.tolist(),
            book.team_only.tolist(),
            book.resident.tolist(),
            book.preferred.tolist(),
            book.pin_member.tolist(),
            book.pin_start.tolist(),
            strict=True,
        )
    ):
        demands.append(
            Demand(
                id=did[j],
                category=_IDS[cat],
                skills=(_IDS[cat],) if sec < 0 else (_IDS[cat], _IDS[sec]),
                location=Location(lat, lon),
                window=span(s, e),
                duration_hours=dur / 60.0,
                priority=pri,
                crew_size=crew,
                team_only=team_only,
                resident=f"r-{res + 1:0{rw}d}",
                preferred_members=(mid[pref],) if pref >= 0 else (),
                pinned=Pin(members=(mid[pm],), start=at(ps)) if pm >= 0 else None,
            )
        )

    team_objs = tuple(
        Team(
            id=f"t-{t + 1:0{tw}d}",
            members=tuple(mid[i] for i in people.tolist()),
            leader=mid[leader],
        )
        for t, (people, leader) in enumerate(teams)
    )
    options = Options(time_limit_s=10, seed=seed, max_distance_km=DEFAULT_MAX_DISTANCE_KM)
    return Problem(members=tuple(members), demands=tuple(demands), teams=team_objs, options=options)


def generate_district(
    *,
    members: int,
    demands: int,
    seed: int = 0,
    horizon_start: datetime | None = None,
    horizon_days: int = 7,
) -> Problem:
    """A synthetic district of ``members`` registered members and ``demands`` open demands.

    Args:
        members: Registered in-service members, at least 1 (tested 50–50,000).
        demands: Open demands, at least 0 (tested up to 150,000).
        seed: Seed of the one random stream; the same arguments give the same problem.
        horizon_start: Timezone-aware start of the planning horizon, best a local midnight;
            default Monday 2026-12-07 00:00 +08:00.
        horizon_days: Length of the horizon in days, at least 1.

    Returns:
        A problem whose members, demands, teams and pins follow the choices in the module
        docstring, with ``Options(time_limit_s=10, seed=seed, max_distance_km=3.0)``.

    Raises:
        ValueError: If a count or ``horizon_days`` is out of range or ``horizon_start`` is naive.
    """
    if members < 1:
        raise ValueError(f"members must be at least 1, got {members}")
    if demands < 0:
        raise ValueError(f"demands must be at least 0, got {demands}")
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    start = DEFAULT_HORIZON_START if horizon_start is None else horizon_start
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("horizon_start must be timezone-aware")

    rng = np.random.default_rng(seed)
    clock = _Clock.of(start, horizon_days)
    layout = _layout(rng, members)
    roster = _roster(rng, layout, clock)
    teams = _teams(rng, roster, len(layout.grid_lat))
    book = _book(rng, demands, layout, roster, teams, clock)
    _pin(rng, book, roster)
    return _assemble(clock, roster, teams, book, seed)


def district_summary(problem: Problem) -> dict[str, Any]:
    """Counts that describe a problem at a glance (sizes, crews, pins, mix of demands).

    Args:
        problem: Any problem, generated or not.

    Returns:
        A JSON-friendly dict: ``members``, ``demands``, ``teams``, ``residents``, ``crews``
        (crew size above 1, not team-only), ``team_only``, ``pinned``, ``preferred``,
        ``two_skill``, ``by_priority``, ``by_category``, ``mean_capacity_hours``,
        ``mean_availability_hours``, ``capacity_hours`` and ``demand_hours`` (duration × crew).
    """
    demands = problem.demands
    members = problem.members
    n = max(1, len(members))
    categories = Counter(d.category for d in demands)
    known = [c for c in CATEGORIES if categories[c]]
    extra = sorted(c for c in categories if c not in CATEGORIES)
    priorities = Counter(d.priority for d in demands)
    return {
        "members": len(members),
        "demands": len(demands),
        "teams": len(problem.teams),
        "residents": len({d.resident for d in demands if d.resident is not None}),
        "crews": sum(1 for d in demands if d.crew_size > 1 and not d.team_only),
        "team_only": sum(1 for d in demands if d.team_only),
        "pinned": sum(1 for d in demands if d.pinned is not None),
        "preferred": sum(1 for d in demands if d.preferred_members),
        "two_skill": sum(1 for d in demands if len(d.skills) > 1),
        "by_priority": {p: priorities[p] for p in sorted(priorities)},
        "by_category": {c: categories[c] for c in known + extra},
        "mean_capacity_hours": round(sum(m.capacity_hours for m in members) / n, 2),
        "mean_availability_hours": round(
            sum(iv.hours for m in members for iv in m.availability) / n, 2
        ),
        "capacity_hours": round(sum(m.capacity_hours for m in members), 1),
        "demand_hours": round(sum(d.duration_hours * d.crew_size for d in demands), 1),
    }
