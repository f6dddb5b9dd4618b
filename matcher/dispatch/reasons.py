"""Why a demand was left out: a reason code and a sentence a dispatcher can act on.

The codes are checked in the order a dispatcher would: nobody has the skills (``no_skill``);
nobody with them lives close enough (``out_of_range``); nobody close enough is free in the
window (``no_availability``); then, among the members who could have served it, whether all the
tasks keeping them busy are more urgent (``priority``), they have no hours left (``capacity``),
or their time clashes with tasks already given (``conflict``).

Each reason comes with ``params``: the numbers and names its sentence is built from, keyed as
:data:`matcher.dispatch.answer.REASON_PARAMS` says, so that a reader can write the sentence in
its own language.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta

import numpy as np
from scipy.spatial import cKDTree

from matcher.dispatch.answer import PARAM_LIST_MOST, Unassigned
from matcher.dispatch.arrays import ProblemArrays
from matcher.dispatch.candidates import Candidates, covers
from matcher.dispatch.insertion import cheapest_insertion, penalty_of
from matcher.dispatch.plan import Plan
from matcher.geo import chord_for_km, haversine_km


def _fmt_h(hours: float) -> str:
    return f"{hours:g} h"


def _fmt_time(arr: ProblemArrays, seconds: int, tz: object) -> str:
    moment = (arr.origin + timedelta(seconds=int(seconds))).astimezone(tz)  # type: ignore[arg-type]
    return moment.strftime("%a %m-%d %H:%M")


def _skill_names(arr: ProblemArrays, demand: int) -> list[str]:
    return list(arr.problem.demands[demand].skills)


Params = dict[str, object]
Reason = tuple[str, str, Params]  # code, sentence, the sentence's numbers and names


def explain_unassigned(
    arr: ProblemArrays, cands: Candidates, plan: Plan, *, no_way: set[int] | None = None
) -> list[Unassigned]:
    """An :class:`Unassigned` for every demand the plan leaves out, in problem order.

    ``params`` carry the numbers and names each sentence is built from, keyed as
    :data:`matcher.dispatch.answer.REASON_PARAMS` says for the code. ``no_way``: demands known
    not to fit into the plan at all (:func:`matcher.dispatch.insertion.complete` finds them).
    """
    left = [d for d in range(arr.n_demands) if d not in plan.tasks]
    if not left:
        return []
    rows = np.searchsorted(cands.demand, np.arange(arr.n_demands + 1))
    trees = _Trees(arr, no_way)
    out = []
    for d in left:
        reason, detail, params = _explain(
            arr, cands, plan, d, int(rows[d]), int(rows[d + 1]), trees
        )
        out.append(Unassigned(arr.problem.demands[d].id, reason, detail, params))
    return out


def _iso(arr: ProblemArrays, d: int, seconds: int) -> str:
    tz = arr.problem.demands[d].window.start.tzinfo
    return (arr.origin + timedelta(seconds=int(seconds))).astimezone(tz).isoformat()


def _window_params(arr: ProblemArrays, d: int) -> Params:
    return {
        "window_start": _iso(arr, d, int(arr.d_window_start[d])),
        "window_end": _iso(arr, d, int(arr.d_window_end[d])),
    }


def _ids(arr: ProblemArrays, members: Iterable[int]) -> list[str]:
    return [arr.problem.members[int(m)].id for m in list(members)[:PARAM_LIST_MOST]]


def _explain(
    arr: ProblemArrays,
    cands: Candidates,
    plan: Plan,
    d: int,
    lo: int,
    hi: int,
    trees: _Trees | None = None,
) -> Reason:
    if hi > lo and _in_reach(arr, cands, d, lo, hi):
        return _explain_blocked(arr, cands, plan, d, lo, hi, trees)
    demand = arr.problem.demands[d]
    crew = demand.crew_size
    skills = _skill_names(arr, d)
    pool = np.arange(arr.n_members)
    if demand.team_only:
        pool = np.array(sorted({m for team in arr.team_members for m in team}), dtype=np.int64)
    no_skill: Params = {
        "skills": skills,
        "crew_size": crew,
        "pool": "standing_teams" if demand.team_only else "members",
        "holders_per_skill": _holders_per_skill(arr, pool, skills),
    }
    if demand.team_only and len(pool) == 0:
        return (
            "no_skill",
            "it must be served by a standing team, and the problem has none",
            no_skill,
        )
    if crew == 1:
        holders = pool[covers(arr.m_skills[pool], arr.d_skills[d])]
        if len(holders) == 0:
            return "no_skill", _no_skill_detail(arr, d, skills), no_skill
    else:
        held = np.bitwise_or.reduce(arr.m_skills[pool], axis=0) if len(pool) else None
        if held is None or not np.all((held & arr.d_skills[d]) == arr.d_skills[d]):
            return "no_skill", _no_skill_detail(arr, d, skills), no_skill
        holders = pool[np.any((arr.m_skills[pool] & arr.d_skills[d]) != 0, axis=1)]
        if len(holders) == 0:  # no skill asked for: every member of the pool holds "them"
            holders = pool

    km = haversine_km(arr.m_lat[holders], arr.m_lon[holders], arr.d_lat[d], arr.d_lon[d])
    near = km <= arr.m_max_km[holders] + 1e-9
    nearest = int(np.argmin(km))
    skill_txt = " and ".join(f"'{s}'" for s in skills)
    out_of_range: Params = {
        "skills": skills,
        "crew_size": crew,
        "holders": len(holders),
        "nearest_km": round(float(km[nearest]), 3),
        "limit_km": float(arr.m_max_km[holders[nearest]]),
    }
    if crew == 1 and not near.any():
        return (
            "out_of_range",
            f"{len(holders)} member{'s' if len(holders) != 1 else ''} "
            f"{'hold ' + skill_txt if skills else 'could do it'}; "
            f"the nearest is {km[nearest]:.1f} km away, limit "
            f"{arr.m_max_km[holders[nearest]]:g} km",
            {**out_of_range, "in_range": 0},
        )
    in_range = _members_in_range(arr, pool, d, trees) if crew > 1 else holders[near]
    if crew > 1:
        held = np.bitwise_or.reduce(arr.m_skills[in_range], axis=0) if len(in_range) else None
        if (
            len(in_range) < crew
            or held is None
            or not np.all((held & arr.d_skills[d]) == arr.d_skills[d])
        ):
            return (
                "out_of_range",
                f"a crew of {crew} covering {skill_txt or 'the task'} is needed; "
                f"{len(in_range)} member"
                f"{'s are' if len(in_range) != 1 else ' is'} within range and together they "
                "do not cover it"
                if len(in_range) >= crew
                else f"a crew of {crew} is needed and only {len(in_range)} member"
                f"{'s are' if len(in_range) != 1 else ' is'} within range",
                {**out_of_range, "in_range": len(in_range)},
            )

    window = _window(arr, d)
    if hi == lo:
        n_near = len(in_range)
        need = f"{_fmt_h(demand.duration_hours)} {window}"
        params = _no_availability_params(arr, d, n_near)
        if n_near == 1:
            return (
                "no_availability",
                f"1 member with the skills is within range, but not free for {need}",
                params,
            )
        return (
            "no_availability",
            f"{n_near} members with the skills are within range, but none is free for {need}",
            params,
        )
    return _explain_blocked(arr, cands, plan, d, lo, hi, trees)


def _no_availability_params(arr: ProblemArrays, d: int, in_range: int) -> Params:
    return {
        "crew_size": int(arr.d_crew[d]),
        "in_range": in_range,
        "duration_hours": float(arr.problem.demands[d].duration_hours),
        **_window_params(arr, d),
    }


def _holders_per_skill(arr: ProblemArrays, pool: np.ndarray, skills: list[str]) -> list[int]:
    counts = []
    for s in skills:
        bit = arr.skill_index[s]
        word, shift = bit // 64, np.uint64(bit % 64)
        counts.append(int(((arr.m_skills[pool, word] >> shift) & np.uint64(1)).sum()))
    return counts


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
) -> Reason:
    """A demand with candidates: too costly, outranked, every candidate full, or clashing.

    Whether the plan can take it is asked of :func:`matcher.dispatch.insertion.cheapest_insertion`
    (exact, crews included): if it can, the reason is ``priority`` on cost (the answer's plan is
    :func:`~matcher.dispatch.insertion.complete`, so serving costs at least leaving it out).
    """
    demand = arr.problem.demands[d]
    crew = demand.crew_size
    window = _window(arr, d)
    members = np.unique(cands.member[lo:hi])
    if crew > 1:
        from matcher.dispatch.crews import start_classes

        classes = start_classes(arr, cands, np.arange(lo, hi), d)
        if classes == []:
            return (
                "no_availability",
                f"{len(members)} members within range are free at some point {window}, "
                f"but never {crew} of them together with the skills covered",
                _no_availability_params(arr, d, len(members)),
            )
    known_none = trees is not None and d in trees.no_way
    used_now = None if trees is None else trees.used_s(plan)
    found = None if known_none else cheapest_insertion(plan, cands, lo, hi, d, used_now)
    if found is not None:
        penalty = penalty_of(arr, d)
        who = ", ".join(arr.problem.members[m].id for m in found.members)
        return (
            "priority",
            f"{'a crew of ' if crew > 1 else ''}{who} could serve it, but at a cost of "
            f"{found.cost:.1f} it costs more than leaving it out "
            f"({penalty:g} for priority {demand.priority}) under the current weights",
            {
                "basis": "cost",
                "priority": int(demand.priority),
                "penalty": penalty,
                "cost": round(float(found.cost), 6),
                "member_ids": _ids(arr, found.members),
            },
        )
    dur = int(arr.d_duration_s[d])
    tt = plan.timetable
    used = np.asarray(tt.used_s, dtype=np.int64) if trees is None else trees.used_s(plan)
    if tt.terms.empty:
        use = np.full(len(members), dur, dtype=np.int64)
    else:
        use = np.array([tt.use_s(int(m), d) for m in members], dtype=np.int64)
    room = used[members] + use <= arr.m_capacity_s[members]  # per member, in ``members`` order
    full = members[~room]
    prio = demand.priority
    lowest, highest = _task_priorities(arr, plan) if trees is None else trees.task_priorities(plan)
    least = float(lowest[members].min()) if len(members) else math.inf
    if math.isfinite(least) and least > prio:  # every task keeping them outranks it
        blockers = {b for m in members.tolist() for b in tt.demands[m]}
        by_urgency = sorted(blockers, key=lambda b: (-int(arr.d_priority[b]), b))
        top = int(highest[members].max())
        return (
            "priority",
            f"outranked: {_members(len(members))} who could serve it (priority {prio}) "
            f"{'are' if len(members) != 1 else 'is'} busy with more urgent demands "
            f"(priority up to {top})",
            {
                "basis": "outranked",
                "priority": int(prio),
                "members": len(members),
                "blocking_demands": [
                    arr.problem.demands[b].id for b in by_urgency[:PARAM_LIST_MOST]
                ],
                "blocking_priority_min": int(least),
                "blocking_priority_max": top,
            },
        )
    if len(full) == len(members):
        m = int(full[0])
        left_h = max(0.0, (arr.m_capacity_s[m] - tt.used_s[m]) / 3600.0)
        shown = full[:PARAM_LIST_MOST].tolist()
        return (
            "capacity",
            f"{'all ' if len(members) != 1 else 'the '}{_members(len(members))} who could "
            f"serve it {'are' if len(members) != 1 else 'is'} full: e.g. "
            f"{arr.problem.members[m].id} has {_fmt_h(round(left_h, 2))} left of "
            f"{_fmt_h(arr.problem.members[m].capacity_hours)}, the task needs "
            f"{_fmt_h(demand.duration_hours)}",
            {
                "members": len(members),
                "member_ids": _ids(arr, shown),
                "left_hours": [
                    round(max(0.0, (int(arr.m_capacity_s[x]) - tt.used_s[x]) / 3600.0), 4)
                    for x in shown
                ],
                "capacity_hours": [float(arr.problem.members[x].capacity_hours) for x in shown],
                "duration_hours": float(demand.duration_hours),
            },
        )
    with_room = members[room].tolist()
    m = with_room[0]
    busy = ", ".join(arr.problem.demands[b].id for b in tt.demands[m][:3]) or "pinned tasks"
    shown = with_room[:PARAM_LIST_MOST]
    blocking = list(dict.fromkeys(b for x in shown for b in tt.demands[x]))
    return (
        "conflict",
        f"{len(members)} member{'s' if len(members) != 1 else ''} could serve it {window}, "
        f"but their free time clashes with tasks already given "
        f"(e.g. {arr.problem.members[m].id} serves {busy})",
        {
            "members": len(members),
            "with_room": len(with_room),
            "member_ids": _ids(arr, shown),
            "blocking_demands": [arr.problem.demands[b].id for b in blocking[:PARAM_LIST_MOST]],
            **_window_params(arr, d),
        },
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


def _task_priorities(arr: ProblemArrays, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Per member, the lowest and highest priority of the plan's tasks for them (a member
    without tasks: +inf lowest, -inf highest)."""
    lowest = np.full(arr.n_members, np.inf)
    highest = np.full(arr.n_members, -np.inf)
    for d, task in plan.tasks.items():
        p = float(arr.d_priority[d])
        for m in task.members:
            lowest[m] = min(lowest[m], p)
            highest[m] = max(highest[m], p)
    return lowest, highest


class _Trees:
    """What every demand of one explanation looks up: KD-trees of the pools' homes, the plan's
    hours used and its tasks' priorities per member, each built once; and the demands known not
    to fit into the plan."""

    def __init__(self, arr: ProblemArrays, no_way: set[int] | None = None):
        self.arr = arr
        self.no_way = set() if no_way is None else no_way
        self.trees: dict[bytes, cKDTree] = {}
        self._used_s: np.ndarray | None = None
        self._priorities: tuple[np.ndarray, np.ndarray] | None = None

    def used_s(self, plan: Plan) -> np.ndarray:
        if self._used_s is None:
            self._used_s = np.asarray(plan.timetable.used_s, dtype=np.int64)
        return self._used_s

    def task_priorities(self, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
        if self._priorities is None:
            self._priorities = _task_priorities(self.arr, plan)
        return self._priorities

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
