"""Excel templates, imports and exports, and the community map (issue #8).

``GET /sheets/{kind}/template.xlsx`` gives an import template; ``POST
/communities/{id}/imports/{kind}`` imports a filled one (multipart, field ``file``; a session
login also sends ``csrf_token`` in the form, checked by :func:`service.web.auth.authenticate`), all
or nothing, with a dry run; ``GET /communities/{id}/exports/{list}.xlsx`` exports a list scoped
exactly like its JSON list; ``GET /communities/{id}/map`` gives the community's open demands and
active members as GeoJSON. The sheet logic is :mod:`service.web.workbooks` (no Flask).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.vocabulary import CATEGORIES
from service.config.identity import Client
from service.db.base import utcnow
from service.db.flow import Demand, Task
from service.db.longterm import Household
from service.db.registration import Building, Community, Grid, Member, Unit, new_id
from service.domain import audit, demand_history, flow, ledger, visit_notes
from service.domain.errors import Invalid
from service.domain.labels import DEMAND_ACTION_LABELS
from service.domain.members import apply_profile, member_names, present_member
from service.domain.personal_data import FieldCipher
from service.domain.scope import get_scoped, require_manager, scoped
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint
from service.web.auth import current_client
from service.web.errors import cap_errors, fail
from service.web.schemas.ledger import LedgerQuerySchema
from service.web.workbooks import (
    COORDINATE_SYSTEMS,
    EXPORT_KINDS,
    EXPORT_TITLES,
    IMPORT_KINDS,
    SHEET_TITLES,
    XLSX_MIMETYPE,
    SheetRow,
    export,
    parse_sheet,
    row_path,
    template,
)

log = logging.getLogger(__name__)

MAP_PRECISION_DECIMALS = 3
"""Members' homes on the map are rounded to 0.001° (about 110 m north–south, 90 m east–west)."""
MAP_DEMAND_STATUSES = ("open", "dispatched")
XLSX_SUFFIXES = (".xlsx", ".xlsm")

blp = Blueprint(
    "sheets",
    __name__,
    url_prefix=API_PREFIX,
    description="Excel templates, imports (all or nothing, with a dry run) and exports of the "
    "lists; the community map (GeoJSON, WGS-84).",
)


def _session() -> Session:
    session: Session = current_app.extensions["linli"].sessions()
    return session


def _cipher() -> FieldCipher:
    cipher: FieldCipher = current_app.extensions["linli"].cipher
    return cipher


def _xlsx(body: bytes, filename: str) -> Response:
    return Response(
        body,
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class ImportQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "true: check every row and write nothing (200)"},
    )
    coordinates = fields.String(
        load_default="wgs84",
        validate=validate.OneOf(tuple(COORDINATE_SYSTEMS)),
        metadata={
            "description": "the coordinates of rows whose 坐标系 cell is blank: wgs84 "
            "(GPS, 天地图) or gcj02 (AMap/高德, converted to WGS-84)"
        },
    )


class ImportFileSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # a file under another name is answered "file: is required"

    file = Upload(metadata={"description": "the filled template (.xlsx)"})
    csrf_token = fields.String(
        metadata={"description": "a session login's CSRF token (or the X-CSRF-Token header)"}
    )


class ImportResultSchema(Schema):
    dry_run = fields.Boolean(
        required=True, metadata={"description": "Nothing was stored (a check only)"}
    )
    rows = fields.Integer(required=True, metadata={"description": "data rows read"})
    count = fields.Integer(
        required=True,
        metadata={"description": "rows that would be written (dry run) or were written"},
    )
    ids = fields.List(
        fields.String(), required=True, metadata={"description": "the ids written (dry run: [])"}
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "dry run: messages by rows[<Excel row>].<field>; else {}"},
    )
    error_count = fields.Integer(
        required=True, metadata={"description": "How many rows had errors"}
    )


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------


def _path_enum(name: str, values: Sequence[str], description: str) -> dict[str, Any]:
    return {
        "in": "path",
        "name": name,
        "required": True,
        "description": description,
        "schema": {"type": "string", "enum": list(values)},
    }


