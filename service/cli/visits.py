"""The visit commands of ``linli``: ``schedule``, ``generate --visits`` and schedule ``verify``.

Kept apart from :mod:`service.cli.main` (which registers them) so that module stays about dispatch.
The shared plumbing (errors, atomic writes, JSON text) comes from :mod:`service.cli.main` at call
time, which imports this module.
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
from service.contracts.calendar import write_calendars
from service.contracts.dispatch import _read_json
from service.contracts.visits import (
    dump_schedule,
    dump_visit_problem,
    load_visit_problem,
    looks_like_visit_problem,
)


def _cli() -> Any:
    from service.cli import main as cli

    return cli


def is_visit_problem_file(path: str) -> bool:
    """Does ``path`` hold a visit problem? (Unreadable files answer ``False``; the dispatch
    loader then reports them.)"""
    try:
        return looks_like_visit_problem(_read_json(path))
    except InvalidProblemError:
        return False


def _load(path: str) -> tuple[VisitProblem, Any]:
    cli = _cli()
    try:
        raw = _read_json(path)
        return load_visit_problem(raw), raw
    except InvalidProblemError as err:
        raise cli.CliError(path, err.one_line()) from err


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
    cli = _cli()
    problem, _ = _load(args.problem)
    cli._check_output(args.output)
    schedule = solve_visits(
        problem,
        time_limit_s=args.time_limit,
        seed=args.seed,
        workers=args.workers,
        progress=None if args.quiet else _ProgressLines(),
    )
    data = dump_schedule(schedule)
    cli._write(args.output, cli._json_text(data, ascii_only=args.output == cli.STDOUT))
    if args.ics:
        try:
            paths = write_calendars(problem, schedule, args.ics)
        except OSError as err:
            raise cli.CliError(args.ics, f"cannot write calendars: {err.strerror or err}") from err
        cli._say(f"linli: wrote {len(paths)} calendar file(s) into {args.ics}")
    cli._say(f"linli: {schedule_line(schedule)}")
    return int(cli.EXIT_OK)


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
    cli = _cli()
    try:
        problem = generate_visit_problem(
            teams=args.teams, members=args.members, households=args.households, seed=args.seed
        )
    except ValueError as err:
        raise cli.CliError("generate", str(err)) from err
    text = cli._json_text(dump_visit_problem(problem), ascii_only=args.output == cli.STDOUT)
    cli._write(args.output, text)
    households = sum(len(a.households) for a in problem.areas)
    cli._say(
        f"linli: wrote {args.output}: {len(problem.teams)} teams, {len(problem.members)} "
        f"members, {households} households, {problem.quarter.start} to {problem.quarter.end} "
        f"(seed {args.seed})"
    )
    return int(cli.EXIT_OK)


def verify_schedule_files(problem_path: str, answer_path: str) -> int:
    """Check a schedule file against its visit problem: ``OK`` (exit 0) or violations (1)."""
    cli = _cli()
    _, raw_problem = _load(problem_path)
    try:
        raw_answer = _read_json(answer_path)
    except InvalidProblemError as err:
        raise cli.CliError(answer_path, err.one_line()) from err
    if not isinstance(raw_answer, dict):
        raise cli.CliError(answer_path, "$: must be a JSON object")
    try:
        violations = verify_schedule(raw_problem, raw_answer)
    except ValueError as err:
        raise cli.CliError(problem_path, str(err)) from err
    if not violations:
        stats = raw_answer.get("stats", {})
        print(
            "OK: schedule satisfies every rule "
            f"({stats.get('sessions', '?')} sessions, {stats.get('walk_km', '?')} km)"
        )
        return int(cli.EXIT_OK)
    for v in violations:
        print(violation_text(v))
    cli._say(f"linli: {len(violations)} violation(s) in {answer_path}")
    return int(cli.EXIT_VIOLATIONS)


def violation_text(v: ScheduleViolation) -> str:
    label = f"rule {v.rule}" if v.rule.isdigit() else v.rule
    return f"{label}: {v.subject}: {' '.join(v.message.split())}"
