"""The adapter's webhook side on its own: what it checks, in which order, and what it answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from omniroute.channels.port import InboundMessage, MalformedPayload, SignatureError, WebhookRequest
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.sms_twilio import SPEC
from omniroute.channels.sms_twilio.adapter import EMPTY_TWIML, TwilioSmsAdapter
from omniroute.core.clock import ManualClock
from omniroute.core.twilio_signature import compute_signature
from tests.e2e.channels.sms_twilio.golden import ACCOUNT_SID, TWILIO_NUMBER, body, form

TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PUBLIC = "https://support.example.com/webhooks/acct-1"  # what Twilio calls (the account's webhook_url)
INTERNAL = "http://10.0.0.7:8000/webhooks/acct-1"  # what the app sees behind the proxy


@pytest.fixture
async def adapter() -> AsyncIterator[TwilioSmsAdapter]:
    async with httpx.AsyncClient() as http:
        config = AccountConfig(
            id="acct-1",
            channel="sms_twilio",
            name="Support SMS",
            settings={"account_sid": ACCOUNT_SID, "from_number": TWILIO_NUMBER},
            secrets={"auth_token": TOKEN},
            webhook_url=PUBLIC,
        )
        yield TwilioSmsAdapter(AdapterContext(config=config, http=http, clock=ManualClock()))


def request(raw: str, signature: str | None, *, url: str = INTERNAL, method: str = "POST") -> WebhookRequest:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["x-twilio-signature"] = signature
    return WebhookRequest(method=method, url=url, headers=headers, query={}, body=raw.encode())


def test_the_channel_is_discoverable() -> None:
    assert SPEC.channel == "sms_twilio"
    assert SPEC.required_settings == ("account_sid",)
    assert SPEC.required_secrets == ("auth_token",)


async def test_signed_over_the_configured_url_even_behind_a_proxy(adapter: TwilioSmsAdapter) -> None:
    raw = body("inbound_sms.txt")
    result = await adapter.handle_webhook(
        request(raw, compute_signature(TOKEN, PUBLIC, form("inbound_sms.txt")))
    )
    assert result.response_body == EMPTY_TWIML
    assert result.response_type == "text/xml"
    assert result.status == 200
    [message] = result.items
    assert isinstance(message, InboundMessage)
    # A signature over the URL the app happens to see is not what Twilio sends, so it is refused.
    internal = compute_signature(TOKEN, INTERNAL, form("inbound_sms.txt"))
    with pytest.raises(SignatureError) as refused:
        await adapter.handle_webhook(request(raw, internal))
    assert refused.value.status == 403


async def test_a_query_string_twilio_called_is_part_of_what_it_signed(adapter: TwilioSmsAdapter) -> None:
    raw = body("inbound_sms.txt")
    signature = compute_signature(TOKEN, f"{PUBLIC}?source=twilio", form("inbound_sms.txt"))
    result = await adapter.handle_webhook(request(raw, signature, url=f"{INTERNAL}?source=twilio"))
    assert len(result.items) == 1


async def test_refusals(adapter: TwilioSmsAdapter) -> None:
    raw = body("inbound_sms.txt")
    good = compute_signature(TOKEN, PUBLIC, form("inbound_sms.txt"))
    with pytest.raises(SignatureError, match="missing") as missing:
        await adapter.handle_webhook(request(raw, None))
    assert missing.value.status == 401
    with pytest.raises(SignatureError, match="does not match") as tampered:
        await adapter.handle_webhook(request(raw.replace("arrived", "ARRIVED"), good))
    assert tampered.value.status == 403
    rule = request(raw, good)
    rule = WebhookRequest(
        rule.method,
        rule.url,
        {**rule.headers, "x-twilio-webhooks-signature-settings": "key=KS1,algorithm=HMAC_SHA256"},
        rule.query,
        rule.body,
    )
    with pytest.raises(SignatureError, match="Webhooks Rule"):
        await adapter.handle_webhook(rule)
    with pytest.raises(MalformedPayload, match="HTTP POST"):
        await adapter.handle_webhook(request("", good, method="GET"))


async def test_bad_content_is_refused_only_after_the_signature_holds(adapter: TwilioSmsAdapter) -> None:
    pairs = [(k, v) for k, v in form("inbound_sms.txt") if k != "From"]
    raw = urlencode(pairs)
    with pytest.raises(SignatureError):
        await adapter.handle_webhook(request(raw, "bm90IGEgc2lnbmF0dXJl"))
    with pytest.raises(MalformedPayload, match="needs From"):
        await adapter.handle_webhook(request(raw, compute_signature(TOKEN, PUBLIC, pairs)))
    not_utf8 = "Body=%FF&MessageSid=SM1"
    signature = compute_signature(TOKEN, PUBLIC, [("Body", "\ufffd"), ("MessageSid", "SM1")])
    with pytest.raises(MalformedPayload, match="not UTF-8"):
        await adapter.handle_webhook(request(not_utf8, signature))
