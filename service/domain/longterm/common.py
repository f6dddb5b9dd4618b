"""What the long-term records share: the scope of community records, commits, solving a model.

See :mod:`service.domain.longterm` for the records themselves.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config.identity import Client
from service.db.longterm import (
    Commitment,
    Group,
    HandInHandPair,
    Household,
    Post,
    PostAllocation,
    UnitPair,
)
from service.db.registration import Community
from service.domain.availability import LOCAL
from service.domain.errors import Conflict, Invalid, NotFound
from service.domain.scope import (
    community_ids,
    plausible_id,
    readable_community,
    require_manager,
)
from service.domain.solving import Solver

log = logging.getLogger(__name__)

R = TypeVar("R", Post, Commitment, Group, Household, HandInHandPair, UnitPair, PostAllocation)
P = TypeVar("P", HandInHandPair, UnitPair)
T = TypeVar("T")
A = TypeVar("A")

NOT_FOUND: dict[type[Any], str] = {
    Post: "No such post.",
    PostAllocation: "No such allocation.",
    Commitment: "No such commitment.",
    Group: "No such group.",
    Household: "No such household.",
    HandInHandPair: "No such hand-in-hand pair.",
    UnitPair: "No such unit pair.",
}

LONGTERM_TIME_LIMIT_S = 30.0
"""How long a long-term solve may take (posts and pairs are exact and take far less)."""

ALLOCATED_MEMBER_STATUS = "active"
"""Only members who reported (报到) and serve are allocated posts."""


def today() -> date:
    """Today's date in Asia/Shanghai (deadlines and pair dates are local dates)."""
    return datetime.now(LOCAL).date()


# --------------------------------------------------------------------------------------------
# Scope
# --------------------------------------------------------------------------------------------


def reads_community(client: Client, community_id: str) -> bool:
    """True if the client may read this community's community-wide records."""
    readable = community_ids(client)
    return readable is None or community_id in readable


def managed_community(session: Session, client: Client, community_id: str) -> Community:
    """The community (404 outside the scope), 403 unless the client may change its records."""
    community = readable_community(session, client, community_id)
    require_manager(client, community.id)
    return community


def find(session: Session, model: type[R], object_id: str, client: Client) -> R:
    """A community record within the client's read scope, or a 404 (foreign or absent)."""
    row = session.get(model, object_id) if plausible_id(object_id) else None
    if row is None or not reads_community(client, row.community_id):
        raise NotFound(NOT_FOUND[model])
    if isinstance(row, HandInHandPair) and not sees_pair(client, row):
        raise NotFound(NOT_FOUND[model])
    return row


def find_managed(session: Session, model: type[R], object_id: str, client: Client) -> R:
    """:func:`find`, then 403 unless the client may change the row's community's records."""
    row = find(session, model, object_id, client)
    require_manager(client, row.community_id)
    return row


def commit_checked(session: Session, message: str, errors: dict[str, list[str]]) -> None:
    """Commit; a unique constraint broken by a concurrent request is a 409."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(message, errors=errors) from None


def refuse_invalid(errors: dict[str, list[str]], message: str = "unknown references") -> None:
    if errors:
        raise Invalid(f"The request is not valid: {message}.", errors=errors)


def sees_pair(client: Client, pair: HandInHandPair) -> bool:
    """A member sees only their own hand-in-hand pairs; other readers see the community's."""
    return client.role != "member" or pair.member_id == client.member_id


class VerificationError(RuntimeError):
    """The engine's answer broke its contract: our bug, nothing is written (a 500)."""


def solved_without_lock(
    session: Session,
    community_id: str,
    read: Callable[[], T],
    solve: Callable[[T], A],
    *,
    same: Callable[[T, T], bool] = operator.eq,
) -> tuple[T, A]:
    """Solve a community's long-term model holding no transaction (or lock) while it searches.

    ``read`` gathers the inputs; the read transaction ends before ``solve`` runs; then the
    community's row is locked (PostgreSQL; SQLite serialises writers) and the inputs are read
    again: if they changed meanwhile the answer is stale and nothing is written (409).
    Returns the inputs read under the lock (the caller writes from them) and the answer.
    """
    inputs = read()
    session.rollback()
    answer = solve(inputs)
    session.execute(select(Community.id).where(Community.id == community_id).with_for_update())
    current = read()
    if not same(inputs, current):
        raise Conflict(
            "The community's records changed while the model was solving; nothing was written.",
            errors={"community_id": ["changed during the solve: run it again"]},
        )
    return current, answer


def solve_checked(
    kind: str,
    problem_json: dict[str, Any],
    *,
    verify: Callable[[Any, Any], Sequence[Any]],
    solver: Solver,
    time_limit_s: float = LONGTERM_TIME_LIMIT_S,
    name_subjects: bool = True,
) -> dict[str, Any]:
    """Solve a long-term problem through ``solver`` and check the answer with its independent
    verifier.

    Raises:
        VerificationError: The verifier found violations, logged by rule (and by subject, ids
            only, unless ``name_subjects`` is false: the pairs' subjects name residents).
    """
    answer = dict(solver(kind, problem_json, time_limit_s=time_limit_s))
    violations = verify(problem_json, answer)
    if violations:
        for violation in violations:
            if name_subjects:
                log.error("%s answer breaks rule %s (%s)", kind, violation.rule, violation.subject)
            else:
                log.error("%s answer breaks rule %s", kind, violation.rule)
        raise VerificationError(f"{len(violations)} violations of the {kind} contract")
    return answer
