"""The five evaluations (五评议): self-evaluations, leader reviews, residents' surveys, the
points scheme, vetoes, and the half-year and year-end results with their reports.

``/members/{id}/self-evaluation`` (the pre-filled draft; the member submits),
``/members/{id}/leader-reviews`` (the unit's organiser), ``/units/{id}/evaluation-flags``,
``/communities/{id}/survey-responses``, ``/communities/{id}/points-scheme``,
``/communities/{id}/vetoes``, and ``/{members,units,communities}/{id}/evaluation`` with
``.xlsx`` and ``.html`` reports. The logic is :mod:`service.domain.evaluations`; objects
outside the client's scope answer 404.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Response, current_app, render_template_string
from flask.views import MethodView
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import Session

from service.db.registration import Community, Member, Unit
from service.domain.evaluations import records as evaluation_records
from service.domain.evaluations import results as evaluation_results
from service.domain.evaluations.periods import Period
from service.domain.evaluations.scheme import ITEMS, TIER_LABELS
from service.domain.members import member_label
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint
from service.web.auth import current_client
from service.web.schemas.evaluations import (
    DraftSchema,
    EvaluationResultsSchema,
    HalfYearQuerySchema,
    LeaderReviewCreateSchema,
    LeaderReviewRecordSchema,
    PeriodQuerySchema,
    PointsSchemeRecordSchema,
    PointsSchemeSchema,
    SelfEvaluationCreateSchema,
    SelfEvaluationRecordSchema,
    SurveyResponseCreateSchema,
    SurveyResponseRecordSchema,
    UnitFlagsSchema,
    VetoCreateSchema,
    VetoRecordSchema,
)

blp = Blueprint(
    "evaluations",
    __name__,
    url_prefix=API_PREFIX,
    description="The five evaluations (五评议): self-evaluation, leader review, residents' "
    "rating, community points with year-end tiers, stars and shortlist, and the veto.",
)

_ERRORS = (*AUTH_ERRORS, 403, 404)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _session() -> Session:
    session: Session = current_app.extensions["linli"].sessions()
    return session


def _results(scope: str, object_id: str, query: dict[str, Any]) -> dict[str, Any]:
    period = None if query["period"] is None else Period.parse(query["period"])
    with _session() as session:
        return evaluation_results.results(
            session, current_client(), scope, object_id, period=period, year=query["year"]
        )


# --------------------------------------------------------------------------------------------
# Self-evaluation (党员自评) and leader review (领导点评)
# --------------------------------------------------------------------------------------------


@blp.route("/members/<string:member_id>/self-evaluation")
class SelfEvaluation(MethodView):
    @blp.arguments(HalfYearQuerySchema, location="query")
    @blp.response(200, DraftSchema)
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], member_id: str) -> Any:
        """The member's self-evaluation of a half year (`period=2026H1`): the figures of the
        ledger (services, hours, ratings, visits, commitments kept and missed, with the ids
        behind them), a pre-filled draft text, and the submitted report if any."""
        with _session() as session:
            return evaluation_records.draft(
                session, current_client(), member_id, Period.parse(query["period"])
            )

    @blp.arguments(SelfEvaluationCreateSchema)
    @blp.response(201, SelfEvaluationRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], member_id: str) -> Any:
        """The member themself submits their written report of a half year that has begun
        (403 for anyone else; 409 the second time). The ledger's figures at that moment are
        kept with it."""
        with _session() as session:
            return evaluation_records.submit_self_evaluation(
                session, current_client(), member_id, data
            )


@blp.route("/members/<string:member_id>/leader-reviews")
class LeaderReviews(MethodView):
    @blp.arguments(LeaderReviewCreateSchema)
    @blp.response(201, LeaderReviewRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], member_id: str) -> Any:
        """The organiser of the member's unit records a comment and a mark (excellent, good,
        fair, poor) for a half year, once (403 for anyone else; 409 the second time)."""
        with _session() as session:
            return evaluation_records.review(session, current_client(), member_id, data)


@blp.route("/units/<string:unit_id>/evaluation-flags")
class UnitFlags(MethodView):
    @blp.arguments(HalfYearQuerySchema, location="query")
    @blp.response(200, UnitFlagsSchema)
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], unit_id: str) -> Any:
        """The unit's members (those the client reads) in a half year: reported or not,
        services and visits, self-evaluation and review ids; `flagged` lists those who never
        reported (`never_reported`) or did not serve in the half year (`never_served`)."""
        with _session() as session:
            return evaluation_records.unit_flags(
                session, current_client(), unit_id, Period.parse(query["period"])
            )


# --------------------------------------------------------------------------------------------
# Residents' surveys (群众测评), the points scheme, vetoes (一票否决)
# --------------------------------------------------------------------------------------------


@blp.route("/communities/<string:community_id>/survey-responses")
class SurveyResponses(MethodView):
    @blp.arguments(SurveyResponseCreateSchema)
    @blp.response(201, SurveyResponseRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """A community manager enters one survey answer: a member of the community, the half
        year, a score 1..5, the respondent's kind (representative, served_resident) and an
        opaque reference (no name). One answer per respondent, member and half year (409)."""
        with _session() as session:
            return evaluation_records.add_survey_response(
                session, current_client(), community_id, data
            )

    @blp.arguments(HalfYearQuerySchema, location="query")
    @blp.response(200, SurveyResponseRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], community_id: str) -> Any:
        """The community's survey answers of a half year about the members the client reads."""
        with _session() as session:
            return evaluation_records.list_survey_responses(
                session, current_client(), community_id, Period.parse(query["period"])
            )


