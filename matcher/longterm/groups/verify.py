"""Independent checker for groupings of members (分组), written from ``docs/contracts/groups.md``
alone.

It shares no code with the solver (nor with the rest of :mod:`matcher`): standard library only,
on the raw JSON objects (``dict``/``list`` as :func:`json.load` gives them) of the problem and
the answer. It recomputes the haversine distance, the dissimilarity and every figure the answer
reports, checks the contract's numbered rules and reports every break as a
:class:`MatchViolation`. It never raises on a malformed answer (a missing key, an unknown member,
a bad number become violations with rule ``"answer"``); a malformed problem raises
:class:`ValueError` naming the field.

Tolerances: a group's ``centre`` within 1e-6 degrees of the mean of its members' coordinates;
``radius_km`` and ``mean_distance_km`` within 0.002 km; ``dissimilarity`` within 1e-5 (relative
to at least 1); ``stats.objective`` within 1e-6 per group plus 1e-6 relative plus 1e-4.
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
    "DEFAULTS",
    "EARTH_RADIUS_KM",
    "REASONS",
    "RULES",
    "STATUSES",
    "MatchViolation",
    "recompute_objective",
    "verify",
]

STATUSES = ("optimal", "feasible", "no_solution")
REASONS = ("too_few", "together", "conflict", "size", "apart")
RULES = ("1", "2", "3", "4", "5", "6", "7", "8", "answer")
DEFAULTS: Mapping[str, float] = {
    "min": 6,
    "max": 10,
    "far_km": 2.0,
    "related_industry_similarity": 0.5,
    "distance": 2.0,
    "industry": 1.0,
    "interest": 1.0,
    "unassigned": 10.0,
}

_DEG_TOL = 1e-6
_KM_TOL = 0.002
_SHARE_TOL = 1e-5


# --------------------------------------------------------------------------------------------
# The problem, read strictly


@dataclass(frozen=True)
class _Member:
    id: str
    community: str
    lat: float
    lon: float
    industry: str | None
    interests: frozenset[str]


@dataclass(frozen=True)
class _Problem:
    members: Mapping[str, _Member]
    low: int
    high: int
    related: frozenset[frozenset[str]]
    together: list[tuple[str, str]]
    apart: list[tuple[str, str]]
    far_km: float
    related_similarity: float
    w_distance: float
    w_industry: float
    w_interest: float
    w_unassigned: float


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"problem: {where} must be a finite number, not {value!r}")
    return float(value)


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"problem: {where} must be a list of strings")
    return list(value)


def _pairs(value: Any, where: str) -> list[tuple[str, str]]:
    pairs = []
    for k, pair in enumerate(value or []):
        names = _strings(pair, f"{where}[{k}]")
        if len(names) != 2:
            raise ValueError(f"problem: {where}[{k}] must name two members")
        pairs.append((names[0], names[1]))
    return pairs


def _read_problem(problem: Mapping[str, Any]) -> _Problem:
    if not isinstance(problem, Mapping) or not isinstance(problem.get("members"), list):
        raise ValueError("problem: members must be a list")
    members: dict[str, _Member] = {}
    for k, raw in enumerate(problem["members"]):
        where = f"members[{k}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("location"), Mapping):
            raise ValueError(f"problem: {where} must be an object with a location")
        member_id, community = raw.get("id"), raw.get("community")
        if not isinstance(member_id, str) or not isinstance(community, str):
            raise ValueError(f"problem: {where}.id and .community must be strings")
        industry = raw.get("industry")
        if industry is not None and not isinstance(industry, str):
            raise ValueError(f"problem: {where}.industry must be a string or null")
        members[member_id] = _Member(
            member_id,
            community,
            _number(raw["location"].get("lat"), f"{where}.location.lat"),
            _number(raw["location"].get("lon"), f"{where}.location.lon"),
            industry,
            frozenset(_strings(raw.get("posts"), f"{where}.posts"))
            | frozenset(_strings(raw.get("preferences"), f"{where}.preferences")),
        )
    size = problem.get("group_size") or {}
    options = problem.get("options") or {}
    weights = options.get("weights") or {}
    return _Problem(
        members=members,
        low=int(_number(size.get("min", DEFAULTS["min"]), "group_size.min")),
        high=int(_number(size.get("max", DEFAULTS["max"]), "group_size.max")),
        related=frozenset(
            frozenset(p) for p in _pairs(problem.get("related_industries"), "related_industries")
        ),
        together=_pairs(problem.get("together"), "together"),
        apart=_pairs(problem.get("apart"), "apart"),
        far_km=_number(options.get("far_km", DEFAULTS["far_km"]), "options.far_km"),
        related_similarity=_number(
            options.get("related_industry_similarity", DEFAULTS["related_industry_similarity"]),
            "options.related_industry_similarity",
        ),
        w_distance=_number(weights.get("distance", DEFAULTS["distance"]), "weights.distance"),
        w_industry=_number(weights.get("industry", DEFAULTS["industry"]), "weights.industry"),
        w_interest=_number(weights.get("interest", DEFAULTS["interest"]), "weights.interest"),
        w_unassigned=_number(
            weights.get("unassigned", DEFAULTS["unassigned"]), "weights.unassigned"
        ),
    )


def _dissimilarity(p: _Problem, a: _Member, b: _Member) -> float:
    km = haversine_km(a.lat, a.lon, b.lat, b.lon)
    if a.industry is not None and a.industry == b.industry:
        trade = 1.0
    elif a.industry is not None and frozenset((a.industry, b.industry)) in p.related:
        trade = p.related_similarity
    else:
        trade = 0.0
    union = a.interests | b.interests
    shared = len(a.interests & b.interests) / len(union) if union else 0.0
    return (
        p.w_distance * min(km / p.far_km, 1.0)
        + p.w_industry * (1.0 - trade)
        + p.w_interest * (1.0 - shared)
    )


def _share(p: _Problem, people: list[_Member]) -> float:
    """Σ over the group's members of their mean dissimilarity to the others."""
    s = len(people)
    if s < 2:
        return 0.0
    total = math.fsum(
        _dissimilarity(p, people[i], people[j]) for i in range(s) for j in range(i + 1, s)
    )
    return 2.0 * total / (s - 1)


