"""API keys: random, shown once, stored only as a SHA-256 hash; a Flask CLI command makes one."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from sqlalchemy import select

from service.db.clients import ApiClient
from service.db.registration import Community
from service.domain.keys import UnknownCommunityError, create_api_client, find_client


def test_key_is_stored_only_as_its_hash(app: Flask) -> None:
    with app.extensions["linli"].sessions() as session:
        for community in ("c-01", "c-02"):
            if session.get(Community, community) is None:
                session.add(Community(id=community, name=community))
        session.commit()
        client, key = create_api_client(session, "  Jinshui district  ", ["c-02", "c-01", "c-01"])
        stored = session.get(ApiClient, client.id)
        assert stored is not None
        assert stored.name == "Jinshui district"
        assert stored.communities == ["c-01", "c-02"]
        assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in repr(stored.__dict__)
        assert key.startswith("lnl_") and len(key) >= 40
        assert find_client(session, key).id == client.id  # type: ignore[union-attr]
        assert find_client(session, key + "x") is None
        assert find_client(session, "") is None
        _other, second = create_api_client(session, "Jinshui district")
        assert second != key


def test_empty_name_is_refused(app: Flask) -> None:
    with app.extensions["linli"].sessions() as session, pytest.raises(ValueError):
        create_api_client(session, "   ")


def test_cli_command_prints_a_working_key_once(app: Flask) -> None:
    """``flask --app service.app linli-create-key NAME``: the key works; only its hash is kept;
    a community that does not exist is refused (exit 2), naming the option."""
    refused = app.test_cli_runner().invoke(
        args=["linli-create-key", "mini-program backend", "--community", "c-07"]
    )
    assert refused.exit_code == 2 and "no such community: c-07" in refused.output
    with app.extensions["linli"].sessions() as session:
        if session.get(Community, "c-07") is None:
            session.add(Community(id="c-07", name="c-07"))
        session.commit()
    result = app.test_cli_runner().invoke(
        args=["linli-create-key", "mini-program backend", "--community", "c-07"]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    response = app.test_client().get("/api/v1/jobs", headers={"X-API-Key": key})
    assert response.status_code == 200
    with app.extensions["linli"].sessions() as session:
        row = session.scalars(
            select(ApiClient).where(ApiClient.name == "mini-program backend")
        ).one()
    assert row.communities == ["c-07"]
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    failed = app.test_cli_runner().invoke(args=["linli-create-key", " "])
    assert failed.exit_code != 0


def test_a_key_is_only_for_communities_that_exist(app: Flask) -> None:
    """A key for a community not created yet is refused: it would gain it once created."""
    with app.extensions["linli"].sessions() as session:
        with pytest.raises(UnknownCommunityError, match="no such community: c-nowhere"):
            create_api_client(session, "too early", ["c-nowhere"])
        assert session.scalar(select(ApiClient).where(ApiClient.name == "too early")) is None
