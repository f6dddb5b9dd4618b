"""Jobs on a Dask cluster (``LINLI_EXECUTOR=dask://host:port``): the same answers as the
default pool, a killed worker loses no job, health reports the workers, and the CLI.

The cluster is real and local: ``dask scheduler`` and two ``linli worker`` processes (each a
nanny and one single-threaded worker), started once for the test session and killed in the
fixture's finalizer, whatever happened. Without ``distributed`` these tests are skipped with
the reason, except under ``CI=true``, where they fail. The fault tests run once, on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import solve
from matcher.dispatch.verify import recompute_objective, verify
from service.cli.main import main as linli
from service.cli.main import worker_command
from service.config.settings import load_settings
from service.contracts.dispatch import dump_problem, load_answer
from service.db.jobs import Job
from service.domain.keys import create_api_client
from service.jobs.executors import (
    DaskExecutorFactory,
    ProcessExecutorFactory,
    describe_executor,
    executor_factory,
    solve_problem_json,
)
from service.jobs.store import NewJob, create_job
from tests.service.helpers import assert_verified, body_of, new_auth, wait_for_job

URL = "/api/v1/dispatch"
START_TIMEOUT_S = 60.0


def _require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError as err:
        reason = f"dask[distributed] is not installed ({err}); pip install -e '.[dask]'"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)


class Cluster:
    """A local scheduler and its workers, as processes this test module started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.scheduler_file = folder / "scheduler.json"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.address = ""

    @property
    def url(self) -> str:
        """``dask://host:port``: the LINLI_EXECUTOR value."""
        return "dask://" + self.address.removeprefix("tcp://")

    def _spawn(self, command: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.folder / log_name).open("ab")
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the nanny's worker dies with it
        )
        log.close()
        self.processes.append(process)
        return process

    def start_scheduler(self) -> None:
        """Start the scheduler: on a free port the first time, on the same port again."""
        port = int(self.address.rpartition(":")[2]) if self.address else 0
        self.scheduler_file.unlink(missing_ok=True)
        self.scheduler = self._spawn(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
                "--scheduler-file",
                str(self.scheduler_file),
            ],
            "scheduler.log",
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.address = json.loads(self.scheduler_file.read_text())["address"]
                return
            except (OSError, ValueError, KeyError):
                if self.scheduler.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the scheduler did not start:\n" + self.logs()) from None
                time.sleep(0.1)

    def kill_scheduler(self) -> None:
        os.killpg(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait(timeout=10)

    def start_worker(self, name: str) -> None:
        """``linli worker --scheduler dask://...``, as an operator starts it."""
        command = [
            sys.executable,
            "-c",
            "from service.cli.main import run; run()",
            "worker",
            "--scheduler",
            self.url,
            "--name",
            name,
        ]
        self._spawn(command, f"{name}.log")

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=START_TIMEOUT_S, set_as_default=False)

    def wait_for_workers(self, count: int) -> None:
        with self.client() as client:
            try:
                client.wait_for_workers(count, timeout=START_TIMEOUT_S)
            except TimeoutError:
                raise AssertionError(f"{count} workers did not connect:\n{self.logs()}") from None

    def worker_count(self) -> int:
        with self.client() as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )

    def stop(self) -> None:
        """Kill every process group this cluster started (workers first)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in reversed(self.processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the group: nannies' workers too
            process.wait(timeout=5)
        self.processes.clear()


@pytest.fixture(scope="session")  # the service tests are grouped by backend across modules
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A scheduler and two single-threaded workers; killed at the end even on failure."""
    _require_dask()
    cluster = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start_scheduler()
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def dask_app(make_app: Callable[..., Flask], cluster: Cluster) -> Flask:
    """An app whose jobs run on the cluster (LINLI_EXECUTOR, nothing else changed)."""
    cluster.wait_for_workers(2)  # a worker killed by an earlier test is back
    return make_app(threads=False, LINLI_EXECUTOR=cluster.url)


@pytest.fixture(scope="module")
def busy_problem() -> Problem:
    """300 members, 900 demands: still improving after 5 s."""
    return generate_district(members=300, demands=900, seed=5)


