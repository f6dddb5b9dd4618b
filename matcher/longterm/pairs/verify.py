"""Independent checker for hand-in-hand pairs (拉手式), written from ``docs/contracts/pairs.md``
alone.

It shares no code with the solver (nor with the rest of :mod:`matcher`): standard library only,
on the raw JSON objects of the problem and the answer, defaults applied as the contract states.
It recomputes distances (haversine, Earth radius 6371.0088 km), checks the contract's numbered
rules and reports every break as a :class:`MatchViolation`. It never raises on a malformed
answer (such entries become violations with rule ``"answer"``); a malformed problem raises
:class:`ValueError` naming the field.

Tolerances: a pair's ``distance_km`` within 0.001 km of the recomputed one; a member's range is
met up to 1e-6 km; ``stats.objective`` within 1e-4 + 1e-5 per pair + 1e-12 relative.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from matcher.longterm.violation import MatchViolation
from matcher.verifier_geo import EARTH_RADIUS_KM, haversine_km

__all__ = [
    "DROPPED_REASONS",
    "EARTH_RADIUS_KM",
    "PROXIES",
    "RULES",
    "STATUSES",
    "UNPAIRED_REASONS",
    "UNPAIRED_WEIGHT_KM",
    "MatchViolation",
    "recompute_objective",
    "verify",
]

UNPAIRED_WEIGHT_KM = 1_000_000.0
PROXIES = ("errands", "voice", "disputes", "needs", "visits")
STATUSES = ("optimal", "feasible", "no_solution")
UNPAIRED_REASONS = ("no_skill", "out_of_range", "capacity")
DROPPED_REASONS = ("member_left", "other_community", "no_skill", "out_of_range", "capacity")
RULES = ("1", "2", "3", "4", "5", "6", "answer")
DEFAULT_MAX_RESIDENTS = 2
DEFAULT_MAX_DISTANCE_KM = 3.0

_KM_TOL = 0.001
_RANGE_TOL = 1e-6


# --------------------------------------------------------------------------------------------
# The problem, read strictly


@dataclass(frozen=True)
class _Resident:
    id: str
    community: str
    lat: float
    lon: float
    needs: frozenset[str]
    skills: frozenset[str]
    vulnerability: int


@dataclass(frozen=True)
class _Member:
    id: str
    community: str
    lat: float
    lon: float
    offers: frozenset[str]
    skills: frozenset[str]
    places: int
    range_km: float


@dataclass(frozen=True)
class _Problem:
    residents: Mapping[str, _Resident]
    members: Mapping[str, _Member]
    existing: list[tuple[str, str]]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"problem: {where} must be a finite number, not {value!r}")
    return float(value)


def _strings(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"problem: {where} must be a list of strings")
    return frozenset(value)


def _place(raw: Any, where: str) -> tuple[str, str, float, float]:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("location"), Mapping):
        raise ValueError(f"problem: {where} must be an object with a location")
    if not isinstance(raw.get("id"), str) or not isinstance(raw.get("community"), str):
        raise ValueError(f"problem: {where}.id and .community must be strings")
    return (
        raw["id"],
        raw["community"],
        _number(raw["location"].get("lat"), f"{where}.location.lat"),
        _number(raw["location"].get("lon"), f"{where}.location.lon"),
    )


def _read_problem(problem: Mapping[str, Any]) -> _Problem:
    if not isinstance(problem, Mapping):
        raise ValueError("problem: must be a JSON object")
    options = problem.get("options") or {}
    default_places = options.get("max_residents_per_member", DEFAULT_MAX_RESIDENTS)
    default_range = options.get("max_distance_km", DEFAULT_MAX_DISTANCE_KM)
    residents = {}
    for k, raw in enumerate(problem.get("residents") or []):
        where = f"residents[{k}]"
        rid, community, lat, lon = _place(raw, where)
        residents[rid] = _Resident(
            rid,
            community,
            lat,
            lon,
            _strings(raw.get("needs", []), f"{where}.needs"),
            _strings(raw.get("skills", []), f"{where}.skills"),
            int(_number(raw.get("vulnerability"), f"{where}.vulnerability")),
        )
    members = {}
    for k, raw in enumerate(problem.get("members") or []):
        where = f"members[{k}]"
        mid, community, lat, lon = _place(raw, where)
        places = raw.get("max_residents")
        reach = raw.get("max_distance_km")
        members[mid] = _Member(
            mid,
            community,
            lat,
            lon,
            _strings(raw.get("proxies", list(PROXIES)), f"{where}.proxies"),
            _strings(raw.get("skills", []), f"{where}.skills"),
            int(_number(default_places if places is None else places, f"{where}.max_residents")),
            _number(default_range if reach is None else reach, f"{where}.max_distance_km"),
        )
    existing = []
    for k, raw in enumerate(problem.get("existing_pairs") or []):
        if not isinstance(raw, Mapping):
            raise ValueError(f"problem: existing_pairs[{k}] must be an object")
        existing.append((str(raw.get("resident")), str(raw.get("member"))))
    return _Problem(residents, members, existing)


def _able(r: _Resident, m: _Member) -> bool:
    return m.community == r.community and r.needs <= m.offers and r.skills <= m.skills


def _km(r: _Resident, m: _Member) -> float:
    return haversine_km(r.lat, r.lon, m.lat, m.lon)


def _eligible(r: _Resident, m: _Member) -> bool:
    """Rule 3: same community, needs offered, skills held, within the member's range."""
    return _able(r, m) and _km(r, m) <= m.range_km + _RANGE_TOL


