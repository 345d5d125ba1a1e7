"""Messenger's messaging window: which ``messaging_type`` (and tag) a reply goes out with. Pure.

A Page may reply with ``messaging_type: RESPONSE`` within 24 hours of the customer's last message.
After that Meta accepts a message only with a message tag; for a person answering by hand the tag is
``HUMAN_AGENT``, allowed up to 7 days after the customer's last message, only for apps Meta granted
the Human Agent permission, and never for automated messages. So:

- within 24 hours: ``RESPONSE``, whoever wrote it;
- an agent's reply after 24 hours and within 7 days, with the account's ``human_agent_tag`` on:
  ``MESSAGE_TAG`` + ``HUMAN_AGENT``;
- anything else outside 24 hours (a bot's message, the setting off, after 7 days) fails here, before
  any Graph call, with the reason, instead of being refused by Meta (error 10/2018278).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from omniroute.channels.port import PermanentSendError

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
#: Our "customer last wrote" is when the worker stored the message, a little after Meta's own time.
#: With the tag available, an agent's reply switches to it this much before the 24 hours are up, so
#: that gap can never turn a reply Meta would take into one it refuses.
TAG_EARLY = timedelta(minutes=10)
#: The only senders whose messages may carry HUMAN_AGENT (``Outbound.sender_kind``).
HUMAN_SENDERS = frozenset({"agent"})
SETTING = "human_agent_tag"


@dataclass(frozen=True)
class Messaging:
    """The Send API's ``messaging_type`` and, for ``MESSAGE_TAG``, its ``tag``."""

    messaging_type: str
    tag: str | None = None

    def fields(self) -> dict[str, str]:
        return {"messaging_type": self.messaging_type} | ({"tag": self.tag} if self.tag else {})


RESPONSE = Messaging("RESPONSE")
HUMAN_AGENT = Messaging("MESSAGE_TAG", "HUMAN_AGENT")


def decide(
    last_customer_message_at: datetime | None,
    now: datetime,
    *,
    sender_kind: str | None,
    human_agent_tag: bool,
) -> Messaging:
    """How to send a reply now, or :class:`PermanentSendError` with what the agent can do.

    ``None`` for the customer's last message means it is not known here: the reply goes out as
    ``RESPONSE`` and Graph's own answer is the check. An unknown ``sender_kind`` is not a person, so
    it never gets the tag.
    """
    if last_customer_message_at is None:
        return RESPONSE
    elapsed = now - last_customer_message_at
    human = sender_kind in HUMAN_SENDERS
    if human and human_agent_tag and STANDARD_WINDOW - TAG_EARLY < elapsed <= HUMAN_AGENT_WINDOW:
        return HUMAN_AGENT
    if elapsed <= STANDARD_WINDOW:
        return RESPONSE
    wrote = last_customer_message_at.isoformat()
    if not human:
        msg = (
            f"outside Messenger's 24-hour messaging window (the customer last wrote at {wrote}): "
            "an automated message cannot be sent until the customer writes again (Meta forbids the "
            "HUMAN_AGENT tag for bots); an agent can take the conversation over and reply"
        )
    elif not human_agent_tag:
        msg = (
            f"outside Messenger's 24-hour messaging window (the customer last wrote at {wrote}): "
            "Messenger accepts a reply only when the customer writes again, unless the account's "
            "human_agent_tag setting is on (it needs Meta's Human Agent permission for the app), "
            "which lets agents reply for up to 7 days"
        )
    else:
        msg = (
            f"more than 7 days since the customer last wrote (at {wrote}): Messenger accepts no "
            "reply, not even with the HUMAN_AGENT tag, until the customer writes again"
        )
    raise PermanentSendError(msg)


def enabled(settings: Mapping[str, Any]) -> bool:
    """The account's ``human_agent_tag`` setting (only a real ``true`` turns it on)."""
    return settings.get(SETTING) is True


def validate_settings(settings: Mapping[str, Any], secrets: Mapping[str, str]) -> list[str]:
    """The Messenger account check: ``human_agent_tag``, when given, is a JSON boolean."""
    value = settings.get(SETTING)
    if value is not None and not isinstance(value, bool):
        return [f"{SETTING} must be true or false (true only when Meta granted the Human Agent permission)"]
    return []
