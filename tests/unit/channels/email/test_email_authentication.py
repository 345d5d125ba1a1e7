"""Who sent the mail: the From address is verified only by the trusted receiving server's
Authentication-Results (DMARC pass, or DKIM pass aligned with the From domain)."""

from email import message_from_bytes, policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniroute.channels.email.authentication import (
    aligned,
    check_sender,
    parse_authserv_ids,
)
from omniroute.channels.email.parsing import ParseOptions, parse_message
from omniroute.channels.port import InboundMessage

TRUSTED = frozenset({"mx.acme.test"})
GMAIL = (
    "mx.google.com;\r\n"
    "       dkim=pass header.i=@example.com header.s=20230601 header.b=Qm9vVx1a;\r\n"
    "       spf=pass (google.com: domain of lee@example.com designates 209.85.221.41 as permitted sender)"
    " smtp.mailfrom=lee@example.com;\r\n"
    "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com"
)


def mail(*results: str, sender: str = "Lee <lee@example.com>", extra: str = "") -> bytes:
    """A received mail: the receiving server's headers on top (each ``results`` value becomes one
    Authentication-Results field, in order), then what the sender wrote."""
    top = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    return (
        f"{top}Received: from mail.example.com by mx.acme.test; Mon, 5 Jan 2026 17:58:02 +0100\r\n"
        f"{extra}From: {sender}\r\nTo: support@acme.test\r\nSubject: Hello\r\n"
        "Message-ID: <m1@example.com>\r\nDate: Mon, 5 Jan 2026 17:58:01 +0100\r\n\r\nHi\r\n"
    ).encode()


def check(raw: bytes, trusted: frozenset[str] = TRUSTED, sender: str = "lee@example.com") -> tuple[bool, str]:
    result = check_sender(message_from_bytes(raw, policy=policy.default), trusted, sender)
    return result.verified, result.reason


def test_dmarc_pass_for_the_from_domain_verifies() -> None:
    verified, reason = check(mail("mx.acme.test; dmarc=pass header.from=example.com"))
    assert verified
    assert reason == "dmarc=pass for example.com"


def test_the_receivers_example_with_every_method_verifies() -> None:
    raw = mail(
        "mx.acme.test; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com; "
        "dmarc=pass header.from=example.com"
    )
    assert check(raw)[0]


def test_gmail_s_folded_header_with_dkim_header_i_verifies() -> None:
    assert check(mail(GMAIL), frozenset({"mx.google.com"}))[0]
    # Without DMARC, the DKIM identity's domain (header.i) is the signing domain.
    only_dkim = GMAIL.partition(";\r\n       spf")[0]
    assert check(mail(only_dkim), frozenset({"mx.google.com"})) == (
        True,
        "dkim=pass by example.com, aligned with example.com",
    )


@pytest.mark.parametrize(
    ("signer", "sender", "verified"),
    [
        ("example.com", "lee@example.com", True),
        ("example.com", "lee@mail.example.com", True),  # the parent domain vouches for its subdomain
        ("mail.example.com", "lee@example.com", False),  # a subdomain may be delegated to someone else
        ("example.com.", "lee@EXAMPLE.com", True),
        ("badexample.com", "lee@example.com", False),
        ("mailer.example.net", "lee@example.com", False),  # a newsletter service signing for itself
        ("com", "lee@example.com", False),
    ],
)
def test_dkim_pass_counts_only_when_aligned(signer: str, sender: str, verified: bool) -> None:
    raw = mail(f"mx.acme.test; dkim=pass header.d={signer}", sender=sender)
    assert check(raw, sender=sender.lower())[0] is verified


def test_alignment_rule() -> None:
    assert aligned("example.com", "example.com")
    assert aligned("example.com", "a.b.example.com")
    assert not aligned("a.example.com", "example.com")
    assert not aligned("uk", "example.uk")


@pytest.mark.parametrize(
    "results",
    [
        "mx.acme.test; none",
        "mx.acme.test; dmarc=fail header.from=example.com; dkim=pass header.d=mailer.example.net",
        "mx.acme.test; dmarc=none header.from=example.com",
        "mx.acme.test; dkim=fail header.d=example.com; spf=pass smtp.mailfrom=example.com",
        "mx.acme.test; spf=pass smtp.mailfrom=lee@example.com",  # SPF checks the envelope, not From
        "mx.acme.test; dmarc=pass header.from=other.example",  # about another domain
        "mx.acme.test; dmarc=pass",  # which domain passed is not said
        "mx.acme.test; dkim=neutral header.d=example.com",
    ],
)
def test_anything_short_of_a_pass_leaves_the_sender_unverified(results: str) -> None:
    assert not check(mail(results))[0]


def test_a_dmarc_failure_wins_over_an_aligned_dkim_pass_in_the_same_header() -> None:
    raw = mail("mx.acme.test; dkim=pass header.d=example.com; dmarc=fail header.from=example.com")
    assert check(raw) == (False, "dmarc=fail for example.com")