def _new_client_id(app: Flask, name: str) -> int:
    with app.extensions["linli"].sessions() as session:
        client, _key = create_api_client(session, name)
        return client.id


def _queue_directly(app: Flask, client_id: int, problem_json: dict[str, Any]) -> uuid.UUID:
    """A queued job of the API client, inserted and handed to the app's runner as
    ``POST /dispatch`` does after validating."""
    state = app.extensions["linli"]
    with state.sessions() as session:
        job = create_job(
            session,
            NewJob(
                client_id=client_id,
                problem=problem_json,
                limits={},
                n_members=len(problem_json["members"]),
                n_demands=len(problem_json["demands"]),
                n_teams=len(problem_json.get("teams", [])),
                mode="async",
                lease_owner=state.runner.instance_id,
                lease_expires_at=state.runner.lease_until(),
            ),
        )
        job_id = job.id
    state.runner.submit(job_id, tenant=client_id, size=len(problem_json["demands"]))
    return job_id


def _wait_for_rows(
    app: Flask, ids: list[uuid.UUID], statuses: tuple[str, ...], timeout_s: float = 30
) -> dict[uuid.UUID, Job]:
    """Poll the jobs' rows until every one has one of ``statuses``."""
    deadline = time.monotonic() + timeout_s
    while True:
        with app.extensions["linli"].sessions() as session:
            rows = {row.id: row for row in session.query(Job).filter(Job.id.in_(ids))}
            session.expunge_all()
        if all(rows[i].status in statuses for i in ids):
            return rows
        assert time.monotonic() < deadline, [rows[i].status for i in ids]
        time.sleep(0.05)


def _solve_through(app: Flask, problem: Problem, *, time_limit_s: float) -> dict[str, Any]:
    client, auth = app.test_client(), new_auth(app)
    body = body_of(problem, time_limit_s=time_limit_s)
    body["options"].update(seed=7, workers=1)
    response = client.post(URL, json=body, headers={**auth, "Prefer": "respond-async"})
    assert response.status_code == 202, response.get_json()
    return wait_for_job(client, auth, response.get_json()["id"], timeout_s=60)


# -- settings and factories (no cluster) ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("process", "process"),
        (" Process ", "process"),
        ("dask://127.0.0.1:8786", "dask://127.0.0.1:8786"),
        ("dask://scheduler.internal:8786/", "dask://scheduler.internal:8786"),
    ],
)
def test_executor_setting_is_parsed(value: str, expected: str) -> None:
    """LINLI_EXECUTOR accepts ``process`` and ``dask://host:port`` (normalised)."""
    settings = load_settings(
        {"LINLI_EXECUTOR": value}, environ={}, default_database_url="sqlite://"
    )
    assert settings.executor == expected


def test_executor_setting_defaults_to_the_process_pool() -> None:
    settings = load_settings({}, environ={}, default_database_url="sqlite://")
    assert settings.executor == "process"
    factory = executor_factory(settings)
    assert isinstance(factory, ProcessExecutorFactory)
    assert describe_executor(factory) == {
        "kind": "process",
        "address": None,
        "workers": settings.pool_size,
    }


@pytest.mark.parametrize(
    "value",
    ["dask", "dask://", "dask://host", "dask://host:0", "dask://host:99999", "tcp://h:1", "ray"],
)
def test_a_bad_executor_setting_is_a_clear_error(value: str) -> None:
    """Anything else is a ValueError naming LINLI_EXECUTOR and the accepted forms."""
    with pytest.raises(
        ValueError, match=r"LINLI_EXECUTOR: must be 'process' or 'dask://host:port'"
    ):
        load_settings({"LINLI_EXECUTOR": value}, environ={}, default_database_url="sqlite://")


def test_the_environment_variable_selects_dask() -> None:
    settings = load_settings(
        environ={"LINLI_EXECUTOR": "dask://10.0.0.5:8786"}, default_database_url="sqlite://"
    )
    factory = executor_factory(settings)
    assert isinstance(factory, DaskExecutorFactory)
    assert factory.address == "tcp://10.0.0.5:8786"  # parsed only: nothing is contacted