@blp.route("/communities/<string:community_id>/points-scheme")
class PointsScheme(MethodView):
    @blp.response(200, PointsSchemeRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, community_id: str) -> Any:
        """The community's points scheme (社区参评), or the default one (`configured: false`)."""
        with _session() as session:
            return evaluation_records.get_scheme(session, current_client(), community_id)

    @blp.arguments(PointsSchemeSchema)
    @blp.response(200, PointsSchemeRecordSchema)
    @blp.error_responses(*_ERRORS, 422)
    def put(self, data: dict[str, Any], community_id: str) -> Any:
        """Replace the scheme: weights (per hour, service, rating point, commitment kept,
        visit, survey point), penalties (per no-show, decline, missed commitment, late
        completion), tiers (thresholds falling from excellent to poor, or quotas adding up to
        at most 1), five rising star thresholds, the stars a veto leaves, the shortlist size."""
        with _session() as session:
            return evaluation_records.put_scheme(session, current_client(), community_id, data)


@blp.route("/communities/<string:community_id>/vetoes")
class Vetoes(MethodView):
    @blp.arguments(VetoCreateSchema)
    @blp.response(201, VetoRecordSchema)
    @blp.error_responses(*_ERRORS, 409, 422)
    def post(self, data: dict[str, Any], community_id: str) -> Any:
        """Record the community's written statement that a member never served in a half year
        (一票否决): that year the member is never excellent, never shortlisted, and their stars
        are capped; results show the statement. Once per member and half year (409)."""
        with _session() as session:
            return evaluation_records.record_veto(session, current_client(), community_id, data)

    @blp.response(200, VetoRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 404)
    def get(self, community_id: str) -> Any:
        """The community's veto statements about the members the client reads."""
        with _session() as session:
            return evaluation_records.list_vetoes(session, current_client(), community_id)


# --------------------------------------------------------------------------------------------
# Results and reports
# --------------------------------------------------------------------------------------------

_RESULTS_DOC = """

`period=2026H1`: each member's half-year points per item, with the ids of the facts behind
each item, and their self-evaluation, leader review and survey summary. `year=2026`: the two
halves summed, the rank in the community, the tier, the stars, the 最美在职党员 shortlist and
the veto (statements and what the ratings would have been). A member is evaluated by each
community where their facts happened. `.xlsx` and `.html` give the same as a report."""


