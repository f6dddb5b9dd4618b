"""The OpenAPI document explains itself: every field of every request and response schema has a
description, a number with a unit in its name says the unit, the main request bodies carry an
example that the service accepts, and DELETE of a job says what a second DELETE answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema

from service.web.api.visits import EXAMPLE as VISIT_EXAMPLE
from service.web.schemas.examples import (
    DEMAND_EXAMPLE,
    DISPATCH_EXAMPLE,
    FEEDBACK_EXAMPLE,
    MEMBER_EXAMPLE,
    VISIT_NOTE_EXAMPLE,
)
from service.web.schemas.jobs import DispatchRequestSchema, VisitRequestSchema
from service.web.schemas.records import FeedbackCreateSchema, VisitNoteCreateSchema
from service.web.schemas.workspace import DemandCreateSchema, MemberCreateSchema

Json = dict[str, Any]

UNITS = {"_hours": "hour", "_minutes": "minute", "_km": "km", "_s": "second"}
"""A numeric property whose name ends so must name the unit in its description."""

MAIN_BODIES = [
    ("/api/v1/dispatch", DispatchRequestSchema, DISPATCH_EXAMPLE),
    ("/api/v1/visit-schedules", VisitRequestSchema, VISIT_EXAMPLE),
    ("/api/v1/members", MemberCreateSchema, MEMBER_EXAMPLE),
    ("/api/v1/communities/{community_id}/demands", DemandCreateSchema, DEMAND_EXAMPLE),
    ("/api/v1/demands/{demand_id}/feedback", FeedbackCreateSchema, FEEDBACK_EXAMPLE),
    ("/api/v1/communities/{community_id}/visit-notes", VisitNoteCreateSchema, VISIT_NOTE_EXAMPLE),
]


@pytest.fixture(scope="module")
def document(app: Flask) -> Json:
    client: FlaskClient = app.test_client()
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc: Json = response.get_json()
    return doc


def _properties(schema: Any, where: str) -> Iterator[tuple[str, str, Json]]:
    """Every (path, name, property) of a schema and the schemas nested inline in it."""
    if not isinstance(schema, dict):
        return
    for name, prop in (schema.get("properties") or {}).items():
        yield f"{where}.{name}", name, prop
        yield from _properties(prop, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        yield from _properties(schema.get(key), f"{where}[{key}]")
    for key in ("allOf", "anyOf", "oneOf"):
        for i, part in enumerate(schema.get(key) or []):
            yield from _properties(part, f"{where}.{key}[{i}]")


def _all_schemas(doc: Json) -> Iterator[tuple[str, Any]]:
    """The components' schemas, then every schema written inline in an operation."""
    yield from doc["components"]["schemas"].items()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody") or {}]
            bodies += list((operation.get("responses") or {}).values())
            for body in bodies:
                for media, content in (body.get("content") or {}).items():
                    yield f"{method.upper()} {path} {media}", content.get("schema")


def _is_ref_only(prop: Json) -> bool:
    return set(prop) == {"$ref"}


def _is_numeric(prop: Json) -> bool:
    kind = prop.get("type")
    if kind == "array":
        return _is_numeric(prop.get("items") or {})
    return kind in ("number", "integer")


def test_the_document_has_the_schemas_it_is_checked_on(document: Json) -> None:
    """The walk below sees the contracts' and the workspace's schemas (not an empty document)."""
    names = set(document["components"]["schemas"])
    assert {"Problem", "Answer", "VisitProblem", "MemberCreate", "DemandCreate"} <= names
    walked = [
        path for name, schema in _all_schemas(document) for path, *_ in _properties(schema, name)
    ]
    assert len(walked) > 500


def test_every_property_has_a_description(document: Json) -> None:
    missing = [
        path
        for name, schema in _all_schemas(document)
        for path, _, prop in _properties(schema, name)
        if not _is_ref_only(prop) and not str(prop.get("description", "")).strip()
    ]
    assert not missing, f"{len(missing)} properties without a description: {missing}"


def test_a_number_with_a_unit_in_its_name_names_the_unit(document: Json) -> None:
    checked, wrong = 0, []
    for name, schema in _all_schemas(document):
        for path, field, prop in _properties(schema, name):
            suffix = next((s for s in UNITS if field.endswith(s)), None)
            if suffix is None or not _is_numeric(prop):
                continue
            checked += 1
            if UNITS[suffix] not in str(prop.get("description", "")).lower():
                wrong.append(f"{path}: {prop.get('description')!r}")
    assert checked >= 25  # capacity_hours, duration_hours, *_minutes, *_km, time_limit_s, ...
    assert not wrong, wrong


def test_coordinates_say_they_are_wgs84_degrees(document: Json) -> None:
    location = document["components"]["schemas"]["Location"]["properties"]
    for name in ("lat", "lon"):
        assert "WGS84 degrees" in location[name]["description"]


@pytest.mark.parametrize(("path", "schema", "example"), MAIN_BODIES, ids=lambda v: str(v)[:40])
def test_a_main_request_body_has_an_example_the_service_accepts(
    app: Flask, document: Json, path: str, schema: type[Schema], example: Json
) -> None:
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == example
    with app.test_request_context():
        schema().load(example)  # raises ValidationError if the example were not a valid body


def test_delete_of_a_job_documents_what_a_second_delete_answers(document: Json) -> None:
    delete = document["paths"]["/api/v1/jobs/{job_id}"]["delete"]
    text = " ".join(str(delete.get(key, "")) for key in ("summary", "description"))
    assert re.search(r"already `cancelled`.*answers 200", text, re.S), text
    assert re.search(r"`succeeded`, `failed` or\s+`interrupted`\) it answers 409", text), text
    assert {"200", "202", "409"} <= set(delete["responses"])
