"""``python -m benchmarks.longterm_posts``: post allocation (设岗认岗) at district scale.

Generates the district of :mod:`matcher.longterm.posts.generate` (30 communities, 10,000 members by
default) for each seed, allocates it in both modes (``optimal``: min-cost flow, exact; ``stable``:
deferred acceptance), checks every answer with the independent verifier and recomputes its
objective, and writes one JSON line per (seed, mode) to ``benchmarks/results/longterm_posts.jsonl``
(the file is rewritten) plus a markdown summary of the medians over seeds to
``benchmarks/results/longterm_posts.md``. The optimal mode's objective is its own bound (the flow is
exact); the stable mode is compared with it: members placed, rank distribution, blocking pairs.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.provenance import REPO, machine, versions
from matcher.longterm.posts.generate import generate
from matcher.longterm.posts.solve import solve, with_mode
from matcher.longterm.posts.verify import recompute_objective, verify
from service.contracts.posts import dump_answer, dump_problem

RESULTS = REPO / "benchmarks" / "results"
DEFAULT_OUT = RESULTS / "longterm_posts.jsonl"
DEFAULT_SUMMARY = RESULTS / "longterm_posts.md"
MODES = ("optimal", "stable")


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def run_one(communities: int, members: int, seed: int, mode: str) -> dict[str, Any]:
    """Generate, allocate, verify one district in one mode; its result line."""
    started = time.perf_counter()
    problem = with_mode(generate(communities=communities, members=members, seed=seed), mode)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    answer = solve(problem)
    solve_s = time.perf_counter() - started
    problem_json, answer_json = dump_problem(problem), dump_answer(answer)
    started = time.perf_counter()
    violations = verify(problem_json, answer_json)
    recomputed = recompute_objective(problem_json, answer_json)
    verify_s = time.perf_counter() - started
    stats = answer.stats
    reasons: dict[str, int] = {}
    for u in answer.unassigned:
        reasons[u.reason] = reasons.get(u.reason, 0) + 1
    return {
        "benchmark": "longterm_posts",
        "seed": seed,
        "mode": mode,
        "communities": communities,
        "members": stats.members,
        "posts": len(problem.posts),
        "seats": stats.seats,
        "seekers": stats.seekers,
        "status": answer.status,
        "objective": stats.objective,
        "bound": stats.bound,
        "objective_recomputed_matches": abs(recomputed - stats.objective) <= 1e-6 * abs(recomputed),
        "placed": stats.placed,
        "placed_pct_of_seekers": round(100.0 * stats.placed / max(1, stats.seekers), 2),
        "placed_by_rank": list(stats.placed_by_rank),
        "first_choice_pct_of_placed": round(
            100.0 * stats.placed_by_rank[0] / max(1, stats.placed), 2
        ),
        "rank_cost": stats.rank_cost,
        "fit": stats.fit,
        "unplaced": stats.unplaced,
        "unassigned_by_reason": reasons,
        "vacant_seats": stats.vacant_seats,
        "blocking_pairs": stats.blocking_pairs,
        "blocking_members": stats.blocking_members,
        "generate_s": round(generate_s, 3),
        "solve_s": round(solve_s, 3),
        "verify_s": round(verify_s, 3),
        "violations": len(violations),
        "peak_rss_mib": _peak_rss_mib(),
    }


def _median(lines: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(float(x[key]) for x in lines))


def summary(lines: list[dict[str, Any]], command: str) -> str:
    """The markdown summary: medians over seeds, per mode."""
    info = machine()
    seeds = sorted({x["seed"] for x in lines})
    first = lines[0]
    rows = []
    for mode in MODES:
        some = [x for x in lines if x["mode"] == mode]
        if not some:
            continue
        by_rank = [
            statistics.median(x["placed_by_rank"][k] for x in some)
            for k in range(len(some[0]["placed_by_rank"]))
        ]
        rows.append(
            f"| {mode} | {_median(some, 'placed'):.0f} "
            f"({_median(some, 'placed_pct_of_seekers'):.1f} %)"
            f" | {' / '.join(f'{v:.0f}' for v in by_rank)}"
            f" | {_median(some, 'rank_cost'):.0f} | {_median(some, 'fit'):.0f}"
            f" | {_median(some, 'blocking_pairs'):.0f} ({_median(some, 'blocking_members'):.0f})"
            f" | {_median(some, 'vacant_seats'):.0f}"
            f" | {_median(some, 'solve_s'):.2f} | {_median(some, 'peak_rss_mib'):.0f} |"
        )
    gaps = []
    for seed in seeds:
        pair = {x["mode"]: x for x in lines if x["seed"] == seed}
        if set(MODES) <= pair.keys():
            gaps.append(pair["optimal"]["placed"] - pair["stable"]["placed"])
    violations = sum(x["violations"] for x in lines)
    return "\n".join(
        [
            "## Posts (设岗认岗) at district scale",
            "",
            f"Measured {datetime.now(UTC).strftime('%Y-%m-%d')} on {info['cores']} cores "
            f"({info['cpu']}), Python {info['python']}, OR-Tools {versions()['ortools']}.",
            f"Command: `{command}`. Seeds {', '.join(map(str, seeds))}; medians over seeds.",
            "",
            f"District: {first['communities']} communities, {first['members']:,} members "
            f"({_median(lines, 'seekers'):.0f} list at least one post), "
            f"{_median(lines, 'posts'):.0f} posts with {_median(lines, 'seats'):.0f} seats.",
            "",
            "| mode | placed (of seekers) | at choice 1 / 2 / 3 / 4 / 5 | Σ rank² | Σ fit "
            "| blocking pairs (members) | vacant seats | solve s | peak MiB |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "The optimal mode is exact (min-cost flow), so its objective is its bound. Stability "
            f"costs a median of {statistics.median(gaps) if gaps else 0:.0f} members placed "
            "(optimal − stable) and moves members down their lists; the price of the optimal mode "
            "is the blocking pairs in its row. Every answer passed the independent verifier "
            f"({violations} violations) with its objective recomputed. Peak MiB is the benchmark "
            "process's peak resident memory (generation, both modes, verification).",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run every seed in both modes; write the lines and the summary; 0 if all verified."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.longterm_posts")
    parser.add_argument("--communities", type=int, default=30)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--summary", type=Path, default=DEFAULT_SUMMARY)
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        print(f"longterm_posts: --seeds: not a list of integers: {args.seeds!r}", file=sys.stderr)
        return 2
    command = shlex.join(
        ["python", "-m", "benchmarks.longterm_posts", *(sys.argv[1:] if argv is None else argv)]
    )
    lines = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as stream:
        for seed in seeds:
            for mode in MODES:
                line = run_one(args.communities, args.members, seed, mode)
                lines.append(line)
                stream.write(json.dumps(line, ensure_ascii=False) + "\n")
                print(json.dumps(line, ensure_ascii=False), flush=True)
    args.summary.write_text(summary(lines, command), encoding="utf-8")
    return (
        0 if all(x["violations"] == 0 and x["objective_recomputed_matches"] for x in lines) else 1
    )


if __name__ == "__main__":
    sys.exit(main())
