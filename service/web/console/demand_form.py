"""点单 one at a time: the dispatcher enters a resident's demand through a form.

The posted values become the JSON body the API would receive
(``POST /communities/{id}/demands``), loaded by the same
:class:`~service.web.schemas.workspace.DemandCreateSchema` and written by
:func:`service.domain.flow.create_demand` (contact details encrypted there). A bad field
re-renders the form (422) with the field's message next to it; nothing is written.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from matcher.vocabulary import CATEGORIES
from service.db.registration import Building, Grid, Member
from service.domain import flow
from service.domain.availability import LOCAL
from service.domain.coordinates import gcj02_to_wgs84
from service.domain.labels import PRIORITY_LABELS, SOURCE_LABELS
from service.web.console.base import (
    bp,
    category_label,
    cipher,
    client,
    db,
    failure_text,
    login_required,
)
from service.web.console.dispatcher import community_page, managed
from service.web.console.forms import flatten, integer, local_datetime, number, present
from service.web.errors import REFUSALS, status_of
from service.web.schemas.workspace import DemandCreateSchema

CRS_CHOICES = ("wgs84", "gcj02")
FORM_FIELDS = {
    # schema field path → form field
    "category": "category",
    "skills": "skills",
    "location": "lat",
    "location.lat": "lat",
    "location.lon": "lon",
    "window": "window_start",
    "window.start": "window_start",
    "window.end": "window_end",
    "duration_hours": "duration_hours",
    "priority": "priority",
    "crew_size": "crew_size",
    "content": "content",
    "source": "source",
    "building_id": "building_id",
    "resident_ref": "resident_ref",
    "contact_phone": "contact_phone",
    "address": "address",
}


def demand_body(form: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The API's JSON body from the form, and the problems only the form can have."""
    filled = present(
        form,
        "category",
        "content",
        "source",
        "building_id",
        "lat",
        "lon",
        "window_start",
        "window_end",
        "duration_hours",
        "priority",
        "crew_size",
        "resident_ref",
        "contact_phone",
        "address",
    )
    errors: dict[str, list[str]] = {}
    body: dict[str, Any] = {}
    if "category" in filled:
        body["category"] = filled["category"]
        if filled["category"] not in CATEGORIES:
            errors["category"] = [_("Choose a category")]
    skills = [s for s in form.getlist("skills") if s]
    unknown = [s for s in skills if s not in CATEGORIES]
    if unknown:
        errors["skills"] = [_("Choose from the list")]
    body["skills"] = list(dict.fromkeys(skills))
    location: dict[str, Any] = {}
    for name in ("lat", "lon"):
        if name in filled:
            location[name] = number(filled[name])
    crs = form.get("crs", "wgs84")
    if crs not in CRS_CHOICES:
        errors["crs"] = [_("Choose a coordinate system")]
    elif crs == "gcj02" and all(isinstance(location.get(k), float) for k in ("lat", "lon")):
        location["lat"], location["lon"] = gcj02_to_wgs84(location["lat"], location["lon"])
    if location:
        body["location"] = location
    for name in ("content", "source", "building_id"):
        if name in filled:
            body[name] = filled[name]
    if filled.get("source") is not None and filled["source"] not in SOURCE_LABELS:
        errors["source"] = [_("Choose from the list")]
    for name in ("content", "source"):  # the API takes demands without; the console not
        if name not in filled:
            errors[name] = [_("Required")]
    window: dict[str, Any] = {}
    for name, key in (("window_start", "start"), ("window_end", "end")):
        if name in filled:
            window[key] = local_datetime(filled[name])
    body["window"] = window
    if "duration_hours" in filled:
        body["duration_hours"] = number(filled["duration_hours"])
    if "priority" in filled:
        body["priority"] = integer(filled["priority"])
    if "crew_size" in filled:
        body["crew_size"] = integer(filled["crew_size"])
    for name in ("resident_ref", "contact_phone", "address"):
        if name in filled:
            body[name] = filled[name]
    return body, errors


def community_buildings(s: Any, community_id: str) -> list[dict[str, Any]]:
    """The community's buildings for a picker: id, "grid · building", and where they stand."""
    rows = s.execute(
        select(Building.id, Building.name, Grid.name, Building.lat, Building.lon)
        .join(Grid, Grid.id == Building.grid_id)
        .where(Grid.community_id == community_id)
        .order_by(Grid.name, Building.name)
    ).all()
    return [
        {"id": b, "label": f"{g} · {name}", "lat": lat, "lon": lon} for b, name, g, lat, lon in rows
    ]


def form_errors(messages: Any) -> dict[str, list[str]]:
    """The schema's messages keyed by the form's fields."""
    out: dict[str, list[str]] = {}
    for path, texts in flatten(messages).items():
        out.setdefault(FORM_FIELDS.get(path, "_form"), []).extend(texts)
    return out


def _defaults(centre: tuple[float | None, float | None]) -> dict[str, Any]:
    tomorrow = datetime.now(LOCAL).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(9), LOCAL)
    return {
        "category": "",
        "content": "",
        "source": "",
        "building_id": "",
        "skills": [],
        "lat": "",
        "lon": "",
        "centre_lat": f"{centre[0]:.6f}" if centre[0] is not None else "",
        "centre_lon": f"{centre[1]:.6f}" if centre[1] is not None else "",
        "crs": "wgs84",
        "window_start": start.strftime("%Y-%m-%dT%H:%M"),
        "window_end": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "duration_hours": "1",
        "priority": "3",
        "crew_size": "1",
        "resident_ref": "",
        "contact_phone": "",
        "address": "",
    }


@bp.route("/c/<community_id>/demands/new", methods=["GET", "POST"])
@login_required
def new_demand(community_id: str) -> ResponseReturnValue:
    """点单: one resident's demand entered by the community (managers only)."""
    with db() as s:
        community = managed(s, community_id)
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            values: dict[str, Any] = {k: request.form.get(k, "") for k in _defaults((None, None))}
            values["centre_lat"], values["centre_lon"] = values["lat"], values["lon"]
            values["skills"] = request.form.getlist("skills")
            body, errors = demand_body(request.form)
            try:
                data = DemandCreateSchema().load(body)
            except ValidationError as err:
                for field, texts in form_errors(err.messages).items():
                    errors.setdefault(field, []).extend(texts)
                data = None
            if data is not None and not errors:
                try:
                    demand = flow.create_demand(s, client(), community.id, data, cipher())
                except REFUSALS as exc:
                    if status_of(exc) in (403, 404):
                        raise
                    s.rollback()
                    errors["_form"] = [failure_text(exc)]
                else:
                    flash(
                        _(
                            "The demand was entered (%(category)s, priority %(priority)s).",
                            category=category_label(demand.category),
                            priority=PRIORITY_LABELS[demand.priority],
                        ),
                        "success",
                    )
                    return redirect(url_for("console.demands", community_id=community.id))
            status = 422
        else:
            centre = s.execute(
                select(func.avg(Member.lat), func.avg(Member.lon)).where(
                    Member.community_id == community.id
                )
            ).one()
            values = _defaults((centre[0], centre[1]))
            status = 200
        page = community_page(
            "demand_new.html",
            community,
            "demands",
            values=values,
            errors=errors,
            categories=list(CATEGORIES),
            sources=SOURCE_LABELS,
            buildings=community_buildings(s, community.id),
            priorities=PRIORITY_LABELS,
        )
        return page, status
