"""Leases: a killed worker's job is marked failed, a restart interrupts stale jobs, orphaned
queued jobs are interrupted, and interrupted jobs can be resubmitted."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from matcher.dispatch.problem import Problem
from service.contracts.dispatch import dump_problem
from service.db.base import utcnow
from service.db.clients import ApiClient
from service.db.engine import make_engine, make_session_factory
from service.db.jobs import Job
from tests.service.helpers import (
    HeldExecutor,
    assert_verified,
    body_of,
    new_auth,
    wait_for_job,
)

ASYNC = {"Prefer": "respond-async"}


def _row(app: Flask, job_id: str) -> Job:
    with app.extensions["linli"].sessions() as session:
        job = session.get(Job, uuid.UUID(job_id))
        assert job is not None
        return job


def test_killed_worker_is_marked_failed_by_the_reaper(
    make_app: Callable[..., Flask], fresh_db_url: Callable[[], str], large_problem: Problem
) -> None:
    """os.kill the worker process (pid recorded in the job row) of a job allowed one start
    (``LINLI_JOB_ATTEMPTS=1``): within a few seconds the reaper marks the job failed, "worker
    lost"; the next job gets a fresh pool. (With starts left it is queued again:
    ``test_dask_executor.py``, ``test_fair_runner.py``.) On a database of its own: any app's
    reaper may requeue a lost job, and the session's app allows three starts."""
    app = make_app(
        url=fresh_db_url(),
        threads=False,
        LINLI_SOLVER_PROCESSES=1,
        LINLI_LEASE_TTL_S=2,
        LINLI_HEARTBEAT_S=0.3,
        LINLI_REAPER_INTERVAL_S=0.3,
        LINLI_JOB_ATTEMPTS=1,
    )
    client, auth = app.test_client(), new_auth(app)
    response = client.post(
        "/api/v1/dispatch", json=body_of(large_problem, time_limit_s=30), headers={**auth, **ASYNC}
    )
    job_id = response.get_json()["id"]
    wait_for_job(client, auth, job_id, until=lambda job: job["status"] == "running")
    row = _row(app, job_id)
    assert row.worker_pid is not None and row.worker_pid != os.getpid()
    assert row.lease_owner and row.lease_expires_at and row.heartbeat_at
    os.kill(row.worker_pid, signal.SIGKILL)
    killed = time.monotonic()
    job = wait_for_job(client, auth, job_id, timeout_s=15)
    assert job["status"] == "failed"
    assert job["error"].startswith("worker lost")
    assert time.monotonic() - killed < 8
    assert job["answer"] is None

    small = body_of(large_problem, time_limit_s=1)
    again = client.post("/api/v1/dispatch", json=small, headers={**auth, **ASYNC})
    assert wait_for_job(client, auth, again.get_json()["id"])["status"] == "succeeded"


def test_restart_keeps_finished_jobs_and_interrupts_stale_ones(
    make_app: Callable[..., Flask], fresh_db_url: Callable[[], str], small_problem: Problem
) -> None:
    """A new app on the same database keeps finished jobs; jobs left running or queued by the
    old one (leases run out) become interrupted, and can be resubmitted."""
    url = fresh_db_url()
    first = make_app(url=url)
    client, auth = first.test_client(), new_auth(first)
    done = client.post("/api/v1/dispatch", json=body_of(small_problem), headers=auth)
    assert done.status_code == 200
    finished_id = done.headers["Link"].split("/jobs/")[1].split(">")[0]
    first.extensions["linli"].close()  # the old process is gone (its reaper too)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:  # what a crash leaves behind
        client_id = session.scalars(select(ApiClient.id).order_by(ApiClient.id.desc())).first()
        stale = utcnow() - timedelta(minutes=5)
        for status in ("running", "queued"):
            session.add(
                Job(
                    client_id=client_id,
                    status=status,
                    mode="async",
                    problem=dump_problem(small_problem),
                    limits={
                        "time_limit_s": {"requested": 1.0, "applied": 1.0},
                        "workers": {"requested": 0, "applied": 1},
                    },
                    lease_owner="crashed-host:1:dead",
                    lease_expires_at=stale,
                    heartbeat_at=stale,
                    n_members=40,
                    n_demands=80,
                    created_at=stale,
                    started_at=stale if status == "running" else None,
                )
            )
        session.commit()
    engine.dispose()

    second = make_app(url=url)
    client = second.test_client()
    kept = client.get(f"/api/v1/jobs/{finished_id}", headers=auth).get_json()
    assert kept["status"] == "succeeded"
    assert_verified(small_problem, kept["answer"])
    interrupted = client.get("/api/v1/jobs?status=interrupted", headers=auth).get_json()
    assert len(interrupted) == 2
    assert all("restarted" in job["error"] for job in interrupted)
    running_one = next(job for job in interrupted if job["started_at"] is not None)
    again = client.post(f"/api/v1/jobs/{running_one['id']}/resubmit", headers=auth)
    assert again.status_code == 202
    result = wait_for_job(client, auth, again.get_json()["id"])
    assert result["status"] == "succeeded"
    assert_verified(small_problem, result["answer"])


def test_queued_jobs_of_a_dead_process_are_interrupted(
    app: Flask, make_app: Callable[..., Flask], small_problem: Problem
) -> None:
    """A job queued in a process that dies (its queue lease is no longer renewed) is marked
    interrupted by another process's reaper."""
    dying = make_app(EXECUTOR_FACTORY=HeldExecutor, LINLI_LEASE_TTL_S=1)
    client, auth = dying.test_client(), new_auth(dying)
    response = client.post(
        "/api/v1/dispatch", json=body_of(small_problem), headers={**auth, **ASYNC}
    )
    job_id = response.get_json()["id"]
    time.sleep(1.5)
    assert _row(dying, job_id).status == "queued"  # its own reaper renews the lease
    dying.extensions["linli"].reaper.stop()  # the process "dies": nobody renews it
    job = wait_for_job(app.test_client(), auth, job_id, timeout_s=10)
    assert job["status"] == "interrupted"
    assert "resubmit" in job["error"]


def test_a_job_the_solver_fails_on_says_so_without_naming_internals(
    app: Flask, db_url: str
) -> None:
    """A job whose solve raises ends ``failed``; its error names no exception class (those go
    to the log), and the job answers nothing."""
    from service.jobs.store import NewJob, create_job
    from service.jobs.worker import SOLVER_FAILED, WorkerSettings, run_job

    with app.extensions["linli"].sessions() as session:
        client = ApiClient(name="failing jobs", key_hash=uuid.uuid4().hex, communities=[])
        session.add(client)
        session.commit()
        job = create_job(
            session,
            NewJob(
                client_id=client.id,
                problem={"members": "not a list"},  # past the API's checks: the worker must cope
                limits={},
                n_members=0,
                n_demands=0,
                n_teams=0,
                mode="async",
                lease_owner="test",
                lease_expires_at=utcnow() + timedelta(seconds=30),
            ),
        )
        job_id = str(job.id)
    outcome = run_job(job_id, WorkerSettings(database_url=db_url))
    assert outcome["status"] == "failed"
    row = _row(app, job_id)
    assert row.status == "failed" and row.error == SOLVER_FAILED
    assert "Error" not in row.error and "(" not in row.error  # no class, no call