def _together_sets(p: _Problem) -> dict[str, set[str]]:
    parent = {m: m for m in p.members}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in p.together:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    sets: dict[str, set[str]] = defaultdict(set)
    for m in p.members:
        sets[root(m)].add(m)
    return {m: sets[root(m)] for m in p.members}


# --------------------------------------------------------------------------------------------
# The answer


def _groups(answer: Mapping[str, Any], out: list[MatchViolation]) -> list[Mapping[str, Any]]:
    groups = answer.get("groups")
    if not isinstance(groups, list):
        out.append(MatchViolation("answer", "answer", "groups must be a list"))
        return []
    good = []
    for k, g in enumerate(groups):
        if (
            isinstance(g, Mapping)
            and isinstance(g.get("members"), list)
            and all(isinstance(m, str) for m in g["members"])
        ):
            good.append(g)
        else:
            out.append(MatchViolation("answer", f"groups[{k}]", "must list member ids"))
    return good


def _unassigned(answer: Mapping[str, Any], out: list[MatchViolation]) -> list[Mapping[str, Any]]:
    entries = answer.get("unassigned", [])
    if not isinstance(entries, list):
        out.append(MatchViolation("answer", "answer", "unassigned must be a list"))
        return []
    good = []
    for k, u in enumerate(entries):
        if isinstance(u, Mapping) and isinstance(u.get("member"), str):
            good.append(u)
        else:
            out.append(MatchViolation("answer", f"unassigned[{k}]", "must name a member"))
    return good


