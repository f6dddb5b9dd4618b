"""Excel imports in the console: the dispatcher's form posts here, the sheet is read and checked
by the sheets API's own :func:`service.web.api.sheets.import_sheet` (all rows or none, a dry run
first), and the answer is a page in Chinese that names every problem by its Excel row and its
column's header, or (a real import that succeeded) the list it went into, up to date.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from service.domain.errors import DomainError
from service.web.api.sheets import import_sheet
from service.web.console.base import bp, cipher, client, db, failure_text, login_required
from service.web.console.dispatcher import community_page, managed
from service.web.console.forms import message_text
from service.web.errors import refusal_errors, status_of
from service.web.workbooks import COORDINATE_SYSTEMS, IMPORT_KINDS, SHEET_TITLES, header_of

LISTS = {"members": "console.members", "residents": "console.members", "demands": "console.demands"}
"""Where each kind of sheet's rows are listed once imported."""


def sheet_problems(kind: str, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Each problem as the person sees it in Excel: the row number, the column's header and
    what is wrong, in the console's language (sheet-wide problems have no row)."""
    out = []
    for path, messages in errors.items():
        row: int | None = None
        field = path
        if path.startswith("rows[") and "]" in path:
            number = path[5 : path.index("]")]
            if number.isdigit():
                row = int(number)
                field = path[path.index("]") + 1 :].lstrip(".")
        column = header_of(kind, field) if field else None
        out.append(
            {
                "row": row,
                "column": column or (_("the whole sheet") if row is None else _("the row")),
                "messages": [message_text(m) for m in messages],
            }
        )
    return out


@bp.route("/c/<community_id>/imports/<kind>", methods=["POST"])
@login_required
def import_page(community_id: str, kind: str) -> ResponseReturnValue:
    """A sheet checked (dry run) or imported, and the outcome explained."""
    if kind not in IMPORT_KINDS:
        abort(404)
    with db() as s:
        community = managed(s, community_id)
        upload = request.files.get("file")
        dry_run = request.form.get("dry_run", "true") != "false"
        coordinates = request.form.get("coordinates", "wgs84")
        if coordinates not in COORDINATE_SYSTEMS:
            coordinates = "wgs84"
        result: dict[str, Any] | None = None
        problems: list[dict[str, Any]] = []
        failure = None
        if upload is None or not upload.filename:
            failure = _("Choose the sheet (.xlsx) to import.")
        else:
            try:
                result = import_sheet(
                    s,
                    client(),
                    community.id,
                    kind,
                    upload.read(),
                    cipher(),
                    filename=upload.filename,
                    dry_run=dry_run,
                    coordinates=coordinates,
                )
            except (HTTPException, DomainError) as exc:
                if status_of(exc) in (403, 404):
                    raise
                s.rollback()
                problems = sheet_problems(kind, refusal_errors(exc))
                failure = None if problems else failure_text(exc)
        if result is not None:
            problems = sheet_problems(kind, result["errors"])
            if not dry_run and not problems:
                flash(_("Imported %(n)s rows.", n=result["count"]), "success")
                return redirect(url_for(LISTS[kind], community_id=community.id))
        page = community_page(
            "import_result.html",
            community,
            "members" if kind != "demands" else "demands",
            kind=kind,
            title=SHEET_TITLES[kind],
            dry_run=dry_run,
            result=result,
            problems=problems,
            failure=failure,
            back=url_for(LISTS[kind], community_id=community.id),
        )
        return page, 422 if (problems or failure) else 200
