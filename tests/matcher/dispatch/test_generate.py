"""Tests for the synthetic-district generator (``matcher.dispatch.generate``)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest

from matcher.dispatch import generate
from matcher.dispatch.generate import district_summary, generate_district
from matcher.dispatch.problem import Demand, Member, Problem
from matcher.vocabulary import CATEGORIES

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 12, 7, tzinfo=CST)
STEP = timedelta(minutes=15)
CHANGEOVER = timedelta(minutes=15)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def district() -> Problem:
    return generate_district(members=2000, demands=5000, seed=0)


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def test_same_seed_gives_the_same_problem() -> None:
    """Generating twice with the same arguments gives equal problems."""
    a = generate_district(members=300, demands=800, seed=7)
    b = generate_district(members=300, demands=800, seed=7)
    assert a == b


def test_different_seeds_give_different_problems() -> None:
    """Another seed changes homes, skills and demands (and the options' seed)."""
    a = generate_district(members=300, demands=800, seed=1)
    b = generate_district(members=300, demands=800, seed=2)
    assert a.members != b.members
    assert a.demands != b.demands
    assert [m.location for m in a.members] != [m.location for m in b.members]
    assert (a.options.seed, b.options.seed) == (1, 2)


@pytest.mark.parametrize(("members", "demands"), [(50, 120), (1, 0), (2000, 5000), (3100, 4000)])
def test_sizes_and_options_match_the_request(members: int, demands: int) -> None:
    """The problem has exactly the requested numbers of members and demands, and set options."""
    p = generate_district(members=members, demands=demands, seed=3)
    assert len(p.members) == members
    assert len(p.demands) == demands
    assert p.options.max_distance_km == 2.0
    assert p.options.time_limit_s == 10
    assert p.options.seed == 3


def test_ids_are_unique_and_sort_naturally(district: Problem) -> None:
    """Member, demand and team ids are unique, zero-padded and in natural order."""
    for ids, prefix in (
        ([m.id for m in district.members], "m-"),
        ([d.id for d in district.demands], "d-"),
        ([t.id for t in district.teams], "t-"),
    ):
        assert ids, prefix
        assert len(set(ids)) == len(ids)
        assert ids == sorted(ids)
        assert len({len(i) for i in ids}) == 1
        assert all(i.startswith(prefix) for i in ids)
    assert district.members[0].id == "m-00001"
    assert district.demands[0].id == "d-000001"
    assert district.teams[0].id == "t-0001"
    residents = {d.resident for d in district.demands}
    assert all(r is not None and r.startswith("r-") for r in residents)


def test_teams_are_disjoint_groups_with_a_leader(district: Problem) -> None:
    """Teams hold 4–10 known members, a leader among them, and nobody is in two teams."""
    known = {m.id for m in district.members}
    seen: Counter[str] = Counter()
    for team in district.teams:
        assert 4 <= len(team.members) <= 10
        assert len(set(team.members)) == len(team.members)
        assert set(team.members) <= known
        assert team.leader in team.members
        seen.update(team.members)
    assert max(seen.values()) == 1
    assert 0.5 < len(seen) / len(district.members) < 0.95


def test_availability_is_sorted_disjoint_and_inside_the_horizon(district: Problem) -> None:
    """Every member has free time; intervals are sorted, may touch but never overlap."""
    end = MONDAY + timedelta(days=7)
    for m in district.members:
        assert m.availability, m.id
        for iv in m.availability:
            assert MONDAY <= iv.start < iv.end <= end
        for a, b in pairwise(m.availability):
            assert a.end <= b.start, m.id


def test_availability_is_mostly_evenings_and_weekends(district: Problem) -> None:
    """At least 70 % of free hours fall on Saturday/Sunday or after 18:00 local time."""
    total = off_hours = 0.0
    for m in district.members:
        for iv in m.availability:
            start, end = iv.start.astimezone(CST), iv.end.astimezone(CST)
            total += hours(end - start)
            if start.weekday() >= 5:
                off_hours += hours(end - start)
            else:
                six_pm = start.replace(hour=18, minute=0)
                off_hours += max(0.0, hours(end - max(start, six_pm)))
    assert off_hours / total >= 0.7
    assert off_hours / total < 1.0  # the retired and shift workers give some daytime


def test_member_profiles_are_in_range(district: Problem) -> None:
    """1–4 known skills, 0–3 intentions mostly among them, capacity 2–12 h, limits, reliability."""
    members = district.members
    for m in members:
        assert 1 <= len(m.skills) <= 4
        assert set(m.skills) <= set(CATEGORIES)
        assert len(set(m.skills)) == len(m.skills)
        assert 0 <= len(m.preferences) <= 3
        assert 2.0 <= m.capacity_hours <= 12.0
        assert (m.capacity_hours * 2).is_integer()
        assert m.max_distance_km is None or 1.0 <= m.max_distance_km <= 3.0
        assert 0.5 <= m.reliability <= 1.0
    prefs = [(c, m) for m in members for c in m.preferences]
    assert sum(c in m.skills for c, m in prefs) / len(prefs) > 0.8
    unset = sum(m.max_distance_km is None for m in members) / len(members)
    assert 0.6 < unset < 0.8
    held = Counter(c for m in members for c in m.skills)
    assert held["policy_publicity"] > 3 * held["legal_aid"]
    assert held["sanitation"] > 2 * held["psychological_support"]


def test_windows_are_valid_and_hold_the_duration(district: Problem) -> None:
    """Windows are inside the horizon, start on a half hour and are at least the duration long."""
    end = MONDAY + timedelta(days=7)
    for d in district.demands:
        w = d.window
        assert MONDAY <= w.start < w.end <= end
        assert w.start.minute in (0, 30) and w.start.second == 0
        assert w.end - w.start >= timedelta(hours=d.duration_hours)
        assert w.end - w.start <= timedelta(days=3)
        assert 0.5 <= d.duration_hours <= 3.0 and (d.duration_hours * 2).is_integer()
        assert 1 <= d.priority <= 5
        assert d.category in CATEGORIES and d.skills[0] == d.category
        assert 1 <= len(d.skills) <= 2 and set(d.skills) <= set(CATEGORIES)


def test_demand_mix_is_realistic(district: Problem) -> None:
    """Crews ~6 %, team-only ~2 %, pins ~1 %, partners ~8 %, repeat residents ~30 %, urgent ~8 %."""
    demands = district.demands
    n = len(demands)
    crews = [d for d in demands if d.crew_size > 1 and not d.team_only]
    assert 0.04 < len(crews) / n < 0.08
    assert all(2 <= d.crew_size <= 3 for d in crews)
    team_only = [d for d in demands if d.team_only]
    assert 0.01 < len(team_only) / n < 0.03
    assert all(2 <= d.crew_size <= 4 for d in team_only)
    assert 0.005 < sum(d.pinned is not None for d in demands) / n <= 0.011
    assert 0.05 < sum(bool(d.preferred_members) for d in demands) / n < 0.11
    per_resident = Counter(d.resident for d in demands)
    repeat = sum(c for c in per_resident.values() if c > 1) / n
    assert 0.25 < repeat < 0.35
    priorities = Counter(d.priority for d in demands)
    assert priorities[2] + priorities[3] > n / 2
    assert 0.05 < priorities[5] / n < 0.11
    assert 0.05 < sum(len(d.skills) > 1 for d in demands) / n < 0.15


def test_preferred_partner_holds_the_skills_and_is_consistent(district: Problem) -> None:
    """A hand-in-hand partner holds the demand's skills and is the same for all of a resident."""
    by_id = {m.id: m for m in district.members}
    partner: dict[str | None, set[str]] = defaultdict(set)
    for d in district.demands:
        for m in d.preferred_members:
            assert set(d.skills) <= set(by_id[m].skills)
            partner[d.resident].add(m)
    assert partner
    assert all(len(ms) == 1 for ms in partner.values())


def check_pins(p: Problem) -> int:
    """Assert that the pinned assignments alone satisfy rules 2–7; return how many there are."""
    by_id = {m.id: m for m in p.members}
    tasks: dict[str, list[tuple[datetime, datetime, Demand]]] = defaultdict(list)
    for d in p.demands:
        if d.pinned is None:
            continue
        assert d.crew_size == 1 and len(d.pinned.members) == 1
        m: Member = by_id[d.pinned.members[0]]
        start = d.pinned.start
        end = start + timedelta(hours=d.duration_hours)
        # Rule 2: inside the window, on the time grid from window.start.
        assert d.window.start <= start and end <= d.window.end, d.id
        assert (start - d.window.start) % STEP == timedelta(0), d.id
        # Rule 3: inside one availability interval.
        assert any(iv.start <= start and end <= iv.end for iv in m.availability), d.id
        # Rule 4: a lone member holds every skill.
        assert set(d.skills) <= set(m.skills), d.id
        # Rule 5: within the member's distance limit.
        limit = m.max_distance_km if m.max_distance_km is not None else p.options.max_distance_km
        distance = haversine_km(m.location.lat, m.location.lon, d.location.lat, d.location.lon)
        assert distance <= limit, (d.id, distance, limit)
        tasks[m.id].append((start, end, d))
    for member_id, own in tasks.items():
        own.sort(key=lambda t: t[0])
        # Rule 6: no overlap, and the changeover between consecutive tasks.
        for (_s1, e1, _d1), (s2, _e2, _d2) in pairwise(own):
            assert e1 + CHANGEOVER <= s2, member_id
        # Rule 7: capacity.
        assert sum(d.duration_hours for _s, _e, d in own) <= by_id[member_id].capacity_hours
    return sum(len(v) for v in tasks.values())


@pytest.mark.parametrize(
    ("members", "demands", "seed"),
    [(2000, 5000, 0), (2000, 5000, 1), (300, 3000, 2), (60, 1500, 3), (50, 120, 4)],
)
def test_pins_satisfy_rules_2_to_7(members: int, demands: int, seed: int) -> None:
    """Already-accepted assignments are feasible, also where members are scarce."""
    p = generate_district(members=members, demands=demands, seed=seed)
    pinned = check_pins(p)
    if demands >= 1000:
        assert pinned >= demands // 200


@pytest.mark.parametrize(("members", "demands", "seed"), [(60, 600, 5), (400, 2000, 6)])
def test_pins_stay_feasible_when_most_demands_are_pinned(
    monkeypatch: pytest.MonkeyPatch, members: int, demands: int, seed: int
) -> None:
    """With half the demands to pin, members fill up: pins still keep rules 2–7."""
    monkeypatch.setattr(generate, "PIN_SHARE", 0.5)
    p = generate_district(members=members, demands=demands, seed=seed)
    assert check_pins(p) >= demands // 10


def test_team_only_demands_exist_and_some_team_can_serve(district: Problem) -> None:
    """At 2,000 members there are team-only demands, each matched by a large enough team."""
    team_only = [d for d in district.demands if d.team_only]
    assert team_only
    by_id = {m.id: m for m in district.members}
    teams = [
        (len(t.members), {s for m in t.members for s in by_id[m].skills}) for t in district.teams
    ]
    for d in team_only:
        assert d.pinned is None
        assert any(size >= d.crew_size and set(d.skills) <= held for size, held in teams), d.id


def test_most_demands_have_a_candidate(district: Problem) -> None:
    """≥ 90 % of single-member demands have someone with the skills, in range and free."""
    members = district.members
    singles = [d for d in district.demands if d.crew_size == 1]
    servable = 0
    for d in singles[:1000]:
        need = timedelta(hours=d.duration_hours)
        for m in members:
            if not set(d.skills) <= set(m.skills):
                continue
            limit = m.max_distance_km or district.options.max_distance_km
            if haversine_km(m.location.lat, m.location.lon, d.location.lat, d.location.lon) > limit:
                continue
            if any(
                min(iv.end, d.window.end) - max(iv.start, d.window.start) >= need
                for iv in m.availability
            ):
                servable += 1
                break
    assert servable / min(1000, len(singles)) >= 0.9


def test_district_is_centred_on_zhengzhou(district: Problem) -> None:
    """Homes and demands lie within a few km of Zhengzhou's centre."""
    lats = [m.location.lat for m in district.members]
    lons = [m.location.lon for m in district.members]
    centre = (sum(lats) / len(lats), sum(lons) / len(lons))
    assert haversine_km(*centre, 34.7466, 113.6253) < 1.5
    assert all(haversine_km(lat, lon, *centre) < 10 for lat, lon in zip(lats, lons, strict=True))
    assert all(haversine_km(d.location.lat, d.location.lon, *centre) < 10 for d in district.demands)


def test_custom_horizon_is_respected() -> None:
    """A one-day horizon starting Saturday mid-morning keeps every time inside it, on half hours."""
    start = datetime(2026, 12, 12, 10, 17, tzinfo=CST)
    end = start + timedelta(days=1)
    p = generate_district(members=120, demands=300, seed=5, horizon_start=start, horizon_days=1)
    for m in p.members:
        assert m.availability
        for iv in m.availability:
            assert start <= iv.start < iv.end <= end
    for d in p.demands:
        assert start <= d.window.start and d.window.end <= end
        assert d.window.start.minute in (0, 30)
        assert d.window.end - d.window.start >= timedelta(hours=d.duration_hours)
    check_pins(p)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"members": 0, "demands": 10},
        {"members": 10, "demands": -1},
        {"members": 10, "demands": 10, "horizon_days": 0},
        {"members": 10, "demands": 10, "horizon_start": datetime(2026, 12, 7)},
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, object]) -> None:
    """Out-of-range counts, an empty horizon and a naive start are rejected."""
    with pytest.raises(ValueError):
        generate_district(**kwargs)  # type: ignore[arg-type]


def test_district_summary_counts(district: Problem) -> None:
    """The summary's counts agree with the problem, and categories/priorities add up."""
    s = district_summary(district)
    assert s["members"] == 2000 and s["demands"] == 5000
    assert s["teams"] == len(district.teams)
    assert sum(s["by_priority"].values()) == 5000
    assert sum(s["by_category"].values()) == 5000
    assert set(s["by_category"]) <= set(CATEGORIES)
    assert s["pinned"] == sum(d.pinned is not None for d in district.demands)
    assert s["team_only"] == sum(d.team_only for d in district.demands)
    assert s["crews"] == sum(d.crew_size > 1 and not d.team_only for d in district.demands)
    assert s["preferred"] == sum(bool(d.preferred_members) for d in district.demands)
    mean = sum(m.capacity_hours for m in district.members) / 2000
    assert s["mean_capacity_hours"] == pytest.approx(mean, abs=0.01)


@pytest.mark.slow
def test_large_district_generates() -> None:
    """20,000 members and 60,000 demands are generated (sizes checked, pins feasible)."""
    p = generate_district(members=20000, demands=60000, seed=11)
    assert len(p.members) == 20000 and len(p.demands) == 60000
    assert check_pins(p) >= 300
