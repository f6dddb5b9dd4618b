"""The dense-district benchmark (``python -m benchmarks.dense``) on the smoke district."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.dense import dense_district, main
from matcher.dispatch.generate import generate_district
from matcher.dispatch.validation import validate_problem


def test_the_dense_family_scales_capacity_and_keeps_the_pins_valid() -> None:
    """Every member's hours shrink to the share (on the half-hour grid) but never below the
    hours already pinned to them; the problem still validates."""
    plain = generate_district(members=60, demands=150, seed=1)
    dense = dense_district(60, 150, 1, capacity_share=0.5)
    validate_problem(dense)
    for a, b in zip(plain.members, dense.members, strict=True):
        assert b.capacity_hours <= a.capacity_hours
        assert (
            b.capacity_hours * 2 == int(b.capacity_hours * 2)
            or b.capacity_hours == a.capacity_hours
        )
    assert sum(m.capacity_hours for m in dense.members) < sum(
        m.capacity_hours for m in plain.members
    )


def test_the_benchmark_writes_verified_lines_and_a_section(tmp_path: Path) -> None:
    """Each variant solves each instance once; every line is a valid plan; the section has a
    row per instance."""
    argv = [
        "--families",
        "generator,dense",
        "--sizes",
        "smoke",
        "--limits",
        "2",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    lines = [json.loads(x) for x in (tmp_path / "dense.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 3
    assert all(line["valid"] for line in lines)
    assert all(line["objective"] <= line["greedy_objective"] + 1e-6 for line in lines)
    section = (tmp_path / "dense.md").read_text()
    assert section.count("| smoke |") == 2
