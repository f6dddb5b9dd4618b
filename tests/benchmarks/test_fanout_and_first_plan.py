"""The fan-out and first-plan benchmarks run end to end on tiny districts (timings never gate)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import fanout, first_plan


def test_fanout_runs_every_executor_and_the_batched_plans_agree(tmp_path: Path) -> None:
    argv = ["--size", "S", "--rounds", "12", "--batch", "4", "--out", str(tmp_path)]
    argv += ["--executors", "sequential", "inline", "pool-1"]
    assert fanout.main(argv) == 0
    rows = [json.loads(line) for line in (tmp_path / "fanout.jsonl").read_text().splitlines()]
    assert [r["executor"] for r in rows] == ["sequential", "inline", "pool-1"]
    assert all(r["verified"] for r in rows)
    assert all(r["neighbourhoods"] == 12 for r in rows)
    assert all(r["objective"] <= r["greedy_objective"] + 1e-6 for r in rows)
    assert rows[1]["objective"] == rows[2]["objective"]
    text = (tmp_path / "fanout.md").read_text()
    assert "gave the same objective" in text and "| pool-1 | 12 |" in text


def test_fanout_names_an_unknown_executor() -> None:
    unknown = fanout.executor_named("gpu-2")
    with pytest.raises(ValueError, match="unknown executor 'gpu-2'"), unknown:
        pass


def test_first_plan_is_timed_verified_and_counted_in_pairs() -> None:
    row = first_plan.first_plan(200, 0)
    assert row["verified"] is True
    assert row["pairs"] > 0
    assert 0 < row["first_plan_s"] <= row["call_s"]


def _rows(times: dict[int, float]) -> list[dict[str, object]]:
    return [
        {"members": n, "demands": n, "pairs": n, "first_plan_s": t, "verified": True}
        for n, t in times.items()
    ]


def test_first_plan_verdict_follows_the_fitted_growth() -> None:
    linear = first_plan.render(_rows({10_000: 1.0, 100_000: 10.0, 1_000_000: 100.0}), "cmd")
    assert "pairs^1.00" in linear and "Target (no faster than n log n" in linear
    assert "**not met**" not in linear
    quadratic = first_plan.render(_rows({10_000: 1.0, 100_000: 100.0, 1_000_000: 10_000.0}), "c")
    assert "pairs^2.00" in quadratic and "**not met**" in quadratic
