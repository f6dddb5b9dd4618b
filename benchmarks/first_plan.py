"""Time to a first feasible plan against the number of candidate pairs.

The issue's target: the time to a first feasible plan grows no faster than n log n in the number
of candidate pairs n. For districts from 200 to ``--max-members`` members (demands 2.5 per
member, the ratio of sizes S and M), each in a fresh process, the engine's own solve runs until
its first plan (the greedy one, which every answer is at least as good as) and is stopped
there: the time of its ``greedy`` progress event, from the start of the call, is the time to
a first plan (arrays, candidates, shortlist and greedy construction). The first plan is checked
with the independent verifier.

The growth is fitted on a log-log scale: the slope of log(time) against log(pairs), and the
same slope for n log n over the same pairs (about 1.05-1.1 here). Writes
``benchmarks/results/first_plan.jsonl`` and ``first_plan.md``::

    python -m benchmarks.first_plan [--max-members 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.provenance import cpu_model, git_sha

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MEMBER_STEPS = (200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
DEMANDS_PER_MEMBER = 2.5


def first_plan(members: int, seed: int) -> dict[str, Any]:
    """One district's time to its first plan (run in a child process)."""
    import time

    from matcher.dispatch.answer import Answer
    from matcher.dispatch.generate import generate_district
    from matcher.dispatch.solve import Progress, solve
    from matcher.dispatch.verify import verify

    demands = int(members * DEMANDS_PER_MEMBER)
    problem = generate_district(members=members, demands=demands, seed=seed)
    seen: dict[str, Any] = {}

    def progress(event: Progress) -> None:
        if event.phase == "candidates":
            seen["pairs"] = int(event.message.split()[0])
        if event.phase == "greedy" and "greedy_s" not in seen:
            seen["greedy_s"] = event.elapsed_s
            seen["objective"] = event.objective

    started = time.perf_counter()
    answer: Answer = solve(
        problem, time_limit_s=3600, seed=seed, workers=1, progress=progress,
        stop=lambda: "greedy_s" in seen,
    )  # fmt: skip
    total_s = time.perf_counter() - started
    violations = verify(problem, answer)
    return {
        "members": members,
        "demands": demands,
        "seed": seed,
        "pairs": seen["pairs"],
        "first_plan_s": round(seen["greedy_s"], 3),
        "call_s": round(total_s, 3),
        "objective": round(float(seen["objective"]), 4),
        "verified": not violations,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) against log(x)."""
    fit = np.polyfit(np.log(np.asarray(xs)), np.log(np.asarray(ys)), 1)
    return float(fit[0])


def render(rows: list[dict[str, Any]], command: str) -> str:
    """The markdown section: medians per size, the fitted growth and the verdict."""
    by_size: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_size.setdefault(row["members"], []).append(row)
    sizes = sorted(by_size)
    pairs = [statistics.median(r["pairs"] for r in by_size[m]) for m in sizes]
    times = [statistics.median(r["first_plan_s"] for r in by_size[m]) for m in sizes]
    lines = [
        "## Time to a first feasible plan",
        "",
        "The engine's solve stopped at its first plan (the greedy one); the time from the start "
        "of the call. Medians over repeats; every first plan verified.",
        "",
        "| members | demands | candidate pairs | first plan s | µs per pair | runs | verified |",
        "|---|---|---|---|---|---|---|",
    ]
    for m, n, t in zip(sizes, pairs, times, strict=True):
        runs = by_size[m]
        ok = all(r["verified"] for r in runs)
        lines.append(
            f"| {m:,} | {runs[0]['demands']:,} | {int(n):,} | {t:.2f} | {1e6 * t / n:.2f} "
            f"| {len(runs)} | {'yes' if ok else '**no**'} |"
        )
    big = [(n, t) for n, t in zip(pairs, times, strict=True) if t >= 0.5]
    if len(big) >= 2:
        xs, ys = [n for n, _ in big], [t for _, t in big]
        measured = slope(xs, ys)
        nlogn = slope(xs, [n * math.log(n) for n in xs])
        verdict = "met" if measured <= nlogn + 0.05 else "**not met**"
        lines += [
            "",
            f"Fitted growth over the runs of at least 0.5 s ({len(big)} sizes, "
            f"{int(xs[0]):,}–{int(xs[-1]):,} pairs): time ∝ pairs^{measured:.2f}; "
            f"n log n over the same pairs grows as pairs^{nlogn:.2f}. Target "
            f"(no faster than n log n, 0.05 of slack for noise): {verdict}.",
        ]
    lines += [
        "",
        f"Command: `{command}`. Machine: {platform.platform()}, {cpu_model()}, "
        f"Python {platform.python_version()}. Git commit `{git_sha()}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.first_plan", description=__doc__)
    parser.add_argument("--max-members", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(first_plan(*args.child)))
        return 0
    rows = []
    for members in (m for m in MEMBER_STEPS if m <= args.max_members):
        repeats = args.repeats if members <= 10000 else 1
        for seed in range(repeats):
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.first_plan", "--child", str(members), str(seed)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)
            rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "first_plan.jsonl").open("a") as out_file:
        for row in rows:
            out_file.write(json.dumps(row) + "\n")
    shown = argv if argv is not None else sys.argv[1:]
    command = ("python -m benchmarks.first_plan " + " ".join(shown)).strip()
    (args.out / "first_plan.md").write_text(render(rows, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
