"""Dates and attendees for routed outings: a greedy over the quarter, most constrained first.

Outings with repeat visits are placed first, round by round (every household's ``k``-th visit
before anyone's ``k+1``-th), inside each round the teams with the fewest usable dates first; the
outings of once-a-quarter households, free to take any date, fill in afterwards. A date is usable
for an outing when it is an allowed weekday inside the quarter and not a blackout, the community has
fewer than ``max_sessions_per_day`` outings that day, it keeps every household of the outing
``min_days_between_visits`` after its previous visit and leaves room for its later ones, and the
team can gather a quorum of members who are available and not already out that day. Among usable
dates the scheduler prefers, in this order: a date that leaves each later visit of the outing's
households a week of choice beyond the spacing; for repeat visits, a date within a week of the
round's ideal point in the quarter; a date the team has no outing yet (so the whole team can go);
the week where the team and then the community have the fewest outings (the spread the objective
asks for).

Households the greedy leaves short get a second chance: all their visits are placed again on the
most spaced dates where they can join a booked outing (its longer route measured again and
fitting the session) or go alone. Households still short then have their teams (with the teams
sharing members with them) planned again as one CP-SAT model (:mod:`matcher.visits.dates_model`).

Attendees are chosen in two passes: first a quorum for every outing (leader first, then the
members who sit in fewest teams and have gone out least), then every other free team member is
added (most attendees above quorum), each to the outing of that day that has fewest.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from matcher.visits.dates_model import area_components, solve_dates
from matcher.visits.outings import Outing, fits, outing_of
from matcher.visits.problem import WEEKDAYS, Area, VisitMember, VisitProblem, VisitTeam


@dataclass(frozen=True)
class Booking:
    """An outing with its team, date and attendees."""

    outing: Outing
    team: str
    date: date
    attendees: tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    """An outing that found no date: the reason code and a sentence for the dispatcher."""

    outing: Outing
    team: str | None
    reason: str
    detail: str


@dataclass
class _State:
    """What is booked so far."""

    out_on: dict[str, set[date]] = field(default_factory=lambda: defaultdict(set))
    day_load: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    week_load: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    team_week_load: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    team_day_load: dict[tuple[str, date], int] = field(default_factory=lambda: defaultdict(int))
    outings_of_member: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    visited_on: dict[str, list[date]] = field(default_factory=lambda: defaultdict(list))


def usable_dates(problem: VisitProblem) -> list[date]:
    """Dates of the quarter on an allowed weekday that are not blackouts, in order."""
    allowed = {WEEKDAYS.index(name) for name in problem.visit_weekdays}
    blackout = set(problem.blackout_dates)
    days = (problem.quarter.end - problem.quarter.start).days + 1
    result = []
    for offset in range(max(days, 0)):
        day = problem.quarter.start + timedelta(days=offset)
        if day.weekday() in allowed and day not in blackout:
            result.append(day)
    return result


ROOM_DAYS = 7
"""Preferred extra days per later visit of a household, so its last visits keep a choice of
dates (weekend-only quarters have two dates a week)."""

PROGRESS_EVERY = 250
"""Bookings between two progress reports."""

ShrinkFn = Callable[..., Outing]
"""``shrink(outing, households, keep=...)``: the outing with only (``keep=True``) or without
(``keep=False``) those households, its walk recomputed."""


def assign_dates(
    problem: VisitProblem,
    outings: Sequence[Outing],
    shrink: ShrinkFn | None = None,
    *,
    on_booked: Callable[[int, int], None] | None = None,
    model_time_s: float = 5.0,
) -> tuple[list[Booking], list[Refusal]]:
    """Give each outing a team, a date and a quorum, then add the free members as extras.

    With ``shrink``, households whose own visit spacing leaves no date are taken out of an
    outing (and reported) so the rest of it can still be scheduled. Households still short
    after the greedy and its second chance have the teams concerned planned again as one CP-SAT
    model (:mod:`matcher.visits.dates_model`, ``model_time_s`` in all; 0 skips it).
    ``on_booked(booked, outings)`` is told every :data:`PROGRESS_EVERY` bookings and once at
    the end.
    """
    dates = usable_dates(problem)
    members = {m.id: m for m in problem.members}
    teams_of_area: dict[str, list[VisitTeam]] = defaultdict(list)
    for team in problem.teams:
        teams_of_area[team.area].append(team)
    teams_of_member: dict[str, int] = defaultdict(int)
    for team in problem.teams:
        for member_id in set(team.members):
            teams_of_member[member_id] += 1
    visits = {h.id: h.visits for a in problem.areas for h in a.households}
    state = _State()
    placed: list[tuple[Outing, VisitTeam, date, list[str]]] = []
    refusals: list[Refusal] = []
    ctx = _Context(members=members, teams_of_member=teams_of_member, dates=tuple(dates))

    def reach(team: VisitTeam) -> int:
        return sum(1 for d in dates if _free_count(team, d, members, state) >= team.quorum)

    reach_of = {t.id: reach(t) for t in problem.teams}
    # Outings with repeat visits have narrow windows: they choose first, round by round; outings
    # of once-a-quarter households can go any date and fill in afterwards.
    order = sorted(
        range(len(outings)),
        key=lambda i: (
            0 if any(visits[h] > 1 for h in outings[i].route) else 1,
            outings[i].round,
            min((reach_of[t.id] for t in teams_of_area[outings[i].area]), default=0),
            outings[i].area,
            i,
        ),
    )
    queue = deque(outings[i] for i in order)
    while queue:
        if on_booked is not None and placed and len(placed) % PROGRESS_EVERY == 0:
            on_booked(len(placed), len(outings))
        outing = queue.popleft()
        teams = teams_of_area.get(outing.area, [])
        if not teams:
            refusals.append(
                Refusal(
                    outing,
                    None,
                    "quorum",
                    f"no team is responsible for area {outing.area}; form or assign a team",
                )
            )
            continue
        choice = _best_date(problem, outing, teams, dates, members, visits, state)
        if isinstance(choice, Refusal) and shrink is not None and len(outing.route) > 1:
            # Households whose own spacing leaves no date must not hold the others back.
            stuck = [h for h in outing.route if not _has_date(problem, h, visits, state, dates)]
            if stuck and len(stuck) < len(outing.route):
                refusals.append(
                    _spacing_refusal(problem, shrink(outing, stuck, keep=True), teams[0].id)
                )
                outing = shrink(outing, stuck, keep=False)
                choice = _best_date(problem, outing, teams, dates, members, visits, state)
            elif not stuck:
                # Each household has dates but not a common one: split into two outings.
                early = _early_part(problem, outing, visits, state)
                if early:
                    queue.appendleft(shrink(outing, early, keep=True))
                    queue.appendleft(shrink(outing, early, keep=False))
                    continue
        if isinstance(choice, Refusal) and choice.reason in ("quorum", "capacity"):
            # Move an outing that blocks a date to another date, then take the freed date.
            room = _make_room(problem, outing, teams, dates, members, visits, state, placed, ctx)
            choice = room or choice
        if isinstance(choice, Refusal):
            refusals.append(choice)
            continue
        team, day = choice
        crew = _quorum(team, day, members, teams_of_member, state)
        _book(problem, state, outing, team, day, crew)
        placed.append((outing, team, day, crew))
    if refusals:
        refusals = _place_leftovers(problem, refusals, placed, state, ctx, teams_of_area)
    if refusals and model_time_s > 0:
        refusals = _model_components(problem, refusals, placed, state, ctx, model_time_s)
    _add_extras(placed, members, state)
    if on_booked is not None:
        on_booked(len(placed), len(outings))
    bookings = [
        Booking(outing=o, team=t.id, date=d, attendees=tuple(_leader_first(t, crew)))
        for o, t, d, crew in placed
    ]
    return bookings, refusals


@dataclass(frozen=True)
class _Context:
    members: dict[str, VisitMember]
    teams_of_member: dict[str, int]
    dates: tuple[date, ...]


def _book(
    problem: VisitProblem,
    state: _State,
    outing: Outing,
    team: VisitTeam,
    day: date,
    crew: Sequence[str],
    sign: int = 1,
) -> None:
    """Record (``sign=1``) or take back (``sign=-1``) one outing's date and crew."""
    week = (day - problem.quarter.start).days // 7
    state.day_load[day] += sign
    state.week_load[week] += sign
    state.team_week_load[(team.id, week)] += sign
    state.team_day_load[(team.id, day)] += sign
    for member_id in crew:
        if sign > 0:
            state.out_on[member_id].add(day)
        else:
            state.out_on[member_id].discard(day)
        state.outings_of_member[member_id] += sign
    for household in outing.route:
        if sign > 0:
            state.visited_on[household].append(day)
        else:
            state.visited_on[household].remove(day)


