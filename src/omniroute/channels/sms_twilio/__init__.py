"""SMS and MMS through Twilio (the Messages API and its signed webhooks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omniroute.channels.registry import N_, ChannelSpec, Field, FieldKind
from omniroute.channels.sms_twilio.adapter import CHANNEL, DEFAULT_API_BASE, TwilioSmsAdapter


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
    settings=(
        Field(
            "account_sid",
            N_("Account SID"),
            help=N_("The Twilio Account SID (AC…); a subaccount's SID for a subaccount's numbers."),
        ),
        Field(
            "from_number",
            N_("From number"),
            help=N_("The sending number in E.164 (+15017250604). This or a Messaging Service SID is needed."),
        ),
        Field(
            "messaging_service_sid",
            N_("Messaging Service SID"),
            help=N_(
                "A Messaging Service (MG…) to send through instead: Twilio picks the number from its pool. "
                "With both set, the From number must belong to the service."
            ),
        ),
        Field(
            "api_base",
            N_("Twilio API base URL"),
            FieldKind.URL,
            default=DEFAULT_API_BASE,
            help=N_("Change only to point the account at a local test double."),
            advanced=True,
        ),
    ),
    secrets=(
        Field(
            "auth_token",
            N_("Auth Token"),
            help=N_(
                "The account's primary Auth Token: it authenticates API calls and signs Twilio's webhooks."
            ),
        ),
    ),
)
