"""The WhatsApp adapter against the Graph double: what it sends is what the Cloud API accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest

from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.port import Attachment, Outbound, PermanentSendError, QuickReply
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.whatsapp.adapter import WhatsAppAdapter
from omniroute.core.clock import ManualClock

CUSTOMER = "16505551234"


@pytest.fixture
async def adapter() -> AsyncIterator[tuple[WhatsAppAdapter, GraphDouble, ManualClock]]:
    clock = ManualClock()
    double = GraphDouble(access_token="wa-token", app_secret="app-secret", now=clock.now)
    double.customer_wrote(CUSTOMER)
    config = AccountConfig(
        id="acc-1",
        channel="whatsapp",
        name="Acme",
        settings={
            "phone_number_id": "106540352242922",
            "graph_base": "http://graph.test",
            "api_version": "v21.0",
        },
        secrets={"app_secret": "app-secret", "verify_token": "verify", "access_token": "wa-token"},
        webhook_url="http://omniroute.test/webhooks/acc-1",
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        yield WhatsAppAdapter(AdapterContext(config=config, http=http, clock=clock)), double, clock


async def test_buttons_lists_and_media_are_accepted_by_the_cloud_api_shape(
    adapter: tuple[WhatsAppAdapter, GraphDouble, ManualClock],
) -> None:
    whatsapp, double, _ = adapter
    buttons = (QuickReply("yes", "Yes"), QuickReply("no", "No"))
    rows = tuple(QuickReply(f"r{i}", f"Row number {i}") for i in range(7))
    photo = (Attachment("https://files.example.com/p.jpg", "image/jpeg"),)
    for message in (
        Outbound("o1", "c", CUSTOMER, "Resolved?", quick_replies=buttons),
        Outbound("o2", "c", CUSTOMER, "Pick one", quick_replies=rows),
        Outbound("o3", "c", CUSTOMER, "Your label", attachments=photo),
    ):
        sent = await whatsapp.send(message)
        assert sent.provider_message_id.startswith("wamid.")
    assert [r.body["type"] for r in double.requests] == ["interactive", "interactive", "image"]
    assert {r.version for r in double.requests} == {"v21.0"}


@dataclass(frozen=True)
class OutboundWithWindow(Outbound):
    """The field proposed for the framework's Outbound (the customer's last message time)."""

    customer_last_message_at: datetime | None = None


async def test_a_known_closed_window_fails_before_calling_meta(
    adapter: tuple[WhatsAppAdapter, GraphDouble, ManualClock],
) -> None:
    whatsapp, double, clock = adapter
    stale = OutboundWithWindow(
        "o", "c", CUSTOMER, "Hi", customer_last_message_at=clock.now() - timedelta(hours=30)
    )
    with pytest.raises(PermanentSendError, match="24-hour customer-service window"):
        await whatsapp.send(stale)
    assert double.requests == []
    fresh = OutboundWithWindow(
        "o", "c", CUSTOMER, "Hi", customer_last_message_at=clock.now() - timedelta(hours=1)
    )
    assert (await whatsapp.send(fresh)).provider_message_id


async def test_a_bad_token_is_permanent_and_says_so(
    adapter: tuple[WhatsAppAdapter, GraphDouble, ManualClock],
) -> None:
    whatsapp, double, _ = adapter
    double.access_token = "rotated"
    with pytest.raises(PermanentSendError, match="update the account's access_token"):
        await whatsapp.send(Outbound("o", "c", CUSTOMER, "Hi"))
