"""``POST /api/v1/visit-schedules`` and ``GET /api/v1/jobs/{id}/calendar.ics``: visit schedules
as jobs of kind ``visits`` (sync and async), every schedule checked by the independent verifier,
422 paths, calendars, cancellation, resubmission, and the ``jobs.kind`` migration."""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, insert, inspect, select

from matcher.dispatch.generate import generate_district
from matcher.errors import InvalidProblemError
from matcher.visits.solve import solve_visits
from matcher.visits.verify import verify_schedule
from service.contracts.visits import dump_schedule, load_schedule, load_visit_problem
from service.db.base import utcnow
from service.db.clients import ApiClient, IdempotencyRecord
from service.db.engine import alembic_config, make_engine, upgrade_database
from service.db.jobs import Job
from service.domain.keys import create_api_client
from service.jobs.worker import run_job
from tests.service.helpers import (
    HeldExecutor,
    assert_error,
    assert_verified,
    body_of,
    new_auth,
    wait_for_job,
)

URL = "/api/v1/visit-schedules"
ASYNC = {"Prefer": "respond-async"}
Json = dict[str, Any]


def _loc(lat: float, lon: float) -> Json:
    return {"lat": lat, "lon": lon}


def _household(i: int, dlat: float, dlon: float) -> Json:
    return {
        "id": f"h-{i}",
        "location": _loc(34.75 + dlat, 113.62 + dlon),
        "visit_minutes": 20,
        "visits": 1,
    }


def _quarter(time_limit_s: float = 1.0) -> Json:
    """Two teams sharing member m-3, one area each (12 households), a January of weekends."""
    return {
        "quarter": {"start": "2027-01-01", "end": "2027-01-31"},
        "visit_weekdays": ["sat", "sun"],
        "blackout_dates": ["2027-01-01"],
        "max_sessions_per_day": 4,
        "session": {"start": "09:00", "max_hours": 3.0},
        "walking_speed_kmh": 4.0,
        "members": [{"id": f"m-{k}"} for k in range(1, 7)],
        "teams": [
            {
                "id": "t-1",
                "members": ["m-1", "m-2", "m-3"],
                "leader": "m-1",
                "quorum": 2,
                "area": "a-1",
            },
            {
                "id": "t-2",
                "members": ["m-3", "m-4", "m-5", "m-6"],
                "leader": "m-4",
                "quorum": 2,
                "area": "a-2",
            },
        ],
        "areas": [
            {
                "id": "a-1",
                "start": _loc(34.75, 113.62),
                "households": [_household(k, 0.001 * k, 0.0005 * k) for k in range(1, 9)],
            },
            {
                "id": "a-2",
                "start": _loc(34.76, 113.63),
                "households": [_household(k, 0.01 + 0.001 * (k - 8), 0.01) for k in range(9, 13)],
            },
        ],
        "options": {"time_limit_s": time_limit_s, "seed": 0, "min_days_between_visits": 7},
    }


def assert_schedule_verified(problem: Json, schedule: Json) -> None:
    """The independent verifier finds nothing, and the schedule loads back unchanged."""
    assert verify_schedule(problem, schedule) == []
    assert schedule["status"] in ("optimal", "feasible")
    assert schedule["stats"]["sessions"] == len(schedule["sessions"]) > 0
    assert dump_schedule(load_schedule(schedule)) == schedule


def _job_id_of(response: Any) -> str:
    """The job of a sync answer (its ``Link`` header)."""
    link: str = response.headers["Link"]
    assert link.startswith("</api/v1/jobs/")
    return link.split(">")[0].rsplit("/", 1)[1]


def _scheduled(client: FlaskClient, auth: dict[str, str], problem: Json) -> tuple[str, Json]:
    response = client.post(URL, json=problem, headers=auth)
    assert response.status_code == 200, response.get_json()
    schedule: Json = response.get_json()
    assert_schedule_verified(problem, schedule)
    return _job_id_of(response), schedule


def _events(data: bytes) -> list[Any]:
    return list(Calendar.from_ical(data).walk("VEVENT"))