def _spaced(problem: VisitProblem, outing: Outing, day: date, state: _State) -> bool:
    """Would ``day`` keep the spacing with every other visit already placed?"""
    gap = problem.options.min_days_between_visits
    return all(
        abs((day - other).days) >= gap
        for household in outing.route
        for other in state.visited_on.get(household, ())
    )


def _make_room(
    problem: VisitProblem,
    outing: Outing,
    teams: Sequence[VisitTeam],
    dates: Sequence[date],
    members: dict[str, VisitMember],
    visits: dict[str, int],
    state: _State,
    placed: list[tuple[Outing, VisitTeam, date, list[str]]],
    ctx: _Context,
) -> tuple[VisitTeam, date] | None:
    """Free a date in the outing's window by moving one placed outing to another date.

    A placed outing blocks ``day`` for ``team`` when it holds members of the team that day, or
    when the day is full. It may move to any date that keeps its households' spacing with
    all their other visits, where its team can gather a quorum and the day has room. The first
    move after which the team gathers its quorum on the freed date is kept.
    """
    earliest, latest, _ = _window(problem, outing, visits, state)
    per_day = problem.max_sessions_per_day
    for day in (d for d in dates if earliest <= d <= latest):
        full = state.day_load[day] >= per_day
        for team in teams:
            own = set(team.members)
            blockers = [
                i
                for i, (_, other, d, crew) in enumerate(placed)
                if d == day and (full or own & set(crew))
            ]
            for i in blockers:
                b_outing, b_team, b_day, b_crew = placed[i]
                _book(problem, state, b_outing, b_team, b_day, b_crew, sign=-1)
                moved = _move(problem, b_outing, b_team, b_day, state, ctx)
                freed = (
                    moved is not None
                    and state.day_load[day] < per_day
                    and _free_count(team, day, members, state) >= team.quorum
                )
                if freed and moved is not None:
                    new_day, new_crew = moved
                    _book(problem, state, b_outing, b_team, new_day, new_crew)
                    placed[i] = (b_outing, b_team, new_day, new_crew)
                    return team, day
                _book(problem, state, b_outing, b_team, b_day, b_crew)
    return None


