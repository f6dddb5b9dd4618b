"""The visit benchmark runs end to end on a tiny district and records a verified schedule."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.cli import main


def test_visits_benchmark_appends_a_verified_result_line(tmp_path: Path) -> None:
    out = tmp_path / "visits.jsonl"
    code = main(
        [
            "visits",
            "--teams",
            "2",
            "--members",
            "16",
            "--households",
            "70",
            "--seeds",
            "0",
            "--time-limit",
            "2",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert line["violations"] == 0
    assert line["households"] == 70
    assert line["sessions"] >= line["lower_bound_sessions"] > 0
    assert line["provenance"]["machine"]["cores"] >= 1
    md = tmp_path / "visits.md"
    assert main(["visits", "--render", "--out", str(out), "--md", str(md)]) == 0
    section = md.read_text(encoding="utf-8")
    assert section.startswith("## Quarterly team visits")
    assert "| **median** |" in section


def test_visits_benchmark_rejects_too_few_members_with_exit_2(tmp_path: Path) -> None:
    code = main(["visits", "--teams", "3", "--members", "5", "--out", str(tmp_path / "x.jsonl")])
    assert code == 2


def test_the_held_out_like_variant_records_its_variant_and_households(tmp_path: Path) -> None:
    out = tmp_path / "visits.jsonl"
    args = ["visits", "--variant", "held-out", "--teams", "2", "--seeds", "0", "--time-limit"]
    code = main([*args, "2", "--workers", "1", "--out", str(out)])
    assert code == 0
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert line["variant"] == "held-out"
    assert line["teams"] == 2
    assert line["households"] == round(14_747 * 2 / 300)
    assert line["violations"] == 0
    assert line["households_missing"] == line["households_missing_unproven"] == 0