_IMPORT_KIND = _path_enum("kind", IMPORT_KINDS, "members, demands or residents (households)")


def _template_view(kind: str) -> type[MethodView]:
    """The view of one kind's template (one fixed route per kind: a template is no object of
    any community, so its path holds no argument)."""

    class SheetTemplate(MethodView):
        @blp.response(
            200,
            {"type": "string", "format": "binary"},
            content_type=XLSX_MIMETYPE,
            description="An xlsx workbook: the data sheet, 填写说明 and 选项.",
        )
        @blp.error_responses(*AUTH_ERRORS)
        def get(self) -> Any:
            return _xlsx(template(kind), f"{kind}-template.xlsx")

    SheetTemplate.get.__doc__ = (
        f"The import template of {kind} ({SHEET_TITLES[kind]}): Chinese headers, drop-downs "
        "(categories and skills by their Chinese labels, priority, the coordinate system) and "
        "a sheet of instructions (填写说明)."
    )
    SheetTemplate.__name__ = f"SheetTemplate_{kind}"
    return SheetTemplate


for _kind in IMPORT_KINDS:
    blp.route(f"/sheets/{_kind}/template.xlsx", endpoint=f"template_{_kind}")(_template_view(_kind))


# --------------------------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------------------------


def _upload() -> tuple[bytes, str]:
    """The uploaded file's bytes and name; 422 naming ``file`` if it is missing or not xlsx."""
    upload = request.files.get("file")
    if upload is None:
        fail(
            422,
            "The request is not valid: send the sheet as the multipart field file.",
            errors={"file": ["is required (multipart/form-data, an .xlsx file)"]},
        )
    name = (upload.filename or "file").rsplit("/", 1)[-1][:100]
    data = upload.read()
    if not data:
        fail(422, "The request is not valid: the file is empty.", errors={"file": ["is empty"]})
    return data, name


def _invalid(errors: dict[str, list[str]]) -> None:
    """422 listing the bad rows and fields (at most `MAX_ERRORS` paths), if there are any."""
    if not errors:
        return
    capped, total = cap_errors(errors)
    noun = "error" if total == 1 else "errors"
    fail(422, f"The sheet is not valid: {total} {noun}; nothing was written.", errors=capped)


class _Resolver:
    """Names or ids of units, grids and buildings → ids, within one community."""

    def __init__(self, session: Session, client: Client, community_id: str) -> None:
        self.session, self.client, self.community_id = session, client, community_id
        self._cache: dict[tuple[str, str], tuple[str | None, str | None]] = {}

    def _lookup(self, what: str, value: str, grid_id: str | None = None) -> tuple[Any, str | None]:
        key = (what, f"{grid_id}:{value}")
        if key in self._cache:
            return self._cache[key]
        found: tuple[str | None, str | None]
        if what == "unit":
            rows = self._rows(select(Unit.id, Unit.name), Unit.id, Unit.name, value)
            found = _one(rows, value, "unit")
        elif what == "grid":
            grids = select(Grid.id, Grid.name).where(Grid.community_id == self.community_id)
            found = _one(self._rows(grids, Grid.id, Grid.name, value), value, "grid")
        else:
            query = (
                select(Building.id, Building.name, Building.grid_id)
                .join(Grid, Grid.id == Building.grid_id)
                .where(Grid.community_id == self.community_id)
            )
            if grid_id is not None:
                query = query.where(Building.grid_id == grid_id)
            found = _one(self._rows(query, Building.id, Building.name, value), value, "building")
        self._cache[key] = found
        return found

    def _rows(self, query: Any, id_column: Any, name_column: Any, value: str) -> list[Any]:
        by_id = self.session.execute(scoped(query.where(id_column == value), self.client)).all()
        if by_id:
            return list(by_id)
        return list(self.session.execute(scoped(query.where(name_column == value), self.client)))

    def unit(self, value: str) -> tuple[str | None, str | None]:
        return self._lookup("unit", value)

    def grid(self, value: str) -> tuple[str | None, str | None]:
        return self._lookup("grid", value)

    def building(self, value: str, grid_id: str | None) -> tuple[str | None, str | None]:
        return self._lookup("building", value, grid_id)

    def grid_of(self, building_id: str) -> str | None:
        return self.session.scalar(select(Building.grid_id).where(Building.id == building_id))


