"""Authenticating EventBridge deliveries: the API destination's API-key header, or the generic
HMAC signature when a relay signs the events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omniroute.core.clock import ManualClock
from omniroute.voice.adapters.amazon_connect import AmazonConnectAdapter
from omniroute.voice.adapters.generic.signing import signature_header
from omniroute.voice.adapters.port import SignatureRejected, VoiceRequest, read_events
from omniroute.voice.model import Call
from tests.unit.voice.adapters.amazon_connect.golden import SECRET, URL, body

NOW = datetime(2026, 1, 6, 14, 1, 5, tzinfo=UTC)


@pytest.fixture
def adapter() -> AmazonConnectAdapter:
    return AmazonConnectAdapter(provider="connect-main", clock=ManualClock(NOW))


def request(raw: bytes, **headers: str) -> VoiceRequest:
    return VoiceRequest.of(URL, {"Content-Type": "application/json", **headers}, raw)


def test_the_api_key_the_connection_adds_is_accepted(adapter: AmazonConnectAdapter) -> None:
    raw = body("connected_to_agent.json")
    events = read_events(adapter, request(raw, **{"X-Omniroute-Api-Key": SECRET}), SECRET)
    assert [e.kind.value for e in events] == ["answered"]


def test_a_wrong_or_missing_api_key_is_refused(adapter: AmazonConnectAdapter) -> None:
    raw = body("connected_to_agent.json")
    with pytest.raises(SignatureRejected) as wrong:
        adapter.verify(request(raw, **{"X-Omniroute-Api-Key": SECRET[:-1] + "0"}), SECRET)
    assert wrong.value.status == 403
    with pytest.raises(SignatureRejected) as missing:
        adapter.verify(request(raw), SECRET)
    assert (missing.value.status, missing.value.reason) == (
        401,
        "missing x-omniroute-api-key header (the EventBridge connection's API key)",
    )


def test_the_header_name_is_the_connections(adapter: AmazonConnectAdapter) -> None:
    custom = AmazonConnectAdapter(clock=ManualClock(NOW), api_key_header="X-Connect-Secret")
    raw = body("queued.json")
    custom.verify(request(raw, **{"x-connect-secret": SECRET}), SECRET)
    with pytest.raises(SignatureRejected):
        custom.verify(request(raw, **{"X-Omniroute-Api-Key": SECRET}), SECRET)


def test_an_api_key_does_not_bind_the_body_which_is_why_tls_and_idempotency_matter(
    adapter: AmazonConnectAdapter,
) -> None:
    # Documented limit: the key proves the sender, not the bytes. A redelivery (EventBridge retries
    # keep the event id) maps to the same event ids, so it changes nothing.
    raw = body("disconnected.json")
    first = read_events(adapter, request(raw, **{"X-Omniroute-Api-Key": SECRET}), SECRET)
    again = read_events(adapter, request(raw, **{"X-Omniroute-Api-Key": SECRET}), SECRET)
    call = Call.from_events(first)
    assert call.apply(again[0]) is call


def test_a_relay_can_sign_with_the_generic_hmac_instead(adapter: AmazonConnectAdapter) -> None:
    raw = body("queued.json")
    now = int(NOW.timestamp())
    adapter.verify(request(raw, **{"X-Omniroute-Signature": signature_header(SECRET, raw, now)}), SECRET)
    tampered = raw.replace(b"STANDARD", b"AGENT")
    with pytest.raises(SignatureRejected, match="does not match"):
        adapter.verify(
            request(tampered, **{"X-Omniroute-Signature": signature_header(SECRET, raw, now)}), SECRET
        )
    with pytest.raises(SignatureRejected, match="away from our clock"):
        adapter.verify(
            request(raw, **{"X-Omniroute-Signature": signature_header(SECRET, raw, now - 3600)}), SECRET
        )
    with pytest.raises(SignatureRejected, match="does not match"):
        adapter.verify(request(raw, **{"X-Omniroute-Signature": signature_header("other", raw, now)}), SECRET)
