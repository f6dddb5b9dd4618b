"""The long-term records (issue #7): posts, choices, allocation and commitments; groups, areas
and households; hand-in-hand and unit–community pairs; and who may see and change them.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture); ids are unique per test, as the
database is shared by the session. Roles other than API keys are tried at the function level
with a :class:`~service.web.dispatching.Client` of that role.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.longterm.groups import verify as groups_verify
from matcher.longterm.pairs import verify as pairs_verify
from matcher.longterm.posts import verify as posts_verify
from matcher.longterm.violation import MatchViolation
from service.config.identity import Client
from service.db.longterm import Group, HandInHandPair, Post
from service.domain.errors import DomainError
from service.domain.keys import create_api_client
from service.domain.longterm import common as longterm_common
from service.domain.longterm import groups as group_records
from service.domain.longterm import pairs as pair_records
from service.domain.longterm import posts as post_records
from service.web.errors import status_of
from tests.service.helpers import assert_error

API = "/api/v1"
HOME = {"lat": 34.7466, "lon": 113.6253}


def _key(app: Flask, name: str, communities: tuple[str, ...] = ()) -> dict[str, str]:
    with app.extensions["linli"].sessions() as session:
        _client, key = create_api_client(session, name, communities)
    return {"X-API-Key": key}


def _ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.get_json()
    return response.get_json()


def _uid() -> str:
    return uuid.uuid4().hex[:10]


class World:
    """Two communities (a district key and a key for each), each with a grid and a building."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app, self.client = app, client
        self.district = _key(app, "district")
        self.a, self.b = f"c-{_uid()}", f"c-{_uid()}"
        self.grid: dict[str, str] = {}
        self.building: dict[str, str] = {}
        for community in (self.a, self.b):
            self.post("/communities", {"id": community, "name": community}, self.district, code=201)
            grid = self.post(f"/communities/{community}/grids", {"name": "g1"}, code=201)
            building = self.post(f"/grids/{grid['id']}/buildings", {"name": "b1"}, code=201)
            self.grid[community], self.building[community] = grid["id"], building["id"]
        self.key_a = _key(app, "community a", (self.a,))
        self.key_b = _key(app, "community b", (self.b,))
        unit = self.post("/units", {"name": "district legal office"}, self.district, code=201)
        self.unit = unit["id"]

    def headers(self, community: str) -> dict[str, str]:
        return self.key_a if community == self.a else self.key_b

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.get(f"{API}{path}", headers=headers or self.district)

    def post(
        self,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        code: int | None = None,
        method: str = "post",
    ) -> Any:
        call = getattr(self.client, method)
        response = call(f"{API}{path}", json=body, headers=headers or self.district)
        return _ok(response, code) if code is not None else response

    def member(
        self, community: str, skills: list[str] | None = None, *, active: bool = True, **extra: Any
    ) -> str:
        body = {
            "community_id": community,
            "card_number": f"card-{_uid()}",
            "name": "王建国",
            "location": HOME,
            "skills": skills or [],
            **extra,
        }
        member = self.post("/members", body, code=201)
        if active:
            self.post(f"/members/{member['id']}", {"status": "active"}, code=200, method="patch")
        return str(member["id"])

    def new_post(self, community: str, **fields: Any) -> str:
        body = {"category": "mediation", "title": "楼院纠纷调解员", "seats": 1, **fields}
        post = self.post(f"/communities/{community}/posts", body, self.headers(community), code=201)
        return str(post["id"])

    def choose(self, member: str, posts: list[str], community: str) -> Any:
        return self.post(
            f"/members/{member}/post-choices",
            {"posts": posts},
            self.headers(community),
            code=200,
            method="put",
        )

    def allocate(self, community: str, **options: Any) -> dict[str, Any]:
        path = f"/communities/{community}/posts/allocate"
        return dict(self.post(path, options, self.headers(community), code=201))

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """A logic function with a fresh session, inside the app context ."""
        with self.app.app_context(), self.app.extensions["linli"].sessions() as session:
            return function(session, *args)

    def refused(self, code: int, function: Callable[..., Any], *args: Any) -> None:
        with pytest.raises(DomainError) as raised:
            self.call(function, *args)
        assert status_of(raised.value) == code


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> World:
    return World(app, client)


def _person(role: str, communities: tuple[str, ...] = (), **ids: str) -> Client:
    return Client(id=0, name=role, communities=communities, role=role, **ids)


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any, list[Any]]]]:
    """Every posts answer the service checks, with what the verifier said (the test re-checks)."""
    seen: list[tuple[Any, Any, list[Any]]] = []

    def spy(problem: Any, answer: Any) -> list[Any]:
        violations = posts_verify.verify(problem, answer)
        seen.append((problem, answer, violations))
        return violations

    monkeypatch.setattr(post_records, "verify_posts", spy)
    yield seen
    for problem, answer, violations in seen:
        assert violations == []
        assert posts_verify.recompute_objective(problem, answer) == pytest.approx(
            answer["stats"]["objective"]
        )


# --------------------------------------------------------------------------------------------
# Posts and choices
# --------------------------------------------------------------------------------------------


def test_a_post_is_created_read_and_changed(world: World) -> None:
    """The menu holds a post with skills, grid and commitment; a PATCH changes it."""
    a = world.a
    body = {
        "category": "mediation",
        "title": "楼院纠纷调解员",
        "seats": 3,
        "skills": ["mediation"],
        "desired_skills": ["legal"],
        "grid_id": world.grid[a],
        "commitment": {"service": "每月调解楼院纠纷不少于一次", "deadline": "2027-06-30"},
    }
    post = world.post(f"/communities/{a}/posts", body, world.key_a, code=201)
    assert post["id"].startswith("p-") and post["community_id"] == a
    assert post["commitment"] == body["commitment"]
    assert _ok(world.get(f"/posts/{post['id']}", world.key_a)) == post
    menu = _ok(world.get(f"/communities/{a}/posts", world.key_a))
    assert [p["id"] for p in menu] == [post["id"]]
    changed = world.post(
        f"/posts/{post['id']}",
        {"seats": 2, "commitment": None},
        world.key_a,
        code=200,
        method="patch",
    )
    assert changed["seats"] == 2 and changed["commitment"] is None


