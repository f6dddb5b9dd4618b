"""Independent checker for quarterly team-visit schedules (组团走访), from the spec alone.

The contract is ``docs/contracts/visits.md``.

This module shares no code with the solver in the other modules of :mod:`matcher.visits` (nor with
the rest of :mod:`matcher`): it uses the standard library only and works on the raw JSON objects
(``dict``/``list`` as produced by :func:`json.load`) of the problem and the answer. It recomputes
everything it needs, including the haversine distance, from the contract's text, checks the six
numbered rules of the spec and the answer's own bookkeeping, and reports every break as a
:class:`ScheduleViolation`.

It never raises on a malformed answer: a missing key, an unknown team, member or household id, a
bad date or time, a non-finite number all become violations with rule ``"answer"``. A malformed
problem raises :class:`ValueError` with a message naming the bad field.

Conventions
-----------
* Sessions are numbered from 1 in the answer's order: ``"session 3 (t-1 2027-01-09)"`` is the
  third element of ``answer["sessions"]``.
* Distances: haversine with Earth radius :data:`EARTH_RADIUS_KM` (6371.0088 km) along
  area start -> h1 -> ... -> hn -> area start, exactly as the route lists the households.
* Rule 5 duration: ``walk_km / walking_speed_kmh * 60 + sum(visit_minutes)`` minutes, with the
  walk recomputed from the route, must not exceed ``max_hours * 60`` by more than
  :data:`DURATION_TOL_MINUTES` (1e-6 min: floating-point noise only, no slack). A session's
  reported ``walk_km`` must be within ``1e-5`` relative plus ``0.0005 km`` (three decimals) of
  the recomputed one, its ``start`` must equal ``session.start`` and its ``end`` (``HH:MM``) must
  be at least ``start + duration - 1 minute`` (a clock time shows whole minutes).
* Rule 6: a visit counts when the household is on the route of a session with a valid date of a
  team whose area is the household's area (once per session). Consecutive visit dates must be at
  least ``min_days_between_visits`` days apart (date difference, default 21).
* ``stats.walk_km`` is compared with the sum of the sessions' reported ``walk_km`` (the
  recomputed value where a session reports none) within ``1e-5`` relative plus ``0.005 km``;
  ``stats.sessions`` must count the sessions. The README's extensions are checked when present:
  ``stats.missing_visits`` (the visits short of each household's ``visits``, summed),
  ``stats.attendees_above_quorum``, ``stats.leader_present``, ``stats.objective`` (recomputed
  with :data:`OBJECTIVE_WEIGHTS` from the recomputed walks; the spread is the population
  standard deviation of sessions per week ``(date - quarter.start) // 7`` over the weeks holding
  a usable date) and ``stats.lower_bound_sessions`` (a non-negative integer, at most
  ``stats.sessions`` when no visit is missing: a bound above a complete schedule is no bound).
* ``unscheduled``: known team and households of its area, a reason of :data:`REASONS`, a
  detail; ``too_far`` only for a household that alone (start, household, start) takes longer
  than the session.
* ``status``: ``no_solution`` has no sessions; ``optimal`` only when nothing is left to visit (no
  visit missing, ``unscheduled`` empty).
* Problem defaults, the schema's (``service/schemas/visits.py``): ``visit_weekdays`` all seven,
  ``blackout_dates`` none, ``max_sessions_per_day`` 4, ``session`` 09:00 for 3 h,
  ``walking_speed_kmh`` 4, team ``quorum`` 1, household ``visit_minutes`` 20 and ``visits`` 1,
  ``options.min_days_between_visits`` 21. A member with ``unavailable_dates`` is available unless
  the date is listed, with ``available_dates`` only on the listed dates, with neither always; a
  team member missing from ``members`` is always available.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from matcher.verifier_geo import EARTH_RADIUS_KM, haversine_km

__all__ = [
    "DEFAULT_MAX_SESSIONS_PER_DAY",
    "DEFAULT_MIN_DAYS_BETWEEN_VISITS",
    "DEFAULT_VISITS",
    "DEFAULT_VISIT_MINUTES",
    "DURATION_TOL_MINUTES",
    "EARTH_RADIUS_KM",
    "OBJECTIVE_WEIGHTS",
    "REASONS",
    "RULES",
    "STATUSES",
    "WEEKDAYS",
    "ScheduleViolation",
    "haversine_km",
    "schedule_walk_km",
    "verify_schedule",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATUSES = ("optimal", "feasible", "no_solution")
REASONS = ("quorum", "capacity", "too_far")
RULES = ("1", "2", "3", "4", "5", "6", "answer")
DEFAULT_VISITS = 1
DEFAULT_VISIT_MINUTES = 20.0
DEFAULT_MIN_DAYS_BETWEEN_VISITS = 21
DEFAULT_MAX_SESSIONS_PER_DAY = 4

DURATION_TOL_MINUTES = 1e-6
"""Rule 5 allows floating-point noise only: no session may run longer than ``max_hours``."""

OBJECTIVE_WEIGHTS = {
    "missing_visit": 1_000_000.0,
    "session": 10_000.0,
    "walk_km": 10.0,
    "attendee_above_quorum": -1.0,
    "leader_present": -1.0,
    "weekly_spread": 1.0,
}
"""The README's objective, smaller is better, term by term."""

