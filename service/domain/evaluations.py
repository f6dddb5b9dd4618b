"""Community points (社区参评), year-end tiers, stars, the shortlist and the veto: pure
arithmetic over recorded facts, and a thin layer that reads the facts from the database.

**Facts.** Points are tallied from recorded facts only, never from a stored score:

========================  ==========================================================  =========
fact                      what                                                        when
========================  ==========================================================  =========
``service``               a completed task (hours served, the resident's rating)      task start
``late_completion``       a completed task whose ``completed_at`` is after its         task start
                          demand's window end
``decline``               a declined task (not one declined because the demand was    task start
                          cancelled)
``no_show``               a task still accepted although its demand's window ended    task start
``visit``                 attendance of a visit session whose attendance was recorded session start
``commitment_kept`` /     a commitment marked kept / missed                            its deadline
``commitment_missed``                                                                 (else when
                                                                                      marked)
``survey``                a residents' survey response (群众测评)                        its period
========================  ==========================================================  =========

A service's time is its task's start, as in the ledger (:mod:`service.domain.ledger`), so
the half year's services and hours equal the ledger's. Half years are January–June and
July–December in Asia/Shanghai: a fact at 2026-07-01 00:00 +08:00 (2026-06-30 16:00 UTC)
belongs to ``2026H2``.

**A member who moved.** Every fact counts in the community where it happened (the demand's,
the commitment's, the visit session's, the survey's community), whatever community the member
lives in now. A member is evaluated by each community where they have facts (or live) on those
facts only: a member who moved in the summer has an ``2026H1`` tally in the old community and an
``2026H2`` tally in the new one; their year-end tier and stars come from each community's sum of
the two half years, and each community ranks and shortlists its own.

**Points.** ``points = Σ weight · quantity − Σ penalty · quantity`` over the items of
:data:`ITEMS`; ``rating_points`` is ``Σ (rating − 3)`` over rated services (a 5 adds two points'
worth, a 1 takes two away) and ``survey_points`` likewise ``Σ (score − 3)``. Each item lists the
ids of the facts behind it (task ids, ``visit_session_id:member_id``, commitment ids, survey
response ids).

**Year end.** The two half years summed; a tier by thresholds on the year's points (or by
quotas of the community's ranking); stars (0–5) by thresholds; the most beautiful in-service
member (最美在职党员) shortlist: the community's top ``shortlist_size`` by points (above zero).

**Veto (一票否决).** A community's recorded statement that a member never served, in either half
of the year, takes the member's excellence off: no ``excellent`` tier (at best ``good``; a quota
left free is not refilled), stars capped at ``veto_star_cap``, never on the shortlist; the
answer lists the statements (id, period, text) and what each rating would have been.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.base import utcnow
from service.db.evaluations import (
    LeaderReview,
    PointsScheme,
    SelfEvaluation,
    SurveyResponse,
    VetoStatement,
)
from service.db.flow import Demand, Task
from service.db.longterm import Commitment
from service.db.registration import Community, Member, Unit, new_id
from service.db.visits import VisitAttendance, VisitSessionRecord
from service.domain.availability import LOCAL
from service.domain.errors import Conflict, Forbidden, Invalid
from service.domain.outcomes import task_outcome
from service.domain.scope import (
    get_scoped,
    is_district,
    plausible_id,
    require_manager,
    visible_member_ids,
)

log = logging.getLogger(__name__)


TIERS = ("excellent", "good", "fair", "poor", "bad")
TIER_LABELS = {
    "excellent": "优秀",
    "good": "良好",
    "fair": "一般",
    "poor": "较差",
    "bad": "差",
}

ITEMS: tuple[tuple[str, str, str, int], ...] = (
    # (item, scheme key, Chinese label, sign)
    ("services", "per_service", "服务次数", 1),
    ("hours", "per_hour", "服务时长（小时）", 1),
    ("rating_points", "per_rating_point", "评价分（评分−3之和）", 1),
    ("commitments_kept", "per_commitment_kept", "践诺", 1),
    ("visits", "per_visit", "组团走访", 1),
    ("survey_points", "per_survey_point", "群众测评分（评分−3之和）", 1),
    ("no_shows", "per_no_show", "接单未到", -1),
    ("declines", "per_decline", "拒单", -1),
    ("commitments_missed", "per_missed_commitment", "未践诺", -1),
    ("late_completions", "per_late_completion", "超时办结", -1),
)
"""Each item of a tally: its scheme weight (``weights`` for sign +1, ``penalties`` for −1)."""

DEFAULT_SCHEME: dict[str, Any] = {
    "weights": {
        "per_hour": 2.0,
        "per_service": 1.0,
        "per_rating_point": 1.0,
        "per_commitment_kept": 5.0,
        "per_visit": 3.0,
        "per_survey_point": 0.0,
    },
    "penalties": {
        "per_no_show": 5.0,
        "per_decline": 1.0,
        "per_missed_commitment": 5.0,
        "per_late_completion": 2.0,
    },
    "tiers": {"mode": "thresholds", "excellent": 80.0, "good": 50.0, "fair": 20.0, "poor": 0.0},
    "stars": [10.0, 30.0, 50.0, 80.0, 120.0],
    "veto_star_cap": 2,
    "shortlist_size": 3,
}
"""The scheme of a community that has not configured its own (``PUT .../points-scheme``).

