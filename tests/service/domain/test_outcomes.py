"""The one rule of what became of a task (used by the evaluations and by reliability)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.outcomes import CANCELLED_DECLINE, task_outcome

END = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
BEFORE, AFTER = END - timedelta(minutes=1), END + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("status", "completed_at", "reason", "now", "expected"),
    [
        ("completed", BEFORE, None, AFTER, "completed"),
        ("completed", END, None, AFTER, "completed"),
        ("completed", AFTER, None, AFTER, "late"),
        ("declined", None, "too far", BEFORE, "declined"),
        ("declined", None, CANCELLED_DECLINE, BEFORE, None),
        ("accepted", None, None, BEFORE, None),
        ("accepted", None, None, END, "no_show"),
        ("offered", None, None, AFTER, None),
    ],
)
def test_each_stored_state_has_its_outcome(
    status: str,
    completed_at: datetime | None,
    reason: str | None,
    now: datetime,
    expected: str | None,
) -> None:
    """Late is after the window's end; a cancellation's decline and an open task count nothing."""
    outcome = task_outcome(
        status, completed_at=completed_at, decline_reason=reason, window_end=END, now=now
    )
    assert outcome == expected
