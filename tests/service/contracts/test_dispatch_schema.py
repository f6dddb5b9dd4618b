"""The dispatch JSON contract at the edge: ``service.contracts.dispatch``."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from matcher.dispatch.answer import Answer, Assignment, Load, Stats, Unassigned
from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import (
    Demand,
    Interval,
    Location,
    Member,
    Options,
    Pin,
    Problem,
    Team,
    Weights,
)
from matcher.errors import InvalidProblemError
from service.contracts.dispatch import (
    AnswerSchema,
    ProblemSchema,
    dump_answer,
    dump_problem,
    flatten_errors,
    load_answer,
    load_answer_file,
    load_problem,
    load_problem_file,
)

CST = timezone(timedelta(hours=8))


def valid_problem() -> dict[str, Any]:
    """Two members, one team, three demands: a single, a team-only crew of two, a pinned one."""
    return {
        "members": [
            {
                "id": "m-001",
                "location": {"lat": 34.7466, "lon": 113.6253},
                "skills": ["mediation", "elderly_care"],
                "availability": [
                    {"start": "2026-12-05T08:00:00+08:00", "end": "2026-12-05T12:00:00+08:00"},
                    {"start": "2026-12-05T12:00:00+08:00", "end": "2026-12-05T18:00:00+08:00"},
                ],
                "capacity_hours": 6.0,
                "max_distance_km": 3.0,
                "preferences": ["policy_publicity"],
                "reliability": 0.9,
            },
            {
                "id": "m-002",
                "location": {"lat": 34.75, "lon": 113.63},
                "skills": ["elderly_care"],
                "availability": [
                    {"start": "2026-12-05T09:00:00+08:00", "end": "2026-12-05T17:00:00+08:00"}
                ],
                "capacity_hours": 4,
            },
        ],
        "teams": [{"id": "t-01", "members": ["m-001", "m-002"], "leader": "m-001"}],
        "demands": [
            {
                "id": "d-0001",
                "category": "elderly_care",
                "skills": ["elderly_care"],
                "location": {"lat": 34.748, "lon": 113.627},
                "window": {
                    "start": "2026-12-05T09:00:00+08:00",
                    "end": "2026-12-05T11:00:00+08:00",
                },
                "duration_hours": 1.5,
                "priority": 3,
                "resident": "r-123",
                "preferred_members": ["m-001"],
            },
            {
                "id": "d-0002",
                "category": "mediation",
                "skills": ["mediation", "elderly_care"],
                "location": {"lat": 34.749, "lon": 113.628},
                "window": {
                    "start": "2026-12-05T13:00:00+08:00",
                    "end": "2026-12-05T16:00:00+08:00",
                },
                "duration_hours": 2,
                "priority": 5,
                "crew_size": 2,
                "team_only": True,
            },
            {
                "id": "d-0003",
                "category": "elderly_care",
                "skills": ["elderly_care"],
                "location": {"lat": 34.747, "lon": 113.626},
                "window": {"start": "2026-12-05T01:00:00Z", "end": "2026-12-05T05:00:00Z"},
                "duration_hours": 1,
                "priority": 1,
                "pinned": {"members": ["m-002"], "start": "2026-12-05T02:00:00Z"},
            },
        ],
        "options": {"time_limit_s": 5, "seed": 7, "weights": {"fairness": 0}},
    }


def errors_of(data: object) -> dict[str, list[str]]:
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    return caught.value.errors


# --------------------------------------------------------------------------------------------
# Valid input
# --------------------------------------------------------------------------------------------


def test_valid_problem_loads_into_frozen_dataclasses() -> None:
    """A valid document becomes the frozen dataclasses, with tuples and aware datetimes."""
    problem = ProblemSchema().load(valid_problem())

    assert isinstance(problem, Problem)
    assert [type(m) for m in problem.members] == [Member, Member]
    assert isinstance(problem.members, tuple)
    assert isinstance(problem.demands, tuple)
    assert problem.teams == (Team(id="t-01", members=("m-001", "m-002"), leader="m-001"),)

    first = problem.members[0]
    assert first.location == Location(lat=34.7466, lon=113.6253)
    assert first.skills == ("mediation", "elderly_care")
    assert first.availability[0] == Interval(
        start=datetime(2026, 12, 5, 8, tzinfo=CST), end=datetime(2026, 12, 5, 12, tzinfo=CST)
    )
    assert first.availability[0].start.utcoffset() == timedelta(hours=8)
    assert (first.max_distance_km, first.preferences, first.reliability) == (
        3.0,
        ("policy_publicity",),
        0.9,
    )

    second = problem.members[1]
    assert second.capacity_hours == 4.0
    assert isinstance(second.capacity_hours, float)
    assert (second.max_distance_km, second.preferences, second.reliability) == (None, (), 1.0)

    single, crew, pinned = problem.demands
    assert single == Demand(
        id="d-0001",
        category="elderly_care",
        skills=("elderly_care",),
        location=Location(34.748, 113.627),
        window=Interval(
            datetime(2026, 12, 5, 9, tzinfo=CST), datetime(2026, 12, 5, 11, tzinfo=CST)
        ),
        duration_hours=1.5,
        priority=3,
        resident="r-123",
        preferred_members=("m-001",),
    )
    assert (crew.crew_size, crew.team_only, crew.resident, crew.pinned) == (2, True, None, None)
    assert pinned.pinned == Pin(members=("m-002",), start=datetime(2026, 12, 5, 2, tzinfo=UTC))
    assert pinned.window.start.utcoffset() == timedelta(0)

    assert problem.options == Options(time_limit_s=5.0, seed=7, weights=Weights(fairness=0.0))


def test_optional_sections_take_spec_defaults() -> None:
    """Without teams/options (and with empty options/weights) the spec's defaults apply."""
    data = valid_problem()
    del data["teams"], data["options"]
    problem = ProblemSchema().load(data)
    assert problem.teams == ()
    assert problem.options == Options()
    assert problem.options == Options(
        time_limit_s=10,
        seed=0,
        workers=0,
        max_distance_km=5.0,
        changeover_minutes=15,
        time_step_minutes=15,
        weights=Weights(
            unassigned=100, distance=1, preference=2, continuity=5, reliability=10, fairness=1
        ),
    )
    data["options"] = {"weights": {}}
    assert ProblemSchema().load(data).options == Options()