``tiers``: ``mode`` ``thresholds`` (the least year points of each tier; below ``poor``'s is
``bad``) or ``quotas`` (the share of the community's ranked members in each tier, best first;
the rest are ``bad``). ``stars``: the least year points of 1, 2, … 5 stars."""

_PERIOD = re.compile(r"^(\d{4})H([12])$")


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
        found = _PERIOD.match(text)
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


# --------------------------------------------------------------------------------------------
# Facts and tallies (pure)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One recorded fact of a member in a community (see the module's table)."""

    kind: str
    member_id: str
    community_id: str
    source_id: str
    at: datetime
    hours: float = 0.0
    rating: int | None = None
    score: int | None = None


@dataclass(frozen=True)
class Item:
    """One line of a tally: how many, the weight, the points and the facts behind them."""

    item: str
    quantity: float
    weight: float
    points: float
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Tally:
    """A member's half-year points in one community."""

    member_id: str
    community_id: str
    period: str
    items: tuple[Item, ...]
    points: float
    ratings: int = 0
    mean_rating: float | None = None

    def item(self, name: str) -> Item:
        return next(i for i in self.items if i.item == name)


def _weight(scheme: Mapping[str, Any], key: str, sign: int) -> float:
    group = scheme["weights"] if sign > 0 else scheme["penalties"]
    return float(group.get(key, 0.0))


def tally(
    facts: Iterable[Fact],
    scheme: Mapping[str, Any],
    *,
    member_id: str,
    community_id: str,
    period: Period,
) -> Tally:
    """The member's points of ``period`` in ``community_id`` from the facts (others ignored)."""
    mine = [
        f
        for f in facts
        if f.member_id == member_id
        and f.community_id == community_id
        and period.start <= f.at < period.end
    ]
    mine.sort(key=lambda f: (f.at, f.source_id))

    def of(kind: str) -> list[Fact]:
        return [f for f in mine if f.kind == kind]

    services = of("service")
    rated = [f for f in services if f.rating is not None]
    surveys = of("survey")
    quantities: dict[str, tuple[float, list[Fact]]] = {
        "services": (len(services), services),
        "hours": (round(sum(f.hours for f in services), 6), services),
        "rating_points": (sum((f.rating or 3) - 3 for f in rated), rated),
        "commitments_kept": (len(of("commitment_kept")), of("commitment_kept")),
        "visits": (len(of("visit")), of("visit")),
        "survey_points": (sum((f.score or 3) - 3 for f in surveys), surveys),
        "no_shows": (len(of("no_show")), of("no_show")),
        "declines": (len(of("decline")), of("decline")),
        "commitments_missed": (len(of("commitment_missed")), of("commitment_missed")),
        "late_completions": (len(of("late_completion")), of("late_completion")),
    }
    items = []
    for name, key, _label, sign in ITEMS:
        quantity, behind = quantities[name]
        weight = _weight(scheme, key, sign)
        items.append(
            Item(
                item=name,
                quantity=quantity,
                weight=weight,
                points=round(sign * weight * quantity, 6),
                sources=tuple(f.source_id for f in behind),
            )
        )
    ratings = [f.rating for f in rated if f.rating is not None]
    return Tally(
        member_id=member_id,
        community_id=community_id,
        period=str(period),
        items=tuple(items),
        points=round(sum(i.points for i in items), 6),
        ratings=len(ratings),
        mean_rating=sum(ratings) / len(ratings) if ratings else None,
    )


@dataclass(frozen=True)
class Veto:
    id: str
    period: str
    statement: str


@dataclass(frozen=True)
class YearResult:
    """A member's year end in one community."""

    member_id: str
    community_id: str
    year: int
    halves: tuple[Tally, Tally]
    points: float
    tier: str
    stars: int
    shortlisted: bool
    rank: int
    vetoes: tuple[Veto, ...] = ()
    tier_without_veto: str = ""
    stars_without_veto: int = 0
    why: tuple[str, ...] = field(default_factory=tuple)


def stars_for(points: float, thresholds: Sequence[float]) -> int:
    """How many of the (ascending) star thresholds the points reach (0–5)."""
    return sum(1 for t in thresholds if points >= t)