def _one(rows: Sequence[Any], value: str, what: str) -> tuple[str | None, str | None]:
    """``(id, None)`` for exactly one match, else ``(None, message)``."""
    if len(rows) == 1:
        return str(rows[0][0]), None
    if not rows:
        return None, f"no such {what} (an id or a name)"
    return None, f"{len(rows)} {what}s have the name {value}: use the id"


def _check_members(
    session: Session, client: Client, community_id: str, rows: list[SheetRow]
) -> dict[str, list[str]]:
    """Resolve units, grids and buildings; card numbers must be new and not repeated."""
    errors: dict[str, list[str]] = {}
    resolver = _Resolver(session, client, community_id)
    seen: dict[str, int] = {}
    cards = [row.data["card_number"] for row in rows]
    taken = set(session.scalars(select(Member.card_number).where(Member.card_number.in_(cards))))
    for row in rows:
        data = row.data
        card = data["card_number"]
        if card in taken:
            errors[row_path(row.row, "card_number")] = ["already registered"]
        elif card in seen:
            errors[row_path(row.row, "card_number")] = [f"repeats row {seen[card]}"]
        seen.setdefault(card, row.row)
        for name, lookup in (("unit_id", resolver.unit), ("grid_id", resolver.grid)):
            if data.get(name) is not None:
                found, problem = lookup(data[name])
                if problem is not None:
                    errors[row_path(row.row, name)] = [problem]
                data[name] = found
        if data.get("building_id") is not None:
            found, problem = resolver.building(data["building_id"], data.get("grid_id"))
            if problem is not None:
                errors[row_path(row.row, "building_id")] = [
                    problem + (" in the member's grid" if data.get("grid_id") else "")
                ]
            elif found is not None and data.get("grid_id") is None:
                data["grid_id"] = resolver.grid_of(found)
            data["building_id"] = found
    return errors


