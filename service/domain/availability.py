"""A member's weekly availability pattern, expanded into the intervals of a dispatch horizon.

The pattern is a list of slots ``{"weekday": "mon".."sun", "start": "HH:MM", "end": "HH:MM"}``
in local time (Asia/Shanghai, UTC+08:00 all year: China has kept no daylight saving time since
1991, so a fixed offset is exact). A slot lies within one day (``end`` after ``start``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMEZONE_NAME = "Asia/Shanghai"
LOCAL = timezone(timedelta(hours=8), TIMEZONE_NAME)
MAX_HORIZON = timedelta(days=92)
"""The longest horizon one request may expand (a quarter)."""


def expand_weekly(
    slots: Iterable[Mapping[str, Any]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The intervals ``[start, end)`` of the weekly pattern that fall inside the horizon.

    Args:
        slots: Weekly slots as stored (``weekday``, ``start`` and ``end`` as ``HH:MM``).
        start: The horizon's start (timezone-aware).
        end: The horizon's end (timezone-aware, after ``start``).

    Returns:
        Intervals in local time (+08:00), sorted, clipped to the horizon; empty ones dropped.
    """
    by_weekday: dict[int, list[tuple[time, time]]] = {}
    for slot in slots:
        day = WEEKDAYS.index(slot["weekday"])
        span = (time.fromisoformat(slot["start"]), time.fromisoformat(slot["end"]))
        by_weekday.setdefault(day, []).append(span)
    lo, hi = start.astimezone(LOCAL), end.astimezone(LOCAL)
    intervals: list[tuple[datetime, datetime]] = []
    day_: date = lo.date()
    while day_ <= hi.date():
        for slot_start, slot_end in sorted(by_weekday.get(day_.weekday(), ())):
            a = max(lo, datetime.combine(day_, slot_start, LOCAL))
            b = min(hi, datetime.combine(day_, slot_end, LOCAL))
            if a < b:
                intervals.append((a, b))
        day_ += timedelta(days=1)
    return intervals


def local_iso(moment: datetime) -> str:
    """``2026-12-05T09:00:00+08:00``: the contract's format, in local time."""
    return moment.astimezone(LOCAL).isoformat()


def in_supported_range(moment: datetime) -> bool:
    """True if the moment can be converted to UTC and local time (no year 1 or 9999 overflow)."""
    try:
        moment.astimezone(UTC)
        moment.astimezone(LOCAL)
    except OverflowError:
        return False
    return 2000 <= moment.astimezone(UTC).year <= 2200
