"""The plain MIP peer and the LP relaxation bound: the engine's model, solved once, whole.

Both build :func:`matcher.dispatch.model.build_model` over every open demand and every candidate
triple
(no components, no batches, no Lagrangian bound, no neighbourhood search) and hand it to HiGHS
through :func:`matcher.dispatch.model.solve_model`:

- ``mip``: the integer model with the time limit. The model relaxes rule 6 inside a free
  interval to a knapsack, so its solution is turned into a plan by the engine's
  :func:`matcher.dispatch.repair.repair` (tasks that cannot be ordered are dropped; there is *no*
  greedy
  fill afterwards). Its bound is HiGHS's dual bound.
- ``lp``: the LP relaxation of the same model (``relax=True``); only a bound, no plan.

Both bounds are completed with the objective part no choice changes
(:func:`matcher.dispatch.solve.fixed_part`: pinned tasks; the penalty of demands without candidates
is in
the model's constant), so they are lower bounds on the whole problem's objective.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from matcher.dispatch.arrays import ProblemArrays
from matcher.dispatch.candidates import Candidates
from matcher.dispatch.model import build_model, solve_model
from matcher.dispatch.plan import Plan
from matcher.dispatch.repair import repair
from matcher.dispatch.solve import fixed_part


@dataclass(frozen=True)
class MipResult:
    status: str
    plan: Plan | None
    bound: float
    model_objective: float | None
    build_s: float
    solve_s: float
    variables: int
    constraints: int
    dropped: int = 0  # tasks of the model's solution that repair could not place


def solve_mip(
    arr: ProblemArrays,
    cands: Candidates,
    base: Plan,
    *,
    time_limit_s: float,
    seed: int = 0,
    relax: bool = False,
) -> MipResult:
    """Build the whole model and solve it (``relax``: its LP relaxation) within the limit."""
    t0 = time.perf_counter()
    demands = np.flatnonzero(~arr.d_pinned)
    model = build_model(arr, cands, demands, base)
    fixed = fixed_part(arr, cands, base)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = solve_model(model, time_limit_s=time_limit_s, seed=seed, relax=relax)
    solve_s = time.perf_counter() - t1
    bound = fixed + result.bound
    if relax:
        solved = result.row_duals is not None or model.n_vars == 0
        status = "lp_optimal" if solved else "lp_not_solved"
        return MipResult(status, None, bound, None, build_s, solve_s, model.n_vars, model.n_rows)
    if result.values is None:
        return MipResult(
            "no_solution", None, bound, None, build_s, solve_s, model.n_vars, model.n_rows
        )
    plan = repair(arr, cands, model, result.values, base)
    chosen = int(np.count_nonzero(result.values[model.solo_x] > 0.5)) + sum(
        int(result.values[c.y].max() > 0.5) for c in model.crews if len(c.y)
    )
    dropped = chosen - (len(plan.tasks) - len(base.tasks))
    objective = None if result.objective is None else fixed + result.objective
    return MipResult(
        result.status,
        plan,
        bound,
        objective,
        build_s,
        solve_s,
        model.n_vars,
        model.n_rows,
        dropped,
    )
