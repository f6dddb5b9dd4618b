"""The visit commands of ``linli``: ``schedule``, ``generate --visits`` and schedule ``verify``.

Kept apart from :mod:`service.cli.main` (which registers them) so that module stays about
dispatch; the shared plumbing (errors, atomic writes, JSON text) is :mod:`service.cli.common`.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from matcher.errors import InvalidProblemError
from matcher.visits.answer import Schedule
from matcher.visits.generate import generate_visit_problem
from matcher.visits.problem import VisitProblem
from matcher.visits.solve import solve_visits
from matcher.visits.verify import ScheduleViolation, verify_schedule
from service.cli import common
from service.contracts.calendar import write_calendars
from service.contracts.dispatch import read_json_document
from service.contracts.visits import (
    dump_schedule,
    dump_visit_problem,
    load_visit_problem,
    looks_like_visit_problem,
)


def is_visit_problem_file(path: str) -> bool:
    """Does ``path`` hold a visit problem? (Unreadable files answer ``False``; the dispatch
    loader then reports them.)"""
    try:
        return looks_like_visit_problem(read_json_document(path))
    except InvalidProblemError:
        return False


def _load(path: str) -> tuple[VisitProblem, Any]:
    try:
        raw = read_json_document(path)
        return load_visit_problem(raw), raw
    except InvalidProblemError as err:
        raise common.CliError(path, err.one_line()) from err


class _ProgressLines:
    def __init__(self) -> None:
        self.last_routed = 0.0

    def __call__(self, phase: str, figures: dict[str, object]) -> None:
        if phase == "routed":
            now = time.perf_counter()
            if now - self.last_routed < 1.0 and figures.get("done") != figures.get("total"):
                return
            self.last_routed = now
        text = " ".join(f"{k}={v}" for k, v in figures.items())
        print(f"linli: {phase} {text}", file=sys.stderr, flush=True)


def cmd_schedule(args: argparse.Namespace) -> int:
    """``linli schedule``: solve a visit problem; write the schedule and optional calendars."""
    problem, _ = _load(args.problem)
    common.check_output(args.output)
    schedule = solve_visits(
        problem,
        time_limit_s=args.time_limit,
        seed=args.seed,
        workers=args.workers,
        progress=None if args.quiet else _ProgressLines(),
    )
    data = dump_schedule(schedule)
    common.write_output(
        args.output, common.json_text(data, ascii_only=args.output == common.STDOUT)
    )
    if args.ics:
        try:
            paths = write_calendars(problem, schedule, args.ics)
        except OSError as err:
            raise common.CliError(
                args.ics, f"cannot write calendars: {err.strerror or err}"
            ) from err
        common.say(f"linli: wrote {len(paths)} calendar file(s) into {args.ics}")
    common.say(f"linli: {schedule_line(schedule)}")
    return int(common.EXIT_OK)


def schedule_line(schedule: Schedule) -> str:
    """One line: status, sessions against the bound, walking, households left out."""
    s = schedule.stats
    left = sum(len(u.households) for u in schedule.unscheduled)
    return (
        f"{schedule.status}, {s.sessions} sessions (lower bound {s.lower_bound_sessions}), "
        f"{s.walk_km:.1f} km walking, {s.missing_visits} visit(s) missing, "
        f"{left} household entries unscheduled, {s.solve_s:.1f} s"
    )


def generate_visits(args: argparse.Namespace) -> int:
    """``linli generate --visits``: write a synthetic quarter of team visits."""
    try:
        problem = generate_visit_problem(
            teams=args.teams, members=args.members, households=args.households, seed=args.seed
        )
    except ValueError as err:
        raise common.CliError("generate", str(err)) from err
    text = common.json_text(dump_visit_problem(problem), ascii_only=args.output == common.STDOUT)
    common.write_output(args.output, text)
    households = sum(len(a.households) for a in problem.areas)
    common.say(
        f"linli: wrote {args.output}: {len(problem.teams)} teams, {len(problem.members)} "
        f"members, {households} households, {problem.quarter.start} to {problem.quarter.end} "
        f"(seed {args.seed})"
    )
    return int(common.EXIT_OK)


def verify_schedule_files(problem_path: str, answer_path: str) -> int:
    """Check a schedule file against its visit problem: ``OK`` (exit 0) or violations (1)."""
    _, raw_problem = _load(problem_path)
    try:
        raw_answer = read_json_document(answer_path)
    except InvalidProblemError as err:
        raise common.CliError(answer_path, err.one_line()) from err
    if not isinstance(raw_answer, dict):
        raise common.CliError(answer_path, "$: must be a JSON object")
    try:
        violations = verify_schedule(raw_problem, raw_answer)
    except ValueError as err:
        raise common.CliError(problem_path, str(err)) from err
    if not violations:
        stats = raw_answer.get("stats", {})
        print(
            "OK: schedule satisfies every rule "
            f"({stats.get('sessions', '?')} sessions, {stats.get('walk_km', '?')} km)"
        )
        return int(common.EXIT_OK)
    for v in violations:
        print(violation_text(v))
    common.say(f"linli: {len(violations)} violation(s) in {answer_path}")
    return int(common.EXIT_VIOLATIONS)


def violation_text(v: ScheduleViolation) -> str:
    label = f"rule {v.rule}" if v.rule.isdigit() else v.rule
    return f"{label}: {v.subject}: {' '.join(v.message.split())}"
