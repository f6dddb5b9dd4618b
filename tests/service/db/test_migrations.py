"""Alembic: ``upgrade head`` builds exactly the models' schema, and ``downgrade base`` undoes it."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

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


def test_migration_0012_keeps_existing_records_and_writes_their_history(
    fresh_db_url: Callable[[], str],
) -> None:
    """0011 → 0012 on a database with records: members keep their rows (no name yet), every
    existing demand's history starts from its row and its tasks, and 0012 → 0011 undoes it."""
    engine = make_engine(fresh_db_url())
    try:
        upgrade_database(engine, "0011")
        with engine.begin() as c:
            c.execute(
                text("INSERT INTO communities (id, name, created_at) VALUES ('c1', 'c', :t)"),
                {"t": _T},
            )
            c.execute(
                text(
                    "INSERT INTO members (id, community_id, card_number, specialties, skills,"
                    " preferences, lat, lon, weekly_availability, capacity_hours_per_week, status,"
                    " created_at) VALUES ('m1', 'c1', 'card-1', '[]', '[]', '[]', 34.7, 113.6,"
                    " '[]', 4, 'active', :t)"
                ),
                {"t": _T},
            )
            for demand, status in (("d1", "completed"), ("d2", "cancelled")):
                c.execute(
                    text(
                        "INSERT INTO demands (id, community_id, category, skills, lat, lon,"
                        " window_start, window_end, duration_hours, priority, crew_size, status,"
                        " created_at, closed_at) VALUES (:d, 'c1', 'repairs', '[]', 34.7, 113.6,"
                        " :t, :t, 1, 3, 1, :s, :t, :t)"
                    ),
                    {"d": demand, "s": status, "t": _T},
                )
            for task, status in (("t1", "declined"), ("t2", "completed")):
                c.execute(
                    text(
                        "INSERT INTO tasks (id, demand_id, member_id, start, status, created_at,"
                        " completed_at) VALUES (:k, 'd1', 'm1', :t, :s, :t, :t)"
                    ),
                    {"k": task, "s": status, "t": _T},
                )
        upgrade_database(engine, "0012")
        with engine.connect() as c:
            steps = c.execute(
                text("SELECT demand_id, action FROM demand_events ORDER BY demand_id, id")
            ).all()
            assert c.execute(text("SELECT name, phone_enc FROM members")).one() == (None, None)
        assert sorted(steps) == sorted(
            [
                ("d1", "ordered"),
                ("d1", "dispatched"),
                ("d1", "dispatched"),
                ("d1", "declined"),
                ("d1", "completed"),
                ("d2", "ordered"),
                ("d2", "cancelled"),
            ]
        )
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0011")
        tables = set(inspect(engine).get_table_names())
        assert not {"demand_events", "demand_feedback", "visit_notes"} & tables
        assert "name" not in {col["name"] for col in inspect(engine).get_columns("members")}
    finally:
        engine.dispose()


_T = "2026-06-01 08:00:00"
