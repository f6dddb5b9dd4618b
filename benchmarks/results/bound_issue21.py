"""The Lagrangian bound of the large batch, old relaxation against new, at equal iteration budgets
(issue 21, session of 2026-12-08).

``python benchmarks/results/bound_issue21.py OLD_BOUND_PY FAMILY SEEDS ITERATIONS`` builds each
M instance of ``benchmarks.dense.instance`` (fairness 0), the greedy plan as the step's target,
and runs :func:`matcher.dispatch.bound.lagrangian` of this checkout and of the file
``OLD_BOUND_PY`` (the module before the change, loaded beside it) for each budget of
iterations, with no clock limit: the figures do not depend on the machine's load. Each line: the
whole bound (the fixed part, pinned tasks and demands nobody can serve, plus the batch's).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time

import numpy as np

from benchmarks.dense import instance
from matcher.dispatch import bound as new_bound
from matcher.dispatch.arrays import build_arrays
from matcher.dispatch.candidates import generate_candidates
from matcher.dispatch.greedy import fill, greedy_order
from matcher.dispatch.solve import SearchSettings, pinned_plan, split_demands


def main() -> int:
    old_path, family, seeds, budgets = sys.argv[1:5]
    spec = importlib.util.spec_from_file_location("old_bound", old_path)
    assert spec is not None and spec.loader is not None
    old_bound = importlib.util.module_from_spec(spec)
    sys.modules["old_bound"] = old_bound
    spec.loader.exec_module(old_bound)
    for seed in (int(s) for s in seeds.split(",")):
        problem = instance(family, "M", seed, 0.6)
        arr = build_arrays(problem)
        cands = generate_candidates(arr)
        base = pinned_plan(arr)
        split = split_demands(arr, cands, base, SearchSettings())
        plan = base.copy()
        fill(plan, cands, greedy_order(arr, cands, split.open_demands))
        for code, module in (("old", old_bound), ("new", new_bound)):
            total = split.fixed_bound
            for demands in split.large:
                rel = module.Relaxation(arr, cands, demands, base)
                upper = plan.part_objective(demands)
                for budget in (int(b) for b in budgets.split(",")):
                    started = time.perf_counter()
                    result = module.lagrangian(
                        arr,
                        cands,
                        demands,
                        base,
                        upper=upper,
                        deadline=np.inf,
                        max_iterations=budget,
                        relaxation=rel,
                    )
                    row = {
                        "family": family,
                        "seed": seed,
                        "code": code,
                        "budget": budget,
                        "iterations": result.iterations,
                        "bound": round(total + result.bound, 1),
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
