"""Bot Framework activities (the golden Teams fixtures) → our inbound items, and route keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omniroute.channels.port import (
    Attachment,
    ConversationEnded,
    DeliveryStatus,
    InboundMessage,
    MalformedPayload,
    StatusUpdate,
    TypingSignal,
)
from omniroute.channels.teams.activities import (
    Route,
    context_of,
    latest_route,
    load,
    parse,
    route_key,
    route_of,
    scoped_id,
)
from omniroute.conversations.model import Location

FIXTURES = Path(__file__).parents[3] / "e2e" / "channels" / "teams" / "fixtures"
PERSONAL = "a:1kxB6lB0yP8Ez2m0f5QwX4rT9cVnHj3uLs7AdGqWe1ZoY8KpMiN2bRtUv5SxCyDh6FgJ0aEwIlOq"
USER_ID = "29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB25ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ-NJWi7me2kHTL3Bw"
CHANNEL_THREAD = "19:8a3c2e1f4b5d6a7c8e9f0a1b2c3d4e5f@thread.tacv2;messageid=1767603730517"


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def message(activity: dict[str, Any]) -> InboundMessage:
    [item] = parse(activity)
    assert isinstance(item, InboundMessage)
    return item


def test_a_personal_message() -> None:
    item = message(fixture("activity_message_personal"))
    assert item.provider_message_id == scoped_id("1767603600123", PERSONAL)
    assert item.sender_address == PERSONAL
    assert item.sender_name == "Megan Bowen"
    assert item.text == "My laptop will not connect to the VPN"
    assert item.attachments == ()  # the text/html copy of the text is not an attachment
    assert item.sent_at == datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
    assert item.extra == {
        "channel_id": "msteams",
        "service_url": "https://smba.trafficmanager.net/emea/",
        "conversation_type": "personal",
        "tenant_id": "5f2b8c1d-3e4a-4b6c-9d7e-1a2b3c4d5e6f",
        "user_id": USER_ID,
        "aad_object_id": "6d4b1fb2-6e4c-4c1d-8b7e-0b4c2f3a9d11",
    }
    # The reply route travels as the conversation's reply context, not as a thread key.
    assert item.thread_keys == ()
    assert item.reply_context == {
        "service_url": "https://smba.trafficmanager.net/emea/",
        "activity_id": "1767603600123",
        "timestamp": "2026-01-05T09:00:00.123456Z",
    }
    assert route_of(item.reply_context, ()) == Route(
        "https://smba.trafficmanager.net/emea/", "1767603600123", "2026-01-05T09:00:00.123456Z"
    )


def test_the_bot_mention_is_removed_from_channel_messages() -> None:
    item = message(fixture("activity_message_channel_mention"))
    assert item.text == "the printer on floor 3 is jammed again"
    assert item.sender_address == CHANNEL_THREAD
    assert item.extra["conversation_type"] == "channel"


def test_other_peoples_mentions_stay() -> None:
    activity = fixture("activity_message_channel_mention")
    activity["text"] = "<at>Help Desk</at> please ask <at>Lee</at>"
    activity["entities"].append(
        {"mentioned": {"id": "29:lee", "name": "Lee"}, "text": "<at>Lee</at>", "type": "mention"}
    )
    assert message(activity).text == "please ask <at>Lee</at>"


def test_shared_files_and_inline_images_become_attachments() -> None:
    shared = message(fixture("activity_message_file"))
    assert shared.text == ""
    [file] = shared.attachments
    assert file.filename == "vpn-error.png"
    assert file.content_type == "image/png"
    assert file.url.startswith(
        "https://contoso-my.sharepoint.com/personal/megan_contoso_com/_layouts/15/download.aspx"
    )
    inline = message(fixture("activity_message_inline_image"))
    assert inline.text == "this is what I see"
    assert inline.attachments == (
        Attachment(
            "https://smba.trafficmanager.net/emea/v3/attachments/0-weu-d3-4f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c/views/original",
            "image/*",
            None,
        ),
    )


def test_card_submissions_and_geo_entities() -> None:
    activity = fixture("activity_message_personal")
    activity["text"] = ""
    activity["value"] = {"device": "laptop", "urgent": True}
    activity["entities"] = [{"type": "GeoCoordinates", "latitude": 40.4168, "longitude": -3.7038}]
    item = message(activity)
    assert item.text == "[card response] device: laptop, urgent: True"
    assert item.location == Location(40.4168, -3.7038)


def test_a_reply_points_at_the_scoped_id_of_what_it_answers() -> None:
    activity = fixture("activity_message_personal")
    activity["replyToId"] = "1767603900000"
    assert message(activity).reply_to == scoped_id("1767603900000", PERSONAL)


def test_signals_receipts_and_endings() -> None:
    assert parse(fixture("activity_typing")) == [TypingSignal(PERSONAL)]
    assert parse(fixture("activity_read_receipt")) == [
        StatusUpdate(scoped_id("1767603900000", PERSONAL), DeliveryStatus.READ)
    ]
    assert parse(fixture("activity_conversation_update_bot_removed")) == [ConversationEnded(PERSONAL)]
    assert parse(fixture("activity_conversation_update_members_added")) == []
    end = fixture("activity_typing") | {"type": "endOfConversation"}
    assert parse(end) == [ConversationEnded(PERSONAL)]
    uninstall = fixture("activity_typing") | {"type": "installationUpdate", "action": "remove"}
    assert parse(uninstall) == [ConversationEnded(PERSONAL)]
    assert parse(fixture("activity_typing") | {"type": "messageReaction"}) == []


def test_teams_ids_are_scoped_to_their_conversation() -> None:
    assert scoped_id("1767603600123", PERSONAL) != scoped_id("1767603600123", CHANNEL_THREAD)
    assert scoped_id("1767603600123", PERSONAL).startswith("1767603600123@")


def test_the_newest_route_wins_whatever_order_the_keys_come_in() -> None:
    old = Route("https://smba.trafficmanager.net/emea/", "1", "2026-01-05T09:00:00.000000Z")
    new = Route("https://smba.trafficmanager.net/emea-2/", "f:a|b", "2026-01-05T10:00:00.000000Z")
    keys = (route_key(new), "1767603600123@abc", route_key(old))
    assert latest_route(keys) == new
    assert latest_route(("1767603600123@abc",)) is None


def test_the_reply_context_wins_over_legacy_route_keys_and_bad_contexts_fall_back() -> None:
    legacy = Route("https://smba.trafficmanager.net/emea/", "1", "2026-01-05T09:00:00.000000Z")
    current = Route("https://smba.trafficmanager.net/amer/", "7", "2026-01-06T09:00:00.000000Z")
    keys = (route_key(legacy),)
    assert route_of(context_of(current), keys) == current
    assert route_of(None, keys) == legacy  # a conversation stored before the reply context existed
    assert route_of({"service_url": "javascript:alert(1)"}, keys) == legacy
    assert route_of(None, ()) is None


@pytest.mark.parametrize(
    ("activity", "reason"),
    [
        ({"conversation": {"id": "c"}}, "needs a 'type'"),
        ({"type": "message"}, "'conversation' object"),
        ({"type": "message", "conversation": {}}, "'conversation.id'"),
        ({"type": "message", "conversation": {"id": "c"}, "from": {"id": "u"}}, "needs an 'id'"),
        ({"type": "message", "id": "1", "conversation": {"id": "c"}}, "'from' object"),
        (
            {
                "type": "message",
                "id": "1",
                "conversation": {"id": "c"},
                "from": {"id": "u"},
                "serviceUrl": "ftp://x",
            },
            "http\\(s\\) 'serviceUrl'",
        ),
        (
            {
                "type": "message",
                "id": "1",
                "conversation": {"id": "c"},
                "from": {"id": "u"},
                "serviceUrl": "https://x/",
                "attachments": "x",
            },
            "'attachments' must be a list",
        ),
        (
            {"type": "event", "name": "application/vnd.microsoft.readReceipt", "conversation": {"id": "c"}},
            "lastReadMessageId",
        ),
    ],
)
def test_malformed_activities_are_refused_with_the_reason(activity: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse(activity)


def test_bodies_that_are_not_activities() -> None:
    with pytest.raises(MalformedPayload, match="not JSON"):
        load(b"<xml/>")
    with pytest.raises(MalformedPayload, match="JSON object"):
        load(b"[]")