def verify(problem_json: Mapping[str, Any], answer_json: Mapping[str, Any]) -> list[MatchViolation]:
    """Every break of the contract's rules by ``answer_json`` for ``problem_json``.

    Raises:
        ValueError: If the problem itself is malformed.
    """
    p = _read_problem(problem_json)
    out: list[MatchViolation] = []
    if not isinstance(answer_json, Mapping):
        return [MatchViolation("answer", "answer", "must be a JSON object")]
    groups = _groups(answer_json, out)
    unassigned = _unassigned(answer_json, out)
    group_of: dict[str, str] = {}
    _check_coverage(p, groups, unassigned, group_of, out)
    for k, g in enumerate(groups):
        gid = str(g.get("id", f"#{k + 1}"))
        known = [p.members[m] for m in g["members"] if m in p.members]
        _check_community(g, gid, known, out)
        _check_size(p, gid, len(g["members"]), out)
        _check_description(p, g, gid, known, out)
    _check_together(p, group_of, out)
    _check_apart(p, groups, out)
    _check_reasons(p, unassigned, out)
    _check_last_resort(p, groups, unassigned, group_of, out)
    _check_bookkeeping(p, answer_json, groups, unassigned, out)
    return out


def _check_coverage(
    p: _Problem,
    groups: list[Mapping[str, Any]],
    unassigned: list[Mapping[str, Any]],
    group_of: dict[str, str],
    out: list[MatchViolation],
) -> None:
    """Rule 1: every member exactly once, in a group or left out; no unknown ids."""
    seen: Counter[str] = Counter()
    for k, g in enumerate(groups):
        gid = str(g.get("id", f"#{k + 1}"))
        for m in g["members"]:
            seen[m] += 1
            group_of.setdefault(m, gid)
    for u in unassigned:
        seen[u["member"]] += 1
    for m, count in sorted(seen.items()):
        if m not in p.members:
            out.append(MatchViolation("1", f"member {m}", f"{m} is not a member of the problem"))
        elif count > 1:
            out.append(MatchViolation("1", f"member {m}", f"{m} appears {count} times"))
    for m in p.members:
        if m not in seen:
            out.append(MatchViolation("1", f"member {m}", f"{m} is in no group and not left out"))


def _check_community(
    g: Mapping[str, Any], gid: str, known: list[_Member], out: list[MatchViolation]
) -> None:
    """Rule 2: a group's members all live in the group's community."""
    community = g.get("community")
    for m in known:
        if m.community != community:
            out.append(
                MatchViolation(
                    "2",
                    f"group {gid}",
                    f"{m.id} belongs to community {m.community}, not {community}",
                )
            )


def _check_size(p: _Problem, gid: str, size: int, out: list[MatchViolation]) -> None:
    """Rule 3: min <= size <= max."""
    if not p.low <= size <= p.high:
        out.append(
            MatchViolation("3", f"group {gid}", f"has {size} members, not {p.low}..{p.high}")
        )


def _close(a: Any, b: float, tol: float) -> bool:
    return (
        isinstance(a, int | float)
        and not isinstance(a, bool)
        and math.isfinite(a)
        and abs(a - b) <= tol
    )


