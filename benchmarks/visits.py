"""``python -m benchmarks visits``: a district's quarter of team visits, against its lower bound.

Generates the issue's district (300 teams, 3,000 members, 30,000 households, 13 weeks; the
generator of :mod:`matcher.visits.generate`), schedules it with the product's own
:func:`matcher.visits.solve.solve_visits`, checks the schedule with the independent verifier and
appends one JSON line per (seed) with the figures: sessions against the lower bound on sessions,
visits missing and why, walking, attendees, wall time, peak memory (this process and the routing
workers). Medians over seeds are what RESULTS.md quotes. ``--variant held-out`` generates
instead a quarter shaped like issue 20's held-out one
(:func:`matcher.visits.generate.held_out_like_problem`: 14,747 households over 300 teams, a
quarter of the members off on any date, the Spring Festival blackout).

``--quarters N`` runs instead ``N`` small random quarters (:func:`matcher.visits.generate.
random_shape`: 1–3 teams, 30–90 households each, 2–13 weeks, session 0.5–4 h, every knob varied)
with a 0.05 s time limit, each checked by the strict verifier, and appends one summary line
(violations by rule, sessions, households left out by reason, and how many of those reasons
are not proven to hold for every plan) to ``visits_quarters.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.provenance import REPO, provenance
from matcher.visits.generate import (
    generate_visit_problem,
    held_out_like_problem,
    random_shape,
    small_quarter,
)
from matcher.visits.solve import solve_visits
from matcher.visits.verify import verify_schedule
from service.contracts.visits import dump_schedule, dump_visit_problem

DEFAULT_OUT = REPO / "benchmarks" / "results" / "visits.jsonl"
DEFAULT_MD = REPO / "benchmarks" / "results" / "visits.md"
QUARTERS_OUT = REPO / "benchmarks" / "results" / "visits_quarters.jsonl"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teams", type=int, default=300, help="teams and areas (default 300)")
    p.add_argument("--members", type=int, default=3000, help="members (default 3000)")
    p.add_argument("--households", type=int, default=30000, help="households (default 30000)")
    p.add_argument(
        "--variant",
        choices=("district", "held-out"),
        default="district",
        help="district: the generator with --teams/--members/--households; held-out: a quarter "
        "shaped like issue 20's held-out one (300 teams, 14,747 households, a quarter of members "
        "off on any date; --teams scales it, --members and --households are ignored)",
    )
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds (default 120)")
    p.add_argument("--workers", type=int, default=0, help="routing processes (0 = all cores)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON-lines file to append to")
    p.add_argument("--json", action="store_true", help="print each result line on stdout too")
    p.add_argument(
        "--render",
        action="store_true",
        help="only write the Markdown section from the lines already in --out",
    )
    p.add_argument("--md", type=Path, default=DEFAULT_MD, help="Markdown section to write")
    p.add_argument(
        "--quarters",
        type=int,
        default=0,
        help="instead: this many small random quarters, strictly verified (summary line)",
    )


def _peak_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return round(own, 1), round(children, 1)


def run_one(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Generate, schedule and verify one district; its result line."""
    if args.variant == "held-out":
        problem = held_out_like_problem(seed, teams=args.teams, time_limit_s=args.time_limit)
    else:
        problem = generate_visit_problem(
            teams=args.teams,
            members=args.members,
            households=args.households,
            seed=seed,
            time_limit_s=args.time_limit,
        )
    started = time.perf_counter()
    schedule = solve_visits(problem, time_limit_s=args.time_limit, workers=args.workers)
    wall_s = time.perf_counter() - started
    violations = verify_schedule(dump_visit_problem(problem), dump_schedule(schedule))
    stats = schedule.stats
    own, children = _peak_mib()
    reasons = Counter(u.reason for u in schedule.unscheduled for _ in u.households)
    got = Counter(h for s in schedule.sessions for h in s.route)
    short = {h.id for a in problem.areas for h in a.households if got[h.id] < h.visits}
    unproven = len({h for u in schedule.unscheduled if not u.proven for h in u.households} & short)
    return {
        "benchmark": "visits",
        "variant": args.variant,
        "teams": len(problem.teams),
        "members": len(problem.members),
        "households": sum(len(a.households) for a in problem.areas),
        "required_visits": sum(h.visits for a in problem.areas for h in a.households),
        "seed": seed,
        "time_limit_s": args.time_limit,
        "status": schedule.status,
        "sessions": stats.sessions,
        "lower_bound_sessions": stats.lower_bound_sessions,
        "sessions_over_bound_pct": round(
            100.0 * (stats.sessions / max(stats.lower_bound_sessions, 1) - 1.0), 2
        ),
        "missing_visits": stats.missing_visits,
        "unscheduled_by_reason": dict(reasons),
        "walk_km": stats.walk_km,
        "attendees_above_quorum": stats.attendees_above_quorum,
        "leader_present": stats.leader_present,
        "wall_s": round(wall_s, 2),
        "violations": len(violations),
        "violations_by_rule": dict(Counter(v.rule for v in violations)),
        "households_missing": len(short),
        "households_missing_unproven": unproven,
        "peak_rss_mib": own,
        "peak_rss_worker_mib": children,
    }


