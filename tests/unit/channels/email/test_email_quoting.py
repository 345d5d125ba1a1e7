"""Quoted history is stripped from replies; forwarded mail and unquoted text are kept whole."""

from omniroute.channels.email.quoting import strip_quoted


def test_gmail_attribution_wrapped_over_two_lines() -> None:
    text = (
        "Yes please, a refund.\n\n"
        "On Mon, 5 Jan 2026 at 18:05, Acme Support <support@acme.test>\nwrote:\n\n"
        "> Would you like a replacement or a refund?\n"
    )
    assert strip_quoted(text) == "Yes please, a refund."


def test_attributions_in_other_languages() -> None:
    for line in (
        "El lun, 5 ene 2026 a las 18:05, Acme Support (<support@acme.test>) escribió:",
        "Le lun. 5 janv. 2026 à 18:05, Acme Support <support@acme.test> a écrit :",
        "Am Mo., 5. Jan. 2026 um 18:05 Uhr schrieb Acme Support <support@acme.test>:",
        "Em seg., 5 de jan. de 2026 às 18:05, Acme Support <support@acme.test> escreveu:",
    ):
        assert strip_quoted(f"Gracias.\n\n{line}\n> antes\n") == "Gracias."


def test_outlook_original_message_and_header_blocks() -> None:
    original = "Thanks!\n\n-----Original Message-----\nFrom: Acme\nSent: Monday\n\nOld text\n"
    assert strip_quoted(original) == "Thanks!"
    block = (
        "Please call me.\n\n________________________________\n"
        "From: Acme Support <support@acme.test>\nSent: Monday, January 5, 2026 5:30 PM\n"
        "To: Sam Rivera\nSubject: Re: Delivery\n\nWhich address?\n"
    )
    assert strip_quoted(block) == "Please call me."
    bare = "Noted.\n\nFrom: Acme Support\nDate: Monday\nSubject: Re: Delivery\n\nWhich address?"
    assert strip_quoted(bare) == "Noted."


def test_interleaved_quotes_keep_the_customers_lines() -> None:
    text = "> Which size?\nLarge.\n> Which colour?\nBlue.\n"
    assert strip_quoted(text) == "Large.\nBlue."


def test_text_that_only_looks_like_a_quote_is_kept() -> None:
    text = "On Monday we talked about the refund.\nOn Tuesday nothing happened."
    assert strip_quoted(text) == text
    sentence = "From: the warehouse, the parcel left late."
    assert strip_quoted(sentence) == sentence


def test_forwarded_mail_is_not_stripped() -> None:
    text = "See below.\n\n---------- Forwarded message ---------\nFrom: Courier <c@x.example>\nDate: Mon\n"
    assert "Forwarded message" in strip_quoted(text)


def test_a_reply_that_is_all_quote_keeps_everything() -> None:
    text = "On Mon, 5 Jan 2026, Acme wrote:\n> Hello"
    assert strip_quoted(text) == text
