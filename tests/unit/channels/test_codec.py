"""The receipt codec's pure helpers: fitting a long message into the transcript and reading
quick replies from an outbox payload."""

from __future__ import annotations

from omniroute.channels.codec import as_text, fit_text, quick_replies_of
from omniroute.channels.port import InboundMessage, QuickReply


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
