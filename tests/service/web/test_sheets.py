"""Excel templates, imports and exports, and the community map (issue #8).

The pure module (:mod:`service.web.workbooks`) is tested on workbooks built with openpyxl;
the API (:mod:`service.web.api.sheets`) on SQLite and PostgreSQL through the ``app`` fixture, with
API keys and people's logins (scope: a foreign community is 404, a member 403).
"""

from __future__ import annotations

import io
import logging
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook

from matcher.vocabulary import CATEGORIES
from service.domain.availability import LOCAL
from service.domain.coordinates import gcj02_to_wgs84
from service.web import workbooks as sheets
from tests.service.domain.test_menu_flow import API, _ok
from tests.service.domain.test_people_and_roles import ADDRESS, PHONE, Roles, assert_error
from tests.service.helpers import travel_past

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _future(days: int = 2, hour: int = 9) -> datetime:
    """A naive Beijing wall-clock time (as Excel holds it) ``days`` from now."""
    day = (datetime.now(LOCAL) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour))


def filled(kind: str, rows: list[dict[str, Any]]) -> bytes:
    """The template of ``kind`` with ``rows`` (Chinese header → value) from Excel row 2."""
    book = load_workbook(io.BytesIO(sheets.template(kind)))
    sheet = book[sheets.SHEET_TITLES[kind]]
    headers = {cell.value: cell.column for cell in sheet[1]}
    for number, row in enumerate(rows, start=2):
        for header, value in row.items():
            sheet.cell(row=number, column=headers[header], value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def demand_row(**extra: Any) -> dict[str, Any]:
    return {
        "类别": "助老服务",
        "所需技能": "助老服务",
        "纬度": 34.7621,
        "经度": 113.6522,
        "开始时间": _future(hour=9),
        "结束时间": _future(hour=17),
        "时长(小时)": 1.5,
        "优先级": 3,
        **extra,
    }


def member_row(**extra: Any) -> dict[str, Any]:
    return {
        "登记卡号": f"card-{uuid.uuid4().hex[:12]}",
        "姓名": "李明",
        "职业": "教师",
        "技能": "助老服务、数字帮办",
        "服务意向": "助老服务",
        "纬度": 34.761234,
        "经度": 113.651234,
        "每周可服务时段": "周一 19:00-21:30；周六 9:00-12:00",
        "每周可服务小时": 6,
        **extra,
    }


def workbook(body: bytes) -> Any:
    return load_workbook(io.BytesIO(body))


def upload(
    client: FlaskClient,
    url: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    filename: str = "sheet.xlsx",
    form: dict[str, str] | None = None,
) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(body), filename), **(form or {})}
    return client.post(
        f"{API}{url}", data=data, headers=headers or {}, content_type="multipart/form-data"
    )


@pytest.fixture
def roles(app: Flask, client: FlaskClient) -> Roles:
    return Roles(app, client)


def _count(roles: Roles, url: str) -> int:
    return len(_ok(roles.get(url)))


# --------------------------------------------------------------------------------------------
# The pure module: templates and parsing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sheets.IMPORT_KINDS)
def test_a_template_has_chinese_headers_drop_downs_and_instructions(kind: str) -> None:
    """Row 1 holds the Chinese headers, the instructions and options sheets follow, and the
    drop-downs offer the category labels, priority 1–5 and the coordinate system."""
    book = workbook(sheets.template(kind))
    assert book.sheetnames == [sheets.SHEET_TITLES[kind], "填写说明", "选项"]
    sheet = book[sheets.SHEET_TITLES[kind]]
    assert [c.value for c in sheet[1]] == [c.header for c in sheets.COLUMNS[kind]]
    formulas = [v.formula1 for v in sheet.data_validations.dataValidation]
    assert '"WGS-84,GCJ-02"' in formulas
    if kind != "residents":
        assert any(all(label in f for label in CATEGORIES.values()) for f in formulas)
    if kind == "demands":
        assert '"1,2,3,4,5"' in formulas
    assert any("填写说明" in str(c.value) for c in book["填写说明"]["A"])


