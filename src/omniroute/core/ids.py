"""Identifiers: random, URL-safe, ordered by creation time (UUIDv7 layout)."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0
_COUNTER_MAX = 0xFFF


def new_id() -> str:
    """A UUIDv7 as text: time-ordered so indexes stay compact, random enough to be unguessable.

    Ids made in the same millisecond still sort in creation order: the 12-bit ``rand_a`` field is a
    counter seeded at random each millisecond (RFC 9562 §6.2, method 1). Rows ordered by id (receipts,
    messages from one webhook) therefore keep the order they were created in.
    """
    global _last_ms, _counter  # noqa: PLW0603 - the generator's state is its whole point
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _counter = secrets.randbelow(_COUNTER_MAX // 2)  # leave room to count up
        else:
            _counter += 1
            if _counter > _COUNTER_MAX:  # more than ~2,000 ids this millisecond: borrow the next
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return str(uuid.UUID(int=value))


def new_token(nbytes: int = 32) -> str:
    """A secret bearer token for people or integrations; only its hash is stored."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a fast hash is enough (unlike passwords)."""
    return hashlib.sha256(token.encode()).hexdigest()
