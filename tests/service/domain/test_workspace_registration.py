"""The community workspace, first slice (issue #7): registration and who may see what.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture). Ids are made unique per test, as
the database is shared by the session. Objects outside a key's scope answer 404 everywhere,
including a member registered into a foreign community: 404 rather than 403, so that an id
reveals nothing about what exists outside the key's communities.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select

from service.config.identity import Client
from service.contracts.dispatch import IntervalSchema
from service.db.engine import alembic_config, make_engine, upgrade_database
from service.db.jobs import Job
from service.db.registration import Member
from service.domain.keys import create_api_client
from service.domain.scope import scoped
from tests.service.helpers import assert_error

API = "/api/v1"
WORKSPACE_TABLES = {"communities", "grids", "buildings", "units", "members"}


def _key(app: Flask, name: str, communities: tuple[str, ...] = ()) -> dict[str, str]:
    with app.extensions["linli"].sessions() as session:
        _client, key = create_api_client(session, name, communities)
    return {"X-API-Key": key}


def _slug() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _member_body(community_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "community_id": community_id,
        "card_number": f"card-{uuid.uuid4().hex[:12]}",
        "name": "王建国",
        "location": {"lat": 34.75, "lon": 113.62},
        **extra,
    }


class World:
    """Two communities with a grid, a building and a member each; a district key, a key for
    each community and a unit."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.client = client
        self.district = _key(app, "district")
        self.a, self.b = _slug(), _slug()
        self.unit = _created(
            client.post(
                f"{API}/units",
                json={"name": "Municipal water works", "party_organisation": "Party branch"},
                headers=self.district,
            )
        )
        self.grid: dict[str, dict[str, Any]] = {}
        self.building: dict[str, dict[str, Any]] = {}
        self.member: dict[str, dict[str, Any]] = {}
        for community in (self.a, self.b):
            _created(
                client.post(
                    f"{API}/communities",
                    json={"id": community, "name": f"Community {community}"},
                    headers=self.district,
                )
            )
            grid = _created(
                client.post(
                    f"{API}/communities/{community}/grids",
                    json={"name": "Grid 1"},
                    headers=self.district,
                )
            )
            building = _created(
                client.post(
                    f"{API}/grids/{grid['id']}/buildings",
                    json={"name": "Building 3"},
                    headers=self.district,
                )
            )
            member = _created(
                client.post(
                    f"{API}/members",
                    json=_member_body(
                        community,
                        unit_id=self.unit["id"],
                        grid_id=grid["id"],
                        building_id=building["id"],
                    ),
                    headers=self.district,
                )
            )
            self.grid[community] = grid
            self.building[community] = building
            self.member[community] = member

        self.key_a = _key(app, "community a", (self.a,))
        self.key_b = _key(app, "community b", (self.b,))


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> World:
    return World(app, client)


def test_district_key_registers_the_whole_tree(world: World) -> None:
    """A district key creates a community, grid, building, unit and member and reads them back;
    the server sets the member's id, status and created_at."""
    client, a = world.client, world.a
    member = world.member[a]
    assert member["id"].startswith("m-")
    assert member["status"] == "registered"
    assert member["reported_at"] is None
    assert member["created_at"]
    assert member["community_id"] == a
    assert member["unit_id"] == world.unit["id"]
    assert member["grid_id"] == world.grid[a]["id"]
    assert member["building_id"] == world.building[a]["id"]
    assert member["location"] == {"lat": 34.75, "lon": 113.62}
    assert member["specialties"] == member["skills"] == member["preferences"] == []
    got = client.get(f"{API}/members/{member['id']}", headers=world.district)
    assert got.status_code == 200
    assert got.get_json() == member
    communities = client.get(f"{API}/communities", headers=world.district).get_json()
    assert {a, world.b} <= {c["id"] for c in communities}
    grids = client.get(f"{API}/communities/{a}/grids", headers=world.district).get_json()
    assert [g["id"] for g in grids] == [world.grid[a]["id"]]
    buildings = client.get(
        f"{API}/grids/{world.grid[a]['id']}/buildings", headers=world.district
    ).get_json()
    assert [b["id"] for b in buildings] == [world.building[a]["id"]]
    units = client.get(f"{API}/units", headers=world.district).get_json()
    assert world.unit in units


