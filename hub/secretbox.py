"""Encryption of secrets kept in the database (identity provider client secrets).

Fernet (AES-128-CBC + HMAC-SHA256) under a key from HUB_ENCRYPTION_KEY, or derived from
HUB_SECRET_KEY when no dedicated key is set. Stored values carry a version prefix so the
key or scheme can be rotated later.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from hub.config import Settings

PREFIX = "fernet1:"


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with the configured key."""


def _fernet(settings: Settings) -> Fernet:
    material = settings.encryption_key or settings.secret_key
    key = hashlib.sha256(b"alliance-hub client secrets\x00" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(settings: Settings, plaintext: str) -> str:
    return PREFIX + _fernet(settings).encrypt(plaintext.encode()).decode()


def open_sealed(settings: Settings, stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("The stored secret is not in a known format.")
    try:
        return _fernet(settings).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable(
            "The stored client secret cannot be decrypted: was HUB_ENCRYPTION_KEY changed?"
        ) from error
