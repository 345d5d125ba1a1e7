"""Our reply as a MIME message: threaded into the customer's mail client, plain text with an HTML twin.

- ``Message-ID`` is made from the outbox id, so a send retried after a lost answer carries the same id
  (mail clients show it once) and the id we record as the provider id is the one the customer's reply
  will name in ``In-Reply-To``.
- ``In-Reply-To`` / ``References`` come from the conversation's thread keys; the subject carries the
  conversation token (``Re: <subject> [#OR-…]``) for mail that lost its headers on the way back.
- What mail cannot show natively degrades to text: quick replies become a numbered list to answer
  with; a location becomes a line naming the place, linked to OpenStreetMap. Files travel as real
  MIME attachments (the bytes read from the attachment store); a file whose bytes are not at hand
  (removed since) stays a link in the text.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from omniroute.channels.email import threads
from omniroute.channels.email.settings import EmailSettings
from omniroute.channels.port import Attachment, Outbound, PermanentSendError

_LINE_BREAKS = re.compile(r"[\r\n]+")


def message_id_for(outbound_id: str, domain: str) -> str:
    return f"<or.{outbound_id}@{domain}>"


def _parent(message: Outbound, references: list[str], domain: str) -> str | None:
    """The message our reply answers: the customer's latest one in the thread.

    Thread keys come oldest first, but our own sent ids may be recorded a little after the fact, so
    the latest *customer* id is chosen rather than the last key.
    """
    theirs = [r for r in references if not (r.startswith("<or.") and r.endswith(f"@{domain}>"))]
    if theirs:
        return theirs[-1]
    if references:
        return references[-1]
    return message.in_reply_to if threads.is_message_id(message.in_reply_to or "") else None


def compose(message: Outbound, settings: EmailSettings, *, now: datetime) -> EmailMessage:
    to_address = _recipient(message.to_address)
    token = threads.conversation_token(message.thread_keys)
    references = threads.references(message.thread_keys)
    in_reply_to = _parent(message, references, settings.domain)
    if in_reply_to:
        # The parent goes last: clients read the end of References as the message answered.
        references = [r for r in references if r != in_reply_to] + [in_reply_to]

    mail = EmailMessage()
    mail["From"] = Address(settings.display_name, addr_spec=settings.address)
    mail["To"] = to_address
    mail["Subject"] = _LINE_BREAKS.sub(" ", threads.reply_subject(message.subject, token))
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id_for(message.outbound_id, settings.domain)
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = " ".join(references)
    if settings.plus_address_replies and token:
        mail["Reply-To"] = Address(
            settings.display_name, addr_spec=threads.plus_address(settings.address, token)
        )
    mail.set_content(plain_body(message))
    mail.add_alternative(html_body(message), subtype="html")
    for attachment in message.attachments:
        if attachment.content is None:
            continue
        maintype, _, subtype = attachment.content_type.partition("/")
        if not subtype or maintype in ("multipart", "message"):
            maintype, subtype = "application", "octet-stream"
        mail.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=_LINE_BREAKS.sub(" ", attachment.filename or "attachment"),
        )
    return mail


def plain_body(message: Outbound) -> str:
    blocks = [message.text.strip()]
    if message.location is not None:
        blocks.append(f"{message.location.line()}\n{message.location.map_url}")
    if message.quick_replies:
        options = "\n".join(f"{i}. {q.title}" for i, q in enumerate(message.quick_replies, 1))
        blocks.append(f"Reply with one of:\n{options}")
    links = _linked(message)
    if links:
        files = "\n".join(f"- {a.filename or a.content_type}: {a.url}" for a in links)
        blocks.append(f"Attachments:\n{files}")
    return "\n\n".join(b for b in blocks if b) + "\n"


def html_body(message: Outbound) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", message.text.strip()) if p.strip()]
    parts = [f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs]
    if (place := message.location) is not None:
        parts.append(f'<p><a href="{html.escape(place.map_url)}">{html.escape(place.line())}</a></p>')
    if message.quick_replies:
        items = "".join(f"<li>{html.escape(q.title)}</li>" for q in message.quick_replies)
        parts.append(f"<p>Reply with one of:</p><ol>{items}</ol>")
    if links := _linked(message):
        items = "".join(
            f'<li><a href="{html.escape(a.url)}">{html.escape(a.filename or a.content_type)}</a></li>'
            if a.url.startswith(("https://", "http://"))
            else f"<li>{html.escape(a.filename or a.content_type)}</li>"
            for a in links
        )
        parts.append(f"<p>Attachments:</p><ul>{items}</ul>")
    body = "\n".join(parts)
    return f'<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n{body}\n</body></html>\n'


def _linked(message: Outbound) -> list[Attachment]:
    """Files that go as links because their bytes are not here (the rest are MIME parts)."""
    return [a for a in message.attachments if a.content is None]


def _recipient(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address or _LINE_BREAKS.search(value):
        msg = f"{value!r} is not an email address"
        raise PermanentSendError(msg)
    return address
