"""Form helpers shared by the console's entry pages: form text to the JSON values the API's
schemas load, and the schemas' messages in the console's language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.domain.availability import LOCAL
from service.web.schemas.workspace import PHONE_HINT

MESSAGES = {
    "is required": _l("Required"),
    "must not be null": _l("Required"),
    "must be a number": _l("Enter a number"),
    "must be a finite number, not NaN or Infinity": _l("Enter a number"),
    "must be an integer": _l("Enter a whole number"),
    "must be a string": _l("Enter text"),
    "must be an ISO 8601 date-time such as 2026-12-05T09:00:00+08:00": _l("Enter a date and time"),
    "must include a UTC offset": _l("Enter a date and time"),
    "must be after start": _l("Must be after the start"),
    "must be in the future": _l("Must be in the future"),
    "is longer than the window": _l("Longer than the window"),
    "must be between the years 2000 and 2200": _l("Must be between the years 2000 and 2200"),
    "must be an integer from 1 to 5": _l("Choose from 1 to 5"),
    "must be an opaque id (A-Z, 0-9, . _ : -)": _l(
        "An opaque reference only (letters, digits, . _ : -), never a name"
    ),
    PHONE_HINT: _l(
        "Enter a mainland phone number: an 11-digit mobile or a landline with its area code"
    ),
    "must not contain control characters": _l("Must not contain control characters"),
    "must not be in the future": _l("This half year has not begun"),
    "recorded once only": _l("Recorded once only"),
    "must be a member of this community": _l("Choose a member of this community"),
    "thresholds must fall strictly from excellent to poor": _l(
        "Thresholds must fall strictly from excellent to poor"
    ),
    "quotas are shares between 0 and 1": _l("Quotas are shares between 0 and 1"),
    "quotas must not add up to more than 1": _l("Quotas must not add up to more than 1"),
    "thresholds must rise strictly from 1 to 5 stars": _l(
        "Thresholds must rise strictly from 1 to 5 stars"
    ),
    "must be a half year such as 2026H1 or 2026H2": _l(
        "Must be a half year such as 2026H1 or 2026H2"
    ),
}
SHEET_MESSAGES = {
    "must be a date and time such as 2026-12-05 09:00": _l(
        "Enter a date and time such as 2026-12-05 09:00"
    ),
    "must be a date such as 2026-03-05": _l("Enter a date such as 2026-03-05"),
    "must be one category": _l("Choose one category"),
    "must be WGS-84 or GCJ-02": _l("Choose WGS-84 or GCJ-02"),
    "already registered": _l("This card number is registered already"),
    "no such unit (an id or a name)": _l("No such unit: register it first"),
    "no such grid (an id or a name)": _l("No such grid in this community"),
    "no such building (an id or a name) in the community": _l("No such building in this community"),
    "no such building (an id or a name) in the member's grid": _l(
        "No such building in the member's grid"
    ),
    "no such building (an id or a name)": _l("No such building in this community"),
    "required: the building has no location on file": _l(
        "Enter the coordinates: the building has no location on file"
    ),
    "required (or a building or household with a location)": _l(
        "Enter the coordinates, or a building whose location is on file"
    ),
    "must be a card number of 2 to 64 letters, digits, - or _": _l(
        "A card number of 2 to 64 letters, digits, - or _"
    ),
    "must not be before the card was issued": _l("Must not be before the card was issued"),
    "the sheet is empty: no header row": _l("The sheet is empty: it has no header row"),
    "the sheet has no data rows": _l("The sheet has no data rows"),
    "unknown field": _l("Unknown field"),
    "must be a list": _l("Enter a list"),
    "must be true or false": _l("Choose yes or no"),
}
"""The Excel sheets' own messages (:mod:`service.web.workbooks`, :mod:`service.web.api.sheets`)."""
_UNKNOWN = re.compile(r"^unknown (category|source): (.+) \(choose from the drop-down list\)$")
_REPEATS = re.compile(r"^repeats row (\d+)$")
_SLOT_TEXT = re.compile(r"^cannot read (.+): write such as (.+)$")
_SAME_NAME = re.compile(r"^(\d+) (unit|grid|building)s have the name (.+): use the id$")
_OVERLAPS = re.compile(r"^overlaps slot (\d+) on the same weekday$")
_BETWEEN = re.compile(r"^must be between (-?[\d.]+) and (-?[\d.]+)$")
_LENGTH = re.compile(r"^must have 1 to (\d+) characters$")
_DAYS = re.compile(r"^at most (\d+) days long$")
_ONE_OF = re.compile(r"^must be one of: ")


def message_text(message: str) -> str:
    """A schema's (English) message in the console's language."""
    known = MESSAGES.get(message) or SHEET_MESSAGES.get(message)
    if known is not None:
        return str(known)
    if found := _UNKNOWN.match(message):
        what = _("category") if found[1] == "category" else _("source channel")
        return _(
            "Unknown %(what)s: %(value)s (choose from the drop-down list)",
            what=what,
            value=found[2],
        )
    if found := _REPEATS.match(message):
        return _("The same card number as row %(n)s", n=found[1])
    if found := _SLOT_TEXT.match(message):
        return _("Cannot read %(text)s: write such as %(example)s", text=found[1], example=found[2])
    if found := _SAME_NAME.match(message):
        return _("%(n)s have the name %(name)s: write the id instead", n=found[1], name=found[3])
    if found := _OVERLAPS.match(message):
        return _("Overlaps another time slot on the same day")
    if found := _BETWEEN.match(message):
        return _("Must be between %(low)s and %(high)s", low=found[1], high=found[2])
    if found := _LENGTH.match(message):
        return _("Must have 1 to %(n)s characters", n=found[1])
    if found := _DAYS.match(message):
        return _("At most %(n)s days long", n=found[1])
    if _ONE_OF.match(message):
        return _("Choose one of the options")
    return message


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """A schema's nested messages as ``{"window.end": ["…"]}``, in the console's language."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, texts in flatten(value, name).items():
                out.setdefault(field, []).extend(texts)
    elif isinstance(messages, list | tuple):
        for value in messages:
            for field, texts in flatten(value, prefix).items():
                out.setdefault(field, []).extend(texts)
    else:
        out.setdefault(prefix or "_schema", []).append(message_text(str(messages)))
    return out


def number(text: str) -> float | str:
    """A form's number as a float (the text itself if it is not one: the schema says so)."""
    try:
        return float(text)
    except ValueError:
        return text


def integer(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def local_datetime(text: str) -> str:
    """A ``datetime-local`` value (Beijing time) as an ISO 8601 date-time with its offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment.isoformat()


def present(form: Mapping[str, str], *names: str) -> dict[str, str]:
    """The named fields that were filled in (stripped); empty ones are left out."""
    out = {}
    for name in names:
        value = (form.get(name) or "").strip()
        if value:
            out[name] = value
    return out
