"""The run: every peer on every instance, one after another, each in a fresh process.

Per instance the peers run in the order of :data:`benchmarks.peers.PEERS` (the LP bound first,
so that the peers that prove no bound can write it into their answers), never two at once. Each
measurement is a child ``python -m benchmarks one ...`` whose peak memory is its own; it prints
its result line, which the run completes with the instance's best bound and the gap to it, and
with where and how it was measured.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.instances import Size
from benchmarks.measure import measure
from benchmarks.peers import PEERS, TIMED_PEERS
from benchmarks.provenance import REPO

BOUND_PEERS = ("lp", "linli", "mip", "cpsat")
"""Peers whose own bound is a proven lower bound on the whole problem's objective."""


@dataclass(frozen=True)
class RunPlan:
    """What a run measures: which peers, at which limits, on which instances."""

    sizes: tuple[Size, ...]
    seeds: tuple[int, ...]
    peers: tuple[str, ...]
    limits: tuple[float, ...]  # Linli's time limits
    peer_limits: tuple[float, ...]  # limits for the plain CP-SAT and MIP models
    lp_limit_s: float = 900.0
    memory_cap_mib: float | None = None  # a child above this resident size is ended

    def steps(self) -> list[tuple[str, float | None]]:
        """(peer, limit) pairs for one instance, in measuring order."""
        out: list[tuple[str, float | None]] = []
        for peer in PEERS:
            if peer not in self.peers:
                continue
            if peer == "linli":
                out.extend((peer, t) for t in self.limits)
            elif peer in TIMED_PEERS:
                out.extend((peer, t) for t in self.peer_limits)
            elif peer == "lp":
                out.append((peer, self.lp_limit_s))
            else:
                out.append((peer, None))
        return out


def _child_timeout(peer: str, limit: float | None, size: Size) -> float:
    """Generous wall-clock limit for one child: its time limit plus room to build and verify."""
    work = size.members + size.demands
    return 3.0 * (limit or 0.0) + 120.0 + work * 0.03


def run_child(
    size: Size,
    seed: int,
    peer: str,
    limit: float | None,
    known_bound: float | None,
    *,
    memory_cap_mib: float | None = None,
) -> dict[str, Any]:
    """``python -m benchmarks one ...`` in a fresh process; its result line (or a failure line).

    With ``memory_cap_mib``, a child whose resident memory grows above it is ended and the line
    says ``memory`` (a plain model that cannot fit the machine, reported, not swapped to death).
    """
    cmd = [
        sys.executable, "-m", "benchmarks", "one",
        "--size", size.name, "--seed", str(seed), "--peer", peer,
    ]  # fmt: skip
    if limit is not None:
        cmd += ["--limit", repr(float(limit))]
    if known_bound is not None:
        cmd += ["--bound", repr(float(known_bound))]
    t0 = time.perf_counter()
    timeout_s = _child_timeout(peer, limit, size)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err, text=True)
        peak_mib = 0.0
        ended: str | None = None
        while proc.poll() is None:
            peak_mib = max(peak_mib, _rss_mib(proc.pid))
            if memory_cap_mib is not None and peak_mib > memory_cap_mib:
                ended = "memory"
            elif time.perf_counter() - t0 > timeout_s:
                ended = "timeout"
            if ended:
                proc.kill()
                proc.wait()
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if ended == "timeout":
        detail = f"no answer within {timeout_s:g} s (time limit {limit} s); the process was ended"
        return _failure(size, seed, peer, limit, "timeout", detail, elapsed)
    if ended == "memory":
        detail = (
            f"resident memory passed the cap of {memory_cap_mib:g} MiB "
            f"after {elapsed:.0f} s; the process was ended"
        )
        line = _failure(size, seed, peer, limit, "memory", detail, elapsed)
        line["peak_mib"] = round(peak_mib, 1)
        return line
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (stderr or stdout).strip().splitlines()[-5:]
        return _failure(size, seed, peer, limit, "error", "\n".join(tail), elapsed)
    line = json.loads(lines[-1])
    line["process_s"] = round(elapsed, 3)
    return line


