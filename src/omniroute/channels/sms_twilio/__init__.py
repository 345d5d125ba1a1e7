"""SMS and MMS through Twilio (the Messages API and its signed webhooks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omniroute.channels.registry import ChannelSpec
from omniroute.channels.sms_twilio.adapter import CHANNEL, TwilioSmsAdapter


def _needs_a_sender(settings: Mapping[str, Any], _secrets: Mapping[str, str]) -> list[str]:
    if settings.get("from_number") or settings.get("messaging_service_sid"):
        return []
    return ["sms_twilio accounts need from_number or messaging_service_sid"]


SPEC = ChannelSpec(
    channel=CHANNEL,
    title="SMS (Twilio)",
    factory=TwilioSmsAdapter,
    required_settings=("account_sid",),
    required_secrets=("auth_token",),
    validate=_needs_a_sender,
)
