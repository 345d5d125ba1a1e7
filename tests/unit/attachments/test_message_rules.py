"""Messages with files: text and/or attachments, and channel media carried as structured data."""

from __future__ import annotations

import pytest

from omniroute.channels import codec
from omniroute.channels.port import Attachment, InboundMessage
from omniroute.conversations.model import MAX_ATTACHMENTS_PER_MESSAGE, MessageAttachment, check_body
from omniroute.core.errors import InvalidInput, PayloadTooLarge


def test_an_attachment_only_message_is_valid_and_text_only_still_needs_text() -> None:
    assert check_body("", 1000, 1) == ""
    assert check_body("  hi  ", 1000, 1) == "hi"
    with pytest.raises(InvalidInput, match="empty"):
        check_body("   ", 1000, 0)


def test_the_text_limit_stays_with_or_without_files() -> None:
    with pytest.raises(PayloadTooLarge):
        check_body("x" * 1001, 1000, 1)
    with pytest.raises(PayloadTooLarge):
        check_body(" " * 1001, 1000, 1)


def test_a_message_carries_a_bounded_number_of_files() -> None:
    assert check_body("", 1000, MAX_ATTACHMENTS_PER_MESSAGE) == ""
    with pytest.raises(InvalidInput, match="at most"):
        check_body("", 1000, MAX_ATTACHMENTS_PER_MESSAGE + 1)


def test_message_attachments_round_trip_through_json() -> None:
    a = MessageAttachment(filename="a.pdf", content_type="application/pdf", size=3, id="x")
    assert MessageAttachment.of(a.as_dict()) == a


def test_channel_media_reaches_the_message_as_structured_links_and_stays_in_the_text() -> None:
    msg = InboundMessage(
        provider_message_id="wamid.1",
        sender_address="+34600000000",
        text="see photo",
        attachments=(Attachment("https://provider.example/media/1", "image/jpeg", "photo.jpg", 2048),),
    )
    assert codec.attachments_of(msg) == (
        MessageAttachment(
            filename="photo.jpg", content_type="image/jpeg", size=2048, url="https://provider.example/media/1"
        ),
    )
    assert "[attachment: photo.jpg] https://provider.example/media/1" in codec.as_text(msg)
    # And the receipt log keeps them (decode(encode(x)) == x).
    kind, _, payload = codec.encode(msg)
    assert codec.decode(kind, payload) == msg
