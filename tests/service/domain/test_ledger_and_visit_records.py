"""Stored quarterly visits with attendance, the ledger (活动台账) and the publicity board (公示栏).

Every test runs on SQLite and PostgreSQL (the ``app`` fixture); ids are unique per test, as the
database is shared by the session. Every stored schedule is checked again here by the
independent verifier (:func:`matcher.visits.verify.verify_schedule`), rebuilt from the stored
sessions. Roles other than API keys (member, unit organiser) call the logic functions directly.
"""

from __future__ import annotations

import copy
import logging
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select

from matcher.visits.verify import ScheduleViolation, verify_schedule
from service.config.identity import Client
from service.contracts.visits import dump_visit_problem, load_visit_problem
from service.db.registration import Member
from service.db.visits import VisitAttendance, VisitSchedule, VisitSessionRecord
from service.domain import ledger, visit_records
from service.domain.availability import LOCAL, WEEKDAYS
from service.domain.errors import DomainError
from service.domain.keys import create_api_client
from service.web.errors import status_of
from tests.service.helpers import assert_error, back_to_now, travel_past

API = "/api/v1"
Json = dict[str, Any]
HOME = {"lat": 34.761234, "lon": 113.651234}
"""Members' homes: distinctive digits, looked for on the board."""
PLACE = {"lat": 34.7621, "lon": 113.6522}
EVERY_DAY = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in WEEKDAYS]
PAST_QUARTER = {"start": "2026-01-01", "end": "2026-01-31"}
FUTURE_QUARTER = {"start": "2099-01-01", "end": "2099-01-31"}


def _ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.get_json()
    return response.get_json()


def _key(app: Flask, name: str, communities: tuple[str, ...] = ()) -> dict[str, str]:
    with app.extensions["linli"].sessions() as session:
        _client, key = create_api_client(session, name, communities)
    return {"X-API-Key": key}


def _card() -> str:
    """A registration card number such as ``4101`` and 14 digits (unique)."""
    return f"4101{uuid.uuid4().int % 10**14:014d}"


class World:
    """Two communities (a district key, a key for each), members, a unit; helpers."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app, self.client = app, client
        self.district = _key(app, "district")
        self.a, self.b = (f"c-{uuid.uuid4().hex[:10]}" for _ in range(2))
        for community in (self.a, self.b):
            self.post("/communities", {"id": community, "name": community}, self.district, 201)
        self.key_a = _key(app, "community a", (self.a,))
        self.key_b = _key(app, "community b", (self.b,))
        self.unit = self.post("/units", {"name": "unit"}, self.district, 201)["id"]

    def post(self, url: str, body: Any, headers: dict[str, str], code: int = 200) -> Any:
        return _ok(self.client.post(f"{API}{url}", json=body, headers=headers), code)

    def get(self, url: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.get(f"{API}{url}", headers=headers or self.key_a)

    def member(self, community: str, **extra: Any) -> str:
        body = {
            "community_id": community,
            "card_number": _card(),
            "name": "王建国",
            "location": HOME,
            "skills": ["care"],
            "weekly_availability": EVERY_DAY,
            "capacity_hours_per_week": 20,
            **extra,
        }
        member = self.post("/members", body, self.district, 201)
        patched = self.client.patch(
            f"{API}/members/{member['id']}", json={"status": "active"}, headers=self.district
        )
        _ok(patched)
        return str(member["id"])

    def service(self, member: str, *, hours: float, rating: int | None) -> Json:
        """A demand of community a claimed by ``member``, completed and (maybe) rated."""
        day = (datetime.now(LOCAL) + timedelta(days=2)).date()
        window = {
            "start": datetime.combine(day, time(9), LOCAL).isoformat(),
            "end": datetime.combine(day, time(17), LOCAL).isoformat(),
        }
        demand = self.post(
            f"/communities/{self.a}/demands",
            {
                "category": "elderly_care",
                "skills": ["care"],
                "location": PLACE,
                "window": window,
                "duration_hours": 1.5,
                "priority": 3,
            },
            self.key_a,
            201,
        )
        task = self.post(f"/demands/{demand['id']}/claim", {"member_id": member}, self.key_a, 201)
        travel_past(task)
        self.post(f"/tasks/{task['id']}/complete", {"hours": hours}, self.key_a)
        back_to_now()
        if rating is not None:
            self.post(f"/tasks/{task['id']}/rate", {"rating": rating}, self.key_a)
        return dict(task)

    def schedule(self, community: str, problem: Json, headers: dict[str, str]) -> Json:
        url = f"/communities/{community}/visit-schedules"
        return dict(self.post(url, problem, headers, 201))

    def logic(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call a logic function with a database session of the app."""
        with self.app.extensions["linli"].sessions() as session:
            return fn(session, *args, **kwargs)


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> World:
    return World(app, client)


