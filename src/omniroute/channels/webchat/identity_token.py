"""Authenticated chat: the host site vouches for its signed-in customer with a JWT. Pure.

The host site's server signs ``{"sub", "name", "email", "iat", "exp", "aud": <widget key>}`` with
the widget's shared secret (HS256) or its own private key (RS256, we hold the public key). We check
the signature with the one algorithm the widget allows (never the token's own choice), then the
times against our injected clock (pyjwt's own checks would read the wall clock), then the claims.
Every refusal names its reason: integrators debug their signing code with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from omniroute.core.errors import Unauthorized

MAX_SUBJECT_LENGTH = 200
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class VerifiedCustomer:
    subject: str
    name: str | None
    email: str | None


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"identity token: '{name}' must be a NumericDate (seconds since the epoch)"
        raise Unauthorized(msg)
    return float(value)


def _text(claims: dict[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        msg = f"identity token: '{name}' must be a string of at most {limit} characters"
        raise Unauthorized(msg)
    return value.strip() or None


def verify_identity_token(
    token: str,
    *,
    widget_key: str,
    algorithm: str,
    key: str,
    now: datetime,
    max_age_seconds: int,
    leeway_seconds: int,
) -> VerifiedCustomer:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("identity token: not a JWT") from exc
    if header.get("alg") != algorithm:
        msg = f"identity token: this widget accepts {algorithm} tokens only, not {header.get('alg')!r}"
        raise Unauthorized(msg)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=widget_key,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["exp", "iat", "aud", "sub"],
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise Unauthorized("identity token: bad signature") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized("identity token: 'aud' must be this widget's key") from exc
    except jwt.MissingRequiredClaimError as exc:
        msg = f"identity token: the '{exc.claim}' claim is required"
        raise Unauthorized(msg) from exc
    except jwt.PyJWTError as exc:
        msg = f"identity token: {exc}"
        raise Unauthorized(msg) from exc
    instant = now.timestamp()
    if _number(claims, "exp") + leeway_seconds <= instant:
        raise Unauthorized("identity token: expired")
    issued = _number(claims, "iat")
    if issued - leeway_seconds > instant:
        raise Unauthorized("identity token: issued in the future (check the host's clock)")
    if instant - issued > max_age_seconds + leeway_seconds:
        msg = f"identity token: issued more than {max_age_seconds} seconds ago"
        raise Unauthorized(msg)
    if "nbf" in claims and _number(claims, "nbf") - leeway_seconds > instant:
        raise Unauthorized("identity token: not valid yet ('nbf')")
    subject = _text(claims, "sub", MAX_SUBJECT_LENGTH)
    if subject is None:
        raise Unauthorized("identity token: 'sub' (the customer's id) must not be empty")
    email = _text(claims, "email", MAX_EMAIL_LENGTH)
    if email is not None and "@" not in email:
        raise Unauthorized("identity token: 'email' is not an email address")
    return VerifiedCustomer(
        subject=subject,
        name=_text(claims, "name", MAX_NAME_LENGTH),
        email=email.lower() if email else None,
    )