# --------------------------------------------------------------------------------------------
# The answer


def _entries(
    answer: Mapping[str, Any], name: str, keys: tuple[str, ...], out: list[MatchViolation]
) -> list[Mapping[str, Any]]:
    entries = answer.get(name, [])
    if not isinstance(entries, list):
        out.append(MatchViolation("answer", name, "must be a list"))
        return []
    good = []
    for k, e in enumerate(entries):
        if isinstance(e, Mapping) and all(isinstance(e.get(key), str) for key in keys):
            good.append(e)
        else:
            out.append(MatchViolation("answer", f"{name}[{k}]", f"must name {' and '.join(keys)}"))
    return good


def verify(problem_json: Mapping[str, Any], answer_json: Mapping[str, Any]) -> list[MatchViolation]:
    """Every break of the contract's rules by ``answer_json`` for ``problem_json``.

    Raises:
        ValueError: If the problem itself is malformed.
    """
    p = _read_problem(problem_json)
    if not isinstance(answer_json, Mapping):
        return [MatchViolation("answer", "answer", "must be a JSON object")]
    out: list[MatchViolation] = []
    pairs = _entries(answer_json, "pairs", ("resident", "member"), out)
    unpaired = _entries(answer_json, "unpaired", ("resident",), out)
    dropped = _entries(answer_json, "dropped", ("resident", "member"), out)
    pairs = _check_coverage(p, pairs, unpaired, out)
    _check_capacity(p, pairs, out)
    _check_eligibility(p, pairs, out)
    _check_continuity(p, pairs, dropped, out)
    _check_priority(p, pairs, unpaired, out)
    _check_unpaired_reasons(p, unpaired, out)
    _check_bookkeeping(p, answer_json, pairs, unpaired, out)
    return out


def _check_coverage(
    p: _Problem,
    pairs: list[Mapping[str, Any]],
    unpaired: list[Mapping[str, Any]],
    out: list[MatchViolation],
) -> list[Mapping[str, Any]]:
    """Rule 1: every resident once, paired or unpaired; pairs name known people. Returns the
    pairs that name a known resident and a known member."""
    seen = Counter([e["resident"] for e in pairs] + [e["resident"] for e in unpaired])
    for rid, count in sorted(seen.items()):
        if rid not in p.residents:
            out.append(MatchViolation("1", f"resident {rid}", f"{rid} is not in the problem"))
        elif count > 1:
            out.append(MatchViolation("1", f"resident {rid}", f"{rid} appears {count} times"))
    for rid in p.residents:
        if rid not in seen:
            out.append(
                MatchViolation("1", f"resident {rid}", f"{rid} is neither paired nor unpaired")
            )
    known = []
    for e in pairs:
        if e["member"] not in p.members:
            out.append(
                MatchViolation("1", f"resident {e['resident']}", f"unknown member {e['member']}")
            )
        elif e["resident"] in p.residents:
            known.append(e)
    return known


def _check_capacity(p: _Problem, pairs: list[Mapping[str, Any]], out: list[MatchViolation]) -> None:
    """Rule 2: a member takes at most max_residents residents."""
    load = Counter(e["member"] for e in pairs)
    for mid, count in sorted(load.items()):
        if count > p.members[mid].places:
            out.append(
                MatchViolation(
                    "2",
                    f"member {mid}",
                    f"takes {count} residents, at most {p.members[mid].places}",
                )
            )


