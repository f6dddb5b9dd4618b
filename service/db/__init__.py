"""The service's tables (SQLAlchemy 2 ORM), one module per area; the schema is Alembic's.

The package imports its leaves so that :data:`service.db.base.Base.metadata` holds every table
(Alembic compares against it); no leaf imports the package. ``base`` has the declarative base
and the UTC time type, ``engine`` makes engines and sessions and runs the migrations.
"""

from service.db import (  # noqa: F401  (each leaf registers its tables)
    audit,
    base,
    clients,
    evaluations,
    flow,
    jobs,
    longterm,
    people,
    registration,
    visits,
)