def test_load_problem_equals_schema_load_for_valid_input() -> None:
    """load_problem returns the Problem the schema builds when validate_problem finds nothing."""
    assert load_problem(valid_problem()) == ProblemSchema().load(valid_problem())


def test_dump_is_json_ready_and_keeps_offsets() -> None:
    """dump_problem writes lists and ISO strings with the original offset; json.dumps accepts it."""
    problem = ProblemSchema().load(valid_problem())
    dumped = dump_problem(problem)
    text = json.dumps(dumped, allow_nan=False)

    assert dumped["members"][0]["availability"][0]["start"] == "2026-12-05T08:00:00+08:00"
    assert dumped["demands"][2]["pinned"] == {
        "members": ["m-002"],
        "start": "2026-12-05T02:00:00+00:00",
    }
    assert dumped["members"][1]["preferences"] == []
    assert dumped["teams"][0]["members"] == ["m-001", "m-002"]
    assert dumped["options"]["weights"]["fairness"] == 0.0
    assert ProblemSchema().load(json.loads(text)) == problem


def test_problem_round_trip_is_exact() -> None:
    """load → dump → load gives an equal Problem, including defaults and None values."""
    problem = ProblemSchema().load(valid_problem())
    assert ProblemSchema().load(dump_problem(problem)) == problem
    assert dump_problem(ProblemSchema().load(dump_problem(problem))) == dump_problem(problem)


# --------------------------------------------------------------------------------------------
# Invalid input: every case names its exact path
# --------------------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Mutation:
    """A mutation that sets ``a.b[1].c`` style paths (keys; ``[i]`` list indexes)."""
    parts: list[str | int] = []
    for piece in path.replace("[", ".[").split("."):
        if piece:
            parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)

    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value

    return mutate


