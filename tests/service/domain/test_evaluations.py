"""The five evaluations (issue #5): points from recorded facts, year-end tiers, stars, the
shortlist and the veto; self-evaluations, leader reviews, surveys, the points scheme; role
scoping; the Excel and HTML reports; and the reliability feedback into dispatch.

Every test that uses ``app`` runs on SQLite and PostgreSQL. Facts of past half years (2025) are
written directly to the database (the API only makes facts of the present), through the ORM.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from matcher.dispatch.verify import Violation
from service.db.flow import Demand, Task
from service.db.longterm import Commitment, Post, PostAllocation
from service.db.registration import Member, new_id
from service.db.visits import VisitAttendance, VisitSchedule, VisitSessionRecord
from service.domain import flow
from service.domain.availability import LOCAL
from service.domain.evaluations.periods import Period
from service.domain.evaluations.points import Fact, Veto, tally, year_end
from service.domain.evaluations.scheme import DEFAULT_SCHEME
from service.domain.reliability import Record, shrunk_reliability
from tests.service.domain.test_menu_flow import API, PLACE, _ok
from tests.service.domain.test_people_and_roles import Roles, assert_error

H1, H2 = Period(2025, 1), Period(2025, 2)


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL)


class Facts:
    """Writes recorded facts (tasks, commitments, attendance) straight into the database."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _add(self, *rows: Any) -> None:
        with self.app.extensions["linli"].sessions() as session:
            session.add_all(rows)
            session.commit()

    def task(
        self,
        member: str,
        community: str,
        start: datetime,
        status: str,
        *,
        hours: float | None = None,
        rating: int | None = None,
        late: bool = False,
        reason: str | None = None,
        priority: int = 3,
    ) -> str:
        demand = Demand(
            id=new_id("d"),
            community_id=community,
            category="elderly_care",
            skills=[],
            lat=PLACE["lat"],
            lon=PLACE["lon"],
            window_start=start,
            window_end=start + timedelta(hours=4),
            duration_hours=1.0,
            priority=priority,
            crew_size=1,
            status={"completed": "completed", "accepted": "accepted"}.get(status, "open"),
        )
        done = start + timedelta(hours=6 if late else 1)
        task = Task(
            id=new_id("t"),
            demand_id=demand.id,
            member_id=member,
            start=start,
            status=status,
            hours=hours,
            rating=rating,
            decline_reason=reason,
            completed_at=done if status == "completed" else None,
        )
        self._add(demand)
        self._add(task)
        return task.id

    def service(self, member: str, community: str, start: datetime, **kw: Any) -> str:
        kw.setdefault("hours", 2.0)
        return self.task(member, community, start, "completed", **kw)

    def commitment(self, member: str, community: str, deadline: date, status: str) -> str:
        post = Post(id=new_id("p"), community_id=community, category="c", title="t", seats=1)
        allocation = PostAllocation(
            id=new_id("pa"),
            community_id=community,
            mode="m",
            status="optimal",
            objective=0.0,
            bound=0.0,
        )
        self._add(post, allocation)
        row = Commitment(
            id=new_id("cm"),
            community_id=community,
            allocation_id=allocation.id,
            member_id=member,
            post_id=post.id,
            fit=1,
            deadline=deadline,
            status=status,
        )
        self._add(row)
        return row.id

    def visit(self, members: list[str], community: str, start: datetime) -> str:
        schedule = VisitSchedule(
            id=new_id("vs"),
            community_id=community,
            quarter_start=start.date(),
            quarter_end=start.date(),
            timezone="Asia/Shanghai",
            status="optimal",
        )
        record = VisitSessionRecord(
            id=new_id("vss"),
            schedule_id=schedule.id,
            community_id=community,
            team="team-1",
            visit_date=start.date(),
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            duration_hours=2.0,
            walk_km=1.0,
            status="attended",
        )
        self._add(schedule)
        self._add(record)
        self._add(*(VisitAttendance(session_id=record.id, member_id=m) for m in members))
        return record.id

    def move(self, member: str, community: str) -> None:
        with self.app.extensions["linli"].sessions() as session:
            row = session.get(Member, member)
            assert row is not None
            row.community_id = community
            session.commit()


@pytest.fixture
def roles(app: Flask, client: FlaskClient) -> Roles:
    return Roles(app, client)


@pytest.fixture
def facts(app: Flask) -> Facts:
    return Facts(app)


def _get(roles: Roles, url: str, headers: dict[str, str] | None = None) -> Any:
    return roles.client.get(f"{API}{url}", headers=headers or roles.district)


def _send(roles: Roles, url: str, body: Any, headers: dict[str, str], method: str = "post") -> Any:
    return getattr(roles.client, method)(f"{API}{url}", json=body, headers=headers)


def _items(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["item"]: i for i in row["items"]}


# --------------------------------------------------------------------------------------------
# The arithmetic, without a database
# --------------------------------------------------------------------------------------------


def test_a_tally_counts_the_facts_of_its_half_year_and_community_only() -> None:
    """A fact at local midnight of 1 July is the second half's; 23:59 on 30 June the first's;
    a fact in another community counts there, not here; every item names its facts."""
    day_end_h1 = _at(date(2025, 6, 30), 23, 59)
    midnight = _at(date(2025, 7, 1), 0, 0)
    assert midnight.astimezone(UTC) == datetime(2025, 6, 30, 16, 0, tzinfo=UTC)
    facts = [
        Fact("service", "m1", "a", "t1", _at(date(2025, 3, 1)), hours=2.0, rating=5),
        Fact("service", "m1", "a", "t2", day_end_h1, hours=1.5, rating=2),
        Fact("late_completion", "m1", "a", "t2", day_end_h1),
        Fact("service", "m1", "a", "t3", midnight, hours=3.0),
        Fact("service", "m1", "b", "t4", _at(date(2025, 4, 1)), hours=9.0),
        Fact("no_show", "m1", "a", "t5", _at(date(2025, 5, 1))),
        Fact("decline", "m1", "a", "t6", _at(date(2025, 5, 2))),
        Fact("commitment_kept", "m1", "a", "cm1", _at(date(2025, 6, 30), 12)),
        Fact("commitment_missed", "m1", "a", "cm2", _at(date(2025, 1, 31), 12)),
        Fact("visit", "m1", "a", "vss1:m1", _at(date(2025, 2, 1)), hours=2.0),
        Fact("service", "m2", "a", "t7", _at(date(2025, 3, 1)), hours=5.0),
    ]
    first = tally(facts, DEFAULT_SCHEME, member_id="m1", community_id="a", period=H1)
    items = {i.item: i for i in first.items}
    assert items["services"].quantity == 2 and items["services"].sources == ("t1", "t2")
    assert items["hours"].quantity == 3.5 and items["hours"].points == 7.0
    assert items["rating_points"].quantity == (5 - 3) + (2 - 3)
    assert items["late_completions"].sources == ("t2",)
    assert items["no_shows"].points == -5.0 and items["declines"].points == -1.0
    assert items["commitments_kept"].sources == ("cm1",)
    assert items["commitments_missed"].points == -5.0
    assert items["visits"].sources == ("vss1:m1",)
    expected = 2 * 1 + 3.5 * 2 + 1 * 1 + 5 + 3 - 5 - 1 - 5 - 2
    assert first.points == pytest.approx(expected)
    assert first.points == pytest.approx(sum(i.points for i in first.items))
    second = tally(facts, DEFAULT_SCHEME, member_id="m1", community_id="a", period=H2)
    assert {i.item: i.sources for i in second.items}["services"] == ("t3",)
    elsewhere = tally(facts, DEFAULT_SCHEME, member_id="m1", community_id="b", period=H1)
    assert elsewhere.points == pytest.approx(9.0 * 2 + 1)


def _pair(member: str, points: float) -> tuple[Any, Any]:
    facts = [Fact("service", member, "a", f"t-{member}", _at(date(2025, 3, 1)), hours=points / 2)]
    scheme = {**DEFAULT_SCHEME, "weights": {**DEFAULT_SCHEME["weights"], "per_service": 0.0}}
    return (
        tally(facts, scheme, member_id=member, community_id="a", period=H1),
        tally(facts, scheme, member_id=member, community_id="a", period=H2),
    )


def test_year_end_tiers_stars_shortlist_and_the_veto() -> None:
    """Thresholds and quotas give tiers; the veto removes 优秀, the shortlist place and stars
    above the cap, and says why."""
    pairs = {m: _pair(m, p) for m, p in {"m1": 130, "m2": 90, "m3": 60, "m4": 10, "m5": -4}.items()}
    results = {
        r.member_id: r for r in year_end(pairs, DEFAULT_SCHEME, {}, community_id="a", year=2025)
    }
    assert [results[m].tier for m in ("m1", "m2", "m3", "m4", "m5")] == [
        "excellent",
        "excellent",
        "good",
        "poor",
        "bad",
    ]
    assert results["m1"].stars == 5 and results["m4"].stars == 1 and results["m5"].stars == 0
    assert [m for m, r in sorted(results.items()) if r.shortlisted] == ["m1", "m2", "m3"]

    veto = Veto("vt-1", "2025H2", "该党员全年未到社区报到服务")
    vetoed = {
        r.member_id: r
        for r in year_end(pairs, DEFAULT_SCHEME, {"m1": [veto]}, community_id="a", year=2025)
    }
    m1 = vetoed["m1"]
    assert m1.tier == "good" and m1.tier_without_veto == "excellent"
    assert m1.stars == DEFAULT_SCHEME["veto_star_cap"] and m1.stars_without_veto == 5
    assert not m1.shortlisted and m1.vetoes == (veto,)
    assert all("vt-1" in why for why in m1.why) and len(m1.why) == 3
    assert [m for m, r in sorted(vetoed.items()) if r.shortlisted] == ["m2", "m3", "m4"]

    quotas = {
        **DEFAULT_SCHEME,
        "tiers": {"mode": "quotas", "excellent": 0.2, "good": 0.2, "fair": 0.2, "poor": 0.2},
    }
    by_quota = {
        r.member_id: r.tier for r in year_end(pairs, quotas, {}, community_id="a", year=2025)
    }
    assert by_quota == {"m1": "excellent", "m2": "good", "m3": "fair", "m4": "poor", "m5": "bad"}


def test_reliability_is_shrunk_toward_the_community_mean() -> None:
    """One no-show barely moves a newcomer; many do; nobody's record gives the mean."""
    records = {
        "steady": Record(trials=20, successes=20),
        "once": Record(trials=1, successes=0),
        "often": Record(trials=10, successes=2),
    }
    got = shrunk_reliability(records, ["steady", "once", "often", "new"])
    assert got["steady"] > got["once"] > got["often"]
    assert got["once"] > 0.6 and got["often"] < 0.5
    pooled = 22 / 31
    assert got["new"] == pytest.approx(0.8 * pooled + 0.2, abs=1e-6)
    assert shrunk_reliability({}, ["x"]) == {"x": 1.0}


# --------------------------------------------------------------------------------------------
# Points from recorded facts, through the API
# --------------------------------------------------------------------------------------------


def test_half_year_points_come_from_the_recorded_facts(roles: Roles, facts: Facts) -> None:
    """Services, ratings, late completions, declines, no-shows, commitments and visits of the
    half year make the points; a service on the boundary goes to the next half year; a
    decline caused by a cancellation costs nothing."""
    m, a = roles.m_a1["id"], roles.a
    t1 = facts.service(m, a, _at(date(2025, 2, 3)), hours=2.0, rating=5)
    t2 = facts.service(m, a, _at(date(2025, 6, 30), 21), hours=1.0, rating=4, late=True)
    boundary = facts.service(m, a, _at(date(2025, 7, 1), 0), hours=1.0)
    no_show = facts.task(m, a, _at(date(2025, 4, 1)), "accepted")
    declined = facts.task(m, a, _at(date(2025, 4, 2)), "declined", reason="away")
    facts.task(m, a, _at(date(2025, 4, 3)), "declined", reason="the demand was cancelled")
    kept = facts.commitment(m, a, date(2025, 6, 30), "kept")
    facts.commitment(m, a, date(2025, 7, 1), "missed")
    visit = facts.visit([m], a, _at(date(2025, 5, 5)))

    found = _ok(_get(roles, f"/members/{m}/evaluation?period=2025H1"))
    (row,) = found["rows"]
    items = _items(row)
    assert row["community_id"] == a and row["period"] == "2025H1"
    assert items["services"]["sources"] == [t1, t2]
    assert items["hours"]["quantity"] == 3.0
    assert items["rating_points"]["quantity"] == 3
    assert items["late_completions"]["sources"] == [t2]
    assert items["no_shows"]["sources"] == [no_show]
    assert items["declines"]["sources"] == [declined]
    assert items["commitments_kept"]["sources"] == [kept]
    assert items["commitments_missed"]["sources"] == []
    assert items["visits"]["sources"] == [f"{visit}:{m}"]
    assert row["points"] == pytest.approx(2 + 6 + 3 + 5 + 3 - 5 - 1 - 2)
    second = _ok(_get(roles, f"/members/{m}/evaluation?period=2025H2"))["rows"][0]
    assert _items(second)["services"]["sources"] == [boundary]
    assert _items(second)["commitments_missed"]["quantity"] == 1


def test_a_member_who_moved_is_evaluated_where_each_fact_happened(
    roles: Roles, facts: Facts
) -> None:
    """Facts count in the community where they happened: a member who moved in the summer
    has a first half in the old community and a second in the new one."""
    m, a, b = roles.m_a1["id"], roles.a, roles.b
    old = facts.service(m, a, _at(date(2025, 3, 3)), hours=4.0)
    facts.move(m, b)
    new = facts.service(m, b, _at(date(2025, 9, 3)), hours=1.0)
    year = _ok(_get(roles, f"/members/{m}/evaluation?year=2025"))
    rows = {r["community_id"]: r for r in year["rows"]}
    assert set(rows) == {a, b}
    assert _items(rows[a])["services"]["sources"] == [old]
    assert _items(rows[b])["services"]["sources"] == [new]
    assert rows[a]["points"] == pytest.approx(4 * 2 + 1)
    assert rows[b]["points"] == pytest.approx(1 * 2 + 1)
    assert [h["period"] for h in rows[a]["halves"]] == ["2025H1", "2025H2"]
    assert rows[a]["halves"][1]["points"] == 0
    in_a = _ok(_get(roles, f"/communities/{a}/evaluation?year=2025"))
    assert m in {r["member_id"] for r in in_a["rows"]}
    # community a's dispatcher no longer reads the member (404), but reads its own results
    assert_error(_get(roles, f"/members/{m}/evaluation?year=2025", roles.key_a), 404)


def test_a_veto_takes_excellence_off_and_the_answer_says_why(roles: Roles, facts: Facts) -> None:
    """A recorded veto statement: no 优秀, no shortlist, stars capped; the statement shown."""
    m, a = roles.m_a1["id"], roles.a
    for month in (2, 3, 4, 8, 9):
        facts.service(m, a, _at(date(2025, month, 10)), hours=12.0, rating=5)
    before = _ok(_get(roles, f"/members/{m}/evaluation?year=2025", roles.key_a))["rows"][0]
    assert before["tier"] == "excellent" and before["shortlisted"] and before["stars"] == 5
    statement = "社区书面证明：该党员本年度未参加社区服务（一票否决）"
    veto = _ok(
        _send(
            roles,
            f"/communities/{a}/vetoes",
            {"member_id": m, "period": "2025H2", "statement": statement},
            roles.key_a,
        ),
        201,
    )
    assert veto["id"].startswith("vt-") and veto["recorded_by_role"] == "client"
    again = {"member_id": m, "period": "2025H2", "statement": "again"}
    assert_error(_send(roles, f"/communities/{a}/vetoes", again, roles.key_a), 409)
    after = _ok(_get(roles, f"/communities/{a}/evaluation?year=2025", roles.key_a))
    row = next(r for r in after["rows"] if r["member_id"] == m)
    assert row["tier"] == "good" and row["tier_label"] == "良好"
    assert row["veto"]["tier_without_veto"] == "excellent"
    assert row["stars"] == 2 and row["veto"]["stars_without_veto"] == 5
    assert not row["shortlisted"] and m not in after["shortlist"]
    assert row["veto"]["statements"] == [
        {"id": veto["id"], "period": "2025H2", "statement": statement}
    ]
    assert all(veto["id"] in why for why in row["veto"]["why"])
    assert after["totals"]["vetoed"] == 1
    # a veto of another community's member, or of a future half year
    foreign = {"member_id": roles.m_b1["id"], "period": "2025H2", "statement": "x"}
    assert_error(_send(roles, f"/communities/{a}/vetoes", foreign, roles.key_a), 422, "member_id")
    future = {"member_id": m, "period": "2199H1", "statement": "x"}
    assert_error(_send(roles, f"/communities/{a}/vetoes", future, roles.key_a), 422, "period")
    assert_error(_send(roles, f"/communities/{roles.b}/vetoes", foreign, roles.key_a), 404)
    assert [v["id"] for v in _ok(_get(roles, f"/communities/{a}/vetoes", roles.key_a))] == [
        veto["id"]
    ]


