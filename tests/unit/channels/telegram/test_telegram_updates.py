"""Telegram Update JSON (the golden fixtures) → our inbound items."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omniroute.channels.port import Attachment, ConversationEnded, InboundMessage, MalformedPayload
from omniroute.channels.telegram.updates import ParsedUpdate, parse
from omniroute.conversations.model import Location

FIXTURES = Path(__file__).parents[3] / "e2e" / "channels" / "telegram" / "fixtures"


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def parsed(update: dict[str, Any]) -> ParsedUpdate:
    return parse(json.dumps(update).encode())


def only_message(update: dict[str, Any]) -> InboundMessage:
    result = parsed(update)
    assert len(result.items) == 1
    item = result.items[0]
    assert isinstance(item, InboundMessage)
    return item


def test_a_text_message_dedupes_on_the_update_id_and_answers_the_chat() -> None:
    message = only_message(load("update_text"))
    assert message.provider_message_id == "731284501"
    assert message.sender_address == "5120843977"
    assert message.sender_name == "Lee Okafor"
    assert message.text == "hello, my parcel has not arrived"
    assert message.sent_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert message.extra == {
        "chat_type": "private",
        "message_id": 52,
        "user_id": 5120843977,
        "username": "leeokafor",
    }
    assert message.reply_to is None


def test_the_largest_photo_size_is_kept_as_a_file_reference_with_its_caption() -> None:
    message = only_message(load("update_photo"))
    assert message.text == "the box was damaged"
    assert message.attachments == (
        Attachment("telegram-file:AgACAgQAAxkBAAM1aXlargeAAQ", "image/jpeg", "photo.jpg", 98114),
    )


def test_documents_and_voice_notes_keep_type_name_and_size() -> None:
    document = only_message(load("update_document"))
    assert document.text == ""
    assert document.attachments == (
        Attachment("telegram-file:BQACAgQAAxkBAAM2aXinvoiceAQ", "application/pdf", "invoice-2291.pdf", 58213),
    )
    voice = only_message(load("update_voice"))
    assert voice.attachments == (
        Attachment("telegram-file:AwACAgQAAxkBAAM3aXvoiceAQ", "audio/ogg", "voice message (4 s)", 12042),
    )


def test_locations_venues_and_contacts() -> None:
    assert only_message(load("update_location")).location == Location(40.416775, -3.70379)
    venue = load("update_location")
    venue["message"]["venue"] = {
        "location": venue["message"].pop("location"),
        "title": "Puerta del Sol",
        "address": "Plaza de la Puerta del Sol, Madrid",
    }
    shown = only_message(venue)
    assert shown.location == Location(
        40.416775, -3.70379, "Puerta del Sol", "Plaza de la Puerta del Sol, Madrid"
    )
    assert shown.text == "[venue: Puerta del Sol, Plaza de la Puerta del Sol, Madrid]"
    contact = load("update_text")
    del contact["message"]["text"]
    contact["message"]["contact"] = {"phone_number": "+34600111222", "first_name": "Sam", "last_name": "Ruiz"}
    assert only_message(contact).text == "[contact: Sam Ruiz, +34600111222]"


def test_content_we_cannot_show_becomes_a_labelled_placeholder() -> None:
    poll = load("update_text")
    del poll["message"]["text"]
    poll["message"]["poll"] = {"id": "1", "question": "Which colour?", "options": []}
    assert only_message(poll).text == "[Telegram poll: not shown here]"
    sticker = load("update_text")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {
        "file_id": "CAACAgIAAxkBAAIBsticker",
        "file_unique_id": "AgADsticker",
        "width": 512,
        "height": 512,
        "is_animated": True,
        "is_video": False,
        "type": "regular",
        "emoji": "👍",
    }
    assert only_message(sticker).attachments == (
        Attachment("telegram-file:CAACAgIAAxkBAAIBsticker", "application/x-tgsticker", "sticker 👍", None),
    )


def test_an_edit_is_a_new_item_marked_as_edited() -> None:
    message = only_message(load("update_edited_message"))
    assert message.provider_message_id == "731284506"
    assert message.text == "(edited) hello, my parcel 2291 has not arrived"
    assert message.sent_at == datetime(2026, 1, 5, 9, 5, tzinfo=UTC)


def test_a_reply_to_one_of_our_messages_points_at_its_provider_id() -> None:
    update = load("update_text")
    update["message"]["reply_to_message"] = {
        "message_id": 57,
        "chat": update["message"]["chat"],
        "date": 1767603600,
        "text": "Shall I send a replacement?",
    }
    assert only_message(update).reply_to == "5120843977:57"


def test_a_button_press_is_the_buttons_label_and_is_answered_in_the_webhook_reply() -> None:
    result = parsed(load("update_callback_query"))
    assert result.webhook_reply == {
        "method": "answerCallbackQuery",
        "callback_query_id": "4382bfdwdsb323b2d9",
    }
    [message] = result.items
    assert isinstance(message, InboundMessage)
    assert message.provider_message_id == "731284507"  # the update_id, as for every update
    assert message.text == "Yes, please"
    assert message.reply_to == "5120843977:57"
    assert message.sender_address == "5120843977"
    assert message.extra["callback_data"] == "replace-yes"


def test_a_button_whose_keyboard_is_unknown_falls_back_to_its_data() -> None:
    update = load("update_callback_query")
    del update["callback_query"]["message"]  # too old: Telegram no longer sends it
    [message] = parsed(update).items
    assert isinstance(message, InboundMessage)
    assert (message.text, message.sender_address, message.reply_to) == ("replace-yes", "5120843977", None)


def test_a_game_button_is_answered_and_stores_nothing() -> None:
    update = load("update_callback_query")
    del update["callback_query"]["data"]
    update["callback_query"]["game_short_name"] = "tetris"
    result = parsed(update)
    assert result.items == []
    assert result.webhook_reply is not None


def test_blocking_the_bot_ends_the_conversation_and_service_messages_are_dropped() -> None:
    assert parsed(load("update_my_chat_member_kicked")).items == [ConversationEnded("5120843977")]
    assert parsed(load("update_group_member_joined")).items == []
    assert parsed({"update_id": 9, "channel_post": {"message_id": 1}}).items == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"update_id": "12"}', "integer 'update_id'"),
        (b'{"update_id": true}', "integer 'update_id'"),
        (b'{"update_id": 1, "message": {"message_id": 1}}', "'message.chat' must be an object"),
        (b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": "x"}}}', "integer 'message_id'"),
        (b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 2}, "text": 5}}', "strings"),
        (
            b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 2}, '
            b'"location": {"latitude": "n"}}}',
            "numeric",
        ),
        (b'{"update_id": 1, "callback_query": {"id": 7}}', "string 'id'"),
    ],
)
def test_malformed_updates_are_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse(body)
