"""The job runner's fair choice among waiting jobs, its cluster-wide per-tenant cap, and the
retry of a lost worker's job (issue #6: a community's job is never starved by a province-wide
client; a killed worker loses no job).

The executor is a thread pool and ``run_job`` a stand-in that takes the job's lease like the
real one (queued → running, one more start), waits until the test releases it, then ends it
``succeeded``. The database is real: a SQLite file and PostgreSQL (as the front-ends share it),
so "two front-ends" are two runners on it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db.base import utcnow
from service.db.clients import ApiClient
from service.db.engine import make_engine, make_session_factory, upgrade_database
from service.db.jobs import Job
from service.domain.keys import create_api_client
from service.jobs import runner as jobs
from service.jobs.runner import AUTO, JobRunner, dask_priority, reap_lost_jobs
from service.jobs.store import NewJob, create_job
from service.jobs.worker import WorkerSettings
from tests.service.conftest import PG_DATABASE, _postgres_url

WAIT_S = 10.0


@pytest.fixture(scope="module")
def sessions(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    """A migrated database of this module's own (SQLite file, or a PostgreSQL database)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('runner') / 'runner.sqlite3'}"
    else:
        url = _postgres_url(f"{PG_DATABASE}_runner")
    engine = make_engine(url)
    upgrade_database(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def tenants(sessions: sessionmaker[Session]) -> Iterator[dict[str, int]]:
    """API clients ``province``, ``community`` and ``other``: name → client id (jobs and
    clients are deleted after each test)."""
    ids = {}
    with sessions() as session:
        for name in ("province", "community", "other"):
            client, _key = create_api_client(session, name)
            ids[name] = client.id
    yield ids
    with sessions() as session:
        session.execute(delete(Job))
        session.execute(delete(ApiClient))
        session.commit()


class Recorder:
    """Stands in for ``run_job``: takes the lease (queued → running, ``attempts`` + 1) or
    skips; records the start order; each job waits for its release, then ends ``succeeded``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.started: list[str] = []
        self.release: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def __call__(self, job_id: str, _settings: Any) -> dict[str, Any]:
        key, owner = uuid.UUID(job_id), f"stand-in:{uuid.uuid4().hex[:8]}"
        with self.sessions() as session:
            taken = session.execute(
                update(Job)
                .where(Job.id == key, Job.status == "queued")
                .values(status="running", lease_owner=owner, attempts=Job.attempts + 1)
            ).rowcount  # type: ignore[attr-defined]
            session.commit()
        if taken != 1:
            return {"job_id": job_id, "status": "skipped"}
        with self.changed:
            self.started.append(job_id)
            release = self.release.setdefault(job_id, threading.Event())
            self.changed.notify_all()
        assert release.wait(WAIT_S)
        with self.sessions() as session:
            session.execute(  # only under its own lease, like run_job
                update(Job)
                .where(Job.id == key, Job.status == "running", Job.lease_owner == owner)
                .values(status="succeeded", finished_at=utcnow(), lease_expires_at=None)
            )
            session.commit()
        return {"job_id": job_id, "status": "succeeded"}

    def wait_started(self, count: int) -> list[str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.started) >= count, timeout=WAIT_S), (
                self.started
            )
            return list(self.started)

    def finish(self, job_id: uuid.UUID) -> None:
        with self.lock:
            self.release.setdefault(str(job_id), threading.Event())
        self.release[str(job_id)].set()

    def rearm(self, job_id: uuid.UUID) -> None:
        """The job's next start waits for a new release."""
        with self.lock:
            self.release[str(job_id)] = threading.Event()


@pytest.fixture
def recorder(
    monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session]
) -> Iterator[Recorder]:
    recording = Recorder(sessions)
    monkeypatch.setattr(jobs, "run_job", recording)
    yield recording
    for event in recording.release.values():
        event.set()