def _check_description(
    p: _Problem, g: Mapping[str, Any], gid: str, known: list[_Member], out: list[MatchViolation]
) -> None:
    """Rule 6: centre, radius, mean distance, industries, shared interests, dissimilarity."""
    if not known:
        return
    subject = f"group {gid}"
    lat = math.fsum(m.lat for m in known) / len(known)
    lon = math.fsum(m.lon for m in known) / len(known)
    centre = g.get("centre")
    if not (
        isinstance(centre, Mapping)
        and _close(centre.get("lat"), lat, _DEG_TOL)
        and _close(centre.get("lon"), lon, _DEG_TOL)
    ):
        out.append(MatchViolation("6", subject, f"centre must be ({lat:.6f}, {lon:.6f})"))
        return
    radius = max(haversine_km(centre["lat"], centre["lon"], m.lat, m.lon) for m in known)
    if not _close(g.get("radius_km"), radius, _KM_TOL):
        out.append(MatchViolation("6", subject, f"radius_km must be {radius:.3f}"))
    s = len(known)
    mean_km = (
        math.fsum(
            haversine_km(known[i].lat, known[i].lon, known[j].lat, known[j].lon)
            for i in range(s)
            for j in range(i + 1, s)
        )
        / (s * (s - 1) / 2)
        if s > 1
        else 0.0
    )
    if not _close(g.get("mean_distance_km"), mean_km, _KM_TOL):
        out.append(MatchViolation("6", subject, f"mean_distance_km must be {mean_km:.3f}"))
    trades = Counter(m.industry for m in known if m.industry is not None)
    reported = g.get("industries")
    given: dict[Any, Any] = {}
    if isinstance(reported, list):
        given = {x.get("industry"): x.get("members") for x in reported if isinstance(x, Mapping)}
    if given != dict(trades):
        out.append(MatchViolation("6", subject, f"industries must count {dict(trades)}"))
    held = Counter(c for m in known for c in m.interests)
    shared = {c for c, count in held.items() if 2 * count >= s}
    reported_shared = g.get("shared_interests")
    if not isinstance(reported_shared, list) or set(reported_shared) != shared:
        out.append(MatchViolation("6", subject, f"shared_interests must be {sorted(shared)}"))
    value = _share(p, known)
    if not _close(g.get("dissimilarity"), value, _SHARE_TOL * max(1.0, abs(value))):
        out.append(MatchViolation("6", subject, f"dissimilarity must be {value:.6f}"))


def _check_together(p: _Problem, group_of: Mapping[str, str], out: list[MatchViolation]) -> None:
    """Rule 4: a together pair shares a group or is left out whole."""
    for a, b in p.together:
        if group_of.get(a) != group_of.get(b):
            out.append(
                MatchViolation(
                    "4",
                    f"member {a}",
                    f"{a} and {b} must be together: groups {group_of.get(a)} and {group_of.get(b)}",
                )
            )


def _check_apart(p: _Problem, groups: list[Mapping[str, Any]], out: list[MatchViolation]) -> None:
    """Rule 5: an apart pair never shares a group."""
    for k, g in enumerate(groups):
        members = set(g["members"])
        for a, b in p.apart:
            if a in members and b in members:
                gid = str(g.get("id", f"#{k + 1}"))
                out.append(
                    MatchViolation("5", f"group {gid}", f"{a} and {b} must be apart: both in it")
                )


def _check_reasons(
    p: _Problem, unassigned: list[Mapping[str, Any]], out: list[MatchViolation]
) -> None:
    """Rule 7: each reason is known and true of the member."""
    counts = Counter(m.community for m in p.members.values())
    sets = _together_sets(p)
    apart_of: dict[str, set[str]] = defaultdict(set)
    for a, b in p.apart:
        apart_of[a].add(b)
        apart_of[b].add(a)
    for u in unassigned:
        m = p.members.get(u["member"])
        if m is None:
            continue
        subject, reason = f"member {m.id}", u.get("reason")
        if reason not in REASONS:
            out.append(MatchViolation("7", subject, f"unknown reason {reason!r}"))
            continue
        if not isinstance(u.get("detail"), str) or not u["detail"]:
            out.append(MatchViolation("answer", subject, "detail must be a sentence"))
        if u.get("community") != m.community:
            out.append(MatchViolation("2", subject, f"community must be {m.community}"))
        small = counts[m.community] < p.low
        if small != (reason == "too_few"):
            out.append(
                MatchViolation(
                    "7",
                    subject,
                    f"community {m.community} has {counts[m.community]} members: the reason "
                    f"must {'' if small else 'not '}be too_few",
                )
            )
        together = sets[m.id]
        if reason == "together" and len(together) <= p.high:
            out.append(
                MatchViolation("7", subject, f"its together set has {len(together)} members")
            )
        if reason == "conflict" and not any(a in together and b in together for a, b in p.apart):
            out.append(MatchViolation("7", subject, "its together set holds no apart pair"))
        if reason == "apart" and not any(
            p.members[x].community == m.community for x in apart_of[m.id] if x in p.members
        ):
            out.append(MatchViolation("7", subject, "it has no apart partner in its community"))


