"""How the domain asks for a solve: a contract's JSON problem in, its JSON answer out.

The domain never runs the engine itself in the service: the web layer hands it the app's
solver (:class:`service.jobs.solver.RunnerSolver`: every solve a job of the one runner). Called
without one (the command line, tests of the rules alone), :func:`in_process` solves in this
process through the same table of kinds (:func:`service.contracts.solving.solve_json`).
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from service.contracts.solving import solve_json

__all__ = ["Solver", "in_process"]


class Solver(Protocol):
    """Solves a contract's JSON problem of ``kind`` within ``time_limit_s``; its JSON answer."""

    def __call__(self, kind: str, problem_json: dict[str, Any], *, time_limit_s: float) -> Any:
        """The answer (raises a domain error when no solver could answer)."""


def in_process(kind: str, problem_json: dict[str, Any], *, time_limit_s: float) -> Any:
    """A :class:`Solver` in this process: one thread, the problem's own options otherwise."""
    problem = copy.deepcopy(problem_json)
    if kind in ("dispatch", "visits"):  # the long-term problems carry their own options
        options = problem.setdefault("options", {})
        options["time_limit_s"] = time_limit_s
    if kind == "dispatch":
        problem["options"]["workers"] = 1
    return solve_json(kind, problem).answer