def _quarter(members: list[str], *, quarter: Json = PAST_QUARTER) -> Json:
    """One team of ``members`` (quorum 2), one area of four households, a month of weekends."""
    return {
        "quarter": dict(quarter),
        "visit_weekdays": ["sat", "sun"],
        "max_sessions_per_day": 2,
        "session": {"start": "09:00", "max_hours": 3.0},
        "members": [{"id": m} for m in members],
        "teams": [
            {"id": "t-1", "members": members, "leader": members[0], "quorum": 2, "area": "a-1"}
        ],
        "areas": [
            {
                "id": "a-1",
                "start": {"lat": 34.75, "lon": 113.62},
                "households": [
                    {
                        "id": f"h-{k}",
                        "location": {"lat": 34.75 + 0.001 * k, "lon": 113.62},
                        "visit_minutes": 20,
                        "visits": 1,
                    }
                    for k in range(1, 5)
                ],
            }
        ],
        "options": {"time_limit_s": 1, "seed": 0, "min_days_between_visits": 7},
    }


def _answer_from_stored(stored: Json) -> Json:
    """The contract's answer JSON rebuilt from a stored schedule's rows."""
    return {
        "status": stored["status"],
        "sessions": [
            {
                "team": s["team"],
                "date": s["date"],
                "start": datetime.fromisoformat(s["start"]).strftime("%H:%M"),
                "end": datetime.fromisoformat(s["end"]).strftime("%H:%M"),
                "attendees": s["attendees"],
                "route": s["households"],
                "walk_km": s["walk_km"],
            }
            for s in stored["sessions"]
        ],
        "unscheduled": stored["unscheduled"],
        "stats": stored["stats"],
    }


def assert_stored_verified(problem: Json, stored: Json) -> None:
    """The stored sessions, read back, break no rule of the problem (independent verifier)."""
    raw_problem = dump_visit_problem(load_visit_problem(problem))
    assert verify_schedule(raw_problem, _answer_from_stored(stored)) == []
    assert stored["status"] in ("optimal", "feasible")
    assert stored["sessions_count"] == len(stored["sessions"]) == stored["stats"]["sessions"] > 0


def _stored(world: World, members: list[str], **kwargs: Any) -> tuple[Json, Json]:
    problem = _quarter(members, **kwargs)
    stored = world.schedule(world.a, problem, world.key_a)
    assert_stored_verified(problem, stored)
    return problem, stored


def _http_code(call: Any) -> int:
    with pytest.raises(DomainError) as caught:
        call()
    return int(status_of(caught.value) or 0)


def _person(role: str, communities: tuple[str, ...] = (), **ids: str) -> Client:
    return Client(id=0, name=role, communities=communities, role=role, **ids)


# --------------------------------------------------------------------------------------------
# Stored visit schedules
# --------------------------------------------------------------------------------------------


