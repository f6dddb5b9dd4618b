"""iCalendar files of a visit schedule: one for the community, one per team.

One ``VEVENT`` per session, in the problem's time zone (``Asia/Shanghai`` by default) with its
``VTIMEZONE``; the attendees and the route (household ids in walking order, no addresses) are in
the description. UIDs are stable for the same team, date and route, so re-importing an updated
schedule replaces events instead of doubling them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from matcher.visits.answer import Schedule, VisitSession
from matcher.visits.problem import VisitProblem

PRODID = "-//Linli//visit schedule//ZH"


def session_uid(session: VisitSession) -> str:
    """A stable id from team, date and route."""
    digest = hashlib.sha1(
        f"{session.team}|{session.date}|{','.join(session.route)}".encode()
    ).hexdigest()[:16]
    return f"{session.team}-{session.date:%Y%m%d}-{digest}@linli"


def calendar_bytes(
    problem: VisitProblem,
    schedule: Schedule,
    team: str | None = None,
    names: Mapping[str, str] | None = None,
) -> bytes:
    """The ``.ics`` text of every session (or of one team's sessions); ``names`` gives the
    attendees' names (the workspace knows them; the contract has ids only)."""
    zone = ZoneInfo(problem.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    name = f"组团走访 {team}" if team else "组团走访 社区日程"
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", problem.timezone)
    stamp = datetime(
        problem.quarter.start.year,
        problem.quarter.start.month,
        problem.quarter.start.day,
        tzinfo=zone,
    )
    for session in schedule.sessions:
        if team is not None and session.team != team:
            continue
        cal.add_component(_event(session, zone, stamp, names or {}))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def _event(
    session: VisitSession, zone: ZoneInfo, stamp: datetime, names: Mapping[str, str]
) -> Event:
    event = Event()
    event.add("uid", session_uid(session))
    event.add("dtstamp", stamp)
    event.add("dtstart", datetime.combine(session.date, session.start, tzinfo=zone))
    event.add("dtend", datetime.combine(session.date, session.end, tzinfo=zone))
    event.add("summary", f"组团走访 {session.team}（{len(session.route)} 户）")
    event.add(
        "description",
        "\n".join(
            [
                f"团队 team: {session.team}",
                f"参加人员 attendees: {', '.join(names.get(m, m) for m in session.attendees)}",
                f"走访路线 route: {' → '.join(session.route)}",
                f"步行 walk: {session.walk_km:.2f} km",
            ]
        ),
    )
    for member in session.attendees:
        attendee = vCalAddress(f"urn:x-linli:member:{member}")
        attendee.params["cn"] = vText(names.get(member, member))
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    return event


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name) or "team"


def write_calendars(
    problem: VisitProblem, schedule: Schedule, folder: str | os.PathLike[str]
) -> list[Path]:
    """Write ``community.ics`` and ``team-<id>.ics`` per team with sessions; return the paths.

    Each file is written to a temporary name first and renamed, so a failure leaves no partial
    file behind.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = {out / "community.ics": calendar_bytes(problem, schedule)}
    for team in sorted({s.team for s in schedule.sessions}):
        files[out / f"team-{_safe(team)}.ics"] = calendar_bytes(problem, schedule, team)
    for path, data in files.items():
        temporary = path.with_suffix(".ics.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
    return list(files)
