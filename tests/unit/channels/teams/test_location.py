"""Locations on Teams: a ``GeoCoordinates`` entity in keeps its name; our place out is a line with
an OpenStreetMap link in the activity's text (a bot cannot post Teams' own location card)."""

from __future__ import annotations

import json
from pathlib import Path

from omniroute.channels.port import InboundMessage, Outbound
from omniroute.channels.teams.activities import parse
from omniroute.channels.teams.connector import build_activity
from omniroute.conversations.model import Location

FIXTURES = Path(__file__).parents[3] / "e2e" / "channels" / "teams" / "fixtures"
STORE = Location(40.4169, -3.7035, "Acme Store Sol", "Calle Mayor 1, 28013 Madrid")
LINK = "https://www.openstreetmap.org/?mlat=40.4169&mlon=-3.7035#map=16/40.4169/-3.7035"


def test_a_geo_entity_arrives_with_its_name() -> None:
    activity = json.loads((FIXTURES / "activity_message_personal.json").read_text())
    activity["entities"] = [
        *activity.get("entities", []),
        {"type": "GeoCoordinates", "latitude": 40.4168, "longitude": -3.7038, "name": "Madrid office"},
    ]
    [message] = [i for i in parse(activity) if isinstance(i, InboundMessage)]
    assert message.location == Location(40.4168, -3.7038, "Madrid office")


def test_our_place_is_a_line_and_a_link_in_plain_text() -> None:
    activity = build_activity(Outbound("o-1", "c-1", "a:chat", "Our store:", location=STORE), None)
    assert activity["textFormat"] == "plain"
    assert activity["text"] == (
        f"Our store:\n📍 Acme Store Sol, Calle Mayor 1, 28013 Madrid (40.4169, -3.7035)\n{LINK}"
    )