def _move(
    problem: VisitProblem,
    outing: Outing,
    team: VisitTeam,
    old_day: date,
    state: _State,
    ctx: _Context,
) -> tuple[date, list[str]] | None:
    """Another date for an unbooked outing (and its quorum), or ``None``."""
    for day in ctx.dates:
        if day == old_day or state.day_load[day] >= problem.max_sessions_per_day:
            continue
        if not _spaced(problem, outing, day, state):
            continue
        if _free_count(team, day, ctx.members, state) >= team.quorum:
            return day, _quorum(team, day, ctx.members, ctx.teams_of_member, state)
    return None


def _place_leftovers(
    problem: VisitProblem,
    refusals: list[Refusal],
    placed: list[tuple[Outing, VisitTeam, date, list[str]]],
    state: _State,
    ctx: _Context,
    teams_of_area: dict[str, list[VisitTeam]],
) -> list[Refusal]:
    """Second chance for every refused household: all its visits are taken out and placed
    again on the most dates ``min_days_between_visits`` apart where it can join a booked outing
    of its area (the route still fits) or go alone (room that day, a free quorum). Its old dates
    stay possible, so it never loses a visit. The refusals that remain hold only the households
    still short of their visits."""
    areas = {a.id: a for a in problem.areas}
    visits = {h.id: h.visits for a in problem.areas for h in a.households}
    short: dict[str, Refusal] = {}
    for refusal in refusals:
        for household in refusal.outing.route:
            short.setdefault(household, refusal)
    still: dict[str, Refusal] = {}
    for household, refusal in short.items():
        area = areas.get(refusal.outing.area)
        teams = teams_of_area.get(refusal.outing.area, [])
        if area is None or not teams:
            still[household] = refusal
            continue
        got = _replan_household(problem, area, household, teams, placed, state, ctx)
        if got < visits[household]:
            still[household] = refusal
    remaining: list[Refusal] = []
    for refusal in refusals:
        left = [h for h in refusal.outing.route if still.get(h) is refusal]
        if len(left) == len(refusal.outing.route):
            remaining.append(refusal)
        elif left:
            area = areas[refusal.outing.area]
            shorter = outing_of(problem, area, refusal.outing.round, left)
            remaining.append(Refusal(shorter, refusal.team, refusal.reason, refusal.detail))
    return remaining