# --------------------------------------------------------------------------------------------
# Self-evaluation, leader review, surveys, the scheme
# --------------------------------------------------------------------------------------------


def test_the_self_evaluation_draft_equals_the_ledger_and_only_the_member_submits(
    roles: Roles, facts: Facts
) -> None:
    m, a = roles.m_a1["id"], roles.a
    facts.service(m, a, _at(date(2025, 2, 3)), hours=2.5, rating=5)
    facts.service(m, a, _at(date(2025, 5, 3)), hours=1.0, rating=3)
    facts.service(m, a, _at(date(2025, 7, 3)), hours=7.0)
    facts.visit([m], a, _at(date(2025, 5, 5)))
    facts.commitment(m, a, date(2025, 6, 1), "kept")
    facts.commitment(m, a, date(2025, 3, 1), "missed")
    member = roles.person("member1")
    draft = _ok(member.get(f"/members/{m}/self-evaluation?period=2025H1"))
    ledger = _ok(
        _get(roles, f"/communities/{a}/ledger/totals?from=2025-01-01&to=2025-06-30&member={m}")
    )["members"][0]
    figures = draft["figures"]
    for key in ("services", "hours", "visits", "visit_hours", "ratings", "mean_rating"):
        assert figures[key] == ledger[key], key
    assert figures["commitments_kept"] == 1 and figures["commitments_missed"] == 1
    assert "服务2次" in draft["text"] and draft["submitted"] is None

    body = {"period": "2025H1", "text": "上半年参加社区服务两次……"}
    dispatcher = roles.person("dispatcher")
    assert_error(dispatcher.post(f"/members/{m}/self-evaluation", body), 403)
    assert_error(member.post(f"/members/{roles.m_a2['id']}/self-evaluation", body), 404)
    assert_error(
        member.post(f"/members/{m}/self-evaluation", {**body, "period": "2025H3"}), 422, "period"
    )
    assert_error(member.post(f"/members/{m}/self-evaluation", {"period": "2025H1"}), 422, "text")
    assert_error(member.post(f"/members/{m}/self-evaluation", {**body, "id": "x"}), 422, "id")
    submitted = _ok(member.post(f"/members/{m}/self-evaluation", body), 201)
    assert submitted["figures"]["services"] == 2 and submitted["community_id"] == a
    assert_error(member.post(f"/members/{m}/self-evaluation", body), 409)
    seen = _ok(dispatcher.get(f"/members/{m}/self-evaluation?period=2025H1"))
    assert seen["submitted"]["id"] == submitted["id"]
    row = _ok(_get(roles, f"/members/{m}/evaluation?period=2025H1"))["rows"][0]
    assert row["evaluations"]["self_evaluation"]["id"] == submitted["id"]


