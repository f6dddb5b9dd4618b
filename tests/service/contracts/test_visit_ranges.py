"""The visit contract's numbers have ranges: an out-of-range value is refused at its path (422 /
exit 2), never handed to the scheduler (a negative seed, say, would break the router)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from matcher.errors import InvalidProblemError
from matcher.visits.generate import generate_visit_problem
from service.contracts.visits import dump_visit_problem, load_visit_problem

Json = dict[str, Any]


def _base() -> Json:
    problem = generate_visit_problem(teams=2, households=20, seed=1, weeks=4)
    data: Json = json.loads(json.dumps(dump_visit_problem(problem)))
    return data


def _set(path: str, value: Any) -> Callable[[Json], None]:
    def mutate(data: Json) -> None:
        node: Any = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


@pytest.mark.parametrize(
    ("path", "value", "shown"),
    [
        ("options.seed", -1, "options.seed"),
        ("options.seed", 2**40, "options.seed"),
        ("options.time_limit_s", 1e9, "options.time_limit_s"),
        ("options.min_days_between_visits", 400, "options.min_days_between_visits"),
        ("session.max_hours", 25, "session.max_hours"),
        ("walking_speed_kmh", 1e6, "walking_speed_kmh"),
        ("max_sessions_per_day", 10**6, "max_sessions_per_day"),
        ("teams.0.quorum", 10**6, "teams[0].quorum"),
        ("areas.0.households.0.visit_minutes", 1e5, "areas[0].households[0].visit_minutes"),
        ("areas.0.households.0.visits", 1000, "areas[0].households[0].visits"),
    ],
)
def test_an_out_of_range_number_is_refused_at_its_path(path: str, value: Any, shown: str) -> None:
    data = _base()
    load_visit_problem(data)  # the base problem is valid
    _set(path, value)(data)
    with pytest.raises(InvalidProblemError) as caught:
        load_visit_problem(data)
    assert shown in caught.value.errors, caught.value.errors