def test_worker_command_runs_single_threaded_dask_workers() -> None:
    """``linli worker --dry-run`` prints the ``dask worker`` command it would become."""
    command = worker_command("dask://10.0.0.5:8786", nworkers=2, name="w", extra=["--foo"])
    assert command[:4] == [
        sys.executable,
        "-m",
        "distributed.cli.dask_worker",
        "tcp://10.0.0.5:8786",
    ]
    assert command[command.index("--nthreads") + 1] == "1"
    assert command[command.index("--nworkers") + 1] == "2"
    assert command[-3:] == ["--name", "w", "--foo"]


def test_linli_worker_rejects_a_bad_scheduler(capsys: pytest.CaptureFixture[str]) -> None:
    assert linli(["worker", "--scheduler", "process"]) == 2
    assert "--scheduler: must be dask://host:port" in capsys.readouterr().err
    assert linli(["worker", "--scheduler", "http://x"]) == 2
    assert "--scheduler: must be 'process' or 'dask://host:port'" in capsys.readouterr().err


def test_linli_dispatch_rejects_a_bad_executor(
    tmp_path: Path, small_problem: Problem, capsys: pytest.CaptureFixture[str]
) -> None:
    problem_path = tmp_path / "p.json"
    problem_path.write_text(json.dumps(dump_problem(small_problem)))
    assert linli(["dispatch", str(problem_path), "--executor", "spark://x:1"]) == 2
    assert "linli: error: --executor: must be 'process'" in capsys.readouterr().err


def test_linli_dispatch_rejects_a_negative_fan_out_threshold(
    tmp_path: Path, small_problem: Problem, capsys: pytest.CaptureFixture[str]
) -> None:
    problem_path = tmp_path / "p.json"
    problem_path.write_text(json.dumps(dump_problem(small_problem)))
    assert linli(["dispatch", str(problem_path), "--fan-out-min-demands", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["linli: error: --fan-out-min-demands: must be at least 0"]


def test_the_cli_task_is_the_engine(small_problem: Problem) -> None:
    """The task ``linli dispatch --executor`` sends: JSON in, a verified answer out."""
    answer = load_answer(
        solve_problem_json(dump_problem(small_problem), time_limit_s=10, seed=3, workers=1)
    )
    assert verify(small_problem, answer) == []


# -- on the cluster ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_job_on_dask_matches_the_default_pool(
    dask_app: Flask, make_app: Callable[..., Flask], small_problem: Problem
) -> None:
    """The same problem, seed and ``workers=1`` through the cluster and through the default
    process pool: both verified, both optimal, the same objective.

    Only the objective is compared: both runs prove optimality (the small district is solved
    to optimality in well under a second; the 20 s limit is there so a loaded machine cannot
    stop either run early), and an optimum is unique in value but not necessarily in plan.
    Had a run stopped on its time limit, its plan would depend on how much wall-clock search it
    got, which no seed fixes."""
    on_dask = _solve_through(dask_app, small_problem, time_limit_s=20)
    pool_app = make_app(threads=False)
    assert describe_executor(pool_app.extensions["linli"].runner.executor_factory)["kind"] == (
        "process"
    )
    on_pool = _solve_through(pool_app, small_problem, time_limit_s=20)
    for job in (on_dask, on_pool):
        assert job["status"] == "succeeded", job
        assert job["answer"]["status"] == "optimal"
        assert_verified(small_problem, job["answer"])
    objectives = [
        recompute_objective(small_problem, load_answer(job["answer"])) for job in (on_dask, on_pool)
    ]
    assert objectives[0] == pytest.approx(objectives[1], rel=1e-9)
    assert on_dask["answer"]["objective"] == pytest.approx(on_pool["answer"]["objective"], rel=1e-9)


@pytest.mark.slow
def test_a_sync_request_is_answered_from_the_cluster(
    dask_app: Flask, small_problem: Problem
) -> None:
    """A small problem's sync request waits for the Dask task like for the pool: 200."""
    client, auth = dask_app.test_client(), new_auth(dask_app)
    response = client.post(URL, json=body_of(small_problem, time_limit_s=10), headers=auth)
    assert response.status_code == 200, response.get_json()
    assert_verified(small_problem, response.get_json())


@pytest.mark.slow
def test_readyz_reports_the_dask_workers(dask_app: Flask, cluster: Cluster) -> None:
    """``/readyz`` keeps its body; ``?verbose=true`` adds the executor and its workers, which
    ``/metrics`` reports too."""
    client = dask_app.test_client()
    assert client.get("/readyz").get_json() == {"status": "ok"}
    response = client.get("/readyz?verbose=true")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "executor": {"kind": "dask", "address": cluster.address, "workers": 2},
    }
    metrics = client.get("/metrics", headers=new_auth(dask_app)).get_data(as_text=True)
    assert 'linli_executor_workers{kind="dask"} 2.0' in metrics


