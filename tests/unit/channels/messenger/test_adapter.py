"""The Messenger adapter against the Graph double: watermark receipts and echoes become items."""

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
from omniroute.channels.port import (
    Attachment,
    DeliveryStatus,
    InboundMessage,
    MediaFetchFailed,
    MediaTooLarge,
    Outbound,
    ReceiptWatermark,
    SentTimestamp,
    WebhookRequest,
)
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


async def test_watermarks_pass_through_for_the_outbox_to_resolve(
    adapter: tuple[MessengerAdapter, GraphDouble, ManualClock],
) -> None:
    """The adapter keeps no memory of what it sent: a watermark goes to the channel service,
    which resolves it against the stored outbox (tests/integration/channels/
    test_watermarks_across_nodes.py), whichever node sent the messages."""
    messenger, _, clock = adapter
    await send(messenger, "one")
    up_to = clock.now() - timedelta(seconds=5)

    def delivered_up_to(event: dict[str, Any]) -> None:
        event["delivery"] = {"watermark": millis(up_to)}  # an old client: no mids

    result = await messenger.handle_webhook(webhook("delivery_watermark_only.json", delivered_up_to))
    assert list(result.items) == [ReceiptWatermark(PSID, DeliveryStatus.DELIVERED, up_to)]

    def read_all(event: dict[str, Any]) -> None:
        event["read"] = {"watermark": millis(clock.now())}

    result = await messenger.handle_webhook(webhook("read.json", read_all))
    assert list(result.items) == [ReceiptWatermark(PSID, DeliveryStatus.READ, clock.now())]


async def test_an_echo_reports_metas_time_for_the_message(
    adapter: tuple[MessengerAdapter, GraphDouble, ManualClock],
) -> None:
    messenger, _, clock = adapter
    await clock.advance(60)
    mid = await send(messenger, "one")
    metas_time = clock.now() - timedelta(seconds=2)

    def echo_of_ours(event: dict[str, Any]) -> None:
        event["timestamp"] = millis(metas_time)
        event["message"]["mid"] = mid

    result = await messenger.handle_webhook(webhook("echo.json", echo_of_ours))
    assert list(result.items) == [SentTimestamp(mid, metas_time)]


# -- files ----------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def messenger_at(clock: ManualClock, http: httpx.AsyncClient, **settings: Any) -> MessengerAdapter:
    config = AccountConfig(
        id="acc-2",
        channel="messenger",
        name="Page",
        settings={"page_id": "682498302938465", "graph_base": "http://graph.test", **settings},
        secrets=SECRETS,
        webhook_url="http://omniroute.test/webhooks/acc-2",
    )
    return MessengerAdapter(AdapterContext(config=config, http=http, clock=clock))


async def test_customer_files_are_fetched_from_the_cdn_link_in_the_webhook(
    adapter: tuple[MessengerAdapter, GraphDouble, ManualClock],
) -> None:
    messenger, double, _ = adapter
    url = double.add_messenger_media("http://graph.test", "471234567_box.jpg", "image/png", PNG)
    result = await messenger.handle_webhook(
        webhook("attachments.json", lambda e: e["message"]["attachments"][0]["payload"].update(url=url))
    )
    [message] = result.items
    assert isinstance(message, InboundMessage)
    image, _ = message.attachments
    got = await messenger.fetch_media(image, 10_000)
    assert (got.data, got.content_type, got.filename) == (PNG, "image/png", "471234567_box.jpg")
    tampered = Attachment(url.replace("oh=00_", "oh=01_"), "image/*")
    with pytest.raises(MediaFetchFailed, match="HTTP 403"):
        await messenger.fetch_media(tampered, 10_000)
    with pytest.raises(MediaTooLarge):
        await messenger.fetch_media(image, 10)


async def test_links_off_the_graph_base_must_pass_the_media_guard(
    adapter: tuple[MessengerAdapter, GraphDouble, ManualClock],
) -> None:
    messenger, double, clock = adapter
    url = double.add_messenger_media("http://10.1.2.3", "doc.pdf", "application/pdf", b"%PDF-1.7")
    with pytest.raises(MediaFetchFailed, match="private address") as refused:
        await messenger.fetch_media(Attachment(url, "application/octet-stream"), 10_000)
    assert refused.value.transient is False
    assert double.media_requests == []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        opted_in = messenger_at(clock, http, allow_private_media_hosts=True)
        got = await opted_in.fetch_media(Attachment(url, "application/octet-stream"), 10_000)
    assert (got.data, got.content_type, got.filename) == (b"%PDF-1.7", "application/pdf", "doc.pdf")


async def test_one_file_goes_out_as_an_attachment_message_the_double_accepts(
    adapter: tuple[MessengerAdapter, GraphDouble, ManualClock],
) -> None:
    messenger, double, _ = adapter
    link = "https://omniroute.test/files/att-1?exp=1767700000&sig=abc"
    sent = await messenger.send(
        Outbound("o", "c", PSID, "", attachments=(Attachment(link, "video/mp4", "clip.mp4"),))
    )
    assert double.accepted[sent.provider_message_id]["message"] == {
        "attachment": {"type": "video", "payload": {"url": link, "is_reusable": False}}
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        for attachment, problem in (
            ({"type": "gif", "payload": {"url": link}}, "must be one of"),
            ({"type": "image", "payload": {"url": "ftp://x"}}, "valid URL"),
            ({"type": "image", "payload": {"url": link, "is_reusable": "no"}}, "is_reusable"),
        ):
            body = {
                "recipient": {"id": PSID},
                "messaging_type": "RESPONSE",
                "message": {"attachment": attachment},
            }
            answer = await http.post(
                "http://graph.test/v23.0/682498302938465/messages",
                json=body,
                headers={"authorization": "Bearer page-token"},
            )
            assert answer.status_code == 400
            assert problem in answer.json()["error"]["message"]