def _route(scope: str, path: str, doc: str) -> None:
    argument = f"{scope}_id"

    def get_json(self: MethodView, query: dict[str, Any], **ids: str) -> Any:
        return _results(scope, ids[argument], query)

    def get_xlsx(self: MethodView, query: dict[str, Any], **ids: str) -> Any:
        found = _results(scope, ids[argument], query)
        return Response(
            workbook(found),
            mimetype=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{_filename(found)}.xlsx"'},
        )

    def get_html(self: MethodView, query: dict[str, Any], **ids: str) -> Any:
        found = _results(scope, ids[argument], query)
        return Response(printable(found, _scope_name(scope, found)), mimetype="text/html")

    get_json.__doc__ = doc + _RESULTS_DOC
    get_xlsx.__doc__ = doc + " As an Excel workbook (积分汇总 and 台账依据: the facts)."
    get_html.__doc__ = doc + " As a print-styled HTML page (A4, Chinese)."
    for suffix, handler, response in (
        ("", get_json, blp.response(200, EvaluationResultsSchema)),
        (".xlsx", get_xlsx, blp.response(200, {"type": "string"}, content_type=XLSX)),
        (".html", get_html, blp.response(200, {"type": "string"}, content_type="text/html")),
    ):
        view = type(
            f"{scope.title()}Evaluation{suffix.strip('.').title()}",
            (MethodView,),
            {
                "get": blp.arguments(PeriodQuerySchema, location="query")(
                    response(blp.error_responses(*AUTH_ERRORS, 404, 422)(handler))
                )
            },
        )
        blp.route(f"{path}/<string:{argument}>/evaluation{suffix}")(view)


_route("member", "/members", "A member's evaluation results (the communities the client reads).")
_route("unit", "/units", "The evaluation results of a unit's members (those the client reads).")
_route("community", "/communities", "A community's evaluation results (members it may read).")


def _scope_name(scope: str, found: dict[str, Any]) -> str:
    """Whom a report is about, by name."""
    with _session() as session:
        model = {"member": Member, "unit": Unit, "community": Community}[scope]
        row = session.get(model, found["id"])
        if isinstance(row, Member):
            return member_label(row)
        return str(getattr(row, "name", "") or "")


def _filename(found: dict[str, Any]) -> str:
    when = found["period"] or str(found["year"])
    return f"evaluation-{found['scope']}-{found['id']}-{when}"


HEADERS = ["社区", "党员", "期间"]
ITEM_LABELS = {name: label for name, _key, label, _sign in ITEMS}


def _when(row: dict[str, Any]) -> str:
    return row["period"] or f"{row['year']}年度"


