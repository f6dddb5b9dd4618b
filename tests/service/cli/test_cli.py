"""The ``linli`` command line: ``service.cli.main`` (and the summary of ``service.cli.report``).

Most tests call :func:`service.cli.main.main` in-process; one runs the installed console script.
Every call goes through :func:`run`, which also checks that no traceback ever reaches stderr.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from matcher.dispatch.answer import Answer
from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from matcher.dispatch.solve import Progress, solve
from matcher.dispatch.verify import Violation, verify
from service.cli import main as cli
from service.cli.main import ProgressPrinter, format_progress, main
from service.cli.report import format_summary, summarize
from service.contracts.dispatch import (
    dump_answer,
    dump_problem,
    load_answer_file,
    load_problem_file,
)

ERROR_LINE = re.compile(r"^linli: error: \S.*: \S")


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """``main(argv)``: exit code, stdout, stderr; fails if stderr shows a traceback."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "Traceback" not in out
    return code, out, err


def one_error_line(err: str) -> str:
    """The single ``linli: error: ...`` line that stderr must consist of."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert ERROR_LINE.match(lines[0]), lines[0]
    return lines[0]


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def no_solve(*args: object, **kwargs: object) -> Answer:
    raise AssertionError("solve must not be called")


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Problem, Answer, Path, Path]:
    """A small district and a verified answer, solved once, with both JSON files written."""
    folder = tmp_path_factory.mktemp("solved")
    problem = generate_district(members=40, demands=80, seed=1)
    answer = solve(problem, time_limit_s=1.0, seed=0)
    assert verify(problem, answer) == []
    problem_path = write_json(folder / "problem.json", dump_problem(problem))
    answer_path = write_json(folder / "answer.json", dump_answer(answer))
    return problem, answer, problem_path, answer_path


@pytest.fixture(scope="module")
def tiny_problem() -> dict[str, Any]:
    """The JSON of a valid 5-member, 3-demand district, to break one field at a time."""
    return dump_problem(generate_district(members=5, demands=3, seed=0))


# --------------------------------------------------------------------------------------------
# Happy paths
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_round_trip_generate_dispatch_verify(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """generate → dispatch → verify all exit 0 and the answer passes the independent verifier."""
    problem_path, answer_path = tmp_path / "problem.json", tmp_path / "answer.json"

    code, out, err = run(
        capsys, "generate", "--members", "60", "--demands", "150", "-o", problem_path
    )
    assert code == 0
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "60 members, 150 demands" in err
    problem = load_problem_file(problem_path)
    assert (len(problem.members), len(problem.demands)) == (60, 150)

    code, out, err = run(capsys, "dispatch", problem_path, "-o", answer_path, "--time-limit", "3")
    assert code == 0
    assert out == ""
    lines = err.splitlines()
    assert any(re.match(r"^\[\s*\d+\.\ds\] greedy\s+objective -?\d+\.\d$", ln) for ln in lines)
    assert any(re.match(r"^\[\s*\d+\.\ds\] done\s+objective", ln) for ln in lines)
    answer = load_answer_file(answer_path)
    assert verify(problem, answer) == []
    served = len(answer.assignments)
    assert re.fullmatch(
        rf"linli: (optimal|feasible), served {served}/150, objective -?\d+\.\d, "
        r"bound -?\d+\.\d, gap \d+\.\d\d% in \d+\.\d s",
        lines[-1],
    )

    code, out, err = run(capsys, "verify", problem_path, answer_path)
    assert code == 0
    assert out == (
        "OK: answer satisfies every rule "
        f"(objective {answer.objective:.1f}, gap {100 * answer.gap:.2f}%)\n"
    )
    assert err == ""


def test_dispatch_without_output_writes_answer_to_stdout_and_quiet_silences_progress(
    capsys: pytest.CaptureFixture[str], solved: tuple[Problem, Answer, Path, Path]
) -> None:
    """Without -o the answer JSON goes to stdout; --quiet leaves only the summary on stderr."""
    problem, _answer, problem_path, _answer_path = solved
    code, out, err = run(capsys, "dispatch", problem_path, "--time-limit", "1", "--quiet")
    assert code == 0
    data = json.loads(out)
    tmp = problem_path.with_name("from-stdout.json")
    write_json(tmp, data)
    assert verify(problem, load_answer_file(tmp)) == []
    assert len(err.splitlines()) == 1
    assert err.startswith("linli: ") and "served" in err


def test_verify_rejects_tampered_answer_naming_rule(
    capsys: pytest.CaptureFixture[str], solved: tuple[Problem, Answer, Path, Path], tmp_path: Path
) -> None:
    """A start moved before its window makes verify exit 1 with a ``rule 2:`` line for it."""
    problem, _answer, problem_path, answer_path = solved
    code, out, _err = run(capsys, "verify", problem_path, answer_path)
    assert code == 0 and out.startswith("OK: ")

    data = json.loads(answer_path.read_text(encoding="utf-8"))
    demands = {d.id: d for d in problem.demands}
    row = next(a for a in data["assignments"] if demands[a["demand"]].pinned is None)
    demand = demands[row["demand"]]
    start = demand.window.start - timedelta(minutes=problem.options.time_step_minutes)
    row["start"] = start.isoformat()
    row["end"] = (start + timedelta(hours=demand.duration_hours)).isoformat()
    tampered = write_json(tmp_path / "tampered.json", data)

    code, out, err = run(capsys, "verify", problem_path, tampered)
    assert code == 1
    lines = out.splitlines()
    assert lines
    assert all(re.match(r"^(rule \d|[a-z]+): \S", ln) for ln in lines), out
    assert any(ln.startswith("rule 2: ") and demand.id in ln for ln in lines), out
    assert f"{len(lines)} violation(s)" in err


@pytest.mark.slow
def test_demo_small_writes_three_files_and_prints_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """demo exits 0, writes problem.json, answer.json and summary.txt, and prints the summary."""
    out_dir = tmp_path / "demo"
    code, out, err = run(
        capsys,
        "demo",
        "--members",
        "80",
        "--demands",
        "200",
        "--time-limit",
        "3",
        "--out",
        out_dir,
    )
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "answer.json",
        "problem.json",
        "summary.txt",
    ]
    problem = load_problem_file(out_dir / "problem.json")
    answer = load_answer_file(out_dir / "answer.json")
    assert (len(problem.members), len(problem.demands)) == (80, 200)
    assert verify(problem, answer) == []
    assert (out_dir / "summary.txt").read_text(encoding="utf-8") == out
    for text in (
        "Served by priority",
        "priority 5 (urgent)",
        "priority 1 (can wait)",
        "Hours per member",
        "Unassigned by reason",
        f"Objective  {answer.objective:.1f}",
        f"Bound      {answer.bound:.1f}",
        f"Gap        {100 * answer.gap:.2f}%",
        "Time       generate",
        "verify: OK",
    ):
        assert text in out, text
    assert re.search(rf"^  all\s+{len(answer.assignments)} / 200\s+\d+\.\d%$", out, re.M)
    assert re.search(r"\[\s*\d+\.\ds\] done", err)


def test_demo_reports_violations_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When verify finds violations, demo still writes its files, lists them and exits 1."""
    found = [Violation("6", "member 'm-00001' serves two overlapping tasks", member="m-00001")]
    monkeypatch.setattr(cli, "verify", lambda problem, answer: found)
    argv = ["demo", "--members", "20", "--demands", "30", "--time-limit", "0.5", "--quiet"]
    code, out, _err = run(capsys, *argv, "--out", tmp_path)
    assert code == 1
    assert "verify: 1 violation(s)" in out
    assert "rule 6: member 'm-00001' serves two overlapping tasks" in out
    assert "verify: OK" not in out
    assert (tmp_path / "summary.txt").read_text(encoding="utf-8") == out


