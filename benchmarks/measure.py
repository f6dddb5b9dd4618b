"""One measurement: one peer on one instance, verified, reduced to the figures of a result line."""

from __future__ import annotations

import math
import resource
import sys
import time
from collections import Counter
from typing import Any

import numpy as np

from benchmarks.instances import Size, make_instance
from benchmarks.peers import PEERS, PeerOutcome
from benchmarks.provenance import engine_digest
from matcher.dispatch.answer import Answer
from matcher.dispatch.problem import Problem
from matcher.dispatch.validation import validate_problem
from matcher.dispatch.verify import recompute_objective, verify

PRIORITIES = (5, 4, 3, 2, 1)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def answer_figures(problem: Problem, answer: Answer) -> dict[str, Any]:
    """Served demands by priority, km travelled and load spread, read from the answer alone."""
    demands = {d.id: d for d in problem.demands}
    total = Counter(d.priority for d in problem.demands)
    served = Counter(demands[a.demand].priority for a in answer.assignments if a.demand in demands)
    hours: dict[str, float] = {}
    for a in answer.assignments:
        d = demands.get(a.demand)
        if d is None:
            continue
        for m in a.members:
            hours[m] = hours.get(m, 0.0) + d.duration_hours
    shares = np.array(
        [hours.get(m.id, 0.0) / m.capacity_hours for m in problem.members if m.capacity_hours > 0]
    )
    n_served = sum(served.values())
    return {
        "served": n_served,
        "served_pct": 100.0 * n_served / max(1, len(problem.demands)),
        "served_by_priority": {str(p): served.get(p, 0) for p in PRIORITIES},
        "demands_by_priority": {str(p): total.get(p, 0) for p in PRIORITIES},
        "total_km": float(math.fsum(k for a in answer.assignments for k in a.distance_km)),
        "load_max": float(shares.max()) if len(shares) else 0.0,
        "load_std": float(shares.std()) if len(shares) else 0.0,
    }


def measure(
    size: Size,
    seed: int,
    peer: str,
    limit: float | None,
    *,
    known_bound: float | None = None,
    fresh_process: bool = False,
) -> dict[str, Any]:
    """Run ``peer`` on the ``size``/``seed`` district and return its result line (no provenance).

    ``known_bound`` is a proven bound already measured for the instance (the LP bound); peers
    that prove none write it into their answer. ``fresh_process`` says that this process runs
    only this measurement, so its peak memory is the peer's own.
    """
    if peer not in PEERS:
        raise ValueError(f"unknown peer {peer!r}; choose from {', '.join(PEERS)}")
    problem = make_instance(size, seed)
    validate_problem(problem)
    outcome: PeerOutcome = PEERS[peer](problem, limit, seed, known_bound)
    line: dict[str, Any] = {
        "size": size.name,
        "members": size.members,
        "demands": size.demands,
        "seed": seed,
        "peer": peer,
        "time_limit_s": limit,
        "status": outcome.status,
        "objective": None,
        "peer_bound": outcome.bound,
        "build_s": round(outcome.build_s, 4),
        "solve_s": round(outcome.solve_s, 4),
        "wall_s": round(outcome.wall_s, 4),
        "violations": None,
        "violation_rules": {},
        "valid": None,
    }
    if outcome.answer is not None:
        t0 = time.perf_counter()
        found = verify(problem, outcome.answer)
        line["verify_s"] = round(time.perf_counter() - t0, 4)
        line["objective"] = recompute_objective(problem, outcome.answer)
        line["reported_objective"] = outcome.answer.objective
        line["answer_bound"] = outcome.answer.bound
        line["violations"] = len(found)
        line["violation_rules"] = dict(Counter(v.rule for v in found))
        line["violation_examples"] = [v.message for v in found[:3]]
        line["valid"] = not found
        line.update(answer_figures(problem, outcome.answer))
    line["extra"] = outcome.extra
    line["peak_mib"] = round(peak_rss_mib(), 1) if fresh_process else None
    line["engine_digest"] = engine_digest()  # the engine code this process ran
    return line
