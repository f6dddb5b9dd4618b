"""The job runner's fair choice among waiting jobs (issue #6: a community's job is never
starved by a province-wide client)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from service import jobs
from service.jobs import JobRunner
from service.worker import WorkerSettings


class Recorder:
    """Stands in for ``run_job``: records the start order; each job waits for its release."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def __call__(self, job_id: str, _settings: Any) -> dict[str, Any]:
        with self.changed:
            self.started.append(job_id)
            self.release.setdefault(job_id, threading.Event())
            self.changed.notify_all()
        assert self.release[job_id].wait(10)
        return {"job_id": job_id}

    def wait_started(self, count: int) -> list[str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.started) >= count, timeout=10)
            return list(self.started)

    def finish(self, job_id: uuid.UUID) -> None:
        with self.lock:
            self.release.setdefault(str(job_id), threading.Event())
        self.release[str(job_id)].set()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recording = Recorder()
    monkeypatch.setattr(jobs, "run_job", recording)
    yield recording
    for event in recording.release.values():
        event.set()


def _drain(runner: JobRunner, recorder: Recorder, submitted: list[uuid.UUID]) -> None:
    """Let every job end, then close the runner (nothing left pending: no database needed)."""
    for job in submitted:
        recorder.finish(job)
    for job in submitted:
        event = runner._pending.get(job)
        assert event is None or event.wait(10)
    runner.close(wait=True)


def _runner(slots: int | None) -> JobRunner:
    settings = WorkerSettings(
        database_url="sqlite://", lease_ttl_s=5, heartbeat_s=1, cancel_poll_s=0.1
    )
    return JobRunner(
        lambda: ThreadPoolExecutor(max_workers=4),
        sessions=None,  # type: ignore[arg-type]  # not reached: jobs end before close
        worker_settings=settings,
        slots=slots,
    )


def test_a_communitys_small_job_goes_before_a_provinces_queue(recorder: Recorder) -> None:
    runner = _runner(slots=2)
    province = [uuid.uuid4() for _ in range(4)]
    community = uuid.uuid4()
    try:
        for job in province:
            runner.submit(job, tenant="province", size=10_000)
        assert recorder.wait_started(2) == [str(province[0]), str(province[1])]
        runner.submit(community, tenant="community", size=20_000)  # larger, yet next
        recorder.finish(province[0])
        assert recorder.wait_started(3)[2] == str(community)
        recorder.finish(province[1])
        recorder.finish(community)
        assert recorder.wait_started(5)[3:] == [str(province[2]), str(province[3])]
    finally:
        _drain(runner, recorder, [*province, community])


def test_within_one_tenant_smaller_jobs_go_first(recorder: Recorder) -> None:
    runner = _runner(slots=1)
    blocker, big, small = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        runner.submit(blocker, tenant="c", size=1)
        recorder.wait_started(1)
        runner.submit(big, tenant="c", size=900)
        runner.submit(small, tenant="c", size=30)
        recorder.finish(blocker)
        assert recorder.wait_started(2)[1] == str(small)
    finally:
        _drain(runner, recorder, [blocker, big, small])


def test_without_slots_every_job_goes_to_the_executor_at_once(recorder: Recorder) -> None:
    runner = _runner(slots=None)
    submitted = [uuid.uuid4() for _ in range(3)]
    try:
        for job in submitted:
            runner.submit(job, tenant="x", size=1)
        assert sorted(recorder.wait_started(3)) == sorted(str(j) for j in submitted)
    finally:
        _drain(runner, recorder, submitted)
