"""The long-term modes in the console, with their actions, for the role that does them.

- 设岗认岗与承诺 (``/c/<id>/posts``): the dispatcher sets a post (category, title, seats, the
  commitment and its deadline), runs the allocation (the posts model, a synchronous solve of a
  few seconds at most) and reads its result explained (who got which post, and why somebody did
  not), then marks each commitment kept or missed. A member ranks their choices on
  ``/my/posts`` (我的岗位选择).
- 分组 (``/c/<id>/groups``): compute a proposal (the groups model, synchronous, 5 s at most),
  move a member between groups, record the elected leader, set a group's responsibility area.
- 结对 (``/c/<id>/pairs``): compute hand-in-hand pairs for the households chosen (the pairs
  model, synchronous), end and renew a pair; pair a unit with the community, end and renew it.
- 组团走访 (``/c/<id>/visits``): schedule the quarter over the groups and the households of
  their areas (the visits model, synchronous, 2 s), the calendars, and the attendance and notes
  of an outing once it has ended.

Each solve is a POST that answers with the result page (the long-term models are exact or
bounded to a few seconds, unlike a dispatch run, which is a background run).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.errors import InvalidProblemError
from matcher.visits.validation import validate_visit_problem
from matcher.vocabulary import CATEGORIES
from service.db.longterm import (
    VULNERABLE_CATEGORIES,
    Commitment,
    Group,
    HandInHandPair,
    Household,
    Post,
    PostChoice,
    UnitPair,
)
from service.db.registration import Grid, Member, Unit
from service.db.visits import VisitSchedule
from service.domain import visit_records
from service.domain.availability import LOCAL
from service.domain.errors import NotFound
from service.domain.longterm import common as longterm_common
from service.domain.longterm import groups as group_records
from service.domain.longterm import pairs as pair_records
from service.domain.longterm import posts as post_records
from service.web.api import API_PREFIX, current_solver
from service.web.console.base import (
    ERROR_TITLES,
    REFUSAL_TEXTS,
    bp,
    client,
    db,
    failure_text,
    login_required,
)
from service.web.console.dispatcher import community_page, managed
from service.web.console.member import current_member
from service.web.console.records import household_labels
from service.web.errors import REFUSALS, status_of
from service.web.schemas.jobs import VisitRequestSchema

MAX_CHOICES = 5
GROUPS_TIME_LIMIT_S = 5.0
VISITS_TIME_LIMIT_S = 2.0
MAX_VISIT_HOUSEHOLDS = 200

POST_REASONS = {
    "no_choices": _l("did not rank any post, and unranked members are not placed"),
    "no_skill": _l("does not hold the skills the posts they ranked require"),
    "full": _l("every post they ranked was full; ask them to rank more posts"),
}
GROUP_REASONS = {
    "too_few": _l("too few members for a group of the minimum size; lower the minimum"),
    "together": _l("kept together with members who could not be placed"),
    "conflict": _l("conflicts with members who must be apart"),
    "size": _l("every group is full; raise the maximum size"),
    "apart": _l("must be apart from members of every group"),
}
PAIR_REASONS = {
    "no_skill": _l("no member holds the skills this resident needs"),
    "out_of_range": _l("no member lives within the distance; widen it"),
    "capacity": _l("the members nearby already pair the most residents they may; raise it"),
    "member_left": _l("the member has left"),
    "other_community": _l("the member moved to another community"),
}
VISIT_REASONS = {
    "too_far": _l("too far from the team's starting point"),
    "no_slot": _l("no visiting day left in the quarter"),
    "capacity": _l("the quarter's visiting days hold too few outings; allow more days"),
    "quorum": _l("too few members of the group are free on the visiting days; add members"),
}
VULNERABLE = {
    "elderly": _l("Elderly (助老)"),
    "student": _l("Students (助学)"),
    "orphan": _l("Orphans (助孤)"),
    "disabled": _l("Disabled (助残)"),
    "poor": _l("Poor (助贫)"),
}
SESSION_STATUS = {"planned": _l("Planned"), "attended": _l("Attendance recorded")}


def period_text(period: str) -> str:
    """A pair's period in words: 2026年, 2026年上半年, 2026年第一季度."""
    year, part = period[:4], period[4:]
    if part == "H1":
        return _("First half of %(year)s", year=year)
    if part == "H2":
        return _("Second half of %(year)s", year=year)
    if part.startswith("Q"):
        return _("Quarter %(q)s of %(year)s", q=part[1:], year=year)
    return _("Year %(year)s", year=year)


