"""Identifiers: random, URL-safe, ordered by creation time (UUIDv7 layout)."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid


def new_id() -> str:
    """A UUIDv7 as text: time-ordered so indexes stay compact, random enough to be unguessable."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 68) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def new_token(nbytes: int = 32) -> str:
    """A secret bearer token for people or integrations; only its hash is stored."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a fast hash is enough (unlike passwords)."""
    return hashlib.sha256(token.encode()).hexdigest()