def test_only_district_keys_create_communities_and_units(world: World) -> None:
    """A community-scoped key gets 403 on POST /communities and POST /units; a community id
    that exists is a 409."""
    client = world.client
    body = {"id": _slug(), "name": "New"}
    assert_error(client.post(f"{API}/communities", json=body, headers=world.key_a), 403)
    assert_error(client.post(f"{API}/units", json={"name": "U"}, headers=world.key_a), 403)
    again = {"id": world.a, "name": "Again"}
    error = assert_error(client.post(f"{API}/communities", json=again, headers=world.district), 409)
    assert error["errors"] == {"id": ["already exists"]}


def test_scoped_key_lists_only_its_communities(world: World) -> None:
    """Lists of communities and members hold only the key's community; units are shared."""
    client, a, b = world.client, world.a, world.b
    communities = client.get(f"{API}/communities", headers=world.key_a).get_json()
    assert [c["id"] for c in communities] == [a]
    members = client.get(f"{API}/members", headers=world.key_a)
    assert members.status_code == 200
    assert [m["id"] for m in members.get_json()] == [world.member[a]["id"]]
    filtered = client.get(f"{API}/members?community_id={b}", headers=world.key_a).get_json()
    assert filtered == []
    units = client.get(f"{API}/units", headers=world.key_a).get_json()
    assert world.unit in units
    for community in (a, b):  # the district key reads every community's members
        url = f"{API}/members?community_id={community}"
        listed = client.get(url, headers=world.district).get_json()
        assert [m["id"] for m in listed] == [world.member[community]["id"]]


def test_foreign_ids_are_404_for_reads_and_writes(world: World) -> None:
    """Each community key against the other community's grid, building and member: 404 on GET,
    PATCH, availability and POST below them, the same answer as for ids that do not exist."""
    client = world.client
    for own, foreign, key in ((world.a, world.b, world.key_a), (world.b, world.a, world.key_b)):
        member, grid = world.member[foreign], world.grid[foreign]
        before = client.get(f"{API}/members/{member['id']}", headers=world.district).get_json()
        for missing in (member["id"], "m-does-not-exist"):
            assert_error(client.get(f"{API}/members/{missing}", headers=key), 404)
            patched = client.patch(
                f"{API}/members/{missing}", json={"occupation": "spy"}, headers=key
            )
            assert_error(patched, 404)
            availability = client.get(
                f"{API}/members/{missing}/availability"
                "?start=2026-12-07T00:00:00%2B08:00&end=2026-12-08T00:00:00%2B08:00",
                headers=key,
            )
            assert_error(availability, 404)
        for community in (foreign, "c-does-not-exist"):
            assert_error(client.get(f"{API}/communities/{community}/grids", headers=key), 404)
            posted = client.post(
                f"{API}/communities/{community}/grids", json={"name": "G"}, headers=key
            )
            assert_error(posted, 404)
        assert_error(client.get(f"{API}/grids/{grid['id']}/buildings", headers=key), 404)
        posted = client.post(f"{API}/grids/{grid['id']}/buildings", json={"name": "B"}, headers=key)
        assert_error(posted, 404)
        after = client.get(f"{API}/members/{member['id']}", headers=world.district).get_json()
        assert after == before
        own_member = world.member[own]["id"]
        assert client.get(f"{API}/members/{own_member}", headers=key).status_code == 200


