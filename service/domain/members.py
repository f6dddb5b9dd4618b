"""A member's record as the workspace keeps it (建档亮身份), without Flask.

A member is shown by name on purpose: to those who work with them, in every list and on the
publicity board. Their phone is stored only encrypted, listed masked, and shown in clear only to
a manager of their community or the district, each time audited (:func:`reveal_phone`); it
never reaches a log. :func:`member_label` is the one way a member is named in the console, the
ledgers, the board and the reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.registration import Member
from service.domain import audit
from service.domain.errors import Forbidden
from service.domain.personal_data import DataKeyError, FieldCipher, mask_phone
from service.domain.scope import get_scoped, may_manage

UNNAMED = "未登记姓名"
"""How a member registered before names were kept is named (with their card number)."""


def member_label(member: Member | None, fallback: str = "") -> str:
    """A member as people call them: their name, or (registered before names were kept)
    "未登记姓名（报到卡 …）"; ``fallback`` for no member at all."""
    if member is None:
        return fallback
    if member.name:
        return member.name
    return f"{UNNAMED}（报到卡 {member.card_number}）"


NAME_CHUNK = 500
"""Ids per query when names are looked up (well within every database's parameter limit)."""


def member_names(session: Session, member_ids: Iterable[str | None]) -> dict[str, str]:
    """Each member's :func:`member_label` by id (ids of no member are left out)."""
    ids = sorted({m for m in member_ids if m})
    out: dict[str, str] = {}
    for start in range(0, len(ids), NAME_CHUNK):
        chunk = ids[start : start + NAME_CHUNK]
        for member in session.scalars(select(Member).where(Member.id.in_(chunk))):
            out[member.id] = member_label(member)
    return out


def phone_of(member: Member, cipher: FieldCipher | None) -> str | None:
    """The member's phone in clear (``None`` if none is kept or it does not decrypt)."""
    if member.phone_enc is None or cipher is None:
        return None
    try:
        return cipher.decrypt(member.phone_enc)
    except DataKeyError:
        return None


_PROFILE_FIELDS = (
    "name",
    "party_organisation",
    "position",
    "card_issued_on",
    "reported_on",
    "unit_id",
    "occupation",
    "specialties",
    "skills",
    "preferences",
    "grid_id",
    "building_id",
    "capacity_hours_per_week",
)


def apply_profile(member: Member, data: dict[str, Any], cipher: FieldCipher) -> None:
    """Copy the profile fields present in ``data`` (already validated) onto the row; the phone
    is stored encrypted."""
    for name in _PROFILE_FIELDS:
        if name in data:
            setattr(member, name, data[name])
    if "phone" in data:
        member.phone_enc = cipher.encrypt(data["phone"])
    if "location" in data:
        member.lat, member.lon = data["location"].lat, data["location"].lon
    if "weekly_availability" in data:
        member.weekly_availability = [
            {
                "weekday": slot["weekday"],
                "start": slot["start"].strftime("%H:%M"),
                "end": slot["end"].strftime("%H:%M"),
            }
            for slot in data["weekly_availability"]
        ]


def present_member(member: Member, cipher: FieldCipher | None) -> dict[str, Any]:
    """A member row as ``MemberRecordSchema`` dumps it (the phone masked)."""
    return {
        "id": member.id,
        "community_id": member.community_id,
        "unit_id": member.unit_id,
        "card_number": member.card_number,
        "name": member.name,
        "phone": mask_phone(phone_of(member, cipher)),
        "party_organisation": member.party_organisation,
        "position": member.position,
        "card_issued_on": member.card_issued_on,
        "reported_on": member.reported_on,
        "occupation": member.occupation,
        "specialties": member.specialties,
        "skills": member.skills,
        "preferences": member.preferences,
        "location": {"lat": member.lat, "lon": member.lon},
        "grid_id": member.grid_id,
        "building_id": member.building_id,
        "weekly_availability": member.weekly_availability,
        "capacity_hours_per_week": member.capacity_hours_per_week,
        "status": member.status,
        "reported_at": member.reported_at,
        "created_at": member.created_at,
    }


def reveal_phone(
    session: Session, client: Client, member_id: str, cipher: FieldCipher
) -> dict[str, Any]:
    """A member's phone in clear, for a manager of their community or the district (403 for
    anyone else, 404 outside the scope); audited, never logged."""
    member = get_scoped(session, Member, member_id, client)
    if not may_manage(client, member.community_id):
        raise Forbidden("Only the member's community sees their phone in clear.")
    phone = phone_of(member, cipher)
    audit.record(session, client, "view_contact", "member", member.id, member.community_id)
    session.commit()
    return {"member_id": member.id, "name": member.name, "phone": phone}
