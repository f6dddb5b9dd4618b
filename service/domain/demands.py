"""A demand and a task as the API, the lists and the ledgers show them (menu-flow states
and their presentation), without Flask: the resident's contact details masked unless revealed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from matcher.dispatch import problem as mp
from service.db.base import utcnow
from service.db.flow import Demand, Task
from service.domain.availability import LOCAL
from service.domain.personal_data import DataKeyError, FieldCipher, mask_address, mask_phone

log = logging.getLogger(__name__)

BUSY_TASK_STATUSES = ("offered", "accepted")
"""Tasks that hold a member's time and capacity when the community dispatches again."""

CANCELLABLE = ("open", "dispatched")
UNSERVED = ("open", "dispatched", "accepted")
"""A demand in one of these states whose window has ended is overdue."""
REDISPATCH_TIME_LIMIT_S = 2.0
CHANGEOVER = timedelta(minutes=mp.Options().changeover_minutes)
NOTHING_TO_DISPATCH = "nothing_to_dispatch"


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------


def is_overdue_demand(demand: Demand, now: datetime | None = None) -> bool:
    """Its window ended and it is neither completed nor cancelled."""
    return demand.status in UNSERVED and demand.window_end <= (now or utcnow())


def present_contact(
    demand: Demand, cipher: FieldCipher | None, *, reveal: bool = False
) -> dict[str, Any]:
    """The resident's contact details of a demand: masked unless ``reveal``."""
    stored = demand.contact_phone_enc is not None or demand.address_enc is not None
    phone = address = None
    if stored and cipher is not None:
        try:
            phone = cipher.decrypt(demand.contact_phone_enc)
            address = cipher.decrypt(demand.address_enc)
        except DataKeyError:
            log.error("demand %s: contact details do not decrypt under the data key", demand.id)
            phone = address = None
    if not reveal:
        phone, address = mask_phone(phone), mask_address(address)
    purged = demand.contact_purged_at is not None
    return {"phone": phone, "address": address, "masked": not reveal, "purged": purged}


def present_demand(demand: Demand, cipher: FieldCipher | None = None) -> dict[str, Any]:
    """A demand row as the data ``DemandRecordSchema`` dumps (times of service in +08:00;
    the resident's contact details masked)."""
    return {
        "id": demand.id,
        "community_id": demand.community_id,
        "category": demand.category,
        "skills": demand.skills,
        "location": {"lat": demand.lat, "lon": demand.lon},
        "window": {
            "start": demand.window_start.astimezone(LOCAL),
            "end": demand.window_end.astimezone(LOCAL),
        },
        "duration_hours": demand.duration_hours,
        "priority": demand.priority,
        "crew_size": demand.crew_size,
        "content": demand.content,
        "source": demand.source,
        "building_id": demand.building_id,
        "household_id": demand.household_id,
        "resident_ref": demand.resident_ref,
        "contact": present_contact(demand, cipher),
        "status": demand.status,
        "overdue": is_overdue_demand(demand),
        "created_at": demand.created_at,
        "closed_at": demand.closed_at,
    }


def present_task(
    task: Task, duration_hours: float, window_end: datetime | None = None
) -> dict[str, Any]:
    """A task row (and its demand's duration, for ``end``) as ``TaskRecordSchema`` dumps it.

    ``overdue``: still offered or accepted although its demand's window (``window_end``, or the
    task's own end if not given) has ended.
    """
    start = task.start.astimezone(LOCAL)
    deadline = window_end or (task.start + timedelta(hours=duration_hours))
    return {
        "id": task.id,
        "demand_id": task.demand_id,
        "member_id": task.member_id,
        "start": start,
        "end": start + timedelta(hours=duration_hours),
        "status": task.status,
        "decline_reason": task.decline_reason,
        "hours": task.hours,
        "rating": task.rating,
        "overdue": task.status in BUSY_TASK_STATUSES and deadline <= utcnow(),
        "created_at": task.created_at,
        "completed_at": task.completed_at,
    }