def current_half() -> str:
    day = longterm_common.today()
    return f"{day.year}H{1 if day.month <= 6 else 2}"


def next_half(period: str) -> str:
    year = int(period[:4])
    if period.endswith("H1"):
        return f"{year}H2"
    if period.endswith("H2"):
        return f"{year + 1}H1"
    return str(year + 1)


def _names(s: Session, community_id: str) -> dict[str, Member]:
    rows = s.scalars(select(Member).where(Member.community_id == community_id))
    return {m.id: m for m in rows}


def _refused(exc: Exception, sentence: Any) -> None:
    """A refused change becomes a flash (403 and 404 stay the error page): the console's own
    sentence for a refusal with a known reason (:func:`failure_text`), else this action's."""
    if status_of(exc) in (403, 404):  # type: ignore[arg-type]
        raise exc
    if getattr(exc, "reason", None) in REFUSAL_TEXTS:
        flash(failure_text(exc), "error")  # type: ignore[arg-type]
        return
    title = ERROR_TITLES.get(status_of(exc), _l("Something went wrong"))  # type: ignore[arg-type]
    flash(f"{title}：{sentence}", "error")


def _invalid(exc: ValidationError) -> None:
    """A form the schema refused (the console names no API field)."""
    flash(_("Some of the form's values are not accepted; check them and send it again."), "error")


def page(template: str, community: Any, section: str, **context: Any) -> str:
    return community_page(
        template,
        community,
        section,
        period_text=period_text,
        CATEGORIES=CATEGORIES,
        **context,
    )


# --------------------------------------------------------------------------------------------
# 设岗认岗与承诺
# --------------------------------------------------------------------------------------------


def _choice_counts(s: Session, community_id: str) -> dict[str, dict[int, int]]:
    rows = s.execute(
        select(PostChoice.post_id, PostChoice.rank, func.count())
        .join(Post, Post.id == PostChoice.post_id)
        .where(Post.community_id == community_id)
        .group_by(PostChoice.post_id, PostChoice.rank)
    )
    counts: dict[str, dict[int, int]] = {}
    for post_id, rank, n in rows:
        counts.setdefault(post_id, {})[int(rank)] = int(n)
    return counts


@bp.route("/c/<community_id>/posts")
@login_required
def posts(community_id: str) -> ResponseReturnValue:
    """设岗认岗: the post menu with the choices made, the allocation and the commitments."""
    with db() as s:
        community = managed(s, community_id)
        post_rows = [
            post_records.present_post(p)
            for p in s.scalars(post_records.posts_of(community.id).order_by(Post.title))
        ]
        titles = {p["id"]: p["title"] for p in post_rows}
        day = longterm_common.today()
        commitments = [
            post_records.present_commitment(c, day)
            for c in s.scalars(
                post_records.visible_commitments(client())
                .where(Commitment.community_id == community.id, Commitment.status != "withdrawn")
                .order_by(Commitment.deadline, Commitment.id)
            )
        ]
        chose = s.scalar(
            select(func.count(func.distinct(PostChoice.member_id)))
            .join(Post, Post.id == PostChoice.post_id)
            .where(Post.community_id == community.id)
        )
        return page(
            "posts.html",
            community,
            "posts",
            posts=post_rows,
            titles=titles,
            commitments=commitments,
            counts=_choice_counts(s, community.id),
            chose=int(chose or 0),
            members=_names(s, community.id),
            today=day,
        )


@bp.route("/c/<community_id>/posts/new", methods=["POST"])
@login_required
def post_new(community_id: str) -> ResponseReturnValue:
    """设岗: a post of the menu, with the commitment its holder makes and its deadline."""
    form = request.form
    title = form.get("title", "").strip()
    category = form.get("category", "")
    service = form.get("service", "").strip()
    try:
        seats = int(form.get("seats", ""))
        deadline = date.fromisoformat(form["deadline"]) if form.get("deadline") else None
    except ValueError:
        seats, deadline = 0, None
    if not title or len(title) > 100 or category not in CATEGORIES or not 1 <= seats <= 100:
        flash(_("Give the post a title, a category and from 1 to 100 seats."), "error")
        return redirect(url_for("console.posts", community_id=community_id))
    if service and deadline is None:
        flash(_("A commitment needs its deadline."), "error")
        return redirect(url_for("console.posts", community_id=community_id))
    data: dict[str, Any] = {"category": category, "title": title, "seats": seats}
    data["commitment"] = {"service": service, "deadline": deadline} if service else None
    with db() as s:
        try:
            post_records.create_post(s, client(), community_id, data)
            flash(_("The post %(title)s is on the menu.", title=title), "success")
        except REFUSALS as exc:
            _refused(exc, _("The post could not be set; check its fields."))
    return redirect(url_for("console.posts", community_id=community_id))


