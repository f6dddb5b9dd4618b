"""One page of a scoped workspace list: count, then fetch only when the page has rows.

Counting first means a page past the end (however large its number) answers an empty list
without reaching the database with an offset it cannot hold (PostgreSQL's offsets are bigint).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVarTuple

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

Ts = TypeVarTuple("Ts")


def page_rows(
    session: Session, selection: Select[*Ts], params: PaginationParameters, *order_by: Any
) -> Sequence[Row[*Ts]]:
    """The rows of the requested page of ``selection`` (sets ``params.item_count``)."""
    total = session.scalar(select(func.count()).select_from(selection.subquery())) or 0
    params.item_count = total
    if params.first_item >= total:
        return []
    return session.execute(
        selection.order_by(*order_by).offset(params.first_item).limit(params.page_size)
    ).all()