_WALK_REL_TOL = 1e-5  # another Earth radius (6371.0 km) differs by 1.4e-6
_WALK_ABS_TOL_KM = 0.0005  # walk_km reported with three decimals
_STATS_WALK_ABS_TOL_KM = 0.005
_END_TOL_MINUTES = 1.0
_OBJECTIVE_ABS_TOL = 0.001

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_RE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class ScheduleViolation:
    """One break of the visit-schedule contract found by :func:`verify_schedule`.

    Attributes
    ----------
    rule
        ``"1"`` .. ``"6"`` for the spec's numbered rules, ``"answer"`` for shape and bookkeeping
        problems (unknown ids, bad dates or times, ``unscheduled``, ``stats``, ``status``).
    subject
        What is concerned, e.g. ``"session 3 (t-1 2027-01-09)"`` or ``"household h-7"``.
    message
        One sentence a dispatcher can read.
    """

    rule: str
    subject: str
    message: str


# --------------------------------------------------------------------------------------------
# The problem, parsed strictly (ValueError on malformed input).


@dataclass(frozen=True)
class _Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class _Member:
    id: str
    unavailable: frozenset[date] | None
    available: frozenset[date] | None

    def is_available(self, day: date) -> bool:
        if self.available is not None and day not in self.available:
            return False
        return not (self.unavailable is not None and day in self.unavailable)


@dataclass(frozen=True)
class _Team:
    id: str
    members: frozenset[str]
    quorum: int
    area: str
    leader: str | None


@dataclass(frozen=True)
class _Household:
    id: str
    area: str
    location: _Point
    visit_minutes: float
    visits: int


@dataclass(frozen=True)
class _Area:
    id: str
    start: _Point


@dataclass(frozen=True)
class _Problem:
    quarter_start: date
    quarter_end: date
    weekdays: frozenset[int]  # date.weekday(): 0 = Monday
    blackout: frozenset[date]
    max_sessions_per_day: int
    session_start_minutes: int
    max_hours: float
    walking_speed_kmh: float
    members: Mapping[str, _Member]
    teams: Mapping[str, _Team]
    areas: Mapping[str, _Area]
    households: Mapping[str, _Household]
    min_days_between_visits: int


def _need(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"problem: {where} must be a JSON object")
    if key not in mapping:
        raise ValueError(f"problem: {where}.{key} is missing")
    return mapping[key]


def _need_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"problem: {where} must be a list")
    return value


def _need_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"problem: {where} must be a non-empty string id")
    return value


