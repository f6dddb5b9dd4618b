"""``POST /api/v1/dispatch``: sync answers, async jobs, validation, limits and bad bodies."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from matcher.dispatch.generate import generate_district
from matcher.dispatch.problem import Problem
from tests.service.helpers import assert_error, assert_verified, body_of, new_auth, wait_for_job

URL = "/api/v1/dispatch"


def test_small_problem_is_answered_with_a_verified_plan(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    """A small problem is solved while the request waits: 200 with a plan verify accepts."""
    response = client.post(URL, json=body_of(small_problem), headers=auth)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["status"] in ("optimal", "feasible")
    assert_verified(small_problem, answer)
    assert response.headers["Link"].startswith("</api/v1/jobs/")
    job_url = response.headers["Link"].split(">")[0][1:]
    job = client.get(job_url, headers=auth).get_json()
    assert job["mode"] == "sync" and job["status"] == "succeeded"
    assert job["answer"] == answer


def test_prefer_respond_async_gets_202_and_a_job_to_poll(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    """``Prefer: respond-async`` answers 202 with the job and its Location; polling ends
    ``succeeded`` with a verified answer."""
    response = client.post(
        URL, json=body_of(small_problem), headers={**auth, "Prefer": "respond-async"}
    )
    assert response.status_code == 202
    job = response.get_json()
    assert job["status"] in ("queued", "running")
    assert job["mode"] == "async"
    assert response.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert response.headers["Preference-Applied"] == "respond-async"
    assert job["size"] == {"members": 40, "demands": 80, "teams": len(small_problem.teams)}
    done = wait_for_job(client, auth, job["id"])
    assert done["status"] == "succeeded"
    assert done["progress"]["phase"] == "done"
    assert done["started_at"] and done["finished_at"]
    assert_verified(small_problem, done["answer"])


def test_large_problem_runs_as_a_job(
    make_app: Callable[..., Flask], small_problem: Problem
) -> None:
    """More demands than LINLI_SYNC_MAX_DEMANDS: 202 even without ``Prefer``."""
    app = make_app(LINLI_SYNC_MAX_DEMANDS=50)
    client, auth = app.test_client(), new_auth(app)
    response = client.post(URL, json=body_of(small_problem), headers=auth)
    assert response.status_code == 202
    assert "Preference-Applied" not in response.headers
    done = wait_for_job(client, auth, response.get_json()["id"])
    assert done["status"] == "succeeded"
    assert_verified(small_problem, done["answer"])


def test_time_limit_and_workers_are_clamped_and_reported(
    make_app: Callable[..., Flask], small_problem: Problem
) -> None:
    """A time limit above the cap runs with the cap; the job reports asked and applied."""
    app = make_app(LINLI_MAX_TIME_LIMIT_S=1.5)
    client, auth = app.test_client(), new_auth(app)
    body = body_of(small_problem, time_limit_s=600)
    body["options"]["workers"] = 8
    response = client.post(URL, json=body, headers={**auth, "Prefer": "respond-async"})
    assert response.status_code == 202
    assert response.get_json()["limits"] == {
        "time_limit_s": {"requested": 600.0, "applied": 1.5},
        "workers": {"requested": 8, "applied": 1},
    }
    done = wait_for_job(client, auth, response.get_json()["id"])
    assert_verified(small_problem, done["answer"])


def test_validate_only_accepts_a_valid_problem_without_solving(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    """``validate_only=true`` on a valid problem: 200 ``{valid: true}`` and no job."""
    before = client.get("/api/v1/jobs", headers=auth).headers["X-Pagination"]
    response = client.post(URL + "?validate_only=true", json=body_of(small_problem), headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {"valid": True}
    assert client.get("/api/v1/jobs", headers=auth).headers["X-Pagination"] == before


def test_validate_only_lists_every_error_with_its_path(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    """Shape errors are all reported at once, each under its field path."""
    body = body_of(small_problem)
    body["demands"][3]["window"]["end"] = body["demands"][3]["window"]["start"]
    body["demands"][5]["priority"] = 9
    body["members"][0]["capacity_hours"] = "six"
    body["options"]["colour"] = "red"
    response = client.post(URL + "?validate_only=true", json=body, headers=auth)
    error = assert_error(response, 422)
    assert set(error["errors"]) == {
        "demands[3].window.end",
        "demands[5].priority",
        "members[0].capacity_hours",
        "options.colour",
    }
    assert error["errors"]["options.colour"] == ["unknown field"]
    assert "4 errors" in error["message"]


def test_reference_errors_are_422_with_paths(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    """Errors between objects (a duplicate member id) are 422 too, for solving and checking."""
    body = body_of(small_problem)
    body["members"][1]["id"] = body["members"][0]["id"]
    for url in (URL, URL + "?validate_only=true"):
        error = assert_error(client.post(url, json=body, headers=auth), 422)
        assert any(path.startswith("members[1]") for path in error["errors"]), error


def test_at_most_100_errors_are_listed(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    """A body with more than 100 bad fields lists the first 100 and says how many there are."""
    body = body_of(small_problem)
    for demand in body["demands"]:
        demand["priority"] = 0
        demand["duration_hours"] = -1
    error = assert_error(client.post(URL, json=body, headers=auth), 422)
    assert len(error["errors"]) == 100
    assert "160 errors" in error["message"] and "first 100" in error["message"]


def test_item_counts_are_checked_before_parsing(
    make_app: Callable[..., Flask], small_problem: Problem
) -> None:
    """Too many demands: 422 naming the limit, and nothing about the items themselves."""
    app = make_app(LINLI_MAX_DEMANDS=50, LINLI_MAX_MEMBERS=30)
    client, auth = app.test_client(), new_auth(app)
    body = body_of(small_problem)
    body["demands"][0] = "not even an object"
    error = assert_error(client.post(URL, json=body, headers=auth), 422)
    assert error["errors"] == {
        "members": ["at most 30 items"],
        "demands": ["at most 50 items"],
    }


def test_body_over_the_size_limit_is_413(
    make_app: Callable[..., Flask], small_problem: Problem
) -> None:
    app = make_app(LINLI_MAX_BODY_MB=0.01)
    client, auth = app.test_client(), new_auth(app)
    error = assert_error(client.post(URL, json=body_of(small_problem), headers=auth), 413)
    assert "larger than" in error["message"]


def test_a_chunked_body_is_limited_on_the_bytes_read_and_refused_whole(
    make_app: Callable[..., Flask], small_problem: Problem
) -> None:
    """Without a Content-Length (Transfer-Encoding: chunked) the limit counts the bytes read: a
    valid problem followed by padding and garbage past the limit is 413, never a plan made from
    the first part; a chunked body inside the limit is solved and verified."""
    app = make_app(LINLI_MAX_BODY_MB=0.25)
    client, auth = app.test_client(), new_auth(app)
    problem = generate_district(members=6, demands=8, seed=4)
    body = json.dumps(body_of(problem, time_limit_s=0.5)).encode()

    def chunked(data: bytes) -> Any:
        return client.post(
            URL,
            input_stream=io.BytesIO(data),
            headers={**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )

    over = chunked(body + b" " * 300_000 + b'{"garbage": [[[')
    assert "larger than" in assert_error(over, 413)["message"]
    inside = chunked(body)
    assert inside.status_code == 200, inside.get_json()
    assert_verified(problem, inside.get_json())


def test_body_that_is_not_json_is_415(client: FlaskClient, auth: dict[str, str]) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = client.post(
            URL, data="members=1", headers={**auth, "Content-Type": content_type}
        )
        assert_error(response, 415)
    assert_error(client.post(URL, headers=auth), 415)


def test_malformed_json_is_400_with_the_position(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post(
        URL, data='{"members": [', headers={**auth, "Content-Type": "application/json"}
    )
    error = assert_error(response, 400)
    assert error["errors"]["$"][0].startswith("not valid JSON:")
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(URL, data=deep, headers={**auth, "Content-Type": "application/json"})
    assert assert_error(response, 400)["errors"] == {"$": ["not valid JSON: nested too deeply"]}


def test_not_finite_numbers_are_422_at_their_path(
    client: FlaskClient, auth: dict[str, str], small_problem: Problem
) -> None:
    text = json.dumps(body_of(small_problem)).replace(
        '"capacity_hours": ' + json.dumps(small_problem.members[2].capacity_hours),
        '"capacity_hours": NaN',
        1,
    )
    response = client.post(URL, data=text, headers={**auth, "Content-Type": "application/json"})
    error = assert_error(response, 422)
    assert "members[2].capacity_hours" in error["errors"]


def test_wrong_method_is_405_with_allow(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get(URL, headers=auth)
    assert_error(response, 405)
    assert "POST" in response.headers["Allow"]