def test_results_from_any_other_server_are_ignored() -> None:
    # The sender wrote this one (or a server on the way): it is not the receiving server's.
    forged = mail("mx.example.com; dmarc=pass header.from=example.com; dkim=pass header.d=example.com")
    assert check(forged) == (False, "no Authentication-Results from mx.acme.test")
    both = mail(
        "mx.example.com; dmarc=pass header.from=example.com",
        "mx.acme.test; dmarc=pass header.from=example.com",
    )
    assert check(both)[0]


def test_only_the_topmost_trusted_header_counts() -> None:
    # The receiving server prepends its header; one lower down with its name was forged by the sender.
    real_then_forged = mail(
        "mx.acme.test; dmarc=fail header.from=example.com", "mx.acme.test; dmarc=pass header.from=example.com"
    )
    assert not check(real_then_forged)[0]
    none_then_forged = mail("mx.acme.test; none", "mx.acme.test; dkim=pass header.d=example.com")
    assert not check(none_then_forged)[0]
    pass_then_other = mail("mx.acme.test; dmarc=pass header.from=example.com", "mx.acme.test; none")
    assert check(pass_then_other)[0]


def test_an_unreadable_trusted_header_verifies_nothing_even_with_a_readable_one_below() -> None:
    raw = mail("mx.acme.test; dmarc:pass", "mx.acme.test; dmarc=pass header.from=example.com")
    verified, reason = check(raw)
    assert not verified
    assert reason.startswith("unreadable Authentication-Results")
    huge = mail("mx.acme.test; dmarc=pass header.from=example.com (" + "x" * 9000 + ")")
    assert not check(huge)[0]


def test_the_authserv_id_matches_case_insensitively_with_a_version_and_comments() -> None:
    raw = mail("(checked here) MX.Acme.Test 1; dmarc=pass header.from=example.com")
    assert check(raw)[0]


def test_several_receiving_servers_can_be_trusted() -> None:
    trusted = parse_authserv_ids("mx.acme.test, mx.google.com")
    assert check(mail(GMAIL), trusted)[0]
    assert check(mail("mx.acme.test; dmarc=pass header.from=example.com"), trusted)[0]


def test_without_a_configured_authserv_id_nobody_is_verified() -> None:
    raw = mail("mx.acme.test; dmarc=pass header.from=example.com")
    assert check(raw, frozenset()) == (False, "no authserv_id configured: no sender is verified")


@pytest.mark.parametrize(
    ("sender", "extra"),
    [
        ("lee@example.com, mallory@example.com", ""),  # two addresses in From
        ("lee@example.com", "From: mallory@evil.example\r\n"),  # two From fields
    ],
)
def test_an_ambiguous_from_is_never_verified(sender: str, extra: str) -> None:
    raw = mail("mx.acme.test; dmarc=pass header.from=example.com", sender=sender, extra=extra)
    assert check(raw) == (False, "not exactly one From address")


def test_the_address_the_parser_took_must_be_the_one_checked() -> None:
    raw = mail("mx.acme.test; dmarc=pass header.from=example.com")
    assert check(raw, sender="lee@elsewhere.example") == (False, "the From field reads two ways")


def test_parse_message_marks_the_sender_authenticated() -> None:
    options = ParseOptions("support@acme.test", "secret", 2048, authserv_ids=TRUSTED)
    passed = parse_message(mail("mx.acme.test; dmarc=pass header.from=example.com"), options)
    assert isinstance(passed[0], InboundMessage)
    assert passed[0].sender_authenticated
    forged = parse_message(mail("mx.example.com; dmarc=pass header.from=example.com"), options)
    assert isinstance(forged[0], InboundMessage)
    assert not forged[0].sender_authenticated
    untrusting = ParseOptions("support@acme.test", "secret", 2048)
    [plain] = parse_message(mail("mx.acme.test; dmarc=pass header.from=example.com"), untrusting)
    assert isinstance(plain, InboundMessage)
    assert not plain.sender_authenticated


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        (None, set()),
        ("", set()),
        ("mx.google.com", {"mx.google.com"}),
        (" MX.Acme.Test , mx.google.com ", {"mx.acme.test", "mx.google.com"}),
        ("mx1.acme.test mx2.acme.test", {"mx1.acme.test", "mx2.acme.test"}),
        (["mx.google.com", "mx.acme.test"], {"mx.google.com", "mx.acme.test"}),
    ],
)
def test_the_setting_takes_one_id_or_several(value: object, ids: set[str]) -> None:
    assert parse_authserv_ids(value) == ids


@pytest.mark.parametrize(
    "value", [42, {"a": 1}, ["mx.acme.test", 7], ["mx;acme"], ["é.example"], ["x" * 256]]
)
def test_a_bad_setting_is_refused_by_name(value: object) -> None:
    with pytest.raises(ValueError, match="authserv_id"):
        parse_authserv_ids(value)


@settings(max_examples=300, deadline=None)
@given(
    results=st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=200),
    sender=st.one_of(
        st.just("Lee <lee@example.com>"),
        st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=60),
    ),
)
def test_any_header_content_gives_a_verdict_never_an_error(results: str, sender: str) -> None:
    raw = f"Authentication-Results: mx.acme.test; {results}\r\nFrom: {sender}\r\n\r\nHi\r\n".encode()
    verdict = check_sender(message_from_bytes(raw, policy=policy.default), TRUSTED, "lee@example.com")
    assert isinstance(verdict.verified, bool)