def _need_number(value: Any, where: str, *, positive: bool = False) -> float:
    number = _finite(value)
    if number is None or number < 0 or (positive and number == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ValueError(f"problem: {where} must be {kind} finite number, not {value!r}")
    return number


def _need_int(value: Any, where: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"problem: {where} must be an integer >= {minimum}, not {value!r}")
    return value


def _need_date(value: Any, where: str) -> date:
    day = _parse_date(value)
    if day is None:
        raise ValueError(f"problem: {where} must be a YYYY-MM-DD date, not {value!r}")
    return day


def _need_dates(value: Any, where: str) -> frozenset[date]:
    return frozenset(_need_date(v, f"{where}[{i}]") for i, v in enumerate(_need_list(value, where)))


def _need_point(value: Any, where: str) -> _Point:
    lat = _need_number_signed(_need(value, "lat", where), f"{where}.lat", 90.0)
    lon = _need_number_signed(_need(value, "lon", where), f"{where}.lon", 180.0)
    return _Point(lat, lon)


def _need_number_signed(value: Any, where: str, bound: float) -> float:
    number = _finite(value)
    if number is None or abs(number) > bound:
        raise ValueError(f"problem: {where} must be a number in [-{bound:g}, {bound:g}]")
    return number


def _parse_weekdays(problem: Mapping[str, Any]) -> frozenset[int]:
    names = problem.get("visit_weekdays")
    if names is None:
        return frozenset(range(7))
    result = set()
    for i, name in enumerate(_need_list(names, "visit_weekdays")):
        if not isinstance(name, str) or name.lower() not in WEEKDAYS:
            raise ValueError(f"problem: visit_weekdays[{i}] must be one of {WEEKDAYS}")
        result.add(WEEKDAYS.index(name.lower()))
    return frozenset(result)


def _parse_members(problem: Mapping[str, Any]) -> dict[str, _Member]:
    members: dict[str, _Member] = {}
    for i, raw in enumerate(_need_list(_need(problem, "members", "problem"), "members")):
        where = f"members[{i}]"
        member_id = _need_id(_need(raw, "id", where), f"{where}.id")
        if member_id in members:
            raise ValueError(f"problem: member id {member_id!r} appears twice")
        unavailable = raw.get("unavailable_dates")
        available = raw.get("available_dates")
        members[member_id] = _Member(
            member_id,
            None if unavailable is None else _need_dates(unavailable, f"{where}.unavailable_dates"),
            None if available is None else _need_dates(available, f"{where}.available_dates"),
        )
    return members


def _parse_areas(problem: Mapping[str, Any]) -> tuple[dict[str, _Area], dict[str, _Household]]:
    areas: dict[str, _Area] = {}
    households: dict[str, _Household] = {}
    for i, raw in enumerate(_need_list(_need(problem, "areas", "problem"), "areas")):
        where = f"areas[{i}]"
        area_id = _need_id(_need(raw, "id", where), f"{where}.id")
        if area_id in areas:
            raise ValueError(f"problem: area id {area_id!r} appears twice")
        areas[area_id] = _Area(area_id, _need_point(_need(raw, "start", where), f"{where}.start"))
        raw_households = _need_list(_need(raw, "households", where), f"{where}.households")
        for j, h in enumerate(raw_households):
            hwhere = f"{where}.households[{j}]"
            household_id = _need_id(_need(h, "id", hwhere), f"{hwhere}.id")
            if household_id in households:
                raise ValueError(f"problem: household id {household_id!r} appears twice")
            households[household_id] = _Household(
                household_id,
                area_id,
                _need_point(_need(h, "location", hwhere), f"{hwhere}.location"),
                _need_number(
                    h.get("visit_minutes", DEFAULT_VISIT_MINUTES), f"{hwhere}.visit_minutes"
                ),
                _need_int(h.get("visits", DEFAULT_VISITS), f"{hwhere}.visits", minimum=0),
            )
    return areas, households


def _parse_teams(
    problem: Mapping[str, Any], members: dict[str, _Member], areas: Mapping[str, _Area]
) -> dict[str, _Team]:
    teams: dict[str, _Team] = {}
    for i, raw in enumerate(_need_list(_need(problem, "teams", "problem"), "teams")):
        where = f"teams[{i}]"
        team_id = _need_id(_need(raw, "id", where), f"{where}.id")
        if team_id in teams:
            raise ValueError(f"problem: team id {team_id!r} appears twice")
        raw_members = _need_list(_need(raw, "members", where), f"{where}.members")
        member_ids = [_need_id(m, f"{where}.members[{j}]") for j, m in enumerate(raw_members)]
        for member_id in member_ids:  # a team member without constraints is always available
            members.setdefault(member_id, _Member(member_id, None, None))
        area_id = _need_id(_need(raw, "area", where), f"{where}.area")
        if area_id not in areas:
            raise ValueError(f"problem: {where}.area {area_id!r} is not an area id")
        quorum = _need_int(raw.get("quorum", 1), f"{where}.quorum", minimum=1)
        leader = raw.get("leader")
        if leader is not None:
            leader = _need_id(leader, f"{where}.leader")
        teams[team_id] = _Team(team_id, frozenset(member_ids), quorum, area_id, leader)
    return teams


def _parse_problem(problem: Mapping[str, Any]) -> _Problem:
    if not isinstance(problem, Mapping):
        raise ValueError("problem: must be a JSON object")
    quarter = _need(problem, "quarter", "problem")
    quarter_start = _need_date(_need(quarter, "start", "quarter"), "quarter.start")
    quarter_end = _need_date(_need(quarter, "end", "quarter"), "quarter.end")
    if quarter_end < quarter_start:
        raise ValueError("problem: quarter.end is before quarter.start")
    # Defaults of the README's contract notes for the optional session and walking speed.
    session = problem.get("session", {"start": "09:00", "max_hours": 3.0})
    if not isinstance(session, Mapping):
        raise ValueError("problem: session must be a JSON object")
    start_minutes = _parse_time(session.get("start", "09:00"))
    if start_minutes is None:
        raise ValueError("problem: session.start must be an HH:MM time")
    max_per_day = problem.get("max_sessions_per_day", DEFAULT_MAX_SESSIONS_PER_DAY)
    options = problem.get("options") or {}
    if not isinstance(options, Mapping):
        raise ValueError("problem: options must be a JSON object")
    min_days = options.get("min_days_between_visits", DEFAULT_MIN_DAYS_BETWEEN_VISITS)
    members = _parse_members(problem)
    areas, households = _parse_areas(problem)
    teams = _parse_teams(problem, members, areas)
    return _Problem(
        quarter_start=quarter_start,
        quarter_end=quarter_end,
        weekdays=_parse_weekdays(problem),
        blackout=_need_dates(problem.get("blackout_dates") or [], "blackout_dates"),
        max_sessions_per_day=_need_int(max_per_day, "max_sessions_per_day", minimum=1),
        session_start_minutes=start_minutes,
        max_hours=_need_number(session.get("max_hours", 3.0), "session.max_hours"),
        walking_speed_kmh=_need_number(
            problem.get("walking_speed_kmh", 4.0), "walking_speed_kmh", positive=True
        ),
        members=members,
        teams=teams,
        areas=areas,
        households=households,
        min_days_between_visits=_need_int(min_days, "options.min_days_between_visits", minimum=0),
    )


# --------------------------------------------------------------------------------------------
# The answer, parsed leniently: every shape problem becomes a rule "answer" violation.


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _parse_time(value: Any) -> int | None:
    """Minutes since midnight of an ``HH:MM`` string, or ``None``."""
    if not isinstance(value, str):
        return None
    match = _TIME_RE.fullmatch(value)
    if match is None:
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def _hhmm(minutes: float) -> str:
    whole = math.ceil(minutes)
    return f"{whole // 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True)
class _Session:
    number: int  # 1-based position in answer["sessions"]
    subject: str
    team: _Team | None  # None: missing or unknown team id
    day: date | None  # None: missing or malformed date
    attendees: tuple[str, ...]  # the string ids, in order, duplicates kept
    route: tuple[str, ...]  # the string ids, in order, duplicates kept
    reported_walk_km: float | None
    start_minutes: int | None
    end_minutes: int | None


def _label(value: Any) -> str:
    return value if isinstance(value, str) else "?"


def _string_ids(
    raw: Mapping[str, Any], key: str, subject: str, found: list[ScheduleViolation]
) -> tuple[str, ...]:
    value = raw.get(key)
    if not isinstance(value, list):
        found.append(ScheduleViolation("answer", subject, f"The session has no '{key}' list."))
        return ()
    ids = tuple(v for v in value if isinstance(v, str))
    if len(ids) != len(value):
        found.append(
            ScheduleViolation("answer", subject, f"The session's '{key}' holds non-string ids.")
        )
    return ids


def _parse_session(
    problem: _Problem, number: int, raw: Any, found: list[ScheduleViolation]
) -> _Session | None:
    if not isinstance(raw, Mapping):
        found.append(
            ScheduleViolation("answer", f"session {number}", "The session is not a JSON object.")
        )
        return None
    subject = f"session {number} ({_label(raw.get('team'))} {_label(raw.get('date'))})"
    team = problem.teams.get(raw["team"]) if isinstance(raw.get("team"), str) else None
    if team is None:
        found.append(
            ScheduleViolation("answer", subject, f"Team {raw.get('team')!r} is not a known team.")
        )
    day = _parse_date(raw.get("date"))
    if day is None:
        found.append(
            ScheduleViolation(
                "answer", subject, f"Date {raw.get('date')!r} is not a YYYY-MM-DD date."
            )
        )
    attendees = _string_ids(raw, "attendees", subject, found)
    for member_id in dict.fromkeys(attendees):
        if member_id not in problem.members:
            found.append(
                ScheduleViolation("answer", subject, f"Attendee {member_id} is not a known member.")
            )
    route = _string_ids(raw, "route", subject, found)
    for household_id in dict.fromkeys(route):
        if household_id not in problem.households:
            found.append(
                ScheduleViolation(
                    "answer", subject, f"Route household {household_id} is not a known household."
                )
            )
    walk_km = _finite(raw.get("walk_km"))
    if walk_km is None:
        found.append(
            ScheduleViolation("answer", subject, "The session has no finite 'walk_km' number.")
        )
    start_minutes = _parse_time(raw.get("start"))
    end_minutes = _parse_time(raw.get("end"))
    for key, parsed in (("start", start_minutes), ("end", end_minutes)):
        if parsed is None:
            found.append(
                ScheduleViolation(
                    "answer", subject, f"The session's {key} {raw.get(key)!r} is not HH:MM."
                )
            )
    return _Session(
        number, subject, team, day, attendees, route, walk_km, start_minutes, end_minutes
    )


def _parse_sessions(
    problem: _Problem, answer: Any, found: list[ScheduleViolation]
) -> list[_Session]:
    raw_sessions = answer.get("sessions") if isinstance(answer, Mapping) else None
    if not isinstance(raw_sessions, list):
        found.append(ScheduleViolation("answer", "answer", "The answer has no 'sessions' list."))
        return []
    sessions = []
    for number, raw in enumerate(raw_sessions, start=1):
        session = _parse_session(problem, number, raw, found)
        if session is not None:
            sessions.append(session)
    return sessions


def _route_walk_km(problem: _Problem, session: _Session) -> float | None:
    """Haversine km of area start -> known route households -> area start; None without team."""
    if session.team is None:
        return None
    start = problem.areas[session.team.area].start
    points = [start]
    points += [problem.households[h].location for h in session.route if h in problem.households]
    points.append(start)
    return sum(haversine_km(a.lat, a.lon, b.lat, b.lon) for a, b in pairwise(points))


def _route_minutes(problem: _Problem, session: _Session, walk_km: float) -> float:
    visit_minutes = sum(
        problem.households[h].visit_minutes for h in session.route if h in problem.households
    )
    return walk_km / problem.walking_speed_kmh * 60.0 + visit_minutes


# --------------------------------------------------------------------------------------------
# The six numbered rules.


def _rule_1(problem: _Problem, sessions: Sequence[_Session]) -> list[ScheduleViolation]:
    """Date inside the quarter, on an allowed weekday, not a blackout."""
    found = []
    for s in sessions:
        if s.day is None:
            continue
        if not problem.quarter_start <= s.day <= problem.quarter_end:
            found.append(
                ScheduleViolation(
                    "1",
                    s.subject,
                    f"{s.day} is outside the quarter {problem.quarter_start} to "
                    f"{problem.quarter_end}.",
                )
            )
        if s.day.weekday() not in problem.weekdays:
            found.append(
                ScheduleViolation(
                    "1", s.subject, f"{s.day} is a {WEEKDAYS[s.day.weekday()]}, not a visit day."
                )
            )
        if s.day in problem.blackout:
            found.append(ScheduleViolation("1", s.subject, f"{s.day} is a blackout date."))
    return found


def _rule_2(problem: _Problem, sessions: Sequence[_Session]) -> list[ScheduleViolation]:
    """Attendees: distinct members of the team, available that date, at least quorum of them."""
    found = []
    for s in sessions:
        if s.team is None:
            continue
        for member_id, count in Counter(s.attendees).items():
            if count > 1:
                found.append(
                    ScheduleViolation("2", s.subject, f"Attendee {member_id} is listed {count}x.")
                )
        valid = set()
        for member_id in dict.fromkeys(s.attendees):
            if member_id not in s.team.members:
                found.append(
                    ScheduleViolation(
                        "2", s.subject, f"Attendee {member_id} is not a member of {s.team.id}."
                    )
                )
            elif s.day is not None and not problem.members[member_id].is_available(s.day):
                found.append(
                    ScheduleViolation(
                        "2", s.subject, f"Attendee {member_id} is not available on {s.day}."
                    )
                )
            else:
                valid.add(member_id)
        if len(valid) < s.team.quorum:
            found.append(
                ScheduleViolation(
                    "2",
                    s.subject,
                    f"Only {len(valid)} valid attendee(s), below {s.team.id}'s quorum of "
                    f"{s.team.quorum}.",
                )
            )
    return found


def _rule_3(sessions: Sequence[_Session]) -> list[ScheduleViolation]:
    """No member attends two sessions on the same date."""
    numbers: dict[tuple[str, date], list[int]] = defaultdict(list)
    for s in sessions:
        if s.day is not None:
            for member_id in dict.fromkeys(s.attendees):
                numbers[member_id, s.day].append(s.number)
    return [
        ScheduleViolation(
            "3",
            f"member {member_id} on {day}",
            f"Member {member_id} attends {len(nums)} sessions on {day} "
            f"(sessions {', '.join(map(str, nums))}).",
        )
        for (member_id, day), nums in numbers.items()
        if len(nums) > 1
    ]


def _rule_4(problem: _Problem, sessions: Sequence[_Session]) -> list[ScheduleViolation]:
    """At most max_sessions_per_day sessions on any date."""
    limit = problem.max_sessions_per_day
    per_day = Counter(s.day for s in sessions if s.day is not None)
    return [
        ScheduleViolation(
            "4", f"date {day}", f"{count} sessions on {day}, more than the {limit} allowed a day."
        )
        for day, count in sorted(per_day.items())
        if count > limit
    ]


def _rule_5(problem: _Problem, sessions: Sequence[_Session]) -> list[ScheduleViolation]:
    """Route from and back to the area start, within max_hours; reported km, start and end."""
    found = []
    for s in sessions:
        walk_km = _route_walk_km(problem, s)
        if s.team is None or walk_km is None:
            continue
        found += _route_shape(problem, s, s.team)
        minutes = _route_minutes(problem, s, walk_km)
        limit_minutes = problem.max_hours * 60.0
        if minutes > limit_minutes + DURATION_TOL_MINUTES:
            found.append(
                ScheduleViolation(
                    "5",
                    s.subject,
                    f"The outing takes {minutes:.4f} min ({walk_km:.4f} km walked), more than "
                    f"{problem.max_hours:g} h ({limit_minutes:g} min).",
                )
            )
        reported = s.reported_walk_km
        if reported is not None and abs(reported - walk_km) > (
            _WALK_REL_TOL * walk_km + _WALK_ABS_TOL_KM
        ):
            found.append(
                ScheduleViolation(
                    "5",
                    s.subject,
                    f"Reported walk_km {reported:g} but the route is {walk_km:.3f} km.",
                )
            )
        found += _session_times(problem, s, minutes)
    return found


def _route_shape(problem: _Problem, s: _Session, team: _Team) -> list[ScheduleViolation]:
    found = []
    if not s.route:
        found.append(ScheduleViolation("5", s.subject, "The route visits no household."))
    for household_id, count in Counter(s.route).items():
        if count > 1:
            found.append(
                ScheduleViolation(
                    "5", s.subject, f"Household {household_id} appears {count}x in the route."
                )
            )
        household = problem.households.get(household_id)
        if household is not None and household.area != team.area:
            found.append(
                ScheduleViolation(
                    "5",
                    s.subject,
                    f"Household {household_id} is in area {household.area}, not {team.id}'s "
                    f"area {team.area}.",
                )
            )
    return found


def _session_times(problem: _Problem, s: _Session, minutes: float) -> list[ScheduleViolation]:
    found = []
    if s.start_minutes is not None and s.start_minutes != problem.session_start_minutes:
        found.append(
            ScheduleViolation(
                "5",
                s.subject,
                f"Starts at {_hhmm(s.start_minutes)}, not at the session start "
                f"{_hhmm(problem.session_start_minutes)}.",
            )
        )
    if s.start_minutes is not None and s.end_minutes is not None:
        earliest_end = s.start_minutes + minutes - _END_TOL_MINUTES
        if s.end_minutes < earliest_end:
            found.append(
                ScheduleViolation(
                    "5",
                    s.subject,
                    f"Ends at {_hhmm(s.end_minutes)}, before the outing can be over "
                    f"({_hhmm(s.start_minutes + minutes)}).",
                )
            )
    return found


def _visit_dates(problem: _Problem, sessions: Sequence[_Session]) -> dict[str, list[date]]:
    """Per household, the dates of the sessions of its own area's teams that visit it."""
    dates: dict[str, list[date]] = defaultdict(list)
    for s in sessions:
        if s.team is None or s.day is None:
            continue
        for household_id in dict.fromkeys(s.route):
            household = problem.households.get(household_id)
            if household is not None and household.area == s.team.area:
                dates[household_id].append(s.day)
    return dates


def _rule_6(
    problem: _Problem, sessions: Sequence[_Session], unscheduled: set[str]
) -> list[ScheduleViolation]:
    """Every household visited `visits` times, not listed as unscheduled; visits spaced out."""
    found = []
    visit_dates = _visit_dates(problem, sessions)
    for household_id, household in problem.households.items():
        days = sorted(visit_dates.get(household_id, []))
        subject = f"household {household_id}"
        if len(days) < household.visits and household_id not in unscheduled:
            found.append(
                ScheduleViolation(
                    "6",
                    subject,
                    f"Visited {len(days)} of {household.visits} times and not listed as "
                    "unscheduled.",
                )
            )
        for earlier, later in pairwise(days):
            if (later - earlier).days < problem.min_days_between_visits:
                found.append(
                    ScheduleViolation(
                        "6",
                        subject,
                        f"Visits on {earlier} and {later} are less than "
                        f"{problem.min_days_between_visits} days apart.",
                    )
                )
    return found


# --------------------------------------------------------------------------------------------
# The answer's bookkeeping: unscheduled, stats, status.


def _check_unscheduled(
    problem: _Problem, answer: Any, sessions: Sequence[_Session]
) -> tuple[list[ScheduleViolation], set[str]]:
    """Shape of ``unscheduled``; returns the violations and the household ids listed there."""
    raw = answer.get("unscheduled") if isinstance(answer, Mapping) else None
    if not isinstance(raw, list):
        return [
            ScheduleViolation("answer", "answer", "The answer has no 'unscheduled' list.")
        ], set()
    found: list[ScheduleViolation] = []
    listed: set[str] = set()
    for i, entry in enumerate(raw, start=1):
        found += _check_unscheduled_entry(problem, i, entry, listed)
    visit_dates = _visit_dates(problem, sessions)
    for household_id in sorted(listed):
        household = problem.households[household_id]
        if len(visit_dates.get(household_id, [])) >= household.visits:
            found.append(
                ScheduleViolation(
                    "answer",
                    f"household {household_id}",
                    f"Listed as unscheduled but visited all {household.visits} required times.",
                )
            )
    return found, listed


def _check_unscheduled_entry(
    problem: _Problem, number: int, entry: Any, listed: set[str]
) -> list[ScheduleViolation]:
    subject = f"unscheduled {number}"
    if not isinstance(entry, Mapping):
        return [ScheduleViolation("answer", subject, "The entry is not a JSON object.")]
    found = []
    team = problem.teams.get(entry["team"]) if isinstance(entry.get("team"), str) else None
    if team is None:
        found.append(
            ScheduleViolation("answer", subject, f"Team {entry.get('team')!r} is not a known team.")
        )
    if entry.get("reason") not in REASONS:
        found.append(
            ScheduleViolation(
                "answer", subject, f"Reason {entry.get('reason')!r} is not one of {REASONS}."
            )
        )
    detail = entry.get("detail")
    if not isinstance(detail, str) or not detail.strip():
        found.append(ScheduleViolation("answer", subject, "The entry has no detail."))
    households = entry.get("households")
    if not isinstance(households, list) or not households:
        found.append(ScheduleViolation("answer", subject, "The entry lists no households."))
        return found
    for household_id in households:
        household = problem.households.get(household_id) if isinstance(household_id, str) else None
        if household is None:
            found.append(
                ScheduleViolation(
                    "answer", subject, f"Household {household_id!r} is not a known household."
                )
            )
            continue
        listed.add(household.id)
        if team is not None and household.area != team.area:
            found.append(
                ScheduleViolation(
                    "answer",
                    subject,
                    f"Household {household.id} is in area {household.area}, not {team.id}'s.",
                )
            )
        if entry.get("reason") == "too_far":
            alone = _alone_minutes(problem, household)
            if alone <= problem.max_hours * 60.0 + DURATION_TOL_MINUTES:
                found.append(
                    ScheduleViolation(
                        "answer",
                        subject,
                        f"Household {household.id} is listed too_far, but going there alone and "
                        f"back takes {alone:.2f} min, within {problem.max_hours:g} h.",
                    )
                )
    return found


def _alone_minutes(problem: _Problem, household: _Household) -> float:
    """Out from the area start to the household and back, plus its visit."""
    start = problem.areas[household.area].start
    where = household.location
    km = 2.0 * haversine_km(start.lat, start.lon, where.lat, where.lon)
    return km / problem.walking_speed_kmh * 60.0 + household.visit_minutes


def _missing_visits(problem: _Problem, sessions: Sequence[_Session]) -> int:
    """Visits short of each household's ``visits``, summed over households."""
    visit_dates = _visit_dates(problem, sessions)
    return sum(
        max(0, h.visits - len(visit_dates.get(h.id, []))) for h in problem.households.values()
    )


def _usable_weeks(problem: _Problem) -> set[int]:
    """Weeks ``(date - quarter.start) // 7`` that hold at least one usable date."""
    weeks = set()
    for offset in range((problem.quarter_end - problem.quarter_start).days + 1):
        day = problem.quarter_start + timedelta(days=offset)
        if day.weekday() in problem.weekdays and day not in problem.blackout:
            weeks.add(offset // 7)
    return weeks


def _weekly_spread(problem: _Problem, sessions: Sequence[_Session]) -> float:
    weeks = _usable_weeks(problem)
    dated = [s.day for s in sessions if s.day is not None]
    if not weeks or not dated:
        return 0.0
    counts = dict.fromkeys(weeks, 0)
    for day in dated:
        week = (day - problem.quarter_start).days // 7
        if week in counts:  # a session outside them already breaks rule 1
            counts[week] += 1
    return statistics.pstdev(counts.values())


def _objective_terms(problem: _Problem, sessions: Sequence[_Session]) -> dict[str, float]:
    """The README's objective terms, recomputed from the sessions (walks from the routes)."""
    extra = 0
    leaders = 0
    for s in sessions:
        if s.team is None:
            continue
        crew = set(s.attendees)
        extra += len(crew) - s.team.quorum
        leaders += int(s.team.leader is not None and s.team.leader in crew)
    return {
        "missing_visit": float(_missing_visits(problem, sessions)),
        "session": float(len(sessions)),
        "walk_km": sum(_route_walk_km(problem, s) or 0.0 for s in sessions),
        "attendee_above_quorum": float(extra),
        "leader_present": float(leaders),
        "weekly_spread": _weekly_spread(problem, sessions),
    }


def _stat_int(stats: Mapping[str, Any], key: str) -> int | None:
    value = stats.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_stats(
    problem: _Problem, answer: Any, sessions: Sequence[_Session]
) -> list[ScheduleViolation]:
    stats = answer.get("stats") if isinstance(answer, Mapping) else None
    if not isinstance(stats, Mapping):
        return [ScheduleViolation("answer", "stats", "The answer has no 'stats' object.")]
    found = []
    raw_sessions = answer.get("sessions")
    count = len(raw_sessions) if isinstance(raw_sessions, list) else 0
    reported_count = _stat_int(stats, "sessions")
    if reported_count != count:
        found.append(
            ScheduleViolation(
                "answer",
                "stats",
                f"stats.sessions is {stats.get('sessions')!r} but there are {count}.",
            )
        )
    terms = _objective_terms(problem, sessions)
    # stats.walk_km sums the sessions' own walk_km (each checked against its route by rule 5).
    total_km = 0.0
    for s in sessions:
        km = s.reported_walk_km if s.reported_walk_km is not None else _route_walk_km(problem, s)
        total_km += km or 0.0
    reported_km = _finite(stats.get("walk_km"))
    if reported_km is None or abs(reported_km - total_km) > (
        _WALK_REL_TOL * total_km + _STATS_WALK_ABS_TOL_KM
    ):
        found.append(
            ScheduleViolation(
                "answer",
                "stats",
                f"stats.walk_km is {stats.get('walk_km')!r} but the sessions sum to "
                f"{total_km:.3f} km.",
            )
        )
    km_tol = (
        _WALK_REL_TOL * terms["walk_km"] + _WALK_ABS_TOL_KM * len(sessions) + _STATS_WALK_ABS_TOL_KM
    )
    for key, term in (
        ("missing_visits", "missing_visit"),
        ("attendees_above_quorum", "attendee_above_quorum"),
        ("leader_present", "leader_present"),
    ):
        if key in stats and _stat_int(stats, key) != int(terms[term]):
            found.append(
                ScheduleViolation(
                    "answer",
                    "stats",
                    f"stats.{key} is {stats.get(key)!r} but the sessions give {int(terms[term])}.",
                )
            )
    if "objective" in stats:
        objective = sum(OBJECTIVE_WEIGHTS[k] * v for k, v in terms.items())
        tol = _OBJECTIVE_ABS_TOL + OBJECTIVE_WEIGHTS["walk_km"] * km_tol + 1e-9 * abs(objective)
        reported = _finite(stats.get("objective"))
        if reported is None or abs(reported - objective) > tol:
            found.append(
                ScheduleViolation(
                    "answer",
                    "stats",
                    f"stats.objective is {stats.get('objective')!r} but the sessions give "
                    f"{objective:.3f}.",
                )
            )
    if "lower_bound_sessions" in stats:
        bound = _stat_int(stats, "lower_bound_sessions")
        if bound is None or bound < 0:
            found.append(
                ScheduleViolation(
                    "answer",
                    "stats",
                    f"stats.lower_bound_sessions is {stats.get('lower_bound_sessions')!r}, not "
                    "a non-negative integer.",
                )
            )
        elif terms["missing_visit"] == 0 and bound > count:
            found.append(
                ScheduleViolation(
                    "answer",
                    "stats",
                    f"stats.lower_bound_sessions is {bound} but this complete schedule has only "
                    f"{count} sessions.",
                )
            )
    return found


def _check_status(
    problem: _Problem, answer: Any, sessions: Sequence[_Session]
) -> list[ScheduleViolation]:
    if not isinstance(answer, Mapping):
        return [ScheduleViolation("answer", "answer", "The answer is not a JSON object.")]
    status = answer.get("status")
    if status not in STATUSES:
        return [
            ScheduleViolation("answer", "status", f"Status {status!r} is not one of {STATUSES}.")
        ]
    raw_sessions = answer.get("sessions")
    if status == "no_solution" and isinstance(raw_sessions, list) and raw_sessions:
        return [
            ScheduleViolation(
                "answer",
                "status",
                f"Status no_solution but {len(raw_sessions)} sessions are given.",
            )
        ]
    if status == "optimal":
        missing = _missing_visits(problem, sessions)
        unscheduled = answer.get("unscheduled")
        if missing or (isinstance(unscheduled, list) and unscheduled):
            return [
                ScheduleViolation(
                    "answer",
                    "status",
                    f"Status optimal but {missing} visit(s) are missing and "
                    f"{len(unscheduled) if isinstance(unscheduled, list) else 0} unscheduled "
                    "entries are listed.",
                )
            ]
    return []


# --------------------------------------------------------------------------------------------
# Public entry points.


def verify_schedule(
    problem: Mapping[str, Any], answer: Mapping[str, Any]
) -> list[ScheduleViolation]:
    """Check a visit-schedule answer against its problem, rule by rule.

    Parameters
    ----------
    problem, answer
        The raw JSON objects of ``docs/contracts/visits.md``.

    Returns
    -------
    list[ScheduleViolation]
        Every break found, in the order: status, answer shape, rules 1 to 6, unscheduled, stats;
        empty for a feasible, consistent answer.

    Raises
    ------
    ValueError
        If the problem is malformed (never for a malformed answer).
    """
    parsed = _parse_problem(problem)
    found: list[ScheduleViolation] = []
    sessions = _parse_sessions(parsed, answer, found)
    found = _check_status(parsed, answer, sessions) + found
    unscheduled_found, unscheduled = _check_unscheduled(parsed, answer, sessions)
    found += _rule_1(parsed, sessions)
    found += _rule_2(parsed, sessions)
    found += _rule_3(sessions)
    found += _rule_4(parsed, sessions)
    found += _rule_5(parsed, sessions)
    found += _rule_6(parsed, sessions, unscheduled)
    found += unscheduled_found
    found += _check_stats(parsed, answer, sessions)
    return found


def schedule_walk_km(problem: Mapping[str, Any], answer: Mapping[str, Any]) -> float:
    """Recomputed total walking distance of all sessions, in km.

    Each session walks area start -> route households -> area start (haversine, radius
    :data:`EARTH_RADIUS_KM`); sessions whose team is unknown and households whose id is unknown
    are left out. Never raises on a malformed answer; raises :class:`ValueError` on a malformed
    problem.
    """
    parsed = _parse_problem(problem)
    sessions = _parse_sessions(parsed, answer, [])
    return sum(_route_walk_km(parsed, s) or 0.0 for s in sessions)