def _replan_household(
    problem: VisitProblem,
    area: Area,
    household: str,
    teams: Sequence[VisitTeam],
    placed: list[tuple[Outing, VisitTeam, date, list[str]]],
    state: _State,
    ctx: _Context,
) -> int:
    """Take the household out of its outings and place it again on the most spaced dates;
    returns its visits now."""
    for i in reversed(range(len(placed))):
        outing, team, day, crew = placed[i]
        if household not in outing.route:
            continue
        _book(problem, state, outing, team, day, crew, sign=-1)
        rest = [h for h in outing.route if h != household]
        if rest:
            shorter = outing_of(problem, area, outing.round, rest)
            _book(problem, state, shorter, team, day, crew)
            placed[i] = (shorter, team, day, crew)
        else:
            placed.pop(i)
    need = next(h.visits for h in area.households if h.id == household)
    gap = problem.options.min_days_between_visits
    chosen: list[date] = []
    for day in ctx.dates:
        if len(chosen) >= need:
            break
        if chosen and (day - chosen[-1]).days < gap:
            continue
        if _join_on(problem, area, household, day, placed) is not None or _alone_team(
            problem, day, teams, state, ctx
        ):
            chosen.append(day)
    got = 0
    for day in chosen:  # days apart do not touch each other's outings, members or load
        joined = _join_on(problem, area, household, day, placed)
        if joined is not None:
            i, longer = joined
            _, host, _, crew = placed[i]
            placed[i] = (longer, host, day, crew)
            state.visited_on[household].append(day)
            got += 1
            continue
        helper = _alone_team(problem, day, teams, state, ctx)
        if helper is not None:
            alone = outing_of(problem, area, 1, [household])
            crew = _quorum(helper, day, ctx.members, ctx.teams_of_member, state)
            _book(problem, state, alone, helper, day, crew)
            placed.append((alone, helper, day, crew))
            got += 1
    return got


