"""SMS and MMS through Twilio (the Messages API and its signed webhooks)."""

from __future__ import annotations

from omniroute.channels.registry import ChannelSpec
from omniroute.channels.sms_twilio.adapter import CHANNEL, TwilioSmsAdapter

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="SMS (Twilio)",
    factory=TwilioSmsAdapter,
    # from_number or messaging_service_sid is also needed; the adapter says so when sending.
    required_settings=("account_sid",),
    required_secrets=("auth_token",),
)