def test_post_bodies_are_validated(world: World) -> None:
    """Bad values and a grid of another community are 422s naming the field."""
    a = world.a
    url = f"/communities/{a}/posts"
    bad = {"category": "", "title": "t", "seats": 0, "desired_skills": ["x"] * 6}
    errors = assert_error(world.post(url, bad, world.key_a), 422)["errors"]
    assert {"category", "seats", "desired_skills"} <= set(errors)
    foreign = {"category": "c", "title": "t", "seats": 1, "grid_id": world.grid[world.b]}
    assert "grid_id" in assert_error(world.post(url, foreign, world.key_a), 422)["errors"]
    late = {"category": "c", "title": "t", "seats": 1, "commitment": {"service": "s"}}
    assert "commitment.deadline" in assert_error(world.post(url, late, world.key_a), 422)["errors"]


def test_no_mass_assignment_on_creation(world: World) -> None:
    """Ids, communities and states in a create body are unknown fields (422 naming each)."""
    a = world.a
    member = world.member(a)
    post = {
        "category": "c",
        "title": "t",
        "seats": 1,
        "id": "p-mine",
        "community_id": world.b,
        "created_at": "2026-01-01T00:00:00+08:00",
    }
    errors = assert_error(world.post(f"/communities/{a}/posts", post, world.key_a), 422)["errors"]
    assert {"id", "community_id", "created_at"} <= set(errors)
    assert errors["id"] == ["unknown field"]
    group = {"name": "g", "id": "gr-mine", "community_id": world.b}
    errors = assert_error(world.post(f"/communities/{a}/groups", group, world.key_a), 422)["errors"]
    assert {"id", "community_id"} <= set(errors)
    pair = {
        "member_id": member,
        "resident_ref": "r-1",
        "category": "elderly",
        "period": "2026H2",
        "end_date": "2026-12-31",
        "id": "hp-mine",
    }
    url = f"/communities/{a}/hand-in-hand-pairs"
    errors = assert_error(world.post(url, pair, world.key_a), 422)["errors"]
    assert {"end_date", "id"} <= set(errors)
    household = {"building_id": world.building[a], "location": HOME, "name": "王", "phone": "1"}
    url = f"/communities/{a}/households"
    errors = assert_error(world.post(url, household, world.key_a), 422)["errors"]
    assert {"name", "phone"} <= set(errors)


def test_posts_of_another_community_do_not_exist(world: World) -> None:
    """A key of community b reads and changes nothing of a: 404 everywhere."""
    a, b = world.a, world.b
    post = world.new_post(a)
    assert_error(world.get(f"/communities/{a}/posts", world.key_b), 404)
    assert_error(world.get(f"/posts/{post}", world.key_b), 404)
    body = {"category": "c", "title": "t", "seats": 1}
    assert_error(world.post(f"/communities/{a}/posts", body, world.key_b), 404)
    assert_error(world.post(f"/posts/{post}", {"seats": 5}, world.key_b, method="patch"), 404)
    assert_error(world.post(f"/communities/{a}/posts/allocate", {}, world.key_b), 404)
    assert_error(world.get(f"/communities/{a}/posts/allocation", world.key_b), 404)
    assert _ok(world.get(f"/communities/{b}/posts", world.key_b)) == []
    assert_error(world.get("/posts/" + "x" * 300, world.key_a), 404)


def test_members_rank_posts_of_their_own_community(world: World) -> None:
    """Up to five distinct posts of the member's community, best first; others are 422."""
    a, b = world.a, world.b
    member = world.member(a)
    posts = [world.new_post(a) for _ in range(6)]
    foreign = world.new_post(b)
    assert world.choose(member, posts[:2][::-1], a)["posts"] == [posts[1], posts[0]]
    assert _ok(world.get(f"/members/{member}/post-choices", world.key_a))["posts"] == [
        posts[1],
        posts[0],
    ]
    url = f"/members/{member}/post-choices"
    errors = assert_error(
        world.post(url, {"posts": [posts[0], foreign]}, world.key_a, method="put"), 422
    )["errors"]
    assert list(errors) == ["posts[1]"]
    assert_error(world.post(url, {"posts": posts}, world.key_a, method="put"), 422)
    assert_error(world.post(url, {"posts": [posts[0]] * 2}, world.key_a, method="put"), 422)
    assert_error(world.post(url, {"posts": [posts[0]]}, world.key_b, method="put"), 404)
    assert_error(world.get(url, world.key_b), 404)
    assert world.choose(member, [], a)["posts"] == []


def test_who_may_set_a_members_choices(world: World) -> None:
    """The member themself or a manager; another member does not see them; a unit organiser
    sees but may not set them; a member who left is a 409."""
    a = world.a
    unit = world.unit
    member = world.member(a, unit_id=unit)
    other = world.member(a)
    post = world.new_post(a)
    itself = _person("member", (a,), member_id=member)
    neighbour = _person("member", (a,), member_id=other)
    organiser = _person("unit_organiser", unit_id=unit)
    dispatcher = _person("dispatcher", (a,))
    assert world.call(post_records.set_choices, itself, member, [post])["posts"] == [post]
    world.refused(404, post_records.set_choices, neighbour, member, [post])
    world.refused(403, post_records.set_choices, organiser, member, [post])
    assert world.call(post_records.get_choices, organiser, member)["posts"] == [post]
    assert world.call(post_records.set_choices, dispatcher, member, [])["posts"] == []
    world.post(f"/members/{member}", {"status": "left"}, code=200, method="patch")
    world.refused(409, post_records.set_choices, dispatcher, member, [post])


# --------------------------------------------------------------------------------------------
# Allocation and commitments
# --------------------------------------------------------------------------------------------


