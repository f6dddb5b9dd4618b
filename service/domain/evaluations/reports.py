"""The self-evaluation's pre-filled draft, a member's other evaluations, and their presentation."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.evaluations import (
    LeaderReview,
    SelfEvaluation,
    SurveyResponse,
)
from service.domain.evaluations.facts import (
    load_facts,
)
from service.domain.evaluations.periods import (
    Period,
)
from service.domain.evaluations.points import (
    Tally,
    YearResult,
)
from service.domain.evaluations.scheme import (
    TIER_LABELS,
    TIERS,
)

log = logging.getLogger(__name__)

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