def test_the_empty_template_reads_as_a_sheet_without_rows() -> None:
    """An untouched template is not an error of any cell: it has no data rows."""
    rows, errors = sheets.parse("demands", sheets.template("demands"))
    assert rows == []
    assert errors == {"rows": ["the sheet has no data rows"]}


def test_parsing_maps_labels_to_ids_and_numbers_rows_as_excel_does() -> None:
    """Labels become ids, Excel date-times become Beijing time, a card number typed as a
    number loses its ``.0``; a blank row is skipped and rows keep their Excel numbers."""
    body = filled("members", [member_row(登记卡号=1234567.0), {}, member_row()])
    rows, errors = sheets.parse("members", body)
    assert errors == {}
    assert [row.row for row in rows] == [2, 4]
    first = rows[0].data
    assert first["card_number"] == "1234567"
    assert first["skills"] == ["elderly_care", "digital_help"]
    assert first["preferences"] == ["elderly_care"]
    assert [(s["weekday"], s["start"].strftime("%H:%M")) for s in first["weekly_availability"]] == [
        ("mon", "19:00"),
        ("sat", "09:00"),
    ]
    demand = sheets.parse("demands", filled("demands", [demand_row()]))[0][0]
    assert demand.json["window"]["start"].endswith("+08:00")


def test_every_bad_cell_is_named_by_excel_row_and_field() -> None:
    """Errors are keyed ``rows[<Excel row>].<field>``: schema errors and cells that cannot
    be read (an unknown category, a coordinate system, a weekly slot), one message each."""
    body = filled(
        "demands",
        [
            demand_row(),
            demand_row(结束时间=_future(hour=8)),
            demand_row(类别="跳舞", 优先级=9, 坐标系="北京54"),
        ],
    )
    rows, errors = sheets.parse("demands", body)
    assert [row.row for row in rows] == [2]
    assert errors["rows[3].window.end"] == ["must be after start"]
    assert "unknown category" in errors["rows[4].category"][0]
    assert errors["rows[4].priority"] == ["must be an integer from 1 to 5"]
    assert errors["rows[4].coordinate_system"] == ["must be WGS-84 or GCJ-02"]
    members = filled("members", [member_row(每周可服务时段="周八 19:00-21:00")])
    assert list(sheets.parse("members", members)[1]) == ["rows[2].weekly_availability"]


def test_gcj02_coordinates_are_converted_to_wgs84() -> None:
    """A row marked GCJ-02, or any row when the import says gcj02, is stored in WGS-84."""
    amap = (34.7634, 113.6583)
    expected = tuple(round(x, 6) for x in gcj02_to_wgs84(*amap))
    marked = filled("demands", [demand_row(纬度=amap[0], 经度=amap[1], 坐标系="GCJ-02")])
    rows, _ = sheets.parse("demands", marked)
    assert (rows[0].data["location"].lat, rows[0].data["location"].lon) == expected
    plain = filled("demands", [demand_row(纬度=amap[0], 经度=amap[1])])
    assert sheets.parse("demands", plain)[0][0].data["location"].lat == amap[0]
    rows, _ = sheets.parse("demands", plain, "gcj02")
    assert (rows[0].data["location"].lat, rows[0].data["location"].lon) == expected
    wgs = filled("demands", [demand_row(纬度=amap[0], 经度=amap[1], 坐标系="WGS-84")])
    assert sheets.parse("demands", wgs, "gcj02")[0][0].data["location"].lat == amap[0]


def test_a_corrupt_file_is_one_error_naming_the_file() -> None:
    """Not a zip, a zip that is not a workbook: one error under ``file``, never an exception."""
    for body in (b"name,phone\n", b"PK\x03\x04 broken", b""):
        rows, errors = sheets.parse("demands", body, filename="需求.xlsx")
        assert rows == []
        assert errors == {"file": ["需求.xlsx is not a readable .xlsx workbook"]}


