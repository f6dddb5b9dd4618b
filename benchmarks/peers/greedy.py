"""The dispatcher's greedy: highest priority first, nearest free member with hours left.

What a community dispatcher does by hand, written from ``docs/contracts/dispatch.md`` alone (it
shares no code with :mod:`matcher.dispatch.greedy`):

- Pinned (already accepted) tasks are kept as given and block their members' time and hours.
- Open demands are taken by priority, highest first; among equals the earlier deadline
  (``window.end``), then the earlier window start, then problem order.
- A one-person demand goes to the *nearest* member who holds every required skill, lives within
  their own range, has the hours left, and can fit the task at some grid start inside one free
  interval without overlapping another task or breaking the changeover; the task is placed at
  that member's earliest such start.
- A crew goes to the *nearest covering set* free at the earliest common start: at each start
  (earliest first) the members in range who are free then, nearest first, are scanned; those
  who add a missing skill join first, then the nearest others fill the remaining seats. A
  ``team_only`` crew is picked inside one standing team (the team whose crew is nearest in
  total). The earliest start at which any crew can be formed wins.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy.spatial import cKDTree

from matcher.dispatch.problem import Demand, Problem

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class GreedyTask:
    """One task the greedy gives out: demand, crew (member ids), start, and team for team-only."""

    demand: str
    members: tuple[str, ...]
    start: datetime
    team: str | None = None


@dataclass
class _Member:
    """A member's state while dispatching: free intervals, busy blocks and hours used."""

    id: str
    skills: frozenset[str]
    range_km: float
    capacity_s: int
    free: list[tuple[int, int]]  # sorted availability intervals, seconds
    busy_starts: list[int] = field(default_factory=list)
    busy_ends: list[int] = field(default_factory=list)
    used_s: int = 0

    def book(self, start: int, duration_s: int) -> None:
        i = bisect_right(self.busy_starts, start)
        self.busy_starts.insert(i, start)
        self.busy_ends.insert(i, start + duration_s)
        self.used_s += duration_s


def _seconds(moment: datetime) -> int:
    return round(moment.timestamp())


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def _km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = math.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


