"""``python -m benchmarks COMMAND ...``: one sub-command per job, registered in :data:`COMMANDS`.

- ``run``: measure peers on synthetic districts, append result lines to a JSON-lines file;
- ``one``: one measurement in this process, its result line on stdout (what ``run`` spawns);
- ``render``: ``RESULTS.md`` and the time/gap plot from result lines.

A new job (such as the OR-Library ``gap`` runner) is one more module with ``add_arguments`` and
``main`` and one more entry in :data:`COMMANDS`. Bad arguments exit with code 2 and one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import gap, solomon, visits
from benchmarks.provenance import REPO

DEFAULT_OUT = REPO / "benchmarks" / "results" / "synthetic.jsonl"
DEFAULT_RESULTS = REPO / "benchmarks" / "RESULTS.md"
DEFAULT_PLOT = REPO / "benchmarks" / "results" / "time_gap.png"


class UsageError(ValueError):
    """A bad argument: reported as one line, exit code 2."""


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int]


# --- run -----------------------------------------------------------------------------------


def _run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default="S", help="comma-separated sizes: S, M, L, XL (default S)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument(
        "--limits", default="10,30,60", help="Linli's time limits in s (default 10,30,60)"
    )
    p.add_argument(
        "--peer-limits",
        default=None,
        help="time limits in s for the plain CP-SAT and MIP models (default: the largest of "
        "--limits)",
    )
    p.add_argument(
        "--lp-limit", type=float, default=900.0, help="time limit for the LP bound (default 900)"
    )
    p.add_argument(
        "--peers",
        default="linli,greedy,cpsat,mip,lp",
        help="comma-separated peers: linli, greedy, cpsat, mip, lp (default all)",
    )
    p.add_argument(
        "--memory-cap-gib",
        type=float,
        default=12.0,
        help="end a measurement whose resident memory passes this (default 12; 0: no cap)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON-lines file to append to")


def _run_main(args: argparse.Namespace) -> int:
    from benchmarks.harness import RunPlan, parse_list, run
    from benchmarks.instances import size_named
    from benchmarks.peers import PEERS
    from benchmarks.provenance import provenance

    try:
        sizes = tuple(size_named(s) for s in parse_list(args.sizes, str))
        seeds = parse_list(args.seeds, int)
        limits = parse_list(args.limits, float)
        peer_limits = (
            (max(limits),) if args.peer_limits is None else parse_list(args.peer_limits, float)
        )
        peers = parse_list(args.peers, str)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise UsageError(f"unknown peer(s) {', '.join(unknown)}; choose from {', '.join(PEERS)}")
    if any(t <= 0 for t in (*limits, *peer_limits, args.lp_limit)):
        raise UsageError("time limits must be positive")
    if args.memory_cap_gib < 0:
        raise UsageError("--memory-cap-gib must be at least 0")
    cap_mib = args.memory_cap_gib * 1024 if args.memory_cap_gib > 0 else None
    plan = RunPlan(sizes, seeds, peers, limits, peer_limits, args.lp_limit, cap_mib)

    def report(line: dict[str, Any]) -> None:
        obj = line.get("objective")
        bound = line.get("peer_bound")
        print(
            f"{line['size']} seed {line['seed']} {line['peer']}@{line.get('time_limit_s')}: "
            f"{line['status']} objective={_fmt(obj)} bound={_fmt(bound)} "
            f"violations={line.get('violations')} wall={line.get('process_s')}s "
            f"peak={line.get('peak_mib')}MiB",
            file=sys.stderr,
            flush=True,
        )

    run(plan, args.out, provenance(), report=report)
    return 0


def _fmt(x: object) -> str:
    return f"{x:.2f}" if isinstance(x, float) else str(x)


# --- one -----------------------------------------------------------------------------------


def _one_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", required=True, help="S, M, L, XL or smoke")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--peer", required=True, help="linli, greedy, cpsat, mip or lp")
    p.add_argument("--limit", type=float, default=None, help="time limit in s")
    p.add_argument("--bound", type=float, default=None, help="a proven bound already measured (LP)")


def _one_main(args: argparse.Namespace) -> int:
    from benchmarks.instances import size_named
    from benchmarks.measure import measure
    from benchmarks.peers import PEERS

    try:
        size = size_named(args.size)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.peer not in PEERS:
        raise UsageError(f"unknown peer {args.peer!r}; choose from {', '.join(PEERS)}")
    line = measure(
        size, args.seed, args.peer, args.limit, known_bound=args.bound, fresh_process=True
    )
    print(json.dumps(line, sort_keys=True), flush=True)
    return 0


# --- render --------------------------------------------------------------------------------


def _render_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--in", dest="inputs", type=Path, action="append", default=None,
        help=f"JSON-lines result file (repeatable; default {DEFAULT_OUT.relative_to(REPO)})",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=DEFAULT_RESULTS, help="Markdown file to write")
    p.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG plot to write")
    p.add_argument(
        "--note",
        action="append",
        default=[],
        help="a paragraph about this run for RESULTS.md (repeatable)",
    )


def _render_main(args: argparse.Namespace) -> int:
    from benchmarks.harness import read_lines
    from benchmarks.render import render

    inputs = args.inputs or [DEFAULT_OUT]
    missing = [str(p) for p in inputs if not Path(p).is_file()]
    if missing:
        raise UsageError(f"no result file {', '.join(missing)}")
    lines = read_lines(inputs)
    if not lines:
        raise UsageError("no result lines to render")
    render(lines, args.out, args.plot, notes=args.note)
    print(f"wrote {args.out} and {args.plot}", file=sys.stderr)
    return 0


COMMANDS: dict[str, Command] = {
    "run": Command("measure peers on synthetic districts", _run_arguments, _run_main),
    "one": Command("one peer on one instance (what run spawns)", _one_arguments, _one_main),
    "render": Command("RESULTS.md and the plot from result lines", _render_arguments, _render_main),
    "solomon": Command("Solomon VRPTW: routing vs OR-Tools", solomon.add_arguments, solomon.main),
    "visits": Command("a district's quarter of team visits", visits.add_arguments, visits.main),
    "gap": Command("GAP benchmark files through the engine", gap.add_arguments, gap.main),
}
"""Sub-commands by name (``gap``: the OR-Library / Yagiura GAP runner, :mod:`benchmarks.gap`)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m benchmarks",
        description="Measure Linli against its peers and the best proven bound.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(p)
        p.set_defaults(handler=command.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; 0 on success, 2 on a bad argument (one line on stderr)."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except UsageError as exc:
        print(f"python -m benchmarks: error: {exc}", file=sys.stderr)
        return 2
