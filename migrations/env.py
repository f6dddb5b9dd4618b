"""Alembic environment: the service's metadata, URL from ``LINLI_DATABASE_URL``.

Run by the ``alembic`` command (offline or online) or by :func:`service.db.engine.upgrade_database`,
which passes its own connection in ``config.attributes["connection"]`` (then logging is left
alone: the service configures its own).
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from service.db.base import Base  # also registers service.db.registration
from service.db.engine import make_engine

config = context.config
target_metadata = Base.metadata

DEFAULT_URL = "sqlite:///instance/linli.sqlite3"


def database_url() -> str:
    return os.environ.get("LINLI_DATABASE_URL") or DEFAULT_URL


def run_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    engine = make_engine(database_url())
    try:
        with engine.begin() as own:
            context.configure(connection=own, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
