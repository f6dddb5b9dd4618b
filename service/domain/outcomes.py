"""What became of a task: the one rule the five evaluations and dispatch's reliability share.

A task offered to a member ends in one of these outcomes:

=============  =================================================================================
``completed``  completed by its window's end
``late``       completed after its demand's window ended
``declined``   declined by the member (not the declines the menu flow writes when the demand
               itself is cancelled or another member of its crew declined: those are
               nobody's fault, :data:`NO_FAULT_DECLINES`)
``no_show``    still accepted although its demand's window ended
=============  =================================================================================

Anything else (offered, accepted with the window still open, declined by a cancellation) has no
outcome yet (``None``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

__all__ = [
    "CANCELLED_DECLINE",
    "CREW_REFORMED_DECLINE",
    "NO_FAULT_DECLINES",
    "Outcome",
    "task_outcome",
]

Outcome = Literal["completed", "late", "declined", "no_show"]

CANCELLED_DECLINE = "the demand was cancelled"
"""The decline reason the menu flow writes on the offered tasks of a cancelled demand."""
CREW_REFORMED_DECLINE = "another member of the crew declined"
"""The decline reason the menu flow writes on a crew's other tasks when one member declines:
the crew serves together, so the demand is dispatched again as a whole."""
NO_FAULT_DECLINES = (CANCELLED_DECLINE, CREW_REFORMED_DECLINE)
"""Declines that are nobody's fault (no outcome, and the member may be asked again)."""


def task_outcome(
    status: str,
    *,
    completed_at: datetime | None,
    decline_reason: str | None,
    window_end: datetime,
    now: datetime,
) -> Outcome | None:
    """The outcome of one task from its stored fields (``None``: none yet, or not the member's)."""
    if status == "completed":
        return "late" if completed_at is not None and completed_at > window_end else "completed"
    if status == "declined":
        return None if decline_reason in NO_FAULT_DECLINES else "declined"
    if status == "accepted" and window_end <= now:
        return "no_show"
    return None
