"""Old and new engine side by side, one instance at a time (issue 21, session of 2026-12-08).

``python benchmarks/results/side_by_side_issue21.py OLD_TREE FAMILY SIZE SEEDS LIMIT`` solves each
instance of ``benchmarks.dense.instance`` (fairness 0) once with the code exported to
``OLD_TREE`` (``git archive <commit> matcher benchmarks``) and once with this checkout, one after
the other in fresh subprocesses with one worker and the same seed; each side recomputes the
objective and runs its own verifier. One JSON line per solve on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ONE = """
import json, os, sys, time
from benchmarks.dense import instance
from matcher.dispatch.solve import solve
from matcher.dispatch.verify import recompute_objective, verify
family, size, seed, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
problem = instance(family, size, seed, 0.6)
t, c = time.perf_counter(), time.process_time()
answer = solve(problem, time_limit_s=limit, workers=1, seed=seed)
wall, cpu = time.perf_counter() - t, time.process_time() - c
violations = verify(problem, answer)
print(json.dumps({
    "objective": round(recompute_objective(problem, answer), 3),
    "bound": round(answer.bound, 3),
    "served": len(answer.assignments),
    "violations": len(violations),
    "method": answer.stats.method,
    "neighbourhoods": answer.stats.neighbourhoods,
    "wall_s": round(wall, 2),
    "process_s": round(cpu, 2),
    "load_1min": round(os.getloadavg()[0], 2),
}))
"""


def main() -> int:
    old_tree, family, size, seeds, limit = sys.argv[1:6]
    for seed in seeds.split(","):
        for code, tree in (("old", old_tree), ("new", str(REPO))):
            env = dict(os.environ, PYTHONPATH=tree)
            out = subprocess.run(
                [sys.executable, "-c", ONE, family, size, seed, limit],
                cwd=tree, env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            row = {"family": family, "size": size, "seed": int(seed), "limit_s": float(limit)}
            row |= {"code": code} | json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
