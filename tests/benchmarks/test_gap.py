"""The GAP benchmark runner: both file formats, the checker, the command and its output.

Hand-made instances are solved to optima found here by brute force; OR-Library gap1 (when the
shared data is there) to its best-known values. Timings never gate CI.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.gap import (
    ORLIB_DIR,
    GapCheckError,
    GapFormatError,
    best_known,
    check_assignment,
    default_sense,
    parse_instances,
    read_instances,
    solve_gap,
)
from benchmarks.provenance import REPO
from tests.benchmarks.data import _missing_benchdata, require  # noqa: F401

# m=2, n=5: agent 0 is cheapest for every job but holds only three of them (use 3, capacity 9).
TINY_COST = [[1, 1, 1, 1, 1], [5, 4, 3, 6, 2]]
TINY_USE = [[3, 3, 3, 3, 3], [2, 2, 2, 2, 2]]
TINY_CAPACITY = [9, 10]
TINY_MIN = 1 + 1 + 1 + 3 + 2  # jobs 2 and 4 (cheapest moves) go to agent 1

# m=3, n=7, a little less regular
SMALL_COST = [[9, 4, 7, 3, 8, 6, 5], [6, 8, 3, 7, 4, 9, 2], [5, 5, 6, 6, 7, 3, 8]]
SMALL_USE = [[4, 6, 3, 5, 6, 4, 2], [5, 3, 6, 2, 4, 6, 5], [3, 4, 4, 6, 5, 2, 6]]
SMALL_CAPACITY = [11, 10, 9]


def tokens(cost: list[list[int]], use: list[list[int]], capacity: list[int]) -> str:
    """One problem in the OR-Library layout (without the problem count), wrapped oddly."""
    m, n = len(cost), len(cost[0])
    flat = [m, n, *[x for row in cost for x in row], *[x for row in use for x in row], *capacity]
    return "\n".join(" ".join(str(x) for x in flat[i : i + 7]) for i in range(0, len(flat), 7))


def brute_force(
    cost: list[list[int]], use: list[list[int]], capacity: list[int]
) -> tuple[int, int]:
    """(minimum, maximum) cost of a complete assignment within capacities."""
    m, n = len(cost), len(cost[0])
    best_min, best_max = None, None
    for agents in itertools.product(range(m), repeat=n):
        load = [0] * m
        for j, i in enumerate(agents):
            load[i] += use[i][j]
        if any(load[i] > capacity[i] for i in range(m)):
            continue
        total = sum(cost[i][j] for j, i in enumerate(agents))
        best_min = total if best_min is None else min(best_min, total)
        best_max = total if best_max is None else max(best_max, total)
    assert best_min is not None and best_max is not None
    return best_min, best_max


def loads_ok(cost: list[list[int]], use: list[list[int]], capacity: list[int],
             assignment: list[int]) -> int:  # fmt: skip
    """Cost of the assignment after checking it here, independently of the command's checker."""
    assert len(assignment) == len(cost[0])
    load = [0] * len(capacity)
    for j, i in enumerate(assignment):
        load[i] += use[i][j]
    assert all(load[i] <= capacity[i] for i in range(len(capacity))), load
    return sum(cost[i][j] for j, i in enumerate(assignment))


@pytest.fixture()
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(tokens(TINY_COST, TINY_USE, TINY_CAPACITY) + "\n")
    return path


@pytest.fixture()
def multi_file(tmp_path: Path) -> Path:
    path = tmp_path / "pair.txt"
    text = "2\n" + tokens(TINY_COST, TINY_USE, TINY_CAPACITY) + "\n"
    path.write_text(text + tokens(SMALL_COST, SMALL_USE, SMALL_CAPACITY) + "\n")
    return path


# --- reading -------------------------------------------------------------------------------


def test_a_yagiura_file_holds_one_problem_named_by_its_stem(tiny_file: Path) -> None:
    (inst,) = read_instances(tiny_file)
    assert (inst.name, inst.index, inst.m, inst.n) == ("tiny", 1, 2, 5)
    assert inst.cost.tolist() == TINY_COST
    assert inst.use.tolist() == TINY_USE
    assert inst.capacity.tolist() == TINY_CAPACITY


def test_an_orlib_file_holds_several_problems_named_stem_k(multi_file: Path) -> None:
    first, second = read_instances(multi_file)
    assert (first.name, first.m, first.n) == ("pair-1", 2, 5)
    assert (second.name, second.index, second.m, second.n) == ("pair-2", 2, 3, 7)
    assert second.cost.tolist() == SMALL_COST
    assert second.use.tolist() == SMALL_USE
    assert second.capacity.tolist() == SMALL_CAPACITY


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2 3 x",
        "1\n2 2\n1 1 1 1\n1 1 1 1\n5",
        "2\n" + tokens(TINY_COST, TINY_USE, TINY_CAPACITY),
    ],
)
def test_malformed_files_are_refused(text: str, tmp_path: Path) -> None:
    with pytest.raises(GapFormatError):
        parse_instances(text, tmp_path / "bad.txt")


