"""Locations on Telegram both ways: a pin or a venue in (golden updates), our place out as
``sendVenue`` (named) or ``sendLocation`` (bare) after the text, with the buttons under the last
part, against the Bot API double."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.channels.port import InboundMessage, Outbound, QuickReply
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.telegram import SPEC
from omniroute.channels.telegram.adapter import TelegramAdapter
from omniroute.channels.telegram.double import BOT_TOKEN, TelegramDouble
from omniroute.channels.telegram.updates import parse
from omniroute.conversations.model import Location
from omniroute.core.clock import ManualClock

FIXTURES = Path(__file__).parents[3] / "e2e" / "channels" / "telegram" / "fixtures"
CHAT = 5120843977
STORE = Location(40.4169, -3.7035, "Acme Store Sol", "Calle Mayor 1, 28013 Madrid")


def message_of(name: str) -> InboundMessage:
    [item] = parse((FIXTURES / name).read_bytes()).items
    assert isinstance(item, InboundMessage)
    return item


def test_a_venue_arrives_named_and_a_pin_bare() -> None:
    venue = message_of("update_venue.json")
    assert venue.location == Location(
        40.416959, -3.703444, "Puerta del Sol", "Plaza de la Puerta del Sol, 28013 Madrid"
    )
    assert venue.text == "[venue: Puerta del Sol, Plaza de la Puerta del Sol, 28013 Madrid]"
    assert message_of("update_location.json").location == Location(40.416775, -3.70379)


@pytest.fixture
async def rig() -> AsyncIterator[tuple[TelegramAdapter, TelegramDouble]]:
    clock = ManualClock()
    double = TelegramDouble(now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app)) as http:
        config = AccountConfig(
            id="acc-1",
            channel="telegram",
            name="Acme",
            settings={"api_base": "http://telegram.test"},
            secrets={"bot_token": BOT_TOKEN, "secret_token": "s3cret"},
            webhook_url="https://omniroute.test/webhooks/acc-1",
        )
        adapter = SPEC.factory(AdapterContext(config=config, http=http, clock=clock))
        assert isinstance(adapter, TelegramAdapter)
        yield adapter, double


def outbound(text: str = "", **fields: Any) -> Outbound:
    return Outbound("out-1", "conv-1", str(CHAT), text, **fields)


async def test_a_named_place_is_a_venue_after_the_text_with_the_buttons_under_it(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    sent = await adapter.send(outbound("Our store:", location=STORE, quick_replies=(QuickReply("ok", "OK"),)))
    assert [c["method"] for c in double.calls] == ["sendMessage", "sendVenue"]
    text, venue = double.calls
    assert "reply_markup" not in text
    assert venue == {
        "method": "sendVenue",
        "chat_id": CHAT,
        "latitude": 40.4169,
        "longitude": -3.7035,
        "title": "Acme Store Sol",
        "address": "Calle Mayor 1, 28013 Madrid",
        "reply_markup": {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]},
    }
    assert sent.provider_message_id == f"{CHAT}:58"  # the venue: the last part


async def test_a_bare_pin_is_a_location_and_a_half_named_one_a_venue_over_its_coordinates(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    await adapter.send(outbound(location=Location(40.4169, -3.7035)))
    await adapter.send(outbound(location=Location(40.4169, -3.7035, name="Acme Store Sol")))
    pin, named = double.calls
    assert pin == {"method": "sendLocation", "chat_id": CHAT, "latitude": 40.4169, "longitude": -3.7035}
    assert (named["method"], named["title"], named["address"]) == (
        "sendVenue",
        "Acme Store Sol",
        "40.4169, -3.7035",
    )


async def test_the_double_answers_as_the_bot_api_and_refuses_bad_places(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    _, double = rig
    base = f"http://telegram.test/bot{BOT_TOKEN}"
    golden = json.loads((FIXTURES / "send_venue_response.json").read_text())["result"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app)) as http:
        venue = {**STORE.as_dict(), "title": STORE.name, "chat_id": CHAT}
        del venue["name"]
        answer = (await http.post(f"{base}/sendVenue", json=venue)).json()
        assert answer["ok"] is True
        assert answer["result"]["venue"] == golden["venue"]
        assert answer["result"]["location"] == golden["location"]
        for method, params in (
            ("sendLocation", {"chat_id": CHAT, "latitude": 91, "longitude": 0}),
            ("sendLocation", {"chat_id": CHAT, "latitude": "north", "longitude": 0}),
            ("sendVenue", {"chat_id": CHAT, "latitude": 1, "longitude": 2, "title": "", "address": "x"}),
        ):
            refused = await http.post(f"{base}/{method}", json=params)
            assert refused.status_code == 400
            assert refused.json()["ok"] is False
