"""CP-SAT for small all-integer exact models: the same model as HiGHS gets, proved faster.

On the small generalised assignment instances (OR-Library gap1-12, at most 10 x 60) OR-Tools'
CP-SAT proves optimality within a second where HiGHS' branch and bound needs several, so the
exact step of :func:`matcher.dispatch.solve.solve_with_candidates` can hand such a model to CP-SAT
(``SearchSettings.exact_solver = "auto"``, models of at most ``cpsat_max_vars`` = 700 columns:
on the larger Chu-Beasley instances, 500 to 2,000 columns, HiGHS did better within 10 s).
CP-SAT needs whole-number coefficients: :func:`integral_form` scales each row (and the
objective) by the first factor that makes its coefficients whole; a bound that stays fractional
after scaling is rounded inwards, which is exact for integer variables. A model with a
continuous column, an unbounded column or a row no factor makes whole stays with HiGHS
(:func:`integral_form` returns ``None``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matcher.dispatch.model import HighsInput, ModelResult, stop_watch

ROW_SCALES = (1.0, 60.0, 3600.0)  # hours become minutes or seconds
OBJECTIVE_SCALES = (1.0, 10.0, 100.0, 1000.0)
_WHOLE_TOL = 1e-7
_MAX_COEFFICIENT = 2**40  # CP-SAT's linear expressions are 64-bit; keep sums well inside


@dataclass(frozen=True)
class IntegralForm:
    """The model with whole-number rows and objective (row ``r`` scaled by ``row_scale[r]``)."""

    coefficients: list[list[int]]  # per row
    columns: list[list[int]]  # per row
    lower: list[int | None]  # per row; None: no lower side
    upper: list[int | None]
    cost: list[int]
    cost_scale: float
    column_upper: list[int]


def _whole(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) <= _WHOLE_TOL * np.maximum(1, values)))


def integral_form(inp: HighsInput) -> IntegralForm | None:
    """The model in whole numbers, or ``None`` if it has continuous or unbounded columns, or a
    row or objective that none of the scale factors makes whole."""
    if inp.n_vars == 0 or not bool(np.all(inp.integer)):
        return None
    if not np.all(np.isfinite(inp.upper)):
        return None
    cost_scale = next((s for s in OBJECTIVE_SCALES if _whole(inp.cost * s)), None)
    if cost_scale is None:
        return None
    coefficients: list[list[int]] = []
    columns: list[list[int]] = []
    lower: list[int | None] = []
    upper: list[int | None] = []
    for row in range(len(inp.row_lower)):
        at, end = int(inp.starts[row]), int(inp.starts[row + 1])
        values = inp.value[at:end]
        scale = next((s for s in ROW_SCALES if _whole(values * s)), None)
        if scale is None:
            return None
        whole = np.round(values * scale).astype(np.int64)
        if len(whole) and int(np.abs(whole).max()) > _MAX_COEFFICIENT:
            return None
        lo, hi = float(inp.row_lower[row]) * scale, float(inp.row_upper[row]) * scale
        coefficients.append(whole.tolist())
        columns.append(inp.index[at:end].astype(np.int64).tolist())
        lower.append(math.ceil(lo - _WHOLE_TOL) if math.isfinite(lo) else None)
        upper.append(math.floor(hi + _WHOLE_TOL) if math.isfinite(hi) else None)
    cost = np.round(inp.cost * cost_scale).astype(np.int64).tolist()
    column_upper = np.floor(inp.upper + _WHOLE_TOL).astype(np.int64).tolist()
    return IntegralForm(coefficients, columns, lower, upper, cost, cost_scale, column_upper)


def run_exact(
    inp: HighsInput,
    form: IntegralForm,
    *,
    workers: int = 1,
    stop: Callable[[], bool] | None = None,
) -> ModelResult:
    """Solve the whole-number form of ``inp`` with CP-SAT (``workers`` threads, ``inp.seed``,
    ``inp.time_limit_s``, ``inp.hint``); the result in the model's own units."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.new_int_var(0, ub, "") for ub in form.column_upper]
    for coefs, cols, lo, hi in zip(
        form.coefficients, form.columns, form.lower, form.upper, strict=True
    ):
        expr = sum(c * x[j] for c, j in zip(coefs, cols, strict=True))
        if lo is not None and hi is not None:
            model.add_linear_constraint(expr, lo, hi)
        elif hi is not None:
            model.add(expr <= hi)
        elif lo is not None:
            model.add(expr >= lo)
    model.minimize(sum(c * v for c, v in zip(form.cost, x, strict=True) if c))
    if inp.hint is not None:
        for var, value in zip(x, inp.hint, strict=True):
            model.add_hint(var, round(float(value)))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, float(inp.time_limit_s))
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = int(inp.seed) % 2147483647
    with stop_watch(stop, solver.stop_search):
        status = solver.solve(model)
    bound = inp.trivial_bound
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE, cp_model.UNKNOWN):
        raw = float(solver.best_objective_bound) / form.cost_scale
        if math.isfinite(raw) and status != cp_model.INFEASIBLE:
            bound = max(bound, inp.constant + raw - 1e-9 * max(1.0, abs(raw)))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ModelResult("not_solved", None, None, bound)
    values = np.array([solver.value(v) for v in x], dtype=np.float64)
    objective = inp.constant + float(np.dot(inp.cost, values))
    if status == cp_model.OPTIMAL:
        return ModelResult("optimal", values, objective, min(bound, objective))
    return ModelResult("feasible", values, objective, bound)