def _delete(path: str, key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for part in filter(None, path.split(".")):
            node = node[int(part)] if part.isdigit() else node[part]
        del node[key]

    return mutate


BAD_INPUTS: list[tuple[str, Mutation, str, str]] = [
    # (case, mutation, expected path, expected message)
    ("unknown field at root", _set("extra", 1), "extra", "unknown field"),
    (
        "unknown field nested",
        _set("members[0].location.alt", 100),
        "members[0].location.alt",
        "unknown field",
    ),
    (
        "unknown field in options.weights",
        _set("options.weights.speed", 1),
        "options.weights.speed",
        "unknown field",
    ),
    (
        "NaN number",
        _set("members[0].capacity_hours", float("nan")),
        "members[0].capacity_hours",
        "must be a finite number, not NaN or Infinity",
    ),
    (
        "infinite number",
        _set("demands[1].location.lat", float("inf")),
        "demands[1].location.lat",
        "must be a finite number, not NaN or Infinity",
    ),
    (
        "minus infinity in weights",
        _set("options.weights.distance", float("-inf")),
        "options.weights.distance",
        "must be a finite number, not NaN or Infinity",
    ),
    (
        "integer too large for a float",
        _set("demands[0].duration_hours", 10**400),
        "demands[0].duration_hours",
        "must be at most 1e+12 in magnitude",
    ),
    (
        "latitude out of range",
        _set("members[0].location.lat", 90.5),
        "members[0].location.lat",
        "must be between -90 and 90",
    ),
    (
        "longitude out of range",
        _set("demands[2].location.lon", -180.01),
        "demands[2].location.lon",
        "must be between -180 and 180",
    ),
    (
        "naive datetime",
        _set("members[0].availability[1].start", "2026-12-05T12:00:00"),
        "members[0].availability[1].start",
        "must include a UTC offset",
    ),
    (
        "date without time",
        _set("demands[0].window.start", "2026-12-05"),
        "demands[0].window.start",
        "must include a UTC offset",
    ),
    (
        "unparseable datetime",
        _set("demands[2].pinned.start", "tomorrow at nine"),
        "demands[2].pinned.start",
        "must be an ISO 8601 date-time such as 2026-12-05T09:00:00+08:00",
    ),
    (
        "window end before start",
        _set("demands[0].window.end", "2026-12-05T08:00:00+08:00"),
        "demands[0].window.end",
        "must be after start",
    ),
    (
        "empty availability interval",
        _set("members[1].availability[0].end", "2026-12-05T01:00:00Z"),
        "members[1].availability[0].end",
        "must be after start",
    ),
    (
        "duration longer than window",
        _set("demands[0].duration_hours", 2.5),
        "demands[0].duration_hours",
        "is longer than the window (2.5 h > 2 h)",
    ),
    (
        "negative capacity",
        _set("members[1].capacity_hours", -1),
        "members[1].capacity_hours",
        "must be between 0 and 8784",
    ),
    (
        "priority 6",
        _set("demands[2].priority", 6),
        "demands[2].priority",
        "must be an integer from 1 to 5",
    ),
    (
        "priority 0",
        _set("demands[2].priority", 0),
        "demands[2].priority",
        "must be an integer from 1 to 5",
    ),
    (
        "crew_size 0",
        _set("demands[0].crew_size", 0),
        "demands[0].crew_size",
        "must be between 1 and 50",
    ),
    (
        "zero duration",
        _set("demands[0].duration_hours", 0),
        "demands[0].duration_hours",
        "must be at least one minute (1/60 h) and at most 8784 h",
    ),
    (
        "member range 0",
        _set("members[0].max_distance_km", 0),
        "members[0].max_distance_km",
        "must be greater than 0 and at most 20000",
    ),
    (
        "reliability above 1",
        _set("members[0].reliability", 1.5),
        "members[0].reliability",
        "must be between 0 and 1",
    ),
    ("empty id", _set("members[0].id", ""), "members[0].id", "must not be empty"),
    (
        "empty skill name",
        _set("demands[0].skills", [""]),
        "demands[0].skills[0]",
        "must not be empty",
    ),
    ("missing required field", _delete("demands.0", "window"), "demands[0].window", "is required"),
    ("missing members", _delete("", "members"), "members", "is required"),
    (
        "null required field",
        _set("members[0].skills", None),
        "members[0].skills",
        "must not be null",
    ),
    # wrong types
    ("id not a string", _set("members[0].id", 17), "members[0].id", "must be a string"),
    (
        "priority as string",
        _set("demands[0].priority", "3"),
        "demands[0].priority",
        "must be an integer",
    ),
    (
        "priority as float",
        _set("demands[0].priority", 3.0),
        "demands[0].priority",
        "must be an integer",
    ),
    (
        "priority as bool",
        _set("demands[0].priority", True),
        "demands[0].priority",
        "must be an integer",
    ),
    (
        "number as string",
        _set("demands[0].duration_hours", "1.5"),
        "demands[0].duration_hours",
        "must be a number",
    ),
    (
        "number as bool",
        _set("members[0].capacity_hours", True),
        "members[0].capacity_hours",
        "must be a number",
    ),
    (
        "boolean as yes",
        _set("demands[1].team_only", "yes"),
        "demands[1].team_only",
        "must be true or false",
    ),
    (
        "boolean as 1",
        _set("demands[1].team_only", 1),
        "demands[1].team_only",
        "must be true or false",
    ),
    ("members not a list", _set("members", {"m-001": {}}), "members", "must be a list"),
    (
        "skills a string",
        _set("demands[0].skills", "mediation"),
        "demands[0].skills",
        "must be a list",
    ),
    (
        "location a list",
        _set("members[0].location", [34.7, 113.6]),
        "members[0].location",
        "must be a JSON object",
    ),
    ("demand not an object", _set("demands[1]", "d-0002"), "demands[1]", "must be a JSON object"),
    (
        "datetime a number",
        _set("demands[0].window.start", 0),
        "demands[0].window.start",
        "must be an ISO 8601 date-time such as 2026-12-05T09:00:00+08:00",
    ),
    # options ranges
    (
        "time limit 0",
        _set("options.time_limit_s", 0),
        "options.time_limit_s",
        "must be greater than 0 and at most 86400",
    ),
    ("negative seed", _set("options.seed", -1), "options.seed", "must be between 0 and 2147483647"),
    ("fractional workers", _set("options.workers", 1.5), "options.workers", "must be an integer"),
    (
        "time step 0",
        _set("options.time_step_minutes", 0),
        "options.time_step_minutes",
        "must be between 1 and 1440",
    ),
    (
        "negative changeover",
        _set("options.changeover_minutes", -5),
        "options.changeover_minutes",
        "must be between 0 and 1440",
    ),
    (
        "negative weight",
        _set("options.weights.unassigned", -1),
        "options.weights.unassigned",
        "must be between 0 and 1000000",
    ),
    (
        "options max distance 0",
        _set("options.max_distance_km", 0),
        "options.max_distance_km",
        "must be greater than 0 and at most 20000",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [pytest.param(m, p, msg, id=case) for case, m, p, msg in BAD_INPUTS],
)
def test_bad_input_names_its_exact_path(mutate: Mutation, path: str, message: str) -> None:
    """Each kind of bad input raises InvalidProblemError with exactly one message at its path."""
    data = valid_problem()
    mutate(data)
    assert errors_of(data) == {path: [message]}


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        pytest.param(
            _set("members[0].availability[1].start", "2026-12-05T11:00:00+08:00"),
            "members[0].availability[1]",
            id="overlapping availability",
        ),
        pytest.param(_set("members[1].id", "m-001"), "members[1].id", id="duplicate member id"),
        pytest.param(_set("teams[0].leader", "m-009"), "teams[0].leader", id="leader outside team"),
        pytest.param(
            _set("demands[0].preferred_members", ["m-404"]),
            "demands[0].preferred_members[0]",
            id="unknown preferred member",
        ),
        pytest.param(
            _set("demands[2].pinned.members", ["m-001", "m-002"]),
            "demands[2].pinned.members",
            id="pin with the wrong crew size",
        ),
    ],
)
def test_reference_errors_come_from_validate_problem(mutate: Mutation, path: str) -> None:
    """Shape-valid documents with broken references fail in load_problem at the right path."""
    data = valid_problem()
    mutate(data)
    ProblemSchema().load(data)  # the schema itself accepts it
    assert path in errors_of(data)


