"""Locations on WhatsApp both ways: the Cloud API's ``location`` message in (golden fixture), our
place out as ``type: location`` (or, beside text, files or buttons, a line with a map link), and
the Graph double holding the Cloud API's rules for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.port import Attachment, InboundMessage, MalformedPayload, Outbound, QuickReply
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.whatsapp.adapter import WhatsAppAdapter
from omniroute.channels.whatsapp.inbound import parse
from omniroute.channels.whatsapp.outbound import build
from omniroute.conversations.model import Location
from omniroute.core.clock import ManualClock

FIXTURES = Path(__file__).resolve().parents[3] / "e2e" / "channels" / "whatsapp" / "fixtures"
NUMBER = "106540352242922"
CUSTOMER = "16505551234"
HQ = Location(37.483872693672, -122.14843308439, "Meta Headquarters", "1 Hacker Way, Menlo Park, CA 94025")
LINK = "https://www.openstreetmap.org/?mlat=37.483873&mlon=-122.148433#map=16/37.483873/-122.148433"


def location_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "location_message.json").read_text())
    return document


def place_in(document: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = document["entry"][0]["changes"][0]["value"]["messages"][0]["location"]
    return body


def received(document: dict[str, Any]) -> InboundMessage:
    [item] = parse(document, phone_number_id=NUMBER, media_url=lambda media_id: media_id)
    assert isinstance(item, InboundMessage)
    return item


def test_a_shared_place_arrives_structured_with_its_readable_text() -> None:
    message = received(location_document())
    assert message.location == HQ
    assert message.text == "Meta Headquarters — 1 Hacker Way, Menlo Park, CA 94025"


def test_a_bare_pin_has_no_name_and_bad_coordinates_are_refused() -> None:
    document = location_document()
    place = place_in(document)
    del place["name"], place["address"]
    pin = received(document)
    assert pin.location == Location(37.483872693672, -122.14843308439)
    assert pin.text == ""
    place["latitude"] = 123.4
    with pytest.raises(MalformedPayload, match=r"messages\[0\]\.location: latitude must be between"):
        received(document)


def outbound(text: str = "", **fields: Any) -> Outbound:
    return Outbound("o-1", "c-1", CUSTOMER, text, **fields)


def test_a_place_alone_is_a_location_message() -> None:
    assert build(outbound(location=HQ)) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "location",
        "location": {
            "latitude": 37.483872693672,
            "longitude": -122.14843308439,
            "name": "Meta Headquarters",
            "address": "1 Hacker Way, Menlo Park, CA 94025",
        },
    }
    bare = build(outbound(location=Location(40.4, -3.7)))
    assert bare["location"] == {"latitude": 40.4, "longitude": -3.7}


def test_a_place_beside_text_files_or_buttons_becomes_a_map_link() -> None:
    line = "📍 Meta Headquarters, 1 Hacker Way, Menlo Park, CA 94025 (37.483873, -122.148433)"
    with_text = build(outbound("Our office:", location=HQ))
    assert with_text["type"] == "text"
    assert with_text["text"] == {"body": f"Our office:\n{line}\n{LINK}", "preview_url": True}
    photo = Attachment("https://files.example.com/door.jpg", "image/jpeg")
    with_photo = build(outbound(location=HQ, attachments=(photo,)))
    assert with_photo["type"] == "image"
    assert with_photo["image"]["caption"] == f"{line}\n{LINK}"
    buttons = build(outbound("Come by?", location=HQ, quick_replies=(QuickReply("ok", "OK"),)))
    assert buttons["type"] == "interactive"
    assert LINK in buttons["interactive"]["body"]["text"]


@pytest.fixture
async def adapter() -> AsyncIterator[tuple[WhatsAppAdapter, GraphDouble]]:
    clock = ManualClock()
    double = GraphDouble(access_token="wa-token", app_secret="app-secret", now=clock.now)
    double.customer_wrote(CUSTOMER)
    config = AccountConfig(
        id="acc-1",
        channel="whatsapp",
        name="Acme",
        settings={"phone_number_id": NUMBER, "graph_base": "http://graph.test", "api_version": "v21.0"},
        secrets={"app_secret": "app-secret", "verify_token": "verify", "access_token": "wa-token"},
        webhook_url="http://omniroute.test/webhooks/acc-1",
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        yield WhatsAppAdapter(AdapterContext(config=config, http=http, clock=clock)), double


async def test_the_graph_double_takes_and_records_a_location_and_refuses_a_bad_one(
    adapter: tuple[WhatsAppAdapter, GraphDouble],
) -> None:
    whatsapp, double = adapter
    sent = await whatsapp.send(outbound(location=HQ))
    assert double.accepted[sent.provider_message_id]["location"]["name"] == "Meta Headquarters"
    base = "http://graph.test/v21.0/106540352242922/messages"
    headers = {"Authorization": "Bearer wa-token"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        for bad in (
            {"latitude": 91, "longitude": 0},
            {"latitude": 1},
            {"latitude": 1, "longitude": 2, "name": 5},
        ):
            body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "location", "location": bad}
            refused = await http.post(base, json=body, headers=headers)
            assert refused.status_code == 400
            assert refused.json()["error"]["code"] == 100
