"""The long-term contracts' numbers have ranges: an out-of-range value is refused at its path
in one InvalidProblemError, never handed to the engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.errors import InvalidProblemError
from matcher.longterm.groups.generate import generate as generate_groups
from matcher.longterm.pairs.generate import generate as generate_pairs
from matcher.longterm.posts.generate import generate as generate_posts
from matcher.longterm.units.generate import generate as generate_units
from service.contracts import groups, pairs, posts, units

Json = dict[str, Any]


def _posts() -> Json:
    return posts.dump_problem(generate_posts(communities=2, members=30, seed=1))


def _groups() -> Json:
    return groups.dump_problem(generate_groups(communities=2, members=30, seed=1))


def _pairs() -> Json:
    return pairs.dump_problem(generate_pairs(communities=2, members=30, residents=10, seed=1))


def _units() -> Json:
    return units.dump_problem(generate_units(communities=2, members=30, seed=1))


CONTRACTS: dict[str, tuple[Callable[[], Json], Callable[[object], object]]] = {
    "posts": (_posts, posts.load_problem),
    "groups": (_groups, groups.load_problem),
    "pairs": (_pairs, pairs.load_problem),
    "units": (_units, units.load_problem),
}


def _set(data: Json, path: str, value: Any) -> None:
    node: Any = data
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[last] = value


def _shown(path: str) -> str:
    """``members.0.max_residents`` as the error names it: ``members[0].max_residents``."""
    parts: list[str] = []
    for part in path.split("."):
        if part.isdigit():
            parts[-1] += f"[{part}]"
        else:
            parts.append(part)
    return ".".join(parts)


OUT_OF_RANGE = [
    ("posts", "posts.0.seats", 1001),
    ("posts", "posts.0.seats", 0),
    ("posts", "options.time_limit_s", 1e9),
    ("posts", "options.time_limit_s", 0),
    ("posts", "options.seed", 2**31),
    ("posts", "options.seed", -1),
    ("groups", "group_size.min", 1),
    ("groups", "group_size.max", 201),
    ("groups", "options.time_limit_s", 86401),
    ("groups", "options.seed", 2**40),
    ("groups", "options.far_km", 20001),
    ("groups", "options.far_km", 0),
    ("groups", "options.related_industry_similarity", 1.5),
    ("groups", "options.weights.distance", 1e7),
    ("groups", "options.weights.industry", -1),
    ("groups", "options.weights.interest", 1e12),
    ("groups", "options.weights.unassigned", 1e300),
    ("groups", "members.0.location.lat", 91),
    ("pairs", "residents.0.vulnerability", 6),
    ("pairs", "members.0.max_residents", 21),
    ("pairs", "members.0.max_distance_km", 1e6),
    ("pairs", "options.time_limit_s", 1e308),
    ("pairs", "options.seed", -5),
    ("pairs", "options.max_residents_per_member", 10**6),
    ("pairs", "options.max_distance_km", 0),
    ("units", "units.0.max_communities", 1001),
    ("units", "units.0.location.lon", 181),
    ("units", "communities.0.max_units", 0),
    ("units", "options.units_per_community", 10**9),
    ("units", "options.max_distance_km", 20000.5),
    ("units", "options.time_limit_s", 1e13),
    ("units", "options.seed", 2**53),
    ("units", "options.workers", 1025),
]


@pytest.mark.parametrize(("contract", "path", "value"), OUT_OF_RANGE)
def test_an_out_of_range_number_is_refused_at_its_path(
    contract: str, path: str, value: Any
) -> None:
    make, load = CONTRACTS[contract]
    data = json.loads(json.dumps(make()))
    load(data)  # the base problem is valid
    _set(data, path, value)
    with pytest.raises(InvalidProblemError) as caught:
        load(data)
    assert _shown(path) in caught.value.errors, caught.value.errors


def test_a_need_weight_beyond_its_range_is_refused_at_its_path() -> None:
    data = json.loads(json.dumps(_units()))
    community = next(c for c in data["communities"] if c["needs"])
    index = data["communities"].index(community)
    community["needs"][0]["weight"] = 1001
    with pytest.raises(InvalidProblemError) as caught:
        units.load_problem(data)
    assert f"communities[{index}].needs[0].weight" in caught.value.errors


@pytest.mark.parametrize(
    ("contract", "path", "value"),
    [
        ("posts", "posts.0.seats", 1000),
        ("posts", "options.seed", 2**31 - 1),
        ("groups", "group_size.max", 200),
        ("groups", "options.weights.distance", 1e6),
        ("groups", "options.far_km", 20000),
        ("pairs", "members.0.max_residents", 20),
        ("pairs", "options.time_limit_s", 86400),
        ("units", "options.workers", 1024),
        ("units", "units.0.max_communities", 1000),
    ],
)
def test_the_bounds_themselves_are_accepted(contract: str, path: str, value: Any) -> None:
    make, load = CONTRACTS[contract]
    data = json.loads(json.dumps(make()))
    _set(data, path, value)
    load(data)  # raises if refused


NUMERIC_FIELDS = [
    ("posts", "posts.0.seats"),
    ("posts", "options.time_limit_s"),
    ("posts", "options.seed"),
    ("groups", "group_size.min"),
    ("groups", "group_size.max"),
    ("groups", "options.far_km"),
    ("groups", "options.related_industry_similarity"),
    ("groups", "options.weights.distance"),
    ("groups", "options.weights.unassigned"),
    ("groups", "options.time_limit_s"),
    ("groups", "members.0.location.lat"),
    ("pairs", "residents.0.vulnerability"),
    ("pairs", "members.0.max_residents"),
    ("pairs", "members.0.max_distance_km"),
    ("pairs", "options.max_residents_per_member"),
    ("pairs", "options.max_distance_km"),
    ("pairs", "options.seed"),
    ("units", "units.0.max_communities"),
    ("units", "communities.0.max_units"),
    ("units", "options.units_per_community"),
    ("units", "options.max_distance_km"),
    ("units", "options.workers"),
    ("units", "units.0.location.lon"),
]

EXTREMES = st.one_of(
    st.sampled_from([0, -0.0, 1e-300, 5e-324, 1e-9, 1e6, 1e12, 1e13, 1e20, 1e308, -1e308, 2**63]),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
)

_BASES = {name: make() for name, (make, _) in CONTRACTS.items()}


@settings(max_examples=150, deadline=None)
@given(where=st.sampled_from(NUMERIC_FIELDS), value=EXTREMES)
def test_an_extreme_number_is_read_or_refused_at_its_path(
    where: tuple[str, str], value: Any
) -> None:
    """Any number at a numeric field either loads within the documented range or is refused
    with that field's path; nothing else is raised."""
    contract, path = where
    data = json.loads(json.dumps(_BASES[contract]))
    _set(data, path, value)
    try:
        problem = CONTRACTS[contract][1](data)
    except InvalidProblemError as error:
        assert _shown(path) in error.errors or any(
            key.startswith(_shown(path).rsplit(".", 1)[0]) for key in error.errors
        ), error.errors
        return
    assert problem is not None
    low, high = RANGES[path.rsplit(".", 1)[1]]
    assert low <= value <= high, (path, value)