def test_valid_fixture_is_valid_for_the_bad_input_table() -> None:
    """The document each bad case starts from is itself valid (so each case tests one change)."""
    ProblemSchema().load(valid_problem())


@pytest.mark.parametrize("root", [[], "problem", 42, None, True])
def test_non_object_root_is_reported_at_dollar(root: object) -> None:
    """A document that is not a JSON object is one error at path '$'."""
    assert errors_of(root) == {"$": ["must be a JSON object"]}


def test_every_error_is_reported_at_once() -> None:
    """Errors in several members and demands are all returned, each at its own path."""
    data = valid_problem()
    data["members"][1]["capacity_hours"] = -1
    data["demands"][0]["window"]["end"] = "2026-12-05T08:00:00+08:00"
    data["demands"][2]["priority"] = 6
    data["demands"][2]["location"]["lat"] = float("nan")
    data["bogus"] = True
    errors = errors_of(data)
    assert errors == {
        "members[1].capacity_hours": ["must be between 0 and 8784"],
        "demands[0].window.end": ["must be after start"],
        "demands[2].location.lat": ["must be a finite number, not NaN or Infinity"],
        "demands[2].priority": ["must be an integer from 1 to 5"],
        "bogus": ["unknown field"],
    }


def test_cross_field_checks_still_run_next_to_field_errors() -> None:
    """A too-long duration is reported even when another field of the same demand is bad."""
    data = valid_problem()
    data["demands"][0]["duration_hours"] = 3
    data["demands"][0]["priority"] = 9
    assert errors_of(data) == {
        "demands[0].duration_hours": ["is longer than the window (3 h > 2 h)"],
        "demands[0].priority": ["must be an integer from 1 to 5"],
    }