def test_a_quarter_is_solved_verified_and_stored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint solves, runs the independent verifier (spied: no violation) and stores one
    row per outing; the schedule lists, reads back and exports as a calendar."""
    checked: list[list[ScheduleViolation]] = []
    real = visit_records.verify_schedule

    def spy(problem: Any, answer: Any) -> list[ScheduleViolation]:
        found = real(problem, answer)
        checked.append(found)
        return found

    monkeypatch.setattr(visit_records, "verify_schedule", spy)
    members = [world.member(world.a) for _ in range(3)]
    _problem, stored = _stored(world, members)
    assert checked == [[]]
    assert stored["id"].startswith("vs-") and stored["community_id"] == world.a
    assert stored["quarter"] == PAST_QUARTER and stored["timezone"] == "Asia/Shanghai"
    assert [t["members"] for t in stored["teams"]] == [members]
    visited = sorted(h for s in stored["sessions"] for h in s["households"])
    missing = sorted(h for u in stored["unscheduled"] for h in u["households"])
    assert sorted(visited + missing) == ["h-1", "h-2", "h-3", "h-4"]
    for s in stored["sessions"]:
        assert s["id"].startswith("vss-") and s["status"] == "planned"
        assert s["attendance"] is None
        assert s["start"].endswith("+08:00") and s["start"].startswith(s["date"])
        assert set(s["attendees"]) <= set(members) and len(s["attendees"]) >= 2

    listed = _ok(world.get(f"/communities/{world.a}/visit-schedules"))
    assert [x["id"] for x in listed] == [stored["id"]]
    assert "sessions" not in listed[0]
    again = _ok(world.get(f"/visit-schedules/{stored['id']}", world.district))
    assert again == stored
    one = stored["sessions"][0]
    assert _ok(world.get(f"/visit-sessions/{one['id']}")) == one
    calendar = world.get(f"/visit-schedules/{stored['id']}/calendar.ics")
    assert calendar.status_code == 200 and calendar.mimetype == "text/calendar"
    events = list(Calendar.from_ical(calendar.data).walk("VEVENT"))
    assert len(events) == len(stored["sessions"])
    team = world.get(f"/visit-schedules/{stored['id']}/calendar.ics?team=nobody")
    assert_error(team, 404)


def test_other_communities_schedules_do_not_exist(world: World) -> None:
    """Another community's key gets 404 for the schedule, its sessions, the list and a write;
    its own list does not show them."""
    members = [world.member(world.a) for _ in range(3)]
    problem, stored = _stored(world, members)
    session_id = stored["sessions"][0]["id"]
    for url in (
        f"/communities/{world.a}/visit-schedules",
        f"/visit-schedules/{stored['id']}",
        f"/visit-schedules/{stored['id']}/calendar.ics",
        f"/visit-sessions/{session_id}",
    ):
        assert_error(world.get(url, world.key_b), 404)
    write = world.client.post(
        f"{API}/communities/{world.a}/visit-schedules", json=problem, headers=world.key_b
    )
    assert_error(write, 404)
    attendance = world.client.post(
        f"{API}/visit-sessions/{session_id}/attendance",
        json={"members": members[:2]},
        headers=world.key_b,
    )
    assert_error(attendance, 404)
    assert _ok(world.get(f"/communities/{world.b}/visit-schedules", world.key_b)) == []


def test_roles_read_and_write_schedules_by_their_scope(world: World) -> None:
    """A member reads their community's schedule but may not store one or record attendance
    (403); a unit organiser reads no community-wide record (404)."""
    members = [world.member(world.a, unit_id=world.unit) for _ in range(3)]
    problem, stored = _stored(world, members)
    member = _person("member", (world.a,), member_id=members[0])
    organiser = _person("unit_organiser", unit_id=world.unit)
    outsider = _person("member", (world.b,), member_id=members[0])
    read = world.logic(visit_records.get_schedule_row, member, stored["id"])
    assert read.id == stored["id"]
    for who in (organiser, outsider):
        assert (
            _http_code(lambda w=who: world.logic(visit_records.get_schedule_row, w, stored["id"]))
            == 404
        )
    loaded = load_visit_problem(problem)
    store = visit_records.create_schedule
    assert _http_code(lambda: world.logic(store, member, world.a, loaded, max_households=50)) == 403
    session_id = stored["sessions"][0]["id"]
    data = {"members": members[:2], "households": [], "notes": None}
    record = visit_records.record_attendance
    assert _http_code(lambda: world.logic(record, member, session_id, data)) == 403
    assert _http_code(lambda: world.logic(record, organiser, session_id, data)) == 404


def _schedule_count(world: World) -> int:
    with world.app.extensions["linli"].sessions() as session:
        query = select(func.count()).where(VisitSchedule.community_id == world.a)
        return int(session.scalar(query) or 0)


def test_a_quarter_outside_the_workspace_is_a_422_naming_the_fields(world: World) -> None:
    """Members of another community, unknown or inactive members, another time zone, and ids
    the server sets (mass assignment) are refused by field path; nothing is stored."""
    ours = [world.member(world.a) for _ in range(2)]
    theirs = world.member(world.b)
    problem = _quarter([*ours, theirs])
    response = world.client.post(
        f"{API}/communities/{world.a}/visit-schedules", json=problem, headers=world.key_a
    )
    body = assert_error(response, 422)
    assert set(body["errors"]) == {"members[2].id", "teams[0].members[2]"}
    assert world.a in body["errors"]["members[2].id"][0]

    unknown = _quarter([*ours, "m-nobody"])
    unknown["timezone"] = "Europe/Paris"
    unknown["quarter"] = {"start": "9999-12-01", "end": "9999-12-31"}
    body = assert_error(
        world.client.post(
            f"{API}/communities/{world.a}/visit-schedules", json=unknown, headers=world.key_a
        ),
        422,
    )
    expected = {"timezone", "quarter.start", "quarter.end", "members[2].id", "teams[0].members[2]"}
    assert expected <= set(body["errors"])

    for field, value in (("id", "vs-mine"), ("community_id", world.b), ("status", "optimal")):
        forged = copy.deepcopy(_quarter(ours))
        forged[field] = value
        body = assert_error(
            world.client.post(
                f"{API}/communities/{world.a}/visit-schedules", json=forged, headers=world.key_a
            ),
            422,
        )
        assert field in body["errors"]
    too_big = load_visit_problem(_quarter(ours))  # four households
    store = visit_records.create_schedule
    district = _person("district")
    assert (
        _http_code(lambda: world.logic(store, district, world.a, too_big, max_households=3)) == 422
    )
    assert _schedule_count(world) == 0


# --------------------------------------------------------------------------------------------
# Attendance
# --------------------------------------------------------------------------------------------


def _attend(world: World, session_id: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return world.client.post(
        f"{API}/visit-sessions/{session_id}/attendance", json=body, headers=headers or world.key_a
    )


def test_attendance_is_recorded_after_the_outing_and_a_second_record_replaces_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Attendance after the outing: members (planned, team or community substitutes) and the
    households visited; recording again replaces the record. The logs hold ids and counts
    only: no notes, no household location."""
    caplog.set_level(logging.DEBUG)
    members = [world.member(world.a) for _ in range(3)]
    substitute = world.member(world.a)
    _problem, stored = _stored(world, members)
    outing = stored["sessions"][0]
    first = _ok(
        _attend(
            world,
            outing["id"],
            {
                "members": outing["attendees"],
                "households": outing["households"],
                "notes": "Mrs Wang, 13800138000",
            },
        )
    )
    assert first["status"] == "attended"
    assert first["attendance"]["members"] == sorted(outing["attendees"])
    assert first["attendance"]["households"] == outing["households"]
    assert first["attendance"]["notes"] == "Mrs Wang, 13800138000"
    assert first["attendance"]["recorded_at"].endswith("+08:00")

    second = _ok(
        _attend(world, outing["id"], {"members": [members[0], substitute], "households": ["h-1"]})
    )
    assert second["attendance"]["members"] == sorted([members[0], substitute])
    assert second["attendance"]["households"] == ["h-1"]
    assert second["attendance"]["notes"] is None
    with world.app.extensions["linli"].sessions() as session:
        rows = session.scalars(
            select(VisitAttendance.member_id).where(VisitAttendance.session_id == outing["id"])
        ).all()
    assert sorted(rows) == sorted([members[0], substitute])
    assert _ok(world.get(f"/visit-sessions/{outing['id']}")) == second
    logged = caplog.text
    assert outing["id"] in logged and stored["id"] in logged
    for secret in ("13800138000", "Mrs Wang", "34.751", "113.62"):
        assert secret not in logged


