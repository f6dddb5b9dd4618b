"""The member's pages (phone-sized): my tasks (我的任务), accept, decline with a reason, mark
done with the hours, the resident's contact for an accepted task, and claiming (抢单) open
demands nearby."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from matcher.geo import haversine_km
from service.db.flow import Demand, Task
from service.db.registration import Member
from service.domain import flow
from service.domain.scope import get_scoped, scoped
from service.web.api import current_solver
from service.web.console.base import (
    REASONS,
    bp,
    cipher,
    client,
    db,
    failure_text,
    label,
    local_time,
    login_required,
)
from service.web.errors import REFUSALS, fail, status_of

NEARBY_LIMIT = 30


def current_member() -> Member:
    """The logged-in member's record (403 for other roles)."""
    me = client()
    if me.role != "member" or not me.member_id:
        fail(403, "These pages are for members.")
    with db() as s:
        member = get_scoped(s, Member, me.member_id, me)
        s.expunge(member)
    return member


def _distance_km(member: Member, demand: Demand) -> float:
    """How far the demand is from the member's home, in km (one decimal), as the engine measures."""
    return round(float(haversine_km(member.lat, member.lon, demand.lat, demand.lon)), 1)


@bp.route("/my/tasks")
@login_required
def my_tasks() -> ResponseReturnValue:
    """我的任务: offered (accept or decline), accepted (contact, done) and completed."""
    member = current_member()
    with db() as s:
        rows = s.execute(
            scoped(
                select(Task, Demand)
                .join(Demand, Demand.id == Task.demand_id)
                .where(Task.member_id == member.id)
                .order_by(Task.start.desc(), Task.id),
                client(),
            ).limit(200)
        ).all()
        groups: dict[str, list[dict[str, Any]]] = {
            "offered": [],
            "accepted": [],
            "completed": [],
            "declined": [],
        }
        for task, demand in rows:
            shown = flow.present_task(task, demand.duration_hours, demand.window_end)
            shown["demand"] = flow.present_demand(demand, cipher())
            shown["distance_km"] = round(
                float(haversine_km(member.lat, member.lon, demand.lat, demand.lon)), 1
            )
            groups[task.status].append(shown)
        for key in ("offered", "accepted"):
            groups[key].reverse()  # the soonest first
    return render_template("console/my_tasks.html", member=member, groups=groups, section="my")


def _member_task(task_id: str) -> Task:
    with db() as s:
        task = get_scoped(s, Task, task_id, client())
        s.expunge(task)
    return task


def _act(task_id: str, action: str) -> ResponseReturnValue:
    _member_task(task_id)  # 404 for a task the member does not hold
    with db() as s:
        try:
            if action == "accept":
                accepted = flow.accept(s, client(), task_id)
                demand = s.get(Demand, accepted["demand_id"])
                has_contact = demand is not None and (
                    demand.contact_phone_enc is not None or demand.address_enc is not None
                )
                flash(
                    _("Accepted. The resident's contact is now shown to you.")
                    if has_contact
                    else _("Accepted."),
                    "success",
                )
            elif action == "decline":
                reason = request.form.get("reason", "").strip()
                if not reason or len(reason) > 500:
                    flash(_("Say why you decline (at most 500 characters)."), "error")
                    return redirect(url_for("console.my_tasks"))
                result = flow.decline(s, client(), task_id, reason, solver=current_solver())
                again = result.get("redispatch") or {}
                if again.get("task"):
                    flash(
                        _("Declined. The demand was dispatched again to another member at once."),
                        "success",
                    )
                else:
                    flash(
                        _(
                            "Declined. Nobody else can take it now (%(reason)s); it is back on "
                            "the demand list.",
                            reason=label(REASONS, again.get("reason")),
                        ),
                        "info",
                    )
            elif action == "complete":
                try:
                    hours = float(request.form.get("hours", ""))
                except ValueError:
                    hours = 0.0
                if not 0 < hours <= 24:
                    flash(_("Enter the hours served (more than 0, at most 24)."), "error")
                    return redirect(url_for("console.my_tasks"))
                flow.complete(s, client(), task_id, hours)
                flash(_("Marked done: %(hours)s hours. Thank you!", hours=f"{hours:g}"), "success")
        except REFUSALS as exc:
            if status_of(exc) in (403, 404):
                raise
            flash(failure_text(exc), "error")
    return redirect(url_for("console.my_tasks"))


@bp.route("/tasks/<task_id>/accept", methods=["POST"])
@login_required
def accept(task_id: str) -> ResponseReturnValue:
    """接单."""
    return _act(task_id, "accept")


@bp.route("/tasks/<task_id>/decline", methods=["POST"])
@login_required
def decline(task_id: str) -> ResponseReturnValue:
    """拒单 with a reason; the demand is re-dispatched at once."""
    return _act(task_id, "decline")


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
@login_required
def complete(task_id: str) -> ResponseReturnValue:
    """完成 with the hours served."""
    return _act(task_id, "complete")


@bp.route("/my/tasks/<task_id>/contact")
@login_required
def contact(task_id: str) -> ResponseReturnValue:
    """The resident's contact, in clear, for the member's accepted task only (audited)."""
    member = current_member()
    task = _member_task(task_id)
    if task.member_id != member.id or task.status != "accepted":
        fail(403, "The contact is shown for your accepted tasks only.")
    with db() as s:
        shown = flow.reveal_contact(s, client(), task.demand_id, cipher())
        demand = s.get(Demand, task.demand_id)
        assert demand is not None
        present = flow.present_demand(demand, cipher())
    return render_template(
        "console/contact.html", contact=shown, demand=present, task=task, section="my"
    )


@bp.route("/my/claim")
@login_required
def claim_list() -> ResponseReturnValue:
    """抢单: open demands of the community that match the member's skills, nearest first (a
    demand for a crew is dispatched by the community, never claimed)."""
    member = current_member()
    with db() as s:
        rows = s.scalars(
            scoped(
                select(Demand).where(
                    Demand.community_id == member.community_id,
                    Demand.status == "open",
                    Demand.crew_size == 1,
                ),
                client(),
            )
        ).all()
        nearby = []
        for demand in rows:
            if not set(demand.skills) <= set(member.skills):
                continue
            shown = flow.present_demand(demand, cipher())
            shown["distance_km"] = round(
                float(haversine_km(member.lat, member.lon, demand.lat, demand.lon)), 1
            )
            nearby.append(shown)
        nearby.sort(key=lambda d: (d["distance_km"], d["window"]["start"]))
    return render_template(
        "console/claim.html", member=member, demands=nearby[:NEARBY_LIMIT], section="claim"
    )


@bp.route("/demands/<demand_id>/claim", methods=["POST"])
@login_required
def claim(demand_id: str) -> ResponseReturnValue:
    member = current_member()
    with db() as s:
        try:
            task = flow.claim(s, client(), demand_id, member.id)
            flash(
                _("Claimed. You serve it from %(start)s.", start=local_time(task["start"])),
                "success",
            )
            return redirect(url_for("console.my_tasks"))
        except REFUSALS as exc:
            if status_of(exc) in (403, 404):
                raise
            if status_of(exc) == 422:
                flash(
                    _("You have no free time (or hours left) for this demand in its window."),
                    "error",
                )
            else:
                flash(failure_text(exc), "error")
    return redirect(url_for("console.claim_list"))