def test_error_message_is_one_line_with_path() -> None:
    """str(InvalidProblemError) starts with the first flat path, as the CLI prints it."""
    data = valid_problem()
    data["demands"][0]["crew_size"] = 0
    with pytest.raises(InvalidProblemError) as caught:
        load_problem(data)
    assert str(caught.value) == "demands[0].crew_size: must be between 1 and 50"


def test_flatten_errors_paths() -> None:
    """Nested marshmallow messages become dotted/indexed paths; _schema attaches to its parent."""
    nested = {
        "demands": {17: {"window": {"end": ["bad end"]}, "_schema": ["bad demand"]}},
        "members": {0: {"skills": {2: ["not a string"]}}},
        "_schema": ["bad root"],
    }
    assert flatten_errors(nested) == {
        "demands[17].window.end": ["bad end"],
        "demands[17]": ["bad demand"],
        "members[0].skills[2]": ["not a string"],
        "$": ["bad root"],
    }
    assert flatten_errors(["just a message"]) == {"$": ["just a message"]}
    assert flatten_errors({"_schema": ["must be a JSON object"]}) == {
        "$": ["must be a JSON object"]
    }


# --------------------------------------------------------------------------------------------
# Answer
# --------------------------------------------------------------------------------------------


def an_answer() -> Answer:
    return Answer(
        status="feasible",
        objective=1234.5,
        bound=1200.0,
        gap=0.028,
        assignments=(
            Assignment(
                demand="d-0001",
                members=("m-001",),
                start=datetime(2026, 12, 5, 9, tzinfo=CST),
                end=datetime(2026, 12, 5, 10, 30, tzinfo=CST),
                distance_km=(1.2,),
            ),
            Assignment(
                demand="d-0002",
                members=("m-001", "m-002"),
                start=datetime(2026, 12, 5, 5, tzinfo=UTC),
                end=datetime(2026, 12, 5, 7, tzinfo=UTC),
                distance_km=(0.4, 0.9),
                team="t-01",
            ),
        ),
        unassigned=(
            Unassigned(
                demand="d-0003",
                reason="out_of_range",
                detail="2 members hold 'mediation'; the nearest is 6.1 km away, limit 5 km",
            ),
        ),
        load=(Load(member="m-001", hours=3.5, tasks=2), Load(member="m-002", hours=2, tasks=1)),
        stats=Stats(candidates=12345, components=12, build_s=0.5, solve_s=9.5, method="cp-sat"),
    )


def test_answer_round_trip() -> None:
    """dump_answer → JSON text → load_answer gives back an equal Answer with the same offsets."""
    answer = an_answer()
    dumped = dump_answer(answer)
    text = json.dumps(dumped, allow_nan=False)
    assert dumped["assignments"][0]["start"] == "2026-12-05T09:00:00+08:00"
    assert dumped["assignments"][0]["team"] is None
    assert dumped["assignments"][1]["distance_km"] == [0.4, 0.9]
    assert dumped["load"] == [
        {"member": "m-001", "hours": 3.5, "tasks": 2},
        {"member": "m-002", "hours": 2.0, "tasks": 1},
    ]
    assert set(dumped) == {
        "status",
        "objective",
        "bound",
        "gap",
        "assignments",
        "unassigned",
        "load",
        "stats",
    }
    loaded = load_answer(json.loads(text))
    assert loaded == answer
    assert loaded.assignments[0].start.utcoffset() == timedelta(hours=8)


def test_answer_minimal_takes_defaults() -> None:
    """An answer with only status and numbers has empty lists and default stats."""
    loaded = AnswerSchema().load({"status": "no_solution", "objective": 0, "bound": 0, "gap": 0})
    assert loaded == Answer(status="no_solution", objective=0.0, bound=0.0, gap=0.0)


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        pytest.param(
            _set("status", "great"),
            "status",
            "must be one of: optimal, feasible, no_solution",
            id="status",
        ),
        pytest.param(
            _set("unassigned[0].reason", "tired"),
            "unassigned[0].reason",
            "must be one of: no_skill, out_of_range, no_availability, capacity, conflict, priority",
            id="reason",
        ),
        pytest.param(
            _set("assignments[1].distance_km", [0.4]),
            "assignments[1].distance_km",
            "must have one distance per member (2), not 1",
            id="distances",
        ),
        pytest.param(
            _set("assignments[0].end", "2026-12-05T08:00:00+08:00"),
            "assignments[0].end",
            "must be after start",
            id="end",
        ),
        pytest.param(_set("load[1].tasks", -1), "load[1].tasks", "must be at least 0", id="tasks"),
        pytest.param(_set("stats.extra", 1), "stats.extra", "unknown field", id="unknown"),
        pytest.param(
            _set("objective", float("nan")),
            "objective",
            "must be a finite number, not NaN or Infinity",
            id="nan",
        ),
    ],
)
def test_bad_answer_names_its_exact_path(mutate: Mutation, path: str, message: str) -> None:
    """Bad answers raise InvalidProblemError with one message at the exact path."""
    data = dump_answer(an_answer())
    mutate(data)
    with pytest.raises(InvalidProblemError) as caught:
        load_answer(data)
    assert caught.value.errors == {path: [message]}


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def test_problem_file_loads(tmp_path: Path) -> None:
    """A valid problem file loads like the dict it holds."""
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(valid_problem()), encoding="utf-8")
    assert load_problem_file(path) == ProblemSchema().load(valid_problem())


def test_answer_file_round_trip(tmp_path: Path) -> None:
    """An answer written as JSON text reads back equal."""
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(dump_answer(an_answer()), indent=2), encoding="utf-8")
    assert load_answer_file(str(path)) == an_answer()


def test_invalid_json_file_names_line_and_column(tmp_path: Path) -> None:
    """Broken JSON is one error at '$' with the parser's message, line and column."""
    path = tmp_path / "broken.json"
    path.write_text('{\n  "members": [],\n  "demands": [\n}\n', encoding="utf-8")
    with pytest.raises(InvalidProblemError) as caught:
        load_problem_file(path)
    assert caught.value.errors == {"$": ["not valid JSON: Expecting value at line 4 column 1"]}


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_token_in_file_is_rejected_at_its_path(tmp_path: Path, token: str) -> None:
    """NaN/Infinity tokens are not JSON: the error names the token and where it stands."""
    text = json.dumps(valid_problem()).replace('"capacity_hours": 4', f'"capacity_hours": {token}')
    assert token in text
    path = tmp_path / "nan.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidProblemError) as caught:
        load_problem_file(path)
    assert caught.value.errors == {
        "members[1].capacity_hours": [f"{token} is not valid JSON; numbers must be finite"]
    }


def test_non_finite_token_in_answer_file(tmp_path: Path) -> None:
    """The answer reader rejects NaN tokens the same way."""
    path = tmp_path / "answer.json"
    path.write_text('{"status": "feasible", "objective": NaN, "bound": 0, "gap": 0}')
    with pytest.raises(InvalidProblemError) as caught:
        load_answer_file(path)
    assert caught.value.errors == {"objective": ["NaN is not valid JSON; numbers must be finite"]}