def test_attendance_before_the_outing_is_a_409(world: World) -> None:
    """An outing that has not ended cannot have attendance; nothing is written."""
    members = [world.member(world.a) for _ in range(3)]
    _problem, stored = _stored(world, members, quarter=FUTURE_QUARTER)
    outing = stored["sessions"][0]
    body = assert_error(_attend(world, outing["id"], {"members": outing["attendees"]}), 409)
    assert "date" in body["errors"]
    assert _ok(world.get(f"/visit-sessions/{outing['id']}"))["status"] == "planned"
    # The same session, recorded "after" its end through the logic, is accepted.
    district = _person("district")
    later = datetime(2099, 12, 31, tzinfo=LOCAL)
    data = {"members": outing["attendees"], "households": [], "notes": None}
    done = world.logic(visit_records.record_attendance, district, outing["id"], data, now=later)
    assert done["status"] == "attended"


def test_bad_attendance_is_a_422_naming_the_items(world: World) -> None:
    """Foreign or unknown members, households outside the team's area, repeats, an empty list,
    and fields the server sets are refused by path; nothing is written."""
    members = [world.member(world.a) for _ in range(3)]
    foreigner = world.member(world.b)
    _problem, stored = _stored(world, members)
    outing = stored["sessions"][0]
    cases: list[tuple[Json, set[str]]] = [
        ({"members": [members[0], foreigner, "m-nobody"]}, {"members[1]", "members[2]"}),
        ({"members": members[:2], "households": ["h-1", "h-99"]}, {"households[1]"}),
        ({"members": [members[0], members[0]]}, {"members[1]"}),
        ({"members": []}, {"members"}),
        ({"members": members[:2], "id": "vss-x"}, {"id"}),
        ({"members": members[:2], "status": "planned"}, {"status"}),
        ({"members": members[:2], "recorded_at": "2026-01-01T00:00:00+08:00"}, {"recorded_at"}),
        ({"members": members[:2], "notes": "x" * 1001}, {"notes"}),
    ]
    for body, fields in cases:
        found = assert_error(_attend(world, outing["id"], body), 422)
        assert set(found["errors"]) == fields, (body, found)
    assert _ok(world.get(f"/visit-sessions/{outing['id']}"))["attendance"] is None


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