@pytest.mark.slow
def test_readyz_with_the_scheduler_away_is_still_ready(make_app: Callable[..., Flask]) -> None:
    """No scheduler: the service still accepts jobs (they wait in the database); verbose
    readiness says the worker count is unknown instead of failing."""
    _require_dask()
    app = make_app(threads=False, LINLI_EXECUTOR="dask://127.0.0.1:9")
    factory = app.extensions["linli"].runner.executor_factory
    assert isinstance(factory, DaskExecutorFactory)
    factory.probe_timeout_s = 0.5
    body = app.test_client().get("/readyz?verbose=true").get_json()
    assert body == {
        "status": "ok",
        "executor": {"kind": "dask", "address": "tcp://127.0.0.1:9", "workers": None},
    }


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_a_job_for_an_absent_scheduler_is_interrupted_not_stuck(
    make_app: Callable[..., Flask], small_problem: Problem, backend: str
) -> None:
    """The scheduler does not answer: the post is still accepted (202), the runner tries a
    few times, and the job ends ``interrupted`` (resubmittable) instead of waiting forever."""
    _require_dask()
    app = make_app(threads=False, LINLI_EXECUTOR="dask://127.0.0.1:9")
    factory = app.extensions["linli"].runner.executor_factory
    assert isinstance(factory, DaskExecutorFactory)
    factory.timeout_s = 0.5
    client, auth = app.test_client(), new_auth(app)
    response = client.post(
        URL, json=body_of(small_problem), headers={**auth, "Prefer": "respond-async"}
    )
    assert response.status_code == 202, response.get_json()
    job = wait_for_job(client, auth, response.get_json()["id"], timeout_s=20)
    assert job["status"] == "interrupted"
    assert "resubmit" in job["error"]


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_a_killed_worker_loses_no_job(
    dask_app: Flask, cluster: Cluster, busy_problem: Problem, backend: str
) -> None:
    """SIGKILL the worker process solving a 5 s job: the job is run again and succeeds.

    Dask retries the task on the other worker, which finds the job still leased by the dead
    worker and leaves it; once that lease runs out the reaper queues the job again (second
    start, ``attempts`` 2) and its runner sends it as a new task, whose verified answer is
    stored. (After ``LINLI_JOB_ATTEMPTS`` lost starts it would end ``failed`` with its best
    plan: ``test_fair_runner.py``.)"""
    problem = busy_problem
    client, auth = dask_app.test_client(), new_auth(dask_app)
    body = body_of(problem, time_limit_s=5)
    response = client.post(URL, json=body, headers={**auth, "Prefer": "respond-async"})
    assert response.status_code == 202
    job_id = response.get_json()["id"]
    running = wait_for_job(
        client,
        auth,
        job_id,
        until=lambda job: job["status"] != "queued" and job["best_answer"] is not None,
    )
    assert running["status"] == "running", running
    with dask_app.extensions["linli"].sessions() as session:
        pid = session.get(Job, uuid.UUID(job_id)).worker_pid
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)

    ended = wait_for_job(client, auth, job_id, timeout_s=40)
    assert ended["status"] == "succeeded", ended
    assert_verified(problem, ended["answer"])
    with dask_app.extensions["linli"].sessions() as session:
        row = session.get(Job, uuid.UUID(job_id))
        assert row is not None and row.attempts == 2
        assert row.worker_pid != pid

    cluster.wait_for_workers(2)  # the nanny restarted the killed worker: the next tests use it


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_a_second_tenants_job_is_not_starved_on_the_cluster(
    dask_app: Flask,
    make_app: Callable[..., Flask],
    cluster: Cluster,
    busy_problem: Problem,
    backend: str,
) -> None:
    """Two front-ends on one database and one cluster (two worker threads). Front-end 1 hands
    all six of a province's 1 s jobs to Dask at once (``LINLI_EXECUTOR_SLOTS=6``): two run, the
    rest wait in the cluster. Then a community's job arrives through front-end 2 (its slots: the
    cluster's threads). Its Dask priority (no job of its client in flight) puts it before the
    province's tasks still held by the scheduler, so it does not start last, as Dask's
    first-come order would have it. (The scheduler holds tasks back, in priority order, once
    they outnumber twice the threads; the first ones go to the workers at once.)"""
    province_app = make_app(threads=False, LINLI_EXECUTOR=cluster.url, LINLI_EXECUTOR_SLOTS=6)
    problem_json = body_of(busy_problem, time_limit_s=1)
    problem_json["options"].update(seed=7, workers=1)
    # queued as the API does (row, then runner), without its validation of a 900-demand body,
    # so that all six are in the cluster well before the first ends
    province = _new_client_id(province_app, "province")
    province_ids = [_queue_directly(province_app, province, problem_json) for _ in range(6)]
    assert province_app.extensions["linli"].runner.counts()["waiting"] == 0  # all in Dask
    _wait_for_rows(province_app, province_ids[:1], ("running", "succeeded"))
    community_id = _queue_directly(dask_app, _new_client_id(dask_app, "community"), problem_json)
    assert dask_app.extensions["linli"].runner.slots == 2  # the cluster's worker threads

    rows = _wait_for_rows(dask_app, [*province_ids, community_id], ("succeeded",))
    assert all(row.started_at is not None for row in rows.values())
    order = sorted(rows, key=lambda i: rows[i].started_at or 0)
    assert order.index(community_id) < len(province_ids), order  # not after all of them


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_a_restarted_scheduler_loses_no_job(
    dask_app: Flask, cluster: Cluster, busy_problem: Problem, backend: str
) -> None:
    """SIGKILL the scheduler while two jobs run and one waits, start it again on its port and
    start two workers (as systemd's ``Restart=always`` does: Dask workers exit when they lose
    their scheduler). No job is lost: the waiting job, still ``queued`` in the database, is
    resubmitted to the new scheduler and succeeds; the running ones end ``succeeded`` (their
    worker finished them while closing, or a reaper queued them again once their worker had
    exited) or, past ``LINLI_JOB_ATTEMPTS``, ``failed`` (worker lost)."""
    client, auth = dask_app.test_client(), new_auth(dask_app)
    body = body_of(busy_problem, time_limit_s=2)
    ids = []
    for _ in range(3):
        response = client.post(URL, json=body, headers={**auth, "Prefer": "respond-async"})
        assert response.status_code == 202
        ids.append(response.get_json()["id"])

    def statuses() -> list[str]:
        return [client.get(f"/api/v1/jobs/{i}", headers=auth).get_json()["status"] for i in ids]

    deadline = time.monotonic() + 30
    while sorted(statuses()) != ["queued", "running", "running"]:
        assert time.monotonic() < deadline, statuses()
        time.sleep(0.05)
    waiting = ids[statuses().index("queued")]
    cluster.kill_scheduler()
    cluster.start_scheduler()
    cluster.start_worker("w3")
    cluster.start_worker("w4")

    ended = [wait_for_job(client, auth, i, timeout_s=45) for i in ids]
    for job in ended:
        assert job["status"] in ("succeeded", "failed"), job
        if job["status"] == "failed":
            assert "worker lost" in job["error"]
        else:
            assert_verified(busy_problem, job["answer"])
    assert ended[ids.index(waiting)]["status"] == "succeeded"
    cluster.wait_for_workers(2)


