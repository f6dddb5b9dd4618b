"""What a Chinese console page must not show (issue #19): runs of English words and raw ids.

:func:`problems` takes a page's visible text (Playwright's ``inner_text("body")``, or any string)
and returns one line per problem, empty when the page is clean; a browser test asserts
``problems(text) == []`` so that the failure lists every offending run with its context.

- An **English run** is three or more consecutive Latin words (letters, optionally with an
  apostrophe or a hyphen inside, such as ``don't`` or ``dry-run``) separated only by spaces or
  punctuation, never by a Chinese character or a line break: "none is free for 1.5 h" is one
  run, whereas "Excel 表格" is a single word. Digits and symbols between the words do not break a
  run. Runs made only of allow-listed words (product names such as OpenStreetMap, Excel, API)
  pass. Letters inside a token with digits (``3f2a9c``, ``A4``) are no words.
- A **raw id** is a record id as the database keeps it: a short prefix and a dash before six or
  more hexadecimal digits (``m-3f2a9c0d1e4b``, ``d-…``, ``g-…``, ``b-…``, ``u-…``, ``r-…``,
  ``t-…``), or a bare UUID.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["ALLOWED_WORDS", "english_runs", "problems", "raw_ids"]

ALLOWED_WORDS = frozenset(
    {"openstreetmap", "excel", "api", "xlsx", "csv", "html", "a4", "wgs-84", "gcj-02", "json"}
)
"""Words that may stand in a Chinese sentence (lower case): names of products and formats."""

MIN_RUN = 3
_WORD = r"(?<![A-Za-z0-9])[A-Za-z]+(?:['’\-][A-Za-z]+)*(?![A-Za-z0-9])"
_GAP = r"[ \t\u00a0.,;:!?()\[\]{}\"'/&+*=<>#%@$0-9·—–-]+"
_RUN = re.compile(rf"{_WORD}(?:{_GAP}{_WORD})+")
_WORDS = re.compile(_WORD)
_RAW_ID = re.compile(
    r"(?<![A-Za-z0-9])(?:[a-z]{1,4}-[0-9a-f]{6,}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9])"
)


def english_runs(
    text: str, *, allowed: Iterable[str] = ALLOWED_WORDS, min_words: int = MIN_RUN
) -> list[str]:
    """The runs of ``min_words`` or more English words in ``text`` (line by line), except runs
    whose every word is allowed (compared case-insensitively)."""
    allow = {word.lower() for word in allowed}
    found = []
    for line in text.splitlines():
        for match in _RUN.finditer(line):
            words = _WORDS.findall(match.group())
            if len(words) < min_words:
                continue
            if all(word.lower() in allow for word in words):
                continue
            found.append(match.group().strip())
    return found


def raw_ids(text: str) -> list[str]:
    """The record ids (``m-3f2a9c…``, UUIDs) shown in ``text``."""
    return _RAW_ID.findall(text)


def problems(text: str, *, allowed: Iterable[str] = ALLOWED_WORDS) -> list[str]:
    """One line per English run and raw id in ``text``; empty when the text is clean."""
    return [f"English words: {run!r}" for run in english_runs(text, allowed=allowed)] + [
        f"raw id: {found!r}" for found in raw_ids(text)
    ]