@bp.route("/c/<community_id>/posts/allocate", methods=["POST"])
@login_required
def post_allocate(community_id: str) -> ResponseReturnValue:
    """认岗: run the posts model over the menu and the choices; then its result explained."""
    fill = request.form.get("fill_unranked") == "1"
    with db() as s:
        try:
            post_records.allocate(
                s, client(), community_id, fill_unranked=fill, solver=current_solver()
            )
        except REFUSALS as exc:
            _refused(
                exc, _("The allocation could not run: the records changed meanwhile; run it again.")
            )
            return redirect(url_for("console.posts", community_id=community_id))
    return redirect(url_for("console.post_allocation", community_id=community_id))


@bp.route("/c/<community_id>/posts/allocation")
@login_required
def post_allocation(community_id: str) -> ResponseReturnValue:
    """The latest allocation: who holds which post (and by which choice), who was left out and
    why, and the seats left."""
    with db() as s:
        community = managed(s, community_id)
        try:
            allocation = post_records.latest_allocation(s, client(), community.id)
        except NotFound:
            flash(_("No allocation yet: run it once members have ranked their choices."), "info")
            return redirect(url_for("console.posts", community_id=community.id))
        titles = {p.id: p.title for p in s.scalars(post_records.posts_of(community.id))}
        return page(
            "posts_allocation.html",
            community,
            "posts",
            allocation=allocation,
            titles=titles,
            members=_names(s, community.id),
            reasons=POST_REASONS,
        )


@bp.route("/commitments/<commitment_id>/mark", methods=["POST"])
@login_required
def commitment_mark(commitment_id: str) -> ResponseReturnValue:
    """A commitment kept or missed (the dispatcher, once its deadline came)."""
    status = request.form.get("status", "")
    with db() as s:
        commitment = post_records.get_commitment(s, client(), commitment_id)
        community_id = commitment.community_id
        if status not in ("kept", "missed"):
            flash(_("Choose kept or missed."), "error")
        else:
            try:
                post_records.mark(s, client(), commitment_id, status)
                flash(_("The commitment is marked."), "success")
            except REFUSALS as exc:
                _refused(exc, _("Only a commitment in progress can be marked kept or missed."))
    return redirect(url_for("console.posts", community_id=community_id))


@bp.route("/my/posts", methods=["GET", "POST"])
@login_required
def my_posts() -> ResponseReturnValue:
    """我的岗位选择: the member ranks up to five posts of their community, best first."""
    member = current_member()
    with db() as s:
        if request.method == "POST":
            chosen: list[str] = []
            for rank in range(1, MAX_CHOICES + 1):
                post_id = request.form.get(f"rank{rank}", "")
                if post_id and post_id not in chosen:
                    chosen.append(post_id)
            try:
                post_records.set_choices(s, client(), member.id, chosen)
                if chosen:
                    flash(_("Your choices are saved."), "success")
                else:
                    flash(_("Your choices are cleared."), "info")
            except REFUSALS as exc:
                _refused(
                    exc, _("Your choices could not be saved: choose posts of your own community.")
                )
            return redirect(url_for("console.my_posts"))
        menu = list(s.scalars(post_records.posts_of(member.community_id).order_by(Post.title)))
        choices = post_records.get_choices(s, client(), member.id)["posts"]
        day = longterm_common.today()
        mine = [
            post_records.present_commitment(c, day)
            for c in s.scalars(
                select(Commitment)
                .where(Commitment.member_id == member.id, Commitment.status != "withdrawn")
                .order_by(Commitment.created_at.desc())
            )
        ]
        return render_template(
            "console/my_posts.html",
            section="my_posts",
            menu=menu,
            choices=choices,
            titles={p.id: p.title for p in menu},
            commitments=mine,
            max_choices=MAX_CHOICES,
        )


# --------------------------------------------------------------------------------------------
# 分组
# --------------------------------------------------------------------------------------------


