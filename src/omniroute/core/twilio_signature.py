"""Twilio's webhook signature, as Twilio specifies it.

``X-Twilio-Signature`` is base64(HMAC-SHA1(auth token, url + params)) where ``url`` is the full URL
Twilio called (query string included) and ``params`` are the POST parameters sorted by name, each
written as name followed by value with no separators; a repeated name contributes each of its
values, sorted. Twilio does not always write the default port the same way (``:443`` may or may
not be in what it signed), so a signature is accepted over the URL with or without the port, as
Twilio's own SDKs do.

The scheme has no timestamp, so a captured request can be replayed; every user of it must make a
replay harmless by deduplicating on Twilio's ids (the SMS channel's receipts on ``MessageSid`` +
status, voice call events on their event ids).

Shared by every Twilio integration: the SMS channel and the Twilio Voice adapter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

HEADER = "x-twilio-signature"
#: Present when a Twilio Webhooks Rule signs with its own shared key instead of the auth token.
RULE_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
DEFAULT_PORTS = {"http": 80, "https": 443}


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    by_name: dict[str, list[str]] = {}
    for name, value in params:
        by_name.setdefault(name, []).append(value)
    signed = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> tuple[str, str]:
    """The URL without its port and with it (the scheme's default port when none is written)."""
    parts = urlsplit(url)
    port = parts.port
    bare_netloc = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    with_port = port if port is not None else DEFAULT_PORTS.get(parts.scheme, 80)
    return (
        urlunsplit(parts._replace(netloc=bare_netloc)),
        urlunsplit(parts._replace(netloc=f"{bare_netloc}:{with_port}")),
    )


def signed_url(webhook_url: str, request_url: str) -> str:
    """The URL Twilio signed: the configured webhook URL (a proxy may rewrite the one we see),
    plus the query string the request carried when the configured URL has none of its own."""
    query = urlsplit(request_url).query
    if query and not urlsplit(webhook_url).query:
        return f"{webhook_url}?{query}"
    return webhook_url


def verify(auth_token: str, url: str, params: Iterable[tuple[str, str]], header: str | None) -> str | None:
    """None when the signature is Twilio's, else the reason it is not."""
    if not header:
        return "missing X-Twilio-Signature header"
    pairs = list(params)
    for candidate in url_variants(url):
        expected = compute_signature(auth_token, candidate, pairs)
        if hmac.compare_digest(expected.encode(), header.strip().encode()):
            return None
    return "X-Twilio-Signature does not match"


#: More fields than any Twilio webhook sends: a guard against oversized forms.
MAX_FIELDS = 200


class FormError(ValueError):
    """A Twilio webhook body that is not a readable form (each adapter maps it to its 400)."""


def form_pairs(body: bytes, *, strict: bool) -> list[tuple[str, str]]:
    """The form's name/value pairs in order, blanks kept (an MMS without text has ``Body=``).

    The lenient reading (undecodable bytes replaced) is what the signature is checked over, so a
    forged body fails as a bad signature; the strict one runs only once the signature holds.
    """
    errors = "strict" if strict else "replace"
    try:
        return parse_qsl(
            body.decode("utf-8", errors=errors),
            keep_blank_values=True,
            errors=errors,
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError as exc:
        msg = f"the form is not UTF-8: {exc.reason}"
        raise FormError(msg) from exc
    except ValueError as exc:
        msg = f"the form has more than {MAX_FIELDS} fields"
        raise FormError(msg) from exc
