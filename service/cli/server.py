"""Production server: gunicorn, run programmatically with the app factory.

``run_server(host, port, workers)`` (what ``linli serve`` calls):

* migrates the database once (``alembic upgrade head``) before starting workers, and tells the
  workers not to (``LINLI_AUTO_MIGRATE=false``), so several workers never race on the schema;
* shares the solver cores among the workers: each worker's pool gets
  ``max(1, min(cores, LINLI_MAX_WORKERS) // workers)`` processes (the solver is single-threaded,
  so solver threads x processes never exceed the cores, unless workers > cores);
* runs ``gthread`` workers (``LINLI_SERVER_THREADS`` threads each, default 8), so reads are
  answered while sync solves wait for their answer;
* uses prometheus_client's multiprocess mode (a temporary ``PROMETHEUS_MULTIPROC_DIR`` unless
  one is set), so ``/metrics`` sums every worker.

Also runnable as ``python -m service.cli.server --host 127.0.0.1 --port 8000 --workers 2``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from service.config.settings import cpu_count, load_settings

log = logging.getLogger(__name__)

DEFAULT_THREADS = 8


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any], app_config: dict[str, Any]) -> None:
        self.options = options
        self.app_config = app_config
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                self.cfg.set(name, value)

    def load(self) -> Any:
        return _app_factory()(self.app_config)


APP_FACTORY = "service.app:create_app"
"""The app the server runs, named by its import string as gunicorn names apps: the command line
sits below the app in the layers (``docs/architecture.md``), so it loads the app rather than
imports it."""


def _app_factory() -> Callable[[dict[str, Any]], Any]:
    module, name = APP_FACTORY.split(":")
    factory: Callable[[dict[str, Any]], Any] = getattr(importlib.import_module(module), name)
    return factory


def _worker_exit(_server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    state = getattr(app, "extensions", {}).get("linli") if app is not None else None
    if state is not None:
        # stop running solves (they keep their best plan) and wait for the pool to wind down:
        # a pool left running races the interpreter's exit hook on a closed pipe
        state.close(cancel_running=True, wait=True)


def _child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def run_server(
    host: str,
    port: int,
    workers: int,
    config: dict[str, Any] | None = None,
    *,
    demo: bool = False,
) -> None:
    """Serve the app with gunicorn until stopped (SIGTERM/SIGINT).

    Args:
        host: Address to bind (``127.0.0.1``, ``0.0.0.0``).
        port: TCP port.
        workers: gunicorn worker processes (each with its own solver pool).
        config: Passed to :func:`service.app.create_app` (``LINLI_*`` settings override the
            environment).
        demo: Seed the demo community first (:mod:`service.domain.demo`), and allow the
            session cookie over plain HTTP unless ``LINLI_SECURE_COOKIES`` says otherwise (a
            demo runs on the local machine).
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app_config = dict(config or {})
    settings = load_settings(app_config, default_database_url=_default_database_url())
    app_config["LINLI_DATABASE_URL"] = settings.database_url

    from service.db.engine import make_engine, upgrade_database

    engine = make_engine(settings.database_url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    app_config["LINLI_AUTO_MIGRATE"] = False
    if demo:
        if "LINLI_SECURE_COOKIES" not in app_config and "LINLI_SECURE_COOKIES" not in os.environ:
            app_config["LINLI_SECURE_COOKIES"] = False
        _seed_demo(app_config, host, port)
    if "LINLI_SOLVER_PROCESSES" not in app_config and not os.environ.get("LINLI_SOLVER_PROCESSES"):
        cap = settings.max_workers if settings.max_workers > 0 else cpu_count()
        app_config["LINLI_SOLVER_PROCESSES"] = max(1, min(cpu_count(), cap) // workers)

    own_metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own_metrics_dir = tempfile.mkdtemp(prefix="linli-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_metrics_dir

    threads = int(os.environ.get("LINLI_SERVER_THREADS", DEFAULT_THREADS))
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "worker_exit": _worker_exit,
        "child_exit": _child_exit,
        "control_socket_disable": True,  # gunicorn >= 25: no control socket in $HOME
    }
    log.info(
        "serving on %s:%d with %d worker(s) x %d solver process(es)",
        host,
        port,
        workers,
        app_config["LINLI_SOLVER_PROCESSES"],
    )
    try:
        _Gunicorn(options, app_config).run()
    finally:
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)


def _seed_demo(app_config: dict[str, Any], host: str, port: int) -> None:
    """Seed the demo community once, and say where to log in."""
    from service.domain.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo

    app = _app_factory()({**app_config, "LINLI_SOLVER_PROCESSES": 1})
    try:
        state = app.extensions["linli"]
        with state.sessions() as session:
            summary = seed_demo(session, state.cipher)
    finally:
        app.extensions["linli"].close()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(
        f"Demo community {summary.community_id}: {summary.members} members, "
        f"{summary.demands} open demands{'' if summary.created else ' (seeded before)'}.\n"
        f"Open http://{shown}:{port}/console and log in as one of "
        f"{', '.join(DEMO_LOGINS)} with the password {DEMO_PASSWORD}.",
        flush=True,
    )


def _default_database_url() -> str:
    from flask import Flask

    return f"sqlite:///{os.path.join(Flask('service.app').instance_path, 'linli.sqlite3')}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Linli HTTP service with gunicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    run_server(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
