"""Linli's engine: pure Python + OR-Tools, no web framework, no database.

Three problems, each a package with a frozen problem, ``solve``, an answer with reasons and an
independent ``verify``:

- :mod:`matcher.dispatch` — the daily dispatch (demands → members and teams);
- :mod:`matcher.visits` — the teams' quarterly visits (outings, dates, attendees);
- :mod:`matcher.longterm` — the slower matchings (posts, groups, hand-in-hand and unit pairs).

Shared by all of them: :mod:`matcher.errors` (the one input error), :mod:`matcher.geo` (the
engine's geometry), :mod:`matcher.vocabulary` (service categories) and, for the verifiers only,
:mod:`matcher.verifier_geo`. This module re-exports the dispatch contract, ``solve`` and
``verify``, the names most callers need.
"""

from matcher.dispatch.answer import Answer, Assignment, Load, Stats, Unassigned
from matcher.dispatch.problem import (
    Demand,
    Interval,
    Location,
    Member,
    Options,
    Pin,
    Problem,
    Team,
    Weights,
)
from matcher.dispatch.solve import solve
from matcher.dispatch.verify import Violation, verify
from matcher.errors import InvalidProblemError

__all__ = [
    "Answer",
    "Assignment",
    "Demand",
    "Interval",
    "InvalidProblemError",
    "Load",
    "Location",
    "Member",
    "Options",
    "Pin",
    "Problem",
    "Stats",
    "Team",
    "Unassigned",
    "Violation",
    "Weights",
    "solve",
    "verify",
]
