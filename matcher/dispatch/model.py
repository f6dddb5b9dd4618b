"""The assignment model: a MIP over candidate triples, one function per rule family.

It is a *relaxation* of the dispatch problem, which is what makes its dual bound honest:

- every feasible plan maps to a feasible point of the model with the same objective (the plan's
  tasks are candidate triples; crews start in one of their maximal start classes);
- the time rule inside one free interval (rule 6) is relaxed to a knapsack: the tasks a member
  does inside one interval, with changeovers between them, must fit in the part of that interval
  they can use. Whether they can be *ordered* inside their windows is left to the repair step.

So the model's best bound is a lower bound on every plan; its solutions are repaired into plans.
Solved with HiGHS (its own binding, highspy); the matrix is filled in bulk from numpy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from heapq import heappop, heappush
from threading import Event, Lock, Thread

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from matcher.dispatch.arrays import FloatArray, IntArray, ProblemArrays
from matcher.dispatch.candidates import Candidates
from matcher.dispatch.crews import StartClass, start_classes
from matcher.dispatch.plan import Plan


@dataclass
class _Builder:
    """Columns and rows of the model in COO form."""

    obj: list[FloatArray] = field(default_factory=list)
    ub: list[FloatArray] = field(default_factory=list)
    integer: list[np.ndarray] = field(default_factory=list)
    n_vars: int = 0
    rows: list[IntArray] = field(default_factory=list)
    cols: list[IntArray] = field(default_factory=list)
    vals: list[FloatArray] = field(default_factory=list)
    lo: list[float] = field(default_factory=list)
    hi: list[float] = field(default_factory=list)

    def add_vars(self, obj: FloatArray, *, ub: float = 1.0, integer: bool = True) -> IntArray:
        n = len(obj)
        self.obj.append(np.asarray(obj, dtype=np.float64))
        self.ub.append(np.full(n, ub))
        self.integer.append(np.full(n, integer))
        idx = np.arange(self.n_vars, self.n_vars + n, dtype=np.int64)
        self.n_vars += n
        return idx

    def add_rows(
        self, row_of: ArrayLike, col: ArrayLike, val: ArrayLike, lo: ArrayLike, hi: ArrayLike
    ) -> None:
        """Add ``len(lo)`` rows; entry k sits in new row ``row_of[k]`` (0-based among them)."""
        base = len(self.lo)
        self.rows.append(np.asarray(row_of, dtype=np.int64) + base)
        self.cols.append(np.asarray(col, dtype=np.int64))
        self.vals.append(np.asarray(val, dtype=np.float64))
        self.lo.extend(np.asarray(lo, dtype=np.float64).tolist())
        self.hi.extend(np.asarray(hi, dtype=np.float64).tolist())

    def matrix(self) -> sp.csr_matrix:
        def cat(xs, t):
            return np.concatenate(xs) if xs else np.empty(0, t)

        return sp.csr_matrix(
            (cat(self.vals, np.float64), (cat(self.rows, np.int64), cat(self.cols, np.int64))),
            shape=(len(self.lo), self.n_vars),
        )


@dataclass(frozen=True)
class CrewColumns:
    """Model columns of one crew demand: a class choice ``y`` and member columns ``x``."""

    demand: int
    classes: tuple[StartClass, ...]
    y: IntArray  # one column per class
    x_rows: IntArray  # candidate row of each member column
    x_class: IntArray  # class position of each member column
    x: IntArray  # the member columns
    z: tuple[IntArray, ...] = ()  # team-only: team choice columns per class


@dataclass
class DispatchModel:
    """A built model plus the maps from its columns back to candidates."""

    builder: _Builder
    solo_rows: IntArray  # candidate row of each solo column
    solo_x: IntArray
    crews: list[CrewColumns]
    fairness: list[tuple[float, IntArray, IntArray]]  # (share of capacity, members, columns)
    constant: float  # objective part outside the columns
    trivial_bound: float  # a bound that holds without solving anything

    @property
    def n_vars(self) -> int:
        return self.builder.n_vars

    @property
    def n_rows(self) -> int:
        return len(self.builder.lo)


# --- columns -------------------------------------------------------------------------------


def add_solo_columns(
    b: _Builder, arr: ProblemArrays, cands: Candidates, rows: IntArray
) -> IntArray:
    """One 0/1 column per candidate triple of a one-person demand; serving saves the penalty."""
    w_u = arr.problem.options.weights.unassigned
    d = cands.demand[rows]
    return b.add_vars(cands.cost[rows] - w_u * arr.d_priority[d])


def add_crew_columns(
    b: _Builder, arr: ProblemArrays, cands: Candidates, rows: IntArray, demand: int
) -> CrewColumns | None:
    """Columns of one crew demand; ``None`` if no class can field a crew."""
    classes = start_classes(arr, cands, rows, demand)
    if classes is None:  # too many classes: one relaxed class over every free member
        first, last = cands.first_start[rows], cands.last_start[rows]
        classes = [
            StartClass(demand, int(first.min()), int(last.max()), tuple(int(r) for r in rows))
        ]
    if not classes:
        return None
    w_u = arr.problem.options.weights.unassigned
    y = b.add_vars(np.full(len(classes), -w_u * float(arr.d_priority[demand])))
    x_rows = np.array([r for c in classes for r in c.rows], dtype=np.int64)
    x_class = np.repeat(np.arange(len(classes)), [len(c.rows) for c in classes])
    x = b.add_vars(cands.cost[x_rows])
    return CrewColumns(demand, tuple(classes), y, x_rows, x_class, x)


# --- rules ---------------------------------------------------------------------------------


def add_serve_once(b: _Builder, cands: Candidates, solo_rows: IntArray, solo_x: IntArray) -> None:
    """Rule 1 for one-person demands: at most one candidate is chosen."""
    if len(solo_rows) == 0:
        return
    _, row_of = np.unique(cands.demand[solo_rows], return_inverse=True)
    n = int(row_of.max()) + 1
    b.add_rows(row_of, solo_x, np.ones(len(solo_x)), np.full(n, -np.inf), np.ones(n))


def add_crew_rules(
    b: _Builder, arr: ProblemArrays, cands: Candidates, crew: CrewColumns
) -> CrewColumns:
    """Rules 1, 4 and 8 for a crew: one class, ``crew_size`` members, skills covered, one team."""
    k = float(arr.d_crew[crew.demand])
    n_cls = len(crew.classes)
    # one class at most
    b.add_rows(np.zeros(n_cls, np.int64), crew.y, np.ones(n_cls), [-np.inf], [1.0])
    # exactly k members in the chosen class; a member at most once in its class
    row_of = np.concatenate((crew.x_class, np.arange(n_cls)))
    cols = np.concatenate((crew.x, crew.y))
    vals = np.concatenate((np.ones(len(crew.x)), np.full(n_cls, -k)))
    b.add_rows(row_of, cols, vals, np.zeros(n_cls), np.zeros(n_cls))
    members = cands.member[crew.x_rows]
    for c in range(n_cls):
        in_c = np.flatnonzero(crew.x_class == c)
        uniq, counts = np.unique(members[in_c], return_counts=True)
        for m in uniq[counts > 1]:  # only in the relaxed class: one interval per member
            sel = in_c[members[in_c] == m]
            cols = np.concatenate((crew.x[sel], crew.y[c : c + 1]))
            vals = np.concatenate((np.ones(len(sel)), [-1.0]))
            b.add_rows(np.zeros(len(cols), np.int64), cols, vals, [-np.inf], [0.0])
    # every required skill held by someone in the crew
    required = np.flatnonzero(_bits(arr.d_skills[crew.demand]))
    held = _bits_rows(arr.m_skills[members])
    for s in required:
        for c in range(n_cls):
            sel = np.flatnonzero((crew.x_class == c) & held[:, s])
            cols = np.concatenate((crew.x[sel], crew.y[c : c + 1]))
            vals = np.concatenate((np.ones(len(sel)), [-1.0]))
            b.add_rows(np.zeros(len(cols), np.int64), cols, vals, [0.0], [np.inf])
    if arr.d_team_only[crew.demand]:
        return replace(crew, z=add_team_rule(b, arr, crew, members))
    return crew


def add_team_rule(
    b: _Builder, arr: ProblemArrays, crew: CrewColumns, members: IntArray
) -> tuple[IntArray, ...]:
    """Rule 8: a team-only crew comes from one standing team (a team choice per class)."""
    teams_of: dict[int, list[int]] = {}
    for t, team in enumerate(arr.team_members):
        for m in team:
            teams_of.setdefault(m, []).append(t)
    n_teams = len(arr.team_members)
    made = []
    for c in range(len(crew.classes)):
        z = b.add_vars(np.zeros(n_teams))
        made.append(z)
        cols = np.concatenate((z, crew.y[c : c + 1]))
        vals = np.concatenate((np.ones(n_teams), [-1.0]))
        b.add_rows(np.zeros(len(cols), np.int64), cols, vals, [0.0], [0.0])
        for j in np.flatnonzero(crew.x_class == c):
            ts = teams_of.get(int(members[j]), [])
            cols = np.concatenate(([crew.x[j]], z[ts]))
            vals = np.concatenate(([1.0], -np.ones(len(ts))))
            b.add_rows(np.zeros(len(cols), np.int64), cols, vals, [-np.inf], [0.0])
    return tuple(made)


@dataclass(frozen=True)
class MemberColumns:
    """Every column that puts a member on a task, with what it occupies."""

    col: IntArray
    member: IntArray
    interval: IntArray  # availability row the task would lie in
    duration_s: IntArray
    use_s: IntArray  # capacity the column takes (the duration for dispatch problems)
    earliest_s: IntArray  # earliest start the column allows
    latest_end_s: IntArray  # latest end the column allows


def add_capacity(b: _Builder, arr: ProblemArrays, mc: MemberColumns, pinned_s: IntArray) -> None:
    """Rule 7: a member's hours stay within capacity (rows only where they could bind)."""
    hours = mc.use_s / 3600.0
    cap_h = (arr.m_capacity_s - pinned_s) / 3600.0
    potential = np.bincount(mc.member, weights=hours, minlength=arr.n_members)
    binding = np.flatnonzero(potential > cap_h + 1e-9)
    _rows_for(b, mc.member, mc.col, hours, binding, cap_h[binding])


