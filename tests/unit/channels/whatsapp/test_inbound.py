"""WhatsApp webhooks (golden payloads in Meta's format) to our inbound items."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omniroute.channels.port import Attachment, DeliveryStatus, InboundMessage, MalformedPayload, StatusUpdate
from omniroute.channels.whatsapp.inbound import parse
from omniroute.conversations.model import Location

FIXTURES = Path(__file__).resolve().parents[3] / "e2e" / "channels" / "whatsapp" / "fixtures"
NUMBER = "106540352242922"
GRAPH = "https://graph.facebook.com/v23.0"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def items(name: str) -> list[Any]:
    return parse(load(name), phone_number_id=NUMBER, media_url=lambda media_id: f"{GRAPH}/{media_id}")


def only_message(name: str) -> InboundMessage:
    [item] = items(name)
    assert isinstance(item, InboundMessage)
    return item


def test_text_message_with_profile_name_and_time() -> None:
    message = only_message("text_message.json")
    assert message.provider_message_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdCNUM4RDBFMUYyQTNCNEM1RAA="
    assert message.sender_address == "16505551234"
    assert message.sender_name == "Kerry Fisher"
    assert message.text == "Hi, my order #4417 has not arrived"
    assert message.sent_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert message.reply_to is None


def test_media_becomes_an_attachment_on_the_graph_media_node() -> None:
    image = only_message("image_message.json")
    assert image.text == "The box arrived like this"
    assert image.attachments == (Attachment(f"{GRAPH}/1003383421387256", "image/jpeg"),)
    document = only_message("document_message.json")
    assert document.attachments == (
        Attachment(f"{GRAPH}/2114580732301234", "application/pdf", "invoice-4417.pdf"),
    )
    voice = only_message("voice_message.json")
    assert voice.attachments[0].filename == "voice message"
    assert voice.attachments[0].content_type == "audio/ogg; codecs=opus"
    sticker = only_message("sticker_message.json")
    assert sticker.attachments == (Attachment(f"{GRAPH}/1195849391430066", "image/webp", "sticker"),)


def test_location_keeps_coordinates_and_names_the_place() -> None:
    message = only_message("location_message.json")
    assert message.location == Location(
        37.483872693672, -122.14843308439, "Meta Headquarters", "1 Hacker Way, Menlo Park, CA 94025"
    )
    assert message.text == "Meta Headquarters — 1 Hacker Way, Menlo Park, CA 94025"


def test_button_and_list_replies_are_the_choice_with_its_id() -> None:
    button = only_message("button_reply.json")
    assert (button.text, button.reply_to) == ("Refund", "refund")
    assert button.extra["context_id"] == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
    choice = only_message("list_reply.json")
    assert (choice.text, choice.reply_to) == ("Express shipping", "ship-express")


def test_a_quoted_message_is_what_it_replies_to() -> None:
    message = only_message("quoted_reply.json")
    assert message.reply_to == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTkA"
    assert message.text == "Yes, this one"


def test_what_cannot_be_shown_degrades_to_a_labelled_line() -> None:
    reaction = only_message("reaction_message.json")
    assert reaction.text == "[reaction \U0001f44d]"
    assert reaction.reply_to == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTkA"
    assert only_message("contacts_message.json").text == "[contact: Dana Lee +1 650 555 9876]"
    unsupported = only_message("unsupported_message.json").text
    assert unsupported.startswith("[WhatsApp unsupported message cannot be shown here: WhatsApp error 131051")


def test_statuses_become_receipts_and_failures_say_why() -> None:
    expected = {
        "status_sent.json": DeliveryStatus.SENT,
        "status_delivered.json": DeliveryStatus.DELIVERED,
        "status_read.json": DeliveryStatus.READ,
    }
    for name, status in expected.items():
        assert items(name) == [StatusUpdate("wamid.PLACEHOLDER", status)]
    [failed] = items("status_failed.json")
    assert isinstance(failed, StatusUpdate)
    assert failed.status is DeliveryStatus.FAILED
    assert failed.error is not None
    assert "131047 (Re-engagement message)" in failed.error
    assert "template" in failed.error


def test_a_batch_keeps_this_numbers_messages_and_skips_the_rest() -> None:
    found = items("batched.json")
    assert [m.text for m in found if isinstance(m, InboundMessage)] == ["first", "second"]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda v: v["messages"][0].pop("id"), "messages[0].id"),
        (lambda v: v["messages"][0].pop("from"), "messages[0].from"),
        (lambda v: v["messages"][0].pop("text"), "needs a 'text' object"),
        (lambda v: v.update(messages={"not": "a list"}), "must be a list of objects"),
    ],
)
def test_malformed_messages_are_refused_with_the_reason(mutate: Any, reason: str) -> None:
    document = load("text_message.json")
    mutate(document["entry"][0]["changes"][0]["value"])
    with pytest.raises(MalformedPayload, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse(document, phone_number_id=NUMBER, media_url=str)


def test_location_without_numbers_is_malformed() -> None:
    document = load("location_message.json")
    document["entry"][0]["changes"][0]["value"]["messages"][0]["location"]["latitude"] = "north"
    with pytest.raises(MalformedPayload, match="numeric latitude"):
        parse(document, phone_number_id=NUMBER, media_url=str)


def test_group_messages_are_not_customer_conversations() -> None:
    document = load("text_message.json")
    document["entry"][0]["changes"][0]["value"]["messages"][0]["group_id"] = "120363043012345678"
    assert parse(document, phone_number_id=NUMBER, media_url=str) == []


def test_unknown_statuses_are_ignored() -> None:
    document = load("status_sent.json")
    document["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    assert parse(document, phone_number_id=NUMBER, media_url=str) == []
