"""One large solve against the number of workers: the neighbourhood search fanned out.

The district (``--size``, ``--seed``) is built, its candidates generated and the greedy plan
made once, in this process (that part is serial whatever the cluster). Then the neighbourhood
search runs from that plan with a fixed budget of ``--rounds`` neighbourhoods in batches of
``--batch`` (:func:`matcher.dispatch.lns.improve_batched`), once per executor:

* ``sequential``: the one-process search of the default solve
(:func:`matcher.dispatch.lns.improve`),
  the same budget, for reference;
* ``inline``: the batched search with every sub-model solved in this process;
* ``pool-N``: a spawn-context process pool of N processes;
* ``dask-N``: a local ``dask scheduler`` and ``linli worker --nworkers N`` (single-threaded
  worker processes, started and stopped by :func:`benchmarks.scaleout.dask_cluster`).

Each run's plan is turned into the contract's answer and checked by
:func:`matcher.dispatch.verify.verify`;
the batched runs must all give the same objective (the search depends on the seed only).
Writes ``benchmarks/results/fanout.jsonl`` (one line per run) and ``fanout.md``::

    python -m benchmarks.fanout [--size L] [--seed 0] [--rounds 400] [--batch 8]
        [--executors sequential inline pool-1 pool-2 pool-4 dask-1 dask-2 dask-4]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.instances import make_instance, size_named
from benchmarks.measure import peak_rss_mib
from benchmarks.provenance import cpu_model, git_sha
from matcher.dispatch.arrays import build_arrays
from matcher.dispatch.candidates import generate_candidates, shortlist
from matcher.dispatch.greedy import fill, greedy_order
from matcher.dispatch.lns import improve, improve_batched
from matcher.dispatch.solve import make_answer, pinned_plan
from matcher.dispatch.verify import verify

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_EXECUTORS = ("sequential", "inline", "pool-1", "pool-2", "pool-4", "dask-1", "dask-2")
SUB_LIMIT_S = 3.0  # per sub-model, as the one-worker solve


@contextmanager
def executor_named(name: str) -> Iterator[Executor | None]:
    """The executor a run name stands for (None: sub-models solved in this process)."""
    if name in ("sequential", "inline"):
        yield None
        return
    kind, _, count = name.partition("-")
    workers = int(count)
    if kind == "pool":
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(int).result()  # start a process before the clock runs
            yield pool
        return
    if kind == "dask":
        from distributed import Client

        from benchmarks.scaleout import dask_cluster

        with (
            tempfile.TemporaryDirectory(prefix="linli-fanout-") as folder,
            dask_cluster(workers, Path(folder)) as url,
            Client("tcp://" + url.removeprefix("dask://"), set_as_default=False) as client,
        ):
            yield client.get_executor(pure=False)
        return
    raise ValueError(f"unknown executor {name!r}: sequential, inline, pool-N or dask-N")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every run of one invocation, as JSON-ready rows."""
    size = size_named(args.size)
    problem = make_instance(size, args.seed)
    t0 = time.perf_counter()
    arr = build_arrays(problem)
    cands = generate_candidates(arr)
    search = shortlist(arr, cands)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    start = pinned_plan(arr)
    fill(start, cands, greedy_order(arr, cands, np.flatnonzero(~arr.d_pinned)))
    greedy_s = time.perf_counter() - t0
    greedy_obj = start.objective()
    print(f"built in {build_s:.1f} s, greedy in {greedy_s:.1f} s: {greedy_obj:.1f}", flush=True)
    rows = []
    for name in args.executors:
        with executor_named(name) as executor:
            t0 = time.perf_counter()
            common = dict(
                deadline=time.perf_counter() + args.max_search_s,
                seed=args.seed,
                stop=lambda: False,
                max_rounds=args.rounds,
                sub_limit_s=SUB_LIMIT_S,
            )
            if name == "sequential":
                plan, objective, moves, hoods = improve(arr, cands, search, start, **common)
            else:
                plan, objective, moves, hoods = improve_batched(
                    arr, cands, search, start, batch=args.batch, executor=executor, **common
                )
            search_s = time.perf_counter() - t0
        answer = make_answer(arr, cands, plan, objective, 0.0, 1.0)
        violations = verify(problem, answer)
        row = {
            "size": size.name,
            "seed": args.seed,
            "executor": name,
            "batch": None if name == "sequential" else args.batch,
            "rounds": args.rounds,
            "neighbourhoods": hoods,
            "moves": moves,
            "objective": round(objective, 4),
            "greedy_objective": round(greedy_obj, 4),
            "build_s": round(build_s, 2),
            "greedy_s": round(greedy_s, 2),
            "search_s": round(search_s, 2),
            "verified": not violations,
            "peak_mib": round(peak_rss_mib(), 1),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]], command: str) -> str:
    """The markdown section of these runs."""
    first = rows[0]
    inline = next((r for r in rows if r["executor"] == "inline"), None)
    batched = {r["objective"] for r in rows if r["executor"] != "sequential"}
    lines = [
        "## Fan-out: one large solve against the number of workers",
        "",
        f"District {first['size']} seed {first['seed']}: built (arrays, candidates, shortlist) in "
        f"{first['build_s']} s and the greedy plan made in {first['greedy_s']} s, serially, once. "
        f"Then {first['rounds']} neighbourhoods are re-solved from the greedy plan "
        f"({first['greedy_objective']:.1f}) by each executor; batches of {args_batch(rows)} "
        "disjoint neighbourhoods.",
        "",
        "| executor | neighbourhoods | moves | objective | search s | speed-up vs inline "
        "| verified |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        speed = (
            f"{inline['search_s'] / r['search_s']:.2f}x"
            if inline and r["search_s"] > 0 and r["executor"] != "sequential"
            else "–"
        )
        lines.append(
            f"| {r['executor']} | {r['neighbourhoods']} | {r['moves']} | {r['objective']:.1f} "
            f"| {r['search_s']:.1f} | {speed} | {'yes' if r['verified'] else '**no**'} |"
        )
    same = "the same objective" if len(batched) == 1 else f"{len(batched)} different objectives"
    lines += [
        "",
        f"Every batched run ({', '.join(r['executor'] for r in rows if r['batch'])}) gave {same}.",
        "",
        f"Command: `{command}`. Machine: {platform.platform()}, {cpu_model()}, "
        f"{multiprocessing.cpu_count()} cores, Python {platform.python_version()}. "
        f"Git commit `{git_sha()}`.",
        "",
    ]
    return "\n".join(lines)


def args_batch(rows: list[dict[str, Any]]) -> str:
    sizes = sorted({str(r["batch"]) for r in rows if r["batch"]})
    return "/".join(sizes) or "–"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout", description=__doc__)
    parser.add_argument("--size", default="L")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=400, help="neighbourhoods per run")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-search-s", type=float, default=1800.0)
    parser.add_argument("--executors", nargs="+", default=list(DEFAULT_EXECUTORS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "fanout.jsonl").open("a") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    command = "python -m benchmarks.fanout " + " ".join(argv if argv is not None else sys.argv[1:])
    (args.out / "fanout.md").write_text(render(rows, command.strip()))
    print(f"search seconds, median: {statistics.median(r['search_s'] for r in rows):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