def test_dates_typed_as_text_are_read_as_beijing_time() -> None:
    """2026/12/5 9:00 and 2026年12月5日 9点 as well as Excel date cells; with an offset, kept."""
    day = _future(days=3)
    typed = [
        demand_row(
            开始时间=f"{day.year}/{day.month}/{day.day} 9:00",
            结束时间=day.replace(hour=17).isoformat(),
        ),
        demand_row(
            开始时间=f"{day.year}年{day.month}月{day.day}日 9点",
            结束时间=f"{day.date().isoformat()}T17:00:00+08:00",
        ),
        demand_row(开始时间="下周一上午"),
    ]
    rows, errors = sheets.parse("demands", filled("demands", typed))
    assert [row.json["window"]["start"] for row in rows] == [
        datetime.combine(day.date(), time(9), LOCAL).isoformat()
    ] * 2
    assert errors == {"rows[4].window.start": ["must be a date and time such as 2026-12-05 09:00"]}


def test_oversized_sheets_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """More than 1000 data rows is one error; a workbook that unpacks too large is refused
    before it is read."""
    many = filled("residents", [{"楼栋": "b-1", "纬度": 34.7, "经度": 113.6}] * 1001)
    assert sheets.parse("residents", many) == ([], {"rows": ["at most 1000 rows per import"]})
    monkeypatch.setattr(sheets, "MAX_UNPACKED_BYTES", 10_000)
    _rows, errors = sheets.parse("residents", many, filename="big.xlsx")
    assert list(errors) == ["file"]
    assert errors["file"][0].startswith("big.xlsx unpacks to more than")


ODD_VALUES: list[Any] = [
    True,
    -1,
    3.5,
    1e300,
    "#DIV/0!",
    "=A1",
    "  ",
    "、、",
    "周一",
    datetime(1899, 12, 31, 0, 0),
    time(9, 30),
    "x" * 5000,
]


@pytest.mark.parametrize("kind", sheets.IMPORT_KINDS)
def test_odd_cells_give_errors_never_exceptions(kind: str) -> None:
    """Every column filled with odd values (booleans, huge numbers, Excel error strings,
    formulas, times, long text): each row is either valid or named in the errors."""
    headers = [column.header for column in sheets.COLUMNS[kind]]
    rows = [
        {header: ODD_VALUES[(i + j) % len(ODD_VALUES)] for j, header in enumerate(headers)}
        for i in range(len(ODD_VALUES))
    ]
    parsed = sheets.parse_sheet(kind, filled(kind, rows))
    bad = {int(path[5 : path.index("]")]) for path in parsed.errors if path.startswith("rows[")}
    assert bad | {row.row for row in parsed.rows} == set(range(2, 2 + len(rows)))
    assert all(path.startswith("rows[") for path in parsed.errors)


def test_a_missing_required_column_is_named() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["类别", "纬度", "经度", "姓名"])
    sheet.append(["助老服务", 34.7, 113.6, "张三"])
    buffer = io.BytesIO()
    book.save(buffer)
    _, errors = sheets.parse("demands", buffer.getvalue())
    assert errors["columns.window.start"] == ["missing column 开始时间"]
    assert "columns.priority" in errors
    assert sheets.header_of("demands", "window.end") == "结束时间"


def test_exports_hold_the_records_with_chinese_headers_and_no_formulas() -> None:
    """An exported list opens in openpyxl with its title and headers; text starting with
    ``=`` stays text; aware times become Beijing wall-clock time."""
    created = datetime(2026, 12, 1, 1, 30, tzinfo=LOCAL).astimezone(LOCAL)
    task = {
        "id": "t-1",
        "demand_id": "d-1",
        "member_id": "m-1",
        "start": created,
        "end": created,
        "status": "declined",
        "decline_reason": "=HYPERLINK(1)",
        "overdue": False,
        "created_at": created,
    }
    sheet = workbook(sheets.export("tasks", [task]))["任务清单"]
    assert sheet["A1"].value == "任务编号"
    assert sheet["D1"].value == "党员姓名" and sheet["G1"].value == "状态"
    assert sheet["G2"].value == "已拒绝"
    assert sheet["H2"].value == "=HYPERLINK(1)"
    assert sheet["H2"].data_type == "s"
    assert sheet["E2"].value == datetime(2026, 12, 1, 1, 30)