# --------------------------------------------------------------------------------------------
# Bad input: exit 2, one line, nothing written
# --------------------------------------------------------------------------------------------


def _cut(text: str) -> str:
    return text[: len(text) // 2]


def _unknown_field(data: dict[str, Any]) -> None:
    data["demands"][0]["colour"] = "red"


def _window_backwards(data: dict[str, Any]) -> None:
    window = data["demands"][0]["window"]
    window["end"] = (datetime.fromisoformat(window["start"]) - timedelta(hours=1)).isoformat()


def _nan_duration(data: dict[str, Any]) -> None:
    data["demands"][0]["duration_hours"] = math.nan


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None] | None, str]] = [
    ("invalid-json", None, ": not valid JSON: "),
    ("unknown-field", _unknown_field, ": demands[0].colour: unknown field"),
    ("window-backwards", _window_backwards, ": demands[0].window.end: must be after start"),
    ("nan", _nan_duration, ": demands[0].duration_hours: NaN is not valid JSON"),
]


def _malformed_file(
    folder: Path, tiny: dict[str, Any], mutate: Callable[[dict[str, Any]], None] | None
) -> Path:
    data = json.loads(json.dumps(tiny))
    path = folder / "problem.json"
    if mutate is None:
        path.write_text(_cut(json.dumps(data)), encoding="utf-8")
    else:
        mutate(data)
        write_json(path, data)
    return path


