"""The Solomon VRPTW benchmark: parser, independent checker, Linli's routing interface, command.

Only correctness is asserted, plus one quality bar that PyVRP clears with a wide margin (C101
within 2% of its proven optimum in 2 s); timings never gate CI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.solomon import (
    CONVENTION,
    DATA_DIR,
    Instance,
    arc_tenths,
    check_plan,
    distance_matrix_tenths,
    family_of,
    parse_instance,
    read_bks,
    solve_linli,
)
from tests.benchmarks.data import _missing_benchdata, require  # noqa: F401

C101 = DATA_DIR / "C101.txt"
C101_OPTIMUM = 827.3

pytestmark = require(C101, "Solomon data")


@pytest.fixture(scope="module")
def c101() -> Instance:
    return parse_instance(C101)


def greedy_routes(instance: Instance) -> list[list[int]]:
    """A trivially feasible plan for C101: one route per customer (if K allowed it)."""
    return [[c] for c in range(1, instance.n_customers + 1)]


def test_parser_reads_c101(c101: Instance) -> None:
    assert c101.name == "C101"
    assert c101.family == "C1"
    assert c101.n_customers == 100
    assert c101.capacity == 200
    assert c101.max_vehicles == 25
    depot, first, last = c101.nodes[0], c101.nodes[1], c101.nodes[100]
    assert (depot.x, depot.y, depot.demand, depot.ready, depot.due) == (40, 50, 0, 0, 1236)
    assert (first.x, first.y, first.demand, first.ready, first.due, first.service) == (
        45, 68, 10, 912, 967, 90,
    )  # fmt: skip
    assert (last.idx, last.x, last.y) == (100, 55, 85)


def test_family_names() -> None:
    assert [family_of(n) for n in ("R101", "RC108", "C205")] == ["R1", "RC1", "C2"]


def test_truncated_distances_are_exact_tenths(c101: Instance) -> None:
    """floor(10·d) per arc; the matrix and the checker's per-arc function agree everywhere."""
    matrix = distance_matrix_tenths(c101)
    assert matrix[0, 1] == 186  # sqrt(5² + 18²) = 18.68… → 18.6
    assert matrix[1, 2] == 20  # exactly 2.0: no float rounding down to 1.9
    n = len(c101.nodes)
    assert all(
        matrix[i, j] == arc_tenths(c101.nodes[i], c101.nodes[j]) for i in range(n) for j in range(n)
    )


def test_bks_reads_the_trunc1_optima() -> None:
    bks = read_bks(DATA_DIR / "bks.csv", CONVENTION)
    assert bks["C101"] == C101_OPTIMUM
    assert bks["R101"] == 1637.7
    assert len(bks) == 29


@pytest.fixture(scope="module")
def linli_c101(c101: Instance) -> list[list[int]]:
    plan = solve_linli(c101, time_limit_s=2.0, seed=0)
    return [list(r) for r in plan.routes]


def test_linli_plan_for_c101_is_checked_feasible_and_near_optimal(
    c101: Instance, linli_c101: list[list[int]]
) -> None:
    check = check_plan(c101, linli_c101)
    assert check.feasible, check.violations
    assert check.distance_tenths / 10 <= 1.02 * C101_OPTIMUM
    assert check.vehicles <= c101.max_vehicles


def test_checker_rejects_a_missing_customer(c101: Instance, linli_c101: list[list[int]]) -> None:
    routes = [list(r) for r in linli_c101]
    dropped = routes[0].pop()
    check = check_plan(c101, routes)
    assert not check.feasible
    assert any("not visited" in v and str(dropped) in v for v in check.violations)


def test_checker_rejects_a_customer_visited_twice(
    c101: Instance, linli_c101: list[list[int]]
) -> None:
    routes = [*linli_c101, [linli_c101[0][0]]]
    assert any("more than once" in v for v in check_plan(c101, routes).violations)


def test_checker_rejects_a_violated_window(c101: Instance, linli_c101: list[list[int]]) -> None:
    """Reversing a C101 route (tight windows) makes service start after a due date."""
    routes = [list(reversed(r)) if k == 0 else list(r) for k, r in enumerate(linli_c101)]
    check = check_plan(c101, routes)
    assert not check.feasible
    assert any("> due" in v for v in check.violations)


def test_checker_rejects_exceeded_capacity(c101: Instance, linli_c101: list[list[int]]) -> None:
    """Linli's two heaviest routes merged into one carry more than Q = 200."""
    heaviest = sorted(linli_c101, key=lambda r: -sum(c101.nodes[c].demand for c in r))
    first, second, *rest = heaviest
    load = sum(c101.nodes[c].demand for c in (*first, *second))
    assert load > c101.capacity
    check = check_plan(c101, [first + second, *rest])
    assert any(f"load {load} > capacity 200" in v for v in check.violations)


def test_checker_rejects_too_many_routes(c101: Instance) -> None:
    check = check_plan(c101, greedy_routes(c101))
    assert any("vehicles" in v for v in check.violations)


def test_command_prints_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "solomon.jsonl"
    code = main(
        ["solomon", str(C101), "--time-limit", "1", "--peers", "linli", "--out", str(out), "--json"]
    )
    assert code == 0
    printed = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [ln["peer"] for ln in printed] == ["linli"]
    line = printed[0]
    assert line["instance"] == "C101" and line["family"] == "C1"
    assert line["feasible"] is True and line["bks"] == C101_OPTIMUM
    assert line["gap_pct"] == pytest.approx(100 * (line["distance"] - C101_OPTIMUM) / C101_OPTIMUM)
    assert set(line) >= {"distance", "vehicles", "seconds", "time_limit_s"}
    assert [json.loads(ln) for ln in out.read_text().splitlines()] == printed


@pytest.mark.parametrize(
    "argv",
    [
        ["solomon", "no/such/file.txt"],
        ["solomon", "--peers", "gurobi"],
        ["solomon", "--families", "X9"],
        ["solomon", "--time-limit", "0"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--out", str(tmp_path / "x.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m benchmarks: error:")
    assert not (tmp_path / "x.jsonl").exists()


def test_a_file_not_in_solomon_format_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "R199.txt"
    bad.write_text("R199\r\n\r\nnothing here\r\n")
    assert main(["solomon", str(bad), "--out", str(tmp_path / "x.jsonl")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
