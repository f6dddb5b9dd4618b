"""Alembic: ``upgrade head`` builds exactly the models' schema, and ``downgrade base`` undoes it."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from service.db.base import Base
from service.db.engine import alembic_config, make_engine, upgrade_database


def test_upgrade_head_matches_the_models(fresh_db_url: Callable[[], str]) -> None:
    engine = make_engine(fresh_db_url())
    try:
        upgrade_database(engine)
        upgrade_database(engine)  # idempotent
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        assert {"api_clients", "jobs", "idempotency_records", "alembic_version"} <= set(
            inspect(engine).get_table_names()
        )
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/pragmas.sqlite3")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        engine.dispose()
