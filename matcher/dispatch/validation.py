"""Cross-reference and range checks on a :class:`~matcher.dispatch.problem.Problem`.

The marshmallow schema checks shapes and types of JSON; this module checks what only the whole
problem can tell: unique ids, known references, ordered windows and intervals, sane numbers,
aware datetimes, and that the pinned assignments alone keep the contract's rules 2 (window),
3, 4, 5, 6, 7 and 8 (checked with :func:`matcher.dispatch.verify.check_assignments`). Every problem
found
is reported at once, keyed by a field path such as ``demands[17].window.end``.

Runs in ``O(n log n)``: dictionaries are built once and availability intervals are sorted per
member.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from matcher.dispatch.answer import Assignment
from matcher.dispatch.problem import Demand, Location, Member, Options, Problem, Team
from matcher.dispatch.verify import PINNED_RULES, check_assignments
from matcher.errors import InvalidProblemError

__all__ = ["validate_problem"]

_Add = Callable[[str, str], None]

_WEIGHT_NAMES = ("unassigned", "distance", "preference", "continuity", "reliability", "fairness")


def _number_error(value: object) -> str | None:
    """Why ``value`` is not a finite number, or ``None`` if it is one."""
    kind = type(value)
    if kind is float or kind is int:
        if math.isfinite(value):  # type: ignore[arg-type]
            return None
        return f"must be finite, got {value!r}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None if math.isfinite(value) else f"must be finite, got {value!r}"
    return f"must be a number, got {value!r}"


def _finite(add: _Add, base: str, name: str, value: object) -> bool:
    """Add an error at ``base.name`` unless ``value`` is a finite number; return whether it is."""
    problem = _number_error(value)
    if problem is None:
        return True
    add(f"{base}.{name}", problem)
    return False


def _integer(add: _Add, base: str, name: str, value: object) -> bool:
    """Add an error at ``base.name`` unless ``value`` is an ``int``; return whether it is."""
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    add(f"{base}.{name}", f"must be an integer, got {value!r}")
    return False


def _aware(add: _Add, base: str, name: str, value: object) -> bool:
    """Add an error unless ``value`` is a datetime with a UTC offset; return whether it is."""
    if not isinstance(value, datetime):
        add(f"{base}.{name}", f"must be a datetime, got {value!r}")
        return False
    tz = value.tzinfo
    if tz is not None and (type(tz) is timezone or value.utcoffset() is not None):
        return True
    add(f"{base}.{name}", f"{value.isoformat()} has no UTC offset (naive datetime)")
    return False


def _check_id(
    add: _Add, section: str, index: int, value: object, kind: str, first: dict[str, int]
) -> None:
    """Non-empty and unique; a duplicate is reported at its second occurrence."""
    if not isinstance(value, str) or not value:
        add(f"{section}[{index}].id", f"{kind} id must be a non-empty string, got {value!r}")
        return
    seen_at = first.setdefault(value, index)
    if seen_at != index:
        add(
            f"{section}[{index}].id",
            f"duplicate {kind} id {value!r} (first at {section}[{seen_at}])",
        )


def _check_location(add: _Add, base: str, location: Location) -> bool:
    """Finite latitude in [-90, 90] and longitude in [-180, 180] at ``base.location``."""
    ok = True
    lat, lon = location.lat, location.lon
    if _finite(add, base, "location.lat", lat):
        if not -90.0 <= lat <= 90.0:
            add(f"{base}.location.lat", f"latitude {lat!r} is outside [-90, 90]")
            ok = False
    else:
        ok = False
    if _finite(add, base, "location.lon", lon):
        if not -180.0 <= lon <= 180.0:
            add(f"{base}.location.lon", f"longitude {lon!r} is outside [-180, 180]")
            ok = False
    else:
        ok = False
    return ok


def _check_options(add: _Add, options: Options) -> bool:
    """Range checks on the options; returns whether rules 5 and 6 can use them."""
    usable = True
    base = "options"
    if _finite(add, base, "time_limit_s", options.time_limit_s) and options.time_limit_s <= 0:
        add("options.time_limit_s", f"must be > 0, got {options.time_limit_s!r}")
    _integer(add, base, "seed", options.seed)
    if _integer(add, base, "workers", options.workers) and options.workers < 0:
        add("options.workers", f"must be >= 0 (0 = all cores), got {options.workers!r}")
    step = options.time_step_minutes
    if _finite(add, base, "time_step_minutes", step) and step <= 0:
        add("options.time_step_minutes", f"must be > 0, got {step!r}")
    changeover = options.changeover_minutes
    if _finite(add, base, "changeover_minutes", changeover):
        if changeover < 0:
            add("options.changeover_minutes", f"must be >= 0, got {changeover!r}")
            usable = False
    else:
        usable = False
    limit = options.max_distance_km
    if _finite(add, base, "max_distance_km", limit):
        if limit <= 0:
            add("options.max_distance_km", f"must be > 0, got {limit!r}")
            usable = False
    else:
        usable = False
    for name in _WEIGHT_NAMES:
        value = getattr(options.weights, name)
        if _finite(add, "options.weights", name, value) and value < 0:
            add(f"options.weights.{name}", f"must be >= 0, got {value!r}")
    return usable


def _check_member(add: _Add, i: int, m: Member, first: dict[str, int]) -> bool:
    """Checks on one member; returns whether the rules can use it for pinned assignments."""
    base = f"members[{i}]"
    _check_id(add, "members", i, m.id, "member", first)
    usable = _check_location(add, base, m.location)
    if _finite(add, base, "capacity_hours", m.capacity_hours):
        if m.capacity_hours < 0:
            add(f"{base}.capacity_hours", f"must be >= 0, got {m.capacity_hours!r}")
    else:
        usable = False
    if m.max_distance_km is not None:
        if _finite(add, base, "max_distance_km", m.max_distance_km):
            if m.max_distance_km <= 0:
                add(f"{base}.max_distance_km", f"must be > 0, got {m.max_distance_km!r}")
        else:
            usable = False
    if _finite(add, base, "reliability", m.reliability) and not 0.0 <= m.reliability <= 1.0:
        add(f"{base}.reliability", f"must be within [0, 1], got {m.reliability!r}")

    intervals: list[tuple[datetime, datetime, int]] = []
    for j, iv in enumerate(m.availability):
        start_ok = _aware(add, base, f"availability[{j}].start", iv.start)
        end_ok = _aware(add, base, f"availability[{j}].end", iv.end)
        if not (start_ok and end_ok):
            usable = False
            continue
        if iv.end <= iv.start:
            add(
                f"{base}.availability[{j}].end",
                f"end {iv.end.isoformat()} is not after start {iv.start.isoformat()}",
            )
            continue
        intervals.append((iv.start, iv.end, j))
    if len(intervals) > 1:
        intervals.sort(key=lambda x: (x[0], x[2]))
        latest = intervals[0]  # among earlier intervals, the one ending last
        for later in intervals[1:]:
            if later[0] < latest[1]:
                add(
                    f"{base}.availability[{later[2]}]",
                    f"overlaps availability[{latest[2]}] (intervals may touch, not overlap)",
                )
            if later[1] > latest[1]:
                latest = later
    return usable


def _check_team(
    add: _Add, i: int, t: Team, first: dict[str, int], member_ids: dict[str, int]
) -> None:
    base = f"teams[{i}]"
    _check_id(add, "teams", i, t.id, "team", first)
    if not t.members:
        add(f"{base}.members", "a team needs at least one member")
    seen: set[str] = set()
    for j, mid in enumerate(t.members):
        path = f"{base}.members[{j}]"
        if mid not in member_ids:
            add(path, f"unknown member {mid!r}")
        if mid in seen:
            add(path, f"member {mid!r} is listed twice")
        seen.add(mid)
    if t.leader is not None and t.leader not in seen:
        add(f"{base}.leader", f"leader {t.leader!r} is not one of the team's members")


def _check_demand(
    add: _Add, i: int, d: Demand, first: dict[str, int], member_ids: dict[str, int]
) -> bool:
    """Checks on one demand; returns whether its pin can be checked against the rules."""
    base = f"demands[{i}]"
    _check_id(add, "demands", i, d.id, "demand", first)
    usable = _check_location(add, base, d.location)

    window = d.window
    window_ok = _aware(add, base, "window.start", window.start)
    window_ok = _aware(add, base, "window.end", window.end) and window_ok
    if window_ok and window.end <= window.start:
        add(
            f"{base}.window.end",
            f"end {window.end.isoformat()} is not after start {window.start.isoformat()}",
        )
        window_ok = False
    duration = d.duration_hours
    if _finite(add, base, "duration_hours", duration):
        if duration <= 0:
            add(f"{base}.duration_hours", f"must be > 0, got {duration!r}")
            usable = False
        elif window_ok:
            length = window.end - window.start
            try:
                too_long = timedelta(hours=duration) > length
            except OverflowError:
                too_long = True
            if too_long:
                add(
                    f"{base}.duration_hours",
                    f"{duration!r} h is longer than the window "
                    f"({length.total_seconds() / 3600:g} h)",
                )
    else:
        usable = False
    usable = usable and window_ok

    if _integer(add, base, "priority", d.priority) and not 1 <= d.priority <= 5:
        add(f"{base}.priority", f"must be within 1..5, got {d.priority!r}")
    if _integer(add, base, "crew_size", d.crew_size):
        if d.crew_size < 1:
            add(f"{base}.crew_size", f"must be >= 1, got {d.crew_size!r}")
            usable = False
    else:
        usable = False
    for j, mid in enumerate(d.preferred_members):
        if mid not in member_ids:
            add(f"{base}.preferred_members[{j}]", f"unknown member {mid!r}")

    pin = d.pinned
    if pin is None:
        return False
    if not _aware(add, base, "pinned.start", pin.start):
        usable = False
    seen: set[str] = set()
    for j, mid in enumerate(pin.members):
        if mid not in member_ids:
            add(f"{base}.pinned.members[{j}]", f"unknown member {mid!r}")
            usable = False
        if mid in seen:
            add(f"{base}.pinned.members[{j}]", f"member {mid!r} is listed twice")
            usable = False
        seen.add(mid)
    if len(pin.members) != d.crew_size:
        add(
            f"{base}.pinned.members",
            f"{len(pin.members)} pinned members for a crew of {d.crew_size}",
        )
        usable = False
    return usable


def _check_pins(
    add: _Add,
    problem: Problem,
    pinned: Sequence[int],
    usable_members: set[str],
) -> None:
    """Pinned assignments alone must keep rules 2 (window only), 3, 4, 5, 6, 7 and 8."""
    team_of: dict[str, set[str]] = {}
    for t in problem.teams:
        for mid in t.members:
            team_of.setdefault(mid, set()).add(t.id)
    index_of: dict[str, int] = {}
    assignments: list[Assignment] = []
    for i in pinned:
        d = problem.demands[i]
        pin = d.pinned
        assert pin is not None
        if not all(mid in usable_members for mid in pin.members):
            continue
        team: str | None = None
        if d.team_only:
            common: set[str] | None = None
            for mid in pin.members:
                here = team_of.get(mid, set())
                common = set(here) if common is None else common & here
            if common:
                team = next(t.id for t in problem.teams if t.id in common)
        index_of[d.id] = i
        assignments.append(
            Assignment(
                demand=d.id,
                members=tuple(pin.members),
                start=pin.start,
                end=pin.start + timedelta(hours=d.duration_hours),
                distance_km=(),
                team=team,
            )
        )
    if not assignments:
        return
    for v in check_assignments(problem, assignments, rules=PINNED_RULES, grid=False):
        path = f"demands[{index_of[v.demand]}].pinned" if v.demand in index_of else "demands"
        add(path, f"pinned assignment breaks rule {v.rule}: {v.message}")


def validate_problem(problem: Problem) -> None:
    """Check a problem's references and ranges, reporting every problem at once.

    Parameters
    ----------
    problem
        The problem to check.

    Raises
    ------
    InvalidProblemError
        With ``errors`` mapping field paths (``members[3].id``, ``demands[17].window.end``,
        ``teams[0].members[2]``, ``demands[4].pinned.members[0]``, ``demands[4].pinned``, ...)
        to messages, if anything is wrong: duplicate or empty ids, unknown member references,
        a team leader outside the team, empty or inverted windows and intervals, overlapping
        availability, out-of-range or non-finite numbers, naive
        datetimes, malformed pins, or pinned assignments that alone break rules 2 (window),
        3, 4, 5, 6, 7 or 8 of the contract.
    """
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    options_usable = _check_options(add, problem.options)

    member_first: dict[str, int] = {}
    usable_members: set[str] = set()
    for i, m in enumerate(problem.members):
        if _check_member(add, i, m, member_first):
            usable_members.add(m.id)
    ambiguous_ids = len(member_first) != len(problem.members)

    team_first: dict[str, int] = {}
    for i, t in enumerate(problem.teams):
        _check_team(add, i, t, team_first, member_first)
    ambiguous_ids = ambiguous_ids or len(team_first) != len(problem.teams)

    demand_first: dict[str, int] = {}
    pinned: list[int] = []
    for i, d in enumerate(problem.demands):
        if _check_demand(add, i, d, demand_first, member_first):
            pinned.append(i)
    ambiguous_ids = ambiguous_ids or len(demand_first) != len(problem.demands)

    # With ambiguous ids or unusable options the rule checks would point at the wrong thing;
    # the errors above already reject the problem.
    if pinned and options_usable and not ambiguous_ids:
        _check_pins(add, problem, pinned, usable_members)

    if errors:
        raise InvalidProblemError(errors)
