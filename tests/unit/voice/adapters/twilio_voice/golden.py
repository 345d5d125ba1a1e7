"""The golden Twilio Voice callbacks in ./fixtures (form bodies exactly as Twilio posts them)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from omniroute.core.twilio_signature import compute_signature

FIXTURES = Path(__file__).parent / "fixtures"
ACCOUNT_SID = "AC3b6d8f0a2c4e6a8b0d2f4a6c8e0b2d4f"
AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PARENT = "CA1f0e2d3c4b5a69788796a5b4c3d2e1f0"  # the customer's inbound call, <Dial>ing alice
CHILD = "CA7c6b5a4d3e2f1a0b9c8d7e6f5a4b3c2d"  # the leg that rang alice's browser
OUTBOUND = "CA5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"  # a call placed through the REST API
CONFERENCE_CUSTOMER = "CA4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"  # the customer of the conference callbacks
CUSTOMER = "+15558675310"
OUR_NUMBER = "+15017250604"
PUBLIC_URL = "https://voice.example.com/voice/providers/twilio-main/events?src=status"
INTERNAL_URL = "http://10.0.0.7:8000/voice/providers/twilio-main/events?src=status"


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes().strip()


def form(name: str) -> list[tuple[str, str]]:
    return parse_qsl(body(name).decode(), keep_blank_values=True)


def variant(name: str, **changes: str) -> bytes:
    """A golden callback with some fields changed (or removed, with an empty string)."""
    pairs = [(k, changes.get(k, v)) for k, v in form(name) if changes.get(k, v) != ""]
    pairs += [(k, v) for k, v in changes.items() if v and k not in dict(pairs)]
    return urlencode(pairs).encode()


def sign(raw: bytes, url: str = PUBLIC_URL, token: str = AUTH_TOKEN) -> str:
    return compute_signature(token, url, parse_qsl(raw.decode(), keep_blank_values=True))


def headers(raw: bytes, url: str = PUBLIC_URL, token: str = AUTH_TOKEN) -> dict[str, str]:
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": sign(raw, url, token),
        "user-agent": "TwilioProxy/1.1",
    }
