"""Fixtures for the HTTP service: ``app``, ``client``, ``api_key`` on SQLite and PostgreSQL.

Every test that uses ``app`` runs twice: on a SQLite file and on PostgreSQL
(``postgresql+psycopg://postgres@127.0.0.1:5432/linli_test``, created here if missing). Without a
reachable PostgreSQL the PostgreSQL half is skipped with the reason, except under ``CI=true``,
where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from service.app import create_app
from service.db.registration import Community
from service.domain.keys import create_api_client

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = os.environ.get("LINLI_TEST_PG_DATABASE", "linli_test")
"""Parallel test runs on one machine each set their own (they empty it at the start)."""

TEST_SETTINGS: dict[str, Any] = {
    "LINLI_RATE_LIMIT": "off",
    "LINLI_LEASE_TTL_S": 3,
    "LINLI_HEARTBEAT_S": 0.5,
    "LINLI_CANCEL_POLL_S": 0.1,
    "LINLI_REAPER_INTERVAL_S": 0.5,
    "LINLI_MAX_TIME_LIMIT_S": 60,
    "LINLI_SOLVER_PROCESSES": 2,
    "LINLI_SECRET_KEY": "test-secret-key-not-for-production",
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast logins in tests (production: scrypt)
    "LINLI_DATA_KEY": "x2cJ0sHUwJqfT8mRrE3sWnV7p2yQk1bD4gL6aZ9cF0E=",
}


def _postgres_url(database: str) -> str:
    """Create ``database`` if missing and empty it; skip (or fail under CI) if unreachable."""
    import psycopg

    try:
        with psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user="postgres",
            dbname="postgres",
            connect_timeout=3,
            autocommit=True,
        ) as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if found is None:
                admin.execute(f'CREATE DATABASE "{database}"')
        with psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user="postgres",
            dbname=database,
            connect_timeout=3,
            autocommit=True,
        ) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    except psycopg.OperationalError as err:
        reason = f"PostgreSQL unreachable at {PG_HOST}:{PG_PORT} ({str(err).strip()})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    return f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{database}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.postgresql_only`` tests run on PostgreSQL alone: their SQLite instance is
    deselected (not skipped), so a run's skips only ever mean something is missing."""
    kept, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_sqlite = params is not None and params.params.get("backend") == "sqlite"
        (dropped if on_sqlite and item.get_closest_marker("postgresql_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shared database of the session's ``app``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'linli.sqlite3'}"
    return _postgres_url(PG_DATABASE)


@pytest.fixture
def fresh_db_url(backend: str, tmp_path: Any) -> Callable[[], str]:
    """A factory of empty databases no other app uses (restart tests)."""

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.sqlite3'}"
        return _postgres_url(f"{PG_DATABASE}_aux")

    return make


@pytest.fixture(scope="session")
def app(db_url: str) -> Iterator[Flask]:
    """The app on the session's database, with a real spawn process pool of two solvers."""
    app = create_app({"LINLI_DATABASE_URL": db_url, **TEST_SETTINGS})
    yield app
    app.extensions["linli"].close(cancel_running=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _new_key(app: Flask, name: str, communities: tuple[str, ...] = ()) -> str:
    """A key of a new API client; its communities are registered first (keys need them)."""
    with app.extensions["linli"].sessions() as session:
        for community in communities:
            if session.get(Community, community) is None:
                session.add(Community(id=community, name=community))
        session.commit()
        _client, key = create_api_client(session, name, communities)
    return key


@pytest.fixture(scope="session")
def api_key(app: Flask) -> str:
    return _new_key(app, "district platform", ("c-01", "c-02"))


@pytest.fixture(scope="session")
def other_key(app: Flask) -> str:
    return _new_key(app, "another system")


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"X-API-Key": api_key}


def thread_executor() -> ThreadPoolExecutor:
    """An in-process executor: the swappable slot, without spawning solver processes."""
    return ThreadPoolExecutor(max_workers=2)


@pytest.fixture
def make_app(db_url: str) -> Iterator[Callable[..., Flask]]:
    """Apps with their own settings (on the shared database unless another URL is given)."""
    made: list[Flask] = []

    def make(*, threads: bool = True, url: str | None = None, **settings: Any) -> Flask:
        config: dict[str, Any] = {
            "LINLI_DATABASE_URL": url or db_url,
            **TEST_SETTINGS,
            **({"EXECUTOR_FACTORY": thread_executor} if threads else {}),
            **settings,
        }
        new = create_app(config)
        made.append(new)
        return new

    yield make
    for each in made:
        each.extensions["linli"].close(cancel_running=True)


@pytest.fixture(scope="session")
def small_problem() -> Problem:
    """40 members, 80 demands: solved to optimality well inside 2 s."""
    return generate_district(members=40, demands=80, seed=3)


@pytest.fixture(scope="session")
def large_problem() -> Problem:
    """300 members, 900 demands: still improving after 30 s."""
    return generate_district(members=300, demands=900, seed=5)


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    """Every test starts and ends on the real clock (``helpers.served`` moves it)."""
    from datetime import timedelta

    from service.db.base import set_clock_offset

    set_clock_offset(timedelta(0))
    yield
    set_clock_offset(timedelta(0))
