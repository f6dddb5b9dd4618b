"""The ``linli`` command: generate, dispatch and verify problems from the shell.

Subcommands::

    linli generate --members N --demands M [--seed S] -o problem.json
    linli dispatch problem.json [-o answer.json] [--time-limit S] [--workers K] [--seed S] [--quiet]
                   [--executor process|dask://host:port]
    linli verify problem.json answer.json          (dispatch answers and visit schedules)
    linli schedule quarter.json [-o schedule.json] [--ics DIR] [--time-limit S] [--seed S]
    linli generate --visits --teams N [--households H] [--seed S] -o quarter.json
    linli match KIND problem.json [-o answer.json] | --check answer.json | --generate -o FILE
    linli worker --scheduler dask://host:port [--nworkers N] [--name NAME] [--nice N]
    linli demo [--members 2000] [--demands 5000] [--seed 0] [--time-limit 20] [--out DIR]

Exit codes: ``0`` success; ``1`` the answer breaks the contract (``verify``, ``demo``); ``2``
bad input or usage (one line on stderr, ``linli: error: <file>: <message>``, or argparse's
usage and message); ``70`` an unexpected error (one line, ``linli: internal error: ...``; set
``LINLI_DEBUG=1`` for the traceback); ``130`` interrupted. Results go to stdout or files;
progress, summaries and errors go to stderr. Every file is written atomically (a temporary file
in the same directory, then :func:`os.replace`), so a failure never leaves a partial file.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from matcher.dispatch.answer import Answer
from matcher.dispatch.generate import district_summary, generate_district
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import Progress, solve
from matcher.dispatch.verify import Violation, verify
from matcher.errors import InvalidProblemError
from service.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VIOLATIONS,
    STDOUT,
    CliError,
    check_output,
    integer_arg,
    json_text,
    say,
    seconds_arg,
    write_output,
    write_text_atomic,
)
from service.cli.match import add_parser as add_match_parser
from service.cli.report import format_summary, summarize
from service.cli.visits import (
    cmd_schedule,
    generate_visits,
    is_visit_problem_file,
    verify_schedule_files,
)
from service.contracts.dispatch import (
    ROOT,
    dump_answer,
    dump_problem,
    load_answer,
    load_answer_file,
    load_problem_file,
)

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_VIOLATIONS",
    "CliError",
    "ProgressPrinter",
    "build_parser",
    "format_progress",
    "main",
    "run",
    "write_text_atomic",
]

PROG = "linli"
EXIT_INTERNAL = 70  # EX_SOFTWARE
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
DEBUG_ENV = "LINLI_DEBUG"
IMPROVE_INTERVAL_S = 0.25
"""At most one ``improve`` progress line per this many seconds (about 4 lines a second)."""


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``linli`` with ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    Never raises for bad input or solver trouble: every failure becomes one line on stderr and
    an exit code (see the module docstring). With ``LINLI_DEBUG=1`` unexpected exceptions are
    re-raised so their traceback shows.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors (2), --help and --version (0)
        return _exit_code(exc.code)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CliError as err:
        say(f"{PROG}: error: {_one_line(str(err))}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        say(f"{PROG}: internal error: {type(exc).__name__}: {_one_line(str(exc))}")
        return EXIT_INTERNAL


def run() -> None:
    """Console-script entry point: ``sys.exit(main())``."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    sys.exit(main())


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    return EXIT_USAGE


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


