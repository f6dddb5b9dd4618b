"""Unit–community pairs (结对共建) in dispatch: a paired unit's members are preferred for that
community's demands by ``weights.paired_unit``; nothing changes without pairs."""

from __future__ import annotations

import dataclasses

import pytest

from matcher.dispatch.problem import Problem, UnitPair
from matcher.errors import InvalidProblemError
from service.contracts.dispatch import dump_problem, load_problem
from tests.matcher.dispatch.conftest import SolveChecked
from tests.matcher.dispatch.factories import HOME, make_demand, make_member, make_problem, north_of


def _problem(pairs: tuple[UnitPair, ...], weight: float = 2.0) -> Problem:
    """m-near (unit u-2) is 0.5 km nearer the demand than m-far (unit u-1)."""
    near = dataclasses.replace(make_member("m-near", location=north_of(HOME, 0.5)), unit="u-2")
    far = dataclasses.replace(make_member("m-far", location=HOME), unit="u-1")
    demand = dataclasses.replace(make_demand("d-1"), community="c-1")
    problem = make_problem([near, far], [demand], weights={"paired_unit": weight})
    return dataclasses.replace(
        problem, options=dataclasses.replace(problem.options, unit_pairs=pairs)
    )


def test_the_paired_units_member_takes_the_demand_when_the_bonus_beats_the_detour(
    solve_checked: SolveChecked,
) -> None:
    answer = solve_checked(_problem((UnitPair("u-1", "c-1"),)))
    assert [a.members for a in answer.assignments] == [("m-far",)]


def test_without_pairs_or_with_weight_zero_the_nearer_member_serves(
    solve_checked: SolveChecked,
) -> None:
    assert solve_checked(_problem(())).assignments[0].members == ("m-near",)
    unweighted = _problem((UnitPair("u-1", "c-1"),), weight=0.0)
    assert solve_checked(unweighted).assignments[0].members == ("m-near",)


def test_a_pair_with_another_community_does_not_count(solve_checked: SolveChecked) -> None:
    answer = solve_checked(_problem((UnitPair("u-1", "c-2"),)))
    assert answer.assignments[0].members == ("m-near",)


def test_the_pair_fields_round_trip_through_the_schema() -> None:
    problem = _problem((UnitPair("u-1", "c-1"),))
    data = dump_problem(problem)
    assert data["options"]["unit_pairs"] == [{"unit": "u-1", "community": "c-1"}]
    assert load_problem(data) == problem


def test_an_empty_unit_in_a_pair_is_rejected_with_its_path() -> None:
    data = dump_problem(_problem((UnitPair("u-1", "c-1"),)))
    data["options"]["unit_pairs"][0]["unit"] = ""
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    assert "options.unit_pairs[0].unit" in caught.value.errors
