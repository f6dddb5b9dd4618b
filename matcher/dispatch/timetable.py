"""Members' timetables during construction and repair: busy blocks, hours used, earliest fit.

A start is legal for a member when the task lies inside one free interval, on the demand's time
grid, and keeps ``changeover_s`` clear of every other block of that member (rule 6).

Capacity (rule 7) counts what each task *uses* of the member's hours: the task's duration for
dispatch problems, or what a :class:`~matcher.dispatch.pair_terms.PairTerms` table gives the pair.
"""

from __future__ import annotations

from bisect import bisect_right

from matcher.dispatch.arrays import ProblemArrays
from matcher.dispatch.pair_terms import PairTerms


def snap_up(moment: int, window_start: int, step: int) -> int:
    """The first grid point at or after ``moment`` on the grid ``window_start + k * step``."""
    if moment <= window_start:
        return window_start
    return window_start + -((window_start - moment) // step) * step


class Timetable:
    """Busy blocks ``(start, end, demand)`` and capacity used, per member."""

    def __init__(self, arr: ProblemArrays, terms: PairTerms | None = None):
        self.arr = arr
        self.terms = PairTerms(arr.n_members) if terms is None else terms
        self.starts: list[list[int]] = [[] for _ in range(arr.n_members)]
        self.ends: list[list[int]] = [[] for _ in range(arr.n_members)]
        self.demands: list[list[int]] = [[] for _ in range(arr.n_members)]
        self.used_s = [0] * arr.n_members

    def copy(self) -> Timetable:
        other = Timetable.__new__(Timetable)
        other.arr = self.arr
        other.terms = self.terms
        other.starts = [list(x) for x in self.starts]
        other.ends = [list(x) for x in self.ends]
        other.demands = [list(x) for x in self.demands]
        other.used_s = list(self.used_s)
        return other

    def use_s(self, member: int, demand: int) -> int:
        """Seconds of capacity the member uses serving the demand."""
        return self.terms.use_s(member, demand, int(self.arr.d_duration_s[demand]))

    def has_room(self, member: int, use_s: int) -> bool:
        """Can the member take ``use_s`` more seconds of capacity?"""
        return self.used_s[member] + use_s <= int(self.arr.m_capacity_s[member])

    def earliest_fit(
        self, member: int, lo: int, hi: int, window_start: int, duration_s: int
    ) -> int | None:
        """Earliest grid start in ``[lo, hi]`` clear of the member's blocks, or ``None``."""
        co, step = self.arr.changeover_s, self.arr.step_s
        starts, ends = self.starts[member], self.ends[member]
        s = snap_up(lo, window_start, step)
        while s <= hi:
            i = bisect_right(ends, s - co)  # first block ending too late to be before s
            if i < len(starts) and starts[i] < s + duration_s + co:
                s = snap_up(ends[i] + co, window_start, step)
                continue
            return s
        return None

    def fits_at(self, member: int, start: int, duration_s: int) -> bool:
        co = self.arr.changeover_s
        starts, ends = self.starts[member], self.ends[member]
        i = bisect_right(ends, start - co)
        return not (i < len(starts) and starts[i] < start + duration_s + co)

    def add(self, member: int, demand: int, start: int, duration_s: int) -> None:
        i = bisect_right(self.starts[member], start)
        self.starts[member].insert(i, start)
        self.ends[member].insert(i, start + duration_s)
        self.demands[member].insert(i, demand)
        self.used_s[member] += self.terms.use_s(member, demand, duration_s)

    def remove(self, member: int, demand: int) -> None:
        i = self.demands[member].index(demand)
        duration_s = self.ends[member][i] - self.starts[member][i]
        self.used_s[member] -= self.terms.use_s(member, demand, duration_s)
        del self.starts[member][i], self.ends[member][i], self.demands[member][i]


__all__ = ["Timetable", "snap_up"]
