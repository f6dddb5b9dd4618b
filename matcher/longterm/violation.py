"""What the long-term matchings' verifiers report (shared by the four ``verify`` modules only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MatchViolation:
    """One break of a long-term matching contract (``docs/contracts/<kind>.md``).

    Attributes:
        rule: ``"1"``, ``"2"``, … for the contract's numbered rules, ``"answer"`` for shape and
            bookkeeping (status, stats, reasons).
        subject: What is concerned, e.g. ``"member m-00012"`` or ``"pair u-003/c-07"``.
        message: One sentence a dispatcher can read.
    """

    rule: str
    subject: str
    message: str
