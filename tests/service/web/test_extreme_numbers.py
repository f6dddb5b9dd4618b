"""Extreme numbers through the API: a 4xx naming the field, or a verified plan; never a 5xx, and
never a body that is not JSON (NaN, Infinity). ``?validate_only=true`` and a solve agree."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from matcher.dispatch.generate import generate_district
from service.contracts.dispatch import load_problem
from tests.service.helpers import assert_verified, body_of

URL = "/api/v1/dispatch"

NUMERIC_FIELDS = (
    ("members", 0, "capacity_hours"),
    ("members", 0, "max_distance_km"),
    ("members", 1, "reliability"),
    ("demands", 0, "duration_hours"),
    ("demands", 0, "priority"),
    ("demands", 1, "crew_size"),
    ("options", None, "changeover_minutes"),
    ("options", None, "time_step_minutes"),
    ("options", None, "max_distance_km"),
    ("options", None, "seed"),
    ("weights", None, "reliability"),
    ("weights", None, "distance"),
    ("weights", None, "unassigned"),
    ("weights", None, "fairness"),
)

EXTREMES = st.one_of(
    st.sampled_from([0, -0.0, 1e-300, 5e-324, 1e-9, 1e6, 1e12, 1e13, 1e20, 1e308, -1e308, 2**63]),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _strict_json(text: str) -> Any:
    """The body as JSON, refusing NaN and Infinity (which are not JSON)."""

    def refuse(token: str) -> Any:
        raise AssertionError(f"{token} in a response body")

    return json.loads(text, parse_constant=refuse)


def _set(body: dict[str, Any], where: tuple[str, int | None, str], value: Any) -> str:
    part, index, name = where
    if part == "weights":
        body["options"].setdefault("weights", {})[name] = value
    elif part == "options":
        body["options"][name] = value
    else:
        body[part][index][name] = value
    return f"{part}[{index}].{name}" if index is not None else f"options.{name}"


@pytest.fixture(scope="module")
def base_body() -> dict[str, Any]:
    problem = generate_district(members=6, demands=8, seed=11)
    return body_of(problem, time_limit_s=0.5)


def _post(client: FlaskClient, auth: dict[str, str], text: str, query: str = "") -> Any:
    headers = {**auth, "Content-Type": "application/json"}
    return client.post(URL + query, data=text, headers=headers)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(where=st.sampled_from(NUMERIC_FIELDS), value=EXTREMES)
@example(where=("members", 0, "capacity_hours"), value=1e308)
@example(where=("members", 0, "capacity_hours"), value=1e20)
@example(where=("options", None, "changeover_minutes"), value=1e308)
@example(where=("options", None, "time_step_minutes"), value=1e308)
@example(where=("weights", None, "reliability"), value=1e308)
@example(where=("weights", None, "distance"), value=1e308)
@example(where=("demands", 0, "duration_hours"), value=1e-300)
def test_an_extreme_number_gets_a_field_error_or_a_verified_plan(
    client: FlaskClient,
    auth: dict[str, str],
    base_body: dict[str, Any],
    where: tuple[str, int | None, str],
    value: Any,
) -> None:
    """validate_only and the solve agree; a refusal is 422 naming the field's path."""
    body = json.loads(json.dumps(base_body))
    path = _set(body, where, value)
    text = json.dumps(body)
    checked = _post(client, auth, text, "?validate_only=true")
    assert checked.status_code in (200, 422), checked.get_data(as_text=True)
    verdict = _strict_json(checked.get_data(as_text=True))
    solved = _post(client, auth, text)
    assert solved.status_code < 500, solved.get_data(as_text=True)
    answer = _strict_json(solved.get_data(as_text=True))
    if checked.status_code == 200:
        assert solved.status_code == 200, answer
        problem = load_problem(body)
        assert_verified(problem, answer)
        assert all(math.isfinite(answer[k]) for k in ("objective", "bound", "gap"))
    else:
        assert solved.status_code == 422
        assert set(answer["errors"]) == set(verdict["errors"])
        field = path.replace("options.", "options.weights.") if where[0] == "weights" else path
        assert field in answer["errors"], answer["errors"]


@pytest.mark.parametrize("digits", [31, 5000, 100000])
def test_a_number_literal_with_too_many_digits_is_refused_where_it_stands(
    client: FlaskClient, auth: dict[str, str], base_body: dict[str, Any], digits: int
) -> None:
    """The JSON parser never raises on digits: the field names itself (422)."""
    text = json.dumps(base_body)
    marker = '"crew_size": 1'
    assert marker in text
    text = text.replace(marker, '"crew_size": 1' + "0" * digits, 1)
    response = _post(client, auth, text)
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = response.get_json()["errors"]
    assert any(k.endswith(".crew_size") for k in errors), errors
    assert all("digits" in m for msgs in errors.values() for m in msgs)