def _group_rows(s: Session, community_id: str) -> list[dict[str, Any]]:
    rows = list(s.scalars(select(Group).where(Group.community_id == community_id)))
    rows.sort(key=lambda g: (len(g.name), g.name))
    return group_records.present_groups(s, rows)


@bp.route("/c/<community_id>/groups")
@login_required
def groups(community_id: str) -> ResponseReturnValue:
    """分组: the groups, their leaders and areas; compute, move a member, record the leader."""
    with db() as s:
        community = managed(s, community_id)
        shown = _group_rows(s, community.id)
        members = _names(s, community.id)
        grouped = {m for g in shown for m in g["member_ids"]}
        free = [m for m in members.values() if m.status == "active" and m.id not in grouped]
        grids = list(s.scalars(select(Grid).where(Grid.community_id == community.id)))
        return page(
            "groups.html",
            community,
            "groups",
            groups=shown,
            members=members,
            free=sorted(free, key=lambda m: m.name or ""),
            grids=sorted(grids, key=lambda g: (g.created_at, g.name)),
            grid_names={g.id: g.name for g in grids},
        )


@bp.route("/c/<community_id>/groups/compute", methods=["POST"])
@login_required
def groups_compute(community_id: str) -> ResponseReturnValue:
    """分组: the groups model proposes groups (the old ones are dissolved); its result."""
    from service.web.schemas.longterm import ComputeGroupsSchema

    try:
        data = ComputeGroupsSchema().load(
            {
                "group_size": {
                    "min": int(request.form.get("min", "6")),
                    "max": int(request.form.get("max", "10")),
                },
                "time_limit_s": GROUPS_TIME_LIMIT_S,
                "replace": True,
            }
        )
    except (ValueError, ValidationError):
        flash(
            _("Group sizes are whole numbers from 2 to 200, the maximum not below the minimum."),
            "error",
        )
        return redirect(url_for("console.groups", community_id=community_id))
    with db() as s:
        try:
            result = group_records.compute_groups(
                s, client(), community_id, data, solver=current_solver()
            )
        except REFUSALS as exc:
            _refused(
                exc,
                _("The groups could not be computed: the records changed meanwhile; try again."),
            )
            return redirect(url_for("console.groups", community_id=community_id))
        community = managed(s, community_id)
        return page(
            "groups_result.html",
            community,
            "groups",
            result=result,
            members=_names(s, community.id),
            reasons=GROUP_REASONS,
            size=data["group_size"],
        )


@bp.route("/groups/<group_id>/move", methods=["POST"])
@login_required
def group_move(group_id: str) -> ResponseReturnValue:
    """Move a member into this group (out of the group they were in, if any)."""
    member_id = request.form.get("member_id", "")
    with db() as s:
        target = longterm_common.find_managed(s, Group, group_id, client())
        community_id = target.community_id
        try:
            current = {g["id"]: g for g in _group_rows(s, community_id)}
            source = next((g for g in current.values() if member_id in g["member_ids"]), None)
            if source is not None and source["id"] != target.id:
                rest = [m for m in source["member_ids"] if m != member_id]
                change: dict[str, Any] = {"member_ids": rest}
                if source["leader_id"] == member_id:
                    change["leader_id"] = None
                group_records.update_group(s, client(), source["id"], change)
            members = current[target.id]["member_ids"]
            if member_id not in members:
                group_records.update_group(
                    s, client(), target.id, {"member_ids": [*members, member_id]}
                )
            flash(_("The member joined %(group)s.", group=target.name), "success")
        except REFUSALS as exc:
            _refused(exc, _("The member could not be moved: a member is in one group at most."))
    return redirect(url_for("console.groups", community_id=community_id))


@bp.route("/groups/<group_id>/leader", methods=["POST"])
@login_required
def group_leader(group_id: str) -> ResponseReturnValue:
    """The leader the group's members elected (one of them)."""
    leader_id = request.form.get("leader_id") or None
    with db() as s:
        group = longterm_common.find_managed(s, Group, group_id, client())
        community_id = group.community_id
        try:
            group_records.update_group(s, client(), group.id, {"leader_id": leader_id})
            flash(_("The leader of %(group)s is recorded.", group=group.name), "success")
        except REFUSALS as exc:
            _refused(exc, _("The leader must be one of the group's members."))
    return redirect(url_for("console.groups", community_id=community_id))