class LedgerFixture:
    """Community a: m1 (unit), m2, m3; services m1 1.5 h rated 5, m1 1.0 h unrated, m2 2.0 h
    rated 3; an accepted, uncompleted task of m3; one attended outing (m1, m2) and one planned
    outing. Community b: one completed service."""

    def __init__(self, world: World) -> None:
        self.m1 = world.member(world.a, unit_id=world.unit)
        self.m2 = world.member(world.a)
        self.m3 = world.member(world.a)
        self.tasks = {
            "m1-rated": world.service(self.m1, hours=1.5, rating=5),
            "m1-unrated": world.service(self.m1, hours=1.0, rating=None),
            "m2-rated": world.service(self.m2, hours=2.0, rating=3),
        }
        self._accepted_only(world)
        self.foreign_member = world.member(world.b)
        _problem, self.schedule = _stored(world, [self.m1, self.m2, self.m3])
        assert len(self.schedule["sessions"]) >= 1
        self.outing = self.schedule["sessions"][0]
        self.attended = _ok(
            _attend(
                world, self.outing["id"], {"members": [self.m1, self.m2], "households": ["h-1"]}
            )
        )
        self.visit_hours = (
            datetime.fromisoformat(self.outing["end"])
            - datetime.fromisoformat(self.outing["start"])
        ) / timedelta(hours=1)

    def _accepted_only(self, world: World) -> None:
        day = (datetime.now(LOCAL) + timedelta(days=3)).date()
        demand = world.post(
            f"/communities/{world.a}/demands",
            {
                "category": "repairs",
                "skills": ["care"],
                "location": PLACE,
                "window": {
                    "start": f"{day.isoformat()}T09:00:00+08:00",
                    "end": f"{day.isoformat()}T17:00:00+08:00",
                },
                "duration_hours": 1.0,
                "priority": 2,
            },
            world.key_a,
            201,
        )
        world.post(f"/demands/{demand['id']}/claim", {"member_id": self.m3}, world.key_a, 201)


