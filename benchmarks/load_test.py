"""A short load test of the HTTP service: reads while solves run.

Starts the service with gunicorn (``service.cli.server.run_server``, in a subprocess, on 127.0.0.1
and a fresh SQLite database), then runs ``--clients`` concurrent clients for ``--duration``
seconds: ``--solvers`` of them post small dispatch problems (synchronous solves, 40 members x 80
demands, time limit 2 s, seeds rotating), the others read (``GET /api/v1/jobs`` pages and
``GET /api/v1/jobs/{id}`` of finished jobs). Only the standard library talks to the server.

Prints the latency of reads (p50/p95/p99) while the solves run and the solve throughput, and
writes them to ``benchmarks/results/load_test.json``::

    python benchmarks/load_test.py [--duration 20] [--clients 20] [--solvers 5] [--workers 2]

Every loop is bounded in time and in count; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "load_test.json"
MAX_REQUESTS_PER_CLIENT = 20_000
SEEDS = (1, 2, 3, 4, 5, 6, 7, 8)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(
    method: str, url: str, key: str, body: bytes | None = None, timeout_s: float = 60
) -> tuple[int, bytes, float]:
    headers = {"X-API-Key": key}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            data = response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        data, status = err.read(), err.code
    return status, data, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(_percentile(values, 50) * 1000, 1),
        "p95_ms": round(_percentile(values, 95) * 1000, 1),
        "p99_ms": round(_percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
        "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else float("nan"),
    }


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reads: list[float] = []
        self.reads_during_solves: list[float] = []
        self.solves: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.job_ids: list[str] = []
        self.active_solves = 0


def _prepare(url: str) -> str:
    from service.db.engine import make_engine, make_session_factory, upgrade_database
    from service.domain.keys import create_api_client

    engine = make_engine(url)
    upgrade_database(engine)
    with make_session_factory(engine)() as session:
        _client, key = create_api_client(session, "load test")
    engine.dispose()
    return key


def _problems() -> list[bytes]:
    from matcher.dispatch.generate import generate_district
    from service.contracts.dispatch import dump_problem

    bodies = []
    for seed in SEEDS:
        body = dump_problem(generate_district(members=40, demands=80, seed=seed))
        body["options"]["time_limit_s"] = 2
        bodies.append(json.dumps(body).encode())
    return bodies


def _solver(base: str, key: str, bodies: list[bytes], rec: Recorder, stop: threading.Event) -> None:
    rng = random.Random(threading.get_ident())
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if stop.is_set():
            return
        with rec.lock:
            rec.active_solves += 1
        try:
            body = rng.choice(bodies)
            status, _data, elapsed = _call("POST", base + "/api/v1/dispatch", key, body)
        finally:
            with rec.lock:
                rec.active_solves -= 1
        with rec.lock:
            rec.statuses[f"POST dispatch {status}"] += 1
            if status == 200 and not stop.is_set():
                rec.solves.append(elapsed)


def _reader(base: str, key: str, rec: Recorder, stop: threading.Event) -> None:
    rng = random.Random(threading.get_ident())
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if stop.is_set():
            return
        with rec.lock:
            ids = list(rec.job_ids)
        if ids and rng.random() < 0.5:
            url, name = f"{base}/api/v1/jobs/{rng.choice(ids)}", "GET job"
        else:
            url, name = f"{base}/api/v1/jobs?page_size=20", "GET jobs"
        with rec.lock:
            solving = rec.active_solves > 0
        status, _data, elapsed = _call("GET", url, key, timeout_s=30)
        with rec.lock:
            rec.statuses[f"{name} {status}"] += 1
            if status == 200 and not stop.is_set():
                rec.reads.append(elapsed)
                if solving:
                    rec.reads_during_solves.append(elapsed)


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def run(duration_s: float, clients: int, solvers: int, workers: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="linli-load-"))
    url = f"sqlite:///{tmp / 'load.sqlite3'}"
    key = _prepare(url)
    bodies = _problems()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_RATE_LIMIT": "off"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from service.cli.server import run_server; "
            "run_server('127.0.0.1', int(sys.argv[1]), int(sys.argv[2]))",
            str(port),
            str(workers),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    rec = Recorder()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _call("GET", base + "/readyz", key, timeout_s=2)[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {tmp / 'server.log'}")
            time.sleep(0.2)
        # Warm-up: spawn every solver process, and leave a few finished jobs to read.
        for body in bodies[: 2 * workers]:
            _call("POST", base + "/api/v1/dispatch", key, body, timeout_s=120)
        for body in bodies[:4]:
            request = urllib.request.Request(
                base + "/api/v1/dispatch",
                data=body,
                headers={
                    "X-API-Key": key,
                    "Content-Type": "application/json",
                    "Prefer": "respond-async",
                },
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                rec.job_ids.append(json.loads(response.read())["id"])
        time.sleep(3)

        stop = threading.Event()
        threads = [
            threading.Thread(target=_solver, args=(base, key, bodies, rec, stop))
            for _ in range(solvers)
        ] + [
            threading.Thread(target=_reader, args=(base, key, rec, stop))
            for _ in range(clients - solvers)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(duration_s)
        stop.set()
        measured_s = time.monotonic() - started
        for thread in threads:
            thread.join(timeout=60)
        metrics = _call("GET", base + "/metrics", key)[1].decode()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()

    return {
        "setup": {
            "clients": clients,
            "solve_clients": solvers,
            "read_clients": clients - solvers,
            "duration_s": round(measured_s, 1),
            "gunicorn_workers": workers,
            "solver_processes_per_worker": max(1, (os.cpu_count() or 1) // workers),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "database": "sqlite (WAL)",
            "problem": "40 members x 80 demands, time_limit_s 2, sync POST /api/v1/dispatch",
            "reads": "GET /api/v1/jobs?page_size=20 and GET /api/v1/jobs/{id} (finished job)",
        },
        "reads": _summary_ms(rec.reads),
        "reads_while_solving": _summary_ms(rec.reads_during_solves),
        "solves": {
            **_summary_ms(rec.solves),
            "throughput_per_s": round(len(rec.solves) / measured_s, 2),
        },
        "server_solve_seconds_sum": round(_metric(metrics, "linli_solve_duration_seconds_sum"), 2),
        "statuses": dict(sorted(rec.statuses.items())),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--solvers", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not 0 < args.solvers < args.clients:
        parser.error("need 0 < --solvers < --clients")
    result = run(min(args.duration, 120.0), args.clients, args.solvers, args.workers)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    reads, during, solves = result["reads"], result["reads_while_solving"], result["solves"]
    print(
        f"reads: {reads['count']} (p50 {reads['p50_ms']} ms, p95 {reads['p95_ms']} ms); "
        f"while solving: p50 {during['p50_ms']} ms, p95 {during['p95_ms']} ms, "
        f"p99 {during['p99_ms']} ms"
    )
    print(
        f"solves: {solves['count']} in {result['setup']['duration_s']} s = "
        f"{solves['throughput_per_s']}/s (p50 {solves['p50_ms']} ms, p95 {solves['p95_ms']} ms)"
    )
    print(f"statuses: {result['statuses']}")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
