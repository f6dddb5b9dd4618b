"""Excel sheets (openpyxl): templates, imports and exports, without Flask or a database.

Three kinds of sheet can be imported (:data:`IMPORT_KINDS`):

``members``   党员登记: the fields of ``MemberCreateSchema`` (the community comes from the URL).
``demands``   群众需求: the fields of ``DemandCreateSchema``.
``residents`` 居民户: households (``HouseholdCreateSchema``): a building, a location and needs only
              (no name, phone or address is ever read from a residents' sheet).

:func:`template` gives a workbook with Chinese headers, drop-downs (categories and skills with
their Chinese labels from :data:`matcher.vocabulary.CATEGORIES`, priority 1–5, the coordinate
system) and an instructions sheet (填写说明). :func:`parse` reads a filled sheet back: headers are
matched by their Chinese names (unknown columns, such as a name column a community keeps, are
ignored), Chinese labels become ids, GCJ-02 coordinates become WGS-84, and every row is validated
by the API's own schema. Errors are keyed ``rows[<Excel row number>].<field path>`` (the header is
row 1, so the first data row is ``rows[2]``): exactly the row number the user sees in Excel.
:func:`parse` never raises on bad input; a file that is not a workbook is one error under
``file``. Grid, building and unit cells hold ids or names; names are resolved against the
database by the caller (:mod:`service.web.api.sheets`).

:func:`export` writes every list (:data:`EXPORT_KINDS`) from the records the JSON lists return
(so the resident's phone and address are the masked values those records carry).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from marshmallow import Schema, ValidationError
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from matcher.longterm.pairs.problem import PROXIES
from matcher.vocabulary import CATEGORIES
from service.contracts.dispatch import flatten_errors
from service.db.flow import CONTENT_LENGTH
from service.domain.availability import LOCAL, WEEKDAYS
from service.domain.coordinates import gcj02_to_wgs84
from service.domain.labels import (
    PRIORITY_LABELS,
    SATISFACTION_LABELS,
    SOURCE_LABELS,
    TOLD_VIA_LABELS,
)
from service.web.schemas.longterm import HouseholdCreateSchema
from service.web.schemas.workspace import MAX_IMPORT_ROWS, DemandCreateSchema, MemberCreateSchema

__all__ = [
    "COORDINATE_SYSTEMS",
    "EXPORT_KINDS",
    "IMPORT_KINDS",
    "XLSX_MIMETYPE",
    "ParsedSheet",
    "SheetRow",
    "export",
    "header_of",
    "parse",
    "template",
    "weekly_slots",
]

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_KINDS = ("members", "demands", "residents")
EXPORT_KINDS = (
    "demands",
    "tasks",
    "services",
    "members",
    "ledger",
    "visit-notes",
    "requests",
    "feedback",
)
COORDINATE_SYSTEMS = {"wgs84": "WGS-84", "gcj02": "GCJ-02"}
"""Query values → the labels of the sheet's 坐标系 column."""

MAX_UNPACKED_BYTES = 64 * 2**20
"""A workbook that unpacks to more is refused before it is read (a zip bomb)."""
TEMPLATE_ROWS = 1000
"""Drop-downs cover this many data rows (2..1001)."""
MAX_COLUMNS = 200
"""Columns beyond this one are not read (a sheet may keep many of its own)."""
INSTRUCTIONS_TITLE = "填写说明"

PROXY_LABELS = {
    "errands": "代办",
    "voice": "代言",
    "disputes": "代处",
    "needs": "代管",
    "visits": "代访",
}
"""The five proxies (五代), household needs: id → Chinese label."""
assert set(PROXY_LABELS) == set(PROXIES)

WEEKDAY_LABELS = dict(
    zip(WEEKDAYS, ("周一", "周二", "周三", "周四", "周五", "周六", "周日"), strict=True)
)
_WEEKDAY_NAMES: dict[str, str] = {
    **{label: day for day, label in WEEKDAY_LABELS.items()},
    **{label.replace("周", "星期"): day for day, label in WEEKDAY_LABELS.items()},
    "周天": "sun",
    "星期天": "sun",
    **{day: day for day in WEEKDAYS},
}