def test_allocation_is_verified_and_stores_commitments(world: World, verified: list[Any]) -> None:
    """The posts model runs over the stored rows; its verified answer becomes commitments."""
    a = world.a
    commitment = {"service": "每月调解楼院纠纷不少于一次", "deadline": "2099-06-30"}
    mediation = world.new_post(a, seats=1, skills=["mediation"], commitment=commitment)
    publicity = world.new_post(a, category="policy_publicity", seats=2)
    m1 = world.member(a, ["mediation"])
    m2 = world.member(a, ["mediation"])
    m3 = world.member(a)
    idle = world.member(a)
    world.member(a)  # registered and active, chose nothing
    world.choose(m1, [mediation, publicity], a)
    world.choose(m2, [mediation, publicity], a)
    world.choose(m3, [mediation], a)
    world.choose(idle, [], a)
    allocation = world.allocate(a)
    assert len(verified) == 1
    assert allocation["status"] == "optimal" and allocation["mode"] == "optimal"
    placed = {c["member_id"]: c for c in allocation["commitments"]}
    assert set(placed) == {m1, m2}
    assert sorted(c["post_id"] for c in placed.values()) == sorted([mediation, publicity])
    held = next(c for c in placed.values() if c["post_id"] == mediation)
    assert held["service"] == commitment["service"] and held["deadline"] == "2099-06-30"
    assert held["rank"] == 1 and held["status"] == "open" and held["overdue"] is False
    other = next(c for c in placed.values() if c["post_id"] == publicity)
    assert other["rank"] == 2 and other["service"] is None and other["deadline"] is None
    reasons = {u["member_id"]: u["reason"] for u in allocation["unassigned"]}
    assert reasons[m3] == "no_skill" and reasons[idle] == "no_choices"
    assert allocation["vacancies"] == [{"post_id": publicity, "seats_left": 1}]
    latest = _ok(world.get(f"/communities/{a}/posts/allocation", world.key_a))
    assert latest["id"] == allocation["id"] and len(latest["commitments"]) == 2