def test_small_quarter_is_answered_with_a_verified_schedule(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    """A small quarter is solved while the request waits: 200 with a schedule the verifier
    accepts; the job behind it is a sync ``visits`` job holding the same schedule."""
    problem = _quarter()
    job_id, schedule = _scheduled(client, auth, problem)
    households = {h for s in schedule["sessions"] for h in s["route"]}
    assert households == {f"h-{k}" for k in range(1, 13)}
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).get_json()
    assert job["kind"] == "visits"
    assert job["mode"] == "sync" and job["status"] == "succeeded"
    assert job["size"] == {"members": 6, "demands": 12, "teams": 2}
    assert job["limits"]["time_limit_s"] == {"requested": 1.0, "applied": 1.0}
    assert job["progress"]["phase"] == "done"
    assert job["answer"] == schedule and job["best_answer"] is None


def test_prefer_respond_async_gets_202_and_a_job_to_poll(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    """``Prefer: respond-async``: 202 with the job and its Location; polling ends ``succeeded``
    with a verified schedule as the answer."""
    problem = _quarter()
    response = client.post(URL, json=problem, headers={**auth, **ASYNC})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["kind"] == "visits" and job["mode"] == "async"
    assert job["status"] in ("queued", "running") and job["answer"] is None
    assert response.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert response.headers["Preference-Applied"] == "respond-async"
    done = wait_for_job(client, auth, job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["started_at"] and done["finished_at"]
    assert_schedule_verified(problem, done["answer"])
    listed = client.get("/api/v1/jobs", headers=auth).get_json()
    assert any(j["id"] == job["id"] and j["kind"] == "visits" for j in listed)


def test_bad_problems_are_422_with_every_path_and_nothing_is_stored(app: Flask) -> None:
    """Reference errors (an unknown team member, a quorum above the team's size) and shape errors
    (a date that does not exist, an unknown field) are 422 in the one error shape, each under its
    field path; no job and no idempotency record is written."""
    with app.extensions["linli"].sessions() as session:
        row, key = create_api_client(session, "visits 422")
    client, auth = app.test_client(), {"X-API-Key": key}

    references = _quarter()
    references["teams"][0]["members"].append("m-99")
    references["teams"][1]["quorum"] = 5
    response = client.post(URL, json=references, headers={**auth, "Idempotency-Key": "bad-1"})
    error = assert_error(response, 422)
    assert error["errors"] == {
        "teams[0].members[3]": ["unknown member 'm-99'"],
        "teams[1].quorum": ["is 5 but the team has 4 members"],
    }
    assert "2 errors" in error["message"]

    shapes = _quarter()
    shapes["quarter"]["end"] = "2027-02-30"
    shapes["members"][0]["unavailable_dates"] = ["2027-01-09", "09/01/2027"]
    shapes["options"]["colour"] = "red"
    response = client.post(URL, json=shapes, headers={**auth, "Idempotency-Key": "bad-2"})
    error = assert_error(response, 422)
    assert set(error["errors"]) == {
        "quarter.end",
        "members[0].unavailable_dates[1]",
        "options.colour",
    }
    assert error["errors"]["quarter.end"] == ["must be a date as YYYY-MM-DD"]

    with app.extensions["linli"].sessions() as session:
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.client_id == row.id))
        records = session.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.client_id == row.id)
        )
    assert (jobs, records) == (0, 0)


def test_without_a_key_is_401(client: FlaskClient) -> None:
    error = assert_error(client.post(URL, json=_quarter()), 401)
    assert "X-API-Key" in error["message"]
    job = uuid.uuid4()
    assert_error(client.get(f"/api/v1/jobs/{job}/calendar.ics"), 401)
    response = client.post(URL, json=_quarter(), headers={"X-API-Key": "not a key"})
    assert_error(response, 401)


