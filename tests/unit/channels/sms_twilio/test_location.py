"""Locations through Twilio: a WhatsApp location webhook (golden form: ``Latitude``,
``Longitude``, ``Label``, ``Address``) arrives structured; our place goes out as a line and an
OpenStreetMap link, without the pin emoji (GSM-7 keeps an SMS at 160 characters a segment)."""

from __future__ import annotations

from omniroute.channels.port import InboundMessage, Outbound
from omniroute.channels.sms_twilio.inbound import read
from omniroute.channels.sms_twilio.outbound import Sender, message_form
from omniroute.conversations.model import Location
from tests.e2e.channels.sms_twilio.golden import ACCOUNT_SID, CUSTOMER, TWILIO_NUMBER, form

STORE = Location(40.4169, -3.7035, "Acme Store Sol", "Calle Mayor 1, 28013 Madrid")
LINK = "https://www.openstreetmap.org/?mlat=40.4169&mlon=-3.7035#map=16/40.4169/-3.7035"


def test_a_whatsapp_location_through_twilio_arrives_named() -> None:
    [message] = read(form("inbound_whatsapp_location.txt"), ACCOUNT_SID)
    assert isinstance(message, InboundMessage)
    assert message.sender_address == "whatsapp:+16505551234"
    assert message.text == ""
    assert message.location == Location(
        37.483872, -122.148433, "Meta Headquarters", "1 Hacker Way, Menlo Park, CA 94025"
    )


def test_our_place_is_a_plain_line_and_a_link_in_the_body() -> None:
    fields = message_form(
        Outbound("o-1", "c-1", CUSTOMER, "Our store:", location=STORE),
        Sender(from_number=TWILIO_NUMBER, messaging_service_sid=None),
        "https://omniroute.example.com/webhooks/a",
    )
    body = dict(fields)["Body"]
    assert body == f"Our store:\nAcme Store Sol, Calle Mayor 1, 28013 Madrid (40.4169, -3.7035)\n{LINK}"
    assert "📍" not in body
    alone = dict(
        message_form(
            Outbound("o-1", "c-1", CUSTOMER, "", location=Location(40.4169, -3.7035)),
            Sender(from_number=TWILIO_NUMBER, messaging_service_sid=None),
            "https://omniroute.example.com/webhooks/a",
        )
    )
    assert alone["Body"] == f"40.4169, -3.7035\n{LINK}"
