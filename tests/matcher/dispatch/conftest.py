"""Shared fixtures for the engine tests: every solve goes through :func:`solve_checked`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from matcher.dispatch.answer import Answer
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import solve
from matcher.dispatch.validation import validate_problem
from matcher.dispatch.verify import recompute_objective, verify

SolveChecked = Callable[..., Answer]


def solve_checked(problem: Problem, **kw: Any) -> Answer:
    """Validate, solve, then check the answer with the independent verifier.

    Asserts that :func:`matcher.dispatch.verify.verify` finds nothing (the contract alone, no
    engine allowance, every reason with its documented ``params``), that the reported objective
    equals
    the one recomputed from the contract, and that the bound does not exceed the objective.
    Keyword arguments go to :func:`matcher.dispatch.solve.solve`.
    """
    validate_problem(problem)
    answer = solve(problem, **kw)
    violations = verify(problem, answer, allow=(), require_params=True)
    assert violations == [], violations
    assert answer.objective == pytest.approx(
        recompute_objective(problem, answer), rel=1e-6, abs=1e-6
    )
    assert answer.bound <= answer.objective + 1e-6, (answer.bound, answer.objective)
    return answer


@pytest.fixture(scope="session", name="solve_checked")
def solve_checked_fixture() -> SolveChecked:
    """:func:`solve_checked` as a fixture (session-scoped, so hypothesis tests may use it)."""
    return solve_checked
