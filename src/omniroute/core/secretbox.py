"""Encryption at rest for credentials (channel tokens, webhook secrets): Fernet (AES-128-CBC +
HMAC-SHA256) with a key derived from the installation's secret key by HKDF.

A value may instead reference the environment (``env:TWILIO_AUTH_TOKEN``), so operators who keep
secrets outside the database can.
"""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ENV_PREFIX = "env:"


class SecretUnavailable(Exception):
    """A stored secret cannot be read (wrong secret key, or a missing environment variable)."""


class SecretBox:
    def __init__(self, secret_key: str, purpose: bytes = b"omniroute credentials v1") -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, value: str) -> str:
        """Encrypt a secret for storage; environment references are stored as they are."""
        if value.startswith(ENV_PREFIX):
            return value
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        if stored.startswith(ENV_PREFIX):
            name = stored[len(ENV_PREFIX) :]
            value = os.environ.get(name)
            if value is None:
                msg = f"environment variable {name} is not set"
                raise SecretUnavailable(msg)
            return value
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnavailable("cannot decrypt: was OMNIROUTE_SECRET_KEY changed?") from exc
