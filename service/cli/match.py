"""``linli match KIND``: the long-term matchings (issue #4) from the shell.

One command for the four kinds — ``posts`` (设岗认岗), ``groups`` (分组), ``pairs`` (拉手式) and
``units`` (结对共建) — each backed by ``matcher.longterm.<kind>`` (``solve``, ``verify``,
``generate``) and its edge schema ``service.contracts.<kind>`` (``load_problem``,
``dump_problem``, ``dump_answer``)::

    linli match KIND --generate [--communities N] [--members N] [--seed S] -o problem.json
    linli match KIND problem.json [-o answer.json] [--time-limit S] [--seed S]
    linli match KIND problem.json --check answer.json

Solving always runs the kind's independent verifier on its own answer (exit 1 if it finds a
violation, which would be a bug); ``--check`` verifies an answer file. Bad input: exit 2, one line.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
from types import ModuleType
from typing import Any

from matcher.errors import InvalidProblemError
from service.cli import common
from service.contracts.dispatch import read_json_document

KINDS: dict[str, str] = {
    "posts": "setting and claiming posts (设岗认岗)",
    "groups": "grouping members (分组)",
    "pairs": "hand-in-hand pairs for vulnerable residents (拉手式)",
    "units": "unit–community pairing (结对共建)",
}


def _module(kind: str, part: str) -> ModuleType:
    if part == "schema":
        return importlib.import_module(f"service.contracts.{kind}")
    return importlib.import_module(f"matcher.longterm.{kind}.{part}")


def add_parser(commands: Any) -> None:
    """Register ``match`` on the ``linli`` sub-command parser."""
    match = commands.add_parser(
        "match",
        help="the long-term matchings: posts, groups, pairs, units",
        description="Solve, check or generate a long-term matching problem (docs/KIND.md). "
        + "; ".join(f"{k}: {v}" for k, v in KINDS.items()),
    )
    match.add_argument(
        "kind", choices=sorted(KINDS), metavar="KIND", help="posts, groups, pairs or units"
    )
    match.add_argument("problem", nargs="?", metavar="PROBLEM", help="problem JSON file")
    match.add_argument(
        "-o",
        "--output",
        default=common.STDOUT,
        metavar="FILE",
        help="answer (or, with --generate, problem) JSON file",
    )
    match.add_argument("--check", metavar="ANSWER", help="verify this answer file instead")
    match.add_argument("--generate", action="store_true", help="write a synthetic problem")
    match.add_argument(
        "--communities", type=common.integer_arg(1), metavar="N", help="--generate: communities"
    )
    match.add_argument(
        "--members", type=common.integer_arg(1), metavar="N", help="--generate: members"
    )
    match.add_argument(
        "--time-limit",
        type=common.seconds_arg,
        metavar="S",
        help="seconds (default: the problem's options)",
    )
    match.add_argument("--seed", type=common.integer_arg(0), metavar="S", help="random seed")
    match.set_defaults(handler=cmd_match)


def cmd_match(args: argparse.Namespace) -> int:
    if args.generate:
        return _generate(args)
    if args.problem is None:
        raise common.CliError("match", "give a PROBLEM file (or --generate)")
    schema = _module(args.kind, "schema")
    try:
        raw_problem = read_json_document(args.problem)
        problem = schema.load_problem(raw_problem)
    except InvalidProblemError as err:
        raise common.CliError(args.problem, err.one_line()) from err
    verify = _module(args.kind, "verify").verify
    if args.check:
        try:
            raw_answer = read_json_document(args.check)
        except InvalidProblemError as err:
            raise common.CliError(args.check, err.one_line()) from err
        if not isinstance(raw_answer, dict):
            raise common.CliError(args.check, "$: must be a JSON object")
        return _report(verify(raw_problem, raw_answer), args.check, raw_answer)
    common.check_output(args.output)
    answer = _module(args.kind, "solve").solve(
        problem, time_limit_s=args.time_limit, seed=args.seed
    )
    data = schema.dump_answer(answer)
    common.write_output(
        args.output, common.json_text(data, ascii_only=args.output == common.STDOUT)
    )
    violations = verify(raw_problem, data)
    if violations:
        return _report(violations, args.output, data)
    stats = data.get("stats", {})
    common.say(
        f"linli: {args.kind}: {data.get('status')}, objective {stats.get('objective')}, "
        f"bound {stats.get('bound', '-')}; verified"
    )
    return int(common.EXIT_OK)


def _report(violations: list[Any], where: str, answer: dict[str, Any]) -> int:
    if not violations:
        print(f"OK: answer satisfies every rule (status {answer.get('status')})")
        return int(common.EXIT_OK)
    for v in violations:
        label = f"rule {v.rule}" if str(v.rule).isdigit() else v.rule
        print(f"{label}: {v.subject}: {' '.join(str(v.message).split())}")
    common.say(f"linli: {len(violations)} violation(s) in {where}")
    return int(common.EXIT_VIOLATIONS)


def _generate(args: argparse.Namespace) -> int:
    generate = _module(args.kind, "generate").generate
    accepted = inspect.signature(generate).parameters
    kwargs = {
        name: value
        for name, value in (
            ("communities", args.communities),
            ("members", args.members),
            ("seed", args.seed),
        )
        if value is not None and name in accepted
    }
    common.check_output(args.output)
    try:
        problem = generate(**kwargs)
    except ValueError as err:
        raise common.CliError("generate", str(err)) from err
    data = _module(args.kind, "schema").dump_problem(problem)
    common.write_output(
        args.output, common.json_text(data, ascii_only=args.output == common.STDOUT)
    )
    common.say(f"linli: wrote {args.output}: a synthetic {args.kind} problem")
    return int(common.EXIT_OK)