@bp.route("/groups/<group_id>/area", methods=["POST"])
@login_required
def group_area(group_id: str) -> ResponseReturnValue:
    """A group's responsibility area: grids of the community (their buildings and households)."""
    grids = request.form.getlist("grids")
    with db() as s:
        group = longterm_common.find_managed(s, Group, group_id, client())
        community_id = group.community_id
        try:
            area = {"buildings": [], "grids": grids}
            group_records.update_group(s, client(), group.id, {"area": area})
            flash(_("The area of %(group)s is recorded.", group=group.name), "success")
        except REFUSALS as exc:
            _refused(exc, _("The area must be grids of the community."))
    return redirect(url_for("console.groups", community_id=community_id))


# --------------------------------------------------------------------------------------------
# 结对: 拉手式 and 结对共建
# --------------------------------------------------------------------------------------------


@bp.route("/c/<community_id>/pairs")
@login_required
def pairs(community_id: str) -> ResponseReturnValue:
    """拉手式 and 结对共建 pairs, with their actions."""
    with db() as s:
        community = managed(s, community_id)
        hand = [
            pair_records.present_pair(p)
            for p in s.scalars(
                pair_records.hand_in_hand_of(client(), community.id).order_by(
                    HandInHandPair.end_date.is_not(None), HandInHandPair.start_date.desc()
                )
            )
        ]
        units = [
            pair_records.present_pair(p)
            for p in s.scalars(
                select(UnitPair)
                .where(UnitPair.community_id == community.id)
                .order_by(UnitPair.end_date.is_not(None), UnitPair.start_date.desc())
            )
        ]
        all_units = list(s.scalars(select(Unit).order_by(Unit.name)))
        households = household_labels(s, community.id)
        period = current_half()
        return page(
            "pairs.html",
            community,
            "pairs",
            hand=hand,
            units=units,
            all_units=all_units,
            unit_names={u.id: u.name for u in all_units},
            members=_names(s, community.id),
            households=households,
            paired={p["resident_ref"] for p in hand if p["active"]},
            vulnerable=VULNERABLE,
            period=period,
            next_period=next_half(period),
        )


def _residents(s: Session, community_id: str, form: Any) -> list[dict[str, Any]]:
    chosen = {h: form.get(f"cat-{h}") for h in form.getlist("household")}
    rows = s.scalars(
        select(Household).where(
            Household.community_id == community_id, Household.id.in_(list(chosen))
        )
    )
    return [
        {
            "resident_ref": h.id,
            "category": chosen[h.id] if chosen[h.id] in VULNERABLE_CATEGORIES else "elderly",
            "location": {"lat": h.lat, "lon": h.lon},
            "vulnerability": 3,
        }
        for h in rows
    ]


@bp.route("/c/<community_id>/pairs/compute", methods=["POST"])
@login_required
def pairs_compute(community_id: str) -> ResponseReturnValue:
    """拉手式: the pairs model pairs the chosen households with members nearby; its result."""
    from service.web.schemas.longterm import ComputePairsSchema

    with db() as s:
        community = managed(s, community_id)
        residents = _residents(s, community.id, request.form)
        if not residents:
            flash(_("Tick the households to pair first."), "error")
            return redirect(url_for("console.pairs", community_id=community.id))
        try:
            data = ComputePairsSchema().load(
                {
                    "period": request.form.get("period") or current_half(),
                    "residents": residents,
                    "max_distance_km": float(request.form.get("max_distance_km") or 3),
                    "max_residents_per_member": int(request.form.get("per_member") or 2),
                }
            )
        except (ValueError, ValidationError) as exc:
            if isinstance(exc, ValidationError):
                _invalid(exc)
            else:
                flash(_("The distance and the number per member are numbers."), "error")
            return redirect(url_for("console.pairs", community_id=community.id))
        try:
            result = pair_records.compute_hand_in_hand(
                s, client(), community.id, data, solver=current_solver()
            )
        except REFUSALS as exc:
            _refused(
                exc, _("The pairs could not be computed: the records changed meanwhile; try again.")
            )
            return redirect(url_for("console.pairs", community_id=community.id))
        community = managed(s, community_id)
        return page(
            "pairs_result.html",
            community,
            "pairs",
            result=result,
            members=_names(s, community.id),
            households=household_labels(s, community.id),
            reasons=PAIR_REASONS,
            vulnerable=VULNERABLE,
        )