def test_the_posts_model_solves_with_no_lock_and_a_stale_answer_is_refused(
    world: World, verified: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the model searches, another writer can change the community's records (no
    transaction or lock is held: on SQLite a held write lock would make that write fail); the
    answer, computed from the old records, is then refused with 409 and nothing is written."""
    a = world.a
    post = world.new_post(a, seats=2)
    m1, m2 = world.member(a), world.member(a)
    world.choose(m1, [post], a)
    solve = post_records.solve_and_verify
    wrote: list[int] = []

    def solve_while_a_member_changes_choices(problem: Any, **kwargs: Any) -> Any:
        answer = solve(problem, **kwargs)
        response = world.post(
            f"/members/{m2}/post-choices", {"posts": [post]}, world.headers(a), method="put"
        )
        wrote.append(response.status_code)
        return answer

    monkeypatch.setattr(post_records, "solve_and_verify", solve_while_a_member_changes_choices)
    refused = world.post(f"/communities/{a}/posts/allocate", {}, world.key_a)
    assert wrote == [200]
    assert "community_id" in assert_error(refused, 409)["errors"]
    assert_error(world.get(f"/communities/{a}/posts/allocation", world.key_a), 404)
    monkeypatch.setattr(post_records, "solve_and_verify", solve)
    placed = {c["member_id"] for c in world.allocate(a)["commitments"]}
    assert placed == {m1, m2}


def test_stable_mode_and_empty_menus(world: World, verified: list[Any]) -> None:
    """Stable mode is verified too; a community without posts or members allocates nothing."""
    a, b = world.a, world.b
    post = world.new_post(a, seats=1)
    member = world.member(a)
    world.choose(member, [post], a)
    stable = world.allocate(a, mode="stable")
    assert stable["mode"] == "stable" and len(stable["commitments"]) == 1
    empty = world.allocate(b)
    assert empty["commitments"] == [] and empty["unassigned"] == []
    assert len(verified) == 2
    bad = world.post(f"/communities/{a}/posts/allocate", {"mode": "greedy"}, world.key_a)
    assert "mode" in assert_error(bad, 422)["errors"]


def test_reallocation_withdraws_open_commitments(world: World, verified: list[Any]) -> None:
    """Allocating again withdraws the open commitments of the earlier allocation, keeps the
    marked ones, and makes new open ones."""
    a = world.a
    posts = [world.new_post(a, seats=1) for _ in range(2)]
    m1, m2 = world.member(a), world.member(a)
    world.choose(m1, [posts[0]], a)
    world.choose(m2, [posts[1]], a)
    first = {c["member_id"]: c["id"] for c in world.allocate(a)["commitments"]}
    world.post(f"/commitments/{first[m1]}/mark", {"status": "kept"}, world.key_a, code=200)
    second = world.allocate(a)
    assert {c["status"] for c in second["commitments"]} == {"open"}
    assert _ok(world.get(f"/commitments/{first[m1]}", world.key_a))["status"] == "kept"
    assert _ok(world.get(f"/commitments/{first[m2]}", world.key_a))["status"] == "withdrawn"
    marked = world.post(f"/commitments/{first[m2]}/mark", {"status": "kept"}, world.key_a)
    assert_error(marked, 409)


def test_commitments_are_marked_once_and_overdue_is_flagged(
    world: World, verified: list[Any]
) -> None:
    """open → kept or missed, once; an open commitment past its deadline is overdue."""
    a = world.a
    yesterday = (longterm_common.today() - timedelta(days=1)).isoformat()
    late = world.new_post(a, commitment={"service": "清理楼道", "deadline": yesterday})
    due = world.new_post(
        a, commitment={"service": "走访", "deadline": longterm_common.today().isoformat()}
    )
    m1, m2 = world.member(a), world.member(a)
    world.choose(m1, [late], a)
    world.choose(m2, [due], a)
    made = {c["member_id"]: c for c in world.allocate(a)["commitments"]}
    assert made[m1]["overdue"] is True and made[m2]["overdue"] is False
    overdue = _ok(world.get(f"/commitments?community_id={a}&overdue=true", world.key_a))
    assert [c["id"] for c in overdue] == [made[m1]["id"]]
    on_time = _ok(world.get(f"/commitments?community_id={a}&overdue=false", world.key_a))
    assert [c["id"] for c in on_time] == [made[m2]["id"]]
    url = f"/commitments/{made[m1]['id']}/mark"
    assert_error(world.post(url, {"status": "withdrawn"}, world.key_a), 422)
    assert_error(world.post(url, {"status": "open"}, world.key_a), 422)
    assert_error(world.post(url, {"status": "kept"}, world.key_b), 404)
    marked = world.post(url, {"status": "missed"}, world.key_a, code=200)
    assert marked["status"] == "missed" and marked["overdue"] is False
    assert marked["marked_at"] is not None
    assert_error(world.post(url, {"status": "kept"}, world.key_a), 409)
    kept = _ok(world.get(f"/commitments?member_id={m1}&status=missed", world.key_a))
    assert [c["id"] for c in kept] == [made[m1]["id"]]


def test_commitments_are_member_records(world: World, verified: list[Any]) -> None:
    """Lists are filtered by scope; a member sees their own, a unit organiser its unit's; only
    a manager marks."""
    a, b = world.a, world.b
    unit = world.unit
    post_a, post_b = world.new_post(a, seats=2), world.new_post(b, seats=1)
    mine = world.member(a, unit_id=unit)
    theirs = world.member(a)
    far = world.member(b)
    world.choose(mine, [post_a], a)
    world.choose(theirs, [post_a], a)
    world.choose(far, [post_b], b)
    made = {c["member_id"]: c["id"] for c in world.allocate(a)["commitments"]}
    made.update({c["member_id"]: c["id"] for c in world.allocate(b)["commitments"]})
    listed = {c["member_id"] for c in _ok(world.get("/commitments", world.key_a))}
    assert listed == {mine, theirs}
    assert {c["member_id"] for c in _ok(world.get("/commitments", world.key_b))} == {far}
    assert_error(world.get(f"/commitments/{made[far]}", world.key_a), 404)
    member = _person("member", (a,), member_id=mine)
    organiser = _person("unit_organiser", unit_id=unit)
    for reader in (member, organiser):
        assert world.call(post_records.get_commitment, reader, made[mine]).member_id == mine
        world.refused(404, post_records.get_commitment, reader, made[theirs])
        world.refused(403, post_records.mark, reader, made[mine], "kept")
    dispatcher_b = _person("dispatcher", (b,))
    world.refused(404, post_records.mark, dispatcher_b, made[mine], "kept")
    dispatcher = _person("dispatcher", (a,))
    assert world.call(post_records.mark, dispatcher, made[mine], "kept")["status"] == "kept"


def test_members_read_the_menu_but_do_not_change_it(world: World) -> None:
    """A member reads their community's menu; changes are 403; a unit organiser reads no
    community-wide record (404)."""
    a = world.a
    member = world.member(a)
    post = world.new_post(a)
    person = _person("member", (a,), member_id=member)
    assert world.call(longterm_common.find, Post, post, person).id == post
    world.refused(403, post_records.update_post, person, post, {"seats": 9})
    world.refused(403, post_records.allocate, person, a)
    world.refused(404, longterm_common.find, Post, post, _person("unit_organiser", unit_id="u"))


# --------------------------------------------------------------------------------------------
# Groups and households
# --------------------------------------------------------------------------------------------


def test_a_group_with_its_leader_area_and_households(world: World) -> None:
    """Members, an elected leader among them, an area of buildings and grids, its households."""
    a = world.a
    members = [world.member(a) for _ in range(3)]
    grid2 = world.post(f"/communities/{a}/grids", {"name": "g2"}, code=201)["id"]
    building2 = world.post(f"/grids/{grid2}/buildings", {"name": "b2"}, code=201)["id"]
    grid3 = world.post(f"/communities/{a}/grids", {"name": "g3"}, code=201)["id"]
    building3 = world.post(f"/grids/{grid3}/buildings", {"name": "b3"}, code=201)["id"]
    body = {
        "name": "第一组",
        "member_ids": members,
        "leader_id": members[1],
        "area": {"buildings": [world.building[a]], "grids": [grid2]},
    }
    group = world.post(f"/communities/{a}/groups", body, world.key_a, code=201)
    assert group["id"].startswith("gr-") and group["leader_id"] == members[1]
    assert sorted(group["member_ids"]) == sorted(members)
    assert group["area"] == {"buildings": [world.building[a]], "grids": [grid2]}
    households = {}
    for building in (world.building[a], building2, building3):
        record = {"building_id": building, "location": HOME, "needs": ["visits"]}
        households[building] = world.post(
            f"/communities/{a}/households", record, world.key_a, code=201
        )["id"]
    in_area = _ok(world.get(f"/groups/{group['id']}/households", world.key_a))
    assert {h["id"] for h in in_area} == {households[world.building[a]], households[building2]}
    assert set(in_area[0]) == {
        "id",
        "community_id",
        "building_id",
        "location",
        "needs",
        "created_at",
    }
    listed = _ok(world.get(f"/communities/{a}/groups", world.key_a))
    assert [g["id"] for g in listed] == [group["id"]]
    assert _ok(world.get(f"/groups/{group['id']}", world.key_a)) == group
    assert len(_ok(world.get(f"/communities/{a}/households", world.key_a))) == 3


def test_group_rules(world: World) -> None:
    """The leader is a member; members and area are the community's; a member is in one group."""
    a, b = world.a, world.b
    m1, m2, m3 = (world.member(a) for _ in range(3))
    foreign = world.member(b)
    url = f"/communities/{a}/groups"
    not_member = {"name": "g", "member_ids": [m1], "leader_id": m2}
    assert "leader_id" in assert_error(world.post(url, not_member, world.key_a), 422)["errors"]
    other = {"name": "g", "member_ids": [m1, foreign]}
    assert list(assert_error(world.post(url, other, world.key_a), 422)["errors"]) == [
        "member_ids[1]"
    ]
    area = {"name": "g", "area": {"buildings": [world.building[b]], "grids": [world.grid[b]]}}
    errors = assert_error(world.post(url, area, world.key_a), 422)["errors"]
    assert set(errors) == {"area.buildings[0]", "area.grids[0]"}
    group = world.post(url, {"name": "g", "member_ids": [m1, m2], "leader_id": m1}, world.key_a)
    group = _ok(group, 201)
    taken = world.post(url, {"name": "h", "member_ids": [m3, m2]}, world.key_a)
    assert list(assert_error(taken, 409)["errors"]) == ["member_ids[1]"]
    gone = world.post(f"/groups/{group['id']}", {"member_ids": [m2]}, world.key_a, method="patch")
    assert "leader_id" in assert_error(gone, 422)["errors"]
    moved = world.post(
        f"/groups/{group['id']}",
        {"member_ids": [m2, m3], "leader_id": m3},
        world.key_a,
        code=200,
        method="patch",
    )
    assert sorted(moved["member_ids"]) == sorted([m2, m3]) and moved["leader_id"] == m3
    again = world.post(url, {"name": "h", "member_ids": [m1]}, world.key_a, code=201)
    assert again["member_ids"] == [m1]
    household = {"building_id": world.building[b], "location": HOME}
    bad = world.post(f"/communities/{a}/households", household, world.key_a)
    assert "building_id" in assert_error(bad, 422)["errors"]
    deleted = world.post(f"/groups/{group['id']}", None, world.key_a, method="delete")
    assert deleted.status_code == 204
    assert_error(world.get(f"/groups/{group['id']}", world.key_a), 404)


