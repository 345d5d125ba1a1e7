"""Locations on the custom channel: a message event's ``location`` arrives structured (checked
like an agent's: bad values answer 400 with the reason); our reply carries the place structured,
with a ready-made ``map_url``, to the service's signed webhook."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from omniroute.channels.custom import SPEC
from omniroute.channels.custom.double import CustomChannelDouble
from omniroute.channels.port import InboundMessage, MalformedPayload, Outbound, WebhookRequest
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.conversations.model import Location
from omniroute.core.clock import ManualClock

INBOUND, OUTBOUND = "in-secret", "out-secret"
STORE = Location(40.4169, -3.7035, "Acme Store Sol", "Calle Mayor 1, 28013 Madrid")
CONFIG = AccountConfig(
    "acc-1",
    "custom",
    "Acme",
    {"outbound_url": "http://service.test/omniroute"},
    {"inbound_secret": INBOUND, "outbound_secret": OUTBOUND},
    "https://omniroute.test/webhooks/acc-1",
)


async def received(event: dict[str, Any]) -> list[Any]:
    clock = ManualClock()
    double = CustomChannelDouble(INBOUND, OUTBOUND, clock.now)
    async with httpx.AsyncClient() as http:
        adapter = SPEC.factory(AdapterContext(config=CONFIG, http=http, clock=clock))
        body = json.dumps(event).encode()
        headers = {"omniroute-signature": double.sign(body)}
        result = await adapter.handle_webhook(WebhookRequest("POST", CONFIG.webhook_url, headers, {}, body))
    return list(result.items)


async def test_a_message_may_share_a_place() -> None:
    place = {"latitude": 40.4169, "longitude": -3.7035, "name": "Acme Store Sol", "address": "Calle Mayor 1"}
    [message] = await received(CustomChannelDouble.message("e-1", "user-7", "", location=place))
    assert isinstance(message, InboundMessage)
    assert message.location == Location(40.4169, -3.7035, "Acme Store Sol", "Calle Mayor 1")
    [bare] = await received(
        CustomChannelDouble.message("e-2", "user-7", "Here", location={"latitude": 0, "longitude": 0})
    )
    assert bare.location == Location(0.0, 0.0)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ({"latitude": 91, "longitude": 0}, "latitude must be between -90 and 90"),
        ({"latitude": 1, "longitude": "2"}, "longitude must be a number"),
        ({"latitude": 1, "longitude": 2, "name": "x" * 201}, "name is longer than 200 characters"),
        ([1, 2], "'location' must be an object"),
    ],
)
async def test_a_bad_place_is_refused_with_the_reason(location: Any, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        await received(CustomChannelDouble.message("e-1", "user-7", "", location=location))


async def test_our_reply_carries_the_place_structured() -> None:
    clock = ManualClock()
    double = CustomChannelDouble(INBOUND, OUTBOUND, clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        adapter = SPEC.factory(AdapterContext(config=CONFIG, http=http, clock=clock))
        await adapter.send(Outbound("o-1", "conv-1", "user-7", "", location=STORE))
        await adapter.send(Outbound("o-2", "conv-1", "user-7", "No place"))
    with_place, without = double.sent_to("user-7")
    assert with_place["text"] == ""
    assert with_place["location"] == {
        "latitude": 40.4169,
        "longitude": -3.7035,
        "name": "Acme Store Sol",
        "address": "Calle Mayor 1, 28013 Madrid",
        "map_url": "https://www.openstreetmap.org/?mlat=40.4169&mlon=-3.7035#map=16/40.4169/-3.7035",
    }
    assert without["location"] is None
