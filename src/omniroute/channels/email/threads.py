"""How an email finds its conversation: Message-IDs first, then a conversation token.

Mail clients thread by ``Message-ID`` / ``In-Reply-To`` / ``References``, and those are the primary
keys. They get lost when a customer starts a fresh mail instead of replying, or when a gateway rewrites
headers, so every conversation also carries a short token (``OR-`` + 10 base32 characters) that we
put in the subject of our replies (``[#OR-…]``) and, when the mail server supports sub-addressing, in
the Reply-To address (``support+OR-…@example.com``).

A token is an HMAC of the first Message-ID of the thread keyed by the account's secret, so it cannot
be guessed from the outside and needs no table of its own: each inbound message registers its own
token as a thread key (``token:OR-…``), and our replies reuse the conversation's first one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from email.utils import getaddresses

# Conversation tokens are thread labels, not credentials (S105 reads "TOKEN" as a password).
TOKEN_PREFIX = "OR-"  # noqa: S105
TOKEN_KEY_PREFIX = "token:"  # noqa: S105
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_TOKEN = r"OR-[A-Z2-7]{10}"  # noqa: S105
_SUBJECT_TOKEN = re.compile(rf"\[#({_TOKEN})\]", re.IGNORECASE)
_PLUS_TOKEN = re.compile(rf"^(?P<local>[^+@]+)\+(?P<token>{_TOKEN})@(?P<domain>.+)$", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|antw|ref|r)\s*:", re.IGNORECASE)
#: Keep the References header to a sensible length; the first and the latest ids matter most.
MAX_REFERENCES = 20


def message_ids(value: object) -> list[str]:
    """The ``<id@host>`` items of a Message-ID, In-Reply-To or References header, in order."""
    return _MESSAGE_ID.findall(str(value)) if value else []


def is_message_id(key: str) -> bool:
    return _MESSAGE_ID.fullmatch(key) is not None


def token_for(secret: str, message_id: str) -> str:
    digest = hmac.new(secret.encode(), message_id.encode(), hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.b32encode(digest).decode()[:10]


def token_key(token: str) -> str:
    return TOKEN_KEY_PREFIX + token.upper()


def subject_tokens(subject: str | None) -> list[str]:
    return [t.upper() for t in _SUBJECT_TOKEN.findall(subject or "")]


def plus_tokens(recipients: Iterable[str], account_address: str) -> list[str]:
    """Tokens from recipient addresses of the form ``<account local part>+OR-…@<account domain>``."""
    local, _, domain = account_address.lower().partition("@")
    found = []
    for _, address in getaddresses(list(recipients)):
        match = _PLUS_TOKEN.match(address)
        if match and match["local"].lower() == local and match["domain"].lower() == domain:
            found.append(match["token"].upper())
    return found


def plus_address(account_address: str, token: str) -> str:
    local, _, domain = account_address.partition("@")
    return f"{local}+{token}@{domain}"


def conversation_token(keys: Sequence[str]) -> str | None:
    """The token our replies carry: the conversation's first registered one."""
    for key in keys:
        if key.startswith(TOKEN_KEY_PREFIX):
            return key.removeprefix(TOKEN_KEY_PREFIX)
    return None


def reply_subject(subject: str | None, token: str | None) -> str:
    base = (subject or "").strip() or "(no subject)"
    if not _REPLY_PREFIX.match(base):
        base = f"Re: {base}"
    if token and token.upper() not in (t.upper() for t in subject_tokens(base)):
        base = f"{base} [#{token}]"
    return base


def references(keys: Sequence[str]) -> list[str]:
    ids = [k for k in keys if is_message_id(k)]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids
