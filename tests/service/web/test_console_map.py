"""The console's map (issue #19): base-map presets, the community drawn without one, markers by
status with their popups' text, and the site's icon.

The base map is a preset (``LINLI_MAP_PRESET``): none by default (no tiles, nothing fetched from
outside, never OpenStreetMap), 天地图 with its key, AMap/高德 in GCJ-02, or a custom tile server.
The page embeds the community's GeoJSON (``community_map(detail=True)``): grids, buildings,
demands with their status, content and time window in Beijing time, members with their name.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from service.app import create_app
from service.db.base import utcnow
from service.db.flow import Demand
from service.db.registration import Building, Member
from service.domain.availability import LOCAL
from service.domain.coordinates import wgs84_to_gcj02
from service.domain.demo import seed_demo
from service.domain.labels import PRIORITY_LABELS
from service.web.api.sheets import MAP_GRID_MARGIN_DEG, _outline, community_map
from service.web.console.base import tile_settings
from tests.service.conftest import PG_DATABASE, TEST_SETTINGS, _postgres_url, thread_executor
from tests.service.web import test_console_browser as browser_tests
from tests.service.web.test_console import C, Login

browser = browser_tests.browser  # the fixtures: headless Chromium, and Playwright or the skip
sync_api = browser_tests.sync_api

MAP = f"/console/c/{C}/map"
STATUS_WORDS = {
    "open": "待派单",
    "dispatched": "已派单",
    "accepted": "已接单",
    "completed": "已完成待反馈",
    "closed": "已办结",
    "cancelled": "已取消",
}
MAP_DATA = re.compile(r'<script type="application/json" id="map-data">(.*?)</script>', re.S)
SETTINGS = (
    "LINLI_MAP_PRESET",
    "LINLI_TIANDITU_KEY",
    "LINLI_MAP_TILE_URL",
    "LINLI_MAP_ATTRIBUTION",
    "LINLI_MAP_APPROVAL",
    "LINLI_MAP_SUBDOMAINS",
    "LINLI_MAP_CRS",
)


@pytest.fixture(autouse=True)
def _no_map_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's own map settings never leak into these tests."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def map_app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on a database of its own, seeded with the demo community."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('console_map') / 'linli.sqlite3'}"
    else:
        url = _postgres_url(f"{PG_DATABASE}_console_map")
    app = create_app(
        {"LINLI_DATABASE_URL": url, **TEST_SETTINGS, "EXECUTOR_FACTORY": thread_executor}
    )
    state = app.extensions["linli"]
    with state.sessions() as session:
        seed_demo(session, state.cipher)
    yield app
    state.close(cancel_running=True)


def _tiles(app: Flask, **config: str) -> dict[str, str]:
    saved = {k: app.config.get(k) for k in config}
    app.config.update(config)
    try:
        with app.test_request_context("/console/"):
            return tile_settings()
    finally:
        app.config.update(saved)


def _map_data(page_text: str) -> dict[str, Any]:
    found = MAP_DATA.search(page_text)
    assert found, page_text[:500]
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def _visible(page_text: str) -> str:
    """The page's text without its tags, scripts and attributes."""
    body = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", page_text, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------


def test_the_default_is_no_base_map_and_never_openstreetmap(map_app: Flask) -> None:
    """Nothing configured: no tiles, no attribution; the page says so in Chinese and names no
    setting."""
    tiles = _tiles(map_app)
    assert tiles["preset"] == "none"
    assert tiles["url"] == tiles["labels_url"] == tiles["attribution"] == ""
    page = Login(map_app, "dispatcher").get(MAP)
    assert page.status_code == 200
    assert "openstreetmap" not in page.text.lower()
    assert 'data-tiles=""' in page.text
    text = _visible(page.text)
    assert "本地图未加载底图" in text and "天地图或高德地图" in text
    assert "LINLI_" not in page.text