def _all_pages(world: World, url: str, headers: dict[str, str] | None = None) -> list[Json]:
    entries: list[Json] = []
    page = 1
    while True:
        sep = "&" if "?" in url else "?"
        response = world.get(f"{url}{sep}page={page}&page_size=2", headers)
        batch = _ok(response)
        entries += batch
        if not batch:
            return entries
        page += 1


def _recount(entries: list[Json]) -> dict[str, Json]:
    """Per-member totals recomputed from the listed entries."""
    out: dict[str, Json] = {}
    for e in entries:
        t = out.setdefault(
            e["member_id"],
            {"services": 0, "hours": 0.0, "visits": 0, "visit_hours": 0.0, "ratings": []},
        )
        if e["kind"] == "service":
            t["services"] += 1
            t["hours"] += e["hours"]
            if e["rating"] is not None:
                t["ratings"].append(e["rating"])
        else:
            t["visits"] += 1
            t["visit_hours"] += e["hours"]
    return out


def test_the_ledger_lists_services_and_visits_with_their_sources(world: World) -> None:
    """Completed services and attended visits, oldest first, each traceable to its task and
    demand or its visit session and schedule; uncompleted tasks and planned outings are not
    in it, nor another community's services."""
    fx = LedgerFixture(world)
    entries = _all_pages(world, f"/communities/{world.a}/ledger")
    services = [e for e in entries if e["kind"] == "service"]
    visits = [e for e in entries if e["kind"] == "visit"]
    assert {e["source"]["task_id"] for e in services} == {t["id"] for t in fx.tasks.values()}
    for e in services:
        task = _ok(world.get(f"/tasks/{e['source']['task_id']}"))
        assert task["status"] == "completed" and task["member_id"] == e["member_id"]
        assert task["demand_id"] == e["source"]["demand_id"]
        assert (task["hours"], task["rating"]) == (e["hours"], e["rating"])
        assert e["start"] == task["start"] and e["category"] == "elderly_care"
        assert e["id"] == f"service:{task['id']}"
    assert sorted(e["member_id"] for e in visits) == sorted([fx.m1, fx.m2])
    for e in visits:
        assert e["source"]["visit_session_id"] == fx.outing["id"]
        assert e["source"]["visit_schedule_id"] == fx.schedule["id"]
        assert e["team"] == "t-1" and e["households"] == ["h-1"] and e["rating"] is None
        assert e["start"] == fx.outing["start"]
        assert e["hours"] == pytest.approx(fx.visit_hours)
    starts = [datetime.fromisoformat(e["start"]) for e in entries]
    assert starts == sorted(starts)
    assert len(entries) == 5 and len({e["id"] for e in entries}) == 5
    header = world.get(f"/communities/{world.a}/ledger?page_size=2").headers["X-Pagination"]
    assert '"total": 5' in header

    only_visits = _ok(world.get(f"/communities/{world.a}/ledger?kind=visit"))
    assert {e["kind"] for e in only_visits} == {"visit"} and len(only_visits) == 2
    only_m2 = _ok(world.get(f"/communities/{world.a}/ledger?member={fx.m2}"))
    assert {e["member_id"] for e in only_m2} == {fx.m2} and len(only_m2) == 2
    january = _ok(world.get(f"/communities/{world.a}/ledger?from=2026-01-01&to=2026-01-31"))
    assert {e["kind"] for e in january} == {"visit"}
    nothing = _ok(world.get(f"/communities/{world.a}/ledger?from=2020-01-01&to=2020-12-31"))
    assert nothing == []
    theirs = _ok(world.get(f"/communities/{world.b}/ledger", world.key_b))
    assert theirs == []