def _model_components(
    problem: VisitProblem,
    refusals: list[Refusal],
    placed: list[tuple[Outing, VisitTeam, date, list[str]]],
    state: _State,
    ctx: _Context,
    time_limit_s: float,
) -> list[Refusal]:
    """Plan the teams of every area with a household still short (and the teams sharing
    members with them) again as one model; keep its plan where it places more visits."""
    component = area_components(problem)
    areas = {a.id: a for a in problem.areas}
    visits = {h.id: h.visits for a in problem.areas for h in a.households}
    chosen = sorted({component[r.outing.area] for r in refusals if r.outing.route})
    share = time_limit_s / max(len(chosen), 1)
    for k in chosen:
        group = {a for a, c in component.items() if c == k}
        teams = [t for t in problem.teams if t.area in group]
        mine = [i for i, booked in enumerate(placed) if booked[0].area in group]
        outings = [placed[i][0] for i in mine]
        hint = {j: (placed[i][1].id, placed[i][2], placed[i][3]) for j, i in enumerate(mine)}
        got: dict[str, int] = defaultdict(int)
        for outing in outings:
            for household in outing.route:
                got[household] += 1
        for refusal in refusals:
            if refusal.outing.area not in group:
                continue
            for household in refusal.outing.route:
                missing = visits[household] - got[household]
                for _ in range(max(missing, 0)):
                    outings.append(outing_of(problem, areas[refusal.outing.area], 1, [household]))
                got[household] = visits[household]
        mine_set = set(mine)
        room = dict.fromkeys(ctx.dates, problem.max_sessions_per_day)
        for i, (_, _, day, _) in enumerate(placed):
            if i not in mine_set:
                room[day] -= 1
        dated = solve_dates(problem, outings, teams, ctx.dates, room, hint, time_limit_s=share)
        if dated is None:
            continue
        before = sum(len(placed[i][0].route) for i in mine)
        if sum(len(outings[d.outing].route) for d in dated) <= before:
            continue
        team_of = {t.id: t for t in teams}
        others = [booked for i, booked in enumerate(placed) if i not in mine_set]
        placed[:] = others + [
            (outings[d.outing], team_of[d.team], d.day, list(d.crew)) for d in dated
        ]
    _rebook(problem, state, placed)
    return _still_short(problem, refusals, placed)


def _rebook(
    problem: VisitProblem,
    state: _State,
    placed: list[tuple[Outing, VisitTeam, date, list[str]]],
) -> None:
    """Make ``state`` say exactly what ``placed`` books."""
    fresh = _State()
    for name in vars(fresh):
        setattr(state, name, getattr(fresh, name))
    for outing, team, day, crew in placed:
        _book(problem, state, outing, team, day, crew)


def _still_short(
    problem: VisitProblem,
    refusals: list[Refusal],
    placed: list[tuple[Outing, VisitTeam, date, list[str]]],
) -> list[Refusal]:
    """The refusals cut down to the households still short of their visits (once each)."""
    areas = {a.id: a for a in problem.areas}
    visits = {h.id: h.visits for a in problem.areas for h in a.households}
    got: dict[str, int] = defaultdict(int)
    for outing, _, _, _ in placed:
        for household in outing.route:
            got[household] += 1
    seen: set[str] = set()
    remaining = []
    for refusal in refusals:
        left = [h for h in refusal.outing.route if got[h] < visits[h] and h not in seen]
        seen.update(left)
        if len(left) == len(refusal.outing.route):
            remaining.append(refusal)
        elif left:
            shorter = outing_of(problem, areas[refusal.outing.area], refusal.outing.round, left)
            remaining.append(Refusal(shorter, refusal.team, refusal.reason, refusal.detail))
    return remaining


def _day_spaced(problem: VisitProblem, household: str, day: date, state: _State) -> bool:
    gap = problem.options.min_days_between_visits
    return all(abs((day - other).days) >= gap for other in state.visited_on.get(household, ()))


def _join_on(
    problem: VisitProblem,
    area: Area,
    household: str,
    day: date,
    placed: list[tuple[Outing, VisitTeam, date, list[str]]],
) -> tuple[int, Outing] | None:
    """The booked outing of the area on ``day`` the household can join walking least (the
    longer route measured again and fitting the session), or ``None``."""
    minutes = next(h.visit_minutes for h in area.households if h.id == household)
    limit = problem.session.max_minutes
    best: tuple[float, int, Outing] | None = None
    for i, (outing, _, booked_day, _) in enumerate(placed):
        if booked_day != day or outing.area != area.id or household in outing.route:
            continue
        if outing.minutes + minutes > limit:
            continue
        for pos in range(len(outing.route) + 1):
            route = [*outing.route[:pos], household, *outing.route[pos:]]
            longer = outing_of(problem, area, outing.round, route)
            extra = longer.walk_km - outing.walk_km
            if fits(problem, longer) and (best is None or extra < best[0]):
                best = (extra, i, longer)
    return None if best is None else (best[1], best[2])


