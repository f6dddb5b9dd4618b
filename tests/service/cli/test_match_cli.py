"""``linli match KIND``: generate, solve (self-verified), check, and bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli.main import main
from service.cli.match import KINDS


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generate_solve_and_check_a_small_district(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = tmp_path / "problem.json"
    answer = tmp_path / "answer.json"
    code, _, err = run(
        capsys,
        "match",
        kind,
        "--generate",
        "--communities",
        "2",
        "--members",
        "120",
        "--seed",
        "3",
        "-o",
        problem,
    )
    assert code == 0, err
    code, _, err = run(capsys, "match", kind, problem, "-o", answer, "--time-limit", "5")
    assert code == 0, err
    assert "verified" in err
    data = json.loads(answer.read_text(encoding="utf-8"))
    assert data["status"] in ("optimal", "feasible")
    code, out, _ = run(capsys, "match", kind, problem, "--check", answer)
    assert code == 0
    assert out.startswith("OK: answer satisfies every rule")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bad_problem_is_one_line_with_exit_2(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"unexpected": 1}), encoding="utf-8")
    code, _, err = run(capsys, "match", kind, bad, "-o", tmp_path / "never.json")
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"linli: error: {bad}: ")
    assert not (tmp_path / "never.json").exists()


def test_match_without_a_problem_or_generate_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "match", "posts")
    assert code == 2
    assert err.strip() == "linli: error: match: give a PROBLEM file (or --generate)"