def test_groups_of_another_community_do_not_exist(world: World) -> None:
    """Reads, changes and households of a foreign group are 404s; lists are the community's."""
    a, b = world.a, world.b
    group = world.post(f"/communities/{a}/groups", {"name": "g"}, world.key_a, code=201)
    path = f"/groups/{group['id']}"
    assert_error(world.get(path, world.key_b), 404)
    assert_error(world.get(f"{path}/households", world.key_b), 404)
    assert_error(world.post(path, {"name": "x"}, world.key_b, method="patch"), 404)
    assert_error(world.post(path, None, world.key_b, method="delete"), 404)
    assert_error(world.get(f"/communities/{a}/groups", world.key_b), 404)
    assert_error(world.post(f"/communities/{a}/groups", {"name": "x"}, world.key_b), 404)
    assert_error(world.get(f"/communities/{a}/households", world.key_b), 404)
    assert _ok(world.get(f"/communities/{b}/groups", world.key_b)) == []
    member = _person("member", (a,), member_id="m-x")
    assert world.call(longterm_common.find, Group, group["id"], member).id == group["id"]
    world.refused(403, group_records.update_group, member, group["id"], {"name": "mine"})


@pytest.fixture
def verified_groups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any, list[Any]]]]:
    """Every groups answer the service checks, with what the verifier said."""
    seen: list[tuple[Any, Any, list[Any]]] = []

    def spy(problem: Any, answer: Any) -> list[Any]:
        violations = groups_verify.verify(problem, answer)
        seen.append((problem, answer, violations))
        return violations

    monkeypatch.setattr(group_records, "verify_groups", spy)
    yield seen
    for _problem, _answer, violations in seen:
        assert violations == []


def test_groups_are_computed_from_the_stored_members(
    world: World, verified_groups: list[Any]
) -> None:
    """The groups model groups the active members; its verified answer is stored; a second
    run needs replace: true."""
    a = world.a
    homes = [(34.7466 + 0.001 * i, 113.6253 + 0.02 * (i % 2)) for i in range(7)]
    members = [
        world.member(
            a,
            location={"lat": lat, "lon": lon},
            occupation="education" if i % 2 else "health",
            preferences=["tutoring"] if i % 2 else ["elderly_care"],
        )
        for i, (lat, lon) in enumerate(homes)
    ]
    world.member(a, active=False)
    url = f"/communities/{a}/groups/compute"
    options = {"group_size": {"min": 3, "max": 4}, "time_limit_s": 2}
    computed = world.post(url, options, world.key_a, code=201)
    assert len(verified_groups) == 1
    problem = verified_groups[0][0]
    assert sorted(m["id"] for m in problem["members"]) == sorted(members)
    grouped = [m for g in computed["groups"] for m in g["member_ids"]]
    assert sorted(grouped) == sorted(members) and computed["unassigned"] == []
    assert all(
        3 <= len(g["member_ids"]) <= 4 and g["leader_id"] is None for g in computed["groups"]
    )
    stored = _ok(world.get(f"/communities/{a}/groups", world.key_a))
    assert sorted(g["id"] for g in stored) == sorted(g["id"] for g in computed["groups"])
    assert_error(world.post(url, options, world.key_a), 409)
    again = world.post(url, {**options, "replace": True}, world.key_a, code=201)
    stored = _ok(world.get(f"/communities/{a}/groups", world.key_a))
    assert sorted(g["id"] for g in stored) == sorted(g["id"] for g in again["groups"])
    assert len(verified_groups) == 2
    bad = world.post(url, {"group_size": {"min": 5, "max": 4}}, world.key_a)
    assert "group_size.max" in assert_error(bad, 422)["errors"]
    assert_error(world.post(url, options, world.key_b), 404)


# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