def _check_eligibility(
    p: _Problem, pairs: list[Mapping[str, Any]], out: list[MatchViolation]
) -> None:
    """Rule 3: same community, needs offered, skills held, within range; distance reported."""
    for e in pairs:
        r, m = p.residents[e["resident"]], p.members[e["member"]]
        subject = f"resident {r.id}"
        if m.community != r.community:
            out.append(MatchViolation("3", subject, f"{m.id} is in community {m.community}"))
        lacking = sorted((r.needs - m.offers) | (r.skills - m.skills))
        if lacking:
            out.append(MatchViolation("3", subject, f"{m.id} lacks {', '.join(lacking)}"))
        km = _km(r, m)
        if km > m.range_km + _RANGE_TOL:
            out.append(
                MatchViolation("3", subject, f"{m.id} lives {km:.3f} km away, range {m.range_km:g}")
            )
        reported = e.get("distance_km")
        if (
            not isinstance(reported, int | float)
            or isinstance(reported, bool)
            or abs(reported - km) > _KM_TOL
        ):
            out.append(MatchViolation("answer", subject, f"distance_km must be {km:.4f}"))


def _expected_kept(p: _Problem) -> set[tuple[str, str]]:
    """Existing pairs that still work, the most vulnerable of each member up to its places."""
    workable: dict[str, list[_Resident]] = defaultdict(list)
    for rid, mid in p.existing:
        r, m = p.residents.get(rid), p.members.get(mid)
        if r is not None and m is not None and _eligible(r, m):
            workable[mid].append(r)
    kept: set[tuple[str, str]] = set()
    for mid, residents in workable.items():
        residents.sort(key=lambda r: (-r.vulnerability, r.id))
        kept.update((r.id, mid) for r in residents[: p.members[mid].places])
    return kept


def _check_continuity(
    p: _Problem,
    pairs: list[Mapping[str, Any]],
    dropped: list[Mapping[str, Any]],
    out: list[MatchViolation],
) -> None:
    """Rule 4: workable existing pairs kept (most vulnerable first where places shrank), every
    other existing pair dropped with a true reason, ``kept`` flags right."""
    kept = _expected_kept(p)
    present = {(e["resident"], e["member"]): e for e in pairs}
    for rid, mid in sorted(kept):
        if (rid, mid) not in present:
            out.append(MatchViolation("4", f"resident {rid}", f"the pair with {mid} must be kept"))
    for key, e in present.items():
        if bool(e.get("kept")) != (key in kept):
            out.append(
                MatchViolation(
                    "4", f"resident {key[0]}", f"kept must be {str(key in kept).lower()}"
                )
            )
    expected_drops = {pair for pair in p.existing if pair not in kept}
    given = Counter((e["resident"], e["member"]) for e in dropped)
    for pair in sorted(expected_drops):
        if given[pair] != 1:
            out.append(
                MatchViolation(
                    "4", f"resident {pair[0]}", f"the pair with {pair[1]} must be dropped once"
                )
            )
    for e in dropped:
        pair = (e["resident"], e["member"])
        if pair not in expected_drops:
            out.append(
                MatchViolation("4", f"resident {pair[0]}", f"{pair[1]} is not a pair to drop")
            )
            continue
        reason = e.get("reason")
        if reason not in DROPPED_REASONS or not _drop_reason_true(p, pair, str(reason)):
            out.append(MatchViolation("4", f"resident {pair[0]}", f"reason {reason!r} is not true"))
        if not isinstance(e.get("detail"), str) or not e["detail"]:
            out.append(MatchViolation("answer", f"resident {pair[0]}", "detail must be a sentence"))


def _drop_reason_true(p: _Problem, pair: tuple[str, str], reason: str) -> bool:
    r, m = p.residents.get(pair[0]), p.members.get(pair[1])
    if m is None or r is None:
        return reason == "member_left"
    if reason == "other_community":
        return m.community != r.community
    if reason == "no_skill":
        return not (r.needs <= m.offers and r.skills <= m.skills)
    if reason == "out_of_range":
        return _km(r, m) > m.range_km
    return reason == "capacity" and _eligible(r, m)