@pytest.mark.slow
def test_linli_dispatch_on_the_cluster(
    cluster: Cluster, tmp_path: Path, small_problem: Problem, capsys: pytest.CaptureFixture[str]
) -> None:
    """``linli dispatch --executor dask://...`` writes the same verified answer as in-process."""
    problem_path = tmp_path / "p.json"
    problem_path.write_text(json.dumps(dump_problem(small_problem)))
    outputs = {}
    for where in (cluster.url, None):
        out = tmp_path / f"answer-{'dask' if where else 'local'}.json"
        argv = ["dispatch", str(problem_path), "-o", str(out), "--seed", "7", "--workers", "1"]
        argv += ["--time-limit", "20", "--quiet"] + (["--executor", where] if where else [])
        assert linli(argv) == 0, capsys.readouterr().err
        outputs[where] = load_answer(json.loads(out.read_text()))
    for answer in outputs.values():
        assert answer.status == "optimal"
        assert verify(small_problem, answer) == []
    on_dask, local = outputs[cluster.url], outputs[None]
    assert recompute_objective(small_problem, on_dask) == pytest.approx(
        recompute_objective(small_problem, local), rel=1e-9
    )


# -- one large solve over the whole cluster ----------------------------------------------------

FAN_OUT_LIMIT_S = 8.0  # a budget of 64 neighbourhoods; they take about 2 s here


