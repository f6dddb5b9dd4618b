"""The dispatcher's pages: the three lists, dispatch runs, "who should take this one?", the
records of the community (members, groups, posts and commitments, pairs, visits), the ledger,
the publicity board and the map.

Every page of ``/console/c/<community_id>/…`` finds the community in the client's scope (404
outside it) and, except the board, requires a manager of it (403 for a member).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db.base import utcnow
from service.db.flow import DEMAND_STATUSES, Demand, DispatchRun, Task
from service.db.registration import Community, Member, Unit
from service.domain import flow, ledger
from service.domain.availability import LOCAL
from service.domain.errors import NotFound
from service.domain.members import member_label, phone_of, reveal_phone
from service.domain.personal_data import mask_phone
from service.domain.scope import get_scoped, readable_community, require_manager, scoped
from service.jobs import dispatch_runs
from service.web.api import API_PREFIX
from service.web.console.base import (
    back,
    bp,
    cipher,
    client,
    db,
    failure_text,
    local_time,
    login_required,
    tile_settings,
)
from service.web.errors import REFUSALS, status_of

DISPATCH_TIME_LIMIT_S = 5.0
LIST_LIMIT = 500


def managed(s: Session, community_id: str) -> Community:
    """The community (404 outside the scope; 403 unless the client manages it)."""
    community = readable_community(s, client(), community_id)
    require_manager(client(), community.id)
    return community


def _members_by_id(s: Session, community_id: str) -> dict[str, Member]:
    rows = s.scalars(scoped(select(Member).where(Member.community_id == community_id), client()))
    return {m.id: m for m in rows}


def member_text(member: Member | None, member_id: str | None = None) -> str:
    """A member as the console shows them: by name (建档亮身份), with their occupation; never
    an id (``member_id`` of a member outside the page's records reads "another member")."""
    if member is None:
        return str(_("a member of another community")) if member_id else ""
    name = member_label(member)
    return f"{name}（{member.occupation}）" if member.occupation else name


def community_page(template: str, community: Community, section: str, **context: Any) -> str:
    return render_template(
        f"console/{template}",
        community=community,
        section=section,
        member_text=member_text,
        **context,
    )


# --------------------------------------------------------------------------------------------
# 需求清单: the demand list
# --------------------------------------------------------------------------------------------


def _status_counts(s: Session, community_id: str) -> dict[str, int]:
    rows = s.execute(
        scoped(
            select(Demand.status, func.count(Demand.id))
            .where(Demand.community_id == community_id)
            .group_by(Demand.status),
            client(),
        )
    )
    return {status: int(n) for status, n in rows}


@bp.route("/c/<community_id>/demands")
@login_required
def demands(community_id: str) -> ResponseReturnValue:
    """需求清单: open demands (or any status), by category and overdue, with counts."""
    status = request.args.get("status", "open")
    category = request.args.get("category", "")
    overdue = request.args.get("overdue") == "1"
    with db() as s:
        community = managed(s, community_id)
        query = scoped(select(Demand).where(Demand.community_id == community.id), client())
        if status in DEMAND_STATUSES:
            query = query.where(Demand.status == status)
        if category:
            query = query.where(Demand.category == category)
        if overdue:
            query = query.where(Demand.status.in_(flow.UNSERVED) & (Demand.window_end <= utcnow()))
        rows = list(s.scalars(query.order_by(Demand.window_start, Demand.id).limit(LIST_LIMIT)))
        shown = [flow.present_demand(d, cipher()) for d in rows]
        counts = _status_counts(s, community.id)
        overdue_count = s.scalar(
            scoped(
                select(func.count(Demand.id)).where(
                    Demand.community_id == community.id,
                    Demand.status.in_(flow.UNSERVED),
                    Demand.window_end <= utcnow(),
                ),
                client(),
            )
        )
        categories = sorted(
            set(
                s.scalars(
                    scoped(
                        select(Demand.category).where(Demand.community_id == community.id),
                        client(),
                    ).distinct()
                )
            )
        )
        runs = list(
            s.scalars(
                scoped(
                    select(DispatchRun)
                    .where(DispatchRun.community_id == community.id)
                    .order_by(DispatchRun.created_at.desc())
                    .limit(3),
                    client(),
                )
            )
        )
        return community_page(
            "demands.html",
            community,
            "demands",
            demands=shown,
            counts=counts,
            overdue_count=int(overdue_count or 0),
            status=status,
            category=category,
            overdue=overdue,
            categories=categories,
            runs=runs,
            import_url=_api_import_url(community.id, "demands"),
            template_url=_api_template_url("demands"),
            export_url=api_export_url(community.id, "demands"),
        )


def _api_rule(rule: str) -> bool:
    return any(r.rule == rule for r in current_app.url_map.iter_rules())


def _api_import_url(community_id: str, kind: str) -> str | None:
    """Where the console's import form posts (the console reads the sheet with the sheets
    API's own import and answers in Chinese), if the sheets API is there."""
    if not _api_rule(f"{API_PREFIX}/communities/<community_id>/imports/<kind>") and not _api_rule(
        f"{API_PREFIX}/communities/<string:community_id>/imports/<string:kind>"
    ):
        return None
    return url_for("console.import_page", community_id=community_id, kind=kind)


def _api_template_url(kind: str) -> str | None:
    if not any(
        r.rule.startswith(f"{API_PREFIX}/sheets/") for r in current_app.url_map.iter_rules()
    ):
        return None
    return f"{request.script_root}{API_PREFIX}/sheets/{kind}/template.xlsx"


def api_export_url(community_id: str, name: str) -> str | None:
    if not any("/exports/" in r.rule for r in current_app.url_map.iter_rules()):
        return None
    return f"{request.script_root}{API_PREFIX}/communities/{community_id}/exports/{name}.xlsx"


@bp.route("/demands/<demand_id>/cancel", methods=["POST"])
@login_required
def cancel_demand(demand_id: str) -> ResponseReturnValue:
    with db() as s:
        demand = get_scoped(s, Demand, demand_id, client())
        community_id = demand.community_id
        try:
            flow.cancel(s, client(), demand_id)
            flash(_("The demand was cancelled."), "success")
        except REFUSALS as exc:
            if status_of(exc) in (403, 404):
                raise
            flash(failure_text(exc), "error")
    return back(url_for("console.demands", community_id=community_id))


# --------------------------------------------------------------------------------------------
# One-click dispatch as a background run
# --------------------------------------------------------------------------------------------


@bp.route("/c/<community_id>/dispatch", methods=["POST"])
@login_required
def dispatch(community_id: str) -> ResponseReturnValue:
    """下单: start a background run of the open demand list and show its progress."""
    with db() as s:
        managed(s, community_id)
        try:
            limit = float(
                current_app.config.get("CONSOLE_DISPATCH_TIME_LIMIT_S", DISPATCH_TIME_LIMIT_S)
            )
            run = dispatch_runs.start_run(s, client(), community_id, time_limit_s=limit)
        except REFUSALS as exc:
            if status_of(exc) != 409:
                raise
            active = s.scalars(
                select(DispatchRun.id).where(
                    DispatchRun.community_id == community_id,
                    DispatchRun.status.in_(("queued", "running")),
                )
            ).first()
            flash(_("A dispatch of this community is already under way."), "info")
            if active:
                return redirect(url_for("console.run", run_id=active))
            return redirect(url_for("console.demands", community_id=community_id))
        run_id = run.id
    current_app.extensions["linli"].runs.submit(run_id, client())
    return redirect(url_for("console.run", run_id=run_id))


@bp.route("/runs/<run_id>")
@login_required
def run(run_id: str) -> ResponseReturnValue:
    """A dispatch run: progress while it runs, then the result explained."""
    with db() as s:
        row = get_scoped(s, DispatchRun, run_id, client())
        community = managed(s, row.community_id)
        body = dispatch_runs.present_run(row)
        result = body["result"] or {}
        tasks = result.get("tasks", [])
        left_out = result.get("left_out", [])
        demand_ids = [t["demand_id"] for t in tasks] + [u["demand_id"] for u in left_out]
        found = {
            d.id: d
            for d in s.scalars(scoped(select(Demand).where(Demand.id.in_(demand_ids)), client()))
        }
        members = _members_by_id(s, community.id)
        loads: list[dict[str, Any]] = [  # the engine's own load of each member in the plan
            {
                **load,
                "capacity": members[load["member_id"]].capacity_hours_per_week
                if load["member_id"] in members
                else None,
            }
            for load in result.get("member_loads", [])
        ]
        loads.sort(key=lambda x: (-float(x["hours"]), str(x["member_id"])))
        week = _week_hours(s, [x["member_id"] for x in loads], row.created_at)
        for load in loads:
            load["week_hours"] = week.get(load["member_id"], 0.0)
        return community_page(
            "run.html",
            community,
            "demands",
            run=body,
            active=body["status"] in ("queued", "running"),
            tasks=tasks,
            left_out=left_out,
            demand_rows=found,
            members=members,
            loads=loads,
            status_url=f"{request.script_root}{API_PREFIX}/dispatch-runs/{row.id}",
        )


def _week_hours(s: Session, member_ids: list[str], moment: datetime) -> dict[str, float]:
    """Each member's hours of tasks (offered, accepted or served) starting in the week
    (Monday to Sunday, Beijing time) that contains ``moment``: their whole week, not one run's."""
    day = moment.astimezone(LOCAL).date()
    start = datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time(), LOCAL)
    rows = s.execute(
        select(Task.member_id, func.sum(Demand.duration_hours))
        .join(Demand, Demand.id == Task.demand_id)
        .where(
            Task.member_id.in_(member_ids),
            Task.status.in_(("offered", "accepted", "completed")),
            Task.start >= start,
            Task.start < start + timedelta(days=7),
        )
        .group_by(Task.member_id)
    ).all()
    return {member: float(hours or 0.0) for member, hours in rows}


