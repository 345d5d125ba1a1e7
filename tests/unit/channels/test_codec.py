"""The receipt codec's pure helpers: fitting a long message into the transcript, reading
quick replies from an outbox payload, and locations (stored, read back, shown as text)."""

from __future__ import annotations

import json

import pytest

from omniroute.channels.codec import (
    as_text,
    decode,
    encode,
    fit_text,
    quick_replies_of,
    received_location,
    with_location,
)
from omniroute.channels.port import InboundMessage, MalformedPayload, QuickReply
from omniroute.conversations.model import Location


def test_text_within_the_limit_is_untouched() -> None:
    assert fit_text("hello", 5) == "hello"


def test_longer_text_keeps_its_beginning_and_says_how_much_was_received() -> None:
    text = "abcdefghij" * 100  # 1000 bytes
    fitted = fit_text(text, 200)
    note = "\n[… message shortened: 1000 bytes received, the transcript keeps 200]"
    assert fitted.endswith(note)
    assert len(fitted.encode()) <= 200
    assert text.startswith(fitted.removesuffix(note))
    assert len(fitted.removesuffix(note)) == 200 - len(note.encode())


def test_a_cut_never_splits_a_multibyte_character() -> None:
    text = "é" * 500  # two bytes each
    for limit in (150, 151):
        fitted = fit_text(text, limit)
        body = fitted.split("\n[…")[0]
        assert set(body) == {"é"}
        assert len(fitted.encode()) <= limit


def test_a_whitespace_only_message_is_shown_as_empty_rather_than_refused() -> None:
    message = InboundMessage(provider_message_id="m", sender_address="u", text="  \n ")
    assert as_text(message) == "[empty message]"


def test_quick_replies_from_strings_and_objects_without_blanks_or_repeats() -> None:
    assert quick_replies_of(["debit", " credit ", "", "debit", 7, {"id": "x", "title": "Extra"}]) == (
        QuickReply("debit", "debit"),
        QuickReply("credit", "credit"),
        QuickReply("x", "Extra"),
    )
    assert quick_replies_of([{"title": "Only a title"}, {"id": "only-id"}, {}]) == (
        QuickReply("Only a title", "Only a title"),
        QuickReply("only-id", "only-id"),
    )


def test_a_location_survives_the_receipt_log_and_old_receipts_still_read() -> None:
    place = Location(40.416775, -3.70379, "Puerta del Sol", "Plaza de la Puerta del Sol, Madrid")
    message = InboundMessage("m1", "+34600111222", "", location=place)
    kind, _, payload = encode(message)
    assert payload["location"] == place.as_dict()
    assert decode(kind, json.loads(json.dumps(payload))) == message
    # A receipt stored before locations had names kept the bare pair.
    old = {**payload, "location": [40.416775, -3.70379]}
    decoded = decode(kind, old)
    assert isinstance(decoded, InboundMessage)
    assert decoded.location == Location(40.416775, -3.70379)


def test_the_transcript_text_keeps_its_location_line() -> None:
    place = Location(40.416775, -3.70379, "Puerta del Sol")
    assert as_text(InboundMessage("m1", "a", "Puerta del Sol", location=place)) == (
        "Puerta del Sol\n[location: 40.416775, -3.703790]"
    )


def test_channels_without_a_pin_get_a_line_and_a_map_link() -> None:
    place = Location(40.416775, -3.70379, "Puerta del Sol")
    link = "https://www.openstreetmap.org/?mlat=40.416775&mlon=-3.70379#map=16/40.416775/-3.70379"
    assert with_location("Meet us here:", place) == (
        f"Meet us here:\n📍 Puerta del Sol (40.416775, -3.70379)\n{link}"
    )
    assert with_location("", place, marker="") == f"Puerta del Sol (40.416775, -3.70379)\n{link}"
    assert with_location("No place", None) == "No place"


def test_a_providers_location_is_checked_and_its_texts_kept_short() -> None:
    assert received_location(1, 2, "n" * 300, 7) == Location(1.0, 2.0, "n" * 199 + "…", None)
    with pytest.raises(MalformedPayload, match="location: latitude must be between -90 and 90"):
        received_location(91, 0)