# --------------------------------------------------------------------------------------------
# The API: templates and imports
# --------------------------------------------------------------------------------------------


def test_templates_download(client: FlaskClient, auth: dict[str, str]) -> None:
    for kind in sheets.IMPORT_KINDS:
        response = client.get(f"{API}/sheets/{kind}/template.xlsx", headers=auth)
        assert response.status_code == 200
        assert response.mimetype == XLSX
        assert workbook(response.data).sheetnames[0] == sheets.SHEET_TITLES[kind]
    assert_error(client.get(f"{API}/sheets/people/template.xlsx", headers=auth), 404)
    assert_error(client.get(f"{API}/sheets/demands/template.xlsx"), 401)


def test_a_good_demand_sheet_imports_and_its_rows_are_listed(
    roles: Roles, caplog: pytest.LogCaptureFixture
) -> None:
    """201 with the count; the demands are on the demand list with masked contacts; the logs
    hold neither the phone nor the address."""
    rows = [
        demand_row(居民编号="r-0001", 联系电话=int(PHONE), 地址=ADDRESS),
        demand_row(类别="便民维修", 所需技能="便民维修", 优先级=5),
    ]
    url = f"/communities/{roles.a}/imports/demands"
    with caplog.at_level(logging.DEBUG):
        body = _ok(upload(roles.client, url, filled("demands", rows), roles.key_a), 201)
    assert body["count"] == 2 and body["rows"] == 2 and not body["dry_run"]
    listed = {d["id"]: d for d in _ok(roles.get(f"/demands?community_id={roles.a}&status=open"))}
    assert set(body["ids"]) <= set(listed)
    first = listed[body["ids"][0]]
    assert first["category"] == "elderly_care" and first["resident_ref"] == "r-0001"
    assert first["contact"]["masked"] and first["contact"]["phone"] == "138****5678"
    assert listed[body["ids"][1]]["priority"] == 5
    assert PHONE not in caplog.text and ADDRESS not in caplog.text


def test_a_bad_row_is_listed_by_a_dry_run_and_fails_the_import(roles: Roles) -> None:
    """Dry run: 200 naming row 3's field, nothing written; real import: 422, nothing written
    (not even the good rows)."""
    before = _count(roles, f"/demands?community_id={roles.a}")
    body = filled("demands", [demand_row(), demand_row(结束时间=_future(hour=8)), demand_row()])
    url = f"/communities/{roles.a}/imports/demands"
    dry = _ok(upload(roles.client, f"{url}?dry_run=true", body, roles.key_a), 200)
    assert dry["dry_run"] and dry["rows"] == 3 and dry["count"] == 2
    assert dry["errors"] == {"rows[3].window.end": ["must be after start"]}
    assert dry["ids"] == []
    error = assert_error(upload(roles.client, url, body, roles.key_a), 422)
    assert error["errors"] == {"rows[3].window.end": ["must be after start"]}
    assert _count(roles, f"/demands?community_id={roles.a}") == before
    good = filled("demands", [demand_row()])
    assert _ok(upload(roles.client, f"{url}?dry_run=true", good, roles.key_a))["errors"] == {}
    assert _count(roles, f"/demands?community_id={roles.a}") == before