@pytest.fixture(scope="module")
def spread_problem() -> Problem:
    """1,000 members, 600 demands: room for several disjoint neighbourhoods per batch."""
    return generate_district(members=1000, demands=600, seed=11)


def _checked(problem: Problem, answer_json: dict[str, Any]) -> Any:
    answer = load_answer(answer_json)
    assert verify(problem, answer) == []
    assert answer.objective == pytest.approx(recompute_objective(problem, answer), rel=1e-9)
    return answer


def _plan(answer: Any) -> list[tuple[str, tuple[str, ...], str]]:
    return [(a.demand, a.members, a.start.isoformat()) for a in answer.assignments]


@pytest.mark.slow
def test_a_large_solve_fans_out_over_the_cluster_with_the_plan_of_one_thread(
    cluster: Cluster, spread_problem: Problem
) -> None:
    """The CLI's task on a worker sends its sub-models to the whole cluster; the plan is the
    one the same batched search makes on one local thread (it depends on the seed only)."""
    local = solve(
        spread_problem,
        time_limit_s=FAN_OUT_LIMIT_S,
        seed=3,
        workers=1,
        executor=ThreadPoolExecutor(1),
    )
    task = functools.partial(
        solve_problem_json,
        time_limit_s=FAN_OUT_LIMIT_S,
        seed=3,
        workers=1,
        fan_out_min_demands=500,
    )
    with cluster.client() as client:
        remote_json = client.submit(task, dump_problem(spread_problem), pure=False).result(
            timeout=120
        )
    remote = _checked(spread_problem, remote_json)
    assert remote.stats.method.endswith("+lns/fan-out")
    assert remote.stats.moves > 0
    # the neighbourhood budget, not the clock, ended both searches: the comparison is fair
    assert remote.stats.neighbourhoods == local.stats.neighbourhoods == 64
    assert remote.objective == local.objective
    assert _plan(remote) == _plan(local)


@pytest.mark.slow
def test_a_small_problem_never_fans_out(cluster: Cluster, small_problem: Problem) -> None:
    """Below ``fan_out_min_demands`` the task's search is the one-process one."""
    task = functools.partial(
        solve_problem_json, time_limit_s=10, seed=3, workers=1, fan_out_min_demands=10_000
    )
    with cluster.client() as client:
        answer = _checked(
            small_problem, client.submit(task, dump_problem(small_problem), pure=False).result(60)
        )
    assert "fan-out" not in answer.stats.method


@pytest.mark.slow
def test_a_large_job_fans_out_when_the_setting_asks(
    make_app: Callable[..., Flask], cluster: Cluster, spread_problem: Problem
) -> None:
    """``LINLI_FAN_OUT_MIN_DEMANDS``: a job that large spreads its search over the cluster and
    still ends with a verified answer."""
    cluster.wait_for_workers(2)
    app = make_app(threads=False, LINLI_EXECUTOR=cluster.url, LINLI_FAN_OUT_MIN_DEMANDS=500)
    job = _solve_through(app, spread_problem, time_limit_s=FAN_OUT_LIMIT_S)
    assert job["status"] == "succeeded", job
    assert_verified(spread_problem, job["answer"])
    assert job["answer"]["stats"]["method"].endswith("+lns/fan-out")