def test_bodies_that_are_not_json_are_400_and_415(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    """As for dispatch: 415 for another content type, 400 (with the position) for bad JSON."""
    response = client.post(URL, data="quarter=1", headers={**auth, "Content-Type": "text/plain"})
    assert_error(response, 415)
    response = client.post(
        URL, data='{"quarter": {', headers={**auth, "Content-Type": "application/json"}
    )
    assert assert_error(response, 400)["errors"]["$"][0].startswith("not valid JSON:")


def test_size_limits_apply_as_for_dispatch(make_app: Callable[..., Flask]) -> None:
    """413 over the body limit; households count against the demands limit (422)."""
    small = make_app(LINLI_MAX_BODY_MB=0.001)
    error = assert_error(
        small.test_client().post(URL, json=_quarter(), headers=new_auth(small)), 413
    )
    assert "larger than" in error["message"]
    few = make_app(LINLI_MAX_DEMANDS=10, LINLI_MAX_TEAMS=1)
    response = few.test_client().post(URL, json=_quarter(), headers=new_auth(few))
    assert assert_error(response, 422)["errors"] == {
        "teams": ["at most 1 items"],
        "areas": ["at most 10 households in all"],
    }


def test_time_limit_is_capped_and_reported(make_app: Callable[..., Flask]) -> None:
    """A time limit above the server's cap runs with the cap (so this one is answered at once);
    the job reports both. Above the sync limit, a quarter runs as a job without ``Prefer``."""
    app = make_app(LINLI_MAX_TIME_LIMIT_S=0.5)
    client, auth = app.test_client(), new_auth(app)
    problem = _quarter(time_limit_s=600)
    job_id, _schedule = _scheduled(client, auth, problem)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).get_json()
    assert job["mode"] == "sync"
    assert job["limits"] == {
        "time_limit_s": {"requested": 600.0, "applied": 0.5},
        "workers": {"requested": 0, "applied": 1},
    }

    slow = make_app(LINLI_SYNC_MAX_TIME_LIMIT_S=0.5)
    client, auth = slow.test_client(), new_auth(slow)
    problem = _quarter(time_limit_s=1)
    response = client.post(URL, json=problem, headers=auth)
    assert response.status_code == 202
    assert "Preference-Applied" not in response.headers
    done = wait_for_job(client, auth, response.get_json()["id"])
    assert done["status"] == "succeeded", done["error"]
    assert_schedule_verified(problem, done["answer"])


def test_calendar_of_the_whole_schedule_and_of_each_team(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    """``calendar.ics``: one event per session, for all teams or one; an unknown team is 404."""
    job_id, schedule = _scheduled(client, auth, _quarter())
    url = f"/api/v1/jobs/{job_id}/calendar.ics"
    response = client.get(url, headers=auth)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    events = _events(response.data)
    assert len(events) == len(schedule["sessions"])
    assert all(str(e["dtstart"].dt.tzinfo) == "Asia/Shanghai" for e in events)
    per_team = Counter(s["team"] for s in schedule["sessions"])
    assert set(per_team) == {"t-1", "t-2"}
    for team, count in per_team.items():
        response = client.get(url, query_string={"team": team}, headers=auth)
        assert response.status_code == 200
        events = _events(response.data)
        assert len(events) == count
        assert all(f"team: {team}" in str(e["description"]) for e in events)
    error = assert_error(client.get(url, query_string={"team": "t-9"}, headers=auth), 404)
    assert error["errors"] == {"query.team": ["unknown team"]}
    assert_error(client.get(url, query_string={"team": ""}, headers=auth), 422)
    assert_error(client.get(f"/api/v1/jobs/{uuid.uuid4()}/calendar.ics", headers=auth), 404)


def test_calendar_of_a_dispatch_job_is_404(client: FlaskClient, auth: dict[str, str]) -> None:
    problem = generate_district(members=6, demands=8, seed=1)
    response = client.post("/api/v1/dispatch", json=body_of(problem, time_limit_s=1), headers=auth)
    assert response.status_code == 200, response.get_json()
    assert_verified(problem, response.get_json())
    job_id = _job_id_of(response)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).get_json()
    assert job["kind"] == "dispatch"
    error = assert_error(client.get(f"/api/v1/jobs/{job_id}/calendar.ics", headers=auth), 404)
    assert "dispatch" in error["message"]