def test_gcj02_coordinates_are_stored_as_wgs84(roles: Roles) -> None:
    amap = (34.7634, 113.6583)
    url = f"/communities/{roles.a}/imports/demands?coordinates=gcj02"
    body = filled("demands", [demand_row(纬度=amap[0], 经度=amap[1])])
    (demand_id,) = _ok(upload(roles.client, url, body, roles.key_a), 201)["ids"]
    location = _ok(roles.get(f"/demands/{demand_id}"))["location"]
    lat, lon = gcj02_to_wgs84(*amap)
    assert location == {"lat": round(lat, 6), "lon": round(lon, 6)}
    assert abs(location["lat"] - amap[0]) + abs(location["lon"] - amap[1]) > 1e-3


def test_a_member_sheet_registers_members_by_names_of_grids_buildings_and_units(
    roles: Roles,
) -> None:
    """Grids, buildings and units may be named; the members are registered and listed; a
    card number already registered or repeated in the sheet, and an unknown grid, are named."""
    grid_name = f"第一网格-{uuid.uuid4().hex[:6]}"
    grid = _ok(roles.post(f"/communities/{roles.a}/grids", {"name": grid_name}), 201)
    building = _ok(roles.post(f"/grids/{grid['id']}/buildings", {"name": "3号楼"}), 201)
    unit_name = f"市供水公司-{uuid.uuid4().hex[:6]}"
    unit = _ok(
        roles.client.post(f"{API}/units", json={"name": unit_name}, headers=roles.district), 201
    )
    good = member_row(网格=grid_name, 楼栋="3号楼", 单位=unit_name, 专业特长="书法、摄影")
    no_grid = member_row(楼栋=building["id"])
    url = f"/communities/{roles.a}/imports/members"
    result = _ok(upload(roles.client, url, filled("members", [good, no_grid]), roles.key_a), 201)
    assert result["count"] == 2
    listed = {m["id"]: m for m in _ok(roles.get(f"/members?community_id={roles.a}"))}
    first, second = (listed[i] for i in result["ids"])
    assert first["card_number"] == good["登记卡号"]
    assert (first["grid_id"], first["building_id"], first["unit_id"]) == (
        grid["id"],
        building["id"],
        unit["id"],
    )
    assert first["skills"] == ["elderly_care", "digital_help"]
    assert first["specialties"] == ["书法", "摄影"]
    assert first["status"] == "registered" and first["capacity_hours_per_week"] == 6
    assert second["grid_id"] == grid["id"]  # the building's grid
    again = member_row(登记卡号=good["登记卡号"])
    twice = member_row()
    bad = filled("members", [again, twice, dict(twice), member_row(网格="没有这个网格")])
    dry = _ok(upload(roles.client, f"{url}?dry_run=true", bad, roles.key_a), 200)
    assert dry["errors"] == {
        "rows[2].card_number": ["already registered"],
        "rows[4].card_number": ["repeats row 3"],
        "rows[5].grid_id": ["no such grid (an id or a name)"],
    }
    assert dry["count"] == 1
    before = _count(roles, f"/members?community_id={roles.a}")
    assert_error(upload(roles.client, url, bad, roles.key_a), 422)
    assert _count(roles, f"/members?community_id={roles.a}") == before


def test_a_residents_sheet_records_households(roles: Roles) -> None:
    grid = _ok(roles.post(f"/communities/{roles.a}/grids", {"name": "二网格"}), 201)
    building = _ok(roles.post(f"/grids/{grid['id']}/buildings", {"name": "5号院"}), 201)
    rows = [
        {"楼栋": building["id"], "纬度": 34.76, "经度": 113.65, "需求": "代办、代访"},
        {"楼栋": building["id"], "纬度": 34.761, "经度": 113.651},
    ]
    url = f"/communities/{roles.a}/imports/residents"
    result = _ok(upload(roles.client, url, filled("residents", rows), roles.key_a), 201)
    households = {h["id"]: h for h in _ok(roles.get(f"/communities/{roles.a}/households"))}
    first = households[result["ids"][0]]
    assert first["needs"] == ["errands", "visits"] and first["building_id"] == building["id"]
    foreign = [{"楼栋": "b-nowhere", "纬度": 34.76, "经度": 113.65}]
    error = assert_error(upload(roles.client, url, filled("residents", foreign), roles.key_a), 422)
    assert error["errors"] == {
        "rows[2].building_id": ["no such building (an id or a name) in the community"]
    }


