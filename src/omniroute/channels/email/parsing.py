"""A raw RFC 5322 message to inbound items: a customer's message, delivery reports, or nothing.

Pure (no I/O, no clock): the webhook and the IMAP poller both hand their raw bytes here.

- A normal mail becomes one :class:`InboundMessage`: sender from ``From`` (authenticated only by a
  trusted ``Authentication-Results``, see authentication.py), the text of the plain part
  (or the HTML part turned into text) without quoted history, attachments as metadata, threading keys
  from ``Message-ID`` / ``In-Reply-To`` / ``References`` plus conversation tokens.
- A delivery status notification (RFC 3464 bounce) or a read receipt (RFC 8098 MDN) about one of our
  messages becomes a :class:`StatusUpdate` (failed / delivered / read).
- Auto-replies (RFC 3834 ``Auto-Submitted``, ``Precedence: bulk``…) and copies of our own mail become
  nothing: answering an out-of-office message with a routed conversation is how mail loops start.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime

from omniroute.channels.email import threads
from omniroute.channels.email.authentication import check_sender
from omniroute.channels.email.html_text import html_to_text
from omniroute.channels.email.quoting import strip_quoted
from omniroute.channels.port import (
    Attachment,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedPayload,
    StatusUpdate,
)

#: Form fields that carry the raw message: SendGrid Inbound Parse ("POST the raw, full MIME
#: message") and Mailgun routes forwarding to a URL ending in "mime".
RAW_FORM_FIELDS = ("email", "body-mime")
#: Message-IDs longer than this are hashed, so the dedupe key fits its column.
MAX_ID_LENGTH = 250
NO_SUBJECT = "(no subject)"
_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply"})
_DAEMONS = frozenset({"mailer-daemon", "postmaster"})
_DSN_ACTIONS = {"failed": DeliveryStatus.FAILED, "delivered": DeliveryStatus.DELIVERED}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PATH_PARTS = re.compile(r"^.*[/\\]")


@dataclass(frozen=True)
class ParseOptions:
    account_address: str  # our address: mail from it is our own
    token_secret: str  # keys the conversation tokens (see threads.py)
    max_text_bytes: int  # longer text is shortened, so the transcript's limit is never hit
    #: Receiving servers whose Authentication-Results verify the From address; empty: none does.
    authserv_ids: frozenset[str] = frozenset()


def read_webhook_body(body: bytes, content_type: str | None) -> bytes:
    """The raw message in a webhook body: the body itself, or the raw-MIME field of a form post."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        assert content_type is not None
        form = message_from_bytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body, policy=policy.HTTP
        )
        if not form.is_multipart():
            raise MalformedPayload("multipart/form-data body without parts")
        for part in _subparts(form):
            if part.get_param("name", header="content-disposition") in RAW_FORM_FIELDS:
                raw = part.get_payload(decode=True)
                if isinstance(raw, bytes):
                    return raw
        fields = " or ".join(repr(f) for f in RAW_FORM_FIELDS)
        msg = f"form post without a {fields} field holding the raw message"
        raise MalformedPayload(msg)
    if media_type in ("application/json", "application/x-www-form-urlencoded"):
        msg = f"expected a raw RFC 5322 message (message/rfc822), not {media_type}"
        raise MalformedPayload(msg)
    return body


def parse_message(raw: bytes, options: ParseOptions) -> list[Inbound]:
    if not raw.strip():
        raise MalformedPayload("empty message")
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    if not msg.keys() or not (_header(msg, "From") or _header(msg, "Message-ID")):
        raise MalformedPayload("not an RFC 5322 message: no From or Message-ID header field")
    if msg.get_content_type() == "multipart/report":
        return list(_report(msg))
    sender_name, sender_address = _sender(msg)
    if sender_address == options.account_address.lower() or _is_automatic(msg, sender_address):
        return []
    return [_inbound(msg, raw, options, sender_name, sender_address)]


def _inbound(
    msg: EmailMessage, raw: bytes, options: ParseOptions, sender_name: str | None, sender_address: str
) -> InboundMessage:
    ids = threads.message_ids(_header(msg, "Message-ID"))
    # Without a usable Message-ID the bytes themselves identify the message (a redelivery is equal).
    provider_id = ids[0] if ids and len(ids[0]) <= MAX_ID_LENGTH else "sha256:" + _digest(raw)
    subject = _header(msg, "Subject").strip() or NO_SUBJECT
    recipients = [_header(msg, name) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]
    tokens = [
        *threads.subject_tokens(subject),
        *threads.plus_tokens(recipients, options.account_address),
        threads.token_for(options.token_secret, provider_id),
    ]
    references = [i for i in threads.message_ids(_header(msg, "References")) if len(i) <= MAX_ID_LENGTH]
    in_reply_to = threads.message_ids(_header(msg, "In-Reply-To"))
    body_parts, text = _body(msg)
    return InboundMessage(
        provider_message_id=provider_id,
        sender_address=sender_address,
        text=_shorten(text, options.max_text_bytes),
        sender_name=sender_name,
        attachments=tuple(_attachments(msg, body_parts)),
        reply_to=in_reply_to[0] if in_reply_to and len(in_reply_to[0]) <= MAX_ID_LENGTH else None,
        thread_keys=tuple(dict.fromkeys([*references, *(threads.token_key(t) for t in tokens)])),
        subject=subject[:500],
        sent_at=_date(msg),
        sender_authenticated=check_sender(msg, options.authserv_ids, sender_address).verified,
        extra={
            "to": [a for _, a in getaddresses([_header(msg, "To")]) if a],
            "cc": [a for _, a in getaddresses([_header(msg, "Cc")]) if a],
        },
    )