def test_hand_in_hand_pairs_keep_their_history(world: World) -> None:
    """A pair per period: ending sets the end date, renewing starts a new row; filters."""
    a = world.a
    member = world.member(a)
    url = f"/communities/{a}/hand-in-hand-pairs"
    body = {
        "member_id": member,
        "resident_ref": "r-00001",
        "category": "elderly",
        "period": "2026H1",
        "start_date": "2026-01-01",
    }
    pair = world.post(url, body, world.key_a, code=201)
    assert pair["active"] is True and pair["end_date"] is None and pair["id"].startswith("hp-")
    assert_error(world.post(url, {**body, "period": "2026H2"}, world.key_a), 409)
    renewed = world.post(
        f"/hand-in-hand-pairs/{pair['id']}/renew",
        {"period": "2026H2", "start_date": "2026-07-01"},
        world.key_a,
        code=201,
    )
    assert renewed["period"] == "2026H2" and renewed["member_id"] == member
    old = _ok(world.get(f"/hand-in-hand-pairs/{pair['id']}", world.key_a))
    assert old["end_date"] == "2026-07-01" and old["active"] is False
    assert [p["id"] for p in _ok(world.get(f"{url}?active=true", world.key_a))] == [renewed["id"]]
    assert [p["id"] for p in _ok(world.get(f"{url}?period=2026H1", world.key_a))] == [pair["id"]]
    assert len(_ok(world.get(url, world.key_a))) == 2
    end = f"/hand-in-hand-pairs/{renewed['id']}/end"
    early = world.post(end, {"end_date": "2026-06-30"}, world.key_a)
    assert "end_date" in assert_error(early, 422)["errors"]
    ended = world.post(end, {"end_date": "2026-12-31"}, world.key_a, code=200)
    assert ended["end_date"] == "2026-12-31" and ended["active"] is False
    assert_error(world.post(end, {}, world.key_a), 409)
    assert _ok(world.get(f"{url}?active=true", world.key_a)) == []
    fresh = world.post(url, {**body, "period": "2027"}, world.key_a, code=201)
    assert fresh["start_date"] == "2026-01-01"


def test_hand_in_hand_bodies_and_scope(world: World) -> None:
    """Categories, periods and refs are checked; a member sees only their own pairs; a
    foreign community's pairs are 404s."""
    a, b = world.a, world.b
    m1, m2 = world.member(a), world.member(a)
    foreign = world.member(b)
    url = f"/communities/{a}/hand-in-hand-pairs"
    bad = {"member_id": m1, "resident_ref": "王 奶奶", "category": "rich", "period": "H2"}
    errors = assert_error(world.post(url, bad, world.key_a), 422)["errors"]
    assert {"resident_ref", "category", "period"} <= set(errors)
    other = {"member_id": foreign, "resident_ref": "r-1", "category": "poor", "period": "2026"}
    assert "member_id" in assert_error(world.post(url, other, world.key_a), 422)["errors"]
    p1 = world.post(url, {**other, "member_id": m1}, world.key_a, code=201)
    p2 = world.post(url, {**other, "member_id": m2, "resident_ref": "r-2"}, world.key_a, code=201)
    assert_error(world.get(url, world.key_b), 404)
    assert_error(world.get(f"/hand-in-hand-pairs/{p1['id']}", world.key_b), 404)
    assert_error(world.post(f"/hand-in-hand-pairs/{p1['id']}/end", {}, world.key_b), 404)
    renew = {"period": "2027"}
    assert_error(world.post(f"/hand-in-hand-pairs/{p1['id']}/renew", renew, world.key_b), 404)
    assert_error(world.post(url, {**other, "member_id": m1}, world.key_b), 404)
    person = _person("member", (a,), member_id=m1)
    assert world.call(longterm_common.find, HandInHandPair, p1["id"], person).id == p1["id"]
    world.refused(404, longterm_common.find, HandInHandPair, p2["id"], person)
    world.refused(403, pair_records.end_pair, person, HandInHandPair, p1["id"], None)
    with world.app.extensions["linli"].sessions() as session:
        mine = session.scalars(pair_records.hand_in_hand_of(person, a)).all()
    assert [p.id for p in mine] == [p1["id"]]


@pytest.fixture
def verified_pairs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any, list[Any]]]]:
    """Every hand-in-hand answer the service checks, with what the verifier said."""
    seen: list[tuple[Any, Any, list[Any]]] = []

    def spy(problem: Any, answer: Any) -> list[Any]:
        violations = pairs_verify.verify(problem, answer)
        seen.append((problem, answer, violations))
        return violations

    monkeypatch.setattr(pair_records, "verify_pairs", spy)
    yield seen
    for _problem, _answer, violations in seen:
        assert violations == []