def test_a_body_that_is_not_a_sheet_is_a_422_naming_file(roles: Roles) -> None:
    url = f"/communities/{roles.a}/imports/demands"
    csv = "类别,纬度\n助老服务,34.7\n".encode()
    assert_error(upload(roles.client, url, csv, roles.key_a, filename="a.csv"), 422, "file")
    broken = b"PK\x03\x04 not really a zip"
    assert_error(upload(roles.client, url, broken, roles.key_a), 422, "file")
    empty = roles.client.post(
        f"{API}{url}", data={}, headers=roles.key_a, content_type="multipart/form-data"
    )
    assert_error(empty, 422, "file")
    as_json = roles.client.post(f"{API}{url}", json={"demands": []}, headers=roles.key_a)
    assert_error(as_json, 422, "file")
    sheet = filled("demands", [demand_row()])
    assert_error(upload(roles.client, f"{url}?coordinates=bd09", sheet, roles.key_a), 422)
    assert_error(upload(roles.client, f"/communities/{roles.a}/imports/x", sheet, roles.key_a), 404)


def test_imports_are_for_the_communitys_managers(roles: Roles) -> None:
    """A foreign community is 404; members and unit organisers (who read it) 403; a
    dispatcher's session posts the form with its ``csrf_token`` field (without it: 403)."""
    sheet = filled("demands", [demand_row()])
    url = f"/communities/{roles.a}/imports/demands"
    assert_error(upload(roles.client, url, sheet, roles.key_b), 404)
    for name in ("member1", "organiser"):
        person = roles.person(name)
        form = {"csrf_token": person.csrf}
        assert_error(upload(person.client, url, sheet, form=form), 403)
    dispatcher = roles.person("dispatcher")
    assert_error(upload(dispatcher.client, url, sheet), 403)
    created = upload(dispatcher.client, url, sheet, form={"csrf_token": dispatcher.csrf})
    assert _ok(created, 201)["count"] == 1
    other = f"/communities/{roles.b}/imports/demands"
    assert_error(upload(dispatcher.client, other, sheet, form={"csrf_token": dispatcher.csrf}), 404)


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------


def _export(
    client: FlaskClient, community: str, name: str, headers: dict[str, str], query: str = ""
) -> Any:
    url = f"{API}/communities/{community}/exports/{name}.xlsx{query}"
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == XLSX
    return workbook(response.data)


