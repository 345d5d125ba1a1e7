"""Meta's webhook signature: ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw
request body keyed by the app secret. Checked over the exact bytes received, before any parsing
(Meta signs its own escaped-unicode serialisation, so re-encoding the JSON would not match)."""

from __future__ import annotations

import hashlib
import hmac

from omniroute.channels.port import SignatureError

HEADER = "x-hub-signature-256"
PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body`` (the double and tests sign with it too)."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify(app_secret: str, body: bytes, header: str | None) -> None:
    """Raise :class:`SignatureError`: 401 when the header is missing or unreadable, 403 when it
    does not match (the sender is known to be wrong, not merely anonymous)."""
    if not header:
        raise SignatureError("missing X-Hub-Signature-256 header", status=401)
    value = header.strip().lower()
    if not value.startswith(PREFIX) or len(value) != len(PREFIX) + 64:
        raise SignatureError("X-Hub-Signature-256 must be 'sha256=<64 hex digits>'", status=401)
    if not hmac.compare_digest(sign(app_secret, body), value):
        raise SignatureError("X-Hub-Signature-256 does not match the body", status=403)