def test_registering_into_a_foreign_community_is_404(world: World) -> None:
    """POST /members into a community outside the key's scope is a 404 (not 403: the answer
    is the same as for a community that does not exist), and nothing is stored."""
    client = world.client
    body = _member_body(world.b)
    foreign = assert_error(client.post(f"{API}/members", json=body, headers=world.key_a), 404)
    absent = assert_error(
        client.post(f"{API}/members", json=_member_body("c-nowhere"), headers=world.key_a), 404
    )
    assert foreign["message"] == absent["message"]
    members = client.get(f"{API}/members?community_id={world.b}", headers=world.district).get_json()
    assert body["card_number"] not in {m["card_number"] for m in members}
    own = client.post(f"{API}/members", json=_member_body(world.a), headers=world.key_a)
    assert own.status_code == 201


@pytest.mark.parametrize(
    "field, value",
    [
        ("id", "m-mine"),
        ("status", "active"),
        ("created_at", "2026-01-01T00:00:00+08:00"),
        ("reported_at", "2026-01-01T00:00:00+08:00"),
    ],
)
def test_server_set_fields_are_rejected_on_registration(
    world: World, field: str, value: str
) -> None:
    """Mass assignment: a registration that sends a server-set field is a 422 naming it."""
    body = _member_body(world.a, **{field: value})
    error = assert_error(world.client.post(f"{API}/members", json=body, headers=world.key_a), 422)
    assert error["errors"] == {field: ["unknown field"]}


@pytest.mark.parametrize(
    "field, value",
    [
        ("id", "m-mine"),
        ("community_id", "c-elsewhere"),
        ("card_number", "card-other"),
        ("reported_at", "2026-01-01T00:00:00+08:00"),
    ],
)
def test_patch_cannot_set_ids_community_or_card(world: World, field: str, value: str) -> None:
    """Mass assignment: PATCH rejects fields outside the profile and status (422)."""
    member = world.member[world.a]
    response = world.client.patch(
        f"{API}/members/{member['id']}", json={field: value}, headers=world.key_a
    )
    error = assert_error(response, 422)
    assert error["errors"] == {field: ["unknown field"]}


def test_status_transitions(world: World) -> None:
    """registered → active (sets reported_at) → left; any other change is a 409."""
    client, key = world.client, world.key_a
    url = f"{API}/members/{world.member[world.a]['id']}"
    fresh = _created(client.post(f"{API}/members", json=_member_body(world.a), headers=key))
    error = assert_error(
        client.patch(f"{API}/members/{fresh['id']}", json={"status": "left"}, headers=key), 409
    )
    assert "status" in error["errors"]
    active = client.patch(url, json={"status": "active"}, headers=key)
    assert active.status_code == 200, active.get_json()
    reported_at = active.get_json()["reported_at"]
    assert active.get_json()["status"] == "active" and reported_at is not None
    same = client.patch(url, json={"status": "active"}, headers=key).get_json()
    assert same["reported_at"] == reported_at
    assert_error(client.patch(url, json={"status": "registered"}, headers=key), 409)
    left = client.patch(url, json={"status": "left"}, headers=key)
    assert left.status_code == 200 and left.get_json()["status"] == "left"
    assert_error(client.patch(url, json={"status": "active"}, headers=key), 409)
    assert client.get(url, headers=key).get_json()["status"] == "left"