def test_hand_in_hand_pairs_are_computed_across_periods(
    world: World, verified_pairs: list[Any]
) -> None:
    """The pairs model pairs the request's residents with the active members; the next
    period keeps the pairs that still work (new rows), ends the others with the reason, and
    stores no resident location."""
    a = world.a
    near = {"lat": HOME["lat"] + 0.001, "lon": HOME["lon"]}
    far = {"lat": HOME["lat"] + 0.2, "lon": HOME["lon"]}
    m1 = world.member(a, ["elderly_care"])
    m2 = world.member(a, ["elderly_care"])
    residents = [
        {
            "resident_ref": "r-a",
            "category": "elderly",
            "location": near,
            "vulnerability": 5,
            "needs": ["errands"],
            "skills": ["elderly_care"],
        },
        {"resident_ref": "r-b", "category": "disabled", "location": near, "vulnerability": 4},
        {
            "resident_ref": "r-c",
            "category": "poor",
            "location": near,
            "vulnerability": 2,
            "skills": ["sign_language"],
        },
        {"resident_ref": "r-d", "category": "orphan", "location": far, "vulnerability": 3},
    ]
    url = f"/communities/{a}/hand-in-hand-pairs/compute"
    body = {"period": "2026H2", "start_date": "2026-07-01", "residents": residents}
    first = world.post(url, body, world.key_a, code=201)
    assert {p["resident_ref"]: p["member_id"] for p in first["pairs"]}.keys() == {"r-a", "r-b"}
    assert {u["resident_ref"]: u["reason"] for u in first["unpaired"]} == {
        "r-c": "no_skill",
        "r-d": "out_of_range",
    }
    assert first["dropped"] == []
    assert all("location" not in p for p in first["pairs"])
    paired = {p["resident_ref"]: p for p in first["pairs"]}
    assert paired["r-b"]["category"] == "disabled" and paired["r-a"]["period"] == "2026H2"
    leaving = paired["r-a"]["member_id"]
    world.post(f"/members/{leaving}", {"status": "left"}, code=200, method="patch")
    again = {**body, "period": "2027H1", "start_date": "2027-01-01"}
    second = world.post(url, again, world.key_a, code=201)
    assert len(verified_pairs) == 2
    dropped = {d["resident_ref"]: d for d in second["dropped"]}
    assert dropped["r-a"]["reason"] == "member_left"
    assert dropped["r-a"]["pair_id"] == paired["r-a"]["id"]
    now = {p["resident_ref"]: p for p in second["pairs"]}
    stayer = {m1, m2} - {leaving}
    assert now["r-a"]["member_id"] in stayer and now["r-a"]["period"] == "2027H1"
    assert now["r-b"]["id"] != paired["r-b"]["id"] and now["r-b"]["period"] == "2027H1"
    assert now["r-b"]["member_id"] in stayer
    pairs = f"/communities/{a}/hand-in-hand-pairs"
    ended = _ok(world.get(f"{pairs}?period=2026H2", world.key_a))
    assert {p["end_date"] for p in ended} == {"2027-01-01"}
    active = _ok(world.get(f"{pairs}?active=true", world.key_a))
    assert {p["period"] for p in active} == {"2027H1"}
    repeat = {**body, "residents": [residents[0], residents[0]]}
    errors = assert_error(world.post(url, repeat, world.key_a), 422)["errors"]
    assert list(errors) == ["residents[1].resident_ref"]
    early = {**again, "period": "2027H2", "start_date": "2026-12-01"}
    assert "start_date" in assert_error(world.post(url, early, world.key_a), 422)["errors"]
    assert_error(world.post(url, body, world.key_b), 404)
    extra = {**body, "residents": [{**residents[0], "name": "王奶奶"}]}
    errors = assert_error(world.post(url, extra, world.key_a), 422)["errors"]
    assert list(errors) == ["residents[0].name"]


def test_unit_pairs_keep_their_history(world: World) -> None:
    """A unit paired with a community per period; ending, renewing, filters and scope."""
    a, b = world.a, world.b
    url = f"/communities/{a}/unit-pairs"
    body = {"unit_id": world.unit, "period": "2026", "start_date": "2026-01-01"}
    pair = world.post(url, body, world.key_a, code=201)
    assert pair["unit_id"] == world.unit and pair["active"] is True
    assert_error(world.post(url, body, world.key_a), 409)
    assert (
        "unit_id"
        in assert_error(world.post(url, {**body, "unit_id": "u-none"}, world.key_a), 422)["errors"]
    )
    assert _ok(world.post(f"/communities/{b}/unit-pairs", body, world.key_b), 201)
    renewed = world.post(
        f"/unit-pairs/{pair['id']}/renew",
        {"period": "2026H2", "start_date": "2026-07-01"},
        world.key_a,
        code=201,
    )
    renew = f"/unit-pairs/{renewed['id']}/renew"
    same = world.post(renew, {"period": "2026H2", "start_date": "2026-09-01"}, world.key_a)
    assert "period" in assert_error(same, 422)["errors"]
    early = world.post(renew, {"period": "2027", "start_date": "2026-06-01"}, world.key_a)
    assert "start_date" in assert_error(early, 422)["errors"]
    assert [p["period"] for p in _ok(world.get(url, world.key_a))] == ["2026H2", "2026"]
    assert [p["id"] for p in _ok(world.get(f"{url}?active=false", world.key_a))] == [pair["id"]]
    assert _ok(world.get(f"/unit-pairs/{pair['id']}", world.key_a))["end_date"] == "2026-07-01"
    assert_error(world.get(f"/unit-pairs/{pair['id']}", world.key_b), 404)
    assert_error(world.post(f"/unit-pairs/{renewed['id']}/end", {}, world.key_b), 404)
    ended = world.post(f"/unit-pairs/{renewed['id']}/end", None, world.key_a, code=200)
    assert ended["end_date"] == longterm_common.today().isoformat()
    assert [
        p["community_id"] for p in _ok(world.get(f"/communities/{b}/unit-pairs", world.key_b))
    ] == [b]


def test_the_openapi_document_lists_the_endpoints(world: World) -> None:
    """The blueprint is registered and documented."""
    paths = _ok(world.client.get("/api/v1/openapi.json"))["paths"]
    for path in (
        "/api/v1/communities/{community_id}/posts",
        "/api/v1/communities/{community_id}/posts/allocate",
        "/api/v1/members/{member_id}/post-choices",
        "/api/v1/commitments/{commitment_id}/mark",
        "/api/v1/groups/{group_id}/households",
        "/api/v1/communities/{community_id}/hand-in-hand-pairs",
        "/api/v1/unit-pairs/{pair_id}/renew",
    ):
        assert path in paths


def test_today_is_the_local_date() -> None:
    """Deadlines are Asia/Shanghai dates."""
    assert abs((longterm_common.today() - date.today()).days) <= 1


# --------------------------------------------------------------------------------------------
# Transactions, concurrency and logs
# --------------------------------------------------------------------------------------------


