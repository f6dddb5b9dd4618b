"""Examples of the main request bodies, shown in the OpenAPI document (Swagger UI, ReDoc).

Each is a valid body (``tests/service/web/test_openapi_docs.py`` loads every one through its
schema). Times carry their UTC offset (+08:00, Asia/Shanghai); places are WGS84 degrees.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEMAND_EXAMPLE",
    "DISPATCH_EXAMPLE",
    "FEEDBACK_EXAMPLE",
    "MEMBER_EXAMPLE",
    "VISIT_NOTE_EXAMPLE",
]

DISPATCH_EXAMPLE: dict[str, Any] = {
    "members": [
        {
            "id": "m-001",
            "location": {"lat": 34.7466, "lon": 113.6253},
            "skills": ["elderly_care", "mediation"],
            "availability": [
                {"start": "2030-06-01T09:00:00+08:00", "end": "2030-06-01T12:00:00+08:00"}
            ],
            "capacity_hours": 3.0,
            "max_distance_km": 3.0,
            "preferences": ["elderly_care"],
            "reliability": 0.9,
        },
        {
            "id": "m-002",
            "location": {"lat": 34.7502, "lon": 113.6301},
            "skills": ["repairs"],
            "availability": [
                {"start": "2030-06-01T14:00:00+08:00", "end": "2030-06-01T18:00:00+08:00"}
            ],
            "capacity_hours": 4.0,
        },
    ],
    "teams": [{"id": "t-01", "members": ["m-001", "m-002"], "leader": "m-001"}],
    "demands": [
        {
            "id": "d-0001",
            "category": "elderly_care",
            "skills": ["elderly_care"],
            "location": {"lat": 34.7481, "lon": 113.6270},
            "window": {"start": "2030-06-01T09:00:00+08:00", "end": "2030-06-01T11:30:00+08:00"},
            "duration_hours": 1.5,
            "priority": 4,
            "resident": "r-123",
            "preferred_members": ["m-001"],
        },
        {
            "id": "d-0002",
            "category": "repairs",
            "skills": ["repairs"],
            "location": {"lat": 34.7495, "lon": 113.6288},
            "window": {"start": "2030-06-01T14:00:00+08:00", "end": "2030-06-01T17:00:00+08:00"},
            "duration_hours": 1.0,
            "priority": 2,
        },
    ],
    "options": {
        "time_limit_s": 5,
        "seed": 0,
        "max_distance_km": 5.0,
        "changeover_minutes": 15,
        "time_step_minutes": 15,
        "weights": {"unassigned": 100, "distance": 1, "preference": 2, "continuity": 5},
    },
}
"""A dispatch problem: two members, a team and two demands on one Saturday (1 June 2030)."""

MEMBER_EXAMPLE: dict[str, Any] = {
    "community_id": "c-01",
    "name": "张伟",
    "card_number": "BD-2026-0042",
    "unit_id": "u-01",
    "party_organisation": "区卫健委机关党支部",
    "position": "科员",
    "card_issued_on": "2026-03-01",
    "reported_on": "2026-03-15",
    "occupation": "社区医生",
    "specialties": ["health_advice"],
    "skills": ["elderly_care"],
    "preferences": ["elderly_care", "policy_publicity"],
    "location": {"lat": 34.7466, "lon": 113.6253},
    "weekly_availability": [
        {"weekday": "sat", "start": "09:00", "end": "12:00"},
        {"weekday": "wed", "start": "19:00", "end": "21:00"},
    ],
    "capacity_hours_per_week": 4.0,
}
"""A member's registration (社区报到 / 建档)."""

DEMAND_EXAMPLE: dict[str, Any] = {
    "category": "elderly_care",
    "content": "独居老人需要陪同去社区卫生站复诊",
    "skills": ["elderly_care"],
    "location": {"lat": 34.7481, "lon": 113.6270},
    "window": {"start": "2030-06-01T09:00:00+08:00", "end": "2030-06-01T11:30:00+08:00"},
    "duration_hours": 1.5,
    "priority": 4,
}
"""A resident's demand (点单)."""

FEEDBACK_EXAMPLE: dict[str, Any] = {
    "outcome": "已陪同老人复诊，并约好下次复诊时间",
    "told_at": "2026-12-05T16:30:00+08:00",
    "told_via": "phone",
    "satisfaction": "satisfied",
}
"""The feedback to the resident on a closed demand (反馈)."""

VISIT_NOTE_EXAMPLE: dict[str, Any] = {
    "household_id": "h-0101",
    "visited_on": "2026-12-05",
    "visitors": ["m-001", "m-002"],
    "content": "老人腿脚不便，希望有人帮忙代购日用品",
    "category": "errands",
}
"""A note of a household visit (入户走访记录)."""