def _rss_mib(pid: int) -> float:
    """Resident memory of a running process (Linux ``/proc``; 0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for row in status:
                if row.startswith("VmRSS:"):
                    return int(row.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _failure(
    size: Size, seed: int, peer: str, limit: float | None, status: str, detail: str, s: float
) -> dict[str, Any]:
    return {
        "size": size.name, "members": size.members, "demands": size.demands, "seed": seed,
        "peer": peer, "time_limit_s": limit, "status": status, "objective": None,
        "peer_bound": None, "violations": None, "valid": None, "error": detail,
        "process_s": round(s, 3),
    }  # fmt: skip


def _proven(line: dict[str, Any]) -> float | None:
    b = line.get("peer_bound")
    if line["peer"] in BOUND_PEERS and isinstance(b, int | float) and math.isfinite(b):
        return float(b)
    return None


def finish_instance(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the instance's best bound, where it came from, and each objective's gap to it.

    The best bound is the largest proven lower bound any peer reported (the LP relaxation,
    Linli's, the MIP's and CP-SAT's dual bounds). ``gap_to_best`` is how far above it an
    objective lies, as a share of it: ``(objective - best) / max(|best|, 1)``.
    A bound above a verified objective is a contradiction and is flagged, never hidden.
    """
    proven = [
        (b, ln["peer"], ln.get("time_limit_s")) for ln in lines if (b := _proven(ln)) is not None
    ]
    best = max(proven, default=None, key=lambda t: t[0])
    lp = next((_proven(ln) for ln in lines if ln["peer"] == "lp"), None)
    objectives = [ln["objective"] for ln in lines if ln.get("valid") and ln.get("objective")]
    best_obj = min(objectives, default=None)
    for ln in lines:
        ln["lp_bound"] = lp
        ln["best_bound"] = None if best is None else best[0]
        ln["best_bound_from"] = None if best is None else f"{best[1]}@{best[2]}"
        ln["best_objective"] = best_obj
        obj = ln.get("objective")
        if best is None or obj is None:
            ln["gap_to_best"] = None
            ln["gap_to_lp"] = None
        else:
            ln["gap_to_best"] = (obj - best[0]) / max(abs(best[0]), 1.0)
            ln["gap_to_lp"] = None if lp is None else (obj - lp) / max(abs(lp), 1.0)
        b = _proven(ln)
        tol = 1e-6 * max(1.0, abs(best_obj or 0.0))
        above = b is not None and best_obj is not None and b > best_obj + tol
        ln["bound_above_objective"] = bool(above)
    return lines


def run_instance(
    size: Size,
    seed: int,
    plan: RunPlan,
    *,
    in_process: bool = False,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Measure every step of ``plan`` on one instance; the finished result lines."""
    lines: list[dict[str, Any]] = []
    known: float | None = None
    for peer, limit in plan.steps():
        if in_process:
            line = measure(size, seed, peer, limit, known_bound=known)
        else:
            line = run_child(size, seed, peer, limit, known, memory_cap_mib=plan.memory_cap_mib)
        if peer == "lp":
            known = _proven(line)
        lines.append(line)
        if report is not None:
            report(line)
    return finish_instance(lines)


def run(
    plan: RunPlan,
    out: Path,
    provenance: dict[str, Any],
    *,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Measure the whole plan, appending each finished instance's lines to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    written: list[dict[str, Any]] = []
    for size in plan.sizes:
        for seed in plan.seeds:
            lines = run_instance(size, seed, plan, report=report)
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            with out.open("a", encoding="utf-8") as f:
                for ln in lines:
                    ln.update(run_id=run_id, finished_at=stamp, **provenance)
                    f.write(json.dumps(ln, sort_keys=True) + "\n")
            written.extend(lines)
    return written


def parse_list(text: str, kind: Callable[[str], Any]) -> tuple[Any, ...]:
    """``"10,30,60"`` → ``(10.0, 30.0, 60.0)`` (with ``kind=float``)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(f"empty list {text!r}")
    return tuple(kind(t) for t in items)


def read_lines(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every result line of these JSON-lines files."""
    found: list[dict[str, Any]] = []
    for path in paths:
        with Path(path).open(encoding="utf-8") as f:
            found.extend(json.loads(ln) for ln in f if ln.strip())
    return found


def latest(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest line per (size, seed, peer, limit): a rerun replaces what it measured again."""
    keep: dict[tuple[Any, ...], dict[str, Any]] = {}
    for ln in lines:
        key = (ln["size"], ln["seed"], ln["peer"], ln.get("time_limit_s"))
        old = keep.get(key)
        if old is None or str(ln.get("finished_at", "")) >= str(old.get("finished_at", "")):
            keep[key] = ln
    return list(keep.values())
