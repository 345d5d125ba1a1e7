"""X-Twilio-Signature exactly as Twilio computes it (shared by the SMS channel and Twilio Voice)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from omniroute.core.twilio_signature import compute_signature, signed_url, url_variants, verify

# The worked example of Twilio's security documentation (token 12345).
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_matches_twilios_documented_example() -> None:
    assert compute_signature("12345", DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert compute_signature("12345", DOC_URL, list(reversed(DOC_PARAMS))) == DOC_SIGNATURE
    assert verify("12345", DOC_URL, DOC_PARAMS, DOC_SIGNATURE) is None


def test_a_changed_value_url_or_token_fails() -> None:
    tampered = [*DOC_PARAMS[:-1], ("To", "+18005551213")]
    assert verify("12345", DOC_URL, tampered, DOC_SIGNATURE) == "X-Twilio-Signature does not match"
    assert verify("12345", DOC_URL.replace("foo=1", "foo=2"), DOC_PARAMS, DOC_SIGNATURE) is not None
    assert verify("54321", DOC_URL, DOC_PARAMS, DOC_SIGNATURE) is not None
    assert verify("12345", DOC_URL, DOC_PARAMS, None) == "missing X-Twilio-Signature header"
    assert verify("12345", DOC_URL, DOC_PARAMS, "") == "missing X-Twilio-Signature header"


@pytest.mark.parametrize(
    ("configured", "twilio_signed"),
    [
        ("https://mycompany.com/myapp.php?foo=1&bar=2", "https://mycompany.com:443/myapp.php?foo=1&bar=2"),
        ("https://mycompany.com:443/myapp.php?foo=1&bar=2", "https://mycompany.com/myapp.php?foo=1&bar=2"),
        ("http://127.0.0.1:8000/webhooks/a", "http://127.0.0.1:8000/webhooks/a"),
        ("http://127.0.0.1:8000/webhooks/a", "http://127.0.0.1/webhooks/a"),
    ],
)
def test_the_port_may_or_may_not_be_in_what_twilio_signed(configured: str, twilio_signed: str) -> None:
    signature = compute_signature("12345", twilio_signed, DOC_PARAMS)
    assert verify("12345", configured, DOC_PARAMS, signature) is None


def test_url_variants() -> None:
    assert url_variants("https://a.example/x?q=1") == (
        "https://a.example/x?q=1",
        "https://a.example:443/x?q=1",
    )
    assert url_variants("http://[::1]:8000/x") == ("http://[::1]/x", "http://[::1]:8000/x")


def test_repeated_names_contribute_each_value_sorted() -> None:
    params = [("MediaUrl", "https://b"), ("Body", "hi"), ("MediaUrl", "https://a")]
    expected = compute_signature("t", "https://x/", [])
    assert expected != compute_signature("t", "https://x/", params)
    # The string signed: the URL, then Body, then both MediaUrl values in sorted order.
    raw = "https://x/BodyhiMediaUrlhttps://aMediaUrlhttps://b"
    manual = base64.b64encode(hmac.new(b"t", raw.encode(), hashlib.sha1).digest()).decode()
    assert compute_signature("t", "https://x/", params) == manual


def test_signed_url_is_the_configured_one_plus_the_query_twilio_called() -> None:
    configured = "https://sms.example.com/webhooks/acct"
    assert signed_url(configured, "http://10.0.0.7:8000/webhooks/acct") == configured
    assert signed_url(configured, "http://10.0.0.7:8000/webhooks/acct?src=tw") == f"{configured}?src=tw"
    assert signed_url(f"{configured}?k=1", "http://10.0.0.7/webhooks/acct?k=1") == f"{configured}?k=1"