def interval_room_h(
    arr: ProblemArrays,
    member: IntArray,
    interval: IntArray,
    earliest_s: IntArray,
    latest_end_s: IntArray,
    pinned: Plan | None,
    n_bins: int,
) -> FloatArray:
    """Hours of (task + changeover) each bin can hold: its usable span plus one changeover.

    The span runs from the earliest start to the latest end any column or pinned task can have
    in the bin; pinned tasks (and their changeovers) are taken off it.
    """
    co = arr.changeover_s
    span_lo = np.full(n_bins, np.iinfo(np.int64).max, dtype=np.int64)
    span_hi = np.full(n_bins, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(span_lo, interval, earliest_s)
    np.maximum.at(span_hi, interval, latest_end_s)
    used = np.zeros(n_bins, dtype=np.int64)
    if pinned is not None and pinned.tasks:
        tt = pinned.timetable
        for m in np.unique(member):
            for s, e in zip(tt.starts[m], tt.ends[m], strict=True):
                row = _interval_of(arr, int(m), s)
                span_lo[row] = min(span_lo[row], s)
                span_hi[row] = max(span_hi[row], e)
                used[row] += e - s + co
    return np.where(span_hi > span_lo, (span_hi - span_lo + co - used) / 3600.0, 0.0)


def add_interval_time(
    b: _Builder, arr: ProblemArrays, mc: MemberColumns, pinned: Plan | None, n_bins: int
) -> None:
    """Rule 6, relaxed: tasks plus changeovers inside one free interval fit in its usable span.

    ``mc.interval`` indexes ``n_bins`` bins: the members' free intervals (with the ``pinned``
    tasks inside them), or, for a neighbourhood model, free gaps with nothing fixed inside.
    """
    rhs = interval_room_h(
        arr, mc.member, mc.interval, mc.earliest_s, mc.latest_end_s, pinned, n_bins
    )
    size_h = (mc.duration_s + arr.changeover_s) / 3600.0
    potential = np.bincount(mc.interval, weights=size_h, minlength=n_bins)
    binding = np.flatnonzero((potential > rhs + 1e-9) & (potential > 0))
    _rows_for(b, mc.interval, mc.col, size_h, binding, rhs[binding])


def compulsory_cliques(
    member: IntArray,
    earliest_s: IntArray,
    latest_end_s: IntArray,
    duration_s: IntArray,
    changeover_s: int,
) -> list[IntArray]:
    """Sets of positions of which one member can take at most one (rule 6).

    A task whose latest start comes before its earliest end occupies ``[latest start, earliest
    end)`` whatever its start; with the changeover added, tasks whose such parts overlap cannot
    both be one member's. The maximal sets overlapping at one moment are found per member by a
    sweep over the parts (interval graphs: a clique closes just before its first part ends).
    """
    latest_start = latest_end_s - duration_s
    earliest_end = earliest_s + duration_s
    idx = np.flatnonzero(latest_start < earliest_end)
    if len(idx) == 0:
        return []
    lo = latest_start[idx]
    hi = earliest_end[idx] + changeover_s
    order = np.lexsort((lo, member[idx]))
    idx, lo, hi, who = idx[order], lo[order], hi[order], member[idx][order]
    out: list[IntArray] = []
    active: list[tuple[int, int]] = []  # heap of (end, position)
    for k in range(len(idx)):
        if k and who[k] != who[k - 1]:
            active = []
        while active and active[0][0] <= lo[k]:
            heappop(active)
        heappush(active, (int(hi[k]), int(idx[k])))
        closes = k + 1 == len(idx) or who[k + 1] != who[k] or lo[k + 1] >= active[0][0]
        if closes and len(active) >= 2:
            out.append(np.array(sorted(p for _, p in active), dtype=np.int64))
    return out


def add_compulsory_cliques(b: _Builder, arr: ProblemArrays, mc: MemberColumns) -> None:
    """Rule 6: columns whose compulsory parts clash cannot all be one member's (at most one)."""
    cliques = compulsory_cliques(
        mc.member, mc.earliest_s, mc.latest_end_s, mc.duration_s, arr.changeover_s
    )
    if not cliques:
        return
    row_of = np.repeat(np.arange(len(cliques)), [len(c) for c in cliques])
    cols = mc.col[np.concatenate(cliques)]
    n = len(cliques)
    b.add_rows(row_of, cols, np.ones(len(cols)), np.full(n, -np.inf), np.ones(n))


def add_fairness(
    b: _Builder, arr: ProblemArrays, mc: MemberColumns, pinned_s: IntArray
) -> list[tuple[float, IntArray, IntArray]]:
    """The load-balance term: hours over half and over three quarters of capacity (README)."""
    w_f = arr.problem.options.weights.fairness
    if w_f <= 0:
        return []
    hours = mc.use_s / 3600.0
    cap_h = arr.m_capacity_s / 3600.0
    pin_h = pinned_s / 3600.0
    potential = np.bincount(mc.member, weights=hours, minlength=arr.n_members) + pin_h
    members = np.unique(mc.member)
    members = members[potential[members] > 0.5 * cap_h[members] + 1e-9]
    made = []
    for share, weight in ((0.5, 1.0), (0.75, 2.0)):
        over = members[potential[members] > share * cap_h[members] + 1e-9]
        if len(over) == 0:
            continue
        e = b.add_vars(np.full(len(over), w_f * weight), ub=np.inf, integer=False)
        pos = np.full(arr.n_members, -1, dtype=np.int64)
        pos[over] = np.arange(len(over))
        sel = pos[mc.member] >= 0
        row_of = np.concatenate((pos[mc.member[sel]], np.arange(len(over))))
        cols = np.concatenate((mc.col[sel], e))
        vals = np.concatenate((hours[sel], -np.ones(len(over))))
        rhs = share * cap_h[over] - pin_h[over]
        b.add_rows(row_of, cols, vals, np.full(len(over), -np.inf), rhs)
        made.append((share, over, e))
    return made


def _interval_of(arr: ProblemArrays, member: int, start: int) -> int:
    lo, hi = int(arr.av_ptr[member]), int(arr.av_ptr[member + 1])
    return lo + int(np.searchsorted(arr.av_start[lo:hi], start, side="right")) - 1


def _rows_for(
    b: _Builder, key: IntArray, cols: IntArray, vals: FloatArray, keys: IntArray, rhs: FloatArray
) -> None:
    """One ``<=`` row per key in ``keys`` summing ``vals`` of the columns with that key."""
    if len(keys) == 0:
        return
    pos = np.full(int(key.max()) + 1 if len(key) else 0, -1, dtype=np.int64)
    pos[keys] = np.arange(len(keys))
    sel = pos[key] >= 0
    b.add_rows(pos[key[sel]], cols[sel], vals[sel], np.full(len(keys), -np.inf), rhs)


def _bits(mask: np.ndarray) -> np.ndarray:
    shifts = np.arange(64, dtype=np.uint64)
    return ((mask[:, None] >> shifts[None, :]) & np.uint64(1)).astype(bool).reshape(-1)


def _bits_rows(masks: np.ndarray) -> np.ndarray:
    shifts = np.arange(64, dtype=np.uint64)
    cols = ((masks[:, :, None] >> shifts[None, None, :]) & np.uint64(1)).astype(bool)
    return cols.reshape(len(masks), -1)


# --- assembly ------------------------------------------------------------------------------


def build_model(
    arr: ProblemArrays,
    cands: Candidates,
    demands: IntArray,
    pinned: Plan,
    *,
    gap_bins: int | None = None,
) -> DispatchModel:
    """The model for a set of open demands, the tasks of ``pinned`` held fixed.

    By default ``cands.interval`` are the members' free intervals and ``pinned`` tasks sit
    inside them. With ``gap_bins``, ``cands.interval`` index that many free *gaps* between the
    fixed tasks (a neighbourhood model); only hours and loads of the fixed tasks then count.
    """
    b = _Builder()
    in_batch = np.zeros(arr.n_demands, dtype=bool)
    in_batch[demands] = True
    rows = np.flatnonzero(in_batch[cands.demand])
    solo_rows = rows[arr.d_crew[cands.demand[rows]] == 1]
    solo_x = add_solo_columns(b, arr, cands, solo_rows)
    add_serve_once(b, cands, solo_rows, solo_x)

    crews: list[CrewColumns] = []
    crew_rows = rows[arr.d_crew[cands.demand[rows]] > 1]
    if len(crew_rows):
        bounds = np.searchsorted(cands.demand[crew_rows], np.unique(cands.demand[crew_rows]))
        for part in np.split(crew_rows, bounds[1:]):
            crew = add_crew_columns(b, arr, cands, part, int(cands.demand[part[0]]))
            if crew is not None:
                crews.append(add_crew_rules(b, arr, cands, crew))

    mc = _member_columns(arr, cands, solo_rows, solo_x, crews)
    pinned_s = np.array(pinned.timetable.used_s, dtype=np.int64)
    add_capacity(b, arr, mc, pinned_s)
    if gap_bins is None:
        add_interval_time(b, arr, mc, pinned, len(arr.av_start))
    else:
        add_interval_time(b, arr, mc, None, gap_bins)
    add_compulsory_cliques(b, arr, mc)
    fairness = add_fairness(b, arr, mc, pinned_s)

    w_u = arr.problem.options.weights.unassigned
    constant = float(w_u * arr.d_priority[demands].sum())
    trivial = trivial_bound(arr, cands, demands)
    return DispatchModel(b, solo_rows, solo_x, crews, fairness, constant, trivial)


def _member_columns(
    arr: ProblemArrays,
    cands: Candidates,
    solo_rows: IntArray,
    solo_x: IntArray,
    crews: list[CrewColumns],
) -> MemberColumns:
    rows = [solo_rows] + [c.x_rows for c in crews]
    cols = [solo_x] + [c.x for c in crews]
    earliest = [cands.first_start[solo_rows]]
    latest = [cands.last_start[solo_rows]]
    for c in crews:
        # the row's own range, not the class's: classes dropped as dominated share the bins but
        # not the start range, so a class range would make the interval spans too tight
        earliest.append(cands.first_start[c.x_rows])
        latest.append(cands.last_start[c.x_rows])
    r = np.concatenate(rows)
    dur = arr.d_duration_s[cands.demand[r]]
    return MemberColumns(
        col=np.concatenate(cols),
        member=cands.member[r],
        interval=cands.interval[r],
        duration_s=dur,
        use_s=cands.use_s[r],
        earliest_s=np.concatenate(earliest),
        latest_end_s=np.concatenate(latest) + dur,
    )


def trivial_bound(arr: ProblemArrays, cands: Candidates, demands: IntArray) -> float:
    """Each demand at its cheapest conceivable outcome, ignoring every shared resource.

    A one-person demand costs at least ``min(penalty, cheapest candidate)``; a crew at least
    ``min(penalty, crew_size × cheapest candidate)``; fairness is never negative.
    """
    penalty = arr.problem.options.weights.unassigned * arr.d_priority.astype(np.float64)
    cheapest = np.full(arr.n_demands, np.inf)
    np.minimum.at(cheapest, cands.demand, cands.cost)
    per_demand = np.minimum(penalty, arr.d_crew * cheapest)
    return float(per_demand[demands].sum())


@dataclass(frozen=True)
class ModelResult:
    status: str  # "optimal", "feasible", "not_solved", or "relaxed" (an LP point in values)
    values: FloatArray | None
    objective: float | None  # including the model's constant
    bound: float  # including the model's constant; always a valid lower bound
    row_duals: FloatArray | None = None  # of a solved LP relaxation


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner on stdout when constructed; keep stdout clean for CLI output."""
    with _STDOUT_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)


_STDOUT_LOCK = Lock()


@contextmanager
def stop_watch(stop: Callable[[], bool] | None, cancel: Callable[[], object]) -> Iterator[None]:
    """While the block runs (a solver's blocking call), poll ``stop`` every 50 ms on a daemon
    thread and call ``cancel`` once when it returns ``True``."""
    done = Event()
    if stop is not None:

        def watch() -> None:
            while not done.wait(0.05):
                if stop():
                    cancel()
                    return

        Thread(target=watch, daemon=True).start()
    try:
        yield
    finally:
        done.set()


@dataclass(frozen=True)
class HighsInput:
    """A model as plain arrays for HiGHS, plus the search settings: what a solver process needs.

    It pickles small and holds no engine objects, so :func:`run_highs` can run in another
    process or on another machine (an executor's worker) and give the same answer there.
    """

    cost: FloatArray
    upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    starts: np.ndarray  # the row-wise matrix, CSR arrays
    index: np.ndarray
    value: FloatArray
    integer: np.ndarray  # bool per column
    constant: float
    trivial_bound: float
    time_limit_s: float
    seed: int = 0
    hint: FloatArray | None = None
    relax: bool = False
    log: bool = False
    max_nodes: int | None = None  # branch-and-bound nodes: a deterministic limit of work

    @property
    def n_vars(self) -> int:
        return len(self.cost)


def highs_input(
    model: DispatchModel,
    *,
    time_limit_s: float,
    seed: int = 0,
    hint: FloatArray | None = None,
    relax: bool = False,
    log: bool = False,
    max_nodes: int | None = None,
) -> HighsInput:
    """The :class:`HighsInput` of a built model (see :func:`solve_model` for the arguments;
    ``max_nodes`` stops the branch and bound after that many nodes, whatever the clock says)."""
    b = model.builder
    matrix = b.matrix()
    return HighsInput(
        cost=np.concatenate(b.obj) if b.obj else np.empty(0),
        upper=np.concatenate(b.ub) if b.ub else np.empty(0),
        row_lower=np.array(b.lo, dtype=np.float64),
        row_upper=np.array(b.hi, dtype=np.float64),
        starts=matrix.indptr.astype(np.int32),
        index=matrix.indices.astype(np.int32),
        value=matrix.data,
        integer=(np.concatenate(b.integer) if b.integer else np.empty(0, bool)) & (not relax),
        constant=model.constant,
        trivial_bound=model.trivial_bound,
        time_limit_s=float(time_limit_s),
        seed=int(seed),
        hint=None if hint is None or relax else np.asarray(hint, dtype=np.float64),
        relax=relax,
        log=log,
        max_nodes=max_nodes,
    )


def solve_model(
    model: DispatchModel,
    *,
    time_limit_s: float,
    seed: int = 0,
    hint: FloatArray | None = None,
    stop: Callable[[], bool] | None = None,
    relax: bool = False,
    log: bool = False,
) -> ModelResult:
    """Solve with HiGHS (single thread, fixed seed); the bound is never below the trivial one.

    OR-Tools 9.15 bundles HiGHS, but its wrappers (``pywraplp``, ``model_builder``) return
    neither the incumbent nor the dual bound when the time limit stops the search, and crash on
    solution hints, so the model goes to HiGHS through its own binding, ``highspy``.
    """
    if model.builder.n_vars == 0:
        return ModelResult("optimal", np.empty(0), model.constant, model.constant)
    inp = highs_input(model, time_limit_s=time_limit_s, seed=seed, hint=hint, relax=relax, log=log)
    return run_highs(inp, stop=stop)


def run_highs(inp: HighsInput, stop: Callable[[], bool] | None = None) -> ModelResult:
    """Solve a :class:`HighsInput` with HiGHS on one thread.

    Module-level and deterministic for a given input (fixed seed, one thread) unless the time
    limit or ``stop`` ends the search: an executor's worker can run it (the neighbourhood search
    fans its sub-models out this way, :func:`matcher.dispatch.lns.improve`).
    """
    import highspy

    if inp.n_vars == 0:
        return ModelResult("optimal", np.empty(0), inp.constant, inp.constant)
    lp = highspy.HighsLp()
    lp.num_col_ = inp.n_vars
    lp.num_row_ = len(inp.row_lower)
    lp.col_cost_ = inp.cost
    lp.col_lower_ = np.zeros(inp.n_vars)
    lp.col_upper_ = inp.upper
    lp.row_lower_ = inp.row_lower
    lp.row_upper_ = inp.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = inp.n_vars
    lp.a_matrix_.num_row_ = len(inp.row_lower)
    lp.a_matrix_.start_ = inp.starts
    lp.a_matrix_.index_ = inp.index
    lp.a_matrix_.value_ = inp.value
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
        for flag in inp.integer
    ]
    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(inp.log))
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", int(inp.seed) % 2147483647)
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.setOptionValue("time_limit", max(0.05, float(inp.time_limit_s)))
    if inp.max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(inp.max_nodes))
    h.passModel(lp)
    if inp.hint is not None and not inp.relax:
        solution = highspy.HighsSolution()
        solution.col_value = inp.hint.tolist()
        solution.value_valid = True
        h.setSolution(solution)
    with stop_watch(stop, h.cancelSolve):
        h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    bound = inp.trivial_bound
    optimal = status == highspy.HighsModelStatus.kOptimal
    if inp.relax:  # only a solved LP gives a bound
        raw_bound = float(info.objective_function_value) if optimal else -np.inf
    else:
        raw_bound = float(info.mip_dual_bound)
    if np.isfinite(raw_bound):
        # HiGHS works to feasibility tolerances; keep the bound on the safe side
        safe = raw_bound - 1e-8 * max(1.0, abs(raw_bound))
        bound = max(bound, inp.constant + safe)
    if inp.relax:  # the LP's point and duals, when it was solved
        if not optimal:
            return ModelResult("not_solved", None, None, bound)
        sol = h.getSolution()
        return ModelResult(
            "relaxed",
            np.asarray(sol.col_value, dtype=np.float64),
            None,
            bound,
            np.asarray(sol.row_dual, dtype=np.float64),
        )
    if int(info.primal_solution_status) != 2:  # no integer solution
        return ModelResult("not_solved", None, None, bound)
    values = np.asarray(h.getSolution().col_value, dtype=np.float64)
    objective = inp.constant + float(info.objective_function_value)
    name = "optimal" if status == highspy.HighsModelStatus.kOptimal else "feasible"
    return ModelResult(name, values, objective, bound)


def hint_from_plan(
    model: DispatchModel, arr: ProblemArrays, cands: Candidates, plan: Plan
) -> FloatArray:
    """The model point of a rule-keeping plan (to warm-start the search from the greedy plan)."""
    x = np.zeros(model.n_vars)
    for j, r in zip(model.solo_x, model.solo_rows, strict=True):
        task = plan.tasks.get(int(cands.demand[r]))
        if (
            task is not None
            and task.members == (int(cands.member[r]),)
            and cands.first_start[r] <= task.start <= cands.last_start[r]
        ):
            x[j] = 1.0
    for crew in model.crews:
        task = plan.tasks.get(crew.demand)
        if task is None:
            continue
        members = cands.member[crew.x_rows]
        needed = set()
        for m in task.members:
            here = np.flatnonzero(
                (members == m)
                & (cands.first_start[crew.x_rows] <= task.start)
                & (cands.last_start[crew.x_rows] >= task.start)
            )
            if len(here) == 0:
                break
            needed.add(int(crew.x_rows[here[0]]))
        else:
            for c, cls in enumerate(crew.classes):
                if needed <= set(cls.rows):
                    x[crew.y[c]] = 1.0
                    for j in np.flatnonzero(crew.x_class == c):
                        if int(crew.x_rows[j]) in needed:
                            x[crew.x[j]] = 1.0
                    if crew.z and task.team is not None:
                        x[crew.z[c][task.team]] = 1.0
                    break
    hours = np.array(plan.timetable.used_s, dtype=np.float64) / 3600.0
    cap_h = arr.m_capacity_s / 3600.0
    for share, members, cols in model.fairness:
        x[cols] = np.maximum(0.0, hours[members] - share * cap_h[members])
    return x
