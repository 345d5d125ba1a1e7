"""Recognising one person across channels: normalised contacts, proofs, likely duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omniroute.customers.model import (
    ContactKind,
    Customer,
    fold_name,
    identity_channel,
    likeness,
    normalise_email,
    normalise_phone,
    proven_contact,
)

NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+34 600 111 222", "+34600111222"),
        ("34600111222", "+34600111222"),  # a WhatsApp id
        ("whatsapp:+34600111222", "+34600111222"),  # Twilio's WhatsApp addressing
        ("0034 600-111-222", "+34600111222"),
        ("tel:+1 (415) 555-0100", "+14155550100"),
        ("12345", None),
        ("call me", None),
        ("+1234567890123456", None),
    ],
)
def test_phone_numbers_normalise_to_e164(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_emails_normalise_to_lower_case_or_nothing() -> None:
    assert normalise_email("  Lee@Example.COM ") == "lee@example.com"
    assert normalise_email("not an email") is None
    assert normalise_email(None) is None


def test_only_some_channels_prove_a_contact() -> None:
    assert proven_contact("sms_twilio", "+34600111222") == (ContactKind.PHONE, "+34600111222")
    assert proven_contact("whatsapp", "34600111222") == (ContactKind.PHONE, "+34600111222")
    # A From address is forgeable: it proves the email only once the receiving server authenticated it.
    assert proven_contact("email", "Lee@Example.com") is None
    assert proven_contact("email", "Lee@Example.com", authenticated=True) == (
        ContactKind.EMAIL,
        "lee@example.com",
    )
    assert proven_contact("webchat", "widget:visitor") is None
    assert proven_contact("messenger", "6254000000000") is None  # a PSID is not a phone number


def test_unauthenticated_email_senders_are_filed_apart() -> None:
    assert identity_channel("email", authenticated=True) == "email"
    assert identity_channel("email", authenticated=False) == "email-unverified"
    # Other channels' addresses are what the provider delivered from: one place each.
    assert identity_channel("sms_twilio", authenticated=False) == "sms_twilio"
    assert identity_channel("webchat", authenticated=False) == "webchat"


def customer(cid: str, name: str, email: str | None = None, phone: str | None = None) -> Customer:
    return Customer(id=cid, display_name=name, created_at=NOW, email=email, phone=phone)


def test_a_shared_contact_is_a_strong_suggestion_and_a_name_adds_to_it() -> None:
    me = customer("a", "Lee García", email="lee@example.com")
    same_email = likeness(me, customer("b", "L. G.", email="lee@example.com"))
    assert same_email is not None
    assert same_email.reasons == ("same email",)
    both = likeness(me, customer("c", "lee garcia", email="lee@example.com"))
    assert both is not None
    assert both.score > same_email.score
    assert "same full name" in both.reasons


def test_a_name_alone_is_not_a_suggestion_and_merged_records_are_ignored() -> None:
    me = customer("a", "Lee García")
    assert likeness(me, customer("b", "Lee Garcia")) is None
    tomb = Customer(id="c", display_name="x", created_at=NOW, email="lee@example.com", merged_into="a")
    assert likeness(customer("d", "y", email="lee@example.com"), tomb) is None
    assert likeness(me, me) is None


def test_names_fold_case_accents_and_spaces() -> None:
    assert fold_name("  José  GARCÍA ") == fold_name("jose garcia")
