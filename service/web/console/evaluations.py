"""The five evaluations (五评议) in the console.

- Dispatcher: ``/console/c/<id>/evaluations?period=2026H2`` (or ``?year=2026``): the community's
  results per member (points and their breakdown; at the year end the tier, stars, the
  最美在职党员 shortlist and vetoes), the reports (the API's ``.xlsx`` and ``.html``), and forms
  to record a veto (一票否决), enter a survey answer (群众测评) and edit the points scheme.
- Member: ``/console/my/evaluation``: the pre-filled self-evaluation (党员自评), submitted once.
- Unit organiser: ``/console/unit/evaluations``: the unit's members flagged (never reported,
  never served) and a leader review (领导点评) per member.

Every figure comes from :mod:`service.domain.evaluations` (the API's logic); every posted form
is loaded by the API's schema and written by the same function as the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from service.db.evaluations import LeaderReview
from service.db.registration import Community, Member
from service.domain.availability import LOCAL
from service.domain.errors import DomainError
from service.domain.evaluations import periods as evaluation_periods
from service.domain.evaluations import records as evaluation_records
from service.domain.evaluations import results as evaluation_results
from service.domain.evaluations.periods import Period
from service.domain.evaluations.scheme import ITEMS, TIERS
from service.domain.scope import scoped
from service.web.api import API_PREFIX
from service.web.console.base import (
    bp,
    client,
    db,
    failure_text,
    is_chinese,
    login_required,
)
from service.web.console.dispatcher import community_page, managed, member_text
from service.web.console.forms import flatten, integer, number, present
from service.web.console.member import current_member
from service.web.errors import REFUSALS, fail, refusal_errors, status_of
from service.web.schemas.evaluations import (
    LeaderReviewCreateSchema,
    PeriodQuerySchema,
    PointsSchemeSchema,
    SelfEvaluationCreateSchema,
    SurveyResponseCreateSchema,
    VetoCreateSchema,
)

ITEM_LABELS = {
    "services": _l("Services"),
    "hours": _l("Hours served"),
    "rating_points": _l("Rating points (sum of rating − 3)"),
    "commitments_kept": _l("Commitments kept"),
    "visits": _l("Team visits"),
    "survey_points": _l("Survey points (sum of score − 3)"),
    "no_shows": _l("No-shows"),
    "declines": _l("Declines"),
    "commitments_missed": _l("Commitments missed"),
    "late_completions": _l("Late completions"),
}
TIER_NAMES = {
    "excellent": _l("Excellent"),
    "good": _l("Good"),
    "fair": _l("Fair"),
    "poor": _l("Poor"),
    "bad": _l("Bad"),
}
RESPONDENT_KINDS = {
    "representative": _l("Residents' representative"),
    "served_resident": _l("Served resident"),
}
FLAG_REASONS = {
    "never_reported": _l("Never reported to the community"),
    "never_served": _l("Did not serve in this half year"),
}
WEIGHT_LABELS = {
    "per_hour": _l("Per hour served"),
    "per_service": _l("Per service"),
    "per_rating_point": _l("Per rating point"),
    "per_commitment_kept": _l("Per commitment kept"),
    "per_visit": _l("Per team visit"),
    "per_survey_point": _l("Per survey point"),
}
PENALTY_LABELS = {
    "per_no_show": _l("Per no-show"),
    "per_decline": _l("Per decline"),
    "per_missed_commitment": _l("Per commitment missed"),
    "per_late_completion": _l("Per late completion"),
}
TIER_MODES = {"thresholds": _l("Thresholds (least year points)"), "quotas": _l("Quotas (shares)")}


def current_period() -> Period:
    return Period.containing(datetime.now(LOCAL).date())


def period_text(value: Period | str) -> str:
    """A half year as people say it: "2026年上半年" (the code ``2026H1`` stays in the forms'
    values and the URLs, never in the text)."""
    period = value if isinstance(value, Period) else Period.parse(value)
    if period.half == 1:
        return _("First half of %(year)s", year=period.year)
    return _("Second half of %(year)s", year=period.year)


def year_text(year: int) -> str:
    """A year as people say it: "2026年"."""
    return f"{year}年" if is_chinese() else str(year)


def points_text(value: float | None) -> str:
    """Points and quantities to two decimals at most, and never "-0" (a sum of zero penalties is
    a negative zero in floating point)."""
    if value is None:
        return ""
    rounded = round(value, 2) + 0.0  # -0.0 + 0.0 is 0.0
    return f"{rounded:g}"


def _words() -> dict[str, Any]:
    """What the evaluation pages format with: periods, years, points and the colon (full width
    after Chinese text)."""
    return {
        "period_text": period_text,
        "year_text": year_text,
        "points_text": points_text,
        "colon": "：" if is_chinese() else ": ",
    }


def _period_choices(around: Period) -> list[str]:
    """The half years offered by the forms: this year's and last year's (that have begun)."""
    now = current_period()
    found = {str(Period(y, h)) for y in (now.year - 1, now.year) for h in (1, 2)}
    found.add(str(around))
    return sorted((p for p in found if Period.parse(p) <= now), reverse=True)


def _when() -> tuple[Period | None, int | None]:
    """``?period=2026H2`` or ``?year=2026`` (checked by the API's query schema); else the
    current half year."""
    period, year = request.args.get("period") or None, request.args.get("year") or None
    if period is None and year is None:
        return current_period(), None
    try:
        query = PeriodQuerySchema().load({"period": period, "year": year})
    except ValidationError as err:
        fail(422, _("Choose a half year (2026H1) or a year (2026)."), errors=err.messages)  # type: ignore[arg-type]
    if query["period"] is not None:
        return Period.parse(query["period"]), None
    return None, int(query["year"])


def _half_year_arg() -> Period:
    period, year = _when()
    if period is None:
        assert year is not None
        return Period(year, 2) if Period(year, 2) <= current_period() else Period(year, 1)
    return period


def _load(schema: Any, body: dict[str, Any]) -> dict[str, Any] | None:
    """The body loaded by the API's schema, or None after flashing its messages."""
    try:
        data: dict[str, Any] = schema.load(body)
    except ValidationError as err:
        for field, texts in flatten(err.messages).items():
            flash(_field_message(field, texts), "error")
        return None
    return data


FIELD_NAMES = {
    "member_id": _l("Member"),
    "period": _l("Half year"),
    "statement": _l("Statement"),
    "score": _l("Score"),
    "respondent_kind": _l("Respondent"),
    "respondent_ref": _l("Respondent reference"),
    "text": _l("Report"),
    "mark": _l("Mark"),
    "comment": _l("Comment"),
    "tiers": _l("Tiers"),
    "stars": _l("Stars"),
    "veto_star_cap": _l("Stars left after a veto"),
    "shortlist_size": _l("Shortlist size"),
}


def _field_name(path: str) -> str:
    head = path.split(".")[0]
    if head in ("weights", "penalties"):
        key = path.split(".")[-1]
        return str(WEIGHT_LABELS.get(key) or PENALTY_LABELS.get(key) or key)
    return str(FIELD_NAMES.get(head, path))


def _field_message(field: str, texts: list[str]) -> str:
    return _("%(field)s: %(message)s", field=_field_name(field), message="; ".join(texts))


def _refused(exc: HTTPException | DomainError, conflict: str) -> None:
    """A refused change as a message (403 and 404 stay error pages)."""
    if status_of(exc) in (403, 404):
        raise exc
    if status_of(exc) == 409:
        flash(conflict, "error")
    else:
        errors = refusal_errors(exc)
        if errors:
            for field, texts in flatten(errors).items():
                flash(_field_message(field, texts), "error")
        else:
            flash(failure_text(exc), "error")


def _members(s: Session, where: Any) -> dict[str, Member]:
    return {m.id: m for m in s.scalars(scoped(select(Member).where(where), client()))}


# --------------------------------------------------------------------------------------------
# Dispatcher: the community's results, vetoes, surveys, the points scheme
# --------------------------------------------------------------------------------------------


@bp.route("/c/<community_id>/evaluations")
@login_required
def evaluations_page(community_id: str) -> ResponseReturnValue:
    """五评议: the community's half-year or year-end results with the forms that feed them."""
    period, year = _when()
    with db() as s:
        community = managed(s, community_id)
        found = evaluation_results.results(
            s, client(), "community", community.id, period=period, year=year
        )
        members = _members(s, Member.community_id == community.id)
        vetoes = [
            v
            for v in evaluation_records.list_vetoes(s, client(), community.id)
            if (Period.parse(v.period).year == year if period is None else v.period == str(period))
        ]
        halves = [period] if period is not None else list(evaluation_periods.halves(int(year or 0)))
        shown_periods = [h for h in halves if h <= current_period()]
        surveys = [
            answer
            for half in shown_periods
            for answer in evaluation_records.list_survey_responses(s, client(), community.id, half)
        ]
        form_period = shown_periods[-1] if shown_periods else current_period()
        scheme = evaluation_records.get_scheme(s, client(), community.id)
        query = f"period={period}" if period is not None else f"year={year}"
        api = f"{request.script_root}{API_PREFIX}/communities/{community.id}/evaluation"
        return community_page(
            "evaluations.html",
            community,
            "evaluations",
            found=found,
            period=period,
            year=year,
            members=members,
            member_choices=sorted(members.values(), key=lambda m: m.id),
            vetoes=vetoes,
            surveys=surveys,
            form_period=str(form_period),
            scheme=scheme,
            periods=_period_choices(form_period),
            years=sorted(
                {Period.parse(p).year for p in _period_choices(form_period)}, reverse=True
            ),
            shown_year=year or (period.year if period is not None else current_period().year),
            xlsx_url=f"{api}.xlsx?{query}",
            html_url=f"{api}.html?{query}",
            items=ITEMS,
            item_labels=ITEM_LABELS,
            tier_names=TIER_NAMES,
            tiers=TIERS,
            respondent_kinds=RESPONDENT_KINDS,
            weight_labels=WEIGHT_LABELS,
            penalty_labels=PENALTY_LABELS,
            tier_modes=TIER_MODES,
            back_url=request.full_path.rstrip("?"),
            **_words(),
        )


def _back_to(community_id: str) -> ResponseReturnValue:
    target = request.form.get("back") or ""
    prefix = url_for("console.evaluations_page", community_id=community_id)
    return redirect(target if target.startswith(prefix) else prefix)


@bp.route("/c/<community_id>/evaluations/vetoes", methods=["POST"])
@login_required
def record_veto(community_id: str) -> ResponseReturnValue:
    """一票否决: the community's written statement that a member never served."""
    body = present(request.form, "member_id", "period", "statement")
    with db() as s:
        community = managed(s, community_id)
        data = _load(VetoCreateSchema(), body)
        if data is not None:
            try:
                evaluation_records.record_veto(s, client(), community.id, data)
                flash(_("The veto statement was recorded."), "success")
            except REFUSALS as exc:
                _refused(exc, _("A veto of this member for this half year is recorded already."))
    return _back_to(community_id)


@bp.route("/c/<community_id>/evaluations/surveys", methods=["POST"])
@login_required
def add_survey(community_id: str) -> ResponseReturnValue:
    """群众测评: one respondent's score of a member."""
    body: dict[str, Any] = present(
        request.form, "member_id", "period", "score", "respondent_kind", "respondent_ref"
    )
    if "score" in body:
        body["score"] = integer(body["score"])
    with db() as s:
        community = managed(s, community_id)
        data = _load(SurveyResponseCreateSchema(), body)
        if data is not None:
            try:
                evaluation_records.add_survey_response(s, client(), community.id, data)
                flash(_("The survey answer was entered."), "success")
            except REFUSALS as exc:
                _refused(exc, _("This respondent's answer about this member is entered already."))
    return _back_to(community_id)


def scheme_body(form: Any) -> dict[str, Any]:
    """The points scheme's JSON body from the form's fields."""

    def value(name: str) -> Any:
        return number((form.get(name) or "").strip())

    return {
        "weights": {key: value(f"weights.{key}") for key in WEIGHT_LABELS},
        "penalties": {key: value(f"penalties.{key}") for key in PENALTY_LABELS},
        "tiers": {
            "mode": form.get("tiers.mode", ""),
            **{tier: value(f"tiers.{tier}") for tier in TIERS[:-1]},
        },
        "stars": [value(f"stars.{n}") for n in range(5)],
        "veto_star_cap": integer((form.get("veto_star_cap") or "").strip()),
        "shortlist_size": integer((form.get("shortlist_size") or "").strip()),
    }


@bp.route("/c/<community_id>/evaluations/scheme", methods=["POST"])
@login_required
def put_scheme(community_id: str) -> ResponseReturnValue:
    """社区参评: replace the points scheme."""
    with db() as s:
        community = managed(s, community_id)
        data = _load(PointsSchemeSchema(), scheme_body(request.form))
        if data is not None:
            try:
                evaluation_records.put_scheme(s, client(), community.id, data)
                flash(_("The points scheme was saved."), "success")
            except REFUSALS as exc:
                _refused(exc, "")
    return _back_to(community_id)


# --------------------------------------------------------------------------------------------
# Member: the self-evaluation (党员自评)
# --------------------------------------------------------------------------------------------


@bp.route("/my/evaluation", methods=["GET", "POST"])
@login_required
def my_evaluation() -> ResponseReturnValue:
    """党员自评: the pre-filled draft of the half year, submitted once."""
    member = current_member()
    if request.method == "POST":
        body = present(request.form, "period", "text")
        data = _load(SelfEvaluationCreateSchema(), body)
        if data is not None:
            with db() as s:
                try:
                    evaluation_records.submit_self_evaluation(s, client(), member.id, data)
                    flash(_("Your self-evaluation was submitted."), "success")
                except REFUSALS as exc:
                    _refused(
                        exc,
                        _(
                            "You have already submitted the self-evaluation of this half year; "
                            "it cannot be submitted again."
                        ),
                    )
        period_text = body.get("period") or str(current_period())
        return redirect(url_for("console.my_evaluation", period=period_text))
    period = _half_year_arg()
    with db() as s:
        found = evaluation_records.draft(s, client(), member.id, period)
        submitted = found["submitted"]
        if submitted is not None:
            s.expunge(submitted)
    return render_template(
        "console/my_evaluation.html",
        member=member,
        draft=found,
        submitted=submitted,
        period=period,
        periods=_period_choices(period),
        started=period <= current_period(),
        section="evaluation",
        **_words(),
    )


# --------------------------------------------------------------------------------------------
# Unit organiser: flags and leader reviews (领导点评)
# --------------------------------------------------------------------------------------------


def _organiser_unit() -> str:
    me = client()
    if me.role != "unit_organiser" or not me.unit_id:
        fail(403, "These pages are for unit organisers.")
    return me.unit_id


@bp.route("/unit/evaluations")
@login_required
def unit_evaluations() -> ResponseReturnValue:
    """The unit's members in a half year: flagged ones first, a leader review for each."""
    unit_id = _organiser_unit()
    period = _half_year_arg()
    with db() as s:
        flags = evaluation_records.unit_flags(s, client(), unit_id, period)
        ids = [r["member_id"] for r in flags["members"]]
        members = _members(s, Member.id.in_(ids))
        reviews = {
            r.member_id: r
            for r in s.scalars(
                select(LeaderReview).where(
                    LeaderReview.member_id.in_(ids), LeaderReview.period == str(period)
                )
            )
        }
        for review in reviews.values():
            s.expunge(review)
        rows = sorted(flags["members"], key=lambda r: (not r["reasons"], r["member_id"]))
        community_ids = {r["community_id"] for r in rows}
        communities = {
            c.id: c.name
            for c in s.scalars(select(Community).where(Community.id.in_(community_ids)))
        }
        return render_template(
            "console/unit_evaluations.html",
            flags=flags,
            rows=rows,
            members=members,
            reviews=reviews,
            period=period,
            periods=_period_choices(period),
            member_text=member_text,
            tier_names=TIER_NAMES,
            flag_reasons=FLAG_REASONS,
            marks=TIERS[:-1],
            communities=communities,
            section="unit_evaluations",
            **_words(),
        )


@bp.route("/unit/members/<member_id>/review", methods=["POST"])
@login_required
def leader_review(member_id: str) -> ResponseReturnValue:
    """领导点评: the unit organiser's comment and mark of a member for a half year."""
    _organiser_unit()
    body = present(request.form, "period", "mark", "comment")
    data = _load(LeaderReviewCreateSchema(), body)
    if data is not None:
        with db() as s:
            try:
                evaluation_records.review(s, client(), member_id, data)
                flash(_("The leader review was recorded."), "success")
            except REFUSALS as exc:
                _refused(
                    exc, _("This member's leader review of this half year is recorded already.")
                )
    period_text = body.get("period") or str(current_period())
    return redirect(url_for("console.unit_evaluations", period=period_text))