def _pair_action(kind: str, pair_id: str, action: str) -> ResponseReturnValue:
    """End a pair today, or carry it into the next period (the current one ends today)."""
    if kind not in ("hand", "unit"):
        raise NotFound("No such pair.")
    with db() as s:
        pair: HandInHandPair | UnitPair
        if kind == "hand":
            pair = longterm_common.find(s, HandInHandPair, pair_id, client())
        else:
            pair = longterm_common.find(s, UnitPair, pair_id, client())
        community_id = pair.community_id
        period = request.form.get("period") or next_half(pair.period)
        try:
            if action == "end":
                if isinstance(pair, HandInHandPair):
                    pair_records.end_pair(s, client(), HandInHandPair, pair.id, None)
                else:
                    pair_records.end_pair(s, client(), UnitPair, pair.id, None)
                flash(_("The pair has ended."), "success")
            else:
                data = {"period": period, "start_date": None}
                if isinstance(pair, HandInHandPair):
                    pair_records.renew_pair(s, client(), HandInHandPair, pair.id, data)
                else:
                    pair_records.renew_pair(s, client(), UnitPair, pair.id, data)
                flash(
                    _("The pair is renewed for %(period)s.", period=period_text(period)),
                    "success",
                )
        except REFUSALS as exc:
            if action == "end":
                _refused(exc, _("This pair has ended already."))
            else:
                _refused(
                    exc,
                    _("This pair cannot be renewed: it has ended, or the period is its own."),
                )
    return redirect(url_for("console.pairs", community_id=community_id))


@bp.route("/pairs/<kind>/<pair_id>/end", methods=["POST"])
@login_required
def pair_end(kind: str, pair_id: str) -> ResponseReturnValue:
    """End a pair today (拉手式 ``hand`` or 结对共建 ``unit``)."""
    return _pair_action(kind, pair_id, "end")


@bp.route("/pairs/<kind>/<pair_id>/renew", methods=["POST"])
@login_required
def pair_renew(kind: str, pair_id: str) -> ResponseReturnValue:
    """Carry a pair into the next period (the current one ends today)."""
    return _pair_action(kind, pair_id, "renew")


@bp.route("/c/<community_id>/unit-pairs/new", methods=["POST"])
@login_required
def unit_pair_new(community_id: str) -> ResponseReturnValue:
    """结对共建: the unit proposed, accepted for the period."""
    unit_id = request.form.get("unit_id", "")
    period = request.form.get("period") or current_half()
    with db() as s:
        try:
            pair_records.create_unit_pair(
                s,
                client(),
                community_id,
                {"unit_id": unit_id, "period": period, "start_date": None},
            )
            flash(_("The unit is paired with the community."), "success")
        except REFUSALS as exc:
            _refused(
                exc, _("This unit is paired with the community already; end or renew that pair.")
            )
    return redirect(url_for("console.pairs", community_id=community_id))


# --------------------------------------------------------------------------------------------
# 组团走访
# --------------------------------------------------------------------------------------------


def quarter_of(day: date) -> tuple[date, date]:
    """The calendar quarter that holds ``day``."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + 3
    end = (
        date(day.year + 1, 1, 1) if end_month > 12 else date(day.year, end_month, 1)
    ) - timedelta(days=1)
    return start, end


def _teams(s: Session, community_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The groups with members and households as the visit problem's teams and areas."""
    active = set(
        s.scalars(
            select(Member.id).where(Member.community_id == community_id, Member.status == "active")
        )
    )
    teams: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    taken: set[str] = set()  # a household is visited by one group (the first whose area holds it)
    for group in _group_rows(s, community_id):
        row = s.get(Group, group["id"])
        assert row is not None
        members = [m for m in group["member_ids"] if m in active]
        households = [
            h for h in s.scalars(group_records.households_of_area(row)) if h.id not in taken
        ]
        taken.update(h.id for h in households)
        if len(members) < 2 or not households:
            continue
        lat = sum(h.lat for h in households) / len(households)
        lon = sum(h.lon for h in households) / len(households)
        area = f"area-{group['id']}"
        leader = group["leader_id"] if group["leader_id"] in members else None
        teams.append(
            {
                "id": group["name"],
                "members": members,
                "leader": leader,
                "quorum": 2,
                "area": area,
            }
        )
        areas.append(
            {
                "id": area,
                "start": {"lat": lat, "lon": lon},
                "households": [
                    {
                        "id": h.id,
                        "location": {"lat": h.lat, "lon": h.lon},
                        "visit_minutes": 20,
                        "visits": 1,
                    }
                    for h in households
                ],
            }
        )
    return teams, areas


