"""Is the ``From`` address really the sender's? Decided from the receiving server's
``Authentication-Results`` header (RFC 8601). Pure.

Anyone can write any ``From`` address, so a mail's sender proves nothing by itself. What does prove
it is a check your receiving mail server already made and wrote down: DMARC passed for the From
domain, or a DKIM signature passed whose signing domain (``header.d``) is the From domain or a parent
of it. Only results written by the servers named in the account's ``authserv_id`` count: a sender
can put an ``Authentication-Results`` header with any content into the mail it sends.

Of those, only the topmost one is read. A receiving server adds its header at the top; one further
down carrying the same authserv-id was there before the mail arrived (a forgery, if the server
did not remove it as RFC 8601 section 5 asks). Parsing is ``authres``'s, strict: an unreadable
topmost header verifies nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from typing import Any

import authres

#: A header longer than this is no server's result line; it is not parsed at all.
MAX_HEADER_CHARS = 8192
_COMMENT = re.compile(r"\([^()]*\)")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ID_CHARS = re.compile(r"^[\x21-\x7e]{1,255}$")
_DMARC_FAIL = frozenset({"fail", "permerror"})


@dataclass(frozen=True)
class SenderCheck:
    """Whether the From address counts as verified, and why (for logs and tests)."""

    verified: bool
    reason: str


def parse_authserv_ids(value: object) -> frozenset[str]:
    """The ``authserv_id`` setting: one id, several separated by commas or spaces, or a list.

    Raises ValueError naming the setting for anything else (an authserv-id is one token, usually the
    receiving server's host name, such as ``mx.google.com``)."""
    if value is None or value == "":
        return frozenset()
    if isinstance(value, str):
        items: Iterable[object] = value.replace(",", " ").split()
    elif isinstance(value, list | tuple):
        items = value
    else:
        msg = f"authserv_id must be a host name or a list of them, not {value!r}"
        raise ValueError(msg)
    ids = set()
    for item in items:
        text = item.strip().lower() if isinstance(item, str) else ""
        if not _ID_CHARS.match(text) or ";" in text or '"' in text:
            msg = f"authserv_id {item!r} is not an authserv-id (a host name such as mx.google.com)"
            raise ValueError(msg)
        ids.add(text)
    return frozenset(ids)


def check_sender(msg: Message, trusted: frozenset[str], sender_address: str) -> SenderCheck:
    """Decide whether ``sender_address`` (the From address the parser took) is verified by a
    trusted ``Authentication-Results``."""
    if not trusted:
        return SenderCheck(False, "no authserv_id configured: no sender is verified")
    from_domain = _from_domain(msg)
    if from_domain is None:
        return SenderCheck(False, "not exactly one From address")
    if from_domain != _domain(sender_address):
        # Two readings of one From field disagree: whichever the receiver checked, trust neither.
        return SenderCheck(False, "the From field reads two ways")
    header = _topmost_trusted(msg, trusted)
    if header is None:
        return SenderCheck(False, "no Authentication-Results from " + ", ".join(sorted(trusted)))
    try:
        parsed: Any = authres.AuthenticationResultsHeader.parse_value(header)
    except (authres.AuthResError, ValueError, IndexError) as exc:
        return SenderCheck(False, f"unreadable Authentication-Results: {exc}")
    return decide(from_domain, parsed.results)


def decide(from_domain: str, results: Iterable[Any]) -> SenderCheck:
    """The rule over one header's results (authres result objects: method, result, properties)."""
    dmarc_pass = dkim_pass = None
    for result in results:
        method = str(getattr(result, "method", "")).lower()
        outcome = str(getattr(result, "result", "")).lower()
        props = _properties(result)
        if method == "dmarc":
            reported = _domain(props.get(("header", "from"), ""))
            if reported != from_domain:
                continue  # about another domain (never ours to trust)
            if outcome in _DMARC_FAIL:
                return SenderCheck(False, f"dmarc={outcome} for {from_domain}")
            if outcome == "pass":
                dmarc_pass = f"dmarc=pass for {from_domain}"
        elif method == "dkim" and outcome == "pass":
            signer = _domain(props.get(("header", "d")) or props.get(("header", "i"), ""))
            if signer and aligned(signer, from_domain):
                dkim_pass = f"dkim=pass by {signer}, aligned with {from_domain}"
    found = dmarc_pass or dkim_pass
    if found:
        return SenderCheck(True, found)
    return SenderCheck(False, f"no DMARC pass nor aligned DKIM pass for {from_domain}")


def aligned(signer: str, from_domain: str) -> bool:
    """Relaxed alignment, kept simple: the signing domain is the From domain or a parent of it
    (``example.com`` vouches for ``mail.example.com``), and never a bare top-level domain. A
    subdomain does not vouch for its parent: it may be delegated to someone else."""
    if "." not in signer:
        return False
    return from_domain == signer or from_domain.endswith("." + signer)


def _from_domain(msg: Message) -> str | None:
    """The From address's domain, when there is exactly one From field with exactly one address
    (DMARC is undefined otherwise, and receivers differ on which address they checked)."""
    fields = [value for name, value in msg.raw_items() if name.lower() == "from"]
    if len(fields) != 1:
        return None
    addresses = [a for _, a in getaddresses([_unfold(str(fields[0]))]) if a]
    if len(addresses) != 1 or "@" not in addresses[0]:
        return None
    return _domain(addresses[0]) or None


def _topmost_trusted(msg: Message, trusted: frozenset[str]) -> str | None:
    for name, value in msg.raw_items():
        if name.lower() != "authentication-results":
            continue
        text = _unfold(str(value))
        if _authserv_id(text) in trusted:
            return text if len(text) <= MAX_HEADER_CHARS else ""
    return None


def _authserv_id(value: str) -> str:
    """The header's authserv-id, read leniently (only to find the header; it is parsed strictly)."""
    text = value
    while True:  # comments may nest: peel the innermost until none is left
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    head = text.split(";", 1)[0].split()
    return head[0].strip('"').lower() if head else ""


def _properties(result: Any) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for prop in getattr(result, "properties", ()) or ():
        key = (str(prop.type).lower(), str(prop.name).lower())
        found.setdefault(key, str(prop.value))
    return found


def _domain(value: str) -> str:
    """A domain (or the domain of an address, ``@example.com`` included), lower-case, as ASCII."""
    domain = value.rpartition("@")[2].strip().strip('"').rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", "").replace("\n", " ")