def test_missing_file(tmp_path: Path) -> None:
    """A file that cannot be read is one error at '$' naming the file."""
    path = tmp_path / "nowhere.json"
    with pytest.raises(InvalidProblemError) as caught:
        load_problem_file(path)
    assert list(caught.value.errors) == ["$"]
    [message] = caught.value.errors["$"]
    assert message.startswith("cannot read file: ")
    assert str(path) in message


def test_non_utf8_file(tmp_path: Path) -> None:
    """Bytes that are not text are reported as invalid JSON, not a crash."""
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"members": [], "demands": [], "x": "\xff\xfe\xfa"}')
    with pytest.raises(InvalidProblemError) as caught:
        load_problem_file(path)
    assert list(caught.value.errors) == ["$"]
    assert caught.value.errors["$"][0].startswith("not valid JSON")


# --------------------------------------------------------------------------------------------
# Speed
# --------------------------------------------------------------------------------------------


def synthetic_problem(n_members: int, n_demands: int) -> dict[str, Any]:
    """A plausible district: 3 free intervals per member, 4-hour windows, one skill per demand."""
    skills = ["mediation", "elderly_care", "policy_publicity", "sanitation", "tutoring"]
    day = datetime(2026, 12, 5, tzinfo=CST)
    members = []
    for i in range(n_members):
        availability = []
        for d in range(3):
            start = day + timedelta(days=d, hours=8 + i % 5)
            end = start + timedelta(hours=2 + i % 3)
            availability.append({"start": start.isoformat(), "end": end.isoformat()})
        members.append(
            {
                "id": f"m-{i:05d}",
                "location": {"lat": 34.7 + (i % 97) / 1000, "lon": 113.6 + (i % 89) / 1000},
                "skills": [skills[i % 5], skills[(i + 2) % 5]],
                "availability": availability,
                "capacity_hours": 6.0,
                "max_distance_km": 3.0,
                "preferences": [skills[(i + 1) % 5]],
                "reliability": 0.9,
            }
        )
    demands = []
    for j in range(n_demands):
        start = day + timedelta(days=j % 3, hours=8 + j % 6)
        demands.append(
            {
                "id": f"d-{j:06d}",
                "category": skills[j % 5],
                "skills": [skills[j % 5]],
                "location": {"lat": 34.7 + (j % 101) / 1000, "lon": 113.6 + (j % 83) / 1000},
                "window": {
                    "start": start.isoformat(),
                    "end": (start + timedelta(hours=4)).isoformat(),
                },
                "duration_hours": 1.5,
                "priority": 1 + j % 5,
                "resident": f"r-{j % 700}",
            }
        )
    return {"members": members, "demands": demands}


def test_load_problem_speed_2000_members_5000_demands() -> None:
    """load_problem (schema + reference validation) takes a few seconds at most at this size."""
    data = synthetic_problem(2000, 5000)
    started = time.perf_counter()
    problem = load_problem(data)
    elapsed = time.perf_counter() - started
    print(f"load_problem, 2000 members / 5000 demands: {elapsed:.2f} s")
    assert (len(problem.members), len(problem.demands)) == (2000, 5000)
    assert all(math.isclose(d.duration_hours, 1.5) for d in problem.demands)
    assert elapsed < 10.0


def test_generated_district_round_trips_through_json() -> None:
    """A generated district (crews, teams, pins) survives dump → JSON text → load_problem."""
    problem = generate_district(members=200, demands=600, seed=3)
    text = json.dumps(dump_problem(problem), allow_nan=False)
    assert load_problem(json.loads(text)) == problem


def test_a_demand_may_need_no_particular_skill() -> None:
    """``skills: []`` is a task anyone can do: it loads (the field itself stays required)."""
    data = valid_problem()
    data["demands"][1]["skills"] = []
    assert load_problem(data).demands[1].skills == ()


def test_the_answer_carries_how_its_bound_was_proved() -> None:
    """``stats.bound_proof`` goes out and comes back with the answer (#17)."""
    from matcher import solve
    from matcher.dispatch.generate import generate_district

    answer = solve(generate_district(members=20, demands=40, seed=1), time_limit_s=3)
    dumped = dump_answer(answer)
    assert dumped["stats"]["bound_proof"] == dict(answer.stats.bound_proof) != {}
    assert load_answer(dumped).stats.bound_proof == answer.stats.bound_proof
