"""Residents' contact details: encrypted at rest, masked where they are not needed.

A demand may carry the resident's phone number and address, which the member who serves it
needs and nobody else does. They are stored only as Fernet tokens (AES-128-CBC + HMAC-SHA256,
from the ``cryptography`` package) under the data key (``LINLI_DATA_KEY``; the embedded default
keeps a generated key in the instance folder, readable by its owner only). Lists and records
show them masked (``138****5678``, ``金水区****``); the clear text is answered only to the roles
that need it, and each such answer is written to the audit trail (:mod:`service.domain.audit`).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

PHONE_KEEP_HEAD = 3
PHONE_KEEP_TAIL = 4
ADDRESS_KEEP_HEAD = 3
MASK = "****"


class DataKeyError(ValueError):
    """The data key is malformed, or a stored value was encrypted under another key."""


class FieldCipher:
    """Encrypts and decrypts single text fields under one data key."""

    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as err:
            raise DataKeyError(
                "LINLI_DATA_KEY must be 32 url-safe base64-encoded bytes "
                "(make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from err

    def encrypt(self, text: str | None) -> str | None:
        """The token stored for ``text`` (``None`` stays ``None``)."""
        if text is None:
            return None
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        """The text of a stored token (``None`` stays ``None``)."""
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as err:
            raise DataKeyError("a stored value does not decrypt under LINLI_DATA_KEY") from err


def instance_secret(folder: str | Path, name: str, make: bytes) -> bytes:
    """The secret kept in ``folder/name``, written (mode 0600) from ``make`` the first time."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(make)
    return make


def new_data_key() -> bytes:
    """A fresh data key."""
    return Fernet.generate_key()


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; short numbers keep only their last two digits."""
    if phone is None:
        return None
    digits = phone.strip()
    if len(digits) >= PHONE_KEEP_HEAD + PHONE_KEEP_TAIL + 1:
        return digits[:PHONE_KEEP_HEAD] + MASK + digits[-PHONE_KEEP_TAIL:]
    return MASK + digits[-2:]


def mask_address(address: str | None) -> str | None:
    """The first three characters (a district or road name) and a mask."""
    if address is None:
        return None
    return address.strip()[:ADDRESS_KEEP_HEAD] + MASK
