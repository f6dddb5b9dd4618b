"""Half years (``2026H1`` = January–June, Asia/Shanghai) and years."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from service.domain.availability import LOCAL
from service.domain.evaluations.scheme import (
    PERIOD,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    """A half year: ``2026H1`` is January–June 2026, ``2026H2`` July–December (local)."""

    year: int
    half: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026H1`` → ``Period(2026, 1)``; raises ``ValueError`` for anything else."""
        found = PERIOD.match(text)
        if found is None:
            raise ValueError("must be a half year such as 2026H1 or 2026H2")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def containing(cls, day: date) -> Period:
        return cls(day.year, 1 if day.month <= 6 else 2)

    def __str__(self) -> str:
        return f"{self.year}H{self.half}"

    @property
    def first_day(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def start(self) -> datetime:
        """Local midnight of the first day (inclusive)."""
        return datetime.combine(self.first_day, time(0), LOCAL)

    @property
    def end(self) -> datetime:
        """Local midnight after the last day (exclusive)."""
        return datetime.combine(self.last_day + timedelta(days=1), time(0), LOCAL)

    @property
    def label(self) -> str:
        return f"{self.year}年{'上' if self.half == 1 else '下'}半年"


def halves(year: int) -> tuple[Period, Period]:
    return Period(year, 1), Period(year, 2)
