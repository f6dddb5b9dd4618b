"""The synthetic-district instance sets: sizes S to XL, each drawn from the project's generator."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem


@dataclass(frozen=True)
class Size:
    """A named district size: how many members and demands the generator draws."""

    name: str
    members: int
    demands: int


SIZES: dict[str, Size] = {
    s.name: s
    for s in (
        Size("S", 200, 500),
        Size("M", 2_000, 5_000),
        Size("L", 10_000, 30_000),
        Size("XL", 50_000, 150_000),
    )
}
"""The issue's instance sizes, smallest first."""

SMOKE = Size("smoke", 60, 150)
"""The tiny district the CI smoke test runs."""


def size_named(name: str) -> Size:
    """The size called ``name`` (``S``, ``M``, ``L``, ``XL``, or ``smoke``)."""
    if name == SMOKE.name:
        return SMOKE
    try:
        return SIZES[name.upper()]
    except KeyError:
        raise ValueError(f"unknown size {name!r}; choose from {', '.join(SIZES)}") from None


def make_instance(size: Size, seed: int) -> Problem:
    """The district of this size and seed (the same arguments always give the same problem)."""
    return generate_district(members=size.members, demands=size.demands, seed=seed)