DEMAND_STATUS_LABELS = {
    "open": "待派单",
    "dispatched": "已派单",
    "accepted": "已接单",
    "completed": "已完成待反馈",
    "closed": "已办结",
    "cancelled": "已取消",
}
TASK_STATUS_LABELS = {
    "offered": "待接单",
    "accepted": "已接单",
    "completed": "已完成",
    "declined": "已拒绝",
}
MEMBER_STATUS_LABELS = {"registered": "已登记", "active": "已报到", "left": "已离开"}
LEDGER_KIND_LABELS = {"service": "服务", "visit": "走访"}

_LOOSE_DATETIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s+|T)?(\d{1,2})\s*[:：时点]\s*(\d{1,2})?\s*分?(?::(\d{1,2}))?$"
)
"""Beijing times as people type them: 2026-12-5 9:00, 2026/12/05 09:00, 2026年12月5日 9点."""
_SPLIT = re.compile(r"[,，、;；\n]+")
_SLOT = re.compile(
    r"^(?P<day>\S+?)\s*(?P<start>\d{1,2}[:：]\d{2})\s*[-–—~～至到]\s*(?P<end>\d{1,2}[:：]\d{2})$"
)

# --------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of an import sheet.

    Attributes:
        header: The Chinese header (what the sheet's first row says).
        path: The JSON field it fills (``location.lat``, ``window.start``); ``coordinate_system``
            for the 坐标系 column.
        kind: How a cell is read: ``text``, ``number``, ``integer``, ``datetime``, ``date``,
            ``category`` (one category), ``categories`` (a list of categories), ``labels``
            (free labels), ``source`` (a source channel by its Chinese name), ``needs``
            (household needs), ``slots`` (weekly availability), ``coordinates``.
        required: The schema requires it.
        note: What to write, in Chinese (the instructions sheet).
        width: Column width in the template.
    """

    header: str
    path: str
    kind: str
    required: bool = False
    note: str = ""
    width: int = 14


_LAT = Column("纬度", "location.lat", "number", True, "十进制度，如 34.7466", 12)
_LON = Column("经度", "location.lon", "number", True, "十进制度，如 113.6253", 12)
_DEMAND_LAT = Column("纬度", "location.lat", "number", False, "十进制度；不填时按楼栋位置", 12)
_DEMAND_LON = Column("经度", "location.lon", "number", False, "十进制度；不填时按楼栋位置", 12)
_CRS = Column(
    "坐标系",
    "coordinate_system",
    "coordinates",
    False,
    "WGS-84（GPS、天地图）或 GCJ-02（高德、腾讯地图）；空白时按导入时选择的坐标系",
    12,
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "members": (
        Column("登记卡号", "card_number", "text", True, "报到卡上的编号，不可重复", 16),
        Column("姓名", "name", "text", True, "党员姓名（亮身份：在名单和公示栏上显示）", 10),
        Column(
            "联系电话",
            "phone",
            "text",
            False,
            "手机号或带区号的固定电话；加密保存，列表中只显示掩码",
            16,
        ),
        Column("单位", "unit_id", "text", False, "单位编号或单位名称（须已登记）", 18),
        Column("所在党组织", "party_organisation", "text", False, "如 某某单位党委第一支部", 20),
        Column("职务", "position", "text", False, "在单位的职务", 12),
        Column(
            "发卡日期", "card_issued_on", "date", False, "单位发放报到卡的日期，如 2026-03-05", 12
        ),
        Column("报到日期", "reported_on", "date", False, "到社区报到的日期，不早于发卡日期", 12),
        Column("职业", "occupation", "text", False, "如 教师、医生", 12),
        Column("专业特长", "specialties", "labels", False, "多项用顿号（、）分隔", 18),
        Column("技能", "skills", "categories", False, "从下拉列表选择；多项用顿号分隔", 18),
        Column(
            "服务意向", "preferences", "categories", False, "从下拉列表选择；多项用顿号分隔", 18
        ),
        Column("网格", "grid_id", "text", False, "网格编号或名称（须已建立）", 14),
        Column("楼栋", "building_id", "text", False, "楼栋编号或名称（须属于该网格）", 14),
        _LAT,
        _LON,
        _CRS,
        Column(
            "每周可服务时段",
            "weekly_availability",
            "slots",
            False,
            "如 周一 19:00-21:30；周六 09:00-12:00（同一天的时段不可重叠）",
            30,
        ),
        Column("每周可服务小时", "capacity_hours_per_week", "number", False, "0 到 168", 14),
    ),
    "demands": (
        Column("类别", "category", "category", True, "从下拉列表选择", 14),
        Column("需求内容", "content", "text", False, f"群众的诉求，最多 {CONTENT_LENGTH} 字", 30),
        Column("诉求来源", "source", "source", False, "从下拉列表选择", 14),
        Column("所需技能", "skills", "categories", False, "从下拉列表选择；多项用顿号分隔", 18),
        Column("楼栋", "building_id", "text", False, "楼栋编号或名称；不填经纬度时按楼栋位置", 14),
        _DEMAND_LAT,
        _DEMAND_LON,
        _CRS,
        Column("开始时间", "window.start", "datetime", True, "如 2026-12-05 09:00（北京时间）", 18),
        Column("结束时间", "window.end", "datetime", True, "须晚于开始时间，且在将来", 18),
        Column("时长(小时)", "duration_hours", "number", True, "0.25 到 24，不长于时间段", 12),
        Column("优先级", "priority", "integer", True, "1 到 5，5 最急", 10),
        Column(
            "所需人数", "crew_size", "integer", False, "1 到 10；多于 1 人时一组党员一起服务", 10
        ),
        Column("居民编号", "resident_ref", "text", False, "不含姓名的编号，如 r-00012", 14),
        Column("联系电话", "contact_phone", "text", False, "加密保存，列表中只显示掩码", 16),
        Column("地址", "address", "text", False, "加密保存，列表中只显示掩码", 24),
    ),
    "residents": (
        Column("楼栋", "building_id", "text", True, "楼栋编号或名称（须属于本社区）", 14),
        _LAT,
        _LON,
        _CRS,
        Column(
            "需求",
            "needs",
            "needs",
            False,
            "五代：代办、代言、代处、代管、代访；多项用顿号分隔",
            24,
        ),
    ),
}
"""The columns of each import sheet, in template order."""

SHEET_TITLES = {"members": "党员登记", "demands": "群众需求", "residents": "居民户"}

_SCHEMAS: dict[str, Callable[[], Schema]] = {
    "members": lambda: MemberCreateSchema(exclude=("community_id",)),
    "demands": DemandCreateSchema,
    "residents": HouseholdCreateSchema,
}


def header_of(kind: str, path: str) -> str | None:
    """The Chinese header of the column that fills ``path`` (``location.lat`` → 纬度), if any.

    For the console: ``rows[3].window.end`` is shown as row 3, column 结束时间.
    """
    for column in COLUMNS[kind]:
        if (
            path == column.path
            or path.startswith(column.path + ".")
            or (path.startswith(column.path + "["))
        ):
            return column.header
    return None


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------

_HEADER_FONT = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")


def _list_validation(values: Sequence[str], *, strict: bool, prompt: str) -> DataValidation:
    formula = '"' + ",".join(values) + '"'
    validation = DataValidation(type="list", formula1=formula, allow_blank=True)
    validation.showDropDown = False  # (sic: False shows the in-cell arrow)
    validation.showErrorMessage = strict
    validation.showInputMessage = True
    validation.promptTitle = "选择"
    validation.prompt = prompt
    if strict:
        validation.errorTitle = "无效的值"
        validation.error = "请从下拉列表中选择。"
    return validation


def _validation_for(column: Column) -> DataValidation | None:
    labels = list(CATEGORIES.values())
    if column.kind == "category":
        return _list_validation(labels, strict=True, prompt="选择一个类别")
    if column.kind == "categories":
        return _list_validation(labels, strict=False, prompt="选择一项；多项用顿号（、）分隔")
    if column.kind == "needs":
        values = list(PROXY_LABELS.values())
        return _list_validation(values, strict=False, prompt="选择一项；多项用顿号（、）分隔")
    if column.kind == "coordinates":
        values = list(COORDINATE_SYSTEMS.values())
        return _list_validation(values, strict=True, prompt="WGS-84 或 GCJ-02（高德）")
    if column.kind == "source":
        return _list_validation(list(SOURCE_LABELS.values()), strict=True, prompt="选择诉求来源")
    if column.path == "priority":
        return _list_validation(["1", "2", "3", "4", "5"], strict=True, prompt="1 到 5，5 最急")
    return None


def template(kind: str) -> bytes:
    """The import template of ``kind`` (``members``, ``demands`` or ``residents``) as xlsx.

    The first sheet is the data sheet (Chinese headers in row 1: required columns yellow,
    optional blue; drop-downs on rows 2..1001); the second is 填写说明 (instructions and the
    table of categories); the third, 选项, lists every category id with its label.

    Raises:
        KeyError: For an unknown kind.
    """
    columns = COLUMNS[kind]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_TITLES[kind]
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = _HEADER_FONT
        cell.fill = _REQUIRED_FILL if column.required else _OPTIONAL_FILL
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        validation = _validation_for(column)
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        if column.kind == "datetime":
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd hh:mm"
        elif column.kind == "text":  # card numbers keep their leading zeros
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    _instructions(book.create_sheet(INSTRUCTIONS_TITLE), kind, columns)
    options = book.create_sheet("选项")
    options.append(["类别编号", "中文名称"])
    for category, label in CATEGORIES.items():
        options.append([category, label])
    return _save(book)


def _instructions(sheet: Worksheet, kind: str, columns: Sequence[Column]) -> None:
    lines = [
        [f"{SHEET_TITLES[kind]}导入模板：填写说明"],
        [],
        [f"1. 在“{SHEET_TITLES[kind]}”表中每行填写一条记录，第 1 行为表头，请勿修改表头文字。"],
        ["2. 黄色表头为必填列，蓝色表头为选填列；可以增加其他列（如备注），导入时忽略。"],
        ["3. 导入前可先“试导入”：列出每个有误的行（Excel 行号）和列，不写入任何数据。"],
        ["4. 只要有一行有误，整表都不导入；改正后重新导入。"],
        [
            "5. 坐标：从高德地图取得的坐标为 GCJ-02，请在“坐标系”列选 GCJ-02，"
            "系统自动转换为 WGS-84 保存。"
        ],
        [f"6. 每次最多 {MAX_IMPORT_ROWS} 行。"],
        [],
        ["列名", "是否必填", "说明"],
    ]
    for line in lines:
        sheet.append(line)
    for column in columns:
        sheet.append([column.header, "必填" if column.required else "选填", column.note])
    sheet.append([])
    sheet.append(["类别（下拉列表中的名称）", "编号"])
    for category, label in CATEGORIES.items():
        sheet.append([label, category])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 22
    sheet.column_dimensions["C"].width = 70
    sheet["A1"].font = Font(bold=True, size=14)
    for row in sheet.iter_rows(min_row=10, max_row=10):
        for cell in row:
            cell.font = _HEADER_FONT


def _save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    """One valid data row.

    Attributes:
        row: Its Excel row number (the header is row 1).
        data: What the kind's schema loaded (``Location``, ``Interval``... as the API's views
            receive them); grid, building and unit are still the cell's text (an id or a name).
        json: The JSON body the row became (coordinates already WGS-84), for a preview.
    """

    row: int
    data: dict[str, Any]
    json: dict[str, Any]


@dataclass(frozen=True)
class ParsedSheet:
    """The rows that passed, the errors by ``rows[<row>].<field>`` path, and rows read."""

    rows: list[SheetRow] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    total: int = 0


def row_path(row: int, path: str) -> str:
    """``rows[<Excel row number>].<path>``."""
    return f"rows[{row}]" if path in ("", "$") else f"rows[{row}].{path}"


def parse(
    kind: str, data: bytes, coordinate_system: str = "wgs84", *, filename: str | None = None
) -> tuple[list[SheetRow], dict[str, list[str]]]:
    """Read an import sheet: ``(rows, errors)``; see :func:`parse_sheet` (this is its short form).

    Args:
        kind: ``members``, ``demands`` or ``residents``.
        data: The xlsx file's bytes.
        coordinate_system: ``wgs84`` or ``gcj02``: the coordinates of rows whose 坐标系 cell is
            blank.
        filename: Named in the error of a file that is not a workbook.
    """
    parsed = parse_sheet(kind, data, coordinate_system, filename=filename)
    return parsed.rows, parsed.errors


def parse_sheet(
    kind: str, data: bytes, coordinate_system: str = "wgs84", *, filename: str | None = None
) -> ParsedSheet:
    """Read an import sheet, validating every row; never raises on bad input.

    Errors: ``rows[<Excel row>].<field>`` for a bad cell (``rows[3].window.end``),
    ``columns.<field>`` for a missing required column, ``file`` for a file that is not an xlsx
    workbook (one error), ``rows`` for an empty sheet or one over :data:`MAX_IMPORT_ROWS` rows.

    Raises:
        KeyError: For an unknown ``kind`` or ``coordinate_system`` (the caller's bug).
    """
    columns = COLUMNS[kind]
    if coordinate_system not in COORDINATE_SYSTEMS:
        raise KeyError(coordinate_system)
    name = filename or "the file"
    unreadable = ParsedSheet(errors={"file": [f"{name} is not a readable .xlsx workbook"]})
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return unreadable
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return unreadable
    if unpacked > MAX_UNPACKED_BYTES:
        mb = MAX_UNPACKED_BYTES // 2**20
        return ParsedSheet(errors={"file": [f"{name} unpacks to more than {mb} MB"]})
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error on a broken archive
        return unreadable
    try:
        sheet = _data_sheet(book, kind)
        if sheet is None:
            return ParsedSheet(errors={"file": [f"{name} has no worksheet"]})
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        header = next(rows, None)
        if header is None:
            return ParsedSheet(errors={"rows": ["the sheet is empty: no header row"]})
        positions = _positions(header, columns)
        missing = {
            f"columns.{c.path}": [f"missing column {c.header}"]
            for c in columns
            if c.required and c.path not in positions
        }
        if missing:
            return ParsedSheet(errors=missing)
        return _read_rows(kind, rows, positions, coordinate_system)
    except Exception:  # a part of the archive that is broken shows only while reading
        return unreadable
    finally:
        book.close()


def _data_sheet(book: Any, kind: str) -> Any:
    if SHEET_TITLES[kind] in book.sheetnames:
        return book[SHEET_TITLES[kind]]
    for title in book.sheetnames:
        if title not in (INSTRUCTIONS_TITLE, "选项"):
            return book[title]
    return None


def _normalise_header(value: Any) -> str:
    text = "" if value is None else str(value)
    text = re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")")
    return text.strip("*＊")


def _positions(header: Sequence[Any], columns: Sequence[Column]) -> dict[str, int]:
    """Column path → its index in the sheet (the first column with the header)."""
    wanted = {_normalise_header(c.header): c.path for c in columns}
    positions: dict[str, int] = {}
    for index, value in enumerate(header):
        path = wanted.get(_normalise_header(value))
        if path is not None and path not in positions:
            positions[path] = index
    return positions


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_rows(
    kind: str, rows: Iterable[Sequence[Any]], positions: dict[str, int], default_crs: str
) -> ParsedSheet:
    columns = [c for c in COLUMNS[kind] if c.path in positions]
    schema = _SCHEMAS[kind]()
    good: list[SheetRow] = []
    errors: dict[str, list[str]] = {}
    total = 0
    for number, values in enumerate(rows, start=2):
        cells = {
            c.path: values[positions[c.path]] if positions[c.path] < len(values) else None
            for c in columns
        }
        if all(_blank(v) for v in cells.values()):
            continue
        total += 1
        if total > MAX_IMPORT_ROWS:
            return ParsedSheet(
                errors={"rows": [f"at most {MAX_IMPORT_ROWS} rows per import"]}, total=total
            )
        body, cell_errors = _row_json(columns, cells, default_crs)
        loaded, schema_errors = _load(schema, body)
        # A cell that could not be read is reported once (not again by the schema).
        merged = dict(cell_errors)
        for path, messages in schema_errors.items():
            if not any(path == bad or path.startswith(bad + ".") for bad in cell_errors):
                merged.setdefault(path, []).extend(messages)
        if merged:
            for path, messages in merged.items():
                errors[row_path(number, path)] = messages
        elif loaded is not None:
            good.append(SheetRow(row=number, data=loaded, json=body))
    if total == 0:
        return ParsedSheet(errors={"rows": ["the sheet has no data rows"]})
    return ParsedSheet(rows=good, errors=errors, total=total)


def _load(
    schema: Schema, body: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    try:
        return schema.load(body), {}
    except ValidationError as err:
        return None, flatten_errors(err.messages)


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        body = body.setdefault(part, {})
    body[parts[-1]] = value


def _row_json(
    columns: Sequence[Column], cells: Mapping[str, Any], default_crs: str
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A row's JSON body (WGS-84) and the cells that could not be read."""
    body: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    crs = default_crs
    for column in columns:
        value = cells[column.path]
        if column.kind == "coordinates":
            if not _blank(value):
                found = _coordinate_system(value)
                if found is None:
                    errors[column.path] = ["must be WGS-84 or GCJ-02"]
                else:
                    crs = found
            continue
        if _blank(value):
            continue
        try:
            converted = _READERS[column.kind](value)
        except ValueError as err:
            errors[column.path] = [str(err)]
            continue
        _set(body, column.path, converted)
    location = body.get("location")
    if crs == "gcj02" and isinstance(location, dict):
        lat, lon = location.get("lat"), location.get("lon")
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            w_lat, w_lon = gcj02_to_wgs84(float(lat), float(lon))
            location["lat"], location["lon"] = round(w_lat, 6), round(w_lon, 6)
    return body, errors


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coordinate_system(value: Any) -> str | None:
    text = re.sub(r"[\s_-]", "", str(value)).lower()
    if text in ("wgs84", "gps", "天地图"):
        return "wgs84"
    if text in ("gcj02", "高德", "火星坐标", "火星"):
        return "gcj02"
    return None


def _text(value: Any) -> str:
    """A cell as text; a whole number typed as a number (a card or phone) loses its ``.0``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _number(value: Any) -> Any:
    if _is_number(value):
        return value
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        raise ValueError("must be a number") from None


def _integer(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if _is_number(value):
        return value
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise ValueError("must be an integer")


def _datetime(value: Any) -> str:
    """An Excel date-time (Beijing time when it has no offset) as ISO 8601 with its offset."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0))
    else:
        text = str(value).strip()
        match = _LOOSE_DATETIME.match(text)
        try:
            if match is not None:
                year, month, day, hour, minute, second = (int(p or 0) for p in match.groups())
                moment = datetime(year, month, day, hour, minute, second)
            else:
                moment = datetime.fromisoformat(text.replace("/", "-"))
        except ValueError:
            raise ValueError("must be a date and time such as 2026-12-05 09:00") from None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment.isoformat()


def _date(value: Any) -> str:
    """An Excel date (or text such as 2026-03-05, 2026/3/5, 2026年3月5日) as ISO 8601."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    try:
        if match is None:
            raise ValueError
        return date(*(int(p) for p in match.groups())).isoformat()
    except ValueError:
        raise ValueError("must be a date such as 2026-03-05") from None


def _source(value: Any) -> str:
    text = _text(value)
    found = _SOURCE_IDS.get(text)
    if found is None:
        raise ValueError(f"unknown source: {text} (choose from the drop-down list)")
    return found


_SOURCE_IDS = {
    **{label: code for code, label in SOURCE_LABELS.items()},
    "楼(院)党支部": "building_branch",
    **{code: code for code in SOURCE_LABELS},
}

_CATEGORY_IDS: dict[str, str] = {
    **{label: category for category, label in CATEGORIES.items()},
    **{category: category for category in CATEGORIES},
}
_PROXY_IDS: dict[str, str] = {
    **{label: proxy for proxy, label in PROXY_LABELS.items()},
    **{proxy: proxy for proxy in PROXY_LABELS},
}


def _items(value: Any) -> list[str]:
    return [item.strip() for item in _SPLIT.split(_text(value)) if item.strip()]


def _categories(value: Any) -> list[str]:
    items = _items(value)
    unknown = [item for item in items if item not in _CATEGORY_IDS]
    if unknown:
        raise ValueError(f"unknown category: {'、'.join(unknown)} (choose from the drop-down list)")
    return list(dict.fromkeys(_CATEGORY_IDS[item] for item in items))


def _category(value: Any) -> str:
    items = _categories(value)
    if len(items) != 1:
        raise ValueError("must be one category")
    return items[0]


def _needs(value: Any) -> list[str]:
    return list(dict.fromkeys(_PROXY_IDS.get(item, item) for item in _items(value)))


def _labels(value: Any) -> list[str]:
    return list(dict.fromkeys(_items(value)))


def _clock(text: str) -> str:
    hours, minutes = text.replace("：", ":").split(":")
    return f"{int(hours):02d}:{minutes}"


def weekly_slots(text: str) -> list[dict[str, str]]:
    """Weekly free times as people write them (``周一 19:00-21:30；周六 9:00-12:00``) as the API's
    ``weekly_availability``; raises ``ValueError`` naming the part it cannot read."""
    return _slots(text)


def _slots(value: Any) -> list[dict[str, str]]:
    """``周一 19:00-21:30；周六 09:00-12:00`` → ``[{"weekday": "mon", ...}, ...]``."""
    slots: list[dict[str, str]] = []
    for item in _items(value):
        match = _SLOT.match(item)
        day = _WEEKDAY_NAMES.get(match["day"].lower()) if match else None
        if match is None or day is None:
            raise ValueError(f"cannot read {item!r}: write such as 周一 19:00-21:30")
        slots.append({"weekday": day, "start": _clock(match["start"]), "end": _clock(match["end"])})
    return slots


_READERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "number": _number,
    "integer": _integer,
    "datetime": _datetime,
    "date": _date,
    "source": _source,
    "category": _category,
    "categories": _categories,
    "labels": _labels,
    "needs": _needs,
    "slots": _slots,
}

# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------


def _get(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _label_list(labels: Mapping[str, str]) -> Callable[[Any], Any]:
    return lambda values: "、".join(labels.get(v, v) for v in values or [])


def _label(labels: Mapping[str, str]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else labels.get(value, value)


def _priority(value: Any) -> Any:
    return None if value is None else f"{value}（{PRIORITY_LABELS.get(value, '')}）"


def _yes_no(value: Any) -> str:
    return "是" if value else "否"


def _weekly(slots: Any) -> str:
    return "；".join(
        f"{WEEKDAY_LABELS.get(s['weekday'], s['weekday'])} {s['start']}-{s['end']}"
        for s in slots or []
    )


_Out = tuple[str, str, Callable[[Any], Any] | None]

_TASK_COLUMNS: tuple[_Out, ...] = (
    ("任务编号", "id", None),
    ("需求编号", "demand_id", None),
    ("党员编号", "member_id", None),
    ("党员姓名", "member_name", None),
    ("开始时间", "start", None),
    ("结束时间", "end", None),
    ("状态", "status", _label(TASK_STATUS_LABELS)),
    ("拒绝原因", "decline_reason", None),
    ("服务小时", "hours", None),
    ("评价", "rating", None),
    ("逾期", "overdue", _yes_no),
    ("派单时间", "created_at", None),
    ("完成时间", "completed_at", None),
)

EXPORT_COLUMNS: dict[str, tuple[_Out, ...]] = {
    "demands": (
        ("需求编号", "id", None),
        ("类别", "category", _label(CATEGORIES)),
        ("需求内容", "content", None),
        ("诉求来源", "source", _label(SOURCE_LABELS)),
        ("所需技能", "skills", _label_list(CATEGORIES)),
        ("纬度", "location.lat", None),
        ("经度", "location.lon", None),
        ("开始时间", "window.start", None),
        ("结束时间", "window.end", None),
        ("时长(小时)", "duration_hours", None),
        ("优先级", "priority", None),
        ("所需人数", "crew_size", None),
        ("居民编号", "resident_ref", None),
        ("联系电话", "contact.phone", None),
        ("地址", "contact.address", None),
        ("状态", "status", _label(DEMAND_STATUS_LABELS)),
        ("逾期", "overdue", _yes_no),
        ("登记时间", "created_at", None),
        ("办结时间", "closed_at", None),
    ),
    "tasks": _TASK_COLUMNS,
    "services": _TASK_COLUMNS,
    "members": (
        ("党员编号", "id", None),
        ("登记卡号", "card_number", None),
        ("姓名", "name", None),
        ("联系电话", "phone", None),
        ("单位", "unit_id", None),
        ("所在党组织", "party_organisation", None),
        ("职务", "position", None),
        ("发卡日期", "card_issued_on", None),
        ("报到日期", "reported_on", None),
        ("职业", "occupation", None),
        ("专业特长", "specialties", _label_list({})),
        ("技能", "skills", _label_list(CATEGORIES)),
        ("服务意向", "preferences", _label_list(CATEGORIES)),
        ("网格", "grid_id", None),
        ("楼栋", "building_id", None),
        ("纬度", "location.lat", None),
        ("经度", "location.lon", None),
        ("每周可服务时段", "weekly_availability", _weekly),
        ("每周可服务小时", "capacity_hours_per_week", None),
        ("状态", "status", _label(MEMBER_STATUS_LABELS)),
        ("报到时间", "reported_at", None),
        ("登记时间", "created_at", None),
    ),
    "ledger": (
        ("类型", "kind", _label(LEDGER_KIND_LABELS)),
        ("党员编号", "member_id", None),
        ("党员姓名", "member_name", None),
        ("时间", "start", None),
        ("小时", "hours", None),
        ("评价", "rating", None),
        ("类别", "category", _label(CATEGORIES)),
        ("小组", "team", None),
        ("走访户", "households", _label_list({})),
        ("备注", "notes", None),
        ("任务编号", "source.task_id", None),
        ("需求编号", "source.demand_id", None),
        ("走访编号", "source.visit_session_id", None),
    ),
    "visit-notes": (
        ("走访日期", "visited_on", None),
        ("走访人员", "visitor_names", _label_list({})),
        ("楼栋", "building", None),
        ("户编号", "household_id", None),
        ("走访情况", "content", None),
        ("建议类别", "category", _label(CATEGORIES)),
        ("转为需求", "demand_id", None),
        ("记录人", "recorded_by", None),
        ("记录时间", "created_at", None),
    ),
    "requests": (
        ("需求编号", "demand.id", None),
        ("登记时间", "demand.created_at", None),
        ("诉求来源", "demand.source", _label(SOURCE_LABELS)),
        ("类别", "demand.category", _label(CATEGORIES)),
        ("需求内容", "demand.content", None),
        ("居民编号", "demand.resident_ref", None),
        ("优先级", "demand.priority", _priority),
        ("服务时间段", "window_text", None),
        ("状态", "demand.status", _label(DEMAND_STATUS_LABELS)),
        ("办理过程", "history_text", None),
        ("服务党员", "served_by", _label_list({})),
        ("办结时间", "demand.closed_at", None),
    ),
    "feedback": (
        ("需求编号", "demand.id", None),
        ("登记时间", "demand.created_at", None),
        ("需求内容", "demand.content", None),
        ("服务党员", "served_by", _label_list({})),
        ("办理结果", "feedback.outcome", None),
        ("反馈时间", "feedback.told_at", None),
        ("反馈方式", "feedback.told_via", _label(TOLD_VIA_LABELS)),
        ("满意度", "feedback.satisfaction", _label(SATISFACTION_LABELS)),
        ("未反馈原因", "feedback.no_feedback_reason", None),
        ("记录人", "feedback.recorded_by", None),
        ("状态", "demand.status", _label(DEMAND_STATUS_LABELS)),
    ),
}
"""Each export's columns: (Chinese header, field path of the list's record, formatter)."""

EXPORT_TITLES = {
    "demands": "需求清单",
    "tasks": "任务清单",
    "services": "服务清单",
    "members": "在职党员",
    "ledger": "活动台账",
    "visit-notes": "民情走访台账",
    "requests": "群众诉求台账",
    "feedback": "诉求反馈台账",
}


def _cell_value(value: Any) -> Any:
    """Excel has no time zones: aware times become Beijing wall-clock time."""
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(LOCAL).replace(tzinfo=None)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.utcoffset() is not None:
            return moment.astimezone(LOCAL).replace(tzinfo=None)
    return value


def export(kind: str, rows: Iterable[Mapping[str, Any]]) -> bytes:
    """A list as xlsx: one sheet titled by the list (需求清单...), Chinese headers, one row per
    record.

    Args:
        kind: One of :data:`EXPORT_KINDS`.
        rows: The records the JSON list returns (``present_demand``, ``present_task``,
            ``present_member``, ledger entries): contact details are the masked values those
            records carry, and nothing else is read.

    Times are Beijing wall-clock time; text is never written as a formula.

    Raises:
        KeyError: For an unknown kind.
    """
    columns = EXPORT_COLUMNS[kind]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = EXPORT_TITLES[kind]
    sheet.append([header for header, _, _ in columns])
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
    for number, record in enumerate(rows, start=2):
        for index, (_, path, formatter) in enumerate(columns, start=1):
            value = _get(record, path)
            if formatter is not None:
                value = formatter(value)
            value = _cell_value(value)
            cell = sheet.cell(row=number, column=index)
            if isinstance(value, list | dict):
                value = str(value)
            cell.value = value
            if cell.data_type == "f":  # text that starts with "=" stays text
                cell.data_type = "s"
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for index, (header, _, _) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, 2 * len(header) + 4)
    sheet.freeze_panes = "A2"
    return _save(book)
