"""What every ``linli`` command shares: exit codes, the one input error, arguments and output.

:mod:`service.cli.main` (dispatch and the command table), :mod:`service.cli.match` and
:mod:`service.cli.visits` import this module; it imports none of them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
STDOUT = "-"


class CliError(Exception):
    """Bad input the user can fix: ``linli`` prints ``linli: error: <where>: <message>``, exit 2."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}" if where else message)


def say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def integer_arg(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    return parse


def seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text!r}")
    return value


def json_text(data: Any, *, ascii_only: bool = False) -> str:
    return json.dumps(data, ensure_ascii=ascii_only, indent=2, allow_nan=False) + "\n"


def check_output(path: str) -> None:
    """Fail early (before a long solve) if ``path`` obviously cannot be written."""
    if path == STDOUT:
        return
    target = Path(path)
    if target.is_dir():
        raise CliError(path, "cannot write: is a directory")
    folder = target.parent
    if not folder.is_dir():
        raise CliError(path, f"cannot write: no such directory {str(folder)!r}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(path, "cannot write: permission denied")


def write_output(path: str, text: str) -> None:
    if path == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_text_atomic(Path(path), text)
    except OSError as err:
        raise CliError(path, f"cannot write: {err.strerror or err}") from err


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder.

    The temporary file is flushed to disk and then renamed over ``path`` with :func:`os.replace`,
    so readers see the old file or the whole new one, never a part. On any failure (including
    ``KeyboardInterrupt``) the temporary file is removed and ``path`` is left as it was.

    Raises:
        OSError: If the folder cannot be written or the rename fails.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            if hasattr(os, "fchmod"):
                os.fchmod(stream.fileno(), 0o666 & ~_umask())
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