def test_patch_changes_the_profile(world: World) -> None:
    """Profile fields change; what is not sent stays."""
    member = world.member[world.a]
    changes = {
        "occupation": "engineer",
        "skills": ["plumbing", "first_aid"],
        "preferences": ["elderly"],
        "specialties": ["water supply"],
        "capacity_hours_per_week": 4.5,
        "weekly_availability": [{"weekday": "sat", "start": "09:00", "end": "12:00"}],
    }
    response = world.client.patch(
        f"{API}/members/{member['id']}", json=changes, headers=world.key_a
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {name: body[name] for name in changes} == changes
    assert body["grid_id"] == member["grid_id"] and body["location"] == member["location"]


def test_unit_sees_whether_and_when_its_members_reported(world: World) -> None:
    """?unit_id= lists the unit's members (within the key's scope) with status and reported_at."""
    client = world.client
    member = world.member[world.a]
    client.patch(f"{API}/members/{member['id']}", json={"status": "active"}, headers=world.key_a)
    rows = client.get(
        f"{API}/members?unit_id={world.unit['id']}", headers=world.district
    ).get_json()
    by_id = {row["id"]: row for row in rows}
    assert by_id[member["id"]]["status"] == "active"
    assert by_id[member["id"]]["reported_at"] is not None
    assert by_id[world.member[world.b]["id"]]["reported_at"] is None
    scoped_rows = client.get(
        f"{API}/members?unit_id={world.unit['id']}", headers=world.key_a
    ).get_json()
    assert [row["id"] for row in scoped_rows] == [member["id"]]


def test_availability_expands_across_a_week_boundary(world: World) -> None:
    """Sunday evening and Monday morning slots over a horizon from Sunday to Monday (given in
    UTC) come back in +08:00, clipped to the horizon, and load as dispatch intervals."""
    client, key = world.client, world.key_a
    slots = [
        {"weekday": "mon", "start": "08:00", "end": "10:00"},
        {"weekday": "sun", "start": "20:00", "end": "23:00"},
        {"weekday": "sun", "start": "23:00", "end": "23:59"},
    ]
    member = world.member[world.a]
    patched = client.patch(
        f"{API}/members/{member['id']}", json={"weekly_availability": slots}, headers=key
    )
    assert patched.status_code == 200, patched.get_json()
    # 2026-12-06 is a Sunday; 13:00Z = 21:00+08:00, next day 01:00Z = 09:00+08:00.
    response = client.get(
        f"{API}/members/{member['id']}/availability"
        "?start=2026-12-06T13:00:00Z&end=2026-12-07T01:00:00Z",
        headers=key,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["timezone"] == "Asia/Shanghai"
    assert body["start"] == "2026-12-06T21:00:00+08:00"
    assert body["end"] == "2026-12-07T09:00:00+08:00"
    assert body["availability"] == [
        {"start": "2026-12-06T21:00:00+08:00", "end": "2026-12-06T23:00:00+08:00"},
        {"start": "2026-12-06T23:00:00+08:00", "end": "2026-12-06T23:59:00+08:00"},
        {"start": "2026-12-07T08:00:00+08:00", "end": "2026-12-07T09:00:00+08:00"},
    ]
    intervals = IntervalSchema(many=True).load(body["availability"])
    assert all(i.start.utcoffset() == i.end.utcoffset() for i in intervals)
    assert {i.start.utcoffset().total_seconds() for i in intervals} == {8 * 3600}


def test_availability_over_a_summer_horizon_keeps_plus_eight(world: World) -> None:
    """No daylight saving time: a July week has the same +08:00 offsets and one slot per day."""
    member = world.member[world.a]
    world.client.patch(
        f"{API}/members/{member['id']}",
        json={
            "weekly_availability": [
                {"weekday": day, "start": "18:00", "end": "20:00"}
                for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            ]
        },
        headers=world.key_a,
    )
    body = world.client.get(
        f"{API}/members/{member['id']}/availability"
        "?start=2027-07-05T00:00:00%2B08:00&end=2027-07-12T00:00:00%2B08:00",
        headers=world.key_a,
    ).get_json()
    starts = [datetime.fromisoformat(i["start"]) for i in body["availability"]]
    assert len(starts) == 7
    assert all(i["start"].endswith("T18:00:00+08:00") for i in body["availability"])
    assert all(i["end"].endswith("T20:00:00+08:00") for i in body["availability"])


def test_a_member_who_left_has_no_availability(world: World) -> None:
    member = world.member[world.b]
    url = f"{API}/members/{member['id']}"
    slots = [{"weekday": "mon", "start": "08:00", "end": "10:00"}]
    world.client.patch(url, json={"weekly_availability": slots}, headers=world.key_b)
    for status in ("active", "left"):
        world.client.patch(url, json={"status": status}, headers=world.key_b)
    body = world.client.get(
        f"{url}/availability?start=2026-12-07T00:00:00%2B08:00&end=2026-12-14T00:00:00%2B08:00",
        headers=world.key_b,
    ).get_json()
    assert body["availability"] == []


@pytest.mark.parametrize(
    "query, path",
    [
        ("start=2026-12-07T00:00:00%2B08:00", "query.end"),
        ("start=2026-12-07T00:00:00&end=2026-12-08T00:00:00%2B08:00", "query.start"),
        ("start=2026-12-08T00:00:00%2B08:00&end=2026-12-07T00:00:00%2B08:00", "query.end"),
        ("start=2026-01-01T00:00:00%2B08:00&end=2026-12-31T00:00:00%2B08:00", "query.end"),
        ("start=0001-01-01T00:00:00%2B08:00&end=0001-01-02T00:00:00%2B08:00", "query.start"),
    ],
)
def test_availability_query_errors(world: World, query: str, path: str) -> None:
    """Missing, naive, reversed, too long or out-of-range horizons are 422 at query paths."""
    member = world.member[world.a]
    response = world.client.get(
        f"{API}/members/{member['id']}/availability?{query}", headers=world.key_a
    )
    assert path in assert_error(response, 422)["errors"]


@pytest.mark.parametrize(
    "extra, path",
    [
        (
            {"weekly_availability": [{"weekday": "mo", "start": "09:00", "end": "10:00"}]},
            "weekly_availability[0].weekday",
        ),
        (
            {"weekly_availability": [{"weekday": "mon", "start": "10:00", "end": "09:00"}]},
            "weekly_availability[0].end",
        ),
        (
            {"weekly_availability": [{"weekday": "mon", "start": "9:00", "end": "10:00"}]},
            "weekly_availability[0].start",
        ),
        (
            {
                "weekly_availability": [
                    {"weekday": "mon", "start": "09:00", "end": "11:00"},
                    {"weekday": "mon", "start": "10:00", "end": "12:00"},
                ]
            },
            "weekly_availability[1]",
        ),
        ({"location": {"lat": 91, "lon": 113.6}}, "location.lat"),
        ({"location": {"lat": 34.7, "lon": -181}}, "location.lon"),
        ({"capacity_hours_per_week": 200}, "capacity_hours_per_week"),
        ({"skills": ["ok", ""]}, "skills[1]"),
        ({"occupation": "bad\u0000text"}, "occupation"),
    ],
)
def test_validation_errors_name_field_paths(world: World, extra: dict[str, Any], path: str) -> None:
    """Bad weekday, end before start, overlapping slots, lat/lon out of range...: 422 with the
    field path, on registration and on PATCH."""
    client = world.client
    body = {**_member_body(world.a), **extra}
    error = assert_error(client.post(f"{API}/members", json=body, headers=world.key_a), 422)
    assert path in error["errors"], error
    member = world.member[world.a]
    patched = client.patch(f"{API}/members/{member['id']}", json=extra, headers=world.key_a)
    assert path in assert_error(patched, 422)["errors"]


def test_references_must_be_in_the_members_community(world: World) -> None:
    """A grid of another community, a building of another grid, an unknown unit: 422 at the
    reference's field."""
    client, a, b = world.client, world.a, world.b
    body = _member_body(a, grid_id=world.grid[b]["id"])
    error = assert_error(client.post(f"{API}/members", json=body, headers=world.district), 422)
    assert set(error["errors"]) == {"grid_id"}
    body = _member_body(a, grid_id=world.grid[a]["id"], building_id=world.building[b]["id"])
    error = assert_error(client.post(f"{API}/members", json=body, headers=world.district), 422)
    assert set(error["errors"]) == {"building_id"}
    body = _member_body(a, unit_id="u-nope")
    error = assert_error(client.post(f"{API}/members", json=body, headers=world.district), 422)
    assert set(error["errors"]) == {"unit_id"}
    member = world.member[a]
    patched = client.patch(
        f"{API}/members/{member['id']}", json={"grid_id": world.grid[b]["id"]}, headers=world.key_a
    )
    assert set(assert_error(patched, 422)["errors"]) >= {"grid_id"}


def test_card_numbers_are_unique(world: World) -> None:
    """A card number registered anywhere is a 409 naming card_number."""
    again = _member_body(world.a, card_number=world.member[world.b]["card_number"])
    error = assert_error(world.client.post(f"{API}/members", json=again, headers=world.key_a), 409)
    assert error["errors"] == {"card_number": ["already registered"]}


def test_scoped_fails_closed_for_tables_without_a_rule() -> None:
    """scoped() refuses a query on a table it has no rule for, rather than leaving it open."""
    with pytest.raises(TypeError):
        scoped(select(Job), Client(id=1, name="x", communities=("c-01",)))
    query = scoped(select(Member), Client(id=1, name="x", communities=("c-01",)))
    assert "community_id" in str(query)


def test_migration_0003_upgrades_and_downgrades(fresh_db_url: Callable[[], str]) -> None:
    """0002 → 0003 adds the workspace tables; downgrading to 0002 removes only them."""
    engine = make_engine(fresh_db_url())
    try:
        upgrade_database(engine, "0002")
        before = set(inspect(engine).get_table_names())
        assert not WORKSPACE_TABLES & before
        upgrade_database(engine, "0003")
        assert set(inspect(engine).get_table_names()) == before | WORKSPACE_TABLES
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0002")
        assert set(inspect(engine).get_table_names()) == before
    finally:
        engine.dispose()


def test_odd_ids_and_filters_are_answered_not_crashed(world: World) -> None:
    """A NUL or an over-long id in a path is a 404 and in a filter a 422 (PostgreSQL rejects NUL
    in text, so these must never reach the database)."""
    client, key = world.client, world.key_a
    for odd in ("m-%00", "m-" + "x" * 100):
        assert_error(client.get(f"{API}/members/{odd}", headers=key), 404)
        assert_error(client.patch(f"{API}/members/{odd}", json={}, headers=key), 404)
        assert_error(client.get(f"{API}/communities/{odd}/grids", headers=key), 404)
    error = assert_error(client.get(f"{API}/members?community_id=c-%00", headers=key), 422)
    assert "query.community_id" in error["errors"]


@pytest.mark.parametrize("path", ["/members", "/demands", "/tasks"])
def test_a_page_far_past_the_end_is_empty_not_an_error(world: World, path: str) -> None:
    """Found by schemathesis: a page number whose offset no database integer holds answers an
    empty page (the total still counted), on SQLite and PostgreSQL alike."""
    huge = 2725383490511687501937477255430144
    response = world.client.get(f"{API}{path}?page={huge}&page_size=40", headers=world.district)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == []
    total = json.loads(response.headers["X-Pagination"])["total"]
    assert total >= (2 if path == "/members" else 0)  # the database may hold other tests' rows


def test_nul_characters_are_refused_before_any_endpoint_sees_them(world: World) -> None:
    """PostgreSQL cannot store NUL in text: every endpoint answers 422 (or 404 in the path)."""
    client, key = world.client, world.key_a
    body = client.post(f"{API}/communities/{world.a}/grids", json={"name": "g\u0000"}, headers=key)
    assert list(assert_error(body, 422)["errors"]) == ["name"]
    query = client.get(f"{API}/members?community_id=a%00b", headers=key)
    assert "query.community_id" in assert_error(query, 422)["errors"]
    assert_error(client.get(f"{API}/members/m-%00", headers=key), 404)