# --------------------------------------------------------------------------------------------
# 谁来接单: who should take this one?
# --------------------------------------------------------------------------------------------


@bp.route("/demands/<demand_id>/candidates")
@login_required
def candidates(demand_id: str) -> ResponseReturnValue:
    with db() as s:
        demand = get_scoped(s, Demand, demand_id, client())
        community = managed(s, demand.community_id)
        shown = flow.present_demand(demand, cipher())
        answer = None
        if demand.status == "open":
            answer = flow.top_candidates(s, demand_id, client(), 5)
        members = _members_by_id(s, community.id)
        return community_page(
            "candidates.html",
            community,
            "demands",
            demand=shown,
            answer=answer,
            members=members,
        )


@bp.route("/demands/<demand_id>/assign", methods=["POST"])
@login_required
def assign(demand_id: str) -> ResponseReturnValue:
    """The community claims an open demand on a member's behalf (代为接单)."""
    member_id = request.form.get("member_id", "")
    with db() as s:
        demand = get_scoped(s, Demand, demand_id, client())
        community_id = demand.community_id
        try:
            task = flow.claim(s, client(), demand_id, member_id)
            flash(
                _(
                    "Assigned: the member serves it from %(start)s.",
                    start=local_time(task["start"]),
                ),
                "success",
            )
        except REFUSALS as exc:
            if status_of(exc) in (403, 404):
                raise
            flash(failure_text(exc), "error")
            return redirect(url_for("console.candidates", demand_id=demand_id))
    return redirect(url_for("console.tasks", community_id=community_id))


