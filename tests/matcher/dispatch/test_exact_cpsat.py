"""CP-SAT for small all-integer exact models: whole-number scaling, the optimum HiGHS finds."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.dispatch.exact_cpsat import integral_form, run_exact
from matcher.dispatch.model import HighsInput, run_highs


def knapsack(
    *, cost: list[float], use_h: list[float], capacity_h: float, integer: bool = True
) -> HighsInput:
    """Pick items (binary) to minimise cost, at least two items, hours within capacity."""
    n = len(cost)
    value = np.array(use_h + [1.0] * n, dtype=np.float64)
    index = np.array(list(range(n)) * 2, dtype=np.int32)
    return HighsInput(
        cost=np.array(cost, dtype=np.float64),
        upper=np.ones(n),
        row_lower=np.array([-np.inf, 2.0]),
        row_upper=np.array([capacity_h, np.inf]),
        starts=np.array([0, n, 2 * n], dtype=np.int32),
        index=index,
        value=value,
        integer=np.full(n, integer),
        constant=0.0,
        trivial_bound=-1e9,
        time_limit_s=10.0,
    )


def test_hour_rows_are_scaled_to_whole_minutes_and_bounds_rounded_inwards() -> None:
    inp = knapsack(cost=[3, 1, 4, 1.5], use_h=[0.5, 1.25, 0.75, 2.0], capacity_h=2.01)
    form = integral_form(inp)
    assert form is not None
    assert form.coefficients[0] == [30, 75, 45, 120]  # minutes
    assert form.upper[0] == 120  # 2.01 h = 120.6 min: at most 120 whole minutes
    assert form.lower == [None, 2] and form.upper[1] is None
    assert form.cost_scale == 10.0 and form.cost == [30, 10, 40, 15]


def test_continuous_columns_or_unscalable_rows_stay_with_highs() -> None:
    assert integral_form(knapsack(cost=[1, 2], use_h=[1, 1], capacity_h=2, integer=False)) is None
    assert integral_form(knapsack(cost=[1, 2], use_h=[1 / 7, 1], capacity_h=2)) is None


@pytest.mark.parametrize("capacity_h", [1.0, 2.0, 3.5])
def test_cp_sat_finds_the_optimum_highs_finds(capacity_h: float) -> None:
    inp = knapsack(cost=[3, 1, 4, 1.5, 2], use_h=[0.5, 1.25, 0.75, 2.0, 1.0], capacity_h=capacity_h)
    form = integral_form(inp)
    assert form is not None
    highs, cpsat = run_highs(inp), run_exact(inp, form)
    assert highs.status == cpsat.status
    if highs.status == "optimal":
        assert cpsat.objective == pytest.approx(highs.objective)
        assert cpsat.bound == pytest.approx(cpsat.objective)
        chosen = cpsat.values > 0.5
        assert chosen.sum() >= 2 and np.dot(inp.value[: len(chosen)], chosen) <= capacity_h
    else:  # too little capacity for two items: both say so
        assert cpsat.values is None
