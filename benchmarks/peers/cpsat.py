"""The plain CP-SAT peer: one model over every feasible candidate triple, default parameters.

Candidates are the engine's own (:func:`matcher.dispatch.candidates.generate_candidates`: every
(member, demand, free interval) triple with a legal grid start), so every peer works on the same
pairs. The model is exact for the contract (with the README's fairness term):

- one-person demands: a bool per triple, at most one per demand; the start is
  ``first_start + step * k`` with an integer ``k``, as an optional interval of length
  ``duration + changeover`` present when the triple is chosen;
- crews: a bool ``y`` per demand and a shared start ``window_start + step * k``; exactly
  ``crew_size`` triples chosen when ``y``, each one forcing the start into its own start range,
  at most one triple per member, every required skill held by a chosen member; ``team_only``
  picks one standing team per demand and only its members;
- per member: no overlap of all its intervals (pinned tasks fixed among them) -- intervals are
  ``duration + changeover`` long, which is exactly rule 6 -- and hours within capacity in
  integer seconds;
- fairness: hours over a half and over three quarters of capacity, in units of 36 s.

Weights are scaled once, by :data:`SCALE`, and rounded down, so the scaled objective never
exceeds the true one; the fairness units round up by less than one unit each, which is taken off
the bound. The solver runs with default parameters and one worker, with no hint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from matcher.dispatch.arrays import ProblemArrays
from matcher.dispatch.candidates import Candidates
from matcher.dispatch.plan import Plan, Task
from matcher.dispatch.solve import fixed_part

SCALE = 100  # objective units per unit of the contract's objective
FAIR_UNIT_S = 36  # fairness counted in units of 36 s (0.01 h)


@dataclass
class CpsatModel:
    """The CP-SAT model plus what is needed to read a plan back from a solution."""

    model: cp_model.CpModel
    solo: list[tuple[int, cp_model.IntVar, int | cp_model.IntVar]]  # (row, chosen, k or 0)
    crews: list[
        tuple[
            int,
            cp_model.IntVar,
            cp_model.IntVar,
            list[tuple[int, cp_model.IntVar]],
            dict[int, cp_model.IntVar],
        ]
    ]  # (demand, y, k, [(row, x)], {team: z})
    constant: float  # contract objective outside the variables (penalties, pinned tasks)
    rounding_slack: float  # by how much the scaled objective can exceed the true one


def build_cpsat(arr: ProblemArrays, cands: Candidates, base: Plan) -> CpsatModel:
    """The plain model over every candidate triple, with ``base``'s (pinned) tasks fixed."""
    w = arr.problem.options.weights
    step, co = arr.step_s, arr.changeover_s
    problem = arr.problem
    model = cp_model.CpModel()
    n_members = arr.n_members
    intervals: list[list[cp_model.IntervalVar]] = [[] for _ in range(n_members)]
    load_vars: list[list[cp_model.IntVar]] = [[] for _ in range(n_members)]
    load_coefs: list[list[int]] = [[] for _ in range(n_members)]
    obj_vars: list[cp_model.IntVar] = []
    obj_coefs: list[int] = []

    pinned_s = np.array(base.timetable.used_s, dtype=np.int64)
    for m in range(n_members):
        for s, e in zip(base.timetable.starts[m], base.timetable.ends[m], strict=True):
            intervals[m].append(model.new_fixed_size_interval_var(s, e - s + co, f"pin[{m},{s}]"))

    open_demand = ~arr.d_pinned
    crew_demand = arr.d_crew > 1
    rows_of = np.searchsorted(cands.demand, np.arange(arr.n_demands + 1)).tolist()
    # plain Python lists: a numpy scalar per row would cost more than the model call itself
    member_l = cands.member.tolist()
    first_l = cands.first_start.tolist()
    last_l = cands.last_start.tolist()
    member_ids = [m.id for m in problem.members]
    demand_ids = [d.id for d in problem.demands]
    interval_l = cands.interval.tolist()
    solo_row = arr.d_crew[cands.demand] == 1
    penalty = np.where(solo_row, w.unassigned * arr.d_priority[cands.demand], 0.0)
    coef_l = np.floor(SCALE * (cands.cost - penalty)).astype(np.int64).tolist()
    dur_l = arr.d_duration_s.tolist()
    new_bool, new_int = model.new_bool_var, model.new_int_var
    new_interval = model.new_optional_fixed_size_interval_var

    def name(r: int) -> str:
        return f"x[{member_ids[member_l[r]]},{demand_ids[cands_demand[r]]},{interval_l[r]}]"

    cands_demand = cands.demand.tolist()
    solo: list[tuple[int, cp_model.IntVar, int | cp_model.IntVar]] = []
    for d in np.flatnonzero(open_demand & ~crew_demand).tolist():
        lo, hi = rows_of[d], rows_of[d + 1]
        if lo == hi:
            continue
        dur = dur_l[d]
        chosen = []
        for r in range(lo, hi):
            x = new_bool(name(r))
            first, last, m = first_l[r], last_l[r], member_l[r]
            k: int | cp_model.IntVar = 0
            if last > first:
                k = new_int(0, (last - first) // step, f"k{r}")
            intervals[m].append(new_interval(first + step * k, dur + co, x, f"i{r}"))
            load_vars[m].append(x)
            load_coefs[m].append(dur)
            obj_vars.append(x)
            obj_coefs.append(coef_l[r])
            chosen.append(x)
            solo.append((r, x, k))
        model.add_at_most_one(chosen)

    crews = []
    for d in np.flatnonzero(open_demand & crew_demand).tolist():
        lo, hi = rows_of[d], rows_of[d + 1]
        size = int(arr.d_crew[d])
        if hi - lo < size:
            continue
        dur = dur_l[d]
        ws = int(arr.d_window_start[d])
        k_max = (int(arr.d_window_end[d]) - dur - ws) // step
        did = demand_ids[d]
        y = new_bool(f"y[{did}]")
        k = new_int(0, max(0, k_max), f"k[{did}]")
        start = ws + step * k
        obj_vars.append(y)
        obj_coefs.append(math.floor(-SCALE * w.unassigned * float(arr.d_priority[d])))
        rows: list[tuple[int, cp_model.IntVar]] = []
        by_member: dict[int, list[cp_model.IntVar]] = {}
        for r in range(lo, hi):
            x = new_bool(name(r))
            m = member_l[r]
            model.add_linear_constraint(start, first_l[r], last_l[r]).only_enforce_if(x)
            intervals[m].append(new_interval(start, dur + co, x, f"i{r}"))
            load_vars[m].append(x)
            load_coefs[m].append(dur)
            obj_vars.append(x)
            obj_coefs.append(coef_l[r])
            rows.append((r, x))
            by_member.setdefault(m, []).append(x)
        xs = [x for _, x in rows]
        model.add(cp_model.LinearExpr.sum(xs) == size * y)
        for same in by_member.values():
            if len(same) > 1:
                model.add_at_most_one(same)
        for skill in problem.demands[d].skills:
            bit = arr.skill_index[skill]
            word, mask = bit // 64, np.uint64(1) << np.uint64(bit % 64)
            held = ((arr.m_skills[cands.member[lo:hi], word] & mask) != 0).tolist()
            holders = [x for (_, x), h in zip(rows, held, strict=True) if h]
            model.add(cp_model.LinearExpr.sum(holders) >= y)
        teams: dict[int, cp_model.IntVar] = {}
        if arr.d_team_only[d]:
            for t in sorted({t for m in by_member for t in arr.member_teams[m]}):
                teams[t] = model.new_bool_var(f"z[{did},{problem.teams[t].id}]")
            model.add(cp_model.LinearExpr.sum(list(teams.values())) == y)
            for r, x in rows:
                mine = [teams[t] for t in arr.member_teams[member_l[r]]]
                model.add(x <= cp_model.LinearExpr.sum(mine))
        crews.append((int(d), y, k, rows, teams))

    for m in range(n_members):
        if len(intervals[m]) > 1:
            model.add_no_overlap(intervals[m])
        if load_vars[m]:
            room = int(arr.m_capacity_s[m] - pinned_s[m])
            if sum(load_coefs[m]) > room:
                model.add(cp_model.LinearExpr.weighted_sum(load_vars[m], load_coefs[m]) <= room)

    # fairness: e >= (hours - share * capacity), counted in FAIR_UNIT_S units
    slack = 0.0
    if w.fairness > 0:
        for m in range(n_members):
            if not load_vars[m] or arr.m_capacity_h[m] <= 0:
                continue
            potential = sum(load_coefs[m]) + int(pinned_s[m])
            load = cp_model.LinearExpr.weighted_sum(load_vars[m], load_coefs[m])
            for share, weight in ((0.5, 1.0), (0.75, 2.0)):
                threshold = share * float(arr.m_capacity_h[m]) * 3600.0
                if potential <= threshold:
                    continue
                top = math.ceil((potential - threshold) / FAIR_UNIT_S)
                e = model.new_int_var(0, top, f"e{share}[{problem.members[m].id}]")
                model.add(FAIR_UNIT_S * e >= load + int(pinned_s[m]) - math.floor(threshold))
                coef = w.fairness * weight * FAIR_UNIT_S / 3600.0
                obj_vars.append(e)
                obj_coefs.append(math.floor(SCALE * coef + 1e-9))
                slack += (math.floor(SCALE * coef + 1e-9) / SCALE) * (
                    1.0 + (threshold - math.floor(threshold)) / FAIR_UNIT_S
                )
    model.minimize(cp_model.LinearExpr.weighted_sum(obj_vars, obj_coefs))

    open_ids = np.flatnonzero(open_demand)
    constant = float(w.unassigned * arr.d_priority[open_ids].sum()) + fixed_part(arr, cands, base)
    # pinned members without any candidate carry their fairness in fixed_part; the others'
    # pinned hours are in the model's fairness rows
    return CpsatModel(model, solo, crews, constant, slack)


@dataclass(frozen=True)
class CpsatResult:
    status: str
    plan: Plan | None
    bound: float | None  # a proven lower bound on the contract's objective, if any
    model_objective: float | None
    build_s: float
    solve_s: float
    variables: int
    constraints: int


def solve_cpsat(
    arr: ProblemArrays, cands: Candidates, base: Plan, *, time_limit_s: float, seed: int = 0
) -> CpsatResult:
    """Build and solve the plain model; decode the best solution into a plan (``base`` copied)."""
    t0 = time.perf_counter()
    built = build_cpsat(arr, cands, base)
    proto = built.model.proto
    build_s = time.perf_counter() - t0
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed)
    t1 = time.perf_counter()
    status = solver.solve(built.model)
    solve_s = time.perf_counter() - t1
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"plain CP-SAT model invalid: {built.model.validate()}")
    if status == cp_model.INFEASIBLE:
        raise RuntimeError("plain CP-SAT model infeasible, but serving nobody is always feasible")
    name = solver.status_name(status).lower()
    raw_bound = solver.best_objective_bound
    bound = None
    # without a solution the response's bound is a default value, not a proof
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and math.isfinite(raw_bound):
        bound = raw_bound / SCALE + built.constant - built.rounding_slack
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpsatResult(
            name, None, bound, None, build_s, solve_s, len(proto.variables), len(proto.constraints)
        )
    plan = base.copy()
    for r, x, k in built.solo:
        if solver.boolean_value(x):
            start = int(cands.first_start[r]) + arr.step_s * int(solver.value(k))
            plan.assign(int(cands.demand[r]), Task((int(cands.member[r]),), start))
    for d, y, k, rows, teams in built.crews:
        if not solver.boolean_value(y):
            continue
        members = tuple(int(cands.member[r]) for r, x in rows if solver.boolean_value(x))
        team = next((t for t, z in teams.items() if solver.boolean_value(z)), None)
        start = int(arr.d_window_start[d]) + arr.step_s * int(solver.value(k))
        plan.assign(d, Task(members, start, team))
    objective = solver.objective_value / SCALE + built.constant
    return CpsatResult(
        name,
        plan,
        bound,
        objective,
        build_s,
        solve_s,
        len(proto.variables),
        len(proto.constraints),
    )
