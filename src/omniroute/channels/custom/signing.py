"""The custom channel's signature: ``Omniroute-Signature: t=<unix seconds>,v1=<hex>`` where v1 is
HMAC-SHA256 over ``"<t>." + body`` with the shared secret. The timestamp bounds replays."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "omniroute-signature"
TOLERANCE_SECONDS = 300


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str | None, now_unix: float) -> str | None:
    """None when valid, else the reason it is not."""
    if not header:
        return "missing Omniroute-Signature header"
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return "malformed signature timestamp"
    if abs(now_unix - timestamp) > TOLERANCE_SECONDS:
        return "signature timestamp outside the 5-minute tolerance"
    expected = signature_header(secret, body, timestamp).split(",", 1)[1].removeprefix("v1=")
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        return "signature does not match"
    return None
