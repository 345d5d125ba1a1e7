"""The Messenger adapter against the Graph double: what it sent resolves watermark receipts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.channels.messenger.adapter import MessengerAdapter
from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.meta_common.signature import HEADER, sign
from omniroute.channels.port import DeliveryStatus, Outbound, StatusUpdate, WebhookRequest
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.core.clock import ManualClock

FIXTURES = Path(__file__).resolve().parents[3] / "e2e" / "channels" / "messenger" / "fixtures"
PSID = "6789012345678901"
SECRETS = {"app_secret": "app-secret", "verify_token": "verify", "access_token": "page-token"}


@pytest.fixture
async def adapter() -> AsyncIterator[tuple[MessengerAdapter, GraphDouble, ManualClock]]:
    clock = ManualClock()
    double = GraphDouble(access_token="page-token", app_secret="app-secret", now=clock.now)
    double.customer_wrote(PSID)
    config = AccountConfig(
        id="acc-1",
        channel="messenger",
        name="Page",
        settings={"page_id": "682498302938465", "graph_base": "http://graph.test"},
        secrets=SECRETS,
        webhook_url="http://omniroute.test/webhooks/acc-1",
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        yield MessengerAdapter(AdapterContext(config=config, http=http, clock=clock)), double, clock


def webhook(name: str, mutate: Any = None) -> WebhookRequest:
    document = json.loads((FIXTURES / name).read_text())
    if mutate is not None:
        mutate(document["entry"][0]["messaging"][0])
    body = json.dumps(document).encode()
    return WebhookRequest(
        "POST", "http://omniroute.test/webhooks/acc-1", {HEADER: sign("app-secret", body)}, {}, body
    )


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def send(adapter: MessengerAdapter, text: str) -> str:
    sent = await adapter.send(Outbound("o", "c", PSID, text))
    return sent.provider_message_id


async def test_watermarks_resolve_to_the_messages_sent_before_them(
    adapter: tuple[MessengerAdapter, GraphDouble, ManualClock],
) -> None:
    messenger, _, clock = adapter
    first = await send(messenger, "one")
    await clock.advance(10)
    second = await send(messenger, "two")
    until_first = clock.now() - timedelta(seconds=5)

    def delivered_up_to_first(event: dict[str, Any]) -> None:
        event["delivery"] = {"watermark": millis(until_first)}  # an old client: no mids

    result = await messenger.handle_webhook(webhook("delivery_watermark_only.json", delivered_up_to_first))
    assert list(result.items) == [StatusUpdate(first, DeliveryStatus.DELIVERED)]

    def read_all(event: dict[str, Any]) -> None:
        event["read"] = {"watermark": millis(clock.now())}

    result = await messenger.handle_webhook(webhook("read.json", read_all))
    assert list(result.items) == [
        StatusUpdate(first, DeliveryStatus.READ),
        StatusUpdate(second, DeliveryStatus.READ),
    ]
    assert list((await messenger.handle_webhook(webhook("read.json", read_all))).items) == []


async def test_an_echo_puts_the_message_on_metas_clock(
    adapter: tuple[MessengerAdapter, GraphDouble, ManualClock],
) -> None:
    messenger, _, clock = adapter
    await clock.advance(60)
    mid = await send(messenger, "one")  # our clock says 09:01:00
    metas_time = clock.now() - timedelta(seconds=2)

    def echo_of_ours(event: dict[str, Any]) -> None:
        event["timestamp"] = millis(metas_time)
        event["message"]["mid"] = mid

    assert list((await messenger.handle_webhook(webhook("echo.json", echo_of_ours))).items) == []

    def read_up_to_metas_time(event: dict[str, Any]) -> None:
        event["read"] = {"watermark": millis(metas_time)}

    result = await messenger.handle_webhook(webhook("read.json", read_up_to_metas_time))
    assert list(result.items) == [StatusUpdate(mid, DeliveryStatus.READ)]
