"""Identity tokens from host sites: signature, audience, times and claims, each refusal named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from omniroute.channels.webchat.identity_token import verify_identity_token
from omniroute.core.errors import Unauthorized

KEY = "pk_demo_widget"
SECRET = "s" * 40
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "cust-42",
        "name": "Lee Host",
        "email": "Lee@Example.com",
        "aud": KEY,
        "iat": int(NOW.timestamp()) - 10,
        "exp": int(NOW.timestamp()) + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def verify(token: str, algorithm: str = "HS256", key: str = SECRET) -> Any:
    return verify_identity_token(
        token, widget_key=KEY, algorithm=algorithm, key=key, now=NOW, max_age_seconds=3600, leeway_seconds=30
    )


def hs(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def test_a_good_hs256_token_names_the_customer() -> None:
    found = verify(hs(claims()))
    assert (found.subject, found.name, found.email) == ("cust-42", "Lee Host", "lee@example.com")


def test_rs256_tokens_are_checked_with_the_public_key() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    token = jwt.encode(claims(), private, algorithm="RS256")
    assert verify(token, "RS256", public_pem).subject == "cust-42"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized, match="bad signature"):
        verify(jwt.encode(claims(), other, algorithm="RS256"), "RS256", public_pem)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (hs(claims(), "t" * 40), "bad signature"),
        (hs(claims(aud="pk_other")), "'aud' must be this widget's key"),
        (hs(claims(aud=None)), "'aud' claim is required"),
        (hs(claims(exp=None)), "'exp' claim is required"),
        (hs(claims(iat=None)), "'iat' claim is required"),
        (hs(claims(sub=None)), "'sub' claim is required"),
        (hs(claims(sub="  ")), "'sub'"),
        (hs(claims(exp=int(NOW.timestamp()) - 31)), "expired"),
        (hs(claims(iat=int(NOW.timestamp()) + 120)), "issued in the future"),
        (hs(claims(iat=int(NOW.timestamp()) - 4000)), "issued more than 3600 seconds ago"),
        (hs(claims(nbf=int(NOW.timestamp()) + 120)), "not valid yet"),
        (hs(claims(email="not-an-address")), "'email' is not an email address"),
        (hs(claims(name=7)), "'name' must be a string"),
        ("not.a.jwt", "not a JWT"),
        ("", "not a JWT"),
    ],
)
def test_bad_tokens_are_refused_with_the_reason(token: str, reason: str) -> None:
    with pytest.raises(Unauthorized, match=reason):
        verify(token)


def test_the_widget_not_the_token_chooses_the_algorithm() -> None:
    unsigned = jwt.encode(claims(), key=None, algorithm="none")
    with pytest.raises(Unauthorized, match="HS256 tokens only"):
        verify(unsigned)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized, match="HS256 tokens only"):
        verify(jwt.encode(claims(), private, algorithm="RS256"))


def test_clock_skew_within_the_leeway_is_forgiven() -> None:
    now = int(NOW.timestamp())
    assert verify(hs(claims(exp=now - 20, iat=now - 100))).subject == "cust-42"
    assert verify(hs(claims(iat=now + 20))).subject == "cust-42"
