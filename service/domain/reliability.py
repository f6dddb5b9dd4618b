"""Closing the loop: a member's reliability, shrunk toward the community's mean, for dispatch.

A member's record in a community over the last :data:`WINDOW_DAYS` days counts *trials* (tasks
that came to an outcome: completed, declined by the member, or no-show — accepted while the
window ended) and *successes* (completed on time count 1, completed late ½, declines and
no-shows 0). With so few events per member, a raw rate would swing from one event to the
next, so it is shrunk toward the community's pooled rate ``p̄`` (beta-binomial, prior weight
``α`` = :data:`ALPHA` trials)::

    keeping   = (successes + α · p̄) / (trials + α)
    rating    = (Σ (rating − 1) / 4 + β · r̄) / (ratings + β)        (0..1; r̄: the community's)
    reliability = (1 − RATING_SHARE) · keeping + RATING_SHARE · rating

A member with no record gets the community's mean; a community with no record at all gives
everybody 1.0 (the contract's default). The value is the dispatch model's
``members[].reliability``, whose term ``w.reliability · priority · (1 − reliability)`` keeps
members who often fail to show away from urgent demands (``docs/contracts/dispatch.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.base import utcnow
from service.db.flow import Demand, Task
from service.db.registration import Member
from service.domain.outcomes import task_outcome

WINDOW_DAYS = 365
ALPHA = 4.0
"""The community mean counts as this many trials (a member's first few events barely move it)."""
BETA = 4.0
RATING_SHARE = 0.2


@dataclass(frozen=True)
class Record:
    """A member's outcomes: trials, successes (late completions count half), ratings."""

    trials: float = 0.0
    successes: float = 0.0
    ratings: int = 0
    rating_sum: float = 0.0
    """Σ (rating − 1) / 4, each rating mapped to 0..1."""


def shrunk_reliability(
    records: Mapping[str, Record],
    members: Iterable[str],
    *,
    alpha: float = ALPHA,
    beta: float = BETA,
    rating_share: float = RATING_SHARE,
) -> dict[str, float]:
    """Each member's reliability (0..1) from the records (pure; see the module docstring)."""
    trials = sum(r.trials for r in records.values())
    pooled = sum(r.successes for r in records.values()) / trials if trials else 1.0
    rated = sum(r.ratings for r in records.values())
    pooled_rating = sum(r.rating_sum for r in records.values()) / rated if rated else 1.0
    result = {}
    for member in members:
        record = records.get(member, Record())
        keeping = (record.successes + alpha * pooled) / (record.trials + alpha)
        rating = (record.rating_sum + beta * pooled_rating) / (record.ratings + beta)
        value = (1 - rating_share) * keeping + rating_share * rating
        result[member] = round(min(1.0, max(0.0, value)), 6)
    return result


def member_records(
    session: Session, community_id: str, *, now: datetime | None = None
) -> dict[str, Record]:
    """The outcomes of the community's tasks whose start lies in the last :data:`WINDOW_DAYS`."""
    now = now or utcnow()
    rows = session.execute(
        select(
            Task.member_id,
            Task.status,
            Task.rating,
            Task.completed_at,
            Task.decline_reason,
            Demand.window_end,
        )
        .join(Demand, Demand.id == Task.demand_id)
        .where(
            Demand.community_id == community_id,
            Task.start >= now - timedelta(days=WINDOW_DAYS),
        )
    )
    counts: dict[str, list[float]] = {}
    for member, status, rating, completed_at, reason, window_end in rows:
        each = counts.setdefault(member, [0.0, 0.0, 0, 0.0])
        outcome = task_outcome(
            status,
            completed_at=completed_at,
            decline_reason=reason,
            window_end=window_end,
            now=now,
        )
        if outcome in ("completed", "late"):
            each[0] += 1
            each[1] += 0.5 if outcome == "late" else 1.0
            if rating is not None:
                each[2] += 1
                each[3] += (rating - 1) / 4
        elif outcome in ("declined", "no_show"):
            each[0] += 1  # a trial without success
    return {m: Record(t, s, int(k), r) for m, (t, s, k, r) in counts.items()}


def member_reliability(
    session: Session, community_id: str, *, now: datetime | None = None
) -> dict[str, float]:
    """The reliability of the community's active members (and anyone with a record there),
    for the dispatch model's ``members[].reliability``."""
    records = member_records(session, community_id, now=now)
    members = set(
        session.scalars(
            select(Member.id).where(Member.community_id == community_id, Member.status == "active")
        )
    )
    return shrunk_reliability(records, sorted(members | set(records)))