def _threshold_tier(points: float, tiers: Mapping[str, Any]) -> str:
    for tier in TIERS[:-1]:
        if points >= float(tiers[tier]):
            return tier
    return "bad"


def _quota_tiers(ranked: Sequence[tuple[str, float]], tiers: Mapping[str, Any]) -> dict[str, str]:
    """Tiers by rank: a member's position is that of the first with equal points (ties share
    the better tier); the first ``ceil(quota · n)`` positions of each tier in turn."""
    n = len(ranked)
    result: dict[str, str] = {}
    first_position: dict[float, int] = {}
    for position, (_member, points) in enumerate(ranked):
        first_position.setdefault(points, position)
    for member, points in ranked:
        position = first_position[points]
        cumulative = 0.0
        chosen = "bad"
        for tier in TIERS[:-1]:
            cumulative += float(tiers[tier])
            if position < math.ceil(round(cumulative * n, 9)):
                chosen = tier
                break
        result[member] = chosen
    return result


def year_end(
    pairs: Mapping[str, tuple[Tally, Tally]],
    scheme: Mapping[str, Any],
    vetoes: Mapping[str, Sequence[Veto]],
    *,
    community_id: str,
    year: int,
) -> list[YearResult]:
    """Year-end tiers, stars and shortlist of one community's members (best first).

    Args:
        pairs: Per member, their two half-year tallies in this community.
        vetoes: Per member, the community's veto statements of that year.
    """
    summed = {m: round(h1.points + h2.points, 6) for m, (h1, h2) in pairs.items()}
    ranked = sorted(summed.items(), key=lambda kv: (-kv[1], kv[0]))
    tiers_config = scheme["tiers"]
    if tiers_config["mode"] == "quotas":
        free_tiers = _quota_tiers(ranked, tiers_config)
    else:
        free_tiers = {m: _threshold_tier(p, tiers_config) for m, p in ranked}
    shortlist_size = int(scheme["shortlist_size"])
    shortlist = [m for m, p in ranked if p > 0 and not vetoes.get(m)][:shortlist_size]
    results = []
    for rank, (member, points) in enumerate(ranked, start=1):
        statements = tuple(vetoes.get(member, ()))
        free_tier = free_tiers[member]
        free_stars = stars_for(points, scheme["stars"])
        tier, stars, why = free_tier, free_stars, []
        if statements:
            ids = ", ".join(v.id for v in statements)
            if tier == "excellent":
                tier = "good"
                why.append(f"一票否决 ({ids}): the excellent tier is vetoed")
            cap = int(scheme["veto_star_cap"])
            if stars > cap:
                stars = cap
                why.append(f"一票否决 ({ids}): stars capped at {cap}")
            why.append(f"一票否决 ({ids}): not on the 最美在职党员 shortlist")
        results.append(
            YearResult(
                member_id=member,
                community_id=community_id,
                year=year,
                halves=pairs[member],
                points=points,
                tier=tier,
                stars=stars,
                shortlisted=member in shortlist,
                rank=rank,
                vetoes=statements,
                tier_without_veto=free_tier,
                stars_without_veto=free_stars,
                why=tuple(why),
            )
        )
    return results


# --------------------------------------------------------------------------------------------
# Reading the facts
# --------------------------------------------------------------------------------------------