# --------------------------------------------------------------------------------------------
# 任务清单 and 服务清单
# --------------------------------------------------------------------------------------------


def _task_rows(
    s: Session, community_id: str, statuses: tuple[str, ...], member_id: str, overdue: bool
) -> list[dict[str, Any]]:
    query = scoped(
        select(Task, Demand)
        .join(Demand, Demand.id == Task.demand_id)
        .where(Demand.community_id == community_id, Task.status.in_(statuses)),
        client(),
    )
    if member_id:
        query = query.where(Task.member_id == member_id)
    if overdue:
        query = query.where(
            Task.status.in_(flow.BUSY_TASK_STATUSES) & (Demand.window_end <= utcnow())
        )
    rows = s.execute(query.order_by(Task.start, Task.id).limit(LIST_LIMIT))
    return [
        {
            **flow.present_task(task, demand.duration_hours, demand.window_end),
            "category": demand.category,
        }
        for task, demand in rows
    ]


def _task_counts(s: Session, community_id: str) -> dict[str, int]:
    rows = s.execute(
        scoped(
            select(Task.status, func.count(Task.id))
            .join(Demand, Demand.id == Task.demand_id)
            .where(Demand.community_id == community_id)
            .group_by(Task.status),
            client(),
        )
    )
    return {status: int(n) for status, n in rows}


@bp.route("/c/<community_id>/tasks")
@login_required
def tasks(community_id: str) -> ResponseReturnValue:
    """任务清单: offered and accepted tasks; declines and their automatic re-dispatch."""
    status = request.args.get("status", "")
    member_id = request.args.get("member", "")
    overdue = request.args.get("overdue") == "1"
    statuses = (status,) if status in flow.BUSY_TASK_STATUSES else flow.BUSY_TASK_STATUSES
    with db() as s:
        community = managed(s, community_id)
        rows = _task_rows(s, community.id, statuses, member_id, overdue)
        declined = _task_rows(s, community.id, ("declined",), member_id, False)[-20:]
        now_held = {
            task.demand_id: task
            for task in s.scalars(
                scoped(
                    select(Task).where(
                        Task.demand_id.in_([d["demand_id"] for d in declined]),
                        Task.status.in_(("offered", "accepted", "completed")),
                    ),
                    client(),
                )
            )
        }
        demand_status = dict(
            s.execute(
                select(Demand.id, Demand.status).where(
                    Demand.id.in_([d["demand_id"] for d in declined])
                )
            ).all()
        )
        members = _members_by_id(s, community.id)
        return community_page(
            "tasks.html",
            community,
            "tasks",
            tasks=rows,
            declined=declined,
            now_held=now_held,
            demand_status=demand_status,
            counts=_task_counts(s, community.id),
            members=members,
            status=status,
            member_id=member_id,
            overdue=overdue,
            export_url=api_export_url(community.id, "tasks"),
        )


