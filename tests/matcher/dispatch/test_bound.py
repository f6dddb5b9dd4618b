"""The Lagrangian bound used for large components is a true lower bound.

Small random problems never reach it through ``solve`` (their components are solved exactly), so
these tests call it directly over every open demand with candidates and compare the bound it
proves, plus the parts outside the model, with the exact optimum of the brute-force enumerator.
"""

from __future__ import annotations

import time

import numpy as np
from hypothesis import given, note, settings

from matcher.dispatch.arrays import build_arrays
from matcher.dispatch.bound import lagrangian_bound
from matcher.dispatch.candidates import generate_candidates
from matcher.dispatch.model import trivial_bound
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import fixed_part, pinned_plan
from matcher.dispatch.validation import validate_problem
from tests.matcher.dispatch.test_dispatch_properties import (
    PROPERTY_SETTINGS,
    brute_force_optimum,
    small_problems,
)


def _bounds(problem: Problem) -> tuple[float, float]:
    """(Lagrangian, trivial) bounds on the whole objective, as ``solve`` would add them up."""
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    base = pinned_plan(arr)
    open_demands = np.flatnonzero(~arr.d_pinned)
    has = np.zeros(arr.n_demands, dtype=bool)
    has[cands.demand] = True
    modelled = open_demands[has[open_demands]]
    outside = float(
        problem.options.weights.unassigned * arr.d_priority[open_demands[~has[open_demands]]].sum()
    )
    fixed = fixed_part(arr, cands, base) + outside
    upper = base.copy().part_objective(modelled) if len(modelled) else 0.0
    lagrangian = lagrangian_bound(
        arr, cands, modelled, base, upper=upper, deadline=time.perf_counter() + 1.0
    )
    return fixed + lagrangian, fixed + trivial_bound(arr, cands, modelled)


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(problem=small_problems())
def test_lagrangian_and_trivial_bounds_never_exceed_the_optimum(problem: Problem) -> None:
    """On random small problems both bounds stay at or below the brute-force optimum."""
    validate_problem(problem)
    optimum = brute_force_optimum(problem)
    if optimum is None:
        return
    lagrangian, trivial = _bounds(problem)
    note(f"optimum {optimum}, lagrangian {lagrangian}, trivial {trivial}")
    assert lagrangian <= optimum + 1e-6
    assert trivial <= optimum + 1e-6


def test_lagrangian_bound_is_at_least_the_trivial_one_on_a_district() -> None:
    """On a generated district the subgradient steps raise the bound above the trivial one."""
    from matcher.dispatch.generate import generate_district

    problem = generate_district(members=150, demands=400, seed=3)
    lagrangian, trivial = _bounds(problem)
    assert np.isfinite(lagrangian)
    assert lagrangian > trivial + 1.0  # capacity and time prices add something real


def test_crews_take_interval_time_in_the_lagrangian() -> None:
    """Two crew demands of two, and two members each free for one hour: only one crew fits. The
    relaxation counts each crew member's time in a free interval, so the bound is close to the
    optimum (one crew served, the other's penalty paid), not the two crews served together that
    a relaxation ignoring the crews' time would allow; it never exceeds the optimum."""
    from tests.matcher.dispatch.factories import at, make_demand, make_member, make_problem

    members = [make_member(m, availability=[(at(9), at(10))]) for m in ("m1", "m2")]
    demands = [make_demand(d, crew_size=2, window=(at(9), at(10))) for d in ("c1", "c2")]
    problem = make_problem(members, demands)
    validate_problem(problem)
    optimum = brute_force_optimum(problem)
    assert optimum is not None
    lagrangian, _trivial = _bounds(problem)
    penalty = problem.options.weights.unassigned * 3  # one crew left out (priority 3)
    assert lagrangian <= optimum + 1e-6
    assert lagrangian >= optimum - 0.05 * penalty, (lagrangian, optimum)
