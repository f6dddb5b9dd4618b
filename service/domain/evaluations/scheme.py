"""The points scheme's items, the default scheme and the tiers (社区参评)."""

from __future__ import annotations

import logging
import re
from typing import Any

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

PERIOD = re.compile(r"^(\d{4})H([12])$")
