"""Meta's webhook handshake and X-Hub-Signature-256, shared by WhatsApp and Messenger."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from omniroute.channels.meta_common import handshake, signature
from omniroute.channels.port import MalformedPayload, SignatureError

FIXTURES = Path(__file__).resolve().parents[3] / "e2e" / "channels" / "whatsapp" / "fixtures"


def test_the_challenge_is_echoed_when_the_verify_token_matches() -> None:
    query = dict(parse_qsl((FIXTURES / "verification.txt").read_text().strip()))
    result = handshake.answer(query, "meatyhamhock")
    assert (result.status, result.response_body, result.response_type) == (200, b"1158201444", "text/plain")
    assert result.items == ()
    with pytest.raises(SignatureError) as refused:
        handshake.answer(query, "another-token")
    assert refused.value.status == 403
    with pytest.raises(MalformedPayload):
        handshake.answer({**query, "hub.mode": "unsubscribe"}, "meatyhamhock")
    with pytest.raises(MalformedPayload):
        handshake.answer({"hub.mode": "subscribe", "hub.verify_token": "meatyhamhock"}, "meatyhamhock")


def test_signature_is_hmac_sha256_of_the_raw_body_with_the_app_secret() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    expected = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert signature.sign("app-secret", body) == expected
    signature.verify("app-secret", body, expected)
    signature.verify("app-secret", body, expected.upper().replace("SHA256=", "sha256="))  # hex case is free


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("", 401), ("sha1=abc", 401), ("sha256=" + "0" * 64, 403)],
)
def test_missing_malformed_and_wrong_signatures_are_refused(header: str | None, status: int) -> None:
    with pytest.raises(SignatureError) as refused:
        signature.verify("app-secret", b"{}", header)
    assert refused.value.status == status


def test_a_tampered_body_does_not_match() -> None:
    header = signature.sign("app-secret", b'{"text":"hello"}')
    with pytest.raises(SignatureError, match="does not match"):
        signature.verify("app-secret", b'{"text":"HELLO"}', header)
