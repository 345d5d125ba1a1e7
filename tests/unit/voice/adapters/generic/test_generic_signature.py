"""X-Omniroute-Signature: valid, tampered body, wrong secret, missing, malformed, replayed."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from omniroute.core.clock import ManualClock
from omniroute.voice.adapters.generic import GenericVoiceAdapter
from omniroute.voice.adapters.generic.signing import digest, signature_header
from omniroute.voice.adapters.port import SignatureRejected, VoiceRequest, read_events
from omniroute.voice.model import Call
from tests.unit.voice.adapters.generic.golden import SECRET, URL, body

NOW = datetime(2026, 1, 6, 9, 0, 50, tzinfo=UTC)
T = int(NOW.timestamp())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def adapter(clock: ManualClock) -> GenericVoiceAdapter:
    return GenericVoiceAdapter(provider="sim", clock=clock)


def signed(raw: bytes, header: str | None) -> VoiceRequest:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Omniroute-Signature"] = header
    return VoiceRequest.of(URL, headers, raw)


def refused(adapter: GenericVoiceAdapter, request: VoiceRequest) -> SignatureRejected:
    with pytest.raises(SignatureRejected) as caught:
        read_events(adapter, request, SECRET)
    return caught.value


def test_the_header_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1767690050." + b'{"a":1}', hashlib.sha256).hexdigest()
    assert signature_header(SECRET, b'{"a":1}', 1767690050) == f"t=1767690050,v1={expected}"
    assert digest(SECRET, b'{"a":1}', 1767690050) == expected


def test_a_signed_body_is_read(adapter: GenericVoiceAdapter) -> None:
    raw = body("answered.json")
    [event] = read_events(adapter, signed(raw, signature_header(SECRET, raw, T)), SECRET)
    assert (event.kind.value, event.provider) == ("answered", "sim")


def test_a_tampered_body_the_wrong_secret_and_a_missing_header_are_refused(
    adapter: GenericVoiceAdapter,
) -> None:
    raw = body("answered.json")
    header = signature_header(SECRET, raw, T)
    tampered = refused(adapter, signed(raw.replace(b"agent-alice", b"agent-mallo"), header))
    assert (tampered.status, tampered.reason) == (403, "X-Omniroute-Signature does not match the body")
    assert refused(adapter, signed(raw, signature_header("whsec_other", raw, T))).status == 403
    missing = refused(adapter, signed(raw, None))
    assert (missing.status, missing.reason) == (401, "missing X-Omniroute-Signature header")


@pytest.mark.parametrize(
    "header",
    ["v1=abc", "t=abc,v1=00", "t=1,t=2,v1=00", f"t={T}", "garbage", f"t={T},v0=00"],
)
def test_malformed_headers_are_401(adapter: GenericVoiceAdapter, header: str) -> None:
    problem = refused(adapter, signed(body("answered.json"), header))
    assert problem.status == 401
    assert "malformed" in problem.reason


async def test_an_old_timestamp_is_a_replay_and_is_refused(
    adapter: GenericVoiceAdapter, clock: ManualClock
) -> None:
    raw = body("answered.json")
    header = signature_header(SECRET, raw, T)
    read_events(adapter, signed(raw, header), SECRET)
    # Five minutes later the very same request (captured on the way) is still accepted…
    await clock.advance(300)
    read_events(adapter, signed(raw, header), SECRET)
    # …one second more and it is not; a re-signed fresh timestamp needs the secret.
    await clock.advance(1)
    old = refused(adapter, signed(raw, header))
    assert old.status == 403
    assert "301 s away from our clock" in old.reason


def test_a_timestamp_from_the_future_is_refused_too(adapter: GenericVoiceAdapter) -> None:
    raw = body("answered.json")
    assert refused(adapter, signed(raw, signature_header(SECRET, raw, T + 600))).status == 403


def test_a_replay_inside_the_window_is_a_duplicate_event(adapter: GenericVoiceAdapter) -> None:
    raw = body("full_call.json")
    request = signed(raw, signature_header(SECRET, raw, T))
    call = Call.from_events(read_events(adapter, request, SECRET))
    for event in read_events(adapter, request, SECRET):
        assert call.apply(event) is call


def test_during_a_secret_rotation_either_signature_is_enough(adapter: GenericVoiceAdapter) -> None:
    raw = body("answered.json")
    old = digest("whsec_old", raw, T)
    new = digest(SECRET, raw, T)
    read_events(adapter, signed(raw, f"t={T},v1={old},v1={new}"), SECRET)
    read_events(adapter, signed(raw, f"t={T}, v1={new.upper()}"), SECRET)  # hex case and spaces do not matter
    assert refused(adapter, signed(raw, f"t={T},v1={old}")).status == 403