class Front:
    """One front-end: a runner on the shared database and the jobs it queued."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        slots: int | str | None,
        tenant_cap: int = 0,
        executor: Any = None,
    ) -> None:
        settings = WorkerSettings(
            database_url="unused", lease_ttl_s=5, heartbeat_s=1, cancel_poll_s=0.1
        )
        self.sessions = sessions
        self.runner = JobRunner(
            executor or (lambda: ThreadPoolExecutor(max_workers=4)),
            sessions=sessions,
            worker_settings=settings,
            slots=slots,  # type: ignore[arg-type]
            tenant_cap=tenant_cap,
        )
        self.submitted: list[uuid.UUID] = []

    def queue(self, tenant: int, size: int) -> uuid.UUID:
        """Insert a queued job leased by this runner (as the API does) and submit it."""
        with self.sessions() as session:
            job = create_job(
                session,
                NewJob(
                    client_id=tenant,
                    problem={},
                    limits={},
                    n_members=1,
                    n_demands=size,
                    n_teams=0,
                    mode="async",
                    lease_owner=self.runner.instance_id,
                    lease_expires_at=self.runner.lease_until(),
                ),
            )
            job_id = job.id
        self.runner.submit(job_id, tenant=tenant, size=size)
        self.submitted.append(job_id)
        return job_id

    def drain(self, recorder: Recorder) -> None:
        """Let every job end, then close the runner."""
        _drain([self], recorder)


def _drain(fronts: list[Front], recorder: Recorder) -> None:
    """Let every job of these front-ends end (pumping them, as their reapers would, for jobs
    held by a cap), then close their runners."""
    deadline = time.monotonic() + WAIT_S
    for front in fronts:
        for job in front.submitted:
            recorder.finish(job)
    while any(front.runner.pending() for front in fronts):
        assert time.monotonic() < deadline, [front.runner.counts() for front in fronts]
        for front in fronts:
            front.runner.pump()
        time.sleep(0.05)
    for front in fronts:
        front.runner.close(wait=True)


def _status(sessions: sessionmaker[Session], job_id: uuid.UUID) -> str | None:
    with sessions() as session:
        return session.scalar(select(Job.status).where(Job.id == job_id))


def test_a_communitys_small_job_goes_before_a_provinces_queue(
    sessions: sessionmaker[Session], tenants: dict[str, int], recorder: Recorder
) -> None:
    """Two slots busy with the province's jobs, two more of its jobs waiting: the community's
    job, though larger and newer, takes the next free slot."""
    front = Front(sessions, slots=2)
    try:
        province = [front.queue(tenants["province"], 10_000) for _ in range(4)]
        assert set(recorder.wait_started(2)) == {str(province[0]), str(province[1])}
        community = front.queue(tenants["community"], 20_000)  # larger, yet next
        recorder.finish(province[0])
        assert recorder.wait_started(3)[2] == str(community)
        recorder.finish(province[1])
        assert recorder.wait_started(4)[3] == str(province[2])  # then the oldest
        recorder.finish(community)
        assert recorder.wait_started(5)[4] == str(province[3])
    finally:
        front.drain(recorder)


def test_within_one_tenant_smaller_jobs_go_first(
    sessions: sessionmaker[Session], tenants: dict[str, int], recorder: Recorder
) -> None:
    front = Front(sessions, slots=1)
    try:
        blocker = front.queue(tenants["community"], 1)
        recorder.wait_started(1)
        front.queue(tenants["community"], 900)
        small = front.queue(tenants["community"], 30)
        recorder.finish(blocker)
        assert recorder.wait_started(2)[1] == str(small)
    finally:
        front.drain(recorder)


def test_without_slots_every_job_goes_to_the_executor_at_once(
    sessions: sessionmaker[Session], tenants: dict[str, int], recorder: Recorder
) -> None:
    front = Front(sessions, slots=None)
    try:
        submitted = [front.queue(tenants["other"], 1) for _ in range(3)]
        assert sorted(recorder.wait_started(3)) == sorted(str(j) for j in submitted)
    finally:
        front.drain(recorder)


def test_the_fair_choice_counts_the_jobs_other_front_ends_run(
    sessions: sessionmaker[Session], tenants: dict[str, int], recorder: Recorder
) -> None:
    """Front-end A runs two province jobs. On front-end B (one slot), a small province job and
    a larger, newer community job wait: the community's goes first, because the province has
    jobs in flight in the database, though none on B."""
    a, b = Front(sessions, slots=2), Front(sessions, slots=1)
    try:
        a.queue(tenants["province"], 10)
        a.queue(tenants["province"], 10)
        blocker = b.queue(tenants["other"], 1)
        recorder.wait_started(3)
        b.queue(tenants["province"], 1)
        community = b.queue(tenants["community"], 1_000)
        recorder.finish(blocker)
        assert recorder.wait_started(4)[3] == str(community)
    finally:
        _drain([a, b], recorder)


def test_a_tenants_cap_holds_across_two_front_ends(
    sessions: sessionmaker[Session], tenants: dict[str, int], recorder: Recorder
) -> None:
    """``tenant_cap=1`` on two front-ends with free slots: of the province's four jobs (two on
    each) one runs at a time over both, the community's job starts at once, and the next
    province job, held queued, goes when the running one ends (on the other front-end's next
    pump, as its reaper does every tick)."""
    a = Front(sessions, slots=4, tenant_cap=1)
    b = Front(sessions, slots=4, tenant_cap=1)
    try:
        province = [front.queue(tenants["province"], 10) for front in (a, b, a, b)]
        community = b.queue(tenants["community"], 10)
        started = recorder.wait_started(2)
        assert set(started) == {str(province[0]), str(community)}
        assert [_status(sessions, job) for job in province[1:]] == ["queued"] * 3
        assert a.runner.counts() == {"in_flight": 1, "waiting": 1}
        assert b.runner.counts() == {"in_flight": 1, "waiting": 2}

        recorder.finish(province[0])  # ends on A; B's province job goes on B's next pump
        a_done = a.runner._pending.get(province[0])
        assert a_done is not None and a_done.wait(WAIT_S)
        b.runner.pump()
        a.runner.pump()
        third = recorder.wait_started(3)[2]
        assert third in {str(job) for job in province[1:]}
        with sessions() as session:
            in_flight = session.scalar(
                select(jobs.func.count())
                .select_from(Job)
                .where(Job.client_id == tenants["province"], jobs.in_flight())
            )
        assert in_flight == 1
    finally:
        _drain([a, b], recorder)


def test_a_job_cancelled_while_it_waits_never_reaches_the_executor(
    sessions: sessionmaker[Session], tenants: dict[str, int], recorder: Recorder
) -> None:
    """A waiting job whose row was cancelled is dropped when its turn comes: its event is set
    and the executor never sees it."""
    front = Front(sessions, slots=1)
    try:
        blocker = front.queue(tenants["other"], 1)
        recorder.wait_started(1)
        waiting = front.queue(tenants["other"], 1)
        with sessions() as session:
            session.execute(update(Job).where(Job.id == waiting).values(status="cancelled"))
            session.commit()
        done = front.runner._pending[waiting]
        recorder.finish(blocker)
        assert done.wait(WAIT_S)
        assert recorder.started == [str(blocker)]
    finally:
        front.drain(recorder)


def test_auto_slots_are_the_executors_threads(
    sessions: sessionmaker[Session], tenants: dict[str, int], recorder: Recorder
) -> None:
    """``slots=AUTO`` asks the executor for its threads (a Dask cluster's) when the runner
    first connects: three threads, three jobs in flight, the fourth waits."""

    class ThreeThreads(ThreadPoolExecutor):
        def threads(self) -> int:
            return 3

    front = Front(sessions, slots=AUTO, executor=lambda: ThreeThreads(max_workers=4))
    try:
        assert front.runner.slots is None  # not connected yet
        for _ in range(4):
            front.queue(tenants["other"], 1)
        recorder.wait_started(3)
        assert front.runner.slots == 3
        assert front.runner.counts() == {"in_flight": 3, "waiting": 1}
    finally:
        front.drain(recorder)


def test_dask_priorities_put_fewer_jobs_in_flight_then_smaller_jobs_first() -> None:
    """Higher runs first in Dask: a client with nothing in flight beats one with a job in
    flight whatever the sizes; within the same count, the smaller job wins."""
    assert dask_priority(0, 10**8) > dask_priority(1, 1)
    assert dask_priority(2, 5) > dask_priority(2, 50)
    assert dask_priority(0, 10**12) > dask_priority(1, 0)  # sizes are clipped into their span


def _lose_worker(sessions: sessionmaker[Session], job_id: uuid.UUID) -> None:
    """Make the job look like a dead worker's: running, lease run out, a best plan stored."""
    with sessions() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="running",
                lease_owner="dead-worker",
                lease_expires_at=utcnow() - timedelta(seconds=1),
                best_answer={"status": "feasible", "objective": 42.0},
            )
        )
        session.commit()