def _header(msg: Message, name: str) -> str:
    """A header as text; a field too broken for the structured parser is read as it came."""
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError, AttributeError):
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return _CONTROL.sub("", str(value)) if value is not None else ""


def _sender(msg: EmailMessage) -> tuple[str | None, str]:
    for name, address in getaddresses([_header(msg, "From")]):
        if "@" in address:
            return (name.strip() or None), address.strip().lower()
    raise MalformedPayload("no usable address in the From header field")


def _is_automatic(msg: EmailMessage, sender_address: str) -> bool:
    auto_submitted = _header(msg, "Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if _header(msg, "Precedence").strip().lower() in _AUTOMATIC_PRECEDENCE:
        return True
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return True
    if _header(msg, "Return-Path").strip() == "<>":  # the null sender: bounces and notifications
        return True
    return sender_address.partition("@")[0] in _DAEMONS


def _report(msg: EmailMessage) -> list[StatusUpdate]:
    """Status updates from a bounce (RFC 3464) or a read receipt (RFC 8098) about our messages."""
    report_type = str(msg.get_param("report-type") or "").lower()
    parts = [p for p in msg.iter_parts() if isinstance(p, EmailMessage)]
    if report_type == "delivery-status":
        original = next((_original_id(p) for p in parts if _original_id(p)), None)
        status_part = next((p for p in parts if p.get_content_type() == "message/delivery-status"), None)
        if original is None or status_part is None:
            return []
        updates = []
        for block in _subparts(status_part):
            action = str(block.get("Action", "")).strip().lower()
            status = _DSN_ACTIONS.get(action)
            if status is not None:
                diagnostic = " ".join(str(block.get("Diagnostic-Code") or block.get("Status") or "").split())
                error = f"bounced: {diagnostic}"[:1000] if status is DeliveryStatus.FAILED else None
                updates.append(StatusUpdate(original, status, error))
        # One message to one customer: the worst outcome stands for it.
        updates.sort(key=lambda u: u.status is DeliveryStatus.FAILED, reverse=True)
        return updates[:1]
    if report_type == "disposition-notification":
        notice = next((p for p in parts if p.get_content_type() == "message/disposition-notification"), None)
        if notice is None:
            return []
        blocks = _subparts(notice)
        if not blocks:
            return []
        fields = blocks[0]
        original_ids = threads.message_ids(fields.get("Original-Message-ID"))
        disposition = str(fields.get("Disposition", "")).lower()
        if original_ids and disposition.rstrip().endswith("displayed"):
            return [StatusUpdate(original_ids[0], DeliveryStatus.READ)]
    return []


def _original_id(part: EmailMessage) -> str | None:
    """The Message-ID of the returned message (its headers, or all of it, ride along in a bounce)."""
    ctype = part.get_content_type()
    headers: Message
    if ctype == "text/rfc822-headers":
        headers = message_from_string(str(part.get_content()), policy=policy.default)
    elif ctype in ("message/rfc822", "message/global") and _subparts(part):
        headers = _subparts(part)[0]
    else:
        return None
    ids = threads.message_ids(headers.get("Message-ID"))
    return ids[0] if ids else None


def _subparts(part: Message) -> list[Message]:
    """The messages inside a multipart or message/* part (field blocks, for delivery reports)."""
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _body(msg: EmailMessage) -> tuple[set[int], str]:
    """(ids of the parts that make up the body, the text a reader sees)."""
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    used = {id(p) for p in (plain, html) if p is not None}
    if plain is not None:
        return used, strip_quoted(_normalise(_content(plain)))
    if html is not None:
        markup = _content(html)
        text = html_to_text(markup) or html_to_text(markup, drop_quotes=False)
        return used, strip_quoted(_normalise(text))
    return used, ""


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, ValueError):
        content = None  # an unknown or lying charset: decode what is there
    if isinstance(content, str):
        return content
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _normalise(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _shorten(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    note = f"\n[… message shortened: {len(data) - max_bytes} more bytes in the original mail]"
    return data[: max_bytes - len(note.encode())].decode("utf-8", "ignore") + note


def _attachments(msg: EmailMessage, body_parts: set[int]) -> list[Attachment]:
    found: list[Attachment] = []

    def visit(part: Message) -> None:
        ctype = part.get_content_type()
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            for sub in _subparts(part):
                visit(sub)
            return
        if id(part) in body_parts:
            return
        is_file = part.get_content_disposition() == "attachment" or part.get_filename()
        if ctype in ("text/plain", "text/html") and not is_file:
            return  # another rendering of the body (e.g. the HTML twin of the plain part)
        found.append(_attachment(part))

    visit(msg)
    return found


def _attachment(part: Message) -> Attachment:
    ctype = part.get_content_type()
    if part.get_content_maintype() == "message":
        data = part.as_bytes()
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    content_id = threads.message_ids(part.get("Content-ID"))
    # The bytes travel with the item (the channel service stores them in the attachment store,
    # no download needed); inline parts keep their cid: reference, the others a content address.
    url = f"cid:{content_id[0][1:-1]}" if content_id else f"email-attachment:sha256:{_digest(data)}"
    return Attachment(url=url, content_type=ctype, filename=_filename(part), size=len(data), content=data)


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, LookupError):
        return None
    if not name:
        return None
    cleaned = _CONTROL.sub("", _PATH_PARTS.sub("", str(name))).strip()
    return cleaned[:200] or None


def _date(msg: EmailMessage) -> datetime | None:
    value = _header(msg, "Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