@bp.route("/c/<community_id>/visits")
@login_required
def visits(community_id: str) -> ResponseReturnValue:
    """组团走访: schedule the quarter, the calendars, attendance and notes after an outing."""
    with db() as s:
        community = managed(s, community_id)
        schedules = list(
            s.scalars(
                visit_records.schedules_query(client(), community.id).order_by(
                    VisitSchedule.created_at.desc()
                )
            )
        )
        shown = [visit_records.present_schedule(s, row) for row in schedules[:3]]
        teams, _areas = _teams(s, community.id)
        start, end = quarter_of(longterm_common.today())
        return page(
            "visits.html",
            community,
            "visits",
            schedules=shown,
            api=f"{request.script_root}{API_PREFIX}",
            teams=teams,
            quarter=(start, end),
            households=household_labels(s, community.id),
            members=_names(s, community.id),
            now=datetime.now(LOCAL),
            reasons=VISIT_REASONS,
            session_status=SESSION_STATUS,
        )


@bp.route("/c/<community_id>/visits/schedule", methods=["POST"])
@login_required
def visits_schedule(community_id: str) -> ResponseReturnValue:
    """Schedule a quarter of visits over the groups and the households of their areas."""
    try:
        start = date.fromisoformat(request.form.get("start", ""))
        end = date.fromisoformat(request.form.get("end", ""))
    except ValueError:
        start, end = quarter_of(longterm_common.today())
    with db() as s:
        managed(s, community_id)
        teams, areas = _teams(s, community_id)
        if not teams:
            flash(
                _(
                    "No group can visit yet: a group needs two members and an area with "
                    "households (set them on the groups page)."
                ),
                "error",
            )
            return redirect(url_for("console.visits", community_id=community_id))
        body = {
            "quarter": {"start": start.isoformat(), "end": end.isoformat()},
            "visit_weekdays": ["sat", "sun"],
            "max_sessions_per_day": 2,
            "session": {"start": "09:00", "max_hours": 3.0},
            "members": [{"id": m} for m in sorted({m for t in teams for m in t["members"]})],
            "teams": teams,
            "areas": areas,
            "options": {"time_limit_s": VISITS_TIME_LIMIT_S, "seed": 0},
        }
        try:
            problem = VisitRequestSchema().load(body)
        except ValidationError as exc:
            _invalid(exc)
            return redirect(url_for("console.visits", community_id=community_id))
        try:
            validate_visit_problem(problem)
        except InvalidProblemError:
            flash(
                _("The groups' areas overlap or a group has no leader among its members."), "error"
            )
            return redirect(url_for("console.visits", community_id=community_id))
        try:
            visit_records.create_schedule(
                s,
                client(),
                community_id,
                problem,
                max_households=MAX_VISIT_HOUSEHOLDS,
                solver=current_solver(),
                max_time_limit_s=VISITS_TIME_LIMIT_S,
            )
            flash(_("The quarter is scheduled; the calendars are ready to download."), "success")
        except REFUSALS as exc:
            _refused(
                exc,
                _(
                    "The quarter could not be scheduled: pick dates of one quarter, and groups "
                    "of active members."
                ),
            )
    return redirect(url_for("console.visits", community_id=community_id))


@bp.route("/visit-sessions/<session_id>/attendance", methods=["POST"])
@login_required
def visit_attendance(session_id: str) -> ResponseReturnValue:
    """After an outing: who came, which households were visited, and the notes."""
    with db() as s:
        row = visit_records.get_session_row(s, client(), session_id)
        community_id = row.community_id
        members = request.form.getlist("members")
        households = request.form.getlist("households")
        notes = request.form.get("notes", "").strip() or None
        if not members:
            flash(_("Tick at least one member who came."), "error")
            return redirect(url_for("console.visits", community_id=community_id))
        try:
            visit_records.record_attendance(
                s,
                client(),
                session_id,
                {"members": members, "households": households, "notes": notes},
            )
            flash(_("The outing is recorded."), "success")
        except REFUSALS as exc:
            _refused(
                exc,
                _(
                    "The outing cannot be recorded yet: only after it has ended, with its "
                    "group's members and households."
                ),
            )
    return redirect(url_for("console.visits", community_id=community_id))
