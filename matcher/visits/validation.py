"""Reference checks on a visit problem whose shape is already right.

The schema at the edge (``service.contracts.visits``) checks types and ranges; this module checks
what only the whole problem can tell: unique ids, known members and areas, leaders inside their
team, a quorum the team can reach, a usable calendar. Every error names its field path.
"""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matcher.errors import InvalidProblemError
from matcher.visits.problem import WEEKDAYS, VisitProblem

MAX_QUARTER_DAYS = 366


def validate_visit_problem(problem: VisitProblem) -> None:
    """Raise :class:`InvalidProblemError` listing every reference error, or return ``None``."""
    errors: dict[str, list[str]] = defaultdict(list)
    _check_calendar(problem, errors)
    _check_members(problem, errors)
    _check_teams(problem, errors)
    _check_areas(problem, errors)
    if errors:
        raise InvalidProblemError(dict(errors))


def _check_calendar(problem: VisitProblem, errors: dict[str, list[str]]) -> None:
    quarter = problem.quarter
    if quarter.end < quarter.start:
        errors["quarter.end"].append(f"must not be before quarter.start ({quarter.start})")
    elif (quarter.end - quarter.start).days + 1 > MAX_QUARTER_DAYS:
        errors["quarter.end"].append(f"the schedule may cover at most {MAX_QUARTER_DAYS} days")
    try:
        ZoneInfo(problem.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"].append(f"unknown time zone {problem.timezone!r}")
    for i, name in enumerate(problem.visit_weekdays):
        if name not in WEEKDAYS:
            errors[f"visit_weekdays[{i}]"].append(f"must be one of {', '.join(WEEKDAYS)}")
    if not problem.visit_weekdays:
        errors["visit_weekdays"].append("must name at least one weekday")


def _check_members(problem: VisitProblem, errors: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for i, member in enumerate(problem.members):
        if member.id in seen:
            errors[f"members[{i}].id"].append(f"duplicate member id {member.id!r}")
        seen.add(member.id)
        if member.available_dates is not None and member.unavailable_dates:
            errors[f"members[{i}]"].append("give available_dates or unavailable_dates, not both")


def _check_teams(problem: VisitProblem, errors: dict[str, list[str]]) -> None:
    members = {m.id for m in problem.members}
    areas = {a.id for a in problem.areas}
    seen: set[str] = set()
    for i, team in enumerate(problem.teams):
        path = f"teams[{i}]"
        if team.id in seen:
            errors[f"{path}.id"].append(f"duplicate team id {team.id!r}")
        seen.add(team.id)
        for j, member in enumerate(team.members):
            if member not in members:
                errors[f"{path}.members[{j}]"].append(f"unknown member {member!r}")
        if len(set(team.members)) != len(team.members):
            errors[f"{path}.members"].append("lists a member more than once")
        if team.leader is not None and team.leader not in team.members:
            errors[f"{path}.leader"].append(f"{team.leader!r} is not a member of this team")
        if team.quorum > len(set(team.members)):
            errors[f"{path}.quorum"].append(
                f"is {team.quorum} but the team has {len(set(team.members))} members"
            )
        if team.area not in areas:
            errors[f"{path}.area"].append(f"unknown area {team.area!r}")


def _check_areas(problem: VisitProblem, errors: dict[str, list[str]]) -> None:
    area_ids: set[str] = set()
    household_ids: set[str] = set()
    covered = {team.area for team in problem.teams}
    for i, area in enumerate(problem.areas):
        if area.id in area_ids:
            errors[f"areas[{i}].id"].append(f"duplicate area id {area.id!r}")
        area_ids.add(area.id)
        if area.id not in covered and area.households:
            errors[f"areas[{i}]"].append(
                f"no team is responsible for area {area.id!r}; give a team this area"
            )
        for j, household in enumerate(area.households):
            if household.id in household_ids:
                errors[f"areas[{i}].households[{j}].id"].append(
                    f"duplicate household id {household.id!r}"
                )
            household_ids.add(household.id)
