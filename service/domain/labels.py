"""The Chinese words of the records' codes, written once for the ledgers, the Excel sheets and
the console (glossary terms: ``../shared/GLOSSARY.md``)."""

from __future__ import annotations

from service.db.flow import DEMAND_ACTIONS, SATISFACTION, SOURCES, TOLD_VIA

SOURCE_LABELS = {
    "team_visit": "组团走访",
    "building_branch": "楼（院）党支部",
    "qq_group": "QQ群",
    "sms": "短信平台",
    "phone": "电话",
    "walk_in": "来访",
    "system": "其他系统",
}
"""诉求来源."""

DEMAND_ACTION_LABELS = {
    "ordered": "群众点单",
    "dispatched": "社区派单",
    "declined": "党员拒单",
    "claimed": "党员抢单",
    "accepted": "党员接单",
    "completed": "服务完成",
    "rated": "群众评价",
    "cancelled": "取消需求",
    "feedback": "诉求反馈",
}
"""The steps of the requests ledger (群众诉求台账)."""

TOLD_VIA_LABELS = {
    "phone": "电话",
    "visit": "上门",
    "sms": "短信",
    "wechat": "微信",
    "in_person": "当面",
    "other": "其他",
}
SATISFACTION_LABELS = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
PRIORITY_LABELS = {1: "不急", 2: "一般", 3: "较急", 4: "紧急", 5: "特急"}
"""Priorities 1–5 in words (5 the most urgent)."""

assert set(SOURCE_LABELS) == set(SOURCES)
assert set(DEMAND_ACTION_LABELS) == set(DEMAND_ACTIONS)
assert set(TOLD_VIA_LABELS) == set(TOLD_VIA)
assert set(SATISFACTION_LABELS) == set(SATISFACTION)