@bp.route("/c/<community_id>/services")
@login_required
def services(community_id: str) -> ResponseReturnValue:
    """服务清单: completed services, to be rated."""
    member_id = request.args.get("member", "")
    unrated = request.args.get("unrated") == "1"
    with db() as s:
        community = managed(s, community_id)
        rows = _task_rows(s, community.id, ("completed",), member_id, False)
        if unrated:
            rows = [r for r in rows if r["rating"] is None]
        rows.sort(key=lambda r: r["completed_at"] or r["created_at"], reverse=True)  # newest first
        members = _members_by_id(s, community.id)
        return community_page(
            "services.html",
            community,
            "services",
            tasks=rows,
            counts=_task_counts(s, community.id),
            members=members,
            member_id=member_id,
            unrated=unrated,
            export_url=api_export_url(community.id, "services"),
        )


@bp.route("/tasks/<task_id>/rate", methods=["POST"])
@login_required
def rate(task_id: str) -> ResponseReturnValue:
    """评价: the resident's rating, entered by the community."""
    with db() as s:
        task = get_scoped(s, Task, task_id, client())
        demand = s.get(Demand, task.demand_id)
        assert demand is not None
        community_id = demand.community_id
        try:
            rating = int(request.form.get("rating", ""))
        except ValueError:
            rating = 0
        if not 1 <= rating <= 5:
            flash(_("Choose a rating from 1 to 5."), "error")
        else:
            try:
                flow.rate(s, client(), task_id, rating)
                flash(_("Rated %(stars)s.", stars="★" * rating), "success")
            except REFUSALS as exc:
                if status_of(exc) in (403, 404):
                    raise
                flash(failure_text(exc), "error")
    return back(url_for("console.services", community_id=community_id))


# --------------------------------------------------------------------------------------------
# The community's records: members, groups, posts and commitments, pairs, visits
# --------------------------------------------------------------------------------------------


@bp.route("/c/<community_id>/members")
@login_required
def members(community_id: str, revealed: dict[str, Any] | None = None) -> ResponseReturnValue:
    """在职党员: the community's members by name, phones masked (a manager may show one)."""
    with db() as s:
        community = managed(s, community_id)
        rows = list(
            s.scalars(
                scoped(
                    select(Member).where(Member.community_id == community.id).order_by(Member.id),
                    client(),
                )
            )
        )
        rows.sort(key=lambda m: (m.name is None, m.name or "", m.card_number))
        units = {u.id: u.name for u in s.scalars(select(Unit))}
        phones = {m.id: mask_phone(phone_of(m, cipher())) for m in rows}
        held = dict(
            s.execute(
                scoped(
                    select(Task.member_id, func.count(Task.id))
                    .where(Task.status.in_(flow.BUSY_TASK_STATUSES))
                    .group_by(Task.member_id),
                    client(),
                )
            ).all()
        )
        return community_page(
            "members.html",
            community,
            "members",
            members=rows,
            units=units,
            held=held,
            phones=phones,
            name_of=member_label,
            revealed=revealed,
            export_url=api_export_url(community.id, "members"),
            import_members_url=_api_import_url(community.id, "members"),
            members_template_url=_api_template_url("members"),
            import_residents_url=_api_import_url(community.id, "residents"),
            residents_template_url=_api_template_url("residents"),
        )


@bp.route("/c/<community_id>/members/<member_id>/phone", methods=["POST"])
@login_required
def member_phone(community_id: str, member_id: str) -> ResponseReturnValue:
    """One member's phone in clear on the members page (audited, for the community's
    managers)."""
    with db() as s:
        community = managed(s, community_id)
        member = get_scoped(s, Member, member_id, client())
        if member.community_id != community.id:
            raise NotFound("No such member.")
        found = reveal_phone(s, client(), member.id, cipher())
    revealed = {"name": member_label(member), "phone": found["phone"] or _("none on file")}
    return members(community_id, revealed=revealed)