def _check_priority(
    p: _Problem,
    pairs: list[Mapping[str, Any]],
    unpaired: list[Mapping[str, Any]],
    out: list[MatchViolation],
) -> None:
    """Rule 5: no unpaired resident has an eligible member with a free place, or is more
    vulnerable than a resident newly paired with a member who could serve them instead."""
    load = Counter(e["member"] for e in pairs)
    least_new: dict[str, int] = {}
    for e in pairs:
        if not e.get("kept"):
            v = p.residents[e["resident"]].vulnerability
            least_new[e["member"]] = min(least_new.get(e["member"], v), v)
    by_community: dict[str, list[_Member]] = defaultdict(list)
    for m in p.members.values():
        by_community[m.community].append(m)
    for u in unpaired:
        r = p.residents.get(u["resident"])
        if r is None:
            continue
        for m in by_community[r.community]:
            if not _eligible(r, m):
                continue
            if load[m.id] < m.places:
                out.append(
                    MatchViolation(
                        "5", f"resident {r.id}", f"{m.id} could serve them and has a free place"
                    )
                )
                break
            if least_new.get(m.id, r.vulnerability) < r.vulnerability:
                out.append(
                    MatchViolation(
                        "5",
                        f"resident {r.id}",
                        f"{m.id} could serve them (vulnerability {r.vulnerability}) but took a "
                        f"new resident of vulnerability {least_new[m.id]}",
                    )
                )
                break


def _check_unpaired_reasons(
    p: _Problem, unpaired: list[Mapping[str, Any]], out: list[MatchViolation]
) -> None:
    """Rule 6: an unpaired resident's reason is the one the data gives."""
    by_community: dict[str, list[_Member]] = defaultdict(list)
    for m in p.members.values():
        by_community[m.community].append(m)
    for u in unpaired:
        r = p.residents.get(u["resident"])
        if r is None:
            continue
        able = [m for m in by_community[r.community] if _able(r, m)]
        if not able:
            expected = "no_skill"
        elif not any(_km(r, m) <= m.range_km + _RANGE_TOL for m in able):
            expected = "out_of_range"
        else:
            expected = "capacity"
        if u.get("reason") != expected:
            out.append(
                MatchViolation(
                    "6", f"resident {r.id}", f"reason must be {expected}, not {u.get('reason')!r}"
                )
            )
        if not isinstance(u.get("detail"), str) or not u["detail"]:
            out.append(MatchViolation("answer", f"resident {r.id}", "detail must be a sentence"))


def _objective(
    p: _Problem, pairs: list[Mapping[str, Any]], unpaired: list[Mapping[str, Any]]
) -> float:
    left = sum(
        p.residents[u["resident"]].vulnerability for u in unpaired if u["resident"] in p.residents
    )
    km = math.fsum(_km(p.residents[e["resident"]], p.members[e["member"]]) for e in pairs)
    return UNPAIRED_WEIGHT_KM * left + km


def _check_bookkeeping(
    p: _Problem,
    answer: Mapping[str, Any],
    pairs: list[Mapping[str, Any]],
    unpaired: list[Mapping[str, Any]],
    out: list[MatchViolation],
) -> None:
    if answer.get("status") not in STATUSES:
        out.append(MatchViolation("answer", "status", f"must be one of {', '.join(STATUSES)}"))
    stats = answer.get("stats")
    if not isinstance(stats, Mapping):
        out.append(MatchViolation("answer", "stats", "must be an object"))
        return
    value = _objective(p, pairs, unpaired)
    tol = 1e-4 + 1e-5 * len(pairs) + 1e-12 * abs(value)
    objective = stats.get("objective")
    if not isinstance(objective, int | float) or abs(objective - value) > tol:
        out.append(MatchViolation("answer", "stats.objective", f"must be {value:.4f}"))
    bound = stats.get("bound")
    if isinstance(bound, int | float) and bound > value + tol:
        out.append(MatchViolation("answer", "stats.bound", "is above the objective"))
    for name, count in (("paired", len(pairs)), ("unpaired", len(unpaired))):
        if stats.get(name) != count:
            out.append(MatchViolation("answer", f"stats.{name}", f"must be {count}"))


def recompute_objective(problem_json: Mapping[str, Any], answer_json: Mapping[str, Any]) -> float:
    """``UNPAIRED_WEIGHT_KM · Σ vulnerability of unpaired + Σ pair km``, recomputed from the
    problem (entries naming unknown people are skipped)."""
    p = _read_problem(problem_json)
    sink: list[MatchViolation] = []
    pairs = [
        e
        for e in _entries(answer_json, "pairs", ("resident", "member"), sink)
        if e["resident"] in p.residents and e["member"] in p.members
    ]
    return _objective(p, pairs, _entries(answer_json, "unpaired", ("resident",), sink))