def _alone_team(
    problem: VisitProblem,
    day: date,
    teams: Sequence[VisitTeam],
    state: _State,
    ctx: _Context,
) -> VisitTeam | None:
    """A team of the area that can go out once more on ``day`` (room that day, a free
    quorum), the one with fewest outings that day first."""
    if state.day_load[day] >= problem.max_sessions_per_day:
        return None
    able = [t for t in teams if _free_count(t, day, ctx.members, state) >= t.quorum]
    return min(able, key=lambda t: state.team_day_load[(t.id, day)], default=None)


def _free_count(team: VisitTeam, day: date, members: dict[str, VisitMember], state: _State) -> int:
    return sum(
        1 for m in set(team.members) if members[m].is_available(day) and day not in state.out_on[m]
    )


def _window(
    problem: VisitProblem, outing: Outing, visits: dict[str, int], state: _State
) -> tuple[date, date, date]:
    """Earliest and latest date that keep every household's visits far enough apart, and the
    latest date that also leaves each later visit a week of choice (preferred, not required)."""
    earliest = problem.quarter.start
    latest = problem.quarter.end
    roomy = problem.quarter.end
    for household in outing.route:
        first, last, soft = _household_window(problem, household, visits, state)
        earliest = max(earliest, first)
        latest = min(latest, last)
        roomy = min(roomy, soft)
    return earliest, latest, roomy