def _check_residents(
    session: Session, client: Client, community_id: str, rows: list[SheetRow]
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    resolver = _Resolver(session, client, community_id)
    for row in rows:
        found, problem = resolver.building(row.data["building_id"], None)
        if problem is not None:
            errors[row_path(row.row, "building_id")] = [problem + " in the community"]
        row.data["building_id"] = found
    return errors


def _check_demands(
    session: Session,
    client: Client,
    community_id: str,
    rows: list[SheetRow],
    cipher: FieldCipher,
) -> dict[str, list[str]]:
    """Resolve buildings by id or name; every row needs a place (its own or its building's)."""
    errors: dict[str, list[str]] = {}
    resolver = _Resolver(session, client, community_id)
    for row in rows:
        if row.data.get("building_id") is not None:
            found, problem = resolver.building(row.data["building_id"], None)
            if problem is not None:
                errors[row_path(row.row, "building_id")] = [problem + " in the community"]
            row.data["building_id"] = found
    placed = [row for row in rows if row_path(row.row, "building_id") not in errors]
    try:
        flow.import_demands(
            session,
            client,
            community_id,
            [row.data for row in placed],
            cipher,
            dry_run=True,
            paths=[f"rows[{row.row}]" for row in placed],
        )
    except Invalid as problem:
        errors.update(problem.errors or {})
    return errors


def _write_members(
    session: Session, client: Client, community_id: str, rows: list[SheetRow]
) -> list[str]:
    ids: list[str] = []
    for row in rows:
        member = Member(
            id=new_id("m"),
            community_id=community_id,
            card_number=row.data["card_number"],
            specialties=[],
            skills=[],
            preferences=[],
            weekly_availability=[],
            capacity_hours_per_week=0.0,
            status="registered",
            created_at=utcnow(),
        )
        apply_profile(member, row.data, _cipher())
        session.add(member)
        audit.record(session, client, "create", "member", member.id, community_id)
        ids.append(member.id)
    return ids


def _write_residents(session: Session, community_id: str, rows: list[SheetRow]) -> list[str]:
    households = [
        Household(
            id=new_id("h"),
            community_id=community_id,
            building_id=row.data["building_id"],
            lat=row.data["location"].lat,
            lon=row.data["location"].lon,
            needs=list(row.data["needs"]),
            created_at=utcnow(),
        )
        for row in rows
    ]
    session.add_all(households)
    return [household.id for household in households]


def import_sheet(
    session: Session,
    client: Client,
    community_id: str,
    kind: str,
    data: bytes,
    cipher: FieldCipher,
    *,
    filename: str = "file",
    dry_run: bool = False,
    coordinates: str = "wgs84",
) -> dict[str, Any]:
    """Import a sheet into a community, all rows or none (what the import endpoint does).

    Returns the body of :class:`ImportResultSchema`: for a dry run every bad row and field
    (``errors``, at most :data:`service.web.errors.MAX_ERRORS` paths) and nothing written; else the
    ids written. Stops the request with :func:`service.web.errors.fail` (a werkzeug
    ``HTTPException`` whose ``data`` holds ``message`` and ``errors``): 404 for a community
    outside the client's scope or an unknown kind, 403 unless the client manages it, 422 for a
    file that is not a workbook or (not a dry run) any bad row, 409 for a concurrent conflict.
    """
    if kind not in IMPORT_KINDS:
        fail(404, "No such sheet: members, demands or residents.")
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    if not filename.lower().endswith(XLSX_SUFFIXES) and not data.startswith(b"PK"):
        fail(
            422,
            "The request is not valid: the file is not an .xlsx workbook.",
            errors={"file": [f"{filename} is not an .xlsx workbook"]},
        )
    parsed = parse_sheet(kind, data, coordinates, filename=filename)
    errors = dict(parsed.errors)
    if "file" in errors:
        fail(422, "The request is not valid: the file cannot be read.", errors=errors)
    if kind == "members":
        errors.update(_check_members(session, client, community.id, parsed.rows))
    elif kind == "residents":
        errors.update(_check_residents(session, client, community.id, parsed.rows))
    else:
        errors.update(_check_demands(session, client, community.id, parsed.rows, cipher))
    errors = dict(sorted(errors.items(), key=lambda item: _row_key(item[0])))
    if dry_run:
        good = [row for row in parsed.rows if not any(_in_row(p, row.row) for p in errors)]
        capped, total = cap_errors(errors)
        return {
            "dry_run": True,
            "rows": parsed.total,
            "count": len(good),
            "ids": [],
            "errors": capped,
            "error_count": total,
        }
    _invalid(errors)
    ids = _write(session, client, community.id, kind, parsed.rows, cipher)
    log.info("%d %s imported from a sheet in community %s", len(ids), kind, community.id)
    return {
        "dry_run": False,
        "rows": parsed.total,
        "count": len(ids),
        "ids": ids,
        "errors": {},
        "error_count": 0,
    }


def _write(
    session: Session,
    client: Client,
    community_id: str,
    kind: str,
    rows: list[SheetRow],
    cipher: FieldCipher,
) -> list[str]:
    if kind == "demands":
        demands = flow.import_demands(
            session,
            client,
            community_id,
            [row.data for row in rows],
            cipher,
            paths=[f"rows[{row.row}]" for row in rows],
        )
        return [demand.id for demand in demands]
    ids = (
        _write_members(session, client, community_id, rows)
        if kind == "members"
        else _write_residents(session, community_id, rows)
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        fail(
            409,
            "The sheet conflicts with records written meanwhile; nothing was written.",
            errors={"rows": ["a card number was registered concurrently"]},
        )
    return ids


@blp.route("/communities/<string:community_id>/imports/<string:kind>", parameters=[_IMPORT_KIND])
class CommunityImport(MethodView):
    @blp.arguments(ImportQuerySchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(201, ImportResultSchema)
    @blp.alt_response(200, schema=ImportResultSchema, description="A dry run")
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 413, 422)
    def post(
        self, query: dict[str, Any], _files: dict[str, Any], community_id: str, kind: str
    ) -> Any:
        """Import a filled template (`members`, `demands` or `residents`): all rows or none.

        Every row is read and validated as `POST /members`, `POST /communities/{id}/demands`
        or `POST /communities/{id}/households` would; units, grids and buildings may be given
        by id or by name. Errors are keyed by the Excel row number (the header is row 1):
        `rows[3].window.end`. A dry run (`dry_run=true`) answers 200 listing every bad row
        and field and writes nothing; a real import with any bad row answers 422 listing them
        and writes nothing; success is 201 with the count and the ids. GCJ-02 coordinates
        (the 坐标系 column, or `coordinates=gcj02` for rows that leave it blank) are stored as
        WGS-84. For the community's managers only (403 for members and unit organisers).
        """
        client = current_client()
        if kind not in IMPORT_KINDS:
            fail(404, "No such sheet: members, demands or residents.")
        with _session() as session:
            community = get_scoped(session, Community, community_id, client)
            require_manager(client, community.id)
            data, name = _upload()
            body = import_sheet(
                session,
                client,
                community.id,
                kind,
                data,
                _cipher(),
                filename=name,
                dry_run=query["dry_run"],
                coordinates=query["coordinates"],
            )
        return body, 200 if body["dry_run"] else 201


def _in_row(path: str, row: int) -> bool:
    return path == f"rows[{row}]" or path.startswith(f"rows[{row}].")


def _row_key(path: str) -> tuple[int, str]:
    """Errors in row order (``rows[10]`` after ``rows[9]``); sheet-wide errors first."""
    if path.startswith("rows["):
        number = path[5 : path.index("]")]
        if number.isdigit():
            return int(number), path
    return 0, path


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------


def export_rows(
    session: Session,
    client: Client,
    community_id: str,
    kind: str,
    cipher: FieldCipher,
    *,
    ledger_filter: ledger.LedgerFilter | None = None,
) -> list[Any]:
    """The records of a list (:data:`EXPORT_KINDS`) of a community the caller has already
    found with ``get_scoped``, scoped exactly like its JSON list, in the same order
    (``ledger_filter``: the ledger's dates, member and kind; the whole ledger by default)."""
    if kind == "demands":
        demands = (
            scoped(select(Demand), client)
            .where(Demand.community_id == community_id, Demand.status == "open")
            .order_by(Demand.created_at, Demand.id)
        )
        return [flow.present_demand(d, cipher) for d in session.scalars(demands)]
    if kind in ("tasks", "services"):
        statuses = ("offered", "accepted") if kind == "tasks" else ("completed",)
        query = (
            scoped(
                select(Task, Demand.duration_hours, Demand.window_end).join(
                    Demand, Demand.id == Task.demand_id
                ),
                client,
            )
            .where(Demand.community_id == community_id, Task.status.in_(statuses))
            .order_by(Task.created_at, Task.id)
        )
        tasks = [flow.present_task(t, hours, end) for t, hours, end in session.execute(query)]
        return _with_member_names(session, tasks)
    if kind == "members":
        members = (
            scoped(select(Member), client)
            .where(Member.community_id == community_id)
            .order_by(Member.card_number)
        )
        return [present_member(m, _cipher()) for m in session.scalars(members)]
    if kind in ("visit-notes", "requests", "feedback"):
        return _ledger_rows(session, client, community_id, kind, cipher)
    community, visible = ledger.ledger_scope(session, client, community_id)
    where = ledger_filter or ledger.LedgerFilter()
    selection = ledger.entries_query(community, where, members=visible)
    rows = session.execute(selection.order_by(*ledger.entry_order(selection))).all()
    return _with_member_names(session, ledger.present_entries(session, list(rows)))


def _with_member_names(session: Session, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with a ``member_id`` gain the member's ``member_name``."""
    names = member_names(session, (r.get("member_id") for r in records))
    return [{**r, "member_name": names.get(r.get("member_id") or "", "")} for r in records]


def _history_text(history: list[dict[str, Any]]) -> str:
    lines = []
    for step in history:
        who = step["member_name"] or ""
        line = f"{step['at'].strftime('%Y-%m-%d %H:%M')} {DEMAND_ACTION_LABELS[step['action']]}"
        if who:
            line += f" {who}"
        if step["note"]:
            line += f"（{step['note']}）"
        lines.append(line + f"，经办：{step['actor']}")
    return "\n".join(lines)


def _ledger_rows(
    session: Session, client: Client, community_id: str, kind: str, cipher: FieldCipher
) -> list[dict[str, Any]]:
    """The rows of one of the three ledgers, in the JSON lists' order, flattened for Excel."""
    require_manager(client, community_id)
    if kind == "visit-notes":
        query = visit_notes.notes_query(session, client, community_id)
        notes = list(session.scalars(query.order_by(*visit_notes.NOTES_ORDER)))
        names = visit_notes.visitor_names(session, notes)
        buildings = dict(
            session.execute(
                select(Household.id, Building.name)
                .join(Building, Building.id == Household.building_id)
                .where(Household.id.in_({n.household_id for n in notes}))
            ).all()
        )
        return [
            {**visit_notes.present_note(n, names), "building": buildings.get(n.household_id)}
            for n in notes
        ]
    query = demand_history.requests_query(client, community_id)
    if kind == "feedback":
        query = query.where(Demand.status.in_(demand_history.LEDGER_STATUSES))
    demands = list(session.scalars(query.order_by(*demand_history.REQUESTS_ORDER)))
    rows = demand_history.ledger_entries(session, demands, cipher)
    for row in rows:
        window = row["demand"]["window"]
        start, end = window["start"], window["end"]
        end_format = "%H:%M" if start.date() == end.date() else "%Y-%m-%d %H:%M"
        row["window_text"] = f"{start.strftime('%Y-%m-%d %H:%M')}—{end.strftime(end_format)}"
        row["history_text"] = _history_text(row["history"])
    return rows


@blp.route(
    "/communities/<string:community_id>/exports/<string:name>.xlsx",
    parameters=[_path_enum("name", EXPORT_KINDS, "the list: " + ", ".join(EXPORT_KINDS))],
)
class CommunityExport(MethodView):
    @blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type=XLSX_MIMETYPE,
        description="An xlsx workbook with one sheet named after the list.",
    )
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.error_responses(*AUTH_ERRORS, 404, 422)
    def get(self, query: dict[str, Any], community_id: str, name: str) -> Any:
        """A list as Excel: `demands` (需求清单, open demands), `tasks` (任务清单, offered and
        accepted), `services` (服务清单, completed), `members`, `ledger` (活动台账).

        Scoped exactly like the JSON lists (`GET /demands`, `/tasks`, `/members`,
        `/communities/{id}/ledger`): a client gets the rows it may read there. The resident's
        phone and address are masked as in the JSON lists; times are Beijing time. The query
        (`from`, `to`, `member`, `kind`) filters the ledger as `GET .../ledger` does; the
        other lists ignore it.
        """
        client = current_client()
        if name not in EXPORT_KINDS:
            fail(404, f"No such list: {', '.join(EXPORT_KINDS)}.")
        where = ledger.LedgerFilter(
            start=query["start"], end=query["end"], member_id=query["member"], kind=query["kind"]
        )
        with _session() as session:
            community = get_scoped(session, Community, community_id, client)
            rows = export_rows(session, client, community.id, name, _cipher(), ledger_filter=where)
        log.info("%d rows of %s exported from community %s", len(rows), name, community_id)
        return _xlsx(export(name, rows), f"{community.id}-{name}.xlsx")


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def community_map(
    session: Session, client: Client, community_id: str, *, detail: bool = False
) -> dict[str, Any]:
    """The community's map as a GeoJSON FeatureCollection (WGS-84, ``[lon, lat]``).

    Demands: the open and dispatched ones, ``{"kind": "demand", "id", "category",
    "category_label", "priority", "status"}`` at the demand's location; never the resident's
    reference or contact details. Members: the active ones, ``{"kind": "member", "id"}`` only,
    at their home **rounded to 0.001° (about 100 m) for privacy**: the map shows where help is
    near without showing whose home is where. 404 for a community outside the client's scope,
    403 unless the client manages it (members and unit organisers).

    ``detail=True`` is the console's map, for the community's dispatchers, who work with the
    members by name anyway (the API keeps the contract above). It adds the accepted demands and
    those completed, closed or cancelled in the last :data:`MAP_RECENT_DAYS` days; each demand's
    ``content``, ``window_start`` and ``window_end`` (ISO 8601, UTC); each member's ``name``
    (still at the rounded home); and the community's grids and buildings
    (``{"kind": "grid" | "building", "id", "name", "members"}``, a building also ``grid``, its
    grid's name). A building stands at its own location, or, without one, at the mean of its
    members' rounded homes; a grid has no outline of its own: it is drawn as the convex hull of
    its buildings and its members' rounded homes, widened by :data:`MAP_GRID_MARGIN_DEG`.
    """
    community = get_scoped(session, Community, community_id, client)
    require_manager(client, community.id)
    shown: ColumnElement[bool] = Demand.status.in_(MAP_DEMAND_STATUSES)
    if detail:
        recent = utcnow() - timedelta(days=MAP_RECENT_DAYS)
        shown = Demand.status.in_((*MAP_DEMAND_STATUSES, "accepted")) | (
            Demand.status.in_(MAP_CLOSED_STATUSES) & (Demand.closed_at >= recent)
        )
    demands = session.scalars(
        scoped(select(Demand), client)
        .where(Demand.community_id == community.id, shown)
        .order_by(Demand.created_at, Demand.id)
    ).all()
    members = session.scalars(
        scoped(select(Member), client)
        .where(Member.community_id == community.id, Member.status == "active")
        .order_by(Member.id)
    ).all()
    features: list[dict[str, Any]] = []
    for d in demands:
        properties: dict[str, Any] = {
            "kind": "demand",
            "id": d.id,
            "category": d.category,
            "category_label": CATEGORIES.get(d.category, d.category),
            "priority": d.priority,
            "status": d.status,
        }
        if detail:
            properties |= {
                "content": d.content,
                "window_start": d.window_start.isoformat(),
                "window_end": d.window_end.isoformat(),
            }
        features.append(
            {"type": "Feature", "geometry": _point(d.lat, d.lon), "properties": properties}
        )
    homes = {
        m.id: (round(m.lat, MAP_PRECISION_DECIMALS), round(m.lon, MAP_PRECISION_DECIMALS))
        for m in members
    }
    for m in members:
        properties = {"kind": "member", "id": m.id}
        if detail:
            # FALLBACK for members registered before names were kept: their occupation.
            properties["name"] = getattr(m, "name", None) or m.occupation
        features.append(
            {"type": "Feature", "geometry": _point(*homes[m.id]), "properties": properties}
        )
    if detail:
        features = _areas(session, community.id, members, homes) + features
    return {"type": "FeatureCollection", "features": features}


MAP_RECENT_DAYS = 7
"""The console's map shows demands completed, closed or cancelled this many days ago at most."""
MAP_CLOSED_STATUSES = ("completed", "closed", "cancelled")
MAP_GRID_MARGIN_DEG = 0.0005
"""How far a grid's outline lies outside its outermost members' rounded homes (about 50 m)."""


def _areas(
    session: Session,
    community_id: str,
    members: Sequence[Member],
    homes: dict[str, tuple[float, float]],
) -> list[dict[str, Any]]:
    """The community's grids (outlines) and buildings (points), drawn from the buildings'
    locations and the members' rounded homes; a building with neither and a grid with no
    building or member to draw from are left out."""
    grids = {
        g.id: g
        for g in session.scalars(
            select(Grid).where(Grid.community_id == community_id).order_by(Grid.name, Grid.id)
        )
    }
    buildings = session.scalars(
        select(Building).where(Building.grid_id.in_(grids)).order_by(Building.name, Building.id)
    ).all()
    by_grid: dict[str, list[tuple[float, float]]] = {}
    by_building: dict[str, list[tuple[float, float]]] = {}
    for m in members:
        if m.grid_id is not None:
            by_grid.setdefault(m.grid_id, []).append(homes[m.id])
        if m.building_id is not None:
            by_building.setdefault(m.building_id, []).append(homes[m.id])
    places: dict[str, tuple[float, float]] = {}
    for building in buildings:
        points = by_building.get(building.id, [])
        if building.lat is not None and building.lon is not None:
            places[building.id] = (building.lat, building.lon)
        elif points:
            places[building.id] = (
                round(sum(p[0] for p in points) / len(points), MAP_PRECISION_DECIMALS + 1),
                round(sum(p[1] for p in points) / len(points), MAP_PRECISION_DECIMALS + 1),
            )
        if building.id in places:
            by_grid.setdefault(building.grid_id, []).append(places[building.id])
    features: list[dict[str, Any]] = []
    for grid in grids.values():
        inside = by_grid.get(grid.id)
        if inside:
            ring = _outline(inside, MAP_GRID_MARGIN_DEG)
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {
                        "kind": "grid",
                        "id": grid.id,
                        "name": grid.name,
                        "members": sum(m.grid_id == grid.id for m in members),
                    },
                }
            )
    for building in buildings:
        if building.id in places:
            features.append(
                {
                    "type": "Feature",
                    "geometry": _point(*places[building.id]),
                    "properties": {
                        "kind": "building",
                        "id": building.id,
                        "name": building.name,
                        "grid": grids[building.grid_id].name,
                        "members": len(by_building.get(building.id, [])),
                    },
                }
            )
    return features


