"""Where a result came from: the machine, the solver versions, the git commit, the command."""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (or what :mod:`platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Platform, CPU model, cores usable by this process, and memory."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    mem_gib = None
    try:
        pages, page = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        mem_gib = round(pages * page / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cores": cores,
        "memory_gib": mem_gib,
    }


def versions() -> dict[str, str]:
    """OR-Tools, HiGHS (the ``highspy`` package) and numpy versions."""
    import numpy
    import ortools

    try:  # constructing highspy.Highs() would print a banner on stdout
        highs = metadata.version("highspy")
    except metadata.PackageNotFoundError:
        highs = "unknown"
    return {"ortools": ortools.__version__, "highs": highs, "numpy": numpy.__version__}


def git_sha() -> str | None:
    """``git rev-parse HEAD`` of the repository (read-only), or ``None`` outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def engine_digest() -> str:
    """sha256 over ``matcher/*.py``: ties results to the engine code even in an unclean tree."""
    h = hashlib.sha256()
    for path in sorted((REPO / "matcher").glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed: ``python -m benchmarks ...``."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", "benchmarks", *args])


def provenance(argv: list[str] | None = None) -> dict[str, Any]:
    """Everything a result line carries about where it was measured."""
    return {
        "machine": machine(),
        "versions": versions(),
        "git_sha": git_sha(),
        "command": command_line(argv),
    }