def load_facts(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    community_id: str | None = None,
    member_ids: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[Fact]:
    """Every fact with its time in ``[start, end)`` (of one community, or of some members)."""
    now = now or utcnow()
    facts: list[Fact] = []

    def limit(query: Any, community_column: Any, member_column: Any) -> Any:
        if community_id is not None:
            query = query.where(community_column == community_id)
        if member_ids is not None:
            query = query.where(member_column.in_(list(member_ids)))
        return query

    tasks = limit(
        select(
            Task.id,
            Task.member_id,
            Task.start,
            Task.status,
            Task.hours,
            Task.rating,
            Task.completed_at,
            Task.decline_reason,
            Demand.community_id,
            Demand.window_end,
        )
        .join(Demand, Demand.id == Task.demand_id)
        .where(Task.start >= start, Task.start < end),
        Demand.community_id,
        Task.member_id,
    )
    for row in session.execute(tasks):
        base = {"member_id": row.member_id, "community_id": row.community_id, "at": row.start}
        outcome = task_outcome(
            row.status,
            completed_at=row.completed_at,
            decline_reason=row.decline_reason,
            window_end=row.window_end,
            now=now,
        )
        if outcome in ("completed", "late"):
            facts.append(
                Fact("service", source_id=row.id, hours=row.hours or 0.0, rating=row.rating, **base)
            )
            if outcome == "late":
                facts.append(Fact("late_completion", source_id=row.id, **base))
        elif outcome == "declined":
            facts.append(Fact("decline", source_id=row.id, **base))
        elif outcome == "no_show":
            facts.append(Fact("no_show", source_id=row.id, **base))
    visits = limit(
        select(VisitAttendance.member_id, VisitSessionRecord.id, VisitSessionRecord.starts_at)
        .add_columns(VisitSessionRecord.community_id, VisitSessionRecord.duration_hours)
        .join(VisitSessionRecord, VisitSessionRecord.id == VisitAttendance.session_id)
        .where(
            VisitSessionRecord.status == "attended",
            VisitSessionRecord.starts_at >= start,
            VisitSessionRecord.starts_at < end,
        ),
        VisitSessionRecord.community_id,
        VisitAttendance.member_id,
    )
    for member, session_id, starts_at, community, hours in session.execute(visits):
        facts.append(
            Fact("visit", member, community, f"{session_id}:{member}", starts_at, hours=hours)
        )
    commitments = limit(
        select(Commitment).where(Commitment.status.in_(("kept", "missed"))),
        Commitment.community_id,
        Commitment.member_id,
    )
    for commitment in session.scalars(commitments):
        if commitment.deadline is not None:
            at = datetime.combine(commitment.deadline, time(12), LOCAL)
        else:
            at = commitment.marked_at or commitment.created_at
        if start <= at < end:
            facts.append(
                Fact(
                    f"commitment_{commitment.status}",
                    commitment.member_id,
                    commitment.community_id,
                    commitment.id,
                    at,
                )
            )
    surveys = limit(select(SurveyResponse), SurveyResponse.community_id, SurveyResponse.member_id)
    for response in session.scalars(surveys):
        period = Period.parse(response.period)
        if start <= period.start < end:
            facts.append(
                Fact(
                    "survey",
                    response.member_id,
                    response.community_id,
                    response.id,
                    period.start,
                    score=response.score,
                )
            )
    return facts


def scheme_for(session: Session, community_id: str) -> dict[str, Any]:
    """The community's points scheme (the default if it has none)."""
    row = session.get(PointsScheme, community_id)
    return dict(row.config) if row is not None else dict(DEFAULT_SCHEME)


def _cohort(session: Session, community_id: str, facts: Sequence[Fact]) -> list[str]:
    """The members evaluated by a community: its active members and everyone with a fact."""
    living = session.scalars(
        select(Member.id).where(Member.community_id == community_id, Member.status == "active")
    )
    return sorted(set(living) | {f.member_id for f in facts if f.community_id == community_id})


def community_half_year(
    session: Session, community_id: str, period: Period, *, now: datetime | None = None
) -> list[Tally]:
    """Every evaluated member's tally of the half year in the community (by member id)."""
    facts = load_facts(session, period.start, period.end, community_id=community_id, now=now)
    scheme = scheme_for(session, community_id)
    return [
        tally(facts, scheme, member_id=m, community_id=community_id, period=period)
        for m in _cohort(session, community_id, facts)
    ]


def vetoes_of(session: Session, community_id: str, year: int) -> dict[str, list[Veto]]:
    """The community's veto statements of the year's two halves, by member."""
    rows = session.scalars(
        select(VetoStatement)
        .where(
            VetoStatement.community_id == community_id,
            VetoStatement.period.in_([str(p) for p in halves(year)]),
        )
        .order_by(VetoStatement.period, VetoStatement.id)
    )
    found: dict[str, list[Veto]] = {}
    for row in rows:
        found.setdefault(row.member_id, []).append(Veto(row.id, row.period, row.statement))
    return found


def community_year(
    session: Session, community_id: str, year: int, *, now: datetime | None = None
) -> list[YearResult]:
    """The community's year end: every evaluated member, best first."""
    first, second = halves(year)
    facts = load_facts(session, first.start, second.end, community_id=community_id, now=now)
    scheme = scheme_for(session, community_id)
    vetoes = vetoes_of(session, community_id, year)
    members = sorted(set(_cohort(session, community_id, facts)) | set(vetoes))
    pairs = {
        m: (
            tally(facts, scheme, member_id=m, community_id=community_id, period=first),
            tally(facts, scheme, member_id=m, community_id=community_id, period=second),
        )
        for m in members
    }
    return year_end(pairs, scheme, vetoes, community_id=community_id, year=year)


def member_communities(
    session: Session, member: Member, start: datetime, end: datetime
) -> list[str]:
    """The communities that evaluate a member over ``[start, end)``: where they live and
    wherever they have a fact (a member who moved has two)."""
    facts = load_facts(session, start, end, member_ids=[member.id])
    vetoed = session.scalars(
        select(VetoStatement.community_id).where(VetoStatement.member_id == member.id)
    )
    return sorted({member.community_id} | {f.community_id for f in facts} | set(vetoed))


# --------------------------------------------------------------------------------------------
# The self-evaluation's pre-filled draft, the other evaluations of a member
# --------------------------------------------------------------------------------------------


def draft_figures(
    session: Session, member_id: str, period: Period, *, now: datetime | None = None
) -> dict[str, Any]:
    """The ledger's figures of a member's half year, for the self-evaluation (党员自评) draft:
    services, hours, ratings, visits, commitments kept and missed, with the facts' ids."""
    facts = load_facts(session, period.start, period.end, member_ids=[member_id], now=now)
    services = [f for f in facts if f.kind == "service"]
    ratings = [f.rating for f in services if f.rating is not None]
    kept = [f.source_id for f in facts if f.kind == "commitment_kept"]
    missed = [f.source_id for f in facts if f.kind == "commitment_missed"]
    visits = [f for f in facts if f.kind == "visit"]
    return {
        "services": len(services),
        "hours": round(sum(f.hours for f in services), 6),
        "ratings": len(ratings),
        "mean_rating": sum(ratings) / len(ratings) if ratings else None,
        "visits": len(visits),
        "visit_hours": round(sum(f.hours for f in visits), 6),
        "commitments_kept": len(kept),
        "commitments_missed": len(missed),
        "sources": {
            "task_ids": sorted(f.source_id for f in services),
            "visit_ids": sorted(f.source_id for f in visits),
            "commitments_kept": sorted(kept),
            "commitments_missed": sorted(missed),
        },
    }


def draft_text(figures: Mapping[str, Any], period: Period) -> str:
    """A Chinese draft report from the figures (the member edits it before submitting)."""
    mean = figures["mean_rating"]
    rating = f"，群众评价平均{mean:.1f}分" if mean is not None else ""
    return (
        f"{period.label}，本人在社区开展志愿服务{figures['services']}次，"
        f"累计服务{figures['hours']:g}小时{rating}；参加组团走访{figures['visits']}次；"
        f"践行承诺{figures['commitments_kept']}项，未按期践诺{figures['commitments_missed']}项。"
    )


def other_evaluations(session: Session, member_id: str, period: Period) -> dict[str, Any]:
    """The member's self-evaluation, leader review and survey summary of a half year."""
    own = session.scalars(
        select(SelfEvaluation).where(
            SelfEvaluation.member_id == member_id, SelfEvaluation.period == str(period)
        )
    ).first()
    review = session.scalars(
        select(LeaderReview).where(
            LeaderReview.member_id == member_id, LeaderReview.period == str(period)
        )
    ).first()
    scores = list(
        session.execute(
            select(SurveyResponse.id, SurveyResponse.score, SurveyResponse.respondent_kind).where(
                SurveyResponse.member_id == member_id, SurveyResponse.period == str(period)
            )
        )
    )
    return {
        "self_evaluation": None
        if own is None
        else {"id": own.id, "submitted_at": own.submitted_at, "text": own.text},
        "leader_review": None
        if review is None
        else {
            "id": review.id,
            "unit_id": review.unit_id,
            "mark": review.mark,
            "comment": review.comment,
        },
        "survey": {
            "responses": len(scores),
            "mean_score": sum(s for _, s, _ in scores) / len(scores) if scores else None,
            "by_kind": {
                kind: sum(1 for _, _, k in scores if k == kind)
                for kind in sorted({k for _, _, k in scores})
            },
            "response_ids": sorted(i for i, _, _ in scores),
        },
    }


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------


def present_tally(each: Tally) -> dict[str, Any]:
    return {
        "member_id": each.member_id,
        "community_id": each.community_id,
        "period": each.period,
        "points": each.points,
        "ratings": each.ratings,
        "mean_rating": each.mean_rating,
        "items": [
            {
                "item": i.item,
                "quantity": i.quantity,
                "weight": i.weight,
                "points": i.points,
                "sources": list(i.sources),
            }
            for i in each.items
        ],
    }


def present_year(result: YearResult) -> dict[str, Any]:
    return {
        "member_id": result.member_id,
        "community_id": result.community_id,
        "year": result.year,
        "points": result.points,
        "rank": result.rank,
        "tier": result.tier,
        "tier_label": TIER_LABELS[result.tier],
        "stars": result.stars,
        "shortlisted": result.shortlisted,
        "halves": [present_tally(h) for h in result.halves],
        "veto": {
            "vetoed": bool(result.vetoes),
            "statements": [
                {"id": v.id, "period": v.period, "statement": v.statement} for v in result.vetoes
            ],
            "tier_without_veto": result.tier_without_veto,
            "stars_without_veto": result.stars_without_veto,
            "why": list(result.why),
        },
    }


def validate_scheme(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Cross-field problems of a points scheme (field path → messages); shapes and ranges are
    the schema's."""
    errors: dict[str, list[str]] = {}
    tiers = config["tiers"]
    values = [float(tiers[t]) for t in TIERS[:-1]]
    if tiers["mode"] == "thresholds":
        if any(a <= b for a, b in pairwise(values)):
            errors["tiers"] = ["thresholds must fall strictly from excellent to poor"]
    else:
        if any(not 0 <= v <= 1 for v in values):
            errors["tiers"] = ["quotas are shares between 0 and 1"]
        elif sum(values) > 1 + 1e-9:
            errors["tiers"] = ["quotas must not add up to more than 1"]
    stars = [float(s) for s in config["stars"]]
    if any(a >= b for a, b in pairwise(stars)):
        errors["stars"] = ["thresholds must rise strictly from 1 to 5 stars"]
    return errors


# --------------------------------------------------------------------------------------------
# Requests: who may record and read what (404 outside the scope, 403 for the wrong role)
# --------------------------------------------------------------------------------------------


def _started(period: Period, now: datetime | None = None) -> None:
    """422 for a half year that has not begun (nothing can be evaluated yet)."""
    if period.start > (now or utcnow()):
        raise Invalid(
            "This half year has not begun.", errors={"period": ["must not be in the future"]}
        )


def _commit_once(session: Session, what: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"{what} is recorded already.", errors={"period": ["recorded once only"]}
        ) from None


def _readable_parts(client: Client, communities: Iterable[str]) -> list[str]:
    """The communities of a member's results the client may see: all of them for the member
    and their unit's organiser (the member's own records), the client's for a dispatcher."""
    if is_district(client) or client.role in ("member", "unit_organiser"):
        return sorted(communities)
    return sorted(c for c in communities if c in client.communities)


def draft(
    session: Session, client: Client, member_id: str, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """The pre-filled self-evaluation of a half year, and the submitted one if any."""
    member = get_scoped(session, Member, member_id, client)
    figures = draft_figures(session, member.id, period, now=now)
    submitted = session.scalars(
        select(SelfEvaluation).where(
            SelfEvaluation.member_id == member.id, SelfEvaluation.period == str(period)
        )
    ).first()
    return {
        "member_id": member.id,
        "period": str(period),
        "figures": figures,
        "text": draft_text(figures, period),
        "submitted": submitted,
    }


def submit_self_evaluation(
    session: Session, client: Client, member_id: str, data: Mapping[str, Any]
) -> SelfEvaluation:
    """The member themself submits their report of a half year, once (409 again)."""
    member = get_scoped(session, Member, member_id, client)
    if not (client.role == "member" and client.member_id == member.id):
        raise Forbidden("Only the member themself submits their self-evaluation (党员自评).")
    period = Period.parse(data["period"])
    _started(period)
    row = SelfEvaluation(
        id=new_id("se"),
        member_id=member.id,
        community_id=member.community_id,
        period=str(period),
        text=data["text"],
        figures=draft_figures(session, member.id, period),
        submitted_at=utcnow(),
    )
    session.add(row)
    _commit_once(session, "This half year's self-evaluation")
    log.info("self-evaluation %s submitted by member %s", row.id, member.id)
    return row


def review(
    session: Session, client: Client, member_id: str, data: Mapping[str, Any]
) -> LeaderReview:
    """The member's unit organiser records a comment and a mark (领导点评), once per half year."""
    member = get_scoped(session, Member, member_id, client)
    if not (
        client.role == "unit_organiser"
        and member.unit_id is not None
        and member.unit_id == client.unit_id
    ):
        raise Forbidden("Only the organiser of the member's unit reviews them (领导点评).")
    period = Period.parse(data["period"])
    _started(period)
    row = LeaderReview(
        id=new_id("lr"),
        member_id=member.id,
        unit_id=member.unit_id,
        period=str(period),
        comment=data["comment"],
        mark=data["mark"],
        reviewer_role=client.role,
        reviewer_id=client.id,
        created_at=utcnow(),
    )
    session.add(row)
    _commit_once(session, "This half year's leader review")
    log.info("leader review %s of member %s", row.id, member.id)
    return row


def unit_flags(
    session: Session, client: Client, unit_id: str, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """The unit's members in the half year (those the client reads): whether they reported
    and served, their self-evaluation and review; those who never reported or served are
    ``flagged`` for the unit's action."""
    unit = get_scoped(session, Unit, unit_id, client)
    query = select(Member).where(Member.unit_id == unit.id).order_by(Member.id)
    visible = visible_member_ids(client)
    if visible is not None:
        query = query.where(Member.id.in_(visible))
    members = list(session.scalars(query))
    ids = [m.id for m in members]
    facts = load_facts(session, period.start, period.end, member_ids=ids, now=now) if ids else []
    own = dict(
        session.execute(
            select(SelfEvaluation.member_id, SelfEvaluation.id).where(
                SelfEvaluation.member_id.in_(ids), SelfEvaluation.period == str(period)
            )
        ).all()
    )
    reviewed = dict(
        session.execute(
            select(LeaderReview.member_id, LeaderReview.id).where(
                LeaderReview.member_id.in_(ids), LeaderReview.period == str(period)
            )
        ).all()
    )
    rows = []
    for member in members:
        services = sum(1 for f in facts if f.member_id == member.id and f.kind == "service")
        visits = sum(1 for f in facts if f.member_id == member.id and f.kind == "visit")
        reasons = []
        if member.reported_at is None:
            reasons.append("never_reported")
        if services + visits == 0:
            reasons.append("never_served")
        rows.append(
            {
                "member_id": member.id,
                "community_id": member.community_id,
                "status": member.status,
                "reported": member.reported_at is not None,
                "services": services,
                "visits": visits,
                "reasons": reasons,
                "self_evaluation_id": own.get(member.id),
                "leader_review_id": reviewed.get(member.id),
            }
        )
    return {
        "unit_id": unit.id,
        "period": str(period),
        "members": rows,
        "flagged": [r for r in rows if r["reasons"]],
    }


def _community_member(
    session: Session, client: Client, community_id: str, member_id: str
) -> tuple[Community, Member]:
    """A managed community (404 / 403) and one of its members (422 otherwise)."""
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    member = session.get(Member, member_id) if plausible_id(member_id) else None
    if member is None or member.community_id != community.id:
        raise Invalid(
            "The member is not registered in this community.",
            errors={"member_id": ["must be a member of this community"]},
        )
    return community, member


def add_survey_response(
    session: Session, client: Client, community_id: str, data: Mapping[str, Any]
) -> SurveyResponse:
    """A community manager enters one respondent's score of a member (群众测评)."""
    community, member = _community_member(session, client, community_id, data["member_id"])
    period = Period.parse(data["period"])
    _started(period)
    row = SurveyResponse(
        id=new_id("sr"),
        community_id=community.id,
        member_id=member.id,
        period=str(period),
        score=data["score"],
        respondent_kind=data["respondent_kind"],
        respondent_ref=data["respondent_ref"],
        created_at=utcnow(),
    )
    session.add(row)
    _commit_once(session, "This respondent's answer about this member")
    return row


def list_survey_responses(
    session: Session, client: Client, community_id: str, period: Period
) -> list[SurveyResponse]:
    community = get_scoped(session, Community, community_id, client)
    query = select(SurveyResponse).where(
        SurveyResponse.community_id == community.id, SurveyResponse.period == str(period)
    )
    visible = visible_member_ids(client)
    if visible is not None:
        query = query.where(SurveyResponse.member_id.in_(visible))
    return list(session.scalars(query.order_by(SurveyResponse.member_id, SurveyResponse.id)))


def record_veto(
    session: Session, client: Client, community_id: str, data: Mapping[str, Any]
) -> VetoStatement:
    """A community manager records its written statement that a member never served (一票否决)."""
    community, member = _community_member(session, client, community_id, data["member_id"])
    period = Period.parse(data["period"])
    _started(period)
    row = VetoStatement(
        id=new_id("vt"),
        community_id=community.id,
        member_id=member.id,
        period=str(period),
        statement=data["statement"],
        recorded_by_role=client.role,
        recorded_by_id=client.id,
        created_at=utcnow(),
    )
    session.add(row)
    _commit_once(session, "A veto of this member for this half year")
    log.info("veto %s recorded for member %s in community %s", row.id, member.id, community.id)
    return row


def list_vetoes(session: Session, client: Client, community_id: str) -> list[VetoStatement]:
    community = get_scoped(session, Community, community_id, client)
    query = select(VetoStatement).where(VetoStatement.community_id == community.id)
    visible = visible_member_ids(client)
    if visible is not None:
        query = query.where(VetoStatement.member_id.in_(visible))
    return list(session.scalars(query.order_by(VetoStatement.period, VetoStatement.id)))


def get_scheme(session: Session, client: Client, community_id: str) -> dict[str, Any]:
    community = get_scoped(session, Community, community_id, client)
    row = session.get(PointsScheme, community.id)
    return {
        "community_id": community.id,
        "configured": row is not None,
        "config": row.config if row is not None else DEFAULT_SCHEME,
        "updated_at": row.updated_at if row is not None else None,
    }


def put_scheme(
    session: Session, client: Client, community_id: str, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace the community's points scheme (managers; 422 for inconsistent tiers or stars)."""
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    problems = validate_scheme(config)
    if problems:
        raise Invalid("The points scheme is not consistent.", errors=problems)
    row = session.get(PointsScheme, community.id)
    if row is None:
        row = PointsScheme(community_id=community.id)
        session.add(row)
    row.config = dict(config)
    row.updated_at = utcnow()
    session.commit()
    log.info("points scheme of community %s replaced", community.id)
    return get_scheme(session, client, community.id)


# --------------------------------------------------------------------------------------------
# Results per member, unit, community
# --------------------------------------------------------------------------------------------


@dataclass
class _Results:
    """The community results computed so far in one request (a community is ranked whole)."""

    session: Session
    period: Period | None
    year: int | None
    now: datetime | None
    cache: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def community(self, community_id: str) -> dict[str, dict[str, Any]]:
        if community_id not in self.cache:
            if self.period is not None:
                tallies = community_half_year(self.session, community_id, self.period, now=self.now)
                rows = {t.member_id: _half_row(self.session, t, self.period) for t in tallies}
            else:
                assert self.year is not None
                results = community_year(self.session, community_id, self.year, now=self.now)
                rows = {r.member_id: _year_row(r) for r in results}
            self.cache[community_id] = rows
        return self.cache[community_id]

    def member(self, member: Member) -> list[dict[str, Any]]:
        start, end = self.bounds
        rows = []
        for community_id in member_communities(self.session, member, start, end):
            row = self.community(community_id).get(member.id)
            if row is not None:
                rows.append((community_id, row))
        return [row for _c, row in rows]

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        if self.period is not None:
            return self.period.start, self.period.end
        assert self.year is not None
        first, second = halves(self.year)
        return first.start, second.end


def _half_row(session: Session, each: Tally, period: Period) -> dict[str, Any]:
    row = present_tally(each)
    row.update(
        year=None,
        rank=None,
        tier=None,
        tier_label=None,
        stars=None,
        shortlisted=None,
        halves=[],
        veto=None,
        evaluations=other_evaluations(session, each.member_id, period),
    )
    return row


def _year_row(result: YearResult) -> dict[str, Any]:
    row = present_year(result)
    row.update(period=None, ratings=None, mean_rating=None, items=_year_items(result))
    row["evaluations"] = {}
    return row


def _year_items(result: YearResult) -> list[dict[str, Any]]:
    """The two halves' items summed (sources of both)."""
    first, second = result.halves
    return [
        {
            "item": a.item,
            "quantity": round(a.quantity + b.quantity, 6),
            "weight": a.weight if a.weight == b.weight else None,
            "points": round(a.points + b.points, 6),
            "sources": [*a.sources, *b.sources],
        }
        for a, b in zip(first.items, second.items, strict=True)
    ]


def _summary(
    scope: str, object_id: str, results: _Results, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    rows.sort(key=lambda r: (r["community_id"], -r["points"], r["member_id"]))
    totals: dict[str, Any] = {
        "members": len({r["member_id"] for r in rows}),
        "points": round(sum(r["points"] for r in rows), 6),
    }
    if results.year is not None:
        totals["by_tier"] = {t: sum(1 for r in rows if r["tier"] == t) for t in TIERS}
        totals["shortlisted"] = sum(1 for r in rows if r["shortlisted"])
        totals["vetoed"] = sum(1 for r in rows if r["veto"]["vetoed"])
    shortlist = sorted(
        (r for r in rows if r.get("shortlisted")), key=lambda r: (r["community_id"], r["rank"])
    )
    return {
        "scope": scope,
        "id": object_id,
        "period": None if results.period is None else str(results.period),
        "year": results.year,
        "rows": rows,
        "shortlist": [r["member_id"] for r in shortlist],
        "totals": totals,
    }


def results(
    session: Session,
    client: Client,
    scope: str,
    object_id: str,
    *,
    period: Period | None,
    year: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The half-year (``period``) or year-end (``year``) results of one member, a unit's
    members or a community's members, limited to what the client may read."""
    found = _Results(session, period, year, now)
    rows: list[dict[str, Any]] = []
    if scope == "member":
        member = get_scoped(session, Member, object_id, client)
        rows = [
            r
            for r in found.member(member)
            if r["community_id"] in _readable_parts(client, [r["community_id"]])
        ]
    elif scope == "unit":
        unit = get_scoped(session, Unit, object_id, client)
        query = select(Member).where(Member.unit_id == unit.id).order_by(Member.id)
        visible = visible_member_ids(client)
        if visible is not None:
            query = query.where(Member.id.in_(visible))
        for member in session.scalars(query).all():
            rows.extend(
                r
                for r in found.member(member)
                if r["community_id"] in _readable_parts(client, [r["community_id"]])
            )
    else:
        community = get_scoped(session, Community, object_id, client)
        visible = visible_member_ids(client)
        seen = None if visible is None else set(session.scalars(visible))
        rows = [r for m, r in found.community(community.id).items() if seen is None or m in seen]
    return _summary(scope, object_id, found, rows)
