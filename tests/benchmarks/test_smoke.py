"""Smoke test of the benchmark harness: a tiny fixed-seed district, every peer's plan verified.

Timings never gate CI: only correctness is asserted (plans verify, the LP bound lies under every
plan, Linli does no worse than the dispatcher's greedy).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.cli import main
from benchmarks.harness import RunPlan, run_child, run_instance
from benchmarks.instances import SMOKE, make_instance
from benchmarks.peers.greedy import dispatch_greedy
from benchmarks.render import render

PLAN = RunPlan(
    sizes=(SMOKE,),
    seeds=(0,),
    peers=("linli", "greedy", "mip", "lp"),
    limits=(2.0,),
    peer_limits=(2.0,),
    lp_limit_s=60.0,
)


@pytest.fixture(scope="module")
def lines() -> list[dict[str, Any]]:
    """The smoke run's result lines, measured in this process."""
    return run_instance(SMOKE, 0, PLAN, in_process=True)


def by_peer(lines: list[dict[str, Any]], peer: str) -> dict[str, Any]:
    return next(ln for ln in lines if ln["peer"] == peer)


def test_every_peer_is_measured_in_order(lines: list[dict[str, Any]]) -> None:
    """The LP bound comes first (the others may use it), then Linli, greedy and the MIP."""
    assert [(ln["peer"], ln["time_limit_s"]) for ln in lines] == [
        ("lp", 60.0),
        ("linli", 2.0),
        ("greedy", None),
        ("mip", 2.0),
    ]
    assert by_peer(lines, "lp")["status"] == "lp_optimal"


def test_every_plan_verifies(lines: list[dict[str, Any]]) -> None:
    """Each peer that made a plan made a valid one, and its objective was recomputed."""
    for ln in lines:
        if ln["peer"] == "lp":
            assert ln["objective"] is None
            continue
        assert ln["objective"] is not None, ln["peer"]
        assert ln["violations"] == 0, (ln["peer"], ln["violation_examples"])
        assert ln["valid"] is True
        assert ln["objective"] == pytest.approx(ln["reported_objective"], rel=1e-9, abs=1e-9)


def test_lp_bound_is_below_every_plan(lines: list[dict[str, Any]]) -> None:
    """No plan beats the LP relaxation, and no proven bound exceeds a verified plan."""
    lp = by_peer(lines, "lp")["peer_bound"]
    for ln in lines:
        if ln["objective"] is not None:
            assert lp <= ln["objective"] + 1e-6 * abs(ln["objective"]), ln["peer"]
        assert ln["bound_above_objective"] is False, ln["peer"]
    assert all(ln["best_bound"] >= lp for ln in lines)


def test_linli_is_no_worse_than_greedy(lines: list[dict[str, Any]]) -> None:
    """The engine at 2 s does at least as well as the dispatcher's greedy."""
    assert by_peer(lines, "linli")["objective"] <= by_peer(lines, "greedy")["objective"] + 1e-9


def test_figures_are_consistent(lines: list[dict[str, Any]]) -> None:
    """Served counts add up per priority, loads are shares of capacity, gaps use the best bound."""
    for ln in lines:
        if ln["objective"] is None:
            continue
        served = ln["served_by_priority"]
        total = ln["demands_by_priority"]
        assert sum(served.values()) == ln["served"]
        assert sum(total.values()) == SMOKE.demands
        assert all(0 <= served[p] <= total[p] for p in total)
        assert 0.0 <= ln["load_std"] <= ln["load_max"] <= 1.0 + 1e-9
        expected = (ln["objective"] - ln["best_bound"]) / max(abs(ln["best_bound"]), 1.0)
        assert ln["gap_to_best"] == pytest.approx(expected)
        assert ln["gap_to_best"] >= -1e-9


def test_greedy_is_deterministic_and_keeps_pins() -> None:
    """The same problem gives the same greedy plan; pinned tasks are kept as given."""
    problem = make_instance(SMOKE, 0)
    first, second = dispatch_greedy(problem), dispatch_greedy(problem)
    assert first == second
    pinned = {d.id: d.pinned for d in problem.demands if d.pinned is not None}
    given = {t.demand: t for t in first}
    for did, pin in pinned.items():
        assert given[did].members == pin.members
        assert given[did].start == pin.start


def test_render_writes_tables_and_plot(lines: list[dict[str, Any]], tmp_path: Path) -> None:
    """RESULTS.md has a table for the size, each peer's row, the surprises and the plot."""
    stamped = [dict(ln, finished_at="2026-01-01T00:00:00+00:00") for ln in lines]
    out, png = tmp_path / "RESULTS.md", tmp_path / "plot.png"
    text = render(stamped, out, png)
    assert out.read_text(encoding="utf-8") == text
    assert "## smoke: 60 members, 150 demands" in text
    for peer in ("| lp |", "| linli | 2 |", "| greedy |", "| mip | 2 |"):
        assert peer in text
    if png.exists():  # matplotlib is a dev dependency; the tables do not need it
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_command_reads_jsonl(lines: list[dict[str, Any]], tmp_path: Path) -> None:
    """``python -m benchmarks render --in FILE`` renders what ``run`` appends."""
    src = tmp_path / "r.jsonl"
    src.write_text("".join(json.dumps(ln) + "\n" for ln in lines), encoding="utf-8")
    out = tmp_path / "R.md"
    code = main(["render", "--in", str(src), "--out", str(out), "--plot", str(tmp_path / "p.png")])
    assert code == 0
    assert "smoke" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--sizes", "XXL"],
        ["run", "--peers", "linli,timefold"],
        ["run", "--limits", "0"],
        ["one", "--size", "S", "--peer", "nobody"],
        ["run", "--memory-cap-gib", "-1"],
        ["render", "--in", "/nonexistent.jsonl"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad argument is one line on stderr and exit code 2, never a traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m benchmarks: error:")


def test_a_child_above_the_memory_cap_is_ended_and_reported() -> None:
    """A measurement whose resident memory passes the cap ends as a ``memory`` line, not a hang."""
    line = run_child(SMOKE, 0, "linli", 5.0, None, memory_cap_mib=1.0)
    assert line["status"] == "memory"
    assert line["objective"] is None and line["valid"] is None
    assert "cap of 1 MiB" in line["error"] and line["peak_mib"] > 1.0
