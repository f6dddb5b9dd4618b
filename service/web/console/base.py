"""The console's blueprint, login, CSRF check, locale and the labels every page shares."""

from __future__ import annotations

import functools
import hmac
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from matcher.vocabulary import CATEGORIES
from service.config.identity import Client
from service.db.people import Person
from service.domain import audit
from service.domain.availability import LOCAL
from service.domain.errors import DomainError
from service.domain.labels import PRIORITY_LABELS, SOURCE_LABELS
from service.domain.people import (
    check_login,
    end_sessions,
    lock_out_if_needed,
    login_locked,
    person_client,
    session_is_current,
)
from service.domain.scope import is_district
from service.web.auth import new_csrf_token
from service.web.errors import refusal_errors, refusal_message, status_of

DEFAULT_LOCALE = "zh_Hans_CN"
LOCALES = ("zh_Hans_CN", "en")
LANG_COOKIE = "linli_lang"
CSRF_FIELD = "csrf_token"
DEFAULT_TILE_URL = ""
"""No base map unless one is configured (:func:`tile_settings`)."""
DEFAULT_TILE_ATTRIBUTION = ""
"""A custom tile server's attribution: ``LINLI_MAP_ATTRIBUTION``."""

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder=str(Path(__file__).resolve().parents[2] / "static"),
    static_url_path="/static",
)
root_bp = Blueprint("console_root", __name__)
"""Only ``/`` (a redirect to the console)."""

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])

# --------------------------------------------------------------------------------------------
# Labels (glossary terms)
# --------------------------------------------------------------------------------------------