def test_a_cancelled_queued_visit_job_never_starts(make_app: Callable[..., Flask]) -> None:
    """A visit job still waiting for a solver is cancelled at once; a worker that gets it later
    skips it. Its calendar is 404 (no schedule)."""
    app = make_app(EXECUTOR_FACTORY=HeldExecutor)
    client, auth = app.test_client(), new_auth(app)
    response = client.post(URL, json=_quarter(), headers={**auth, **ASYNC})
    assert response.status_code == 202
    job_id = response.get_json()["id"]
    assert_error(client.get(f"/api/v1/jobs/{job_id}/calendar.ics", headers=auth), 404)
    response = client.delete(f"/api/v1/jobs/{job_id}", headers=auth)
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    result = run_job(job_id, app.extensions["linli"].runner.worker_settings)
    assert result["status"] == "skipped"
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth).get_json()
    assert job["status"] == "cancelled" and job["kind"] == "visits"
    assert job["answer"] is None and job["started_at"] is None
    error = assert_error(client.get(f"/api/v1/jobs/{job_id}/calendar.ics", headers=auth), 404)
    assert "cancelled" in error["message"]


def test_resubmit_runs_a_visit_job_again(client: FlaskClient, auth: dict[str, str]) -> None:
    """``POST /jobs/{id}/resubmit`` of a visit job: a new ``visits`` job, verified again."""
    problem = _quarter()
    first, _schedule = _scheduled(client, auth, problem)
    response = client.post(f"/api/v1/jobs/{first}/resubmit", headers=auth)
    assert response.status_code == 202, response.get_json()
    new = response.get_json()
    assert new["kind"] == "visits" and new["resubmitted_from"] == first
    done = wait_for_job(client, auth, new["id"])
    assert done["status"] == "succeeded", done["error"]
    assert_schedule_verified(problem, done["answer"])


def test_migration_0002_defaults_the_job_kind_and_keeps_every_link(
    fresh_db_url: Callable[[], str],
) -> None:
    """Upgrading a 0001 database with jobs: rows and their links (a resubmitted job, an
    idempotency record) survive (SQLite rebuilds the table), ``kind`` gets its server default,
    and the downgrade undoes it."""
    engine = make_engine(fresh_db_url())
    try:
        upgrade_database(engine, "0001")
        now, first, second = utcnow(), uuid.uuid4(), uuid.uuid4()
        with engine.begin() as connection:
            connection.execute(
                insert(ApiClient.__table__).values(
                    id=1, name="old", key_hash="0" * 64, communities=[], created_at=now
                )
            )
            for job_id, parent in ((first, None), (second, first)):
                connection.execute(
                    insert(Job.__table__).values(
                        id=job_id,
                        client_id=1,
                        kind="dispatch",
                        mode="async",
                        status="succeeded",
                        n_members=1,
                        n_demands=1,
                        n_teams=0,
                        problem={"members": []},
                        limits={},
                        answer={"status": "optimal"},
                        cancel_requested=False,
                        resubmitted_from=parent,
                        created_at=now,
                    )
                )
            connection.execute(
                insert(IdempotencyRecord.__table__).values(
                    client_id=1,
                    key="k",
                    request_hash="h",
                    state="done",
                    job_id=second,
                    created_at=now,
                )
            )

        def state() -> tuple[Any, ...]:
            with engine.connect() as connection:
                jobs = connection.execute(
                    select(Job.id, Job.kind, Job.resubmitted_from, Job.answer).order_by(Job.id)
                ).all()
                links = connection.execute(select(IdempotencyRecord.job_id)).scalars().all()
            default = next(
                c["default"] for c in inspect(engine).get_columns("jobs") if c["name"] == "kind"
            )
            return sorted(jobs), links, default

        before = state()
        assert before[2] is None
        upgrade_database(engine)
        jobs, links, default = state()
        assert (jobs, links) == before[:2]
        assert dict((j.id, j.resubmitted_from) for j in jobs)[second] == first
        assert links == [second]
        assert default is not None and "dispatch" in default
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0001")
        assert state() == before
    finally:
        engine.dispose()


def test_a_stored_schedule_loads_back() -> None:
    """``load_schedule`` rebuilds what ``dump_schedule`` wrote, and refuses other data."""
    problem_json = _quarter()
    schedule = solve_visits(load_visit_problem(problem_json), time_limit_s=1, workers=1)
    dumped = dump_schedule(schedule)
    assert verify_schedule(problem_json, dumped) == []
    assert load_schedule(dumped) == schedule
    broken = copy.deepcopy(dumped)
    broken["sessions"][0]["date"] = "soon"
    with pytest.raises(InvalidProblemError) as info:
        load_schedule(broken)
    assert set(info.value.errors) == {"$"}
