"""How the service reads and writes JSON: numbers that cannot overflow, answers without NaN.

Reading, a number literal of more than :data:`~service.contracts.fields.MAX_DIGITS` digits is not
parsed (Python refuses integers beyond 4,300 digits with an error that names no field): it reads
as :class:`~service.contracts.fields.TooLong`, which every numeric field refuses with its path.
Writing, ``NaN`` and ``Infinity`` are not JSON: a document holding one raises instead of
sending it (the contracts' ranges keep answers finite; this is the guard behind them).
"""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

from service.contracts.fields import parse_float, parse_int


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with bounded number literals in and finite numbers out."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_int", parse_int)
        kwargs.setdefault("parse_float", parse_float)
        return json.loads(s, **kwargs)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)
