"""Settings from the environment and the ``create_app`` config dict."""

from __future__ import annotations

import pytest

from service.config.settings import RateLimit, cpu_count, load_settings, parse_rate_limit

DEFAULT = "sqlite:////tmp/default.sqlite3"


def test_config_dict_overrides_the_environment() -> None:
    env = {"LINLI_MAX_TIME_LIMIT_S": "120", "LINLI_DATABASE_URL": "sqlite:////tmp/env.sqlite3"}
    settings = load_settings(
        {"LINLI_MAX_TIME_LIMIT_S": 30}, environ=env, default_database_url=DEFAULT
    )
    assert settings.max_time_limit_s == 30.0
    assert settings.database_url == "sqlite:////tmp/env.sqlite3"
    assert load_settings(environ={}, default_database_url=DEFAULT).database_url == DEFAULT


def test_environment_strings_are_parsed() -> None:
    env = {
        "LINLI_AUTO_MIGRATE": "false",
        "LINLI_MAX_BODY_MB": "1.5",
        "LINLI_SYNC_MAX_DEMANDS": "10",
        "LINLI_RATE_LIMIT": "120/minute",
        "LINLI_RATE_BURST": "10",
    }
    settings = load_settings(environ=env, default_database_url=DEFAULT)
    assert settings.auto_migrate is False
    assert settings.max_body_bytes == int(1.5 * 1024 * 1024)
    assert settings.sync_max_demands == 10
    assert settings.rate_limit == RateLimit(per_s=2.0, burst=10.0)


def test_bad_values_name_the_setting() -> None:
    with pytest.raises(ValueError, match="LINLI_MAX_DEMANDS"):
        load_settings(environ={"LINLI_MAX_DEMANDS": "many"}, default_database_url=DEFAULT)
    with pytest.raises(ValueError, match="LINLI_RATE_LIMIT"):
        load_settings(environ={"LINLI_RATE_LIMIT": "5/fortnight"}, default_database_url=DEFAULT)


def test_rate_limit_can_be_switched_off() -> None:
    for value in ("off", "0", ""):
        assert parse_rate_limit(value) is None
    assert parse_rate_limit("5") == RateLimit(per_s=5.0, burst=5.0)


def test_solver_pool_never_exceeds_the_cores() -> None:
    many = load_settings(environ={"LINLI_MAX_WORKERS": "64"}, default_database_url=DEFAULT)
    assert many.pool_size == cpu_count()
    one = load_settings(environ={"LINLI_MAX_WORKERS": "1"}, default_database_url=DEFAULT)
    assert one.pool_size == 1
    assert load_settings(environ={}, default_database_url=DEFAULT).pool_size == cpu_count()


def test_scale_out_settings_have_defaults_and_parse() -> None:
    """``LINLI_EXECUTOR_SLOTS`` (``auto`` → 0: derived), ``LINLI_TENANT_MAX_RUNNING`` (0: no
    cap) and ``LINLI_JOB_ATTEMPTS`` (3)."""
    default = load_settings(environ={}, default_database_url=DEFAULT)
    assert (default.executor_slots, default.tenant_max_running, default.job_attempts) == (0, 0, 3)
    env = {
        "LINLI_EXECUTOR_SLOTS": "8",
        "LINLI_TENANT_MAX_RUNNING": "2",
        "LINLI_JOB_ATTEMPTS": "1",
    }
    parsed = load_settings(environ=env, default_database_url=DEFAULT)
    assert (parsed.executor_slots, parsed.tenant_max_running, parsed.job_attempts) == (8, 2, 1)
    auto = load_settings(
        {"LINLI_EXECUTOR_SLOTS": " Auto "}, environ={}, default_database_url=DEFAULT
    )
    assert auto.executor_slots == 0
    assert default.fan_out_min_demands == 0  # a job's search fans out only when asked
    fan_out = load_settings(
        environ={"LINLI_FAN_OUT_MIN_DEMANDS": "5000"}, default_database_url=DEFAULT
    )
    assert fan_out.fan_out_min_demands == 5000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LINLI_EXECUTOR_SLOTS", "-1", "must be 'auto' or a whole number >= 1, got '-1'"),
        ("LINLI_EXECUTOR_SLOTS", "many", "must be 'auto' or a whole number >= 1"),
        ("LINLI_EXECUTOR_SLOTS", "1.5", "must be 'auto' or a whole number >= 1"),
        ("LINLI_TENANT_MAX_RUNNING", "-2", "must be a whole number >= 0 \\(0: no cap\\)"),
        ("LINLI_TENANT_MAX_RUNNING", "two", "must be a whole number >= 0"),
        ("LINLI_JOB_ATTEMPTS", "0", "must be a whole number >= 1, got '0'"),
        ("LINLI_JOB_ATTEMPTS", True, "must be a whole number >= 1, got True"),
        ("LINLI_FAN_OUT_MIN_DEMANDS", "-5", "must be a whole number >= 0 \\(0: never\\)"),
        ("LINLI_FAN_OUT_MIN_DEMANDS", "lots", "must be a whole number >= 0"),
    ],
)
def test_a_bad_scale_out_setting_is_a_one_line_error_naming_it(
    name: str, value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{name}: {message}") as error:
        load_settings({name: value}, environ={}, default_database_url=DEFAULT)
    assert "\n" not in str(error.value)
