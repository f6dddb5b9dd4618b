"""Scale-out: throughput of many S-size community dispatch jobs, default pool vs Dask workers.

For each executor the service runs in this process (``create_app`` on a fresh SQLite database,
Flask's test client, no HTTP server), ``--jobs`` async dispatch jobs are posted at once (S-size
districts, 200 members x 500 demands, seeds 0..jobs-1, time limit ``--time-limit``, one solver
thread each) and the wall-clock time from the first post to the last job's end is measured,
``--repeats`` times. Executors:

* ``pool``: the default process pool of ``--pool`` processes (``LINLI_EXECUTOR=process``);
* ``dask-N``: a local ``dask scheduler`` and ``linli worker --nworkers N`` (processes this script
  starts and stops), for each N of ``--dask-workers``.

Writes ``benchmarks/results/scaleout.md`` (machine, command, medians)::

    python -m benchmarks.scaleout [--jobs 8] [--time-limit 2] [--repeats 3] [--dask-workers 1 2]

Everything runs on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.instances import make_instance, size_named
from service.app import create_app
from service.contracts.dispatch import dump_problem
from service.domain.keys import create_api_client

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "scaleout.md"
START_TIMEOUT_S = 90.0
ACTIVE = ("queued", "running")


@contextmanager
def dask_cluster(workers: int, folder: Path) -> Iterator[str]:
    """A local scheduler and ``linli worker --nworkers workers``; yields ``dask://host:port``."""
    from distributed import Client

    scheduler_file = folder / "scheduler.json"
    logs = (folder / "cluster.log").open("ab")
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(command: list[str]) -> None:
        processes.append(
            subprocess.Popen(command, stdout=logs, stderr=subprocess.STDOUT, start_new_session=True)
        )

    try:
        spawn(
            [
                *(sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"),
                *("--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)),
            ]
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not start")
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        url = "dask://" + address.removeprefix("tcp://")
        spawn(
            [
                *(sys.executable, "-c", "from service.cli.main import run; run()", "worker"),
                *("--scheduler", url, "--nworkers", str(workers)),
            ]
        )
        with Client(address, timeout=START_TIMEOUT_S, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=START_TIMEOUT_S)
        yield url
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        logs.close()


def run_batch(app: Any, headers: dict[str, str], bodies: list[dict[str, Any]]) -> float:
    """Post every body as an async job at once; seconds until the last one ended."""
    client = app.test_client()
    started = time.perf_counter()
    ids = []
    for body in bodies:
        response = client.post(
            "/api/v1/dispatch", json=body, headers={**headers, "Prefer": "respond-async"}
        )
        if response.status_code != 202:
            raise RuntimeError(f"post answered {response.status_code}: {response.get_json()}")
        ids.append(response.get_json()["id"])
    deadline = time.monotonic() + 60 + 10 * len(bodies) * bodies[0]["options"]["time_limit_s"]
    pending = set(ids)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} jobs still active")
        for job_id in list(pending):
            job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
            if job["status"] not in ACTIVE:
                if job["status"] != "succeeded":
                    raise RuntimeError(f"job {job_id} ended {job['status']}: {job['error']}")
                pending.discard(job_id)
        time.sleep(0.05)
    return time.perf_counter() - started


def measure(executor: str, pool: int, bodies: list[dict[str, Any]], repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` batches on a fresh database with ``executor``."""
    with tempfile.TemporaryDirectory(prefix="linli-scaleout-") as folder:
        app = create_app(
            {
                "LINLI_DATABASE_URL": f"sqlite:///{folder}/linli.sqlite3",
                "LINLI_EXECUTOR": executor,
                "LINLI_SOLVER_PROCESSES": pool,
                "LINLI_RATE_LIMIT": "off",
                "LINLI_SECRET_KEY": "benchmark",
                "LINLI_DATA_KEY": "x2cJ0sHUwJqfT8mRrE3sWnV7p2yQk1bD4gL6aZ9cF0E=",
            }
        )
        try:
            with app.extensions["linli"].sessions() as session:
                _client, key = create_api_client(session, "benchmark")
            headers = {"X-API-Key": key}
            run_batch(app, headers, bodies[:1])  # warm-up: processes started, engine imported
            return [run_batch(app, headers, bodies) for _ in range(repeats)]
        finally:
            app.extensions["linli"].close(cancel_running=True)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=8, help="jobs per batch (default 8)")
    parser.add_argument("--size", default="S", help="district size (default S)")
    parser.add_argument("--time-limit", type=float, default=2.0, help="seconds per job")
    parser.add_argument("--repeats", type=int, default=3, help="batches per executor")
    parser.add_argument("--pool", type=int, default=2, help="default pool processes")
    parser.add_argument("--dask-workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    size = size_named(args.size)
    bodies = []
    for seed in range(args.jobs):
        body = dump_problem(make_instance(size, seed))
        body["options"].update(time_limit_s=args.time_limit, seed=0, workers=1)
        bodies.append(body)

    rows: list[tuple[str, str, list[float]]] = []
    started = datetime.now(UTC)
    print(f"pool of {args.pool} ...", file=sys.stderr, flush=True)
    rows.append(
        (
            f"default pool, {args.pool} processes",
            "process",
            measure("process", args.pool, bodies, args.repeats),
        )
    )
    for workers in args.dask_workers:
        print(f"dask, {workers} worker(s) ...", file=sys.stderr, flush=True)
        with (
            tempfile.TemporaryDirectory(prefix="linli-dask-") as folder,
            dask_cluster(workers, Path(folder)) as url,
        ):
            times = measure(url, args.pool, bodies, args.repeats)
        rows.append((f"Dask, {workers} worker process(es) x 1 thread", "dask", times))
    finished = datetime.now(UTC)

    command = "python -m benchmarks.scaleout " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    lines = [
        "## Scale-out: S-size community jobs, default pool vs Dask workers",
        "",
        f"Measured {started:%Y-%m-%d %H:%M}–{finished:%H:%M} UTC on {_cpu()}, "
        f"{os.cpu_count()} cores (shared with other "
        f"engineers' work, so timings are noisy), Python {platform.python_version()}.",
        "",
        "```sh",
        command.strip(),
        "```",
        "",
        f"Each batch: {args.jobs} async dispatch jobs posted at once through the service "
        f"(`create_app`, SQLite, Flask test client), {size.name}-size districts "
        f"({size.members} members x {size.demands} demands, seeds 0..{args.jobs - 1}), "
        f"time limit {args.time_limit:g} s, one solver thread; time from the first post to the "
        f"last job's end. {args.repeats} batches per executor after one warm-up job; every job "
        "ended `succeeded`.",
        "",
        "| executor | batch wall time, median (s) | all batches (s) | jobs/minute (median) |",
        "| --- | ---: | --- | ---: |",
    ]
    for name, _kind, times in rows:
        median = statistics.median(times)
        lines.append(
            f"| {name} | {median:.1f} | {', '.join(f'{t:.1f}' for t in times)} | "
            f"{60 * args.jobs / median:.1f} |"
        )
    lines += [
        "",
        "How to read it: an S district is still improving at its time limit, so every job uses "
        "its whole limit and a batch's ideal wall time is jobs x time limit / solver processes. "
        "The rest is dispatch overhead (posting, database writes, heartbeats, Dask scheduling) "
        "and the front-end, the scheduler and the solvers sharing the same cores.",
    ]
    text = "\n".join(lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
