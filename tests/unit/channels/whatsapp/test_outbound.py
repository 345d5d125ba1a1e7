"""Our outbound messages as WhatsApp Cloud API bodies, and how they degrade."""

from __future__ import annotations

import pytest

from omniroute.channels.port import Attachment, Outbound, PermanentSendError, QuickReply
from omniroute.channels.whatsapp.outbound import build, message_id


def outbound(
    text: str = "Your parcel ships today.",
    *,
    quick_replies: tuple[QuickReply, ...] = (),
    attachments: tuple[Attachment, ...] = (),
) -> Outbound:
    return Outbound("o-1", "c-1", "16505551234", text, attachments=attachments, quick_replies=quick_replies)


def test_text() -> None:
    assert build(outbound()) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "text",
        "text": {"body": "Your parcel ships today.", "preview_url": False},
    }


def test_up_to_three_short_quick_replies_are_reply_buttons() -> None:
    body = build(
        outbound("Anything else?", quick_replies=(QuickReply("yes", "Yes"), QuickReply("no", "No, thanks")))
    )
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": "Anything else?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                {"type": "reply", "reply": {"id": "no", "title": "No, thanks"}},
            ]
        },
    }


def test_more_or_longer_choices_become_a_list() -> None:
    choices = tuple(QuickReply(f"slot-{i}", f"Tomorrow {8 + i}:00") for i in range(5))
    body = build(outbound("Pick a delivery slot", quick_replies=choices), list_button_label="Slots")
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Slots"
    assert [row["id"] for row in interactive["action"]["sections"][0]["rows"]] == [
        f"slot-{i}" for i in range(5)
    ]
    long_title = (QuickReply("a", "A title of twenty-one"),)  # 21 > 20 characters for a button
    assert build(outbound("Choose", quick_replies=long_title))["interactive"]["type"] == "list"


def test_what_a_list_cannot_hold_becomes_numbered_text() -> None:
    choices = tuple(QuickReply(str(i), f"Option {i}") for i in range(1, 12))  # 11 > 10 rows
    body = build(outbound("Choose one", quick_replies=choices))
    assert body["type"] == "text"
    assert body["text"]["body"].startswith("Choose one\n\n1. Option 1\n2. Option 2")
    assert body["text"]["body"].endswith("11. Option 11")
    too_long = (QuickReply("x", "A title much longer than twenty-four"),)
    assert build(outbound("Choose", quick_replies=too_long))["type"] == "text"


def test_one_attachment_is_a_media_message_with_the_text_as_caption() -> None:
    photo = Attachment("https://files.example.com/label.png", "image/png")
    assert build(outbound("Your label", attachments=(photo,)))["image"] == {
        "link": "https://files.example.com/label.png",
        "caption": "Your label",
    }
    pdf = Attachment("https://files.example.com/i.pdf", "application/pdf", "invoice.pdf")
    assert build(outbound("Invoice", attachments=(pdf,)))["document"] == {
        "link": "https://files.example.com/i.pdf",
        "caption": "Invoice",
        "filename": "invoice.pdf",
    }
    voice = Attachment("https://files.example.com/a.ogg", "audio/ogg")
    assert build(outbound("", attachments=(voice,)))["audio"] == {"link": "https://files.example.com/a.ogg"}
    assert build(outbound("with words", attachments=(voice,)))["type"] == "document"


def test_several_attachments_become_links() -> None:
    files = (
        Attachment("https://f.example/1.png", "image/png", "one.png"),
        Attachment("https://f.example/2", "text/csv"),
    )
    body = build(outbound("Here you go", attachments=files))
    assert body["text"] == {
        "body": "Here you go\none.png: https://f.example/1.png\ntext/csv: https://f.example/2",
        "preview_url": True,
    }


def test_too_long_or_empty_text_fails_with_a_reason() -> None:
    with pytest.raises(PermanentSendError, match="4097 characters"):
        build(outbound("x" * 4097))
    with pytest.raises(PermanentSendError, match="nothing to send"):
        build(outbound("   "))


def test_the_wamid_comes_from_messages_0_id() -> None:
    assert message_id({"messaging_product": "whatsapp", "messages": [{"id": "wamid.X"}]}) == "wamid.X"
    with pytest.raises(PermanentSendError, match="without returning its id"):
        message_id({"messaging_product": "whatsapp"})