def test_only_the_members_unit_organiser_reviews_and_the_unit_sees_who_to_act_on(
    roles: Roles, facts: Facts
) -> None:
    m, a = roles.m_a1["id"], roles.a
    facts.service(m, a, _at(date(2025, 2, 3)))
    organiser = roles.person("organiser")
    body = {"period": "2025H1", "mark": "good", "comment": "积极参加社区服务"}
    assert_error(roles.person("dispatcher").post(f"/members/{m}/leader-reviews", body), 403)
    assert_error(roles.person("member1").post(f"/members/{m}/leader-reviews", body), 403)
    assert_error(organiser.post(f"/members/{roles.m_a2['id']}/leader-reviews", body), 404)
    bad = {**body, "mark": "superb"}
    assert_error(organiser.post(f"/members/{m}/leader-reviews", bad), 422, "mark")
    review = _ok(organiser.post(f"/members/{m}/leader-reviews", body), 201)
    assert review["unit_id"] == roles.unit and review["mark"] == "good"
    assert_error(organiser.post(f"/members/{m}/leader-reviews", body), 409)

    flags = _ok(organiser.get(f"/units/{roles.unit}/evaluation-flags?period=2025H1"))
    by_member = {f["member_id"]: f for f in flags["members"]}
    assert set(by_member) == {m, roles.m_b1["id"]}
    assert by_member[m]["reasons"] == [] and by_member[m]["leader_review_id"] == review["id"]
    assert by_member[roles.m_b1["id"]]["reasons"] == ["never_served"]
    assert [f["member_id"] for f in flags["flagged"]] == [roles.m_b1["id"]]
    row = _ok(organiser.get(f"/members/{m}/evaluation?period=2025H1"))["rows"][0]
    assert row["evaluations"]["leader_review"]["mark"] == "good"


def test_survey_responses_and_the_points_scheme(roles: Roles, facts: Facts) -> None:
    m, a = roles.m_a1["id"], roles.a
    facts.service(m, a, _at(date(2025, 2, 3)), hours=1.0)
    url = f"/communities/{a}/survey-responses"
    answer = {
        "member_id": m,
        "period": "2025H1",
        "score": 5,
        "respondent_kind": "representative",
        "respondent_ref": "r-77",
    }
    saved = _ok(_send(roles, url, answer, roles.key_a), 201)
    assert saved["score"] == 5
    assert_error(_send(roles, url, answer, roles.key_a), 409)
    assert_error(_send(roles, url, {**answer, "score": 6}, roles.key_a), 422, "score")
    assert_error(
        _send(roles, url, {**answer, "respondent_kind": "boss"}, roles.key_a),
        422,
        "respondent_kind",
    )
    assert_error(_send(roles, url, {**answer, "respondent_ref": "r-78"}, roles.key_b), 404)
    member = roles.person("member1")
    assert_error(member.post(url, {**answer, "respondent_ref": "r-79"}), 403)
    listed = _ok(_get(roles, f"{url}?period=2025H1", roles.key_a))
    assert [r["id"] for r in listed] == [saved["id"]]

    scheme_url = f"/communities/{a}/points-scheme"
    current = _ok(_get(roles, scheme_url, roles.key_a))
    assert current["configured"] is False and current["config"] == DEFAULT_SCHEME
    config = {
        **DEFAULT_SCHEME,
        "weights": {**DEFAULT_SCHEME["weights"], "per_survey_point": 4.0, "per_hour": 10.0},
    }
    muddled = {**config, "tiers": {**config["tiers"], "good": 90.0}}
    assert_error(_send(roles, scheme_url, muddled, roles.key_a, "put"), 422, "tiers")
    assert_error(
        _send(roles, scheme_url, {**config, "stars": [1]}, roles.key_a, "put"), 422, "stars"
    )
    assert_error(_send(roles, scheme_url, {**config, "extra": 1}, roles.key_a, "put"), 422, "extra")
    as_member = member.client.put(
        f"{API}{scheme_url}", json=config, headers={"X-CSRF-Token": member.csrf}
    )
    assert_error(as_member, 403)
    stored = _ok(_send(roles, scheme_url, config, roles.key_a, "put"))
    assert stored["configured"] is True and stored["config"]["weights"]["per_hour"] == 10.0
    row = _ok(_get(roles, f"/members/{m}/evaluation?period=2025H1"))["rows"][0]
    assert _items(row)["survey_points"]["sources"] == [saved["id"]]
    assert row["points"] == pytest.approx(1 * 10 + 1 + (5 - 3) * 4.0)
    assert row["evaluations"]["survey"]["responses"] == 1


# --------------------------------------------------------------------------------------------
# Scope
# --------------------------------------------------------------------------------------------