RANGES: dict[str, tuple[float, float]] = {
    "seats": (1, 1000),
    "time_limit_s": (0, 86400),
    "seed": (0, 2**31 - 1),
    "min": (2, 200),
    "max": (2, 200),
    "far_km": (0, 20000),
    "max_distance_km": (0, 20000),
    "related_industry_similarity": (0, 1),
    "distance": (0, 1e6),
    "unassigned": (0, 1e6),
    "lat": (-90, 90),
    "lon": (-180, 180),
    "vulnerability": (1, 5),
    "max_residents": (0, 20),
    "max_residents_per_member": (0, 20),
    "max_communities": (1, 1000),
    "max_units": (1, 1000),
    "units_per_community": (1, 1000),
    "workers": (0, 1024),
}
"""The documented range of each field the property test sets (docs/contracts/*.md)."""


@pytest.mark.parametrize(
    ("contract", "path"),
    [
        ("posts", "posts.0.id"),
        ("posts", "posts.0.title"),
        ("posts", "members.0.community"),
        ("groups", "members.0.id"),
        ("groups", "members.0.industry"),
        ("pairs", "residents.0.id"),
        ("pairs", "members.0.community"),
        ("units", "units.0.id"),
        ("units", "units.0.name"),
        ("units", "communities.0.name"),
    ],
)
def test_a_string_longer_than_200_characters_is_refused_at_its_path(
    contract: str, path: str
) -> None:
    make, load = CONTRACTS[contract]
    data = json.loads(json.dumps(make()))
    _set(data, path, "长" * 201)
    with pytest.raises(InvalidProblemError) as caught:
        load(data)
    assert caught.value.errors[_shown(path)] == ["must have at most 200 characters"]