def _literal(text: str) -> str:
    """Free text as text: a leading ``=``, ``+``, ``-`` or ``@`` would make Excel evaluate it."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def workbook(found: dict[str, Any]) -> bytes:
    """The results as an Excel workbook: 积分汇总 (one row per member and community, the
    points of each item, the total, tier, stars, shortlist, veto) and 台账依据 (every fact
    behind every item)."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "积分汇总"
    yearly = found["year"] is not None
    header = [*HEADERS, *(f"{ITEM_LABELS[name]}得分" for name, *_ in ITEMS), "总积分"]
    if yearly:
        header += ["排名", "等次", "星级", "最美在职党员候选", "一票否决", "说明"]
    summary.append(header)
    for cell in summary[1]:
        cell.font = Font(bold=True)
    for row in found["rows"]:
        points = {i["item"]: i["points"] for i in row["items"]}
        line = [row["community_name"], row["member_name"], _when(row)]
        line += [points[name] for name, *_ in ITEMS] + [row["points"]]
        if yearly:
            veto = row["veto"]
            line += [
                row["rank"],
                TIER_LABELS[row["tier"]],
                row["stars"],
                "是" if row["shortlisted"] else "否",
                _literal("; ".join(f"{s['id']}: {s['statement']}" for s in veto["statements"]))
                or "—",
                _literal("; ".join(veto["why"])) or "—",
            ]
        summary.append(line)
    summary.append(["合计", "", "", *([""] * len(ITEMS)), found["totals"]["points"]])
    for column in ("A", "B"):
        summary.column_dimensions[column].width = 22
    facts = book.create_sheet("台账依据")
    facts.append(["社区", "党员", "期间", "项目", "数量", "权重", "得分", "依据（台账记录编号）"])
    for cell in facts[1]:
        cell.font = Font(bold=True)
    for row in found["rows"]:
        for item in row["items"]:
            label = ITEM_LABELS[item["item"]]
            base = [row["community_name"], row["member_name"], _when(row), label]
            figures = [item["quantity"], item["weight"], item["points"]]
            for source in item["sources"] or [""]:
                facts.append([*base, *figures, source])
    facts.column_dimensions["H"].width = 40
    for sheet in (summary, facts):
        for line in sheet.iter_rows(min_row=1, max_row=1):
            for cell in line:
                cell.alignment = Alignment(wrap_text=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


REPORT = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
@page { size: A4; margin: 15mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       font-size: 10.5pt; color: #000; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 4mm; }
p.meta { text-align: center; margin: 0 0 6mm; }
table { width: 100%; border-collapse: collapse; margin-bottom: 6mm; page-break-inside: auto; }
th, td { border: 0.5pt solid #333; padding: 1.2mm 1.5mm; text-align: center; }
th { background: #eee; }
tr { page-break-inside: avoid; }
td.sources { text-align: left; font-size: 8pt; word-break: break-all; }
section.member { page-break-inside: avoid; }
@media screen { body { max-width: 210mm; margin: 10mm auto; } }
</style></head><body>
<h1>{{ title }}</h1>
<p class="meta">{{ scope_label }}：{{ scope_name }}　期间：{{ when }}
　人数：{{ found.totals.members }}　合计积分：{{ found.totals.points }}</p>
<table>
<thead><tr><th>社区</th><th>党员</th><th>总积分</th>
{% if yearly %}<th>排名</th><th>等次</th><th>星级</th><th>最美在职党员候选</th>
<th>一票否决</th>{% endif %}
</tr></thead><tbody>
{% for row in found.rows %}<tr><td>{{ row.community_name }}</td><td>{{ row.member_name }}</td>
<td>{{ row.points }}</td>
{% if yearly %}<td>{{ row.rank }}</td><td>{{ tiers[row.tier] }}</td><td>{{ "★" * row.stars }}</td>
<td>{{ "是" if row.shortlisted else "否" }}</td>
<td>{% for s in row.veto.statements %}{{ s.id }}：{{ s.statement }}<br>{% endfor %}
{{ row.veto.why | join("；") }}</td>{% endif %}</tr>
{% endfor %}</tbody></table>
{% for row in found.rows %}<section class="member">
<h2 style="font-size:12pt">{{ row.member_name }}（{{ row.community_name }}）积分明细</h2>
<table><thead><tr><th>项目</th><th>数量</th><th>权重</th><th>得分</th><th>依据（台账记录编号）</th></tr>
</thead><tbody>
{% for item in row["items"] %}<tr><td>{{ labels[item.item] }}</td><td>{{ item.quantity }}</td>
<td>{{ item.weight if item.weight is not none else "—" }}</td><td>{{ item.points }}</td>
<td class="sources">{{ item.sources | join(", ") }}</td></tr>
{% endfor %}</tbody></table></section>
{% endfor %}
</body></html>
"""

SCOPE_LABELS = {"member": "党员", "unit": "单位", "community": "社区"}


def printable(found: dict[str, Any], scope_name: str) -> str:
    """The results as a print-styled HTML page (A4), in Chinese; ``scope_name``: the member's,
    unit's or community's name."""
    yearly = found["year"] is not None
    when = f"{found['year']}年度" if yearly else Period.parse(found["period"]).label
    return render_template_string(
        REPORT,
        title=f"在职党员五评议{'年度' if yearly else '半年'}积分报告",
        scope_label=SCOPE_LABELS[found["scope"]],
        scope_name=scope_name,
        found=found,
        when=when,
        yearly=yearly,
        tiers=TIER_LABELS,
        labels=ITEM_LABELS,
    )
