"""Linli's dispatch engine: pure Python + OR-Tools, no web framework, no database."""

from matcher.answer import Answer, Assignment, Load, Stats, Unassigned
from matcher.errors import InvalidProblemError
from matcher.problem import Demand, Interval, Location, Member, Options, Pin, Problem, Team, Weights

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
    "Weights",
]