def _check_last_resort(
    p: _Problem,
    groups: list[Mapping[str, Any]],
    unassigned: list[Mapping[str, Any]],
    group_of: Mapping[str, str],
    out: list[MatchViolation],
) -> None:
    """Rule 8: a member left out for size or apart fits in no group of its community."""
    sets = _together_sets(p)
    apart_of: dict[str, set[str]] = defaultdict(set)
    for a, b in p.apart:
        apart_of[a].add(b)
        apart_of[b].add(a)
    by_id = {str(g.get("id", f"#{k + 1}")): g for k, g in enumerate(groups)}
    for u in unassigned:
        m = p.members.get(u["member"])
        if m is None or u.get("reason") not in ("size", "apart"):
            continue
        together = sets[m.id]
        partners = set().union(*(apart_of[x] for x in together))
        for gid, g in by_id.items():
            if g.get("community") != m.community:
                continue
            room = p.high - len(g["members"])
            clash = partners & set(g["members"])
            if room >= len(together) and not clash and all(x not in group_of for x in together):
                out.append(
                    MatchViolation(
                        "8",
                        f"member {m.id}",
                        f"left out for {u.get('reason')} but group {gid} has room for its "
                        f"{len(together)} member(s) and none of their apart partners",
                    )
                )
                break


def _check_bookkeeping(
    p: _Problem,
    answer: Mapping[str, Any],
    groups: list[Mapping[str, Any]],
    unassigned: list[Mapping[str, Any]],
    out: list[MatchViolation],
) -> None:
    if answer.get("status") not in STATUSES:
        out.append(MatchViolation("answer", "status", f"must be one of {', '.join(STATUSES)}"))
    ids = [g.get("id") for g in groups]
    if len(set(map(str, ids))) != len(ids):
        out.append(MatchViolation("answer", "groups", "group ids must be unique"))
    stats = answer.get("stats")
    if not isinstance(stats, Mapping):
        out.append(MatchViolation("answer", "stats", "must be an object"))
        return
    value = _objective(p, groups, len(unassigned))
    tol = 1e-6 * len(groups) + 1e-6 * abs(value) + 1e-4
    if not _close(stats.get("objective"), value, tol):
        out.append(MatchViolation("answer", "stats.objective", f"must be {value:.6f}"))
    bound = stats.get("bound")
    if isinstance(bound, int | float) and bound > value + tol:
        out.append(MatchViolation("answer", "stats.bound", "is above the objective"))
    if stats.get("unassigned") != len(unassigned):
        out.append(MatchViolation("answer", "stats.unassigned", f"must be {len(unassigned)}"))
    if stats.get("groups") != len(groups):
        out.append(MatchViolation("answer", "stats.groups", f"must be {len(groups)}"))


def _objective(p: _Problem, groups: list[Mapping[str, Any]], left_out: int) -> float:
    return (
        math.fsum(_share(p, [p.members[m] for m in g["members"] if m in p.members]) for g in groups)
        + p.w_unassigned * left_out
    )


def recompute_objective(problem_json: Mapping[str, Any], answer_json: Mapping[str, Any]) -> float:
    """The objective of ``answer_json`` recomputed from the problem's data (unknown members and
    malformed groups are skipped)."""
    p = _read_problem(problem_json)
    sink: list[MatchViolation] = []
    return _objective(p, _groups(answer_json, sink), len(_unassigned(answer_json, sink)))