class _Dispatcher:
    def __init__(self, problem: Problem):
        opts = problem.options
        self.problem = problem
        self.step_s = max(1, round(opts.time_step_minutes * 60))
        self.co_s = math.ceil(opts.changeover_minutes * 60 - 1e-9)
        self.members = [
            _Member(
                id=m.id,
                skills=frozenset(m.skills),
                range_km=opts.max_distance_km if m.max_distance_km is None else m.max_distance_km,
                capacity_s=math.floor(m.capacity_hours * 3600 + 1e-6),
                free=sorted((_seconds(iv.start), _seconds(iv.end)) for iv in m.availability),
            )
            for m in problem.members
        ]
        self.index = {m.id: i for i, m in enumerate(problem.members)}
        self.lat = np.array([m.location.lat for m in problem.members], dtype=np.float64)
        self.lon = np.array([m.location.lon for m in problem.members], dtype=np.float64)
        self.range_km = np.array([m.range_km for m in self.members], dtype=np.float64)
        names = sorted({s for m in problem.members for s in m.skills})
        self.skill_bit = {name: i for i, name in enumerate(names)}
        words = max(1, -(-len(names) // 64))
        self.skill_mask = np.zeros((len(problem.members), words), dtype=np.uint64)
        for i, m in enumerate(problem.members):
            for name in m.skills:
                b = self.skill_bit[name]
                self.skill_mask[i, b // 64] |= np.uint64(1) << np.uint64(b % 64)
        self.left_s = np.array([m.capacity_s for m in self.members], dtype=np.int64)
        self.last_km: dict[int, float] = {}  # km of the members the last _nearby call kept
        self.tree = cKDTree(_unit(self.lat, self.lon)) if problem.members else None
        reach = max((m.range_km for m in self.members), default=0.0)
        self.chord = 2.0 * math.sin(min(reach / EARTH_RADIUS_KM, math.pi) / 2.0) + 1e-12
        self.team_sets = [
            (t.id, frozenset(self.index[mid] for mid in t.members)) for t in problem.teams
        ]

    # --- time -------------------------------------------------------------------------------

    def _snap(self, moment: int, window_start: int) -> int:
        if moment <= window_start:
            return window_start
        return window_start + -((window_start - moment) // self.step_s) * self.step_s

    def _clash_end(self, m: _Member, start: int, end: int) -> int | None:
        """End of the latest busy block too close to ``[start, end)``, or ``None`` if clear."""
        co = self.co_s
        i = bisect_right(m.busy_ends, start - co)  # blocks before i end early enough
        j = bisect_left(m.busy_starts, end + co)  # blocks from j start late enough
        if i >= j:
            return None
        return max(m.busy_ends[i:j])

    def _free_at(self, m: _Member, start: int, duration_s: int) -> bool:
        end = start + duration_s
        k = bisect_right(m.free, (start, math.inf)) - 1
        if k < 0 or m.free[k][1] < end:
            return False
        return self._clash_end(m, start, end) is None

    def _earliest(self, m: _Member, ws: int, we: int, duration_s: int) -> int | None:
        """Earliest grid start in the window at which the member can do the task."""
        for a, b in m.free:
            if b <= ws or a >= we:
                continue
            limit = min(we, b)
            s = self._snap(max(ws, a), ws)
            while s + duration_s <= limit:
                clash = self._clash_end(m, s, s + duration_s)
                if clash is None:
                    return s
                s = self._snap(clash + self.co_s, ws)
        return None

    # --- places -----------------------------------------------------------------------------

    def _needs(self, d: Demand) -> np.ndarray | None:
        """The demand's skills as a mask row, or ``None`` if some skill is held by nobody."""
        need = np.zeros(self.skill_mask.shape[1], dtype=np.uint64)
        for name in d.skills:
            b = self.skill_bit.get(name)
            if b is None:
                return None
            need[b // 64] |= np.uint64(1) << np.uint64(b % 64)
        return need

    def _nearby(self, d: Demand, duration_s: int, need: np.ndarray | None = None) -> list[int]:
        """Members in their own range with the hours left (and the skills), nearest first."""
        if self.tree is None:
            return []
        q = _unit(np.array([d.location.lat]), np.array([d.location.lon]))[0]
        hits = np.asarray(self.tree.query_ball_point(q, self.chord), dtype=np.int64)
        if len(hits) == 0:
            self.last_km = {}
            return []
        km = _km(d.location.lat, d.location.lon, self.lat[hits], self.lon[hits])
        keep = (km <= self.range_km[hits] + 1e-9) & (self.left_s[hits] >= duration_s)
        if need is not None:
            keep &= np.all((self.skill_mask[hits] & need) == need, axis=1)
        hits, km = hits[keep], km[keep]
        order = np.lexsort((hits, km))  # nearest first; ties by problem order
        self.last_km = dict(zip(hits.tolist(), km.tolist(), strict=True))
        return hits[order].tolist()

    def _book(self, i: int, start: int, duration_s: int) -> None:
        self.members[i].book(start, duration_s)
        self.left_s[i] -= duration_s

    def pin(self, d: Demand) -> GreedyTask:
        assert d.pinned is not None
        start = _seconds(d.pinned.start)
        dur = round(d.duration_hours * 3600)
        for mid in d.pinned.members:
            self._book(self.index[mid], start, dur)
        team = None
        if d.team_only:
            crew = {self.index[mid] for mid in d.pinned.members}
            team = next((tid for tid, ms in self.team_sets if crew <= ms), None)
        return GreedyTask(d.id, tuple(d.pinned.members), d.pinned.start, team)

    def place_solo(self, d: Demand) -> GreedyTask | None:
        ws, we = _seconds(d.window.start), _seconds(d.window.end)
        dur = round(d.duration_hours * 3600)
        need = self._needs(d)
        if need is None:
            return None
        for i in self._nearby(d, dur, need):
            m = self.members[i]
            s = self._earliest(m, ws, we, dur)
            if s is not None:
                self._book(i, s, dur)
                return GreedyTask(d.id, (m.id,), d.window.start + timedelta(seconds=s - ws))
        return None

    def _crew_from(self, d: Demand, free: list[int]) -> list[int] | None:
        """The nearest covering crew among ``free`` (nearest first), or ``None``."""
        missing = set(d.skills)
        crew: list[int] = []
        for i in free:
            if not missing:
                break
            gain = missing & self.members[i].skills
            if gain:
                crew.append(i)
                missing -= gain
        if missing or len(crew) > d.crew_size:
            return None
        for i in free:
            if len(crew) == d.crew_size:
                break
            if i not in crew:
                crew.append(i)
        return crew if len(crew) == d.crew_size else None

    def place_crew(self, d: Demand) -> GreedyTask | None:
        ws, we = _seconds(d.window.start), _seconds(d.window.end)
        dur = round(d.duration_hours * 3600)
        near = self._nearby(d, dur)
        km_of = self.last_km
        if d.team_only:
            in_teams = set().union(*(ms for _, ms in self.team_sets)) if self.team_sets else set()
            near = [i for i in near if i in in_teams]
        if len(near) < d.crew_size:
            return None
        # The earliest common start is the window start, a free interval's start, or the end
        # of a busy block plus the changeover: anywhere else, one step earlier also works.
        points = {ws}
        for i in near:
            m = self.members[i]
            points.update(a for a, b in m.free if ws < a < we and b > a)
            points.update(e + self.co_s for e in m.busy_ends if ws < e + self.co_s < we)
        starts = sorted({self._snap(p, ws) for p in points})
        for s in starts:
            if s + dur > we:
                break
            free = [i for i in near if self._free_at(self.members[i], s, dur)]
            if len(free) < d.crew_size:
                continue
            best: tuple[float, list[int], str | None] | None = None
            if d.team_only:
                free_set = set(free)
                for tid, ms in self.team_sets:
                    pool = [i for i in free if i in ms]
                    if len(pool) < d.crew_size or not free_set & ms:
                        continue
                    crew = self._crew_from(d, pool)
                    if crew is not None:
                        total = sum(km_of[i] for i in crew)
                        if best is None or total < best[0]:
                            best = (total, crew, tid)
            else:
                crew = self._crew_from(d, free)
                if crew is not None:
                    best = (0.0, crew, None)
            if best is not None:
                for i in best[1]:
                    self._book(i, s, dur)
                start = d.window.start + timedelta(seconds=s - ws)
                return GreedyTask(d.id, tuple(self.members[i].id for i in best[1]), start, best[2])
        return None


def dispatch_greedy(problem: Problem) -> list[GreedyTask]:
    """The dispatcher's plan for a validated problem: pinned tasks, then the greedy's tasks."""
    g = _Dispatcher(problem)
    tasks = [g.pin(d) for d in problem.demands if d.pinned is not None]
    order = sorted(
        (j for j, d in enumerate(problem.demands) if d.pinned is None),
        key=lambda j: (
            -problem.demands[j].priority,
            problem.demands[j].window.end,
            problem.demands[j].window.start,
            j,
        ),
    )
    for j in order:
        d = problem.demands[j]
        task = g.place_crew(d) if d.crew_size > 1 else g.place_solo(d)
        if task is not None:
            tasks.append(task)
    return tasks
