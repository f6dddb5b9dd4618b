"""Dense districts: the engine where member hours bind, before and after issue 21's changes.

``python -m benchmarks.dense --sizes M --seeds 0,1,2 --limits 10 --variants before,keep,priced``
solves each instance once per variant (one after another, in this process, the same seed), every
answer checked by the independent verifier, the objective recomputed from the contract with
``options.weights.fairness = 0`` (the contract's objective). It appends one JSON line per
solve to ``results/dense.jsonl`` and writes the Markdown section ``results/dense.md``.

Families:

- ``generator``: :func:`matcher.dispatch.generate.generate_district` as it is (at M about 86
  candidates per demand; member hours bind for the urgent evening demands);
- ``dense``: the same district with every member's ``capacity_hours`` scaled by
  ``--capacity-share`` (default 0.6, on the half-hour grid, never below the member's pinned
  hours): demanded hours well above what is offered, tens of candidates per demand, the kind of
  district where the search must trade members between demands.

Variants (:data:`VARIANTS`): ``before`` (the search on the 10 cheapest members, no prices:
what the engine did before issue 21), ``keep`` (sub-models also hold each freed demand's
current members) and ``priced`` (that and the Lagrangian heuristic; today's default).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.instances import size_named
from benchmarks.provenance import REPO
from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import SearchSettings, solve
from matcher.dispatch.verify import recompute_objective, verify

VARIANTS: dict[str, SearchSettings] = {
    "before": SearchSettings(keep_current=False, pricing_share=0.0),
    "keep": SearchSettings(pricing_share=0.0),
    "priced": SearchSettings(),
}
"""The engine's settings compared, by name."""

FAMILIES = ("generator", "dense")
OUT = REPO / "benchmarks" / "results"


def dense_district(members: int, demands: int, seed: int, *, capacity_share: float) -> Problem:
    """The generator's district with every member's hours scaled by ``capacity_share``."""
    problem = generate_district(members=members, demands=demands, seed=seed)
    pinned_h: dict[str, float] = {}
    for d in problem.demands:
        if d.pinned is not None:
            for m in d.pinned.members:
                pinned_h[m] = pinned_h.get(m, 0.0) + d.duration_hours
    scaled = tuple(
        replace(
            m,
            capacity_hours=max(
                pinned_h.get(m.id, 0.0), math.floor(2 * m.capacity_hours * capacity_share) / 2
            ),
        )
        for m in problem.members
    )
    return problem.replace(members=scaled)


def instance(family: str, size: str, seed: int, capacity_share: float) -> Problem:
    """The instance of a family, size and seed, with fairness off."""
    s = size_named(size)
    if family == "generator":
        problem = generate_district(members=s.members, demands=s.demands, seed=seed)
    elif family == "dense":
        problem = dense_district(s.members, s.demands, seed, capacity_share=capacity_share)
    else:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    weights = replace(problem.options.weights, fairness=0.0)
    return problem.replace(options=replace(problem.options, weights=weights))


def measure(
    problem: Problem, variant: str, *, limit_s: float, workers: int, seed: int
) -> dict[str, Any]:
    """One verified solve: objective (recomputed), bound, wall and process time, search stats."""
    settings = VARIANTS[variant]
    started, cpu = time.perf_counter(), time.process_time()
    answer = solve(problem, time_limit_s=limit_s, workers=workers, seed=seed, settings=settings)
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    violations = verify(problem, answer)
    stats = answer.stats
    return {
        "variant": variant,
        "objective": round(recompute_objective(problem, answer), 3),
        "bound": round(answer.bound, 3),
        "gap": round(answer.gap, 5),
        "valid": not violations,
        "violations": len(violations),
        "served": len(answer.assignments),
        "unassigned": len(answer.unassigned),
        "greedy_objective": stats.greedy_objective,
        "method": stats.method,
        "neighbourhoods": stats.neighbourhoods,
        "moves": stats.moves,
        "wall_s": round(wall_s, 3),
        "process_s": round(cpu_s, 3),
        "load_1min": round(os.getloadavg()[0], 2),
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    """The section of ``RESULTS.md``: one row per instance, limit and workers; one column per
    variant (objective, and the engine's own bound of the last variant)."""
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in rows)]
    keys = sorted(
        {
            (
                str(r["family"]),
                str(r["size"]),
                int(r["seed"]),
                float(r["limit_s"]),
                int(r["workers"]),
            )
            for r in rows
        }
    )
    out = [
        "## Dense districts (issue 21): before and after, fairness 0",
        "",
        "`python -m benchmarks.dense` (`benchmarks/dense.py`): each instance solved once per "
        "variant, one after another, same seed; every answer verified; objective recomputed "
        "with `fairness = 0`. `before`: the search on each demand's 10 cheapest members, no "
        "prices; `keep`: sub-models hold the freed demands' current members; `priced`: that and "
        "the Lagrangian heuristic (the default). The machine (2 cores) was shared with other "
        "engineers' test runs: `load` is the 1-minute load average during the row's solves, "
        "`cpu` the process time of the last variant.",
        "",
        "| family | size | seed | limit s | workers | "
        + " | ".join(variants)
        + " | bound | cpu s | load |",
        "|---|---|---|---|---|" + "---|" * len(variants) + "---|---|---|",
    ]
    for key in keys:
        group = {str(r["variant"]): r for r in rows if _key(r) == key}
        cells = [f"{group[v]['objective']:,.0f}" if v in group else "" for v in variants]
        last = group[variants[-1]] if variants[-1] in group else next(iter(group.values()))
        load = max(float(r["load_1min"]) for r in group.values())
        out.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {key[3]:g} | {key[4]} | "
            + " | ".join(cells)
            + f" | {float(last['bound']):,.0f} | {last['process_s']} | {load:.1f} |"
        )
    return "\n".join(out) + "\n"


def _key(r: dict[str, Any]) -> tuple[str, str, int, float, int]:
    return (
        str(r["family"]),
        str(r["size"]),
        int(r["seed"]),
        float(r["limit_s"]),
        int(r["workers"]),
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.dense", description=__doc__.split("\n")[0]
    )
    p.add_argument("--families", default="generator,dense")
    p.add_argument("--sizes", default="M")
    p.add_argument("--seeds", default="0")
    p.add_argument("--limits", default="10")
    p.add_argument("--workers", default="1", help="comma-separated worker counts (0: all cores)")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--capacity-share", type=float, default=0.6)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    variants = args.variants.split(",")
    for v in variants:
        if v not in VARIANTS:
            p.error(f"unknown variant {v!r}; choose from {', '.join(VARIANTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    lines = args.out / "dense.jsonl"
    for family in args.families.split(","):
        for size in args.sizes.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                problem = instance(family, size, seed, args.capacity_share)
                for limit in (float(x) for x in args.limits.split(",")):
                    for workers in (int(w) for w in args.workers.split(",")):
                        for variant in variants:
                            row = {
                                "family": family,
                                "size": size,
                                "seed": seed,
                                "limit_s": limit,
                                "workers": workers,
                            }
                            row |= measure(
                                problem, variant, limit_s=limit, workers=workers, seed=seed
                            )
                            print(json.dumps(row), flush=True)
                            with lines.open("a", encoding="utf-8") as f:
                                f.write(json.dumps(row) + "\n")
    rows = [json.loads(x) for x in lines.read_text(encoding="utf-8").splitlines() if x.strip()]
    (args.out / "dense.md").write_text(markdown(rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
