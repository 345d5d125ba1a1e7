"""Our outbound messages in the shape of Twilio's Messages API, and its answers back. Pure.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` takes a form: ``To``, ``From`` and/or
``MessagingServiceSid``, ``Body``, ``MediaUrl`` (repeatable) and ``StatusCallback``. It answers
201 with the Message resource (``sid`` is the id receipts come back with) or an error document
``{"code", "message", "more_info", "status"}``.

SMS shows plain text only, so what it cannot show degrades: quick replies become a numbered list
under the text; media travel as ``MediaUrl`` (MMS) up to Twilio's ten, and any beyond that, or that
Twilio could not fetch (not http/https), become links in the text; a location becomes a line naming
the place and an OpenStreetMap link (no pin emoji: one character outside GSM-7 makes the whole
message UCS-2, 70 characters a segment instead of 160).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from omniroute.channels.codec import with_location
from omniroute.channels.port import Outbound, PermanentSendError, TransientSendError
from omniroute.channels.sms_twilio.errors import describe_error

API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600  # Twilio refuses longer bodies (error 21617)
MAX_MEDIA = 10
#: Error codes that mean "later" even when Twilio answers them with a 4xx.
TRANSIENT_CODES = frozenset({14107, 20429, 30001})


@dataclass(frozen=True)
class Sender:
    """Who a message is from: a number, a Messaging Service (Twilio picks from its pool), or both."""

    from_number: str | None
    messaging_service_sid: str | None

    def fields(self) -> list[tuple[str, str]]:
        fields = []
        if self.messaging_service_sid:
            fields.append(("MessagingServiceSid", self.messaging_service_sid))
        if self.from_number:
            fields.append(("From", self.from_number))
        return fields


def messages_url(api_base: str, account_sid: str) -> str:
    return f"{api_base.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Messages.json"


def body_text(message: Outbound) -> str:
    """The text as the handset shows it: links for media that cannot go as MMS, then the options."""
    fetchable = [a.url for a in message.attachments if _fetchable(a.url)]
    links = [a.url for a in message.attachments if not _fetchable(a.url)] + fetchable[MAX_MEDIA:]
    text = with_location(message.text, message.location, marker="")
    lines = [text] if text else []
    head = "\n".join(lines + [f"[attachment] {url}" for url in links])
    if not message.quick_replies:
        return head
    options = "\n".join(f"{n}. {reply.title}" for n, reply in enumerate(message.quick_replies, 1))
    return f"{head}\n\n{options}" if head else options


def message_form(message: Outbound, sender: Sender, status_callback: str) -> list[tuple[str, str]]:
    if not sender.fields():
        raise PermanentSendError("the account has neither from_number nor messaging_service_sid")
    body = body_text(message)
    media = [a.url for a in message.attachments if _fetchable(a.url)][:MAX_MEDIA]
    if not body and not media:
        raise PermanentSendError("nothing to send: no text and no media")
    if len(body) > MAX_BODY_CHARS:
        msg = f"the text is {len(body)} characters; SMS through Twilio takes at most {MAX_BODY_CHARS}"
        raise PermanentSendError(msg)
    fields = [("To", message.to_address), *sender.fields()]
    if body:
        fields.append(("Body", body))
    fields += [("MediaUrl", url) for url in media]
    fields.append(("StatusCallback", status_callback))
    return fields


def sent_sid(document: Any) -> str:
    sid = document.get("sid") if isinstance(document, dict) else None
    if not isinstance(sid, str) or not sid:
        # Twilio accepted the request, so retrying could send twice: fail it for a person to check.
        raise PermanentSendError("Twilio accepted the message but its answer has no sid")
    return sid


def failure(
    status: int, document: Any, retry_after: str | None, now: datetime
) -> TransientSendError | PermanentSendError:
    """The exception for a non-2xx answer: 408/429/5xx (and rate-limit codes) are worth retrying."""
    error = document if isinstance(document, dict) else {}
    code, message = error.get("code"), error.get("message")
    reason = f"HTTP {status}"
    if code:
        reason += f", {describe_error(code, '')}"
    if message:
        reason += f" ({message})"
    if status in (408, 429) or status >= 500 or code in TRANSIENT_CODES:
        return TransientSendError(reason, retry_after_seconds(retry_after, now))
    return PermanentSendError(reason)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` is either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - now).total_seconds(), 0.0)


def _fetchable(url: str) -> bool:
    return url.startswith(("https://", "http://"))
