"""Frozen value objects for the engine's answer (contract: ``docs/contracts/dispatch.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

STATUSES = ("optimal", "feasible", "no_solution")
REASONS = ("no_skill", "out_of_range", "no_availability", "capacity", "conflict", "priority")

PARAM_LIST_MOST = 5  # a list of ids (or of their numbers) in ``params`` names at most this many

REASON_PARAMS: Mapping[str, tuple[frozenset[str], ...]] = {
    "no_skill": (frozenset({"skills", "crew_size", "pool", "holders_per_skill"}),),
    "out_of_range": (
        frozenset({"skills", "crew_size", "holders", "in_range", "nearest_km", "limit_km"}),
    ),
    "no_availability": (
        frozenset({"crew_size", "in_range", "duration_hours", "window_start", "window_end"}),
    ),
    "capacity": (
        frozenset({"members", "member_ids", "left_hours", "capacity_hours", "duration_hours"}),
    ),
    "conflict": (
        frozenset(
            {"members", "with_room", "member_ids", "blocking_demands", "window_start", "window_end"}
        ),
    ),
    "priority": (
        frozenset({"basis", "priority", "penalty", "cost", "member_ids"}),
        frozenset(
            {
                "basis",
                "priority",
                "members",
                "blocking_demands",
                "blocking_priority_min",
                "blocking_priority_max",
            }
        ),
    ),
}
"""The keys of ``unassigned[].params`` for each reason code: the numbers and names its sentence
(``detail``) is built from, so that a reader can write the sentence in its own language. A
``params`` object has exactly the keys of one of its code's sets (``priority`` has two, told
apart by ``basis``: ``"cost"`` or ``"outranked"``). Values are JSON numbers, strings, or lists of
them; ``docs/contracts/dispatch.md`` (*How Linli reads this contract*) says what each key holds.
"""


@dataclass(frozen=True)
class Assignment:
    demand: str
    members: tuple[str, ...]
    start: datetime
    end: datetime
    distance_km: tuple[float, ...]
    team: str | None = None


@dataclass(frozen=True)
class Unassigned:
    """A demand left out: its reason code, the sentence, and the sentence's numbers and names
    (``params``, keyed as :data:`REASON_PARAMS` says; empty when an answer read from elsewhere
    carries none). ``params`` restate ``detail``, so equality ignores them."""

    demand: str
    reason: str
    detail: str
    params: Mapping[str, object] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Load:
    member: str
    hours: float
    tasks: int


@dataclass(frozen=True)
class Stats:
    candidates: int = 0
    components: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0
    greedy_objective: float | None = None
    method: str = ""
    search_s: float = 0.0  # wall time of the neighbourhood search
    neighbourhoods: int = 0  # neighbourhoods the search re-solved
    moves: int = 0  # of which improved the plan
    bound_proof: Mapping[str, int] = field(default_factory=dict)
    """How the bound was proved: for each method, the parts of the problem whose bound it gave
    (:data:`BOUND_METHODS`); empty for an answer that says nothing of it."""


BOUND_METHODS = ("fixed", "exact", "lagrangian", "lp", "trivial")
"""How a part's bound is proved: ``fixed`` (demands nobody can serve and pinned tasks, whose
cost is known), ``exact`` (a small component's exact model, its proven dual bound),
``lagrangian`` / ``lp`` (a large batch's Lagrangian dual or LP relaxation, the larger of the
two), ``trivial`` (each demand's cheapest option alone, when there was no time for more)."""


@dataclass(frozen=True)
class Answer:
    status: str
    objective: float
    bound: float
    gap: float
    assignments: tuple[Assignment, ...] = ()
    unassigned: tuple[Unassigned, ...] = ()
    load: tuple[Load, ...] = ()
    stats: Stats = field(default_factory=Stats)
