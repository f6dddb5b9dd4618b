"""Independent checker for unit–community pairings (结对共建), written from
``docs/contracts/units.md`` alone.

This module shares no code with the solver (nor with the rest of :mod:`matcher`): it uses the
standard library only and reads the raw JSON objects (``dict``/``list`` as produced by
:func:`json.load`) of the problem and the answer. It recomputes distances (haversine, Earth radius
6371.0088 km), coverage, reasons and the objective from the contract's text, checks the eight
numbered rules and the answer's bookkeeping, and reports every break as a :class:`MatchViolation`.

It never raises on a malformed answer: missing keys, unknown ids and wrong types become
violations. A malformed problem raises :class:`ValueError` naming the bad field.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from matcher.longterm.violation import MatchViolation
from matcher.verifier_geo import EARTH_RADIUS_KM, haversine_km

__all__ = [
    "EARTH_RADIUS_KM",
    "NEED_REASONS",
    "RULES",
    "STATUSES",
    "MatchViolation",
    "recompute_objective",
    "verify",
]

STATUSES = ("optimal", "feasible", "no_solution")
NEED_REASONS = ("no_resource", "too_far", "outweighed")
UNIT_REASONS = ("too_far", "no_slot")
SLOT_REASONS = ("too_far", "no_unit")
RULES = ("1", "2", "3", "4", "5", "6", "7", "8", "answer")
_DISTANCE_REL_TOL = 0.005
_DISTANCE_ABS_TOL_KM = 0.001
_RANGE_EPS_KM = 1e-9
_OBJECTIVE_REL_TOL = 1e-6
_SUM_REL_TOL = 0.001


def _id(entry: Mapping[str, Any], key: str) -> str | None:
    """An id field of an answer entry, or None when it is missing or not a string."""
    value = entry.get(key)
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------------------------
# The problem, read strictly.


@dataclass(frozen=True)
class _Unit:
    id: str
    lat: float
    lon: float
    resources: frozenset[str]
    room: int


@dataclass(frozen=True)
class _Community:
    id: str
    lat: float
    lon: float
    needs: tuple[tuple[str, int], ...]
    slots: int


@dataclass(frozen=True)
class _Problem:
    units: dict[str, _Unit]
    communities: dict[str, _Community]
    pinned: tuple[tuple[str, str], ...]
    limit_km: float | None

    def km(self, unit: str, community: str) -> float:
        u, c = self.units[unit], self.communities[community]
        return haversine_km(u.lat, u.lon, c.lat, c.lon)

    def in_range(self, unit: str, community: str) -> bool:
        return self.limit_km is None or self.km(unit, community) <= self.limit_km + _RANGE_EPS_KM


def _number(obj: Mapping[str, Any], key: str, where: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}.{key}: must be a number")
    return float(value)


def _integer(obj: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = obj.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}.{key}: must be an integer")
    return value


def _read_problem(problem_json: Mapping[str, Any]) -> _Problem:
    options = problem_json.get("options") or {}
    per_community = _integer(options, "units_per_community", "options", 1)
    limit = options.get("max_distance_km")
    units: dict[str, _Unit] = {}
    for i, raw in enumerate(problem_json.get("units", [])):
        where = f"units[{i}]"
        location = raw.get("location") or {}
        unit = _Unit(
            id=str(raw.get("id")),
            lat=_number(location, "lat", f"{where}.location"),
            lon=_number(location, "lon", f"{where}.location"),
            resources=frozenset(str(r) for r in raw.get("resources", [])),
            room=_integer(raw, "max_communities", where, 1),
        )
        units[unit.id] = unit
    communities: dict[str, _Community] = {}
    for i, raw in enumerate(problem_json.get("communities", [])):
        where = f"communities[{i}]"
        location = raw.get("location") or {}
        needs = tuple(
            (str(n.get("category")), _integer(n, "weight", f"{where}.needs[{j}]", 1))
            for j, n in enumerate(raw.get("needs", []))
        )
        community = _Community(
            id=str(raw.get("id")),
            lat=_number(location, "lat", f"{where}.location"),
            lon=_number(location, "lon", f"{where}.location"),
            needs=needs,
            slots=_integer(raw, "max_units", where, per_community),
        )
        communities[community.id] = community
    pinned = tuple(
        (str(p.get("unit")), str(p.get("community"))) for p in problem_json.get("pinned", [])
    )
    return _Problem(units, communities, pinned, None if limit is None else float(limit))


# --------------------------------------------------------------------------------------------
# The answer's pairs and the objective.


def _pairs(problem: _Problem, answer: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Distinct (unit, community) pairs of the answer with known ids, in order."""
    found: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    entries = answer.get("pairs")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        key = (_id(entry, "unit"), _id(entry, "community"))
        if key[0] in problem.units and key[1] in problem.communities and key not in seen:
            pair = (str(key[0]), str(key[1]))
            seen.add(pair)
            found.append(pair)
    return found