def _silence_stdout() -> None:
    """After a closed pipe, point fd 1 at /dev/null so the interpreter's exit flush is quiet."""
    stdout = sys.__stdout__
    if sys.stdout is not stdout or stdout is None:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``linli`` argument parser (one subparser per command; each sets ``handler``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Linli (邻里): dispatch registered in-service Party members to residents' "
        "demands.",
        epilog="Exit codes: 0 ok, 1 verify found violations, 2 bad input or usage, "
        "70 internal error, 130 interrupted. LINLI_DEBUG=1 shows tracebacks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    gen = commands.add_parser(
        "generate",
        help="write a synthetic district problem as JSON",
        description="Generate a seeded synthetic district and write it as a problem JSON file.",
    )
    gen.add_argument("--members", type=integer_arg(1), metavar="N", help="members (at least 1)")
    gen.add_argument(
        "--demands", type=integer_arg(0), metavar="M", help="demands (at least 0; dispatch only)"
    )
    gen.add_argument("--visits", action="store_true", help="write a quarter of team visits instead")
    gen.add_argument(
        "--teams", type=integer_arg(1), default=20, metavar="T", help="teams (--visits; default 20)"
    )
    gen.add_argument(
        "--households",
        type=integer_arg(0),
        metavar="H",
        help="households in all (--visits; default 100 per team)",
    )
    gen.add_argument(
        "--seed", type=integer_arg(0), default=0, metavar="S", help="random seed (default 0)"
    )
    gen.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="problem JSON file ('-' = stdout)"
    )
    gen.set_defaults(handler=cmd_generate)

    dis = commands.add_parser(
        "dispatch",
        help="solve a problem JSON file and write the answer JSON",
        description="Solve a problem and write its answer (stdout unless -o). Progress lines "
        "and a one-line summary go to stderr.",
    )
    dis.add_argument("problem", metavar="PROBLEM", help="problem JSON file")
    dis.add_argument("-o", "--output", metavar="FILE", default=STDOUT, help="answer JSON file")
    _solver_arguments(dis, time_limit=None, seed=None)
    dis.add_argument("--quiet", action="store_true", help="no progress lines")
    dis.add_argument(
        "--executor",
        metavar="WHERE",
        help="solve in a separate process ('process') or on a Dask cluster "
        "('dask://host:port'); no live progress then (default: in this process)",
    )
    dis.add_argument(
        "--fan-out-min-demands",
        type=int,
        default=0,
        metavar="N",
        help="on a Dask cluster, spread the search of a problem with at least N open demands "
        "over every worker (same plan for a seed whatever the number of workers; default 0: "
        "never)",
    )
    dis.set_defaults(handler=cmd_dispatch)

    wrk = commands.add_parser(
        "worker",
        help="run Dask worker processes for a Linli cluster",
        description="Start `dask worker` for the scheduler at --scheduler, with one solver "
        "thread per worker process (the engine solves on one thread) and no dashboard. The "
        "workers run this installation of Linli and must reach LINLI_DATABASE_URL's database. "
        "Runs until stopped; extra options after `--` go to `dask worker` as they are.",
    )
    wrk.add_argument(
        "--scheduler", required=True, metavar="dask://HOST:PORT", help="the Dask scheduler"
    )
    wrk.add_argument(
        "--nworkers",
        type=integer_arg(1),
        default=1,
        metavar="N",
        help="worker processes (default 1; at most the cores is sensible)",
    )
    wrk.add_argument("--name", metavar="NAME", help="worker name (default: dask's)")
    wrk.add_argument(
        "--nice",
        type=integer_arg(0),
        default=0,
        metavar="N",
        help="nice increment of the workers (default 0; 10 on a host that also serves HTTP)",
    )
    wrk.add_argument(
        "--dry-run", action="store_true", help="print the dask worker command and exit"
    )
    wrk.add_argument("extra", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    wrk.set_defaults(handler=cmd_worker)

    ver = commands.add_parser(
        "verify",
        help="check an answer against its problem",
        description="Check every rule of the dispatch contract. Exit 0 and 'OK: ...' if the "
        "answer satisfies them, exit 1 and one line per violation if not.",
    )
    ver.add_argument("problem", metavar="PROBLEM", help="problem JSON file")
    ver.add_argument("answer", metavar="ANSWER", help="answer JSON file")
    ver.set_defaults(handler=cmd_verify)

    sch = commands.add_parser(
        "schedule",
        help="schedule a quarter of team visits and write the schedule JSON",
        description="Route, date and staff a quarter's team visits (docs/contracts/visits.md); "
        "write the schedule (stdout unless -o) and, with --ics, iCalendar files.",
    )
    sch.add_argument("problem", metavar="PROBLEM", help="visit problem JSON file")
    sch.add_argument("-o", "--output", metavar="FILE", default=STDOUT, help="schedule JSON file")
    sch.add_argument(
        "--ics", metavar="DIR", help="also write community.ics and team-<id>.ics into DIR"
    )
    _solver_arguments(sch, time_limit=None, seed=None)
    sch.add_argument("--quiet", action="store_true", help="no progress lines")
    sch.set_defaults(handler=cmd_schedule)

    add_match_parser(commands)

    demo = commands.add_parser(
        "demo",
        help="generate, dispatch and verify a district; print a summary",
        description="Generate a district, dispatch it, verify the answer, write problem.json, "
        "answer.json and summary.txt into --out, and print the summary.",
    )
    demo.add_argument(
        "--members", type=integer_arg(1), default=2000, metavar="N", help="members (default 2000)"
    )
    demo.add_argument(
        "--demands", type=integer_arg(0), default=5000, metavar="M", help="demands (default 5000)"
    )
    _solver_arguments(demo, time_limit=20.0, seed=0)
    demo.add_argument(
        "--out", metavar="DIR", default="linli-demo", help="output folder (default ./linli-demo)"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress lines")
    demo.set_defaults(handler=cmd_demo)

    serve = commands.add_parser(
        "serve",
        help="run the HTTP service (gunicorn)",
        description="Run the HTTP API for production with gunicorn. The database is "
        "LINLI_DATABASE_URL (default: SQLite in the instance folder); migrations run first. "
        "For development use `flask --app service.app run`.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=integer_arg(1), default=8000, metavar="PORT", help="TCP port (default 8000)"
    )
    serve.add_argument(
        "--workers",
        type=integer_arg(1),
        default=2,
        metavar="K",
        help="gunicorn worker processes (default 2)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed a demo community (members, open demands, a login per role) first",
    )
    serve.set_defaults(handler=cmd_serve)
    return parser


def _solver_arguments(
    parser: argparse.ArgumentParser, *, time_limit: float | None, seed: int | None
) -> None:
    of_problem = "default: the problem's options"
    limit_default = of_problem if time_limit is None else f"default {time_limit:g}"
    parser.add_argument(
        "--time-limit",
        type=seconds_arg,
        default=time_limit,
        metavar="S",
        help=f"seconds for the whole solve, above 0 ({limit_default})",
    )
    parser.add_argument(
        "--workers",
        type=integer_arg(0),
        default=None,
        metavar="K",
        help=f"solver threads, 0 = all cores ({of_problem})",
    )
    parser.add_argument(
        "--seed",
        type=integer_arg(0),
        default=seed,
        metavar="S",
        help=f"random seed ({of_problem if seed is None else f'default {seed}'})",
    )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("linli")
    except Exception:
        return "unknown"


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    """``linli serve``: gunicorn with the app factory until stopped."""
    from service.cli.server import run_server

    if args.port > 65535:
        raise CliError("--port", "must be at most 65535")
    run_server(args.host, args.port, args.workers, demo=args.demo)
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    """``linli generate``: write a synthetic district; a one-line summary on stderr."""
    check_output(args.output)
    if args.visits:
        return generate_visits(args)
    if args.members is None or args.demands is None:
        raise CliError("generate", "--members and --demands are required (or use --visits)")
    try:
        problem = generate_district(members=args.members, demands=args.demands, seed=args.seed)
    except ValueError as err:
        raise CliError("generate", str(err)) from err
    write_output(args.output, json_text(dump_problem(problem), ascii_only=args.output == STDOUT))
    s = district_summary(problem)
    where = "stdout" if args.output == STDOUT else args.output
    say(
        f"{PROG}: wrote {where}: {s['members']} members, {s['demands']} demands, "
        f"{s['teams']} teams, {s['pinned']} pinned; {s['demand_hours']:g} h of demand for "
        f"{s['capacity_hours']:g} h of capacity (seed {args.seed})"
    )
    return EXIT_OK


def cmd_dispatch(args: argparse.Namespace) -> int:
    """``linli dispatch``: solve a problem file, write the answer; progress on stderr.

    With ``--executor`` the solve is one task on that executor (:mod:`service.jobs.executors`): the
    same engine, seed and time limit, so the same answer for ``--workers 1``."""
    problem = _load_problem(args.problem)
    check_output(args.output)
    if args.fan_out_min_demands < 0:
        raise CliError("--fan-out-min-demands", "must be at least 0")
    started = time.perf_counter()
    if args.executor is None:
        answer = solve(
            problem,
            time_limit_s=args.time_limit,
            seed=args.seed,
            workers=args.workers,
            progress=None if args.quiet else ProgressPrinter(sys.stderr),
        )
    else:
        answer = _solve_on(args.executor, problem, args)
    elapsed = time.perf_counter() - started
    write_output(args.output, json_text(dump_answer(answer), ascii_only=args.output == STDOUT))
    say(f"{PROG}: {_answer_line(problem, answer)} in {elapsed:.1f} s")
    return EXIT_OK


def _solve_on(where: str, problem: Problem, args: argparse.Namespace) -> Answer:
    """Solve ``problem`` as one task on the executor ``where`` names; its answer."""
    from service.config.settings import parse_executor
    from service.jobs.executors import make_executor, solve_problem_json

    try:
        executor_name = parse_executor(where)
    except ValueError as err:
        raise CliError("--executor", str(err)) from err
    try:
        executor = make_executor(executor_name)
    except OSError as err:
        raise CliError("--executor", f"cannot reach {executor_name} ({err})") from err
    if not args.quiet:
        say(f"{PROG}: solving on {executor_name}")
    try:
        # the options go in a partial: Dask's submit() takes ``workers=`` as its own argument
        task = functools.partial(
            solve_problem_json,
            time_limit_s=args.time_limit,
            seed=args.seed,
            workers=args.workers,
            fan_out_min_demands=args.fan_out_min_demands,
        )
        future = executor.submit(task, dump_problem(problem))
        answer_json = future.result()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    return load_answer(answer_json)


def cmd_worker(args: argparse.Namespace) -> int:
    """``linli worker``: become ``dask worker`` for a scheduler (``exec``, so a service manager's
    signals reach it); ``--dry-run`` prints the command instead."""
    from service.config.settings import parse_executor

    try:
        where = parse_executor(args.scheduler)
    except ValueError as err:
        raise CliError("--scheduler", str(err)) from err
    if where == "process":
        raise CliError("--scheduler", "must be dask://host:port")
    command = worker_command(
        where, nworkers=args.nworkers, name=args.name, extra=[a for a in args.extra if a != "--"]
    )
    if args.dry_run:
        print(" ".join(command))
        return EXIT_OK
    if args.nice > 0:
        os.nice(args.nice)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # becomes the dask worker: signals reach it directly
    return EXIT_INTERNAL  # pragma: no cover - execv does not return


def worker_command(
    scheduler: str, *, nworkers: int = 1, name: str | None = None, extra: Sequence[str] = ()
) -> list[str]:
    """The ``dask worker`` command line for ``scheduler`` (``dask://host:port``): this
    interpreter, one thread per process, a nanny that restarts a dead worker, no dashboard,
    and the engine imported before the first task."""
    command = [
        sys.executable,
        "-m",
        "distributed.cli.dask_worker",
        "tcp://" + scheduler.removeprefix("dask://"),
        "--nthreads",
        "1",
        "--nworkers",
        str(nworkers),
        "--no-dashboard",
        "--preload",
        "service.jobs.worker",
    ]
    if name:
        command += ["--name", name]
    return command + list(extra)


def cmd_verify(args: argparse.Namespace) -> int:
    """``linli verify``: exit 0 and ``OK: ...`` on stdout, or 1 and one line per violation.

    A visit problem (it has ``quarter`` and ``areas``) is checked with the schedule verifier.
    """
    if is_visit_problem_file(args.problem):
        return verify_schedule_files(args.problem, args.answer)
    problem = _load_problem(args.problem)
    answer = _load_answer(args.answer)
    violations = verify(problem, answer)
    if not violations:
        print(
            "OK: answer satisfies every rule "
            f"(objective {answer.objective:.1f}, gap {100 * answer.gap:.2f}%)"
        )
        return EXIT_OK
    for v in violations:
        print(violation_line(v))
    say(f"{PROG}: {len(violations)} violation(s) in {args.answer}")
    return EXIT_VIOLATIONS


def cmd_demo(args: argparse.Namespace) -> int:
    """``linli demo``: generate, dispatch, verify; write three files; print the summary."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(args.out, "is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CliError(args.out, f"cannot create directory: {err.strerror or err}") from err
    paths = {name: out / name for name in ("problem.json", "answer.json", "summary.txt")}
    for path in paths.values():
        check_output(str(path))

    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        problem = generate_district(members=args.members, demands=args.demands, seed=args.seed)
    except ValueError as err:
        raise CliError("demo", str(err)) from err
    timings["generate"] = time.perf_counter() - started
    write_output(str(paths["problem.json"]), json_text(dump_problem(problem)))

    started = time.perf_counter()
    answer = solve(
        problem,
        time_limit_s=args.time_limit,
        seed=args.seed,
        workers=args.workers,
        progress=None if args.quiet else ProgressPrinter(sys.stderr),
    )
    timings["dispatch"] = time.perf_counter() - started
    write_output(str(paths["answer.json"]), json_text(dump_answer(answer)))

    started = time.perf_counter()
    violations = verify(problem, answer)
    timings["verify"] = time.perf_counter() - started

    summary = summarize(
        problem,
        answer,
        violations=[violation_line(v) for v in violations],
        timings_s=timings,
    )
    text = format_summary(summary)
    write_output(str(paths["summary.txt"]), text + "\n")
    print(text, flush=True)
    say(f"{PROG}: wrote " + ", ".join(str(p) for p in paths.values()))
    return EXIT_VIOLATIONS if violations else EXIT_OK


# --------------------------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------------------------


def violation_line(v: Violation) -> str:
    """``rule 6: <message>`` for the spec's numbered rules, ``<check>: <message>`` otherwise."""
    label = f"rule {v.rule}" if v.rule.isdigit() else v.rule
    return f"{label}: {_one_line(v.message)}"


def _answer_line(problem: Problem, answer: Answer) -> str:
    served = len({a.demand for a in answer.assignments})
    return (
        f"{answer.status}, served {served}/{len(problem.demands)}, "
        f"objective {answer.objective:.1f}, bound {answer.bound:.1f}, "
        f"gap {100 * answer.gap:.2f}%"
    )


def format_progress(event: Progress) -> str:
    """One progress line: ``[  2.3s] greedy     objective 83594.3``."""
    parts = [f"[{event.elapsed_s:5.1f}s] {event.phase:<10}"]
    if event.objective is not None:
        parts.append(f"objective {event.objective:.1f}")
    if event.bound is not None:
        parts.append(f"bound {event.bound:.1f}")
        if event.objective is not None:
            gap = (event.objective - event.bound) / max(abs(event.objective), 1.0)
            parts.append(f"gap {100 * gap:.2f}%")
    if event.message:
        parts.append(_one_line(event.message))
    return "  ".join(parts)


class ProgressPrinter:
    """A ``progress`` callback for :func:`matcher.dispatch.solve.solve` that writes one line per
    event.

    ``improve`` events (one per better incumbent, possibly hundreds a second) are throttled to
    one per ``min_interval_s`` of solver time; every other event is printed.
    """

    def __init__(self, stream: TextIO, *, min_interval_s: float = IMPROVE_INTERVAL_S):
        self.stream = stream
        self.min_interval_s = min_interval_s
        self._last_improve_s = -math.inf

    def __call__(self, event: Progress) -> None:
        if event.phase == "improve":
            if event.elapsed_s - self._last_improve_s < self.min_interval_s:
                return
            self._last_improve_s = event.elapsed_s
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(format_progress(event) + "\n")
            self.stream.flush()


def _file_error(path: str, err: InvalidProblemError) -> CliError:
    """``<file>: <field path>: <message>`` (no ``$`` for whole-document errors)."""
    text = err.one_line()
    if text.startswith(f"{ROOT}: "):
        text = text[len(ROOT) + 2 :]
    text = text.replace(f"cannot read file: {os.fspath(path)}: ", "cannot read file: ")
    return CliError(path, text)


def _load_problem(path: str) -> Problem:
    try:
        return load_problem_file(path)
    except InvalidProblemError as err:
        raise _file_error(path, err) from err


def _load_answer(path: str) -> Answer:
    try:
        return load_answer_file(path)
    except InvalidProblemError as err:
        raise _file_error(path, err) from err


if __name__ == "__main__":
    run()