def test_a_lost_workers_job_is_queued_again_until_its_attempts_run_out(
    sessions: sessionmaker[Session], tenants: dict[str, int], recorder: Recorder
) -> None:
    """With two starts allowed: the first lost worker's job is queued again under the
    reaper's runner (best plan kept) and runs again; when that worker is lost too, the job
    ends ``failed`` ("worker lost") with its best plan so far."""
    front = Front(sessions, slots=2)
    try:
        job_id = front.queue(tenants["community"], 5)
        recorder.wait_started(1)
        _lose_worker(sessions, job_id)
        recorder.finish(job_id)  # the first start finds its lease gone: it writes nothing
        recorder.rearm(job_id)
        assert reap_lost_jobs(sessions, runner=front.runner, max_attempts=2) == [job_id]
        assert recorder.wait_started(2)[1] == str(job_id)  # started again
        with sessions() as session:
            row = session.get(Job, job_id)
            assert row is not None
            assert (row.status, row.attempts) == ("running", 2)
            assert row.best_answer == {"status": "feasible", "objective": 42.0}

        _lose_worker(sessions, job_id)
        assert reap_lost_jobs(sessions, runner=front.runner, max_attempts=2) == [job_id]
        with sessions() as session:
            row = session.get(Job, job_id)
            assert row is not None
            assert row.status == "failed"
            assert row.error is not None and row.error.startswith("worker lost")
            assert row.best_answer == {"status": "feasible", "objective": 42.0}
            assert row.attempts == 2
    finally:
        front.drain(recorder)


