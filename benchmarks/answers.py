"""Turning a peer's tasks into the contract's :class:`~matcher.dispatch.answer.Answer`, and a bound.

Every peer hands back tasks (who serves which demand when). They become an answer through the
engine's own bookkeeping (:func:`matcher.dispatch.solve.make_answer`: distances, loads, reasons for
the
demands left out), and the objective is then recomputed from the contract by
:func:`matcher.dispatch.verify.recompute_objective`, so no peer is scored by its own arithmetic.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np

from matcher.dispatch.answer import Answer
from matcher.dispatch.arrays import ProblemArrays
from matcher.dispatch.candidates import Candidates, pair_cost
from matcher.dispatch.plan import Plan, Task
from matcher.dispatch.solve import OPTIMAL_GAP, make_answer
from matcher.dispatch.verify import recompute_objective
from matcher.geo import haversine_km


def plan_from_tasks(
    arr: ProblemArrays, tasks: list[tuple[str, tuple[str, ...], datetime, str | None]]
) -> Plan:
    """A :class:`~matcher.dispatch.plan.Plan` holding ``(demand, members, start, team)`` tasks by
    id."""
    plan = Plan(arr)
    team_index = {t.id: i for i, t in enumerate(arr.problem.teams)}
    for demand, members, start, team in tasks:
        plan.assign(
            arr.demand_index[demand],
            Task(
                tuple(arr.member_index[m] for m in members),
                arr.seconds(start),
                None if team is None else team_index[team],
            ),
        )
    return plan


def answer_from_plan(arr: ProblemArrays, cands: Candidates, plan: Plan, bound: float) -> Answer:
    """The contract's answer for ``plan``; objective recomputed, bound capped at the objective.

    ``bound`` must be a proven lower bound on every plan. If it exceeds the plan's objective by
    more than rounding noise, it is kept as given, so that :func:`matcher.dispatch.verify.verify`
    reports
    the contradiction instead of hiding it.
    """
    draft = make_answer(arr, cands, plan, plan.objective(), bound, 0.0)
    objective = recompute_objective(arr.problem, draft)
    if bound > objective and bound - objective <= 1e-6 * max(1.0, abs(objective)):
        bound = objective
    gap = (objective - bound) / max(abs(objective), 1.0)
    status = "optimal" if gap <= OPTIMAL_GAP else "feasible"
    return replace(draft, objective=objective, bound=bound, gap=gap, status=status)


def trivial_bound(arr: ProblemArrays, cands: Candidates) -> float:
    """A lower bound that needs no solver: every demand at its cheapest, nothing shared.

    Pinned tasks cost what they cost; an open demand costs at least the smaller of its penalty
    and its cheapest crew (the ``crew_size`` cheapest distinct members among its candidates,
    skills ignored); the fairness term is never negative, so it is dropped.
    """
    w = arr.problem.options.weights
    penalty = w.unassigned * arr.d_priority.astype(np.float64)
    best = np.where(arr.d_pinned, 0.0, penalty)
    for d, demand in enumerate(arr.problem.demands):
        if demand.pinned is not None:
            members = np.array([arr.member_index[m] for m in demand.pinned.members], np.int64)
            km = haversine_km(arr.m_lat[members], arr.m_lon[members], arr.d_lat[d], arr.d_lon[d])
            best[d] = float(pair_cost(arr, members, np.full(len(members), d), km).sum())
    if len(cands):
        rows = np.searchsorted(cands.demand, np.arange(arr.n_demands + 1))
        has = np.flatnonzero(np.diff(rows) > 0)
        solo = has[arr.d_crew[has] == 1]
        if len(solo):  # rows are sorted by (demand, cost): the first is the cheapest
            best[solo] = np.minimum(best[solo], cands.cost[rows[solo]])
        for d in has[arr.d_crew[has] > 1]:
            lo, hi = int(rows[d]), int(rows[d + 1])
            cheapest: dict[int, float] = {}
            for m, c in zip(cands.member[lo:hi], cands.cost[lo:hi], strict=True):
                cheapest.setdefault(int(m), float(c))
            k = int(arr.d_crew[d])
            if len(cheapest) >= k:
                best[d] = min(best[d], sum(sorted(cheapest.values())[:k]))
    return float(best.sum())