def test_results_are_scoped_member_organiser_dispatcher_district(
    roles: Roles, facts: Facts
) -> None:
    a, b = roles.a, roles.b
    m1, m2, mb = roles.m_a1["id"], roles.m_a2["id"], roles.m_b1["id"]
    for member, community in ((m1, a), (m2, a), (mb, b)):
        facts.service(member, community, _at(date(2025, 3, 3)))
    q = "?period=2025H1"
    member = roles.person("member1")
    assert [r["member_id"] for r in _ok(member.get(f"/members/{m1}/evaluation{q}"))["rows"]] == [m1]
    assert_error(member.get(f"/members/{m2}/evaluation{q}"), 404)
    own_view = _ok(member.get(f"/communities/{a}/evaluation{q}"))
    assert [r["member_id"] for r in own_view["rows"]] == [m1]
    assert_error(member.get(f"/communities/{b}/evaluation{q}"), 404)

    organiser = roles.person("organiser")
    unit = _ok(organiser.get(f"/units/{roles.unit}/evaluation{q}"))
    assert {r["member_id"] for r in unit["rows"]} == {m1, mb}
    assert_error(organiser.get(f"/members/{m2}/evaluation{q}"), 404)

    dispatcher = roles.person("dispatcher")
    community = _ok(dispatcher.get(f"/communities/{a}/evaluation{q}"))
    assert {m1, m2} <= {r["member_id"] for r in community["rows"]}
    assert mb not in {r["member_id"] for r in community["rows"]}
    assert_error(dispatcher.get(f"/communities/{b}/evaluation{q}"), 404)
    assert_error(dispatcher.get(f"/members/{mb}/evaluation{q}"), 404)
    unit_seen = _ok(dispatcher.get(f"/units/{roles.unit}/evaluation{q}"))
    assert {r["member_id"] for r in unit_seen["rows"]} == {m1}
    assert_error(dispatcher.get(f"/communities/nope/evaluation{q}"), 404)

    district = roles.person("district")
    for url in (f"/members/{mb}/evaluation{q}", f"/communities/{b}/evaluation{q}"):
        assert _ok(district.get(url))["rows"]
    assert_error(district.get(f"/communities/{a}/evaluation"), 422, "query.period")
    assert_error(district.get(f"/communities/{a}/evaluation?period=2025H1&year=2025"), 422)
    assert_error(district.get(f"/communities/{a}/evaluation?year=abc"), 422, "query.year")


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def test_the_excel_report_opens_and_its_totals_match_the_api(roles: Roles, facts: Facts) -> None:
    a = roles.a
    tasks = [
        facts.service(roles.m_a1["id"], a, _at(date(2025, 3, 3)), hours=2.0, rating=4),
        facts.service(roles.m_a2["id"], a, _at(date(2025, 8, 3)), hours=3.0),
    ]
    facts.task(roles.m_a2["id"], a, _at(date(2025, 9, 3)), "accepted")
    for query in ("period=2025H1", "year=2025"):
        found = _ok(_get(roles, f"/communities/{a}/evaluation?{query}", roles.key_a))
        response = _get(roles, f"/communities/{a}/evaluation.xlsx?{query}", roles.key_a)
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
        book = load_workbook(io.BytesIO(response.data))
        assert book.sheetnames == ["积分汇总", "台账依据"]
        summary = list(book["积分汇总"].iter_rows(values_only=True))
        header, body, total = summary[0], summary[1:-1], summary[-1]
        points = header.index("总积分")
        assert header[:3] == ("社区", "党员", "期间")
        assert {r[1]: r[points] for r in body} == {
            r["member_name"]: r["points"] for r in found["rows"]
        }
        assert all(r[0] == found["rows"][0]["community_name"] for r in body)
        assert total[0] == "合计" and total[points] == pytest.approx(found["totals"]["points"])
        sources = {r[7] for r in book["台账依据"].iter_rows(min_row=2, values_only=True)}
        expected = tasks[:1] if query.startswith("period") else tasks
        assert set(expected) <= sources
    html = _get(roles, f"/communities/{a}/evaluation.html?year=2025", roles.key_a)
    text = html.get_data(as_text=True)
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert "@page { size: A4" in text and "年度积分报告" in text and tasks[1] in text
    names = {r["member_name"] for r in found["rows"]}
    assert names and all(name in text for name in names)
    assert roles.m_a1["id"] not in text.replace(tasks[1], "")  # people by name, not by id
    assert_error(_get(roles, f"/communities/{roles.b}/evaluation.xlsx?year=2025", roles.key_a), 404)