DEMAND_STATUS = {
    "open": _l("Open"),
    "dispatched": _l("Dispatched"),
    "accepted": _l("Accepted"),
    "completed": _l("Served, awaiting feedback"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}
TASK_STATUS = {
    "offered": _l("Offered"),
    "accepted": _l("Accepted"),
    "completed": _l("Completed"),
    "declined": _l("Declined"),
}
RUN_STATUS = {
    "queued": _l("Queued"),
    "running": _l("Dispatching"),
    "succeeded": _l("Finished"),
    "failed": _l("Failed"),
}
REASONS = {
    "no_skill": _l("Nobody has the skills"),
    "out_of_range": _l("Nobody with the skills lives within range"),
    "no_availability": _l("Nobody in range is free in the window"),
    "priority": _l("More urgent demands kept the members busy"),
    "capacity": _l("The members who could serve it have no hours left"),
    "conflict": _l("Clashes with tasks already given"),
    "no_candidate": _l("No member is left who has not declined it"),
    "nothing_to_dispatch": _l("Nothing to dispatch"),
}
REASON_ADVICE = {
    "no_skill": _l(
        "No active member holds the skills it needs. Register a member with the skill, or ask "
        "for fewer skills."
    ),
    "out_of_range": _l(
        "The members with the skills live too far away. Ask a member with the skill who lives "
        "nearby, or let members serve farther from home."
    ),
    "no_availability": _l(
        "The members with the skills nearby are not free in its window. Widen the window, or ask "
        "one of them to add a free time."
    ),
    "capacity": _l(
        "The members who could serve it have no hours left. Raise a member's weekly hours, or "
        "move it to a later window."
    ),
    "conflict": _l(
        "Its time clashes with the tasks those members already hold. Widen the window so that it "
        "fits beside them."
    ),
    "priority": _l(
        "More urgent demands kept the members who could serve it busy. Raise its priority, or "
        "widen its window."
    ),
    "no_candidate": _l(
        "Every member who could take it has declined it. Ask a member in person, or cancel it."
    ),
}
"""What each reason a demand was left out means and what the dispatcher can do about it."""


REASON_FACTS = {
    "no_skill": _l("Nobody holds %(skills)s."),
    "out_of_range": _l(
        "%(holders)s members hold %(skills)s; the nearest lives %(nearest_km)s km away (the "
        "limit is %(limit_km)s km)."
    ),
    "no_availability": _l(
        "%(in_range)s members with the skills live nearby, but none is free for %(hours)s hours "
        "in %(window)s."
    ),
    "capacity": _l(
        "The %(members)s members who could serve it have fewer than %(hours)s hours left."
    ),
    "conflict": _l("The %(members)s members who could serve it hold other tasks in %(window)s."),
    "outranked": _l(
        "%(n)s more urgent demands (priority %(low)s to %(high)s) hold the members who could "
        "serve it."
    ),
    "cost": _l("Serving it would cost more than leaving it out at priority %(priority)s."),
}
"""What the engine found, from the ``params`` of its reason (``docs/contracts/dispatch.md``)."""


def _window_text(start: Any, end: Any) -> str:
    try:
        a = datetime.fromisoformat(str(start)).astimezone(LOCAL)
        b = datetime.fromisoformat(str(end)).astimezone(LOCAL)
    except ValueError:
        return ""
    same = a.date() == b.date()
    if is_chinese():
        head = f"{a.month}月{a.day}日 {a:%H:%M}"
        return f"{head}–{b:%H:%M}" if same else f"{head}–{b.month}月{b.day}日 {b:%H:%M}"
    return f"{a:%m-%d %H:%M}–{b:%H:%M}" if same else f"{a:%m-%d %H:%M}–{b:%m-%d %H:%M}"


def _skills_text(skills: Any) -> str:
    names = [category_label(str(s)) for s in (skills or [])]
    return "、".join(names) if is_chinese() else ", ".join(names)


def _facts(reason: str, params: Mapping[str, Any]) -> str | None:
    """The engine's findings in the console's language, or ``None`` if ``params`` lack them."""
    try:
        if reason == "no_skill":
            values: dict[str, Any] = {"skills": _skills_text(params["skills"])}
        elif reason == "out_of_range":
            values = {
                "holders": params["holders"],
                "skills": _skills_text(params["skills"]),
                "nearest_km": f"{float(params['nearest_km']):.1f}",
                "limit_km": f"{float(params['limit_km']):g}",
            }
        elif reason == "no_availability":
            values = {
                "in_range": params["in_range"],
                "hours": f"{float(params['duration_hours']):g}",
                "window": _window_text(params["window_start"], params["window_end"]),
            }
        elif reason == "capacity":
            values = {"members": params["members"], "hours": f"{float(params['duration_hours']):g}"}
        elif reason == "conflict":
            values = {
                "members": params["members"],
                "window": _window_text(params["window_start"], params["window_end"]),
            }
        elif reason == "priority" and params.get("basis") == "outranked":
            reason = "outranked"
            values = {
                "n": len(params["blocking_demands"]),
                "low": params["blocking_priority_min"],
                "high": params["blocking_priority_max"],
            }
        elif reason == "priority" and params.get("basis") == "cost":
            reason = "cost"
            values = {"priority": params["priority"]}
        else:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return str(REASON_FACTS[reason] % values)


def reason_text(reason: str | None, params: Mapping[str, Any] | None = None) -> str:
    """A left-out demand's reason as the console says it: what the engine found (from the
    reason's ``params``, when the answer carries them) and what the dispatcher can do (the
    engine's English ``detail`` stays in the API)."""
    if reason is None:
        return ""
    advice = REASON_ADVICE.get(reason)
    text = str(advice) if advice is not None else str(label(REASONS, reason))
    facts = _facts(reason, params) if isinstance(params, Mapping) and params else None
    return f"{facts}{text}" if facts and is_chinese() else (f"{facts} {text}" if facts else text)


ENGINE_STATUS = {
    "optimal": _l("optimal (proven best)"),
    "feasible": _l("feasible (within the time limit)"),
    "nothing_to_dispatch": _l("nothing to dispatch"),
}
COMMITMENT_STATUS = {
    "open": _l("In progress"),
    "kept": _l("Kept"),
    "missed": _l("Missed"),
    "withdrawn": _l("Withdrawn"),
}
MEMBER_STATUS = {
    "registered": _l("Registered"),
    "active": _l("Active"),
    "left": _l("Left"),
}


def is_chinese() -> bool:
    return str(get_locale() or DEFAULT_LOCALE).startswith("zh")


@bp.app_template_filter("category")
def category_label(category: str) -> str:
    """A service category in the console's language (the engine's Chinese labels)."""
    if is_chinese():
        return CATEGORIES.get(category, category)
    return category.replace("_", " ")


def label(table: dict[str, Any], code: str | None) -> str:
    if code is None:
        return ""
    return str(table.get(code, code))


def local_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in Beijing time (stored UTC datetimes and ISO strings alike)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(LOCAL).strftime(fmt)


def counted(text: str, n: object) -> str:
    """A heading with its count: "待接单（3）" in Chinese, "Offered (3)" in English."""
    return f"{text}（{n}）" if is_chinese() else f"{text} ({n})"


def hours_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@bp.app_template_global()
def console_csrf() -> str:
    """The session's CSRF token (every console form carries it as ``csrf_token``)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = new_csrf_token()
    return str(token)


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "category_label": category_label,
        "label": label,
        "reason_text": reason_text,
        "local_time": local_time,
        "hours_text": hours_text,
        "counted": counted,
        "DEMAND_STATUS": DEMAND_STATUS,
        "TASK_STATUS": TASK_STATUS,
        "RUN_STATUS": RUN_STATUS,
        "REASONS": REASONS,
        "ENGINE_STATUS": ENGINE_STATUS,
        "COMMITMENT_STATUS": COMMITMENT_STATUS,
        "MEMBER_STATUS": MEMBER_STATUS,
        "SOURCE_LABELS": SOURCE_LABELS,
        "PRIORITY_LABELS": PRIORITY_LABELS,
        "lang": "zh-CN" if is_chinese() else "en",
        "other_lang": "en" if is_chinese() else "zh",
        "me": g.get("console_client"),
        "person": g.get("console_person"),
    }


# --------------------------------------------------------------------------------------------
# Locale: ?lang=en|zh, then the cookie, then Simplified Chinese
# --------------------------------------------------------------------------------------------


def _lang_code(value: str | None) -> str | None:
    if not value:
        return None
    value = value.lower()
    if value.startswith("en"):
        return "en"
    if value.startswith("zh"):
        return DEFAULT_LOCALE
    return None


def select_locale() -> str:
    return (
        _lang_code(request.args.get("lang"))
        or _lang_code(request.cookies.get(LANG_COOKIE))
        or DEFAULT_LOCALE
    )


@bp.after_request
def _remember_lang(response: Response) -> Response:
    chosen = _lang_code(request.args.get("lang"))
    if chosen is not None:
        response.set_cookie(
            LANG_COOKIE, "en" if chosen == "en" else "zh", max_age=365 * 86400, samesite="Lax"
        )
    if request.endpoint != "console.static":
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


# --------------------------------------------------------------------------------------------
# Database, login, CSRF
# --------------------------------------------------------------------------------------------


@contextmanager
def db() -> Iterator[Session]:
    with current_app.extensions["linli"].sessions() as s:
        yield s


def cipher() -> Any:
    return current_app.extensions["linli"].cipher


def client() -> Client:
    found: Client = g.console_client
    return found


def _load_login() -> tuple[Person, Client] | None:
    person_id = session.get("person_id")
    if not isinstance(person_id, int):
        return None
    with db() as s:
        person = s.get(Person, person_id)
        current = person is not None and session_is_current(person, session.get("session_version"))
        found = person_client(s, person) if current and person is not None else None
        if person is not None:
            s.expunge(person)
    if person is None or found is None:
        session.pop("person_id", None)
        return None
    return person, found


def _check_csrf() -> None:
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf", "")
    if not (sent and expected and hmac.compare_digest(str(sent), str(expected))):
        raise _Forbidden(_("This form has expired; reload the page and try again."))


class _Forbidden(HTTPException):
    code = 403


class _TooMany(HTTPException):
    code = 429
    retry_after = "1"


def _take_rate_token(person: Client) -> None:
    """The same per-person rate limit as the API (``LINLI_RATE_LIMIT``): 429 when it is spent."""
    limiter = current_app.extensions["linli"].rate_limiter
    if limiter is None:
        return
    wait_s = limiter.take(("person", person.id))
    if wait_s is not None:
        error = _TooMany(_("Too many requests; wait a moment and try again."))
        error.retry_after = limiter.retry_after_header(wait_s)
        raise error


def login_required(view: F) -> F:
    """Logged out: a redirect to the login page. A form post without the CSRF token: 403."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        login = _load_login()
        if login is None:
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            _check_csrf()
        _take_rate_token(login[1])
        g.console_person, g.console_client = login
        g.api_client = login[1]  # what service.web.auth.current_client() reads
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host) is followed after the login."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("console.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; posts username, password and the CSRF token."""
    error = None
    status = 200
    if request.method == "POST":
        _check_csrf()
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        with db() as s:
            if login_locked(s, username):
                error, status = _("Too many failed logins for this username; try later."), 429
            else:
                person = check_login(s, username, password)
                found = None if person is None else person_client(s, person)
                if person is None or found is None:
                    audit.record(s, None, "login_failed", "person", username[:64], None)
                    lock_out_if_needed(s, username)
                    s.commit()
                    error, status = _("Wrong username or password."), 401
                else:
                    audit.record(s, found, "login", "person", str(person.id), None)
                    s.commit()
                    session.clear()
                    session.permanent = True
                    session["person_id"] = person.id
                    session["session_version"] = person.session_version
                    session["csrf"] = new_csrf_token()
                    return redirect(_safe_next(request.form.get("next")))
    return (
        render_template("console/login.html", error=error, next=request.values.get("next", "")),
        status,
    )


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    _check_csrf()
    person_id = session.get("person_id")
    if isinstance(person_id, int):
        with db() as s:
            end_sessions(s, person_id)
            s.commit()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("console.login"))


@bp.route("/")
@login_required
def home() -> ResponseReturnValue:
    """Where each role starts: members their tasks, dispatchers their demand list."""
    me = client()
    if me.role == "member":
        return redirect(url_for("console.my_tasks"))
    if me.role == "unit_organiser" and me.unit_id:
        return redirect(url_for("console.unit_evaluations"))
    if me.communities and not is_district(me):
        return redirect(url_for("console.demands", community_id=me.communities[0]))
    from sqlalchemy import select

    from service.db.registration import Community

    communities: list[Community] = []
    if is_district(me):
        with db() as s:
            communities = list(s.scalars(select(Community).order_by(Community.id)))
    return render_template("console/home.html", communities=communities)


# --------------------------------------------------------------------------------------------
# Errors as pages, and messages after a change
# --------------------------------------------------------------------------------------------

ERROR_TITLES = {
    403: _l("Not allowed"),
    404: _l("Not found"),
    409: _l("Changed meanwhile"),
    422: _l("Not possible"),
    429: _l("Too many requests"),
}


@bp.errorhandler(HTTPException)
@bp.errorhandler(DomainError)
def _error_page(exc: HTTPException | DomainError) -> ResponseReturnValue:
    code = status_of(exc)
    detail = refusal_message(exc) if code < 500 else None
    if isinstance(exc, _Forbidden | _TooMany):
        detail = exc.description
    title = ERROR_TITLES.get(code, _l("Something went wrong"))
    page = render_template("console/error.html", code=code, title=title, detail=detail)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, _TooMany) else {}
    return page, code, headers


REFUSAL_TEXTS = {
    "window_ended": _l("The demand's window ended at %(end)s: the offer has lapsed."),
    "not_started": _l("The task starts at %(start)s; mark it completed once it has been served."),
    "too_many_hours": _l("At most %(hours)s hours can be reported for this task."),
    "told_at_out_of_range": _l(
        "The time the resident was told must lie between the order and now."
    ),
    "feedback_not_due": _l("Feedback is recorded once the demand is served or cancelled."),
    "feedback_recorded": _l("This demand's feedback is recorded already."),
    "note_is_demand": _l("This visit note has already become a demand."),
    "crew_not_claimable": _l(
        "This demand needs a crew of %(crew)s serving together: dispatch it with the open demands."
    ),
}
"""Refusals the console says in its own words (``DomainError.reason`` → sentence)."""


def failure_text(exc: HTTPException | DomainError) -> str:
    """What a refused change tells the person: the console's own sentence for a refusal with a
    known ``reason``, else the message kept for the detail."""
    title = str(ERROR_TITLES.get(status_of(exc), _l("Something went wrong")))
    reason = getattr(exc, "reason", None)
    if reason in REFUSAL_TEXTS:
        return f"{title}：{REFUSAL_TEXTS[reason] % getattr(exc, 'params', {})}"
    fallback = exc.description if isinstance(exc, HTTPException) else None
    parts = [refusal_message(exc) or fallback or ""]
    parts += [f"{k}: {'; '.join(map(str, v))}" for k, v in refusal_errors(exc).items()]
    return f"{title}: {' '.join(p for p in parts if p)}"


def back(default: str) -> ResponseReturnValue:
    """Redirect to the ``back`` form field if it is a path of this site, else ``default``."""
    target = request.form.get("back")
    return redirect(target if target and _safe_next(target) == target else default)


def tile_settings() -> dict[str, str]:
    """The map's base map: a preset chosen by ``LINLI_MAP_PRESET`` (or ``CONSOLE_MAP_PRESET`` in
    the app config; every ``LINLI_MAP_*`` setting below has its ``CONSOLE_MAP_*`` twin).

    - ``none`` (the default): no base map at all, nothing fetched from outside. The map still
      draws the community's grids, buildings, demands and members, with a scale bar.
    - ``tianditu``: 天地图 (the national platform; WGS-84 tiles, the stored coordinates as they
      are), its vector map and its Chinese labels. Needs a key: ``LINLI_TIANDITU_KEY``; without
      one the map runs as ``none`` and logs a warning.
    - ``amap``: AMap/高德 (GCJ-02 tiles): the page shifts the stored WGS-84 points to GCJ-02
      (``crs`` ``gcj02``) so that they sit on AMap's streets.
    - ``custom``: any tile server, ``LINLI_MAP_TILE_URL`` (a Leaflet URL template),
      ``LINLI_MAP_SUBDOMAINS`` and ``LINLI_MAP_CRS`` (``wgs84`` or ``gcj02``). Setting a tile URL
      without a preset means ``custom``.

    ``LINLI_MAP_ATTRIBUTION`` replaces the preset's attribution; ``LINLI_MAP_APPROVAL`` (the base
    map's 审图号, as its provider publishes it) is shown after it. The map shows this attribution
    alone (no Leaflet prefix). OpenStreetMap is no preset: its tiles are not an approved map
    service in China.

    Returns:
        ``preset``, ``url`` (empty without a base map), ``labels_url`` (an overlay, or empty),
        ``attribution``, ``subdomains``, ``crs`` and ``max_zoom``.
    """
    config = current_app.config

    def setting(name: str, default: str = "") -> str:
        value = config.get(f"CONSOLE_MAP_{name}") or os.environ.get(f"LINLI_MAP_{name}")
        return str(value or default).strip()

    key = str(
        config.get("CONSOLE_MAP_TIANDITU_KEY") or os.environ.get("LINLI_TIANDITU_KEY") or ""
    ).strip()
    preset = setting("PRESET").lower() or ("custom" if setting("TILE_URL") else MAP_PRESET_NONE)
    if preset not in MAP_PRESETS:
        current_app.logger.warning(
            "LINLI_MAP_PRESET=%s is not one of %s: no base map", preset, MAP_PRESETS
        )
        preset = MAP_PRESET_NONE
    if preset == "tianditu" and not key:
        current_app.logger.warning(
            "LINLI_MAP_PRESET=tianditu needs LINLI_TIANDITU_KEY: no base map"
        )
        preset = MAP_PRESET_NONE
    if preset == "custom" and not setting("TILE_URL"):
        current_app.logger.warning("LINLI_MAP_PRESET=custom needs LINLI_MAP_TILE_URL: no base map")
        preset = MAP_PRESET_NONE
    tiles = {"preset": preset, "labels_url": "", "max_zoom": "18", "crs": "wgs84"}
    if preset == "tianditu":
        tiles |= {
            "url": TIANDITU_TILE_URL.replace("{key}", key),
            "labels_url": TIANDITU_LABELS_URL.replace("{key}", key),
            "attribution": TIANDITU_ATTRIBUTION,
            "subdomains": "01234567",
        }
    elif preset == "amap":
        tiles |= {
            "url": AMAP_TILE_URL,
            "attribution": AMAP_ATTRIBUTION,
            "subdomains": "1234",
            "crs": "gcj02",
        }
    elif preset == "custom":
        tiles |= {
            "url": setting("TILE_URL"),
            "attribution": DEFAULT_TILE_ATTRIBUTION,
            "subdomains": setting("SUBDOMAINS", "abc"),
            "crs": "gcj02" if setting("CRS").lower() == "gcj02" else "wgs84",
            "max_zoom": "19",
        }
    else:
        tiles |= {"url": DEFAULT_TILE_URL, "attribution": "", "subdomains": ""}
    attribution = setting("ATTRIBUTION") or tiles["attribution"]
    approval = setting("APPROVAL")
    tiles["attribution"] = " · ".join(part for part in (attribution, approval) if part)
    return tiles


# --------------------------------------------------------------------------------------------
# The map's presets, and the site's icon
# --------------------------------------------------------------------------------------------

MAP_PRESET_NONE = "none"
MAP_PRESETS = (MAP_PRESET_NONE, "tianditu", "amap", "custom")
TIANDITU_TILE_URL = (
    "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)
"""天地图's vector map in Web Mercator (``_w``), WGS-84 coordinates; ``{key}`` is the key."""
TIANDITU_LABELS_URL = TIANDITU_TILE_URL.replace("vec_w", "cva_w").replace("LAYER=vec", "LAYER=cva")
"""天地图's Chinese place names, drawn over its vector map."""
TIANDITU_ATTRIBUTION = "© 天地图"
AMAP_TILE_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
"""AMap/高德's road map (GCJ-02)."""
AMAP_ATTRIBUTION = "© 高德地图"

FAVICON = "favicon.ico"


@root_bp.route("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """``/favicon.ico``: the console's icon (no login: the root blueprint is the console's,
    which :func:`service.web.auth.authenticate` leaves to the pages themselves)."""
    from flask import send_from_directory

    return send_from_directory(
        Path(__file__).resolve().parents[2] / "static",
        FAVICON,
        mimetype="image/vnd.microsoft.icon",
        max_age=7 * 86400,
    )
