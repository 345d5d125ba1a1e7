"""Our outbound messages as Messenger Send API bodies, and how they degrade."""

from __future__ import annotations

import pytest

from omniroute.channels.messenger.outbound import build, message_id
from omniroute.channels.port import Attachment, Outbound, PermanentSendError, QuickReply


def outbound(
    text: str = "It ships today.",
    *,
    quick_replies: tuple[QuickReply, ...] = (),
    attachments: tuple[Attachment, ...] = (),
) -> Outbound:
    return Outbound(
        "o-1", "c-1", "6789012345678901", text, attachments=attachments, quick_replies=quick_replies
    )


def test_text_is_a_response() -> None:
    assert build(outbound()) == {
        "recipient": {"id": "6789012345678901"},
        "messaging_type": "RESPONSE",
        "message": {"text": "It ships today."},
    }


def test_quick_replies_keep_their_ids_as_payloads() -> None:
    choices = (QuickReply("track", "Track it"), QuickReply("agent", "A much longer title than allowed"))
    assert build(outbound("Anything else?", quick_replies=choices))["message"] == {
        "text": "Anything else?",
        "quick_replies": [
            {"content_type": "text", "title": "Track it", "payload": "track"},
            {"content_type": "text", "title": "A much longer title…", "payload": "agent"},
        ],
    }


def test_more_than_thirteen_choices_become_numbered_text() -> None:
    choices = tuple(QuickReply(str(i), f"Option {i}") for i in range(1, 15))
    text = build(outbound("Choose", quick_replies=choices))["message"]["text"]
    assert text.startswith("Choose\n\n1. Option 1\n")
    assert text.endswith("14. Option 14")


def test_one_attachment_without_text_is_native_otherwise_links() -> None:
    pdf = Attachment("https://f.example/i.pdf", "application/pdf", "invoice.pdf")
    assert build(outbound("", attachments=(pdf,)))["message"] == {
        "attachment": {"type": "file", "payload": {"url": "https://f.example/i.pdf", "is_reusable": False}}
    }
    photo = Attachment("https://f.example/p.jpg", "image/jpeg")
    assert build(outbound("", attachments=(photo,)))["message"]["attachment"]["type"] == "image"
    assert build(outbound("Your invoice", attachments=(pdf,)))["message"] == {
        "text": "Your invoice\ninvoice.pdf: https://f.example/i.pdf"
    }


def test_too_long_or_empty_text_fails_with_a_reason() -> None:
    with pytest.raises(PermanentSendError, match="2001 characters"):
        build(outbound("x" * 2001))
    with pytest.raises(PermanentSendError, match="nothing to send"):
        build(outbound(""))


def test_the_mid_comes_from_message_id() -> None:
    assert message_id({"recipient_id": "1", "message_id": "m_1"}) == "m_1"
    with pytest.raises(PermanentSendError):
        message_id({"recipient_id": "1"})