def _values(book: Any) -> list[list[Any]]:
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def test_exports_hold_the_lists_rows_with_masked_contacts(roles: Roles) -> None:
    demand = roles.demand(roles.a, ["elderly_care"], contact_phone=PHONE, address=ADDRESS)
    book = _export(roles.client, roles.a, "demands", roles.key_a)
    assert book.sheetnames == ["需求清单"]
    rows = _values(book)
    assert rows[0][:5] == ["需求编号", "类别", "需求内容", "诉求来源", "所需技能"]
    column = {header: i for i, header in enumerate(rows[0])}
    mine = next(row for row in rows if row[0] == demand["id"])
    assert mine[1] == "助老服务" and mine[column["联系电话"]] == "138****5678"
    assert mine[column["状态"]] == "待派单"
    flat = " ".join(str(v) for row in rows for v in row)
    assert PHONE not in flat and ADDRESS not in flat
    open_ids = {d["id"] for d in _ok(roles.get(f"/demands?community_id={roles.a}&status=open"))}
    assert {row[0] for row in rows[1:]} == open_ids

    roles.dispatch(roles.a)
    tasks = _values(_export(roles.client, roles.a, "tasks", roles.key_a))
    listed = _ok(roles.get(f"/tasks?community_id={roles.a}&status=offered,accepted"))
    assert {row[0] for row in tasks[1:]} == {t["id"] for t in listed}
    assert tasks[0][:3] == ["任务编号", "需求编号", "党员编号"]
    done = listed[0]["id"]
    travel_past(_ok(roles.post(f"/tasks/{done}/accept")))
    _ok(roles.post(f"/tasks/{done}/complete", {"hours": 1.5}))
    _ok(roles.post(f"/tasks/{done}/rate", {"rating": 5}))
    services = _values(_export(roles.client, roles.a, "services", roles.key_a))
    assert [row[0] for row in services[1:]] == [done]
    column = {header: i for i, header in enumerate(services[0])}
    assert services[1][column["状态"]] == "已完成"
    assert services[1][column["服务小时"]] == 1.5 and services[1][column["评价"]] == 5
    served_by = _ok(roles.get(f"/tasks/{done}"))["member_id"]
    assert services[1][column["党员姓名"]] == _ok(roles.get(f"/members/{served_by}"))["name"]
    ledger = _export(roles.client, roles.a, "ledger", roles.key_a)
    assert ledger.sheetnames == ["活动台账"]
    entries = _values(ledger)
    column = {header: i for i, header in enumerate(entries[0])}
    assert [(row[0], row[column["任务编号"]]) for row in entries[1:]] == [("服务", done)]
    visits = _values(_export(roles.client, roles.a, "ledger", roles.key_a, "?kind=visit"))
    assert visits[1:] == []
    assert_error(
        roles.get(f"/communities/{roles.a}/exports/ledger.xlsx?from=2026-13-01"), 422, "query.from"
    )
    members_book = _export(roles.client, roles.a, "members", roles.key_a)
    assert members_book.sheetnames == ["在职党员"]
    members = _values(members_book)
    assert {row[0] for row in members[1:]} == {
        m["id"] for m in _ok(roles.get(f"/members?community_id={roles.a}"))
    }


def test_exports_are_scoped_like_the_lists(roles: Roles) -> None:
    """A member's members export holds themself only; a foreign community is 404; an unknown
    list is 404."""
    member = roles.person("member1")
    response = member.client.get(f"{API}/communities/{roles.a}/exports/members.xlsx")
    assert response.status_code == 200
    rows = _values(workbook(response.data))
    assert [row[0] for row in rows[1:]] == [roles.m_a1["id"]]
    foreign = roles.client.get(
        f"{API}/communities/{roles.b}/exports/demands.xlsx", headers=roles.key_a
    )
    assert_error(foreign, 404)
    unknown = roles.client.get(
        f"{API}/communities/{roles.a}/exports/people.xlsx", headers=roles.key_a
    )
    assert_error(unknown, 404)


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------


def test_the_map_shows_open_demands_and_rounded_members(roles: Roles) -> None:
    """GeoJSON in WGS-84: demands with category, priority and status only; active members by
    id at their home rounded to 0.001°; for managers only."""
    demand = roles.demand(roles.a, ["elderly_care"], contact_phone=PHONE, resident_ref="r-77")
    response = roles.client.get(f"{API}/communities/{roles.a}/map", headers=roles.key_a)
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    by_id = {f["properties"]["id"]: f for f in body["features"]}
    mine = by_id[demand["id"]]
    assert mine["geometry"] == {
        "type": "Point",
        "coordinates": [demand["location"]["lon"], demand["location"]["lat"]],
    }
    assert mine["properties"] == {
        "kind": "demand",
        "id": demand["id"],
        "category": "elderly_care",
        "category_label": "助老服务",
        "priority": 3,
        "status": "open",
    }
    assert PHONE not in response.get_data(as_text=True)
    assert "r-77" not in response.get_data(as_text=True)
    member = by_id[roles.m_a1["id"]]
    assert member["properties"] == {"kind": "member", "id": roles.m_a1["id"]}
    lon, lat = member["geometry"]["coordinates"]
    assert (lat, lon) == (
        round(roles.m_a1["location"]["lat"], 3),
        round(roles.m_a1["location"]["lon"], 3),
    )
    assert roles.m_b1["id"] not in by_id
    assert_error(roles.client.get(f"{API}/communities/{roles.b}/map", headers=roles.key_a), 404)
    assert_error(roles.person("member1").get(f"/communities/{roles.a}/map"), 403)
    assert _ok(roles.person("dispatcher").get(f"/communities/{roles.a}/map"))["features"]