def run_quarters(count: int, seed: int) -> dict[str, Any]:
    """Schedule and verify ``count`` small random quarters; the summary line."""
    rng = np.random.default_rng(seed)
    rules: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    sessions = households = failing = 0
    worst: list[dict[str, Any]] = []
    started = time.perf_counter()
    for _ in range(count):
        shape = random_shape(rng)
        problem = small_quarter(shape)
        schedule = solve_visits(problem, time_limit_s=0.05, workers=1)
        violations = verify_schedule(dump_visit_problem(problem), dump_schedule(schedule))
        rules.update(v.rule for v in violations)
        reasons.update(
            u.reason if u.proven else f"{u.reason} (not proven)"
            for u in schedule.unscheduled
            for _ in u.households
        )
        sessions += schedule.stats.sessions
        households += sum(len(a.households) for a in problem.areas)
        if violations:
            failing += 1
            if len(worst) < 5:
                worst.append({"shape": asdict(shape), "first": asdict(violations[0])})
    return {
        "benchmark": "visits_quarters",
        "quarters": count,
        "seed": seed,
        "households": households,
        "sessions": sessions,
        "quarters_with_violations": failing,
        "violations_by_rule": dict(sorted(rules.items())),
        "unscheduled_by_reason": dict(sorted(reasons.items())),
        "examples": worst,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def render_section(lines: list[dict[str, Any]]) -> str:
    """The RESULTS.md section: one row per seed, the medians and where it was measured."""
    if not lines:
        return ""
    first = lines[0]
    meta = first.get("provenance", {})
    machine = meta.get("machine", {})
    rows = [
        "## Quarterly team visits (组团走访) at district scale",
        "",
        f"{first['teams']} teams, {first['members']:,} members, {first['households']:,} "
        f"households ({first['required_visits']:,} visits required), a 13-week quarter of "
        "weekends with Chinese public holidays as blackouts; `solve_visits` with "
        f"`time_limit_s={first['time_limit_s']:g}` on every core; every schedule checked by the "
        "independent verifier (`matcher/visits/verify.py`).",
        "",
        "| seed | sessions | lower bound | over bound | missing visits | walk km | attendees "
        "above quorum | wall s | violations | peak MiB (main / routing worker) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in lines:
        rows.append(
            f"| {x['seed']} | {x['sessions']:,} | {x['lower_bound_sessions']:,} | "
            f"{x['sessions_over_bound_pct']:.1f}% | {x['missing_visits']} | {x['walk_km']:,.0f} | "
            f"{x['attendees_above_quorum']:,} | {x['wall_s']:.1f} | {x['violations']} | "
            f"{x['peak_rss_mib']:.0f} / {x['peak_rss_worker_mib']:.0f} |"
        )
    med = statistics.median
    rows += [
        f"| **median** | {med(x['sessions'] for x in lines):,.0f} | "
        f"{med(x['lower_bound_sessions'] for x in lines):,.0f} | "
        f"{med(x['sessions_over_bound_pct'] for x in lines):.1f}% | "
        f"{med(x['missing_visits'] for x in lines):g} | {med(x['walk_km'] for x in lines):,.0f} | "
        f"{med(x['attendees_above_quorum'] for x in lines):,.0f} | "
        f"{med(x['wall_s'] for x in lines):.1f} | | |",
        "",
        "The lower bound on sessions is per area (README, *Lower bound on sessions*): visit "
        "minutes plus the larger of a spanning-tree and a radial walking bound, over the "
        "session length.",
        "",
        f"- Command: `{meta.get('command', 'python -m benchmarks visits')}`",
        f"- Machine: {machine.get('cpu')}, {machine.get('cores')} cores, "
        f"{machine.get('memory_gib')} GiB, Python {machine.get('python')}; git "
        f"`{meta.get('git_sha')}`",
    ]
    return "\n".join(rows) + "\n"


def main(args: argparse.Namespace) -> int:
    """Run every seed, append the lines, print a summary line on stderr."""
    if args.render:
        if not args.out.exists():
            print(f"benchmarks visits: {args.out}: no such file", file=sys.stderr)
            return 2
        lines = [json.loads(x) for x in args.out.read_text(encoding="utf-8").splitlines() if x]
        args.md.write_text(render_section(lines), encoding="utf-8")
        print(f"benchmarks visits: wrote {args.md}", file=sys.stderr)
        return 0
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        print(
            f"benchmarks visits: --seeds: not a list of integers: {args.seeds!r}", file=sys.stderr
        )
        return 2
    if args.time_limit <= 0 or args.teams < 1:
        print("benchmarks visits: --time-limit and --teams must be above 0", file=sys.stderr)
        return 2
    if args.members < 4 * args.teams:
        print("benchmarks visits: --members must be at least 4 per team", file=sys.stderr)
        return 2
    meta = provenance()
    if args.quarters > 0:
        line = {**run_quarters(args.quarters, seeds[0] if seeds else 0), "provenance": meta}
        QUARTERS_OUT.parent.mkdir(parents=True, exist_ok=True)
        out = QUARTERS_OUT if args.out == DEFAULT_OUT else args.out
        with out.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(
            f"benchmarks visits: {line['quarters']} quarters, "
            f"{line['quarters_with_violations']} with violations {line['violations_by_rule']}, "
            f"{line['wall_s']:.0f} s",
            file=sys.stderr,
        )
        return 0 if line["quarters_with_violations"] == 0 else 1
    lines = []
    for seed in seeds:
        line = {**run_one(args, seed), "provenance": meta}
        lines.append(line)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        if args.json:
            print(json.dumps(line, ensure_ascii=False), flush=True)
    over = statistics.median(x["sessions_over_bound_pct"] for x in lines)
    wall = statistics.median(x["wall_s"] for x in lines)
    print(
        f"benchmarks visits: {len(lines)} run(s); median sessions {over:.1f}% over the bound, "
        f"median wall {wall:.1f} s, violations {sum(x['violations'] for x in lines)}",
        file=sys.stderr,
    )
    return 0 if all(x["violations"] == 0 for x in lines) else 1