def _outline(points: Sequence[tuple[float, float]], margin_deg: float) -> list[list[float]]:
    """A closed GeoJSON ring (``[lon, lat]``, counter-clockwise) around ``(lat, lon)`` points:
    the convex hull (Andrew's monotone chain) of the squares of side ``2 * margin_deg`` centred
    on them, so that every point lies at least ``margin_deg`` inside on both axes."""
    corners = sorted(
        {
            (lon + dx, lat + dy)
            for lat, lon in points
            for dx in (-margin_deg, margin_deg)
            for dy in (-margin_deg, margin_deg)
        }
    )

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in corners:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(corners):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    ring = [[round(x, 6), round(y, 6)] for x, y in lower[:-1] + upper[:-1]]
    return [*ring, ring[0]]


@blp.route("/communities/<string:community_id>/map")
class CommunityMap(MethodView):
    @blp.response(
        200,
        {"type": "object"},
        content_type="application/geo+json",
        description="A GeoJSON FeatureCollection (RFC 7946; WGS-84, [lon, lat]).",
    )
    @blp.error_responses(*AUTH_ERRORS, 403, 404)
    def get(self, community_id: str) -> Any:
        """The community on a map: its open and dispatched demands and its active members.

        A GeoJSON FeatureCollection in WGS-84 (`[lon, lat]`; convert to GCJ-02 for AMap tiles).
        Demands: `{"kind": "demand", "id", "category", "category_label", "priority",
        "status"}` at the demand's location; never the resident's reference or contact
        details. Members: `{"kind": "member", "id"}` only, at their home **rounded to 0.001°
        (about 100 m)** for privacy, so that a map shows where help is near without showing
        whose home is where. For the community's managers only (403 for members and unit
        organisers; 404 for a community outside the caller's scope).
        """
        with _session() as session:
            body = community_map(session, current_client(), community_id)
        response = current_app.json.response(body)
        response.mimetype = "application/geo+json"
        return response


__all__ = [
    "EXPORT_TITLES",
    "MAP_PRECISION_DECIMALS",
    "SHEET_TITLES",
    "blp",
    "community_map",
    "export_rows",
    "import_sheet",
]