def test_a_member_sheet_keeps_names_phones_and_card_dates_and_refuses_a_bad_phone_by_row(
    roles: Roles,
) -> None:
    """姓名, 联系电话 (encrypted, listed masked), 所在党组织, 职务, 发卡日期 and 报到日期 are read;
    a phone such as 12345, a date that does not exist and a missing name are row errors."""
    good = member_row(
        姓名="周春梅",
        联系电话="139 1234 5678",
        所在党组织="八中党支部",
        职务="年级组长",
        发卡日期="2026年3月5日",
        报到日期="2026/3/12",
    )
    bad = [
        member_row(联系电话="12345"),
        member_row(发卡日期="2026-02-30"),
        {k: v for k, v in member_row().items() if k != "姓名"},
    ]
    url = f"/communities/{roles.a}/imports/members"
    dry = _ok(
        upload(roles.client, url + "?dry_run=true", filled("members", [good, *bad]), roles.key_a)
    )
    assert dry["count"] == 1
    assert set(dry["errors"]) == {"rows[3].phone", "rows[4].card_issued_on", "rows[5].name"}
    assert sheets.header_of("members", "phone") == "联系电话"
    result = _ok(upload(roles.client, url, filled("members", [good]), roles.key_a), 201)
    (member_id,) = result["ids"]
    member = _ok(roles.get(f"/members/{member_id}"))
    assert (member["name"], member["phone"]) == ("周春梅", "139****5678")
    assert (member["card_issued_on"], member["reported_on"]) == ("2026-03-05", "2026-03-12")
    assert (member["party_organisation"], member["position"]) == ("八中党支部", "年级组长")


def test_a_demand_sheet_keeps_content_and_source_and_places_a_row_at_its_building(
    roles: Roles,
) -> None:
    """需求内容 and 诉求来源 (by its Chinese name) are read; a row with a 楼栋 and no coordinates
    is served at the building; a building without a location, or an unknown source, is named."""
    grid = _ok(
        roles.post(f"/communities/{roles.a}/grids", {"name": f"网格-{uuid.uuid4().hex[:6]}"}), 201
    )
    placed = f"5号楼-{uuid.uuid4().hex[:4]}"
    _ok(
        roles.post(
            f"/grids/{grid['id']}/buildings",
            {"name": placed, "location": {"lat": 34.7633, "lon": 113.6544}},
        ),
        201,
    )
    bare = f"6号楼-{uuid.uuid4().hex[:4]}"
    _ok(roles.post(f"/grids/{grid['id']}/buildings", {"name": bare}), 201)
    at_building = {
        k: v
        for k, v in demand_row(需求内容="楼道灯坏了", 诉求来源="QQ群", 楼栋=placed).items()
        if k not in ("纬度", "经度")
    }
    nowhere = {k: v for k, v in demand_row(楼栋=bare).items() if k not in ("纬度", "经度")}
    unknown_source = demand_row(诉求来源="微博")
    url = f"/communities/{roles.a}/imports/demands"
    book = filled("demands", [at_building, nowhere, unknown_source])
    dry = _ok(upload(roles.client, url + "?dry_run=true", book, roles.key_a))
    assert set(dry["errors"]) == {"rows[3].location", "rows[4].source"}
    result = _ok(upload(roles.client, url, filled("demands", [at_building]), roles.key_a), 201)
    (demand_id,) = result["ids"]
    demand = _ok(roles.get(f"/demands/{demand_id}"))
    assert (demand["content"], demand["source"]) == ("楼道灯坏了", "qq_group")
    assert demand["location"] == {"lat": 34.7633, "lon": 113.6544}
