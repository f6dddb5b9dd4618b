"""Synthetic quarters of team visits around Zhengzhou, for demos, tests and benchmarks.

Each team is responsible for one area: a community centre somewhere in the district with 30–300
households scattered within a few hundred metres (tower blocks and lanes), the outing start at
the community office. Teams have 4–12 members; some members also sit in a neighbouring team.
Members miss a random sixth of the usable dates (availability gaps). Chinese public holidays
falling in the quarter are blackout dates. Households take 15–30 minutes; about one in eight is
vulnerable and visited monthly (three times a quarter), a few twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from matcher.visits.problem import (
    WEEKDAYS,
    Area,
    Household,
    Point,
    Quarter,
    Session,
    VisitMember,
    VisitOptions,
    VisitProblem,
    VisitTeam,
)

CENTRE = Point(34.7466, 113.6253)
"""Zhengzhou, Erqi Square."""
KM_PER_DEG_LAT = 111.2

_LUNAR_HOLIDAYS: dict[int, list[tuple[date, int]]] = {
    # Spring Festival (eve and six days), Qingming, Dragon Boat, Mid-Autumn: (first day, days).
    2026: [
        (date(2026, 2, 16), 8),
        (date(2026, 4, 5), 1),
        (date(2026, 6, 19), 1),
        (date(2026, 9, 25), 1),
    ],
    2027: [
        (date(2027, 2, 5), 8),
        (date(2027, 4, 5), 1),
        (date(2027, 6, 9), 1),
        (date(2027, 9, 15), 1),
    ],
    2028: [
        (date(2028, 1, 25), 8),
        (date(2028, 4, 4), 1),
        (date(2028, 5, 28), 1),
        (date(2028, 10, 3), 1),
    ],
}


def public_holidays(start: date, end: date) -> list[date]:
    """Chinese public holidays between ``start`` and ``end`` (fixed-date ones every year; the
    lunar ones from a small table for 2026–2028, so approximate outside those years)."""
    days: set[date] = set()
    for year in range(start.year, end.year + 1):
        days.add(date(year, 1, 1))  # 元旦
        days.update(date(year, 5, d) for d in range(1, 6))  # 劳动节
        days.update(date(year, 10, d) for d in range(1, 8))  # 国庆节
        for first, length in _LUNAR_HOLIDAYS.get(year, []):
            days.update(first + timedelta(days=k) for k in range(length))
    return sorted(d for d in days if start <= d <= end)


def _offset(rng: np.random.Generator, centre: Point, radius_km: float) -> Point:
    angle = rng.uniform(0, 2 * math.pi)
    r = radius_km * math.sqrt(rng.uniform(0, 1))
    dlat = r * math.sin(angle) / KM_PER_DEG_LAT
    dlon = r * math.cos(angle) / (KM_PER_DEG_LAT * math.cos(math.radians(centre.lat)))
    return Point(round(centre.lat + dlat, 6), round(centre.lon + dlon, 6))


def generate_visit_problem(
    teams: int = 20,
    members: int | None = None,
    households: int | None = None,
    seed: int = 0,
    quarter_start: date = date(2027, 1, 1),
    weeks: int = 13,
    visit_weekdays: tuple[str, ...] = ("sat", "sun"),
    time_limit_s: float = 30.0,
    quarter_end: date | None = None,
    unavailable_share: float = 1 / 6,
) -> VisitProblem:
    """A district quarter: ``teams`` teams (one area each), about 10 members per team.

    Args:
        teams: Number of teams and areas.
        members: Members in all (default ``10 × teams``); each team gets 4–11 of its own.
        households: Households in all (default about 100 per area); per area 30–300.
        seed: Random seed; the same arguments give the same problem.
        quarter_start, weeks: The quarter.
        visit_weekdays: Allowed weekdays.
        time_limit_s: Written into the problem's options.
        quarter_end: The quarter's last day (default ``weeks`` weeks after the start).
        unavailable_share: Each member misses each usable date with this probability.
    """
    rng = np.random.default_rng(seed)
    n_members = members if members is not None else 10 * teams
    if n_members < 4 * teams:
        raise ValueError(f"members must be at least 4 per team ({4 * teams}), not {n_members}")
    end = quarter_end or quarter_start + timedelta(weeks=weeks) - timedelta(days=1)
    district_km = 1.5 * math.sqrt(teams)
    centres = [_offset(rng, CENTRE, district_km) for _ in range(teams)]
    per_area = _split(rng, households if households is not None else 100 * teams, teams, 30, 300)
    areas = tuple(
        _area(rng, f"a-{t + 1}", centres[t], int(per_area[t]), start_index=int(per_area[:t].sum()))
        for t in range(teams)
    )
    primary = _split(rng, n_members, teams, 4, 11)
    rosters: list[list[str]] = []
    next_id = 1
    for t in range(teams):
        rosters.append([f"m-{next_id + k}" for k in range(int(primary[t]))])
        next_id += int(primary[t])
    _second_teams(rng, rosters, centres)
    allowed = {WEEKDAYS.index(w) for w in visit_weekdays}
    holidays = public_holidays(quarter_start, end)
    usable = [
        quarter_start + timedelta(days=k)
        for k in range((end - quarter_start).days + 1)
        if (quarter_start + timedelta(days=k)).weekday() in allowed
        and quarter_start + timedelta(days=k) not in holidays
    ]
    member_list = tuple(
        VisitMember(
            id=f"m-{k}",
            unavailable_dates=tuple(sorted(d for d in usable if rng.uniform() < unavailable_share)),
        )
        for k in range(1, next_id)
    )
    team_list = tuple(
        VisitTeam(
            id=f"t-{t + 1}",
            members=tuple(rosters[t]),
            leader=rosters[t][0],
            quorum=3 if len(rosters[t]) >= 6 else 2,
            area=f"a-{t + 1}",
        )
        for t in range(teams)
    )
    per_day = max(4, math.ceil(teams * 1.2))
    return VisitProblem(
        quarter=Quarter(quarter_start, end),
        members=member_list,
        teams=team_list,
        areas=areas,
        visit_weekdays=tuple(w for w in WEEKDAYS if w in visit_weekdays),
        blackout_dates=tuple(holidays),
        max_sessions_per_day=per_day,
        session=Session(),
        walking_speed_kmh=4.0,
        options=VisitOptions(time_limit_s=time_limit_s, seed=seed),
    )


def _split(rng: np.random.Generator, total: int, parts: int, low: int, high: int) -> np.ndarray:
    """``parts`` integers in ``[low, high]`` summing to ``total`` (clipped to what fits)."""
    total = min(max(total, low * parts), high * parts)
    sizes = np.full(parts, low, dtype=np.int64)
    rest = total - low * parts
    while rest > 0:
        room = np.flatnonzero(sizes < high)
        picks = rng.choice(room, size=min(rest, len(room)), replace=False)
        sizes[picks] += 1
        rest -= len(picks)
    return sizes


def _area(
    rng: np.random.Generator, area_id: str, centre: Point, count: int, start_index: int
) -> Area:
    radius_km = 0.25 + 0.35 * math.sqrt(count / 300)
    households = []
    for k in range(count):
        roll = rng.uniform()
        visits = 3 if roll < 0.12 else 2 if roll < 0.17 else 1
        households.append(
            Household(
                id=f"h-{start_index + k + 1}",
                location=_offset(rng, centre, radius_km),
                visit_minutes=float(rng.choice([15, 20, 20, 30])),
                visits=visits,
            )
        )
    return Area(id=area_id, start=centre, households=tuple(households))


def _second_teams(rng: np.random.Generator, rosters: list[list[str]], centres: list[Point]) -> None:
    """About 15% of members also join the nearest other team that has room (at most 12)."""
    if len(rosters) < 2:
        return
    lat = np.array([c.lat for c in centres])
    lon = np.array([c.lon for c in centres])
    primaries = [list(roster) for roster in rosters]
    for t, roster in enumerate(primaries):
        order = np.argsort((lat - lat[t]) ** 2 + (lon - lon[t]) ** 2)
        neighbour = int(next(o for o in order if o != t))
        for member in roster:
            room = len(rosters[neighbour]) < 12 and member not in rosters[neighbour]
            if rng.uniform() < 0.15 and room:
                rosters[neighbour].append(member)


HELD_OUT_HOUSEHOLDS = 14_747
"""Households of the held-out quarter issue 20 describes (300 teams)."""


def held_out_like_problem(
    seed: int = 0, *, teams: int = 300, time_limit_s: float = 120.0
) -> VisitProblem:
    """A quarter shaped like the held-out one issue 20 was measured on, built to its
    description alone: 300 teams and 14,747 households (``teams`` scales both), the calendar
    quarter 2027-01-01 to 2027-03-31 on weekends only with the 8-day Spring Festival
    (2027-02-05 to 02-12) as blackout (New Year's Day falls on a Friday), a quarter of the
    members off on any date, some members in two teams, ``time_limit_s`` 120. Fewer households
    per area than the district generator's 100 and more members away make quorum, not
    walking, the tight constraint."""
    return generate_visit_problem(
        teams=teams,
        households=round(HELD_OUT_HOUSEHOLDS * teams / 300),
        seed=seed,
        quarter_start=date(2027, 1, 1),
        quarter_end=date(2027, 3, 31),
        visit_weekdays=("sat", "sun"),
        time_limit_s=time_limit_s,
        unavailable_share=0.25,
    )


@dataclass(frozen=True)
class QuarterShape:
    """The knobs of a small random quarter (:func:`small_quarter`), for property tests."""

    seed: int = 0
    teams: int = 1
    members_per_team: int = 6
    households_per_team: int = 40
    weeks: int = 13
    visit_weekdays: tuple[str, ...] = ("sat", "sun")
    max_hours: float = 3.0
    min_days_between_visits: int = 21
    walking_speed_kmh: float = 4.0
    max_sessions_per_day: int = 4


SHAPE_CHOICES: dict[str, tuple[object, ...]] = {
    "teams": (1, 2, 3),
    "members_per_team": (4, 5, 6, 8, 10),
    "households_per_team": (30, 40, 60, 90),
    "weeks": (2, 4, 8, 13),
    "visit_weekdays": (("sat", "sun"), ("sun",), ("sat",), ("mon", "wed", "sat"), WEEKDAYS),
    "max_hours": (0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
    "min_days_between_visits": (0, 7, 14, 21, 30),
    "walking_speed_kmh": (2.0, 3.0, 4.0, 5.0),
    "max_sessions_per_day": (1, 2, 3, 4, 6),
}
"""The values :func:`random_shape` (and the property tests) draw each knob from."""


def random_shape(rng: np.random.Generator) -> QuarterShape:
    """One :class:`QuarterShape`, every knob drawn uniformly from :data:`SHAPE_CHOICES`."""
    knobs = {name: values[int(rng.integers(len(values)))] for name, values in SHAPE_CHOICES.items()}
    return QuarterShape(seed=int(rng.integers(2**31)), **knobs)  # type: ignore[arg-type]


def small_quarter(shape: QuarterShape, *, time_limit_s: float = 0.05) -> VisitProblem:
    """A generated quarter (:func:`generate_visit_problem`) with the shape's session length,
    spacing, walking speed and day limit written over the generator's."""
    problem = generate_visit_problem(
        teams=shape.teams,
        members=shape.members_per_team * shape.teams,
        households=shape.households_per_team * shape.teams,
        seed=shape.seed,
        weeks=shape.weeks,
        visit_weekdays=shape.visit_weekdays,
        time_limit_s=time_limit_s,
    )
    return replace(
        problem,
        session=Session(max_hours=shape.max_hours),
        walking_speed_kmh=shape.walking_speed_kmh,
        max_sessions_per_day=shape.max_sessions_per_day,
        options=replace(problem.options, min_days_between_visits=shape.min_days_between_visits),
    )
