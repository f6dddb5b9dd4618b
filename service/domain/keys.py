"""API keys for machine clients: created once, shown once, stored as SHA-256 hashes.

``flask --app service.app linli-create-key NAME [--community C ...]`` prints a new key.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.clients import ApiClient
from service.db.registration import Community

KEY_PREFIX = "lnl_"
MAX_KEY_LENGTH = 200


class UnknownCommunityError(ValueError):
    """A key was asked for a community that does not exist."""


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored for a key (keys are random, so no salt is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_api_client(
    session: Session, name: str, communities: Iterable[str] = ()
) -> tuple[ApiClient, str]:
    """Create a client and its key; the plaintext key exists only in the return value.

    Args:
        session: An open session; the client is added and committed.
        name: A label for people (the organisation or system), 1-200 characters.
        communities: The communities this client may act for.

    Returns:
        ``(client, plaintext_key)``.

    Raises:
        ValueError: If the name is empty or too long.
        UnknownCommunityError: If a community does not exist: a key never gains a community
            created after it.
    """
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValueError("name must have 1 to 200 characters")
    wanted = sorted(set(communities))
    known = set(session.scalars(select(Community.id).where(Community.id.in_(wanted))))
    missing = [c for c in wanted if c not in known]
    if missing:
        raise UnknownCommunityError(f"no such community: {', '.join(missing)}")
    key = new_key()
    client = ApiClient(name=name, key_hash=hash_key(key), communities=sorted(set(communities)))
    session.add(client)
    session.commit()
    return client, key


def find_client(session: Session, key: str) -> ApiClient | None:
    """The client whose key this is, or ``None``."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    return session.scalars(select(ApiClient).where(ApiClient.key_hash == hash_key(key))).first()
