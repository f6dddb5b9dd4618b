"""``linli generate --visits``, ``linli schedule`` (with ``--ics``) and ``linli verify`` on
schedules: files written, calendars readable, violations found, bad input as one line, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from icalendar import Calendar

from service.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def quarter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "quarter.json"
    code, _, err = run(
        capsys,
        "generate",
        "--visits",
        "--teams",
        "2",
        "--households",
        "80",
        "--seed",
        "2",
        "-o",
        path,
    )
    assert code == 0, err
    assert "2 teams" in err
    return path


def test_schedule_writes_a_schedule_that_verify_accepts_and_calendars(
    quarter: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "schedule.json"
    ics = tmp_path / "ics"
    code, _, err = run(
        capsys,
        "schedule",
        quarter,
        "-o",
        out,
        "--ics",
        ics,
        "--time-limit",
        "2",
        "--workers",
        "1",
        "--quiet",
    )
    assert code == 0, err
    schedule = json.loads(out.read_text(encoding="utf-8"))
    assert schedule["status"] == "feasible"
    assert schedule["stats"]["sessions"] == len(schedule["sessions"]) > 0

    code, stdout, _ = run(capsys, "verify", quarter, out)
    assert code == 0
    assert stdout.startswith("OK: schedule satisfies every rule")

    community = Calendar.from_ical((ics / "community.ics").read_bytes())
    events = list(community.walk("VEVENT"))
    assert len(events) == len(schedule["sessions"])
    first = schedule["sessions"][0]
    assert any(
        str(e["dtstart"].dt.tzinfo) == "Asia/Shanghai"
        and first["route"][0] in str(e["description"])
        for e in events
    )
    per_team = sorted(p.name for p in ics.glob("team-*.ics"))
    assert per_team == sorted(f"team-{t}.ics" for t in {s["team"] for s in schedule["sessions"]})
    team_events = list(Calendar.from_ical((ics / "team-t-1.ics").read_bytes()).walk("VEVENT"))
    assert len(team_events) == sum(1 for s in schedule["sessions"] if s["team"] == "t-1")


def test_verify_reports_each_broken_rule_with_exit_1(
    quarter: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "schedule.json"
    assert (
        run(
            capsys, "schedule", quarter, "-o", out, "--time-limit", "1", "--workers", "1", "--quiet"
        )[0]
        == 0
    )
    schedule = json.loads(out.read_text(encoding="utf-8"))
    schedule["sessions"][0]["attendees"] = schedule["sessions"][0]["attendees"][:1]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(schedule), encoding="utf-8")
    code, stdout, err = run(capsys, "verify", quarter, broken)
    assert code == 1
    assert any(line.startswith("rule 2:") for line in stdout.splitlines())
    assert "violation(s)" in err


def test_bad_visit_problem_is_one_line_and_exit_2(
    quarter: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(quarter.read_text(encoding="utf-8"))
    data["teams"][0]["quorum"] = 99
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "never.json"
    code, _, err = run(capsys, "schedule", bad, "-o", out)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"linli: error: {bad}: teams[0].quorum:")
    assert not out.exists()


def test_generate_without_members_or_visits_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "generate", "--demands", "5", "-o", tmp_path / "p.json")
    assert code == 2
    assert err.strip() == (
        "linli: error: generate: --members and --demands are required (or use --visits)"
    )


def test_verify_with_a_malformed_visit_problem_is_exit_2(
    quarter: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "schedule.json"
    assert (
        run(
            capsys, "schedule", quarter, "-o", out, "--time-limit", "1", "--workers", "1", "--quiet"
        )[0]
        == 0
    )
    data = json.loads(quarter.read_text(encoding="utf-8"))
    data["walking_speed_kmh"] = "fast"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = run(capsys, "verify", bad, out)
    assert code == 2
    assert err.startswith(f"linli: error: {bad}: ")