def test_tianditu_needs_its_key_and_shows_its_own_attribution(
    map_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """天地图: WGS-84 vector tiles and Chinese labels carrying the key; without a key, no base
    map (and a warning in the log, not on the page)."""
    monkeypatch.setenv("LINLI_MAP_PRESET", "tianditu")
    assert _tiles(map_app)["preset"] == "none"
    monkeypatch.setenv("LINLI_TIANDITU_KEY", "k123")
    tiles = _tiles(map_app)
    assert tiles["preset"] == "tianditu" and tiles["crs"] == "wgs84"
    assert tiles["url"].startswith("https://t{s}.tianditu.gov.cn/vec_w/wmts?")
    assert tiles["url"].endswith("&tk=k123") and "LAYER=vec" in tiles["url"]
    assert "cva_w" in tiles["labels_url"] and tiles["labels_url"].endswith("&tk=k123")
    assert tiles["subdomains"] == "01234567"
    assert tiles["attribution"] == "© 天地图"
    monkeypatch.setenv("LINLI_MAP_APPROVAL", "审图号：GS(2099)0001号")
    assert _tiles(map_app)["attribution"] == "© 天地图 · 审图号：GS(2099)0001号"
    page = Login(map_app, "dispatcher").get(MAP)
    assert 'data-attribution="© 天地图 · 审图号：GS(2099)0001号"' in page.text
    assert "本地图未加载底图" not in page.text


def test_amap_is_gcj02_with_its_own_attribution(monkeypatch: pytest.MonkeyPatch) -> None:
    """高德: the page shifts the points to GCJ-02 (``data-crs``), and says so without naming a
    coordinate system's code."""
    app = Flask(__name__)
    monkeypatch.setenv("LINLI_MAP_PRESET", "AMap")
    with app.test_request_context("/"):
        tiles = tile_settings()
    assert tiles["preset"] == "amap" and tiles["crs"] == "gcj02"
    assert tiles["url"].startswith("https://webrd0{s}.is.autonavi.com/appmaptile?")
    assert tiles["subdomains"] == "1234" and tiles["attribution"] == "© 高德地图"


def test_custom_tiles_and_unknown_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tile URL alone means ``custom``; an unknown preset or a custom one without a URL means
    no base map."""
    app = Flask(__name__)
    app.config["CONSOLE_MAP_TILE_URL"] = "https://tiles.example.cn/{z}/{x}/{y}.png"
    with app.test_request_context("/"):
        custom = tile_settings()
        monkeypatch.setenv("LINLI_MAP_ATTRIBUTION", "© 某市测绘院")
        monkeypatch.setenv("LINLI_MAP_CRS", "GCJ02")
        shifted = tile_settings()
        monkeypatch.setenv("LINLI_MAP_PRESET", "osm")
        unknown = tile_settings()
    assert custom == {
        "preset": "custom",
        "url": "https://tiles.example.cn/{z}/{x}/{y}.png",
        "labels_url": "",
        "attribution": "",
        "subdomains": "abc",
        "crs": "wgs84",
        "max_zoom": "19",
    }
    assert shifted["attribution"] == "© 某市测绘院" and shifted["crs"] == "gcj02"
    assert unknown["preset"] == "none" and unknown["url"] == ""
    monkeypatch.setenv("LINLI_MAP_PRESET", "custom")
    with Flask(__name__).test_request_context("/"):
        assert tile_settings()["preset"] == "none"


# --------------------------------------------------------------------------------------------
# What the map draws
# --------------------------------------------------------------------------------------------


def test_the_page_embeds_grids_buildings_demands_and_members(map_app: Flask) -> None:
    """Every active member and open demand, each grid and building that has members; popups'
    text in Chinese: the category and status, the time window in Beijing time, the member's
    name (the occupation until names exist); never the resident's details."""
    page = Login(map_app, "dispatcher").get(MAP)
    data = _map_data(page.text)
    kinds = [f["properties"]["kind"] for f in data["features"]]
    with map_app.extensions["linli"].sessions() as session:
        members = {
            m.id: m
            for m in session.scalars(
                select(Member).where(Member.community_id == C, Member.status == "active")
            )
        }
        demands = {d.id: d for d in session.scalars(select(Demand).where(Demand.community_id == C))}
        grids = {m.grid_id for m in members.values()}
        buildings = {m.building_id for m in members.values()}
    assert kinds.count("member") == len(members)
    assert kinds.count("grid") == len(grids) and kinds.count("building") == len(buildings)
    shown_demands = [f for f in data["features"] if f["properties"]["kind"] == "demand"]
    week_ago = utcnow() - timedelta(days=7)
    expected = {
        d.id
        for d in demands.values()
        if d.status in ("open", "dispatched", "accepted")
        or (d.closed_at is not None and d.closed_at >= week_ago)
    }
    assert {f["properties"]["id"] for f in shown_demands} == expected
    assert any(d.status == "open" for d in demands.values())
    for feature in shown_demands:
        p = feature["properties"]
        demand = demands[p["id"]]
        start, end = demand.window_start.astimezone(LOCAL), demand.window_end.astimezone(LOCAL)
        assert p["title"] == p["category_label"]
        assert p["status_label"] == STATUS_WORDS[demand.status]
        assert p["window_text"].startswith(f"{start.month}月{start.day}日 {start:%H:%M}–")
        assert p["window_text"].endswith(f"{end:%H:%M}")
        assert p["content"] == demand.content
        assert p["priority_text"] == PRIORITY_LABELS[demand.priority]
    for feature in data["features"]:
        p = feature["properties"]
        if p["kind"] == "member":
            member = members[p["id"]]
            assert p["title"] == (getattr(member, "name", None) or member.occupation)
            lon, lat = feature["geometry"]["coordinates"]
            assert (lat, lon) == (round(member.lat, 3), round(member.lon, 3))
        if p["kind"] == "grid":
            ring = feature["geometry"]["coordinates"][0]
            assert ring[0] == ring[-1] and p["title"] == p["name"]
    assert "contact_phone" not in page.text and "resident_ref" not in page.text
    legend = re.search(r'<ul class="map-legend".*?</ul>', page.text, re.S)
    assert legend is not None
    words = ("待派单", "已派单", "已接单", "已完成待反馈（近7天）", "已办结（近7天）")
    words += ("已取消（近7天）", "楼栋", "网格")
    for word in words:
        assert word in legend.group()
    english = Login(map_app, "dispatcher").get(f"{MAP}?lang=en")
    assert "Legend" in english.text and "runs without a base map" in english.text


def test_the_consoles_map_shows_accepted_and_recently_closed_demands(map_app: Flask) -> None:
    """``detail=True``: accepted demands, and completed or cancelled ones closed in the last
    week, each with its status; the API's map (``detail=False``) keeps its contract."""
    now = utcnow()
    with map_app.extensions["linli"].sessions() as session:
        ids = list(
            session.scalars(
                select(Demand.id)
                .where(Demand.community_id == C, Demand.status == "open")
                .order_by(Demand.id)
                .limit(5)
            )
        )
        changes = [
            ("accepted", None),
            ("completed", now - timedelta(days=1)),
            ("closed", now - timedelta(days=3)),
            ("cancelled", now - timedelta(days=2)),
            ("completed", now - timedelta(days=30)),
        ]
        for demand_id, (status, closed_at) in zip(ids, changes, strict=True):
            demand = session.get(Demand, demand_id)
            assert demand is not None
            demand.status, demand.closed_at = status, closed_at
        session.commit()
    try:
        dispatcher = Login(map_app, "dispatcher")
        data = _map_data(dispatcher.get(MAP).text)
        shown = {f["properties"]["id"]: f["properties"] for f in data["features"]}
        labels = [shown[i]["status_label"] for i in ids[:4]]
        assert labels == ["已接单", "已完成待反馈", "已办结", "已取消"]
        assert ids[4] not in shown  # completed a month ago
        api = dispatcher.get(f"/api/v1/communities/{C}/map").get_json()
        by_id = {f["properties"]["id"]: f["properties"] for f in api["features"]}
        assert not any(i in by_id for i in ids)
        assert {p["kind"] for p in by_id.values()} == {"demand", "member"}
        member = next(p for p in by_id.values() if p["kind"] == "member")
        assert set(member) == {"kind", "id"}
    finally:
        with map_app.extensions["linli"].sessions() as session:
            for demand_id in ids:
                demand = session.get(Demand, demand_id)
                assert demand is not None
                demand.status, demand.closed_at = "open", None
            session.commit()


def test_a_building_with_a_location_stands_there(map_app: Flask) -> None:
    """A building's own location wins over its members' homes, and its grid's outline holds
    it."""
    with map_app.extensions["linli"].sessions() as session:
        member = session.scalars(
            select(Member).where(Member.community_id == C, Member.building_id.is_not(None))
        ).first()
        assert member is not None and member.building_id is not None
        building = session.get(Building, member.building_id)
        assert building is not None
        building.lat, building.lon = 34.7123, 113.6123  # far from the demo's homes
        building_id, grid_id = building.id, building.grid_id
        session.commit()
    try:
        data = _map_data(Login(map_app, "dispatcher").get(MAP).text)
        by_id = {f["properties"]["id"]: f for f in data["features"]}
        assert by_id[building_id]["geometry"]["coordinates"] == [113.6123, 34.7123]
        ring = by_id[grid_id]["geometry"]["coordinates"][0]
        assert min(lat for _lon, lat in ring) < 34.7123 < max(lat for _lon, lat in ring)
        assert min(lon for lon, _lat in ring) < 113.6123 < max(lon for lon, _lat in ring)
    finally:
        with map_app.extensions["linli"].sessions() as session:
            building = session.get(Building, building_id)
            assert building is not None
            building.lat = building.lon = None
            session.commit()


def test_a_member_may_not_open_the_map(map_app: Flask) -> None:
    """The map is the community's managers' (the API's 403, as a page)."""
    assert Login(map_app, "member").get(MAP).status_code == 403


def test_a_window_over_midnight_names_both_days(map_app: Flask) -> None:
    """ "12月9日 22:00–12月10日 01:00": the end's day is named when it is another day."""
    start = datetime(2026, 12, 9, 22, 0, tzinfo=LOCAL)
    with map_app.extensions["linli"].sessions() as session:
        demand = session.scalars(
            select(Demand).where(Demand.community_id == C, Demand.status == "open").limit(1)
        ).one()
        saved = demand.window_start, demand.window_end
        demand.window_start, demand.window_end = start, start + timedelta(hours=3)
        demand_id = demand.id
        session.commit()
    try:
        data = _map_data(Login(map_app, "dispatcher").get(MAP).text)
        shown = next(f for f in data["features"] if f["properties"]["id"] == demand_id)
        assert shown["properties"]["window_text"] == "12月9日 22:00–12月10日 01:00"
    finally:
        with map_app.extensions["linli"].sessions() as session:
            demand = session.get(Demand, demand_id)
            assert demand is not None
            demand.window_start, demand.window_end = saved
            session.commit()


@pytest.mark.parametrize(
    "points",
    [
        [(34.75, 113.66)],
        [(34.75, 113.66), (34.76, 113.67)],
        [(34.75, 113.66), (34.76, 113.67), (34.752, 113.671), (34.755, 113.665), (34.749, 113.68)],
    ],
)
def test_a_grids_outline_encloses_its_members_homes(points: list[tuple[float, float]]) -> None:
    """The outline is a closed ring, and every home lies inside it with the margin to spare."""
    ring = _outline(points, MAP_GRID_MARGIN_DEG)
    assert ring[0] == ring[-1] and len(ring) >= 5  # four corners at least

    def inside(lat: float, lon: float) -> bool:  # ray casting
        hit = False
        for (x1, y1), (x2, y2) in itertools.pairwise(ring):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
        return hit

    for lat, lon in points:
        assert inside(lat, lon)
        assert inside(lat + MAP_GRID_MARGIN_DEG / 2, lon + MAP_GRID_MARGIN_DEG / 2)


def test_community_map_is_the_apis_by_default(map_app: Flask) -> None:
    """Called as the API calls it, the function gives the API's fields only."""
    from service.config.identity import Client

    dispatcher = Client(id=0, name="d", communities=(C,), role="dispatcher")
    with map_app.extensions["linli"].sessions() as session:
        plain = community_map(session, dispatcher, C)
        detailed = community_map(session, dispatcher, C, detail=True)
    demand = next(f["properties"] for f in plain["features"] if f["properties"]["kind"] == "demand")
    assert set(demand) == {"kind", "id", "category", "category_label", "priority", "status"}
    assert {f["properties"]["kind"] for f in detailed["features"]} == {
        "grid",
        "building",
        "demand",
        "member",
    }


# --------------------------------------------------------------------------------------------
# In a browser: AMap's GCJ-02
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def amap_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app with the AMap preset on a free port, on a fresh seeded SQLite database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser_amap') / 'linli.sqlite3'}"
    app = create_app(
        {
            "LINLI_DATABASE_URL": url,
            **TEST_SETTINGS,
            "LINLI_SECURE_COOKIES": False,  # plain http on 127.0.0.1
            "EXECUTOR_FACTORY": thread_executor,
            "CONSOLE_MAP_PRESET": "amap",
        }
    )
    state = app.extensions["linli"]
    with state.sessions() as session:
        seed_demo(session, state.cipher)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()
    state.close(cancel_running=True)


def test_on_amap_every_point_is_shifted_to_gcj02(
    amap_live: tuple[Flask, str], browser: Any
) -> None:
    """With AMap's tiles (blocked here: no network in a test) each member's marker sits at
    the GCJ-02 shift of its rounded WGS-84 home, as :func:`wgs84_to_gcj02` computes it; the
    attribution is AMap's alone."""
    app, base = amap_live
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(browser_tests.TIMEOUT_MS)
    page = context.new_page()
    tiles: list[str] = []
    page.route(re.compile(r"^https://"), lambda route: route.abort())
    page.on("request", lambda r: None if r.url.startswith(base) else tiles.append(r.url))
    browser_tests.log_in(page, base, "dispatcher")
    page.goto(f"{base}{MAP}")
    page.locator("#map path.leaflet-interactive").first.wait_for()
    page.wait_for_function("window.linliMap !== undefined")
    shown = page.evaluate(
        """() => window.linliMap.layer.getLayers()
             .filter(l => l.feature.properties.kind === "member")
             .map(l => [l.feature.properties.id, l.getLatLng().lat, l.getLatLng().lng])"""
    )
    with app.extensions["linli"].sessions() as session:
        homes = {
            m.id: (round(m.lat, 3), round(m.lon, 3))
            for m in session.scalars(select(Member).where(Member.community_id == C))
        }
    assert len(shown) == sum(1 for _ in homes)
    for member_id, lat, lon in shown:
        expected = wgs84_to_gcj02(*homes[member_id])
        assert abs(lat - expected[0]) < 1e-9 and abs(lon - expected[1]) < 1e-9
        assert abs(lat - homes[member_id][0]) + abs(lon - homes[member_id][1]) > 1e-3
    attribution = page.locator("#map .leaflet-control-attribution").inner_text()
    assert attribution.strip() == "© 高德地图"
    page.locator("#map img.leaflet-tile").first.wait_for(state="attached")
    assert tiles and all("autonavi.com/appmaptile" in url for url in tiles)
    browser_tests.shot(page, "map-amap-gcj02-no-network")
    context.close()


# --------------------------------------------------------------------------------------------
# The icon
# --------------------------------------------------------------------------------------------


def test_the_favicon_needs_no_login(map_app: Flask) -> None:
    """``/favicon.ico``: an icon, to anyone, cached for a week."""
    response = map_app.test_client().get("/favicon.ico")
    try:
        assert response.status_code == 200
        assert response.mimetype == "image/vnd.microsoft.icon"
        assert response.data[:4] == b"\x00\x00\x01\x00"  # the ICO header
        assert "max-age=604800" in response.headers["Cache-Control"]
    finally:
        response.close()
