"""Twilio's form-encoded webhooks to our inbound items. Pure.

One URL receives both kinds Twilio sends for an account: the incoming-message webhook (``Body``,
``NumMedia``, ``MediaUrl{N}``…) and the status callbacks of messages we sent (``MessageStatus``,
``ErrorCode``), because outbound messages name the same URL as their ``StatusCallback``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omniroute.channels.codec import received_location
from omniroute.channels.port import (
    Attachment,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedPayload,
    StatusUpdate,
)
from omniroute.channels.sms_twilio.errors import describe_error
from omniroute.conversations.model import Location
from omniroute.core import twilio_signature

#: Twilio sends at most 10 media per message; a real webhook has a few dozen fields.
MAX_MEDIA = 10

#: Twilio message statuses → ours. Statuses before "sent" (accepted, scheduled, queued, sending)
#: add nothing: the message already shows "sent" once Twilio accepted our API request.
STATUSES: Mapping[str, DeliveryStatus | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "partially_delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
#: Fields kept beside the message for whoever reads the receipt log (which number, where from).
EXTRA_FIELDS = ("To", "MessagingServiceSid", "NumSegments", "FromCountry", "FromCity", "ButtonPayload")
#: Statuses of messages customers send us; never a receipt for one of ours.
INCOMING_STATUSES = frozenset({"received", "receiving"})


def form_pairs(body: bytes, *, strict: bool) -> list[tuple[str, str]]:
    """The form's name/value pairs (see ``core.twilio_signature.form_pairs``), or a 400 with the reason."""
    try:
        return twilio_signature.form_pairs(body, strict=strict)
    except twilio_signature.FormError as exc:
        raise MalformedPayload(str(exc)) from exc


def read(pairs: Sequence[tuple[str, str]], account_sid: str) -> list[Inbound]:
    """The items one webhook carries: one message, one receipt, or none (statuses we skip)."""
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)  # Twilio never repeats a webhook field; the first one counts
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    if not sid:
        raise MalformedPayload("no MessageSid: not a Twilio messaging webhook")
    if form.get("AccountSid") != account_sid:
        msg = f"AccountSid {form.get('AccountSid')!r} is not this account's ({account_sid})"
        raise MalformedPayload(msg)
    status = form.get("MessageStatus")
    if status is not None and status not in INCOMING_STATUSES:
        return _receipt(sid, status, form)
    if "Body" not in form and "NumMedia" not in form:
        raise MalformedPayload("neither an incoming message (Body, NumMedia) nor a status callback")
    return [_message(sid, form)]


def _receipt(sid: str, status: str, form: Mapping[str, str]) -> list[Inbound]:
    if status not in STATUSES:
        # Twilio adds statuses now and then; an unknown one is acknowledged, not refused, so
        # Twilio does not log our webhook as failing.
        return []
    ours = STATUSES[status]
    if ours is None:
        return []
    error = None
    if ours is DeliveryStatus.FAILED:
        error = describe_error(form.get("ErrorCode"), f"Twilio reported the message {status}")
    return [StatusUpdate(sid, ours, error)]


def _message(sid: str, form: Mapping[str, str]) -> InboundMessage:
    sender = form.get("From", "").strip()
    if not sender:
        raise MalformedPayload("an incoming message needs From")
    text = form.get("Body", "")
    if not text and form.get("ButtonText"):
        text = form["ButtonText"]  # a tapped quick-reply button (WhatsApp through Twilio)
    return InboundMessage(
        provider_message_id=sid,
        sender_address=sender,
        text=text,
        sender_name=form.get("ProfileName") or None,
        attachments=_media(form),
        location=_location(form),
        reply_to=form.get("OriginalRepliedMessageSid") or None,
        extra={key: form[key] for key in EXTRA_FIELDS if form.get(key)},
    )


def _media(form: Mapping[str, str]) -> tuple[Attachment, ...]:
    raw = form.get("NumMedia", "0") or "0"
    if not raw.isdigit() or int(raw) > MAX_MEDIA:
        msg = f"NumMedia must be a whole number from 0 to {MAX_MEDIA}, not {raw!r}"
        raise MalformedPayload(msg)
    media = []
    for index in range(int(raw)):
        url = form.get(f"MediaUrl{index}", "")
        if not url.startswith(("https://", "http://")):
            msg = f"NumMedia is {raw} but MediaUrl{index} is missing or not a URL"
            raise MalformedPayload(msg)
        content_type = form.get(f"MediaContentType{index}") or "application/octet-stream"
        media.append(Attachment(url=url, content_type=content_type))
    return tuple(media)


def _location(form: Mapping[str, str]) -> Location | None:
    """``Latitude``/``Longitude`` (WhatsApp through Twilio), with ``Label`` and ``Address`` when
    the customer shared a named place."""
    if "Latitude" not in form and "Longitude" not in form:
        return None
    try:
        lat, lon = float(form["Latitude"]), float(form["Longitude"])
    except (KeyError, ValueError) as exc:
        raise MalformedPayload("Latitude and Longitude must both be numbers") from exc
    try:
        return received_location(lat, lon, form.get("Label") or None, form.get("Address") or None)
    except MalformedPayload as exc:
        raise MalformedPayload("Latitude/Longitude are out of range") from exc
