"""Locations on Messenger: a legacy ``location`` attachment in (golden fixture) keeps its place and
title; our place out is a line with an OpenStreetMap link (the Send API has no location message)."""

from __future__ import annotations

import json
from pathlib import Path

from omniroute.channels.codec import as_text
from omniroute.channels.messenger.inbound import parse
from omniroute.channels.messenger.outbound import build
from omniroute.channels.port import Attachment, InboundMessage, Outbound
from omniroute.conversations.model import Location

FIXTURES = Path(__file__).resolve().parents[3] / "e2e" / "channels" / "messenger" / "fixtures"
PAGE = "682498302938465"
PSID = "6789012345678901"
STORE = Location(40.4169, -3.7035, "Acme Store Sol", "Calle Mayor 1, 28013 Madrid")
LINK = "https://www.openstreetmap.org/?mlat=40.4169&mlon=-3.7035#map=16/40.4169/-3.7035"
LINE = "📍 Acme Store Sol, Calle Mayor 1, 28013 Madrid (40.4169, -3.7035)"


def test_a_legacy_location_arrives_structured_with_its_title() -> None:
    [message] = parse(json.loads((FIXTURES / "location.json").read_text()), page_id=PAGE).items
    assert isinstance(message, InboundMessage)
    assert message.location == Location(40.4168, -3.7038, "Kerry's Location")
    assert message.text == ""
    assert as_text(message) == "[location: 40.416800, -3.703800]"  # what the transcript keeps


def test_our_place_is_a_line_and_a_link() -> None:
    alone = build(Outbound("o-1", "c-1", PSID, "", location=STORE))
    assert alone["message"] == {"text": f"{LINE}\n{LINK}"}
    said = build(Outbound("o-1", "c-1", PSID, "Come by:", location=STORE))
    assert said["message"] == {"text": f"Come by:\n{LINE}\n{LINK}"}
    # A file beside a place cannot go as a native attachment: both become text.
    photo = Attachment("https://files.example.com/door.jpg", "image/jpeg", "door.jpg")
    with_file = build(Outbound("o-1", "c-1", PSID, "", attachments=(photo,), location=STORE))
    assert with_file["message"] == {"text": f"{LINE}\n{LINK}\ndoor.jpg: https://files.example.com/door.jpg"}