# --------------------------------------------------------------------------------------------
# Closing the loop: reliability in dispatch
# --------------------------------------------------------------------------------------------


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[Violation]]]:
    """Every dispatch plan the service checks, with what the independent verifier said."""
    seen: list[list[Violation]] = []
    real = flow.verify

    def spy(problem: Any, answer: Any) -> list[Violation]:
        found = real(problem, answer)
        seen.append(found)
        return found

    monkeypatch.setattr(flow, "verify", spy)
    yield seen
    assert seen and all(found == [] for found in seen)


def test_an_unreliable_member_near_an_urgent_demand_is_passed_over(
    roles: Roles, facts: Facts, verified: list[list[Violation]]
) -> None:
    """With a record of no-shows, the nearest member loses an urgent demand to a reliable one
    1.5 km further; with no record (community b), the nearest member gets it."""
    far = {"lat": PLACE["lat"] + 0.0135, "lon": PLACE["lon"]}
    outcomes = {}
    for community, history in ((roles.a, True), (roles.b, False)):
        near = roles.member(community, ["elderly_care"], location=PLACE)["id"]
        steady = roles.member(community, ["elderly_care"], location=far)["id"]
        if history:
            for week in range(1, 5):
                day = datetime.now(LOCAL) - timedelta(days=7 * week)
                facts.task(near, community, day, "accepted", priority=5)
                facts.service(steady, community, day + timedelta(hours=1))
        demand = roles.demand(community, ["elderly_care"], priority=5)
        headers = roles.key_a if community == roles.a else roles.key_b
        result = roles.dispatch(community, headers)
        (task,) = result["tasks"]
        assert task["demand_id"] == demand["id"]
        outcomes[history] = (task["member_id"], near, steady)
    member, near, steady = outcomes[True]
    assert member == steady
    member, near, steady = outcomes[False]
    assert member == near
    assert len(verified) == 2


# --------------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------------


def test_logs_hold_no_statement_survey_reference_or_report_text(
    roles: Roles, facts: Facts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    m, a = roles.m_a1["id"], roles.a
    facts.service(m, a, _at(date(2025, 3, 3)))
    secrets = {
        "statement": "证明：张三全年未服务" + uuid.uuid4().hex[:6],
        "report": "我的自评报告" + uuid.uuid4().hex[:6],
        "ref": "resident-" + uuid.uuid4().hex[:6],
    }
    member = roles.person("member1")
    _ok(
        member.post(
            f"/members/{m}/self-evaluation", {"period": "2025H1", "text": secrets["report"]}
        ),
        201,
    )
    answer = {
        "member_id": m,
        "period": "2025H1",
        "score": 4,
        "respondent_kind": "served_resident",
        "respondent_ref": secrets["ref"],
    }
    _ok(_send(roles, f"/communities/{a}/survey-responses", answer, roles.key_a), 201)
    veto = {"member_id": m, "period": "2025H1", "statement": secrets["statement"]}
    _ok(_send(roles, f"/communities/{a}/vetoes", veto, roles.key_a), 201)
    _ok(_get(roles, f"/members/{m}/evaluation?year=2025"))
    assert m in caplog.text
    for secret in secrets.values():
        assert secret not in caplog.text


def test_no_evaluation_route_reveals_another_communitys_objects(app: Flask, roles: Roles) -> None:
    """Every evaluation route with community b's ids, as community a's key, dispatcher and
    member: 404 (or 422 for a request refused before any lookup), never 2xx, 403 or 409."""
    ids = {"member_id": roles.m_b1["id"], "community_id": roles.b}
    dispatcher, member = roles.person("dispatcher"), roles.person("member1")
    callers = [
        (roles.client, roles.key_a),
        (dispatcher.client, {"X-CSRF-Token": dispatcher.csrf}),
        (member.client, {"X-CSRF-Token": member.csrf}),
    ]
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "evaluations":
            continue
        (argument,) = rule.arguments
        if argument not in ids:
            continue
        url = rule.rule.replace(f"<string:{argument}>", ids[argument])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for client, headers in callers:
                for query in ("", "?period=2025H1", "?year=2025"):
                    response = client.open(url + query, method=method, json={}, headers=headers)
                    assert response.status_code in (404, 422), (method, url, response.status_code)
                    checked += 1
    assert checked >= 3 * 3 * 12
