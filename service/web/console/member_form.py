"""建档: one member registered at a time through a form (besides the Excel import).

The posted values become the body of ``POST /members``, loaded by the same
:class:`~service.web.schemas.workspace.MemberCreateSchema`; the phone is stored encrypted by
:func:`service.domain.members.apply_profile`. A member living in a building with a location on
file may leave the coordinates blank. A bad field re-renders the form (422) with its message
next to it; nothing is written.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matcher.vocabulary import CATEGORIES
from service.db.base import utcnow
from service.db.registration import Building, Member, Unit, new_id
from service.domain import audit
from service.domain.members import apply_profile
from service.web.console.base import bp, cipher, client, db, login_required
from service.web.console.demand_form import community_buildings
from service.web.console.dispatcher import community_page, managed
from service.web.console.forms import flatten, number
from service.web.schemas.workspace import MemberCreateSchema
from service.web.workbooks import weekly_slots

TEXT_FIELDS = (
    "name",
    "card_number",
    "phone",
    "party_organisation",
    "position",
    "card_issued_on",
    "reported_on",
    "occupation",
    "unit_id",
    "building_id",
    "lat",
    "lon",
    "weekly",
    "capacity",
)


FORM_FIELDS = {
    "location.lat": "lat",
    "location.lon": "lon",
    "location": "lat",
    "weekly_availability": "weekly",
    "capacity_hours_per_week": "capacity",
}
"""The schema's field paths that the form names otherwise."""
SLOTS_EXAMPLE = "周一 19:00-21:30；周六 09:00-12:00"


def _body(
    form: Any, buildings: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    values = {k: (form.get(k) or "").strip() for k in TEXT_FIELDS}
    errors: dict[str, list[str]] = {}
    body: dict[str, Any] = {}
    for name in ("name", "card_number", "phone", "party_organisation", "position", "occupation"):
        if values[name]:
            body[name] = values[name]
    for name in ("card_issued_on", "reported_on", "unit_id"):
        if values[name]:
            body[name] = values[name]
    skills = [s for s in form.getlist("skills") if s in CATEGORIES]
    body["skills"] = skills
    body["preferences"] = [s for s in form.getlist("preferences") if s in CATEGORIES]
    building = buildings.get(values["building_id"])
    if values["building_id"]:
        if building is None:
            errors["building_id"] = [_("Choose from the list")]
        else:
            body["building_id"] = building["id"]
            body["grid_id"] = building["grid_id"]
    if values["lat"] or values["lon"]:
        body["location"] = {"lat": number(values["lat"]), "lon": number(values["lon"])}
    elif building is not None and building["lat"] is not None:
        body["location"] = {"lat": building["lat"], "lon": building["lon"]}
    if values["weekly"]:
        try:
            body["weekly_availability"] = weekly_slots(values["weekly"])
        except ValueError:
            errors["weekly"] = [_("Write the free times such as %(e)s", e=SLOTS_EXAMPLE)]
    if values["capacity"]:
        body["capacity_hours_per_week"] = number(values["capacity"])
    return body, errors


@bp.route("/c/<community_id>/members/new", methods=["GET", "POST"])
@login_required
def new_member(community_id: str) -> ResponseReturnValue:
    """建档亮身份: register one member of the community (managers only)."""
    with db() as s:
        community = managed(s, community_id)
        listed = community_buildings(s, community.id)
        grids = dict(s.execute(select(Building.id, Building.grid_id)).all())
        buildings = {b["id"]: {**b, "grid_id": grids.get(b["id"])} for b in listed}
        units = list(s.scalars(select(Unit).order_by(Unit.name)))
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {k: "" for k in TEXT_FIELDS}
        values.update(skills=[], preferences=[], capacity="4")
        status = 200
        if request.method == "POST":
            values.update({k: (request.form.get(k) or "").strip() for k in TEXT_FIELDS})
            values["skills"] = request.form.getlist("skills")
            values["preferences"] = request.form.getlist("preferences")
            body, errors = _body(request.form, buildings)
            body["community_id"] = community.id
            data = None
            try:
                data = MemberCreateSchema().load(body)
            except ValidationError as err:
                for path, texts in flatten(err.messages).items():
                    field = FORM_FIELDS.get(path, path.split(".")[0])
                    errors.setdefault(field, []).extend(texts)
            unit_ids = {u.id for u in units}
            if data is not None and data.get("unit_id") and data["unit_id"] not in unit_ids:
                errors["unit_id"] = [_("Choose from the list")]
            taken = data is not None and s.scalar(
                select(Member.id).where(Member.card_number == data["card_number"])
            )
            if taken:
                errors["card_number"] = [_("This card number is registered already")]
            if data is not None and not errors:
                member = Member(
                    id=new_id("m"),
                    community_id=community.id,
                    card_number=data["card_number"],
                    specialties=[],
                    skills=[],
                    preferences=[],
                    weekly_availability=[],
                    capacity_hours_per_week=0.0,
                    status="registered",
                    created_at=utcnow(),
                )
                apply_profile(member, data, cipher())
                s.add(member)
                audit.record(s, client(), "create", "member", member.id, community.id)
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
                    errors["card_number"] = [_("This card number is registered already")]
                else:
                    flash(_("%(name)s is registered.", name=member.name), "success")
                    return redirect(url_for("console.members", community_id=community.id))
            status = 422
        page = community_page(
            "member_new.html",
            community,
            "members",
            values=values,
            errors=errors,
            units=units,
            buildings=listed,
            categories=list(CATEGORIES),
        )
        return page, status
