"""Where the public benchmark data lies: ``shared/benchdata`` beside the project.

``LINLI_BENCHDATA`` names the folder; else it is ``../shared/benchdata`` next to the checkout
(where CI puts it), else ``/work/shared/benchdata`` (the developers' machines).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["benchdata_dir"]

_REPO = Path(__file__).resolve().parents[1]


def benchdata_dir() -> Path:
    """The benchmark data folder (it may be absent; callers check the files they need)."""
    named = os.environ.get("LINLI_BENCHDATA")
    if named:
        return Path(named)
    beside = _REPO.parent / "shared" / "benchdata"
    return beside if beside.is_dir() else Path("/work/shared/benchdata")
