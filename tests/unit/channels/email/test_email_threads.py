"""Threading keys: Message-ID lists, conversation tokens in subjects and plus addresses."""

import re

from omniroute.channels.email import threads


def test_message_ids_are_read_in_order() -> None:
    value = "<a@x.example>\r\n <b+c@y.example> garbage <d@z>"
    assert threads.message_ids(value) == ["<a@x.example>", "<b+c@y.example>", "<d@z>"]
    assert threads.message_ids(None) == []
    assert threads.is_message_id("<a@x>")
    assert not threads.is_message_id("token:OR-ABCDEFGHIJ")


def test_tokens_are_keyed_unguessable_labels() -> None:
    token = threads.token_for("secret", "<a@x>")
    assert re.fullmatch(r"OR-[A-Z2-7]{10}", token)
    assert token == threads.token_for("secret", "<a@x>")
    assert token != threads.token_for("other secret", "<a@x>")
    assert threads.token_key(token.lower()) == f"token:{token}"


def test_subject_tokens_and_reply_subjects() -> None:
    assert threads.subject_tokens("RE: Re: Order [#or-abcdefghij]") == ["OR-ABCDEFGHIJ"]
    assert threads.subject_tokens("Order #1042") == []
    assert threads.reply_subject("Order 1042", "OR-ABCDEFGHIJ") == "Re: Order 1042 [#OR-ABCDEFGHIJ]"
    again = threads.reply_subject("RE: Order 1042 [#OR-ABCDEFGHIJ]", "OR-ABCDEFGHIJ")
    assert again == "RE: Order 1042 [#OR-ABCDEFGHIJ]"
    assert threads.reply_subject("AW: Bestellung", None) == "AW: Bestellung"
    assert threads.reply_subject("  ", None) == "Re: (no subject)"


def test_plus_address_tokens_only_for_our_own_address() -> None:
    to = ["Acme <Support+OR-ABCDEFGHIJ@Acme.test>, sales+OR-BBBBBBBBBB@acme.test", "support+promo@acme.test"]
    assert threads.plus_tokens(to, "support@acme.test") == ["OR-ABCDEFGHIJ"]
    assert threads.plus_address("support@acme.test", "OR-ABCDEFGHIJ") == "support+OR-ABCDEFGHIJ@acme.test"


def test_conversation_token_and_references() -> None:
    keys = ["<a@x>", "token:OR-AAAAAAAAAA", "<b@x>", "token:OR-BBBBBBBBBB"]
    assert threads.conversation_token(keys) == "OR-AAAAAAAAAA"
    assert threads.conversation_token(["<a@x>"]) is None
    assert threads.references(keys) == ["<a@x>", "<b@x>"]
    many = [f"<{i}@x>" for i in range(30)]
    capped = threads.references(many)
    assert len(capped) == threads.MAX_REFERENCES
    assert capped[0] == "<0@x>"
    assert capped[-1] == "<29@x>"
