"""The generic adapter's signature: ``X-Omniroute-Signature: t=<unix seconds>,v1=<hex>``.

``v1`` is the hex HMAC-SHA256 of ``"<t>." + body`` keyed with the provider's webhook secret. The
timestamp is signed too, so an old request cannot be replayed with a fresh ``t``; requests more than
``TOLERANCE`` away from our clock (either way) are refused, and inside the window a replay is a
duplicate event id, which ingress ignores. Several ``v1`` values may be sent while a secret is being
rotated (sign with the old and the new one); any match is enough. Comparisons are constant-time.

The same scheme (under the ``Omniroute-Signature`` name) signs the custom messaging channel.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from omniroute.voice.adapters.port import SignatureRejected

HEADER = "x-omniroute-signature"
TOLERANCE = timedelta(minutes=5)


def digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The header value a sender puts on ``body`` at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={digest(secret, body, timestamp)}"


def verify(
    secret: str, body: bytes, header: str | None, now: datetime, tolerance: timedelta = TOLERANCE
) -> None:
    """Return when ``header`` signs ``body`` with ``secret`` recently enough; raise otherwise."""
    if not header:
        raise SignatureRejected("missing X-Omniroute-Signature header", status=401)
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            candidates.append(value.strip().lower())
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not candidates:
        raise SignatureRejected("malformed X-Omniroute-Signature: expected t=<unix seconds>,v1=<hex>", 401)
    timestamp = int(timestamps[0])
    skew = abs(now.timestamp() - timestamp)
    if skew > tolerance.total_seconds():
        msg = (
            f"X-Omniroute-Signature timestamp is {int(skew)} s away from our clock "
            f"(the limit is {int(tolerance.total_seconds())} s): a replay, or a sender with a wrong clock"
        )
        raise SignatureRejected(msg)
    expected = digest(secret, body, timestamp).encode()
    # Every candidate is compared, so the time taken does not say which one matched.
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in candidates]
    if not any(matches):
        raise SignatureRejected("X-Omniroute-Signature does not match the body")