def test_ledger_totals_are_the_sums_of_the_entries(world: World) -> None:
    """Per member: services, hours, visits, mean rating, equal to the entries' own sums."""
    fx = LedgerFixture(world)
    entries = _all_pages(world, f"/communities/{world.a}/ledger")
    totals = _ok(world.get(f"/communities/{world.a}/ledger/totals"))
    by_member = {m["member_id"]: m for m in totals["members"]}
    assert set(by_member) == {fx.m1, fx.m2}
    m1, m2 = by_member[fx.m1], by_member[fx.m2]
    assert (m1["services"], m1["hours"], m1["visits"], m1["ratings"]) == (2, 2.5, 1, 1)
    assert m1["mean_rating"] == 5.0
    assert (m2["services"], m2["hours"], m2["visits"], m2["mean_rating"]) == (2 - 1, 2.0, 1, 3.0)
    recount = _recount(entries)
    for member_id, t in by_member.items():
        mine = recount[member_id]
        assert t["services"] == mine["services"] and t["visits"] == mine["visits"]
        assert t["hours"] == pytest.approx(mine["hours"])
        assert t["visit_hours"] == pytest.approx(mine["visit_hours"])
        ratings = mine["ratings"]
        assert t["mean_rating"] == pytest.approx(sum(ratings) / len(ratings))
    overall = totals["totals"]
    assert (overall["members"], overall["services"], overall["visits"]) == (2, 3, 2)
    assert overall["hours"] == pytest.approx(4.5)
    assert overall["mean_rating"] == pytest.approx(4.0)
    assert (totals["from"], totals["to"], totals["kind"]) == (None, None, None)
    only_services = _ok(world.get(f"/communities/{world.a}/ledger/totals?kind=service"))
    assert only_services["totals"]["visits"] == 0 and only_services["kind"] == "service"
    january = _ok(world.get(f"/communities/{world.a}/ledger/totals?from=2026-01-01&to=2026-01-31"))
    assert (january["from"], january["to"]) == ("2026-01-01", "2026-01-31")
    assert (january["totals"]["services"], january["totals"]["visits"]) == (0, 2)


def test_the_ledger_is_scoped_to_the_members_a_client_may_read(world: World) -> None:
    """A member sees their own entries, a unit organiser its unit's members', another
    community's key nothing (404); the filters of the query are checked (422)."""
    fx = LedgerFixture(world)
    assert_error(world.get(f"/communities/{world.a}/ledger", world.key_b), 404)
    assert_error(world.get(f"/communities/{world.a}/ledger/totals", world.key_b), 404)
    everything = ledger.LedgerFilter()
    member = _person("member", (world.a,), member_id=fx.m2)
    organiser = _person("unit_organiser", unit_id=world.unit)
    for who, expected in ((member, {fx.m2}), (organiser, {fx.m1})):
        totals = world.logic(ledger.ledger_totals, who, world.a, everything)
        assert {m["member_id"] for m in totals["members"]} == expected
        community, members = world.logic(ledger.ledger_scope, who, world.a)
        query = ledger.entries_query(community, everything, members=members)
        with world.app.extensions["linli"].sessions() as session:
            rows = session.execute(query).all()
        assert {r.member_id for r in rows} == expected
    stranger = _person("member", (world.b,), member_id=fx.foreign_member)
    assert (
        _http_code(lambda: world.logic(ledger.ledger_totals, stranger, world.a, everything)) == 404
    )

    for params, field in (
        ("from=2026-13-01", "query.from"),
        ("from=0001-01-01", "query.from"),
        ("to=9999-12-31", "query.to"),
        ("from=2026-02-01&to=2026-01-01", "query.to"),
        ("kind=party", "query.kind"),
        ("member=" + "m" * 65, "query.member"),
    ):
        body = assert_error(world.get(f"/communities/{world.a}/ledger?{params}"), 422)
        assert field in body["errors"], body


# --------------------------------------------------------------------------------------------
# The publicity board
# --------------------------------------------------------------------------------------------


