"""Twilio's webhook forms (golden fixtures) to our inbound items."""

from __future__ import annotations

import pytest

from omniroute.channels.port import Attachment, DeliveryStatus, InboundMessage, MalformedPayload, StatusUpdate
from omniroute.channels.sms_twilio.inbound import form_pairs, read
from omniroute.conversations.model import Location
from tests.e2e.channels.sms_twilio.golden import ACCOUNT_SID, CUSTOMER, TWILIO_NUMBER, body, form

OUR_SID = "SM4c6e8a0b2d4f6a8c1e3b5d7f9a0c2e4b"  # the message the status fixtures report on


def only_message(pairs: list[tuple[str, str]]) -> InboundMessage:
    items = read(pairs, ACCOUNT_SID)
    assert len(items) == 1
    assert isinstance(items[0], InboundMessage)
    return items[0]


def test_sms() -> None:
    message = only_message(form("inbound_sms.txt"))
    assert message.provider_message_id == "SM7a1c3e5b9d2f4a6c8e0b1d3f5a7c9e1b"
    assert message.sender_address == CUSTOMER
    assert message.text == "Hi, my order #4521 has not arrived"
    assert message.sender_name is None  # SMS carries no name
    assert message.attachments == ()
    assert message.location is None
    assert message.extra["To"] == TWILIO_NUMBER
    assert message.extra["FromCity"] == "SAN FRANCISCO"


def test_mms_media_become_attachments() -> None:
    message = only_message(form("inbound_mms.txt"))
    assert message.provider_message_id.startswith("MM")
    assert message.text == "Here is the damaged box"
    assert [a.content_type for a in message.attachments] == ["image/jpeg", "image/png"]
    assert all(
        a.url.startswith(f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/")
        for a in message.attachments
    )
    blank = only_message(form("inbound_mms_no_text.txt"))
    assert blank.text == ""
    assert len(blank.attachments) == 1


def test_status_callbacks_become_receipts() -> None:
    assert read(form("status_sent.txt"), ACCOUNT_SID) == [StatusUpdate(OUR_SID, DeliveryStatus.SENT)]
    assert read(form("status_delivered.txt"), ACCOUNT_SID) == [
        StatusUpdate(OUR_SID, DeliveryStatus.DELIVERED)
    ]
    [failed] = read(form("status_undelivered.txt"), ACCOUNT_SID)
    assert failed == StatusUpdate(
        OUR_SID,
        DeliveryStatus.FAILED,
        "Twilio error 30003: the customer's handset is unreachable",
    )


def test_statuses_before_sent_and_unknown_ones_are_acknowledged_without_items() -> None:
    assert read(form("status_queued_messaging_service.txt"), ACCOUNT_SID) == []
    future = [
        (k, "teleported" if k in ("MessageStatus", "SmsStatus") else v) for k, v in form("status_sent.txt")
    ]
    assert read(future, ACCOUNT_SID) == []


def test_failed_without_error_code_still_says_why() -> None:
    pairs = [(k, "failed" if k in ("MessageStatus", "SmsStatus") else v) for k, v in form("status_sent.txt")]
    assert read(pairs, ACCOUNT_SID) == [
        StatusUpdate(OUR_SID, DeliveryStatus.FAILED, "Twilio reported the message failed")
    ]


def test_whatsapp_fields_through_twilio_map_too() -> None:
    pairs = [
        *form("inbound_sms.txt"),
        ("ProfileName", "Lee"),
        ("Latitude", "37.7749"),
        ("Longitude", "-122.4194"),
        ("OriginalRepliedMessageSid", OUR_SID),
    ]
    message = only_message(pairs)
    assert message.sender_name == "Lee"
    assert message.location == Location(37.7749, -122.4194)
    assert message.reply_to == OUR_SID
    button = [(k, "" if k == "Body" else v) for k, v in form("inbound_sms.txt")]
    button += [("ButtonText", "Track my order"), ("ButtonPayload", "track")]
    tapped = only_message(button)
    assert (tapped.text, tapped.extra["ButtonPayload"]) == ("Track my order", "track")


def without(name: str, *fields: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in form(name) if k not in fields]


def replaced(name: str, **values: str) -> list[tuple[str, str]]:
    return [(k, values.get(k, v)) for k, v in form(name)]


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        (without("inbound_sms.txt", "MessageSid", "SmsMessageSid", "SmsSid"), "no MessageSid"),
        (replaced("inbound_sms.txt", AccountSid="AC" + "0" * 32), "is not this account's"),
        (without("inbound_sms.txt", "From"), "needs From"),
        (without("inbound_sms.txt", "Body", "NumMedia"), "neither an incoming message"),
        (without("inbound_mms.txt", "MediaUrl1"), "MediaUrl1 is missing"),
        (replaced("inbound_sms.txt", NumMedia="two"), "NumMedia must be a whole number"),
        (replaced("inbound_sms.txt", NumMedia="11"), "NumMedia must be a whole number"),
        (replaced("inbound_mms.txt", MediaUrl0="javascript:alert(1)"), "not a URL"),
        ([*form("inbound_sms.txt"), ("Latitude", "north")], "must both be numbers"),
        ([*form("inbound_sms.txt"), ("Latitude", "91"), ("Longitude", "0")], "out of range"),
    ],
)
def test_malformed_forms_say_why(pairs: list[tuple[str, str]], reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        read(pairs, ACCOUNT_SID)


def test_form_reading_keeps_blanks_and_is_strict_only_after_the_signature() -> None:
    assert ("Body", "") in form_pairs(body("inbound_mms_no_text.txt").encode(), strict=True)
    broken = b"Body=%FF&From=%2B1555"
    assert form_pairs(broken, strict=False)[1] == ("From", "+1555")
    with pytest.raises(MalformedPayload, match="not UTF-8"):
        form_pairs(broken, strict=True)
    with pytest.raises(MalformedPayload, match="more than"):
        form_pairs(b"&".join(b"f%d=1" % n for n in range(500)), strict=False)


def test_attachment_model() -> None:
    [first, _] = only_message(form("inbound_mms.txt")).attachments
    assert first == Attachment(url=first.url, content_type="image/jpeg")
