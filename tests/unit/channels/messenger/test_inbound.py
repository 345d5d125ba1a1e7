"""Messenger webhooks (golden payloads in Meta's format) to our inbound items."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omniroute.channels.messenger.inbound import Echo, Parsed, Watermark, parse
from omniroute.channels.port import DeliveryStatus, InboundMessage, MalformedPayload, StatusUpdate
from omniroute.conversations.model import Location

FIXTURES = Path(__file__).resolve().parents[3] / "e2e" / "channels" / "messenger" / "fixtures"
PAGE = "682498302938465"
PSID = "6789012345678901"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def parsed(name: str) -> Parsed:
    return parse(load(name), page_id=PAGE)


def only_message(name: str) -> InboundMessage:
    [item] = parsed(name).items
    assert isinstance(item, InboundMessage)
    return item


def test_text_message() -> None:
    message = only_message("text_message.json")
    assert message.provider_message_id.startswith("m_1fTq8oLumEyIp3Q2MR")
    assert message.sender_address == PSID
    assert message.text == "Hello! Is my order #4417 on its way?"
    assert message.sent_at == T0
    assert message.sender_name is None  # Messenger webhooks carry no name


def test_quick_reply_is_its_title_answering_its_payload() -> None:
    message = only_message("quick_reply.json")
    assert (message.text, message.reply_to) == ("Track my order", "track-order")


def test_postback_is_the_button_title_answering_its_payload() -> None:
    message = only_message("postback.json")
    assert message.provider_message_id.startswith("m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM")
    assert (message.text, message.reply_to) == ("Talk to an agent", "TALK_TO_AGENT")


def test_a_postback_without_mid_is_keyed_by_sender_and_time() -> None:
    document = load("postback.json")
    del document["entry"][0]["messaging"][0]["postback"]["mid"]
    [message] = parse(document, page_id=PAGE).items
    assert isinstance(message, InboundMessage)
    assert message.provider_message_id == f"postback:{PSID}:1767603609000"


def test_quoted_message_is_what_it_replies_to() -> None:
    assert only_message("quoted_reply.json").reply_to.startswith("m_1fTq8oLumEyIp3Q2MR")  # type: ignore[union-attr]


def test_attachments_keep_their_urls_and_kinds() -> None:
    message = only_message("attachments.json")
    assert message.text == ""
    assert [(a.content_type, a.url.split("?")[0]) for a in message.attachments] == [
        ("image/*", "https://scontent.xx.fbcdn.net/v/t1.15752-9/471234567_box.jpg"),
        ("application/octet-stream", "https://cdn.fbsbx.com/v/t59.2708-21/invoice-4417.pdf"),
    ]


def test_a_sticker_sent_as_both_sticker_and_image_is_one_attachment() -> None:
    [sticker] = only_message("sticker.json").attachments
    assert sticker.filename == "sticker"
    assert sticker.content_type == "image/*"


def test_a_shared_link_stays_a_link_in_the_text_never_a_file_to_download() -> None:
    message = only_message("shared_link.json")
    assert (message.text, message.attachments) == ("https://shop.example.com/orders/4417", ())
    document = load("shared_link.json")
    document["entry"][0]["messaging"][0]["message"].pop("text")  # a link shared without typing it
    [alone] = parse(document, page_id=PAGE).items
    assert isinstance(alone, InboundMessage)
    assert alone.text == "Order #4417 — Example Shop: https://shop.example.com/orders/4417"
    assert alone.attachments == ()


def test_legacy_location_and_unknown_attachments() -> None:
    document = load("attachments.json")
    message = document["entry"][0]["messaging"][0]["message"]
    message["attachments"] = [
        {"type": "location", "payload": {"coordinates": {"lat": 40.4168, "long": -3.7038}}}
    ]
    [located] = parse(document, page_id=PAGE).items
    assert isinstance(located, InboundMessage)
    assert located.location == Location(40.4168, -3.7038)
    message["attachments"] = [{"type": "template", "payload": {"template_type": "generic"}}]
    [unknown] = parse(document, page_id=PAGE).items
    assert isinstance(unknown, InboundMessage)
    assert unknown.text == "[Messenger template message cannot be shown here]"


def test_delivery_lists_mids_and_a_watermark() -> None:
    result = parsed("delivery.json")
    assert result.items == [StatusUpdate("m_PLACEHOLDER", DeliveryStatus.DELIVERED)]
    assert result.watermarks == [
        Watermark(PSID, DeliveryStatus.DELIVERED, datetime(2026, 1, 5, 9, 1, tzinfo=UTC))
    ]
    assert parsed("delivery_watermark_only.json").items == []


def test_read_is_only_a_watermark() -> None:
    result = parsed("read.json")
    assert result.items == []
    assert result.watermarks == [Watermark(PSID, DeliveryStatus.READ, datetime(2026, 1, 5, 9, 2, tzinfo=UTC))]


def test_echoes_give_metas_time_and_are_not_customer_messages() -> None:
    result = parsed("echo.json")
    assert result.items == []
    assert result.echoes == [Echo("m_PLACEHOLDER", datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC))]


def test_reactions_are_ignored() -> None:
    assert parsed("reaction.json").items == []


def test_a_batch_keeps_this_pages_events_only() -> None:
    assert [m.text for m in parsed("batched.json").items if isinstance(m, InboundMessage)] == [
        "first",
        "second",
    ]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e["message"].pop("mid"), "message.mid"),
        (lambda e: e.pop("sender"), "sender must be an object"),
        (lambda e: e["sender"].update(id=""), "sender.id"),
    ],
)
def test_malformed_events_are_refused_with_the_reason(mutate: Any, reason: str) -> None:
    document = load("text_message.json")
    mutate(document["entry"][0]["messaging"][0])
    with pytest.raises(MalformedPayload, match=reason):
        parse(document, page_id=PAGE)


def test_read_without_a_watermark_is_malformed() -> None:
    document = load("read.json")
    document["entry"][0]["messaging"][0]["read"] = {}
    with pytest.raises(MalformedPayload, match="watermark"):
        parse(document, page_id=PAGE)
