"""X-Twilio-Signature on voice callbacks: valid, tampered body or URL, wrong token, missing, replayed."""

from __future__ import annotations

import pytest

from omniroute.core.clock import ManualClock
from omniroute.voice.adapters.port import SignatureRejected, VoiceRequest, read_events
from omniroute.voice.adapters.twilio_voice import TwilioVoiceAdapter
from omniroute.voice.model import Call
from tests.unit.voice.adapters.twilio_voice.golden import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    INTERNAL_URL,
    PUBLIC_URL,
    body,
    headers,
    sign,
    variant,
)


@pytest.fixture
def adapter() -> TwilioVoiceAdapter:
    return TwilioVoiceAdapter(
        provider="twilio-main", clock=ManualClock(), account_sid=ACCOUNT_SID, webhook_url=PUBLIC_URL
    )


def test_a_signed_callback_is_read_even_behind_a_proxy(adapter: TwilioVoiceAdapter) -> None:
    raw = body("dial_leg_answered.txt")
    # Twilio signed the public URL; the app behind the proxy sees another one.
    events = read_events(adapter, VoiceRequest.of(INTERNAL_URL, headers(raw), raw), AUTH_TOKEN)
    assert [e.kind.value for e in events] == ["answered"]


def test_without_a_configured_url_the_request_url_is_what_was_signed() -> None:
    adapter = TwilioVoiceAdapter(clock=ManualClock())
    raw = body("dial_leg_answered.txt")
    adapter.verify(VoiceRequest.of(PUBLIC_URL, headers(raw), raw), AUTH_TOKEN)
    with pytest.raises(SignatureRejected):
        adapter.verify(VoiceRequest.of(INTERNAL_URL, headers(raw), raw), AUTH_TOKEN)


def test_a_tampered_body_is_refused(adapter: TwilioVoiceAdapter) -> None:
    raw = body("dial_leg_answered.txt")
    forged = variant("dial_leg_answered.txt", To="client:mallory")
    with pytest.raises(SignatureRejected) as refused:
        adapter.verify(VoiceRequest.of(PUBLIC_URL, headers(raw), forged), AUTH_TOKEN)
    assert refused.value.status == 403
    assert refused.value.reason == "X-Twilio-Signature does not match"


@pytest.mark.parametrize(
    "signed_url",
    [
        "https://voice.example.com/voice/providers/twilio-other/events?src=status",  # another provider's path
        "https://voice.example.com/voice/providers/twilio-main/events?src=other",  # another query
        "https://evil.example.com/voice/providers/twilio-main/events?src=status",  # another host
    ],
)
def test_a_signature_made_for_another_url_is_refused(adapter: TwilioVoiceAdapter, signed_url: str) -> None:
    raw = body("dial_leg_answered.txt")
    with pytest.raises(SignatureRejected) as refused:
        adapter.verify(VoiceRequest.of(PUBLIC_URL, headers(raw, url=signed_url), raw), AUTH_TOKEN)
    assert refused.value.status == 403


def test_the_wrong_auth_token_is_refused(adapter: TwilioVoiceAdapter) -> None:
    raw = body("inbound_completed.txt")
    with pytest.raises(SignatureRejected):
        adapter.verify(VoiceRequest.of(PUBLIC_URL, headers(raw, token="0" * 32), raw), AUTH_TOKEN)
    with pytest.raises(SignatureRejected):
        adapter.verify(VoiceRequest.of(PUBLIC_URL, headers(raw), raw), "0" * 32)


def test_a_missing_signature_is_401_and_a_webhooks_rule_key_is_403(adapter: TwilioVoiceAdapter) -> None:
    raw = body("inbound_completed.txt")
    with pytest.raises(SignatureRejected) as missing:
        adapter.verify(
            VoiceRequest.of(PUBLIC_URL, {"content-type": "application/x-www-form-urlencoded"}, raw),
            AUTH_TOKEN,
        )
    assert (missing.value.status, missing.value.reason) == (401, "missing X-Twilio-Signature header")
    rule = {**headers(raw), "X-Twilio-Webhooks-Signature-Settings": "sha256"}
    with pytest.raises(SignatureRejected, match="Webhooks Rule") as refused:
        adapter.verify(VoiceRequest.of(PUBLIC_URL, rule, raw), AUTH_TOKEN)
    assert refused.value.status == 403


def test_nothing_is_parsed_before_the_signature_holds(adapter: TwilioVoiceAdapter) -> None:
    garbage = b"\xff\xfe not a form"
    with pytest.raises(SignatureRejected):
        read_events(
            adapter, VoiceRequest.of(PUBLIC_URL, {"x-twilio-signature": sign(b"")}, garbage), AUTH_TOKEN
        )


def test_a_replayed_callback_maps_to_the_same_event_ids_so_it_changes_nothing(
    adapter: TwilioVoiceAdapter,
) -> None:
    # Twilio's scheme has no timestamp: a captured callback verifies again. Idempotency absorbs it.
    raw = body("inbound_completed.txt")
    request = VoiceRequest.of(PUBLIC_URL, headers(raw), raw)
    first = read_events(adapter, request, AUTH_TOKEN)
    replay = read_events(adapter, request, AUTH_TOKEN)
    assert [e.key for e in replay] == [e.key for e in first]
    call = Call.from_events(first)
    assert call.apply(replay[0]) is call
