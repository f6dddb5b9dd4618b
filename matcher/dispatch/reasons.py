"""Why a demand was left out: a reason code and a sentence a dispatcher can act on.

The codes are checked in the order a dispatcher would: nobody has the skills (``no_skill``);
nobody with them lives close enough (``out_of_range``); nobody close enough is free in the
window (``no_availability``); then, among the members who could have served it, whether all the
tasks keeping them busy are more urgent (``priority``), they have no hours left (``capacity``),
or their time clashes with tasks already given (``conflict``).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from scipy.spatial import cKDTree

from matcher.dispatch.answer import Unassigned
from matcher.dispatch.arrays import ProblemArrays
from matcher.dispatch.candidates import Candidates, covers
from matcher.dispatch.plan import Plan
from matcher.geo import chord_for_km, haversine_km


def _fmt_h(hours: float) -> str:
    return f"{hours:g} h"


def _fmt_time(arr: ProblemArrays, seconds: int, tz: object) -> str:
    moment = (arr.origin + timedelta(seconds=int(seconds))).astimezone(tz)  # type: ignore[arg-type]
    return moment.strftime("%a %m-%d %H:%M")


def _skill_names(arr: ProblemArrays, demand: int) -> list[str]:
    return list(arr.problem.demands[demand].skills)


def explain_unassigned(arr: ProblemArrays, cands: Candidates, plan: Plan) -> list[Unassigned]:
    """An :class:`Unassigned` for every demand the plan leaves out, in problem order."""
    left = [d for d in range(arr.n_demands) if d not in plan.tasks]
    if not left:
        return []
    rows = np.searchsorted(cands.demand, np.arange(arr.n_demands + 1))
    trees = _Trees(arr)
    out = []
    for d in left:
        reason, detail = _explain(arr, cands, plan, d, int(rows[d]), int(rows[d + 1]), trees)
        out.append(Unassigned(arr.problem.demands[d].id, reason, detail))
    return out


def _explain(
    arr: ProblemArrays,
    cands: Candidates,
    plan: Plan,
    d: int,
    lo: int,
    hi: int,
    trees: _Trees | None = None,
) -> tuple[str, str]:
    if hi > lo and _in_reach(arr, cands, d, lo, hi):
        return _explain_blocked(arr, cands, plan, d, lo, hi, trees)
    demand = arr.problem.demands[d]
    crew = demand.crew_size
    pool = np.arange(arr.n_members)
    if demand.team_only:
        pool = np.array(sorted({m for team in arr.team_members for m in team}), dtype=np.int64)
        if len(pool) == 0:
            return "no_skill", "it must be served by a standing team, and the problem has none"
    skills = _skill_names(arr, d)
    if crew == 1:
        holders = pool[covers(arr.m_skills[pool], arr.d_skills[d])]
        if len(holders) == 0:
            return "no_skill", _no_skill_detail(arr, d, skills)
    else:
        held = np.bitwise_or.reduce(arr.m_skills[pool], axis=0) if len(pool) else None
        if held is None or not np.all((held & arr.d_skills[d]) == arr.d_skills[d]):
            return "no_skill", _no_skill_detail(arr, d, skills)
        holders = pool[np.any((arr.m_skills[pool] & arr.d_skills[d]) != 0, axis=1)]

    km = haversine_km(arr.m_lat[holders], arr.m_lon[holders], arr.d_lat[d], arr.d_lon[d])
    near = km <= arr.m_max_km[holders] + 1e-9
    skill_txt = " and ".join(f"'{s}'" for s in skills)
    if crew == 1 and not near.any():
        i = int(np.argmin(km))
        return "out_of_range", (
            f"{len(holders)} member{'s' if len(holders) != 1 else ''} "
            f"{'hold ' + skill_txt if skills else 'could do it'}; "
            f"the nearest is {km[i]:.1f} km away, limit {arr.m_max_km[holders[i]]:g} km"
        )
    if crew > 1:
        in_range = _members_in_range(arr, pool, d, trees)
        held = np.bitwise_or.reduce(arr.m_skills[in_range], axis=0) if len(in_range) else None
        if (
            len(in_range) < crew
            or held is None
            or not np.all((held & arr.d_skills[d]) == arr.d_skills[d])
        ):
            return "out_of_range", (
                f"a crew of {crew} covering {skill_txt or 'the task'} is needed; "
                f"{len(in_range)} member"
                f"{'s are' if len(in_range) != 1 else ' is'} within range and together they "
                "do not cover it"
                if len(in_range) >= crew
                else f"a crew of {crew} is needed and only {len(in_range)} member"
                f"{'s are' if len(in_range) != 1 else ' is'} within range"
            )

    window = _window(arr, d)
    if hi == lo:
        n_near = int(near.sum()) if crew == 1 else len(_members_in_range(arr, pool, d, trees))
        need = f"{_fmt_h(demand.duration_hours)} {window}"
        if n_near == 1:
            return "no_availability", (
                f"1 member with the skills is within range, but not free for {need}"
            )
        return "no_availability", (
            f"{n_near} members with the skills are within range, but none is free for {need}"
        )
    return _explain_blocked(arr, cands, plan, d, lo, hi, trees)


def _in_reach(arr: ProblemArrays, cands: Candidates, d: int, lo: int, hi: int) -> bool:
    """Do the demand's candidates alone show that someone holds the skills within range?

    A one-person demand's candidates hold its skills and live in range; a crew's are in range,
    and when there are enough of them to cover its skills the checks of skills and range pass
    (they look at every member). Then only what keeps the candidates busy is left to explain.
    """
    if arr.d_crew[d] == 1:
        return True
    members = np.unique(cands.member[lo:hi])
    if len(members) < arr.d_crew[d]:
        return False
    held = np.bitwise_or.reduce(arr.m_skills[members], axis=0)
    return bool(np.all((held & arr.d_skills[d]) == arr.d_skills[d]))


def _window(arr: ProblemArrays, d: int) -> str:
    tz = arr.problem.demands[d].window.start.tzinfo
    return (
        f"between {_fmt_time(arr, arr.d_window_start[d], tz)} and "
        f"{_fmt_time(arr, arr.d_window_end[d], tz)}"
    )


def _explain_blocked(
    arr: ProblemArrays,
    cands: Candidates,
    plan: Plan,
    d: int,
    lo: int,
    hi: int,
    trees: _Trees | None = None,
) -> tuple[str, str]:
    """A demand with candidates: too costly, outranked, every candidate full, or clashing."""
    demand = arr.problem.demands[d]
    crew = demand.crew_size
    window = _window(arr, d)
    members = np.unique(cands.member[lo:hi])
    if crew > 1:
        from matcher.dispatch.crews import start_classes

        classes = start_classes(arr, cands, np.arange(lo, hi), d)
        if classes == []:
            return "no_availability", (
                f"{len(members)} members within range are free at some point {window}, "
                f"but never {crew} of them together with the skills covered"
            )
    dur = int(arr.d_duration_s[d])
    tt = plan.timetable
    used = np.asarray(tt.used_s, dtype=np.int64) if trees is None else trees.used_s(plan)
    if tt.terms.empty:
        use = np.full(len(members), dur, dtype=np.int64)
    else:
        use = np.array([tt.use_s(int(m), d) for m in members], dtype=np.int64)
    room = used[members] + use <= arr.m_capacity_s[members]  # per member, in ``members`` order
    if crew == 1:
        ws = int(arr.d_window_start[d])
        row_room = room[np.searchsorted(members, cands.member[lo:hi])]
        for r in (lo + np.flatnonzero(row_room)).tolist():
            m = int(cands.member[r])
            if (
                tt.earliest_fit(m, int(cands.first_start[r]), int(cands.last_start[r]), ws, dur)
                is not None
            ):
                penalty = arr.problem.options.weights.unassigned * demand.priority
                return "priority", (
                    f"{arr.problem.members[m].id} could serve it, but at a cost of "
                    f"{float(cands.cost[r]):.1f} it costs more than leaving it out "
                    f"({penalty:g} for priority {demand.priority}) under the current weights"
                )
    full = members[~room]
    blockers = [b for m in members.tolist() for b in tt.demands[m]]
    prio = demand.priority
    outranked = arr.d_priority[np.asarray(blockers, dtype=np.int64)] if blockers else None
    if outranked is not None and int(outranked.min()) > prio:
        top = int(outranked.max())
        return "priority", (
            f"outranked: {_members(len(members))} who could serve it (priority {prio}) "
            f"{'are' if len(members) != 1 else 'is'} busy with more urgent demands "
            f"(priority up to {top})"
        )
    if len(full) == len(members):
        m = int(full[0])
        left_h = max(0.0, (arr.m_capacity_s[m] - tt.used_s[m]) / 3600.0)
        return "capacity", (
            f"{'all ' if len(members) != 1 else 'the '}{_members(len(members))} who could "
            f"serve it {'are' if len(members) != 1 else 'is'} full: e.g. "
            f"{arr.problem.members[m].id} has {_fmt_h(round(left_h, 2))} left of "
            f"{_fmt_h(arr.problem.members[m].capacity_hours)}, the task needs "
            f"{_fmt_h(demand.duration_hours)}"
        )
    m = int(members[room][0])
    busy = ", ".join(arr.problem.demands[b].id for b in tt.demands[m][:3]) or "pinned tasks"
    return "conflict", (
        f"{len(members)} member{'s' if len(members) != 1 else ''} could serve it {window}, "
        f"but their free time clashes with tasks already given "
        f"(e.g. {arr.problem.members[m].id} serves {busy})"
    )


def _members(n: int) -> str:
    return f"{n} member{'s' if n != 1 else ''}"


def _no_skill_detail(arr: ProblemArrays, d: int, skills: list[str]) -> str:
    if arr.n_members == 0:
        return "the problem has no registered members"
    counts = []
    for s in skills:
        bit = arr.skill_index[s]
        word, shift = bit // 64, np.uint64(bit % 64)
        n = int(((arr.m_skills[:, word] >> shift) & np.uint64(1)).sum())
        counts.append((s, n))
    missing = [s for s, n in counts if n == 0]
    if missing:
        names = ", ".join(f"'{s}'" for s in missing)
        return f"no registered member holds {names}"
    if arr.problem.demands[d].team_only:
        return "no standing team has members who together hold " + ", ".join(
            f"'{s}'" for s in skills
        )
    held = "; ".join(f"{n} hold '{s}'" for s, n in counts)
    return f"no single member holds all of {', '.join(repr(s) for s in skills)} ({held})"


class _Trees:
    """What every demand of one explanation looks up: KD-trees of the pools' homes and the
    plan's hours used, each built once."""

    def __init__(self, arr: ProblemArrays):
        self.arr = arr
        self.trees: dict[bytes, cKDTree] = {}
        self._used_s: np.ndarray | None = None

    def used_s(self, plan: Plan) -> np.ndarray:
        if self._used_s is None:
            self._used_s = np.asarray(plan.timetable.used_s, dtype=np.int64)
        return self._used_s

    def of(self, pool: np.ndarray) -> cKDTree:
        key = pool.tobytes()
        if key not in self.trees:
            self.trees[key] = cKDTree(self.arr.m_xyz[pool])
        return self.trees[key]


def _members_in_range(
    arr: ProblemArrays, pool: np.ndarray, d: int, trees: _Trees | None = None
) -> np.ndarray:
    if len(pool) == 0:
        return pool
    tree = cKDTree(arr.m_xyz[pool]) if trees is None else trees.of(pool)
    near = np.array(
        tree.query_ball_point(arr.d_xyz[d], chord_for_km(float(arr.m_max_km[pool].max()) + 1e-6)),
        dtype=np.int64,
    )
    if len(near) == 0:
        return near
    cand = pool[near]
    km = haversine_km(arr.m_lat[cand], arr.m_lon[cand], arr.d_lat[d], arr.d_lon[d])
    return cand[km <= arr.m_max_km[cand] + 1e-9]