def _at_once(app: Flask, headers: dict[str, str], requests: list[tuple[str, Any]]) -> list[int]:
    """POST each ``(url, body)`` from a thread (and client) of its own, all released together."""
    barrier = threading.Barrier(len(requests))
    codes: dict[int, int] = {}

    def post(i: int, url: str, body: Any) -> None:
        client = app.test_client()
        barrier.wait()
        codes[i] = client.post(f"{API}{url}", json=body, headers=headers).status_code

    threads = [
        threading.Thread(target=post, args=(i, url, body)) for i, (url, body) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return [codes[i] for i in range(len(requests))]


def test_concurrent_marks_and_pairs_have_one_winner(
    app: Flask, world: World, verified: list[Any]
) -> None:
    """Two marks of one commitment, two pairs of one resident at once: one wins, one 409."""
    a = world.a
    post = world.new_post(a, seats=1)
    member = world.member(a)
    world.choose(member, [post], a)
    commitment = world.allocate(a)["commitments"][0]["id"]
    url = f"/commitments/{commitment}/mark"
    codes = _at_once(app, world.key_a, [(url, {"status": "kept"}), (url, {"status": "missed"})])
    assert sorted(codes) == [200, 409]
    pairs = f"/communities/{a}/hand-in-hand-pairs"
    for round_ in range(3):
        body = {
            "member_id": member,
            "resident_ref": f"r-race-{round_}",
            "category": "disabled",
            "period": "2026H2",
        }
        assert sorted(_at_once(app, world.key_a, [(pairs, body), (pairs, body)])) == [201, 409]
    assert len(_ok(world.get(f"{pairs}?active=true", world.key_a))) == 3


def test_a_failed_verification_writes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer the verifier rejects is our bug: a 500 without a traceback, nothing written
    (the earlier allocation's commitments stay open)."""
    a = world.a
    post = world.new_post(a, seats=1)
    member = world.member(a)
    world.choose(member, [post], a)
    first = world.allocate(a)
    broken = [MatchViolation("3", f"post {post}", "too many members")]
    monkeypatch.setattr(post_records, "verify_posts", lambda problem, answer: broken)
    failed = world.post(f"/communities/{a}/posts/allocate", {}, world.key_a)
    assert_error(failed, 500)
    latest = _ok(world.get(f"/communities/{a}/posts/allocation", world.key_a))
    assert latest["id"] == first["id"]
    assert [c["status"] for c in latest["commitments"]] == ["open"]


def test_logs_hold_no_resident_data(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """Households and hand-in-hand pairs are logged by id only: no resident ref, no location."""
    caplog.set_level(logging.DEBUG)
    a = world.a
    member = world.member(a)
    secret_ref = "r-secret-4711"
    home = {"lat": 34.123457, "lon": 113.987651}
    body = {"member_id": member, "resident_ref": secret_ref, "category": "orphan", "period": "2026"}
    pair = world.post(f"/communities/{a}/hand-in-hand-pairs", body, world.key_a, code=201)
    world.post(f"/hand-in-hand-pairs/{pair['id']}/end", {}, world.key_a, code=200)
    household = {"building_id": world.building[a], "location": home, "needs": ["errands"]}
    world.post(f"/communities/{a}/households", household, world.key_a, code=201)
    world.post(f"/communities/{a}/households", {**household, "phone": "13800138000"}, world.key_a)
    text = caplog.text
    assert pair["id"] in text
    for secret in (secret_ref, "34.123457", "113.987651", "13800138000"):
        assert secret not in text


def test_the_board_shows_the_members_public_commitments(world: World, verified: list[Any]) -> None:
    """Allocated posts' commitments reach the publicity board (公示栏) with their status."""
    a = world.a
    promise = {"service": "每周三为老人代购一次", "deadline": "2099-06-30"}
    post = world.new_post(a, category="elderly_care", seats=1, commitment=promise)
    member = world.member(a)
    world.choose(member, [post], a)
    (commitment,) = world.allocate(a)["commitments"]
    board = _ok(world.get(f"/communities/{a}/board", world.key_a))
    shown = {m["member_id"]: m["commitments"] for m in board["members"]}
    assert shown[member] == [
        {
            "commitment_id": commitment["id"],
            "text": promise["service"],
            "deadline": promise["deadline"],
            "status": "open",
        }
    ]
    world.post(f"/commitments/{commitment['id']}/mark", {"status": "kept"}, world.key_a, code=200)
    board = _ok(world.get(f"/communities/{a}/board", world.key_a))
    marked = {m["member_id"]: m["commitments"] for m in board["members"]}[member]
    assert [c["status"] for c in marked] == ["kept"]


def test_households_are_shown_to_the_community_and_the_groups_own_members(world: World) -> None:
    """A household's location is personal data: members see only their own group's area."""
    a = world.a
    inside, outside = world.member(a), world.member(a)
    body = {
        "name": "第二组",
        "member_ids": [inside],
        "leader_id": inside,
        "area": {"buildings": [world.building[a]], "grids": []},
    }
    group = world.post(f"/communities/{a}/groups", body, world.key_a, code=201)
    record = {"building_id": world.building[a], "location": HOME, "needs": ["visits"]}
    world.post(f"/communities/{a}/households", record, world.key_a, code=201)
    clients = {}
    for member in (inside, outside):
        login = {
            "username": f"u-{_uid()}",
            "display_name": "m",
            "password": "a long password",
            "role": "member",
            "member_id": member,
        }
        world.post("/people", login, code=201)
        client = world.app.test_client()
        _ok(client.post(f"{API}/login", json={k: login[k] for k in ("username", "password")}))
        clients[member] = client
    assert len(_ok(clients[inside].get(f"{API}/groups/{group['id']}/households"))) == 1
    assert_error(clients[outside].get(f"{API}/groups/{group['id']}/households"), 403)
    for member in (inside, outside):
        assert_error(clients[member].get(f"{API}/communities/{a}/households"), 403)


def test_long_term_records_are_audited(world: World, verified: list[Any]) -> None:
    """Creating a post, allocating and marking a commitment leave entries in the trail."""
    a = world.a
    post = world.new_post(a, category="elderly_care", seats=1)
    member = world.member(a)
    world.choose(member, [post], a)
    (commitment,) = world.allocate(a)["commitments"]
    world.post(f"/commitments/{commitment['id']}/mark", {"status": "missed"}, world.key_a, code=200)
    trail = _ok(world.get(f"/audit-events?community_id={a}&page_size=100", world.key_a))
    seen = {(e["object_type"], e["object_id"], e["action"]) for e in trail}
    assert ("post", post, "create") in seen
    assert ("commitment", commitment["id"], "create") in seen
    assert ("commitment", commitment["id"], "transition") in seen
    assert all(e["actor_role"] == "client" for e in trail if e["object_type"] == "post")
