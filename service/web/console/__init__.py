"""The console (社区工作台): server-rendered pages for dispatchers (office PC) and members (phone).

Pages are Flask + Jinja under ``/console`` (``/`` redirects there), in Simplified Chinese by
default and English with ``?lang=en`` (remembered in a cookie); msgids are English, the
``zh_Hans_CN`` catalog is ``service/translations``. Terms follow the project glossary.

The console logs people in with the same session as ``POST /api/v1/login``
(``session["person_id"]`` and the CSRF token ``session["csrf"]``), so the page scripts and the
form posts to the API (sheets, map data, run status) carry the same cookie. Console pages check
the login themselves (:func:`service.web.console.base.login_required`): a page redirects to the
login
form instead of answering JSON 401, and every form post must carry the ``csrf_token`` field.
Every read goes through :mod:`service.domain.scope` exactly as the API does, and every change
through :mod:`service.domain.flow`; a dispatch is a background run (no page waits on a solve).
"""

from __future__ import annotations

from flask import Flask, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import Babel

from service.web.console.base import DEFAULT_LOCALE, bp, root_bp, select_locale


def init_console(app: Flask) -> None:
    """Flask-Babel (Simplified Chinese default, English second) and the console's blueprints."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    Babel(app, locale_selector=select_locale)
    from service.web.console import (  # noqa: F401  (routes register on import)
        demand_form,
        dispatcher,
        evaluations,
        imports,
        member,
        member_form,
        modes,
        records,
    )

    app.register_blueprint(bp)
    app.register_blueprint(root_bp)


@root_bp.route("/")
def index() -> ResponseReturnValue:
    """``/``: the console."""
    return redirect(url_for("console.home"))