def _household_window(
    problem: VisitProblem, household: str, visits: dict[str, int], state: _State
) -> tuple[date, date, date]:
    """One household's next-visit window: after its last visit by the spacing, and early
    enough for the later visits that can still fit in the quarter (those that cannot fit are
    given up, not allowed to block this one); third, the same with a week more per later
    visit."""
    days = problem.options.min_days_between_visits
    previous = state.visited_on.get(household)
    earliest = problem.quarter.start
    if previous:
        earliest = max(earliest, max(previous) + timedelta(days=days))
    later = visits[household] - len(previous or ()) - 1
    if later > 0 and days > 0:
        later = min(later, (problem.quarter.end - earliest).days // days)
    later = max(later, 0)
    latest = problem.quarter.end - timedelta(days=days * later)
    roomy = problem.quarter.end - timedelta(days=(days + ROOM_DAYS) * later)
    return earliest, latest, roomy


def _has_date(
    problem: VisitProblem,
    household: str,
    visits: dict[str, int],
    state: _State,
    dates: Sequence[date],
) -> bool:
    first, last, _ = _household_window(problem, household, visits, state)
    return any(first <= d <= last for d in dates)


def _early_part(
    problem: VisitProblem, outing: Outing, visits: dict[str, int], state: _State
) -> list[str]:
    """When the households' windows share no date: those that cannot go as early as the
    household with the latest earliest date (empty if the windows do meet)."""
    windows = {h: _household_window(problem, h, visits, state)[:2] for h in outing.route}
    pivot = max(first for first, _ in windows.values())
    early = [h for h, (_, last) in windows.items() if last < pivot]
    return early if 0 < len(early) < len(outing.route) else []


def _spacing_refusal(problem: VisitProblem, outing: Outing, team: str) -> Refusal:
    return Refusal(
        outing,
        team,
        "capacity",
        f"no allowed date is left that keeps {problem.options.min_days_between_visits} days "
        "after the previous visit; allow more weekdays or shorten the spacing",
    )


def _ideal(problem: VisitProblem, outing: Outing, visits: dict[str, int]) -> float:
    """Day offset in the quarter where this round's visit would ideally fall."""
    days = (problem.quarter.end - problem.quarter.start).days + 1
    most = max((visits[h] for h in outing.route), default=1)
    return (outing.round - 0.5) * days / max(most, 1)


def _best_date(
    problem: VisitProblem,
    outing: Outing,
    teams: Sequence[VisitTeam],
    dates: Sequence[date],
    members: dict[str, VisitMember],
    visits: dict[str, int],
    state: _State,
) -> tuple[VisitTeam, date] | Refusal:
    earliest, latest, roomy = _window(problem, outing, visits, state)
    ideal = _ideal(problem, outing, visits)
    repeated = any(visits[h] > 1 for h in outing.route)
    per_day = problem.max_sessions_per_day
    in_window = [d for d in dates if earliest <= d <= latest]
    team_names = ", ".join(t.id for t in teams)
    if not in_window:
        return Refusal(
            outing,
            teams[0].id,
            "capacity",
            f"round {outing.round} of these households needs a date between {earliest} and "
            f"{latest} to keep {problem.options.min_days_between_visits} days between visits, "
            "and no allowed date falls there; allow more weekdays or shorten the spacing",
        )
    best: tuple[tuple[float, ...], VisitTeam, date] | None = None
    quorum_somewhere = False
    for day in in_window:
        week = (day - problem.quarter.start).days // 7
        offset = (day - problem.quarter.start).days
        for team in teams:
            free = _free_count(team, day, members, state)
            if free < team.quorum:
                continue
            quorum_somewhere = True
            if state.day_load[day] >= per_day:
                continue
            # Repeat visits keep near their ideal point first, so later rounds keep room.
            drift = abs(offset - ideal) / 7.0
            key = (
                1.0 if day > roomy else 0.0,
                float(int(drift)) if repeated else 0.0,
                float(state.team_day_load[(team.id, day)]),
                float(state.team_week_load[(team.id, week)]),
                float(state.week_load[week]),
                drift,
                float(state.day_load[day]),
                -float(free),
                float(offset),
            )
            if best is None or key < best[0]:
                best = (key, team, day)
    if best is not None:
        return best[1], best[2]
    if quorum_somewhere:
        return Refusal(
            outing,
            teams[0].id,
            "capacity",
            f"every date between {in_window[0]} and {in_window[-1]} on which team "
            f"{team_names} can gather its quorum already has {per_day} outings; raise "
            "max_sessions_per_day or allow more dates",
        )
    quorum = teams[0].quorum
    return Refusal(
        outing,
        teams[0].id,
        "quorum",
        f"team {team_names} cannot gather {quorum} available members who are not already "
        f"out on any allowed date between {in_window[0]} and {in_window[-1]}; "
        "add members or ask them to free a date",
    )


def _quorum(
    team: VisitTeam,
    day: date,
    members: dict[str, VisitMember],
    teams_of_member: dict[str, int],
    state: _State,
) -> list[str]:
    free = [
        m
        for m in dict.fromkeys(team.members)
        if members[m].is_available(day) and day not in state.out_on[m]
    ]
    free.sort(key=lambda m: (m != team.leader, teams_of_member[m], state.outings_of_member[m], m))
    return free[: team.quorum]


def _add_extras(
    placed: list[tuple[Outing, VisitTeam, date, list[str]]],
    members: dict[str, VisitMember],
    state: _State,
) -> None:
    """Send every free team member along, to the outing of the day with fewest attendees."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for index, (_, _, day, _) in enumerate(placed):
        by_day[day].append(index)
    for day in sorted(by_day):
        wanted: dict[str, list[int]] = defaultdict(list)
        for index in by_day[day]:
            team = placed[index][1]
            for m in dict.fromkeys(team.members):
                if members[m].is_available(day) and day not in state.out_on[m]:
                    wanted[m].append(index)
        for member_id in sorted(wanted):
            options = wanted[member_id]
            leads = [i for i in options if placed[i][1].leader == member_id]
            target = min(leads or options, key=lambda i: (len(placed[i][3]), i))
            placed[target][3].append(member_id)
            state.out_on[member_id].add(day)
            state.outings_of_member[member_id] += 1


def _leader_first(team: VisitTeam, crew: Sequence[str]) -> list[str]:
    return sorted(crew, key=lambda m: (m != team.leader, team.members.index(m)))