def _covered(problem: _Problem, pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    offered: dict[str, set[str]] = {c: set() for c in problem.communities}
    for unit, community in pairs:
        offered[community] |= problem.units[unit].resources
    return {
        c: {cat for cat, _ in problem.communities[c].needs if cat in offered[c]}
        for c in problem.communities
    }


def _most_pairs(problem: _Problem) -> int:
    return min(
        sum(u.room for u in problem.units.values()),
        sum(c.slots for c in problem.communities.values()),
    )


def recompute_objective(problem_json: Mapping[str, Any], answer_json: Mapping[str, Any]) -> float:
    """The objective of ``docs/contracts/units.md`` for the answer's pairs (unknown ids ignored)."""
    problem = _read_problem(problem_json)
    pairs = _pairs(problem, answer_json)
    covered = _covered(problem, pairs)
    total = sum(w for c in problem.communities.values() for _, w in c.needs)
    coverage = sum(
        w for c in problem.communities.values() for cat, w in c.needs if cat in covered[c.id]
    )
    most = _most_pairs(problem)
    largest = max(
        (problem.km(u, c) for u in problem.units for c in problem.communities), default=0.0
    )
    far = max(1, math.ceil(largest))
    b = most * far + 1
    a = (most + 1) * b
    distance = math.fsum(problem.km(u, c) for u, c in pairs)
    return float(a * (total - coverage) + b * (most - len(pairs)) + distance)


# --------------------------------------------------------------------------------------------
# The checks.


class _Report:
    def __init__(self) -> None:
        self.found: list[MatchViolation] = []

    def add(self, rule: str, subject: str, message: str) -> None:
        self.found.append(MatchViolation(rule, subject, message))


def verify(problem_json: Mapping[str, Any], answer_json: Mapping[str, Any]) -> list[MatchViolation]:
    """Every break of the contract by ``answer_json`` for ``problem_json`` (empty: none)."""
    problem = _read_problem(problem_json)
    report = _Report()
    if not isinstance(answer_json, Mapping):
        report.add("answer", "answer", "the answer is not a JSON object")
        return report.found
    if answer_json.get("status") not in STATUSES:
        report.add("answer", "status", f"status must be one of {', '.join(STATUSES)}")
    _check_pair_entries(problem, answer_json, report)
    pairs = _pairs(problem, answer_json)
    per_unit = Counter(u for u, _ in pairs)
    per_community = Counter(c for _, c in pairs)
    for unit, count in per_unit.items():
        if count > problem.units[unit].room:
            report.add(
                "2",
                f"unit {unit}",
                f"paired {count} times; max_communities is {problem.units[unit].room}",
            )
    for community, count in per_community.items():
        if count > problem.communities[community].slots:
            report.add(
                "3",
                f"community {community}",
                f"has {count} units; it has {problem.communities[community].slots} slot(s)",
            )
    made = set(pairs)
    for unit, community in problem.pinned:
        if (unit, community) not in made:
            report.add("5", f"pair {unit}/{community}", "is pinned but missing")
    _check_maximal(problem, per_unit, per_community, made, report)
    _check_uncovered(problem, answer_json, pairs, report)
    _check_unpaired(problem, answer_json, per_unit, per_community, report)
    _check_open_slots(problem, answer_json, per_unit, per_community, report)
    _check_stats(problem, problem_json, answer_json, pairs, report)
    return report.found


def _check_pair_entries(problem: _Problem, answer: Mapping[str, Any], report: _Report) -> None:
    entries = answer.get("pairs")
    if not isinstance(entries, list):
        report.add("answer", "pairs", "pairs must be a list")
        return
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            report.add("answer", f"pairs[{i}]", "must be a JSON object")
            continue
        unit, community = _id(entry, "unit"), _id(entry, "community")
        if unit not in problem.units or community not in problem.communities:
            report.add("1", f"pairs[{i}]", f"unknown unit {unit!r} or community {community!r}")
            continue
        subject = f"pair {unit}/{community}"
        if (unit, community) in seen:
            report.add("1", subject, "appears twice")
            continue
        seen.add((str(unit), str(community)))
        km = problem.km(str(unit), str(community))
        if not problem.in_range(str(unit), str(community)):
            report.add("4", subject, f"is {km:.3f} km apart, beyond {problem.limit_km:g} km")
        given = entry.get("distance_km")
        tolerance = _DISTANCE_REL_TOL * km + _DISTANCE_ABS_TOL_KM
        if (
            isinstance(given, bool)
            or not isinstance(given, int | float)
            or abs(given - km) > tolerance
        ):
            report.add("4", subject, f"distance_km is {given!r}; recomputed {km:.4f}")
        expected = {
            cat
            for cat, _ in problem.communities[str(community)].needs
            if cat in problem.units[str(unit)].resources
        }
        covers = entry.get("covers")
        if not isinstance(covers, list) or set(covers) != expected or len(covers) != len(expected):
            report.add("6", subject, f"covers {covers!r}; the unit meets {sorted(expected)}")


def _check_maximal(
    problem: _Problem,
    per_unit: Counter[str],
    per_community: Counter[str],
    made: set[tuple[str, str]],
    report: _Report,
) -> None:
    open_units = [u for u in problem.units.values() if per_unit[u.id] < u.room]
    open_communities = [c for c in problem.communities.values() if per_community[c.id] < c.slots]
    for unit in open_units:
        for community in open_communities:
            if (unit.id, community.id) not in made and problem.in_range(unit.id, community.id):
                report.add(
                    "7",
                    f"pair {unit.id}/{community.id}",
                    "both have room and are in range, yet are not paired",
                )


def _entries(answer: Mapping[str, Any], key: str, report: _Report) -> list[Mapping[str, Any]]:
    entries = answer.get(key)
    if not isinstance(entries, list):
        report.add("answer", key, f"{key} must be a list")
        return []
    good = [e for e in entries if isinstance(e, Mapping)]
    if len(good) != len(entries):
        report.add("answer", key, f"every entry of {key} must be a JSON object")
    for entry in good:
        detail = entry.get("detail")
        if not isinstance(detail, str) or not detail.strip():
            report.add("answer", key, f"an entry of {key} needs a detail sentence")
    return good


def _check_uncovered(
    problem: _Problem, answer: Mapping[str, Any], pairs: list[tuple[str, str]], report: _Report
) -> None:
    covered = _covered(problem, pairs)
    expected = {
        (c.id, cat): w
        for c in problem.communities.values()
        for cat, w in c.needs
        if cat not in covered[c.id]
    }
    seen: set[tuple[str, str]] = set()
    for entry in _entries(answer, "uncovered", report):
        key = (_id(entry, "community"), _id(entry, "need"))
        subject = f"need {key[1]} of community {key[0]}"
        if key not in expected or key in seen:
            report.add("6", subject, "is listed as uncovered but is covered, unknown or repeated")
            continue
        community, need = str(key[0]), str(key[1])
        seen.add((community, need))
        if entry.get("weight") != expected[(community, need)]:
            report.add("6", subject, f"weight is {entry.get('weight')!r}, not {expected[key]}")
        givers = [u for u in problem.units.values() if need in u.resources]
        if not givers:
            reason = "no_resource"
        elif not any(problem.in_range(u.id, community) for u in givers):
            reason = "too_far"
        else:
            reason = "outweighed"
        if entry.get("reason") != reason:
            report.add("8", subject, f"reason is {entry.get('reason')!r}; it should be {reason}")
    for community, need in expected.keys() - seen:
        report.add("6", f"need {need} of community {community}", "is uncovered but not listed")


def _check_unpaired(
    problem: _Problem,
    answer: Mapping[str, Any],
    per_unit: Counter[str],
    per_community: Counter[str],
    report: _Report,
) -> None:
    expected = {u for u in problem.units if per_unit[u] == 0}
    seen: set[str] = set()
    for entry in _entries(answer, "unpaired", report):
        unit = _id(entry, "unit")
        if unit not in expected or unit in seen:
            report.add(
                "8", f"unit {unit}", "is listed as unpaired but is paired, unknown or repeated"
            )
            continue
        seen.add(str(unit))
        near = [c for c in problem.communities if problem.in_range(str(unit), c)]
        reason = "too_far" if not near else "no_slot"
        if entry.get("reason") != reason:
            report.add(
                "8", f"unit {unit}", f"reason is {entry.get('reason')!r}; it should be {reason}"
            )
    for unit in expected - seen:
        report.add("8", f"unit {unit}", "has no pair but is missing from unpaired")


def _check_open_slots(
    problem: _Problem,
    answer: Mapping[str, Any],
    per_unit: Counter[str],
    per_community: Counter[str],
    report: _Report,
) -> None:
    expected = {
        c.id: c.slots - per_community[c.id]
        for c in problem.communities.values()
        if per_community[c.id] < c.slots
    }
    paired = {
        (str(p.get("unit")), str(p.get("community")))
        for p in answer.get("pairs", ())
        if isinstance(p, Mapping)
    }

    def reason_for(community: str) -> str:
        # A unit with room that is not yet this community's partner could still be paired.
        spare = any(
            per_unit[u.id] < u.room and (u.id, community) not in paired
            for u in problem.units.values()
        )
        return "too_far" if spare else "no_unit"

    seen: set[str] = set()
    for entry in _entries(answer, "open_slots", report):
        community = _id(entry, "community")
        reason = reason_for(str(community))
        subject = f"community {community}"
        if community not in expected or community in seen:
            report.add("8", subject, "is listed with open slots but is full, unknown or repeated")
            continue
        seen.add(str(community))
        if entry.get("open_slots") != expected[str(community)]:
            report.add(
                "8",
                subject,
                f"open_slots is {entry.get('open_slots')!r}, not {expected[str(community)]}",
            )
        if entry.get("reason") != reason:
            report.add("8", subject, f"reason is {entry.get('reason')!r}; it should be {reason}")
    for community in expected.keys() - seen:
        report.add("8", f"community {community}", "has open slots but is missing from open_slots")


def _check_stats(
    problem: _Problem,
    problem_json: Mapping[str, Any],
    answer: Mapping[str, Any],
    pairs: list[tuple[str, str]],
    report: _Report,
) -> None:
    stats = answer.get("stats")
    if not isinstance(stats, Mapping):
        report.add("answer", "stats", "stats must be a JSON object")
        return
    covered = _covered(problem, pairs)
    expected: dict[str, object] = {
        "coverage": sum(
            w for c in problem.communities.values() for cat, w in c.needs if cat in covered[c.id]
        ),
        "need_weight": sum(w for c in problem.communities.values() for _, w in c.needs),
        "pairs": len(pairs),
        "max_pairs": _most_pairs(problem),
    }
    for key, value in expected.items():
        if stats.get(key) != value or isinstance(stats.get(key), bool):
            report.add("answer", f"stats.{key}", f"is {stats.get(key)!r}; the pairs give {value!r}")
    distance = math.fsum(problem.km(u, c) for u, c in pairs)
    given = stats.get("distance_km")
    if not isinstance(given, int | float) or abs(given - distance) > _SUM_REL_TOL * distance + 0.01:
        report.add("answer", "stats.distance_km", f"is {given!r}; recomputed {distance:.3f}")
    objective = recompute_objective(problem_json, answer)
    tolerance = _OBJECTIVE_REL_TOL * max(1.0, abs(objective))
    reported = stats.get("objective")
    if not isinstance(reported, int | float) or abs(reported - objective) > tolerance:
        report.add("answer", "stats.objective", f"is {reported!r}; recomputed {objective:.4f}")
        return
    bound = stats.get("bound")
    if not isinstance(bound, int | float) or bound > reported + tolerance:
        report.add("answer", "stats.bound", f"is {bound!r}; must be a number ≤ the objective")
    elif answer.get("status") == "optimal" and bound < reported - tolerance - 0.001 * len(pairs):
        report.add("answer", "status", "optimal, but the bound is more than 1 m per pair below it")