def test_concurrent_hand_overs_never_exceed_the_cap(
    sessions: sessionmaker[Session], tenants: dict[str, int]
) -> None:
    """Six hand-overs of one client's jobs at the same moment, from two front-ends with a cap
    of two: exactly two succeed (the others stay queued, without ``sent_at``)."""
    fronts = [Front(sessions, slots=None, tenant_cap=2) for _ in range(2)]
    ids: list[tuple[JobRunner, uuid.UUID]] = []
    for front in fronts:
        for _ in range(3):
            with sessions() as session:
                job = create_job(
                    session,
                    NewJob(
                        client_id=tenants["province"],
                        problem={},
                        limits={},
                        n_members=1,
                        n_demands=1,
                        n_teams=0,
                        mode="async",
                        lease_owner=front.runner.instance_id,
                        lease_expires_at=front.runner.lease_until(),
                    ),
                )
                ids.append((front.runner, job.id))
    barrier = threading.Barrier(len(ids))

    def claim(runner: JobRunner, job_id: uuid.UUID) -> str:
        barrier.wait(WAIT_S)
        return runner._claim(job_id)

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        outcomes = list(pool.map(lambda pair: claim(*pair), ids))
    assert sorted(outcomes) == ["capped"] * 4 + ["sent"] * 2
    with sessions() as session:
        sent = session.scalar(
            select(jobs.func.count()).select_from(Job).where(Job.sent_at.is_not(None))
        )
    assert sent == 2
    for front in fronts:
        front.runner.close(wait=True)
