"""The contract every voice adapter keeps, run against each one with its vendor's golden payloads.

Verify before parse; 401 without a credential and 403 with a wrong one; the configured provider on
every event; aware times; event ids unique within a delivery and the same on every redelivery
(the idempotency key); no state kept between calls. And ``create_adapter`` builds each from settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from omniroute.core.clock import ManualClock
from omniroute.core.errors import InvalidInput
from omniroute.voice.adapters import KINDS, create_adapter
from omniroute.voice.adapters.amazon_connect import AmazonConnectAdapter
from omniroute.voice.adapters.generic import GenericVoiceAdapter
from omniroute.voice.adapters.generic.signing import signature_header
from omniroute.voice.adapters.port import SignatureRejected, VoiceAdapter, VoiceRequest, read_events
from omniroute.voice.adapters.twilio_voice import TwilioVoiceAdapter
from tests.unit.voice.adapters.amazon_connect import golden as connect
from tests.unit.voice.adapters.generic import golden as generic
from tests.unit.voice.adapters.twilio_voice import golden as twilio

NOW = datetime(2026, 1, 6, 9, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    adapter: VoiceAdapter
    secret: str
    url: str
    bodies: list[bytes]
    sign: Callable[[bytes, str], dict[str, str]]  # body, secret → the vendor's headers
    unsigned: dict[str, str]


def twilio_case() -> Case:
    names = [
        "dial_leg_ringing.txt",
        "conference_join_agent.txt",
        "recording_completed.txt",
        "transcription_final.txt",
    ]
    return Case(
        adapter=TwilioVoiceAdapter(provider="p1", clock=ManualClock(NOW)),
        secret=twilio.AUTH_TOKEN,
        url=twilio.PUBLIC_URL,
        bodies=[twilio.body(n) for n in names],
        sign=lambda raw, secret: twilio.headers(raw, token=secret),
        unsigned={"content-type": "application/x-www-form-urlencoded"},
    )


def connect_case() -> Case:
    return Case(
        adapter=AmazonConnectAdapter(provider="p1", clock=ManualClock(NOW)),
        secret=connect.SECRET,
        url=connect.URL,
        bodies=[
            connect.body(n)
            for n in [*connect.INBOUND_CALL, "initiated_transfer.json"]
            if "data_updated" not in n
        ],
        sign=lambda _raw, secret: {"content-type": "application/json", "x-omniroute-api-key": secret},
        unsigned={"content-type": "application/json"},
    )


def generic_case() -> Case:
    return Case(
        adapter=GenericVoiceAdapter(provider="p1", clock=ManualClock(NOW)),
        secret=generic.SECRET,
        url=generic.URL,
        bodies=[generic.body(n) for n in ["full_call.json", "transferred.json", "answered.json"]],
        sign=lambda raw, secret: {
            "content-type": "application/json",
            "x-omniroute-signature": signature_header(secret, raw, int(NOW.timestamp())),
        },
        unsigned={"content-type": "application/json"},
    )


@pytest.fixture(
    params=[twilio_case, connect_case, generic_case], ids=["twilio_voice", "amazon_connect", "generic"]
)
def case(request: pytest.FixtureRequest) -> Case:
    factory: Callable[[], Case] = request.param
    return factory()


def test_signed_golden_payloads_become_events_of_the_configured_provider(case: Case) -> None:
    for raw in case.bodies:
        events = read_events(
            case.adapter, VoiceRequest.of(case.url, case.sign(raw, case.secret), raw), case.secret
        )
        assert events, raw[:80]
        assert {e.provider for e in events} == {"p1"}
        assert all(e.occurred_at.tzinfo is UTC for e in events)
        assert len({e.event_id for e in events}) == len(events)
        # A redelivery maps to the same events: the same idempotency keys, the same content.
        assert case.adapter.parse(raw, case.sign(raw, case.secret)) == events


def test_no_credential_is_401_and_a_wrong_one_403(case: Case) -> None:
    raw = case.bodies[0]
    with pytest.raises(SignatureRejected) as missing:
        read_events(case.adapter, VoiceRequest.of(case.url, case.unsigned, raw), case.secret)
    assert missing.value.status == 401
    with pytest.raises(SignatureRejected) as wrong:
        read_events(
            case.adapter, VoiceRequest.of(case.url, case.sign(raw, "not-the-secret"), raw), case.secret
        )
    assert wrong.value.status == 403


def test_the_adapter_kinds_are_built_from_settings() -> None:
    clock = ManualClock(NOW)
    assert KINDS == ("twilio_voice", "amazon_connect", "generic")
    twilio_adapter = create_adapter(
        "twilio_voice",
        provider="p1",
        clock=clock,
        settings={"account_sid": twilio.ACCOUNT_SID, "webhook_url": ""},
    )
    assert isinstance(twilio_adapter, TwilioVoiceAdapter)
    assert (twilio_adapter.kind, twilio_adapter.provider) == ("twilio_voice", "p1")
    connect_adapter = create_adapter(
        "amazon_connect", provider="p2", clock=clock, settings={"api_key_header": "X-Key"}
    )
    raw = connect.body("queued.json")
    connect_adapter.verify(VoiceRequest.of(connect.URL, {"X-Key": "s"}, raw), "s")
    assert isinstance(create_adapter("generic", provider="p3", clock=clock), GenericVoiceAdapter)
    with pytest.raises(InvalidInput, match="unknown voice adapter 'genesys'"):
        create_adapter("genesys", provider="p4", clock=clock)
    with pytest.raises(InvalidInput, match="does not take instance_arn"):
        create_adapter("twilio_voice", provider="p5", clock=clock, settings={"instance_arn": "arn:x"})


def test_request_header_names_are_case_insensitive() -> None:
    request = VoiceRequest.of("https://x", [("X-Twilio-Signature", "abc"), ("Content-Type", "a/b")], b"")
    assert request.headers == {"x-twilio-signature": "abc", "content-type": "a/b"}