def test_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3\n")
    for argv in (
        ["gap", str(tmp_path / "missing.txt")],
        ["gap", str(bad)],
        ["gap", str(bad), "--time-limit", "0"],
        ["gap"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("python -m benchmarks: error:"), err


# --- checking ------------------------------------------------------------------------------


def test_the_checker_recomputes_cost_and_refuses_bad_assignments(tiny_file: Path) -> None:
    (inst,) = read_instances(tiny_file)
    assert check_assignment(inst, [0, 0, 1, 0, 1]) == TINY_MIN
    with pytest.raises(GapCheckError, match="capacity"):
        check_assignment(inst, [0, 0, 0, 0, 1])  # agent 0 carries 12 > 9
    with pytest.raises(GapCheckError, match="jobs assigned"):
        check_assignment(inst, [0, 0, 1, 0])
    with pytest.raises(GapCheckError, match="agent index"):
        check_assignment(inst, [0, 0, 2, 0, 1])


# --- solving -------------------------------------------------------------------------------


def test_main_solves_the_tiny_instance_to_its_optimum(
    tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert brute_force(TINY_COST, TINY_USE, TINY_CAPACITY)[0] == TINY_MIN
    assert main(["gap", str(tiny_file), "--time-limit", "3", "--json", "--sense", "min"]) == 0
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["instance"] == "tiny" and (line["m"], line["n"]) == (2, 5)
    assert line["objective"] == TINY_MIN
    assert loads_ok(TINY_COST, TINY_USE, TINY_CAPACITY, line["assignment"]) == TINY_MIN
    assert line["objective"] - 1 < line["bound"] <= line["objective"] + 1e-6  # proved optimal


@pytest.mark.parametrize("sense", ["min", "max"])
def test_both_senses_reach_the_brute_force_optimum(multi_file: Path, sense: str) -> None:
    inst = read_instances(multi_file)[1]
    low, high = brute_force(SMALL_COST, SMALL_USE, SMALL_CAPACITY)
    result = solve_gap(inst, sense, time_limit_s=3.0)
    want = low if sense == "min" else high
    assert result.objective == want
    assert loads_ok(SMALL_COST, SMALL_USE, SMALL_CAPACITY, list(result.assignment)) == want
    if sense == "min":
        assert result.bound <= want + 1e-6
    else:
        assert result.bound >= want - 1e-6  # an upper bound when maximising


def test_the_command_in_a_subprocess_prints_one_json_line_per_problem(multi_file: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "gap", str(multi_file), "--json",
         "--time-limit", "2", "--sense", "min"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["instance"] for x in lines] == ["pair-1", "pair-2"]
    for line in lines:
        assert {"instance", "m", "n", "objective", "bound", "seconds", "assignment"} <= set(line)
        assert len(line["assignment"]) == line["n"]
        assert all(0 <= a < line["m"] for a in line["assignment"])
        assert line["bound"] <= line["objective"] + 1e-6
    assert lines[0]["objective"] == TINY_MIN
    assert lines[1]["objective"] == brute_force(SMALL_COST, SMALL_USE, SMALL_CAPACITY)[0]


def test_the_table_has_a_header_a_row_per_problem_and_a_summary(
    multi_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gap", str(multi_file), "--time-limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["instance", "m", "n"]
    assert [row.split()[0] for row in out[1:3]] == ["pair-1", "pair-2"]
    assert "2 instances" in out[3]


# --- OR-Library gap1 -----------------------------------------------------------------------

GAP1 = ORLIB_DIR / "gap1.txt"


@require(GAP1, "OR-Library GAP data")
@pytest.mark.parametrize("sense", ["max", "min"])
def test_gap1_problems_reach_their_optima(sense: str) -> None:
    """gap1-1..5 in both senses bks.csv lists (OR-Library publishes the maximum ones)."""
    problems = read_instances(GAP1)
    assert [p.name for p in problems] == [f"gap1-{k}" for k in range(1, 6)]
    assert default_sense(problems[0]) == "max"
    for inst in problems:
        known = best_known(inst, sense)
        assert known is not None and known.optimal
        result = solve_gap(inst, sense, time_limit_s=3.0)
        assert result.objective == known.objective, (inst.name, sense)
        check_assignment(inst, result.assignment)
        if sense == "min":
            assert result.bound <= known.objective + 1e-6
        else:
            assert result.bound >= known.objective - 1e-6


def test_engine_numbers_are_shifted_per_job_and_converted_back(tiny_file: Path) -> None:
    from benchmarks.gap import engine_costs

    (inst,) = read_instances(tiny_file)
    low = engine_costs(inst, "min")
    assert (low.cost.min(axis=0) == 0).all() and (low.cost >= 0).all()
    assert low.to_instance(0.0) == sum(min(col) for col in zip(*TINY_COST, strict=True))
    high = engine_costs(inst, "max")
    assert (high.cost >= 0).all()
    assert high.to_instance(0.0) == sum(max(col) for col in zip(*TINY_COST, strict=True))
    assert low.penalty > low.cost.max() and high.penalty > high.cost.max()


GAP8 = ORLIB_DIR / "gap8.txt"


@require(GAP8, "OR-Library GAP data")
def test_small_instances_go_to_cp_sat_which_proves_gap8_4() -> None:
    """gap8-4 (8 x 48): HiGHS needed 2-6 s to prove it; the engine's CP-SAT exact step proves
    it (the bound meets the best known maximum) well inside the limit."""
    from benchmarks.gap import SMALL_SETTINGS, settings_for

    inst = next(p for p in read_instances(GAP8) if p.name == "gap8-4")
    assert settings_for(inst) is SMALL_SETTINGS and SMALL_SETTINGS.exact_solver == "auto"
    known = best_known(inst, "max")
    assert known is not None and known.optimal
    result = solve_gap(inst, "max", time_limit_s=5.0)
    check_assignment(inst, result.assignment)
    assert result.objective == known.objective
    assert round(result.bound) == known.objective  # proved: a maximum's bound is from above
