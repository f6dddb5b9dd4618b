"""The benchmark data the tests read: missing data skips a test on a developer's machine, and
fails it under ``CI=true`` (CI always has ``shared/benchdata``; a quiet skip would hide a loss)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def require(path: Path, what: str) -> pytest.MarkDecorator:
    """A mark for tests that need ``path``: skip without it, except under CI (fail)."""
    if path.is_file() or os.environ.get("CI", "").lower() != "true":
        return pytest.mark.skipif(not path.is_file(), reason=f"no {what} at {path.parent}")
    return pytest.mark.usefixtures("_missing_benchdata")


@pytest.fixture
def _missing_benchdata(request: pytest.FixtureRequest) -> None:
    pytest.fail(f"{request.node.name}: the benchmark data is missing under CI=true")
