"""Reference checks on a pairing problem whose shape is already right.

The schema at the edge (``service.contracts.units``) checks types and ranges; this module checks
what only the whole problem can tell: unique ids, no category listed twice, and pinned pairs that
name known units and communities and fit the limits (a unit's communities, a community's slots,
the distance limit). Every error names its field path.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from matcher.errors import InvalidProblemError
from matcher.geo import haversine_km
from matcher.longterm.units.problem import Problem


def validate(problem: Problem) -> None:
    """Raise :class:`InvalidProblemError` listing every reference error, or return ``None``."""
    errors: dict[str, list[str]] = defaultdict(list)
    _check_units(problem, errors)
    _check_communities(problem, errors)
    _check_pins(problem, errors)
    if errors:
        raise InvalidProblemError(dict(errors))


def _check_units(problem: Problem, errors: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for i, unit in enumerate(problem.units):
        if unit.id in seen:
            errors[f"units[{i}].id"].append(f"duplicate unit id {unit.id!r}")
        seen.add(unit.id)
        if unit.max_communities < 1:
            errors[f"units[{i}].max_communities"].append("must be at least 1")
        for j, resource in enumerate(unit.resources):
            if resource in unit.resources[:j]:
                errors[f"units[{i}].resources[{j}]"].append(f"lists {resource!r} twice")


def _check_communities(problem: Problem, errors: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for i, community in enumerate(problem.communities):
        if community.id in seen:
            errors[f"communities[{i}].id"].append(f"duplicate community id {community.id!r}")
        seen.add(community.id)
        if problem.slots(community) < 1:
            errors[f"communities[{i}].max_units"].append("must be at least 1")
        categories: set[str] = set()
        for j, need in enumerate(community.needs):
            if need.category in categories:
                errors[f"communities[{i}].needs[{j}].category"].append(
                    f"lists need {need.category!r} twice"
                )
            categories.add(need.category)
            if need.weight < 1:
                errors[f"communities[{i}].needs[{j}].weight"].append("must be at least 1")


def _check_pins(problem: Problem, errors: dict[str, list[str]]) -> None:
    units = {u.id: u for u in problem.units}
    communities = {c.id: c for c in problem.communities}
    seen: set[tuple[str, str]] = set()
    per_unit: Counter[str] = Counter()
    per_community: Counter[str] = Counter()
    limit = problem.options.max_distance_km
    for j, pin in enumerate(problem.pinned):
        path = f"pinned[{j}]"
        known = True
        if pin.unit not in units:
            errors[f"{path}.unit"].append(f"unknown unit {pin.unit!r}")
            known = False
        if pin.community not in communities:
            errors[f"{path}.community"].append(f"unknown community {pin.community!r}")
            known = False
        if not known:
            continue
        if (pin.unit, pin.community) in seen:
            errors[path].append(f"pins {pin.unit} to {pin.community} twice")
            continue
        seen.add((pin.unit, pin.community))
        unit, community = units[pin.unit], communities[pin.community]
        per_unit[unit.id] += 1
        per_community[community.id] += 1
        if per_unit[unit.id] > unit.max_communities:
            errors[f"{path}.unit"].append(
                f"{unit.id} is pinned to {per_unit[unit.id]} communities but may pair with "
                f"{unit.max_communities}"
            )
        if per_community[community.id] > problem.slots(community):
            errors[f"{path}.community"].append(
                f"{community.id} is pinned to {per_community[community.id]} units but has "
                f"{problem.slots(community)} slot(s)"
            )
        if limit is not None:
            km = float(
                haversine_km(
                    unit.location.lat,
                    unit.location.lon,
                    community.location.lat,
                    community.location.lon,
                )
            )
            if km > limit:
                errors[path].append(
                    f"{unit.id} is {km:.2f} km from {community.id}, beyond max_distance_km "
                    f"{limit:g}"
                )