# --------------------------------------------------------------------------------------------
# 活动台账 and 公示栏
# --------------------------------------------------------------------------------------------


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/c/<community_id>/ledger")
@login_required
def ledger_page(community_id: str) -> ResponseReturnValue:
    """活动台账: every service and visit, with per-member totals."""
    kind = request.args.get("kind") or None
    where = ledger.LedgerFilter(
        start=_date_arg("start"),
        end=_date_arg("end"),
        member_id=request.args.get("member") or None,
        kind=kind if kind in ledger.KINDS else None,
    )
    with db() as s:
        community = managed(s, community_id)
        community_key, visible = ledger.ledger_scope(s, client(), community.id)
        query = ledger.entries_query(community_key, where, members=visible)
        rows = list(s.execute(query.order_by(*ledger.entry_order(query)).limit(LIST_LIMIT)))
        entries = ledger.present_entries(s, rows)
        totals = ledger.ledger_totals(s, client(), community.id, where)
        return community_page(
            "ledger.html",
            community,
            "ledger",
            entries=entries,
            totals=totals,
            where=where,
            members=_members_by_id(s, community.id),
            export_url=api_export_url(community.id, "ledger"),
        )


@bp.route("/c/<community_id>/board")
@login_required
def board(community_id: str) -> ResponseReturnValue:
    """公示栏: the half year's board, full screen (members of the community may see it too)."""
    day = _date_arg("day") or datetime.now(LOCAL).date()
    with db() as s:
        shown = ledger.board(s, client(), community_id, day)
        return render_template("console/board.html", board=shown)


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------


@bp.route("/c/<community_id>/map")
@login_required
def map_page(community_id: str) -> ResponseReturnValue:
    """地图: the community's grids, buildings, demands (coloured by status) and members, drawn
    from :func:`service.web.api.sheets.community_map` (``detail=True``) embedded in the page,
    over the base map that :func:`service.web.console.base.tile_settings` chooses (none by
    default). Each feature gets its popup's text here, in the console's language: a demand's
    category, status, priority in words, content and time window in Beijing time
    (``12月9日 14:00–16:00``), a member's name."""
    from service.domain.labels import PRIORITY_LABELS
    from service.web.api.sheets import community_map
    from service.web.console.base import DEMAND_STATUS, category_label, is_chinese, label

    colours = {
        "open": "#d62728",
        "dispatched": "#ff7f0e",
        "accepted": "#9467bd",
        "completed": "#2ca02c",
        "closed": "#17651d",
        "cancelled": "#8c8c8c",
        "member": "#1f77b4",
        "building": "#5b4636",
        "grid": "#3f6f8f",
    }

    def day(value: datetime) -> str:
        local = value.astimezone(LOCAL)
        return f"{local.month}月{local.day}日" if is_chinese() else local.strftime("%b %-d")

    def window_text(start_iso: str, end_iso: str) -> str:
        start, end = datetime.fromisoformat(start_iso), datetime.fromisoformat(end_iso)
        same_day = start.astimezone(LOCAL).date() == end.astimezone(LOCAL).date()
        until = local_time(end, "%H:%M") if same_day else f"{day(end)} {local_time(end, '%H:%M')}"
        return f"{day(start)} {local_time(start, '%H:%M')}–{until}"

    with db() as s:
        community = managed(s, community_id)
        data = community_map(s, client(), community.id, detail=True)
        for feature in data["features"]:
            p = feature["properties"]
            if p["kind"] == "demand":
                p["title"] = category_label(p["category"])
                p["status_label"] = label(DEMAND_STATUS, p["status"])
                p["window_text"] = window_text(p["window_start"], p["window_end"])
                words = PRIORITY_LABELS.get(p["priority"]) if is_chinese() else None
                p["priority_text"] = words or f"{p['priority']}/5"
            elif p["kind"] == "member":
                p["title"] = p.get("name") or _("Member")
            elif p["kind"] == "building":
                p["title"] = f"{p['grid']} · {p['name']}"
            else:
                p["title"] = p["name"]
        centre = s.execute(
            select(func.avg(Member.lat), func.avg(Member.lon)).where(
                Member.community_id == community.id
            )
        ).one()
        return community_page(
            "map.html",
            community,
            "map",
            data=data,
            tiles=tile_settings(),
            colours=colours,
            statuses=[(code, label(DEMAND_STATUS, code)) for code in DEMAND_STATUSES],
            centre=[centre[0] or 34.75, centre[1] or 113.66],
        )
