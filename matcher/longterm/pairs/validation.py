"""Reference checks on a hand-in-hand problem whose shape is already right.

The schema at the edge (``service.contracts.pairs``) checks types and ranges; this module checks
what only the whole problem can tell: unique ids, known vulnerable groups and proxies, existing
pairs naming known residents, each resident in at most one existing pair. An existing pair may
name a member who is no longer in the problem: the member left, and the answer says so.
"""

from __future__ import annotations

from collections import defaultdict

from matcher.errors import InvalidProblemError
from matcher.longterm.pairs.problem import (
    MAX_VULNERABILITY,
    PROXIES,
    VULNERABLE_GROUPS,
    PairProblem,
)


def validate(problem: PairProblem) -> None:
    """Raise :class:`InvalidProblemError` listing every reference error, or return ``None``."""
    errors: dict[str, list[str]] = defaultdict(list)
    _check_residents(problem, errors)
    _check_members(problem, errors)
    _check_existing(problem, errors)
    if errors:
        raise InvalidProblemError(dict(errors))


def _check_residents(problem: PairProblem, errors: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for i, r in enumerate(problem.residents):
        path = f"residents[{i}]"
        if r.id in seen:
            errors[f"{path}.id"].append(f"duplicate resident id {r.id!r}")
        seen.add(r.id)
        if not r.groups:
            errors[f"{path}.groups"].append("must name at least one vulnerable group")
        for j, g in enumerate(r.groups):
            if g not in VULNERABLE_GROUPS:
                errors[f"{path}.groups[{j}]"].append(
                    f"must be one of {', '.join(VULNERABLE_GROUPS)}"
                )
        for j, need in enumerate(r.needs):
            if need not in PROXIES:
                errors[f"{path}.needs[{j}]"].append(f"must be one of {', '.join(PROXIES)}")
        if not 1 <= r.vulnerability <= MAX_VULNERABILITY:
            errors[f"{path}.vulnerability"].append(
                f"must be an integer from 1 to {MAX_VULNERABILITY}"
            )


def _check_members(problem: PairProblem, errors: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for i, m in enumerate(problem.members):
        path = f"members[{i}]"
        if m.id in seen:
            errors[f"{path}.id"].append(f"duplicate member id {m.id!r}")
        seen.add(m.id)
        for j, proxy in enumerate(m.proxies):
            if proxy not in PROXIES:
                errors[f"{path}.proxies[{j}]"].append(f"must be one of {', '.join(PROXIES)}")
        if m.max_residents is not None and m.max_residents < 0:
            errors[f"{path}.max_residents"].append("must be at least 0")
        if m.max_distance_km is not None and m.max_distance_km <= 0:
            errors[f"{path}.max_distance_km"].append("must be greater than 0")


def _check_existing(problem: PairProblem, errors: dict[str, list[str]]) -> None:
    residents = {r.id for r in problem.residents}
    first: dict[str, int] = {}
    for k, pair in enumerate(problem.existing_pairs):
        path = f"existing_pairs[{k}]"
        if pair.resident not in residents:
            errors[f"{path}.resident"].append(
                f"unknown resident {pair.resident!r}; remove pairs of residents no longer served"
            )
        elif pair.resident in first:
            errors[f"{path}.resident"].append(
                f"{pair.resident!r} is already paired in existing_pairs[{first[pair.resident]}]; "
                "a resident has one partner"
            )
        else:
            first[pair.resident] = k
