"""The adapter's sending side against the local Twilio double on loopback: what the framework
does not pass yet (media, quick replies), Messaging Services, and the API's error answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from omniroute.channels.port import (
    Attachment,
    MediaFetchFailed,
    MediaTooLarge,
    Outbound,
    PermanentSendError,
    QuickReply,
    TransientSendError,
)
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.sms_twilio.adapter import TwilioSmsAdapter
from omniroute.channels.sms_twilio.double import TwilioDouble
from omniroute.core.clock import ManualClock
from tests.e2e.channels.sms_twilio.golden import ACCOUNT_SID, CUSTOMER, TWILIO_NUMBER
from tests.e2e.conftest import free_port, serve

AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SERVICE_SID = "MG1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a1c"
WEBHOOK_URL = "https://support.example.com/webhooks/acct-1"
AdapterFor = Callable[..., TwilioSmsAdapter]


@pytest.fixture
async def double() -> AsyncIterator[tuple[TwilioDouble, str]]:
    twilio = TwilioDouble(ACCOUNT_SID, AUTH_TOKEN, ManualClock())
    port = free_port()
    async with serve(twilio.app(), port):
        yield twilio, f"http://127.0.0.1:{port}"


@pytest.fixture
async def adapter_for(double: tuple[TwilioDouble, str]) -> AsyncIterator[AdapterFor]:
    async with httpx.AsyncClient() as http:

        def make(token: str = AUTH_TOKEN, **settings: Any) -> TwilioSmsAdapter:
            config = AccountConfig(
                id="acct-1",
                channel="sms_twilio",
                name="Support SMS",
                settings={"account_sid": ACCOUNT_SID, "api_base": double[1], **settings},
                secrets={"auth_token": token},
                webhook_url=WEBHOOK_URL,
            )
            return TwilioSmsAdapter(AdapterContext(config=config, http=http, clock=ManualClock()))

        yield make


def outbound(text: str, **more: Any) -> Outbound:
    return Outbound(outbound_id="o-1", conversation_id="c-1", to_address=CUSTOMER, text=text, **more)


async def test_mms_with_quick_replies(double: tuple[TwilioDouble, str], adapter_for: AdapterFor) -> None:
    twilio, _ = double
    adapter = adapter_for(from_number=TWILIO_NUMBER)
    sent = await adapter.send(
        outbound(
            "Which box is it?",
            attachments=(
                Attachment("https://files.example.com/a.jpg", "image/jpeg"),
                Attachment("https://files.example.com/b.jpg", "image/jpeg"),
            ),
            quick_replies=(QuickReply("small", "Small"), QuickReply("large", "Large")),
        )
    )
    [message] = twilio.sent
    assert sent.provider_message_id == message.sid
    assert message.sid.startswith("MM")
    assert len(message.sid) == 34
    assert message.field("Body") == "Which box is it?\n\n1. Small\n2. Large"
    assert message.fields("MediaUrl") == [
        "https://files.example.com/a.jpg",
        "https://files.example.com/b.jpg",
    ]
    assert message.field("StatusCallback") == WEBHOOK_URL
    assert message.resource["num_media"] == "2"
    assert message.resource["status"] == "queued"


async def test_through_a_messaging_service(double: tuple[TwilioDouble, str], adapter_for: AdapterFor) -> None:
    twilio, _ = double
    await adapter_for(messaging_service_sid=SERVICE_SID).send(outbound("Hello"))
    [message] = twilio.sent
    assert message.field("MessagingServiceSid") == SERVICE_SID
    assert message.field("From") is None
    assert message.resource["status"] == "accepted"


async def test_api_errors(double: tuple[TwilioDouble, str], adapter_for: AdapterFor) -> None:
    twilio, _ = double
    with pytest.raises(PermanentSendError, match="HTTP 401, Twilio error 20003: authentication failed"):
        await adapter_for("wrong-token", from_number=TWILIO_NUMBER).send(outbound("Hello"))
    adapter = adapter_for(from_number=TWILIO_NUMBER)
    with pytest.raises(PermanentSendError, match="Twilio error 21211"):
        await adapter.send(Outbound("o-2", "c-1", "12345", "Hello"))
    twilio.failures, twilio.retry_after = [503], "120"
    with pytest.raises(TransientSendError, match="HTTP 503") as outage:
        await adapter.send(outbound("Hello"))
    assert outage.value.retry_after_seconds == 120.0
    assert twilio.sent == []
    await adapter.send(outbound("Hello"))
    assert len(twilio.sent) == 1


async def test_the_double_serves_the_message_it_created(
    double: tuple[TwilioDouble, str], adapter_for: AdapterFor
) -> None:
    twilio, api_base = double
    sent = await adapter_for(from_number=TWILIO_NUMBER).send(outbound("Hello"))
    url = f"{api_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sent.provider_message_id}.json"
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        fetched = await http.get(url)
        assert fetched.json() == twilio.sent[0].resource
        missing = await http.get(url.replace(sent.provider_message_id, "SM" + "0" * 32))
    assert missing.status_code == 404
    assert missing.json()["code"] == 20404


MEDIA_URL = (
    f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM2e4a6c8b0d1f3a5c7e9b2d4f6a8c0e1d"
    "/Media/ME0a2c4e6b8d1f3a5c7e9b0d2f4a6c8e1a"
)


async def test_media_are_fetched_with_basic_auth_only_from_twilio(
    double: tuple[TwilioDouble, str], adapter_for: AdapterFor
) -> None:
    twilio, _ = double
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 16
    twilio.media["ME0a2c4e6b8d1f3a5c7e9b0d2f4a6c8e1a"] = ("image/jpeg", jpeg)
    adapter = adapter_for(from_number=TWILIO_NUMBER)
    got = await adapter.fetch_media(Attachment(MEDIA_URL, "image/jpeg"), max_bytes=len(jpeg))
    assert (got.data, got.content_type) == (jpeg, "image/jpeg")
    # One byte over the limit: refused (from Content-Length here; counted while reading without it).
    with pytest.raises(MediaTooLarge):
        await adapter.fetch_media(Attachment(MEDIA_URL, "image/jpeg"), max_bytes=len(jpeg) - 1)
    # A wrong auth token: Twilio answers 401, which no retry heals.
    with pytest.raises(MediaFetchFailed) as refused:
        await adapter_for(token="wrong", from_number=TWILIO_NUMBER).fetch_media(
            Attachment(MEDIA_URL, "image/jpeg"), max_bytes=10**6
        )
    assert (refused.value.reason, refused.value.transient) == ("HTTP 401", False)
    # Our credentials never go to a host that is not Twilio's.
    with pytest.raises(MediaFetchFailed, match="not a Twilio media URL"):
        await adapter.fetch_media(Attachment("https://evil.example/x.jpg", "image/jpeg"), max_bytes=10**6)
    assert twilio.media_requests == 3