def test_the_board_shows_members_by_name_and_the_half_years_figures(world: World) -> None:
    """Per member: id, name, unit, services, hours, visits, mean rating, a place for
    commitments; community totals. No home, no phone, no card number."""
    fx = LedgerFixture(world)
    day = (datetime.now(LOCAL) + timedelta(days=2)).date()
    response = world.get(f"/communities/{world.a}/board?date={day.isoformat()}")
    board = _ok(response)
    start, end = ledger.half_year(day)
    assert board["period"] == {"start": start.isoformat(), "end": end.isoformat()}
    rows = {m["member_id"]: m for m in board["members"]}
    assert set(rows) == {fx.m1, fx.m2, fx.m3}
    assert (rows[fx.m1]["services"], rows[fx.m1]["hours"], rows[fx.m1]["mean_rating"]) == (
        2,
        2.5,
        5.0,
    )
    assert (rows[fx.m3]["services"], rows[fx.m3]["visits"], rows[fx.m3]["mean_rating"]) == (
        0,
        0,
        None,
    )
    assert all(m["commitments"] == [] for m in rows.values())
    assert board["totals"]["services"] == 3 and board["totals"]["hours"] == pytest.approx(4.5)
    text = response.get_data(as_text=True)
    with world.app.extensions["linli"].sessions() as session:
        cards = session.scalars(select(Member.card_number).where(Member.community_id == world.a))
        for card in cards:
            assert card not in text
    for m in rows.values():
        assert m["name"] == _ok(world.get(f"/members/{m['member_id']}"))["name"]
        assert set(m) == {
            "member_id",
            "name",
            "unit",
            "services",
            "hours",
            "visits",
            "mean_rating",
            "commitments",
        }
    assert "lat" not in text and "lon" not in text and "761234" not in text

    # The visits of January 2026 count in that half year's board.
    january = _ok(world.get(f"/communities/{world.a}/board?date=2026-03-01"))
    visits = {m["member_id"]: m["visits"] for m in january["members"]}
    assert visits == {fx.m1: 1, fx.m2: 1, fx.m3: 0}
    assert january["totals"]["services"] == 0


def test_the_board_is_read_by_the_community_only(world: World) -> None:
    """Another community's key and a unit organiser get 404; a member of the community reads
    it; a bad date is a 422."""
    fx = LedgerFixture(world)
    assert_error(world.get(f"/communities/{world.a}/board", world.key_b), 404)
    day = date(2026, 3, 1)
    member = _person("member", (world.a,), member_id=fx.m3)
    seen = world.logic(ledger.board, member, world.a, day)
    assert {m["member_id"] for m in seen["members"]} == {fx.m1, fx.m2, fx.m3}
    organiser = _person("unit_organiser", unit_id=world.unit)
    assert _http_code(lambda: world.logic(ledger.board, organiser, world.a, day)) == 404
    for bad in ("tomorrow", "9999-12-31"):
        body = assert_error(world.get(f"/communities/{world.a}/board?date={bad}"), 422)
        assert "query.date" in body["errors"]


def test_half_years() -> None:
    """January to June, and July to December."""
    assert ledger.half_year(date(2026, 6, 30)) == (date(2026, 1, 1), date(2026, 6, 30))
    assert ledger.half_year(date(2026, 7, 1)) == (date(2026, 7, 1), date(2026, 12, 31))


def test_sessions_of_a_deleted_schedule_go_with_it(world: World) -> None:
    """Sessions and attendance cascade with their schedule (no orphan rows)."""
    members = [world.member(world.a) for _ in range(3)]
    _problem, stored = _stored(world, members)
    outing = stored["sessions"][0]
    _ok(_attend(world, outing["id"], {"members": outing["attendees"]}))
    with world.app.extensions["linli"].sessions() as session:
        row = session.get(VisitSchedule, stored["id"])
        session.delete(row)
        session.commit()
        left = session.scalar(
            select(func.count()).where(VisitSessionRecord.schedule_id == stored["id"])
        )
        attended = session.scalar(
            select(func.count()).where(VisitAttendance.session_id == outing["id"])
        )
    assert (left, attended) == (0, 0)
