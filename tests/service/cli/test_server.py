"""``run_server``: gunicorn on a fresh SQLite database answers a verified plan."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from matcher.dispatch.problem import Problem
from service.db.engine import make_engine, make_session_factory, upgrade_database
from service.domain.keys import create_api_client
from tests.service.helpers import assert_verified, body_of

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.slow
def test_gunicorn_server_answers_with_a_verified_plan(
    tmp_path: Path, small_problem: Problem
) -> None:
    url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
    engine = make_engine(url)
    upgrade_database(engine)
    with make_session_factory(engine)() as session:
        _client, key = create_api_client(session, "served")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_RATE_LIMIT": "off"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli.server", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        request = urllib.request.Request(
            base + "/api/v1/dispatch",
            data=json.dumps(body_of(small_problem)).encode(),
            headers={"X-API-Key": key, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            assert_verified(small_problem, json.loads(response.read()))
        status, text = _get(base + "/metrics", {"X-API-Key": key})
        assert status == 200
        assert b'linli_solve_duration_seconds_count{status="succeeded"} 1.0' in text
        assert _get(base + "/api/v1/jobs")[0] == 401
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output = server.communicate(timeout=30)[0].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            output = server.communicate()[0].decode()
    assert "Traceback" not in output, output[-3000:]
    assert key not in output


@pytest.mark.slow
def test_linli_serve_demo_opens_a_seeded_community(tmp_path: Path) -> None:
    """``linli serve --demo``: a seeded community a dispatcher logs in to over plain HTTP."""
    port = _free_port()
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "LINLI_RATE_LIMIT": "off",
        "LINLI_SECRET_KEY": "demo-test-secret",
        "LINLI_DATA_KEY": "x2cJ0sHUwJqfT8mRrE3sWnV7p2yQk1bD4gL6aZ9cF0E=",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("LINLI_SECURE_COOKIES", None)
    command = "from service.cli.main import run; run()"
    server = subprocess.Popen(
        [sys.executable, "-c", command, "serve", "--demo", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        login = urllib.request.Request(
            base + "/api/v1/login",
            data=json.dumps({"username": "dispatcher", "password": "linli-demo-2026"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(login, timeout=30) as response:
            assert response.status == 200
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "Secure" not in cookie  # a demo on plain HTTP
        session = cookie.split(";")[0]
        status, body = _get(base + "/api/v1/demands?status=open&page_size=100", {"Cookie": session})
        assert status == 200 and len(json.loads(body)) >= 10
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output = server.communicate(timeout=30)[0].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            output = server.communicate()[0].decode()
    assert "Traceback" not in output, output[-3000:]
    assert f"Open http://127.0.0.1:{port}/console" in output