@pytest.mark.parametrize("command", ["dispatch", "verify"])
@pytest.mark.parametrize(("case", "mutate", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_problem_file_is_one_error_line_naming_the_field(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_problem: dict[str, Any],
    command: str,
    case: str,
    mutate: Callable[[dict[str, Any]], None] | None,
    expected: str,
) -> None:
    """Invalid JSON, an unknown field, a backwards window and NaN: exit 2, one line, its path."""
    monkeypatch.setattr(cli, "solve", no_solve)
    path = _malformed_file(tmp_path, tiny_problem, mutate)
    argv: list[str | Path] = [command, path]
    if command == "verify":
        argv.append(tmp_path / "answer.json")
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    line = one_error_line(err)
    assert line.startswith(f"linli: error: {path}: ")
    assert expected in line


@pytest.mark.parametrize("case", ["missing", "invalid-json", "unknown-field", "directory"])
def test_dispatch_writes_nothing_on_bad_input(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_problem: dict[str, Any],
    case: str,
) -> None:
    """A bad problem file leaves the output untouched (old content kept, no temp files)."""
    monkeypatch.setattr(cli, "solve", no_solve)
    inputs = tmp_path / "in"
    inputs.mkdir()
    if case == "missing":
        problem = inputs / "nope.json"
    elif case == "directory":
        problem = inputs
    else:
        mutate = _unknown_field if case == "unknown-field" else None
        problem = _malformed_file(inputs, tiny_problem, mutate)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "old.json").write_text("old", encoding="utf-8")

    for target in (out_dir / "answer.json", out_dir / "old.json"):
        code, out, err = run(capsys, "dispatch", problem, "-o", target)
        assert code == 2
        assert out == ""
        assert one_error_line(err).startswith(f"linli: error: {problem}: ")
    assert [p.name for p in out_dir.iterdir()] == ["old.json"]
    assert (out_dir / "old.json").read_text(encoding="utf-8") == "old"


def test_verify_bad_answer_file_names_that_file(
    capsys: pytest.CaptureFixture[str], solved: tuple[Problem, Answer, Path, Path], tmp_path: Path
) -> None:
    """A malformed or missing answer file gives exit 2 and one line naming it and the field."""
    _problem, _answer, problem_path, answer_path = solved
    data = json.loads(answer_path.read_text(encoding="utf-8"))
    data["assignments"][0]["start"] = "tomorrow"
    bad = write_json(tmp_path / "bad-answer.json", data)
    code, _out, err = run(capsys, "verify", problem_path, bad)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"linli: error: {bad}: assignments[0].start: must be an ISO 8601")

    missing = tmp_path / "missing.json"
    code, _out, err = run(capsys, "verify", problem_path, missing)
    assert code == 2
    assert one_error_line(err) == (
        f"linli: error: {missing}: cannot read file: No such file or directory"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["generate", "--members", "0", "--demands", "5", "-o", "p.json"], "at least 1"),
        (["generate", "--members", "2.5", "--demands", "5", "-o", "p.json"], "integer"),
        (["generate", "--members", "5", "--demands", "-1", "-o", "p.json"], "at least 0"),
        (["generate", "--members", "5", "--demands", "5", "--seed", "x", "-o", "p"], "integer"),
        (["dispatch", "p.json", "--time-limit", "-1"], "--time-limit: must be a finite"),
        (["dispatch", "p.json", "--time-limit", "0"], "--time-limit: must be a finite"),
        (["dispatch", "p.json", "--time-limit", "nan"], "--time-limit: must be a finite"),
        (["dispatch", "p.json", "--time-limit", "soon"], "--time-limit: must be a number"),
        (["dispatch", "p.json", "--workers", "-1"], "--workers: must be at least 0"),
        (["dispatch"], "required: PROBLEM"),
        (["verify", "p.json"], "required: ANSWER"),
        (["demo", "--members", "0"], "--members: must be at least 1"),
        (["demo", "--time-limit", "inf"], "--time-limit: must be a finite"),
    ],
)
def test_argparse_errors_exit_2_with_usage(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    """Usage errors and out-of-range numbers return 2 with argparse's usage line and message."""
    monkeypatch.setattr(cli, "solve", no_solve)
    monkeypatch.setattr(cli, "generate_district", no_solve)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("usage: linli")
    assert message in err.splitlines()[-1]


def test_help_exits_0_and_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """``linli --help`` returns 0 (not SystemExit) and names every subcommand."""
    code, out, err = run(capsys, "--help")
    assert code == 0
    assert err == ""
    for command in ("generate", "dispatch", "verify", "demo"):
        assert command in out


@pytest.mark.parametrize("where", ["missing-dir", "is-dir"])
@pytest.mark.parametrize("command", ["generate", "dispatch", "demo"])
def test_unwritable_output_is_reported_before_any_work(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    solved: tuple[Problem, Answer, Path, Path],
    command: str,
    where: str,
) -> None:
    """An output in a missing folder or onto a folder: exit 2, one line, before solving."""
    monkeypatch.setattr(cli, "solve", no_solve)
    monkeypatch.setattr(cli, "generate_district", no_solve)
    _problem, _answer, problem_path, _answer_path = solved
    if where == "missing-dir":
        target = tmp_path / "no" / "such" / "out.json"
    else:
        target = tmp_path / "folder"
        target.mkdir()
        if command == "demo":
            (target / "problem.json").mkdir()
    argv: dict[str, list[str | Path]] = {
        "generate": ["generate", "--members", "5", "--demands", "5", "-o", target],
        "dispatch": ["dispatch", problem_path, "-o", target],
        "demo": ["demo", "--out", target],
    }
    if command == "demo" and where == "missing-dir":
        (tmp_path / "no").write_text("a file, not a folder", encoding="utf-8")
    code, out, err = run(capsys, *argv[command])
    assert code == 2
    assert out == ""
    line = one_error_line(err)
    assert "cannot" in line or "not a directory" in line


def test_failed_write_leaves_old_file_and_no_temp_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the final rename fails, the old file is intact, no temp file remains, exit 2."""
    target = tmp_path / "problem.json"
    target.write_text("old", encoding="utf-8")

    def no_space(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cli.os, "replace", no_space)
    code, out, err = run(capsys, "generate", "--members", "5", "--demands", "5", "-o", target)
    monkeypatch.undo()
    assert code == 2
    assert out == ""
    assert one_error_line(err) == (
        f"linli: error: {target}: cannot write: {os.strerror(errno.ENOSPC)}"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["problem.json"]
    assert target.read_text(encoding="utf-8") == "old"


# --------------------------------------------------------------------------------------------
# Unexpected failures
# --------------------------------------------------------------------------------------------


def test_unexpected_exception_is_one_line_exit_70(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    solved: tuple[Problem, Answer, Path, Path],
) -> None:
    """A crash inside solve prints ``linli: internal error: ...`` once and returns 70."""

    def crash(*args: object, **kwargs: object) -> Answer:
        raise RuntimeError("engine\nexploded")

    monkeypatch.setattr(cli, "solve", crash)
    monkeypatch.delenv("LINLI_DEBUG", raising=False)
    target = tmp_path / "answer.json"
    code, out, err = run(capsys, "dispatch", solved[2], "-o", target)
    assert code == 70
    assert out == ""
    assert err == "linli: internal error: RuntimeError: engine exploded\n"
    assert not target.exists()


def test_linli_debug_shows_the_exception(
    monkeypatch: pytest.MonkeyPatch, solved: tuple[Problem, Answer, Path, Path]
) -> None:
    """With LINLI_DEBUG=1 an unexpected exception propagates (so its traceback shows)."""

    def crash(*args: object, **kwargs: object) -> Answer:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(cli, "solve", crash)
    monkeypatch.setenv("LINLI_DEBUG", "1")
    with pytest.raises(RuntimeError, match="engine exploded"):
        main(["dispatch", str(solved[2]), "--quiet"])


def test_keyboard_interrupt_exits_130_quietly(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    solved: tuple[Problem, Answer, Path, Path],
) -> None:
    """Ctrl-C during solve or during the write: exit 130, nothing printed, no file left."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    target = tmp_path / "answer.json"
    monkeypatch.setattr(cli, "solve", interrupted)
    code, out, err = run(capsys, "dispatch", solved[2], "-o", target, "--quiet")
    assert (code, out, err) == (130, "", "")

    monkeypatch.setattr(cli, "solve", lambda *a, **k: solved[1])
    monkeypatch.setattr(cli.os, "fsync", interrupted)
    code, out, err = run(capsys, "dispatch", solved[2], "-o", target, "--quiet")
    monkeypatch.undo()
    assert (code, out, err) == (130, "", "")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Progress lines and the summary
# --------------------------------------------------------------------------------------------


def test_progress_printer_throttles_improve_events(capsys: pytest.CaptureFixture[str]) -> None:
    """Phase events always print; ``improve`` events print at most about 4 a second."""
    printer = ProgressPrinter(sys.stderr)
    printer(Progress("greedy", 2.3, objective=83594.3))
    for i in range(200):  # 200 improvements in one second
        printer(Progress("improve", 3.0 + i * 0.005, objective=83000.0 - i, bound=80000.0))
    printer(Progress("done", 4.0, objective=82801.0, bound=80000.0))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "[  2.3s] greedy      objective 83594.3"
    assert lines[-1].startswith("[  4.0s] done        objective 82801.0  bound 80000.0  gap ")
    improve = [ln for ln in lines if " improve " in ln]
    assert 1 <= len(improve) <= 5
    assert len(lines) == len(improve) + 2


def test_format_progress_shows_gap_and_message() -> None:
    """A line with objective and bound shows the gap; a message is appended on the same line."""
    line = format_progress(
        Progress("bound", 12.0, objective=100.0, bound=90.0, message="batch 1/2")
    )
    assert line == "[ 12.0s] bound       objective 100.0  bound 90.0  gap 10.00%  batch 1/2"


def test_summarize_counts_match_the_answer(solved: tuple[Problem, Answer, Path, Path]) -> None:
    """Served by priority, hours per member and reasons agree with the answer's own lists."""
    problem, answer, _p, _a = solved
    summary = summarize(problem, answer, violations=[])
    json.dumps(summary, allow_nan=False)  # JSON-ready for the web console

    assert summary["served"] == len(answer.assignments)
    assert [row["priority"] for row in summary["by_priority"]] == [5, 4, 3, 2, 1]
    priority = {d.id: d.priority for d in problem.demands}
    for row in summary["by_priority"]:
        p = row["priority"]
        assert row["total"] == sum(1 for d in problem.demands if d.priority == p)
        assert row["served"] == sum(1 for a in answer.assignments if priority[a.demand] == p)

    load = {entry.member: entry.hours for entry in answer.load}
    hours = [load.get(m.id, 0.0) for m in problem.members]
    h = summary["hours"]
    assert h["mean"] == pytest.approx(statistics.fmean(hours), abs=1e-6)
    assert h["median"] == pytest.approx(statistics.median(hours), abs=1e-6)
    assert h["max"] == pytest.approx(max(hours), abs=1e-6)
    assert h["idle_share"] == pytest.approx(sum(x == 0 for x in hours) / len(hours))
    busy = sum(
        load.get(m.id, 0.0) > 0.75 * m.capacity_hours + 1e-9
        for m in problem.members
        if m.capacity_hours > 0
    )
    assert h["busy_share"] == pytest.approx(busy / len(hours))

    assert sum(g["count"] for g in summary["unassigned"]) == len(answer.unassigned)
    for group in summary["unassigned"]:
        assert 1 <= len(group["examples"]) <= 2
        for example in group["examples"]:
            u = next(u for u in answer.unassigned if u.demand == example["demand"])
            assert (u.reason, u.detail) == (group["reason"], example["detail"])

    text = format_summary(summary)
    assert text.endswith("verify: OK")
    assert "verify" not in format_summary(summarize(problem, answer))


# --------------------------------------------------------------------------------------------
# The installed console script
# --------------------------------------------------------------------------------------------


def _script() -> str:
    beside = Path(sys.executable).with_name("linli")
    found = str(beside) if beside.exists() else shutil.which("linli")
    assert found, "the linli console script is not installed (pip install -e .)"
    return found


def test_installed_script_runs_and_reports_exit_codes(tmp_path: Path) -> None:
    """The ``linli`` entry point generates a problem (exit 0) and rejects a bad file (exit 2)."""
    script = _script()
    problem_path = tmp_path / "p.json"
    done = subprocess.run(
        [script, "generate", "--members", "30", "--demands", "40", "-o", str(problem_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert len(load_problem_file(problem_path).members) == 30

    missing = tmp_path / "missing.json"
    done = subprocess.run(
        [script, "verify", str(problem_path), str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert one_error_line(done.stderr) == (
        f"linli: error: {missing}: cannot read file: No such file or directory"
    )

    done = subprocess.run(
        [script, "dispatch", str(problem_path), "--time-limit", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("usage: linli dispatch")
    assert "Traceback" not in done.stderr
