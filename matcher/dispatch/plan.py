"""A plan under construction: who serves which demand when, with the engine's own objective."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.dispatch.arrays import ProblemArrays
from matcher.dispatch.pair_terms import PairTerms
from matcher.dispatch.timetable import Timetable
from matcher.geo import haversine_km


@dataclass(frozen=True)
class Task:
    members: tuple[int, ...]
    start: int  # seconds from the origin
    team: int | None = None


def fairness_hours(hours: float, capacity_hours: float) -> float:
    """The load-balance term of one member (README, "Fairness")."""
    if capacity_hours <= 0:
        return 0.0
    return max(0.0, hours - 0.5 * capacity_hours) + 2.0 * max(0.0, hours - 0.75 * capacity_hours)


def fairness_step(arr: ProblemArrays, member: int, used_s: int, use_s: int) -> float:
    """Increase of the member's fairness term when ``use_s`` more seconds are taken."""
    cap_h = arr.problem.members[member].capacity_hours
    before = fairness_hours(used_s / 3600.0, cap_h)
    return fairness_hours((used_s + use_s) / 3600.0, cap_h) - before


class Plan:
    """Tasks by demand index, kept consistent with a :class:`Timetable`.

    ``terms`` gives the cost and capacity use of (member, demand) pairs that have their own
    (:class:`~matcher.dispatch.pair_terms.PairTerms`; default: the dispatch rule); copies share it.
    """

    def __init__(self, arr: ProblemArrays, terms: PairTerms | None = None):
        self.arr = arr
        self.tasks: dict[int, Task] = {}
        self.timetable = Timetable(arr, terms)
        self.served = np.zeros(arr.n_demands, dtype=bool)  # demand index -> has a task

    @property
    def terms(self) -> PairTerms:
        return self.timetable.terms

    def copy(self) -> Plan:
        other = Plan.__new__(Plan)
        other.arr = self.arr
        other.tasks = dict(self.tasks)
        other.timetable = self.timetable.copy()
        other.served = self.served.copy()
        return other

    def assign(self, demand: int, task: Task) -> None:
        dur = int(self.arr.d_duration_s[demand])
        for m in task.members:
            self.timetable.add(m, demand, task.start, dur)
        self.tasks[demand] = task
        self.served[demand] = True

    def unassign(self, demand: int) -> None:
        task = self.tasks.pop(demand)
        self.served[demand] = False
        for m in task.members:
            self.timetable.remove(m, demand)

    def part_objective(self, demands: np.ndarray) -> float:
        """The objective restricted to some demands and the members serving them."""
        arr, w = self.arr, self.arr.problem.options.weights
        served = [int(d) for d in demands if int(d) in self.tasks]
        total = float(w.unassigned * arr.d_priority[demands].sum())
        total -= float(w.unassigned * arr.d_priority[served].sum()) if served else 0.0
        if not served:
            return total
        ms = np.array([m for d in served for m in self.tasks[d].members], dtype=np.int64)
        dd = np.array([d for d in served for _ in self.tasks[d].members], dtype=np.int64)
        km = haversine_km(arr.m_lat[ms], arr.m_lon[ms], arr.d_lat[dd], arr.d_lon[dd])
        total += float(self.terms.cost_array(arr, ms, dd, km).sum())
        if w.fairness:
            for m in np.unique(ms).tolist():
                hours = self.timetable.used_s[m] / 3600.0
                cap = arr.problem.members[m].capacity_hours
                total += w.fairness * fairness_hours(hours, cap)
        return total

    def task_terms(self, demands: list[int], tasks: list[Task | None]) -> float:
        """Objective terms of these demands with these tasks (``None``: left out), no fairness."""
        arr, w = self.arr, self.arr.problem.options.weights
        total = 0.0
        member: list[int] = []
        demand: list[int] = []
        for d, task in zip(demands, tasks, strict=True):
            if task is None:
                total += float(w.unassigned * arr.d_priority[d])
            else:
                member.extend(task.members)
                demand.extend([d] * len(task.members))
        if member:
            m = np.array(member, dtype=np.int64)
            dd = np.array(demand, dtype=np.int64)
            km = haversine_km(arr.m_lat[m], arr.m_lon[m], arr.d_lat[dd], arr.d_lon[dd])
            total += float(self.terms.cost_array(arr, m, dd, km).sum())
        return total

    def objective(self) -> float:
        """The objective of ``docs/contracts/dispatch.md`` with this project's fairness term."""
        arr, w = self.arr, self.arr.problem.options.weights
        served = np.zeros(arr.n_demands, dtype=bool)
        served[list(self.tasks)] = True
        total = float(w.unassigned * arr.d_priority[~served].sum())
        if self.tasks:
            demand = np.array([d for d, t in self.tasks.items() for _ in t.members], np.int64)
            member = np.array([m for t in self.tasks.values() for m in t.members], np.int64)
            km = haversine_km(
                arr.m_lat[member], arr.m_lon[member], arr.d_lat[demand], arr.d_lon[demand]
            )
            total += float(self.terms.cost_array(arr, member, demand, km).sum())
            if w.fairness:
                used_h = self.terms.use_h_array(arr, member, demand)
                hours = np.bincount(member, weights=used_h, minlength=arr.n_members)
                cap = arr.m_capacity_h
                fair = np.maximum(0.0, hours - 0.5 * cap) + 2.0 * np.maximum(
                    0.0, hours - 0.75 * cap
                )
                total += w.fairness * float(fair[cap > 0].sum())
        return total
