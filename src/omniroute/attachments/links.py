"""Signed, expiring public links to an attachment (``/files/{id}?exp=…&sig=…``). Pure.

Providers (Twilio, WhatsApp…) fetch the media we send from a URL without our credentials, and a
transcript carries links the customer opens later. The link is an HMAC-SHA256 over the id and the
expiry, keyed by a key derived from the application's secret, so it cannot be forged or extended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import urlencode

_PURPOSE = b"omniroute attachment links v1"


def link_key(secret_key: str) -> bytes:
    """A key for this purpose only (the secret itself signs other things)."""
    return hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()


def sign(key: bytes, attachment_id: str, expires: int) -> str:
    mac = hmac.new(key, f"{attachment_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def signed_path(key: bytes, attachment_id: str, expires: int) -> str:
    return f"/files/{attachment_id}?" + urlencode({"exp": expires, "sig": sign(key, attachment_id, expires)})


def verify(key: bytes, attachment_id: str, expires: int, signature: str, now: datetime) -> bool:
    """True when the signature matches and the link has not expired."""
    if expires < int(now.timestamp()):
        return False
    return hmac.compare_digest(sign(key, attachment_id, expires), signature)
