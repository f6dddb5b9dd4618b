"""The service categories every part of Linli names: one English id, one Chinese console label.

The engine only compares skill strings; the vocabulary lives here so that the synthetic districts,
the community workspace (its Excel templates, console and demo) and the benchmarks all read the
same list, and none of them borrows it from the generator. The labels are the glossary's.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "category_label"]

CATEGORIES: dict[str, str] = {
    "policy_publicity": "政策宣传",
    "sanitation": "环境卫生",
    "poverty_relief": "扶贫帮困",
    "mediation": "矛盾调解",
    "elderly_care": "助老服务",
    "tutoring": "助学辅导",
    "health": "健康义诊",
    "legal_aid": "法律援助",
    "repairs": "便民维修",
    "digital_help": "数字帮办",
    "psychological_support": "心理疏导",
    "public_order": "治安联防",
    "culture": "文体活动",
}
"""Service categories (the posts a community sets): English id → Chinese console label."""


def category_label(category: str) -> str:
    """The Chinese label of ``category``; an unknown id is returned as it is."""
    return CATEGORIES.get(category, category)
