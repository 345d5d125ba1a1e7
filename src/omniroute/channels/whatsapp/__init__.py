"""WhatsApp Cloud API (Meta): one account per business phone number. See docs/channels/whatsapp.md."""

from __future__ import annotations

from omniroute.channels.registry import ChannelSpec
from omniroute.channels.whatsapp.adapter import CHANNEL, WhatsAppAdapter
from omniroute.channels.whatsapp.templates import validate_settings

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="WhatsApp Cloud API",
    factory=WhatsAppAdapter,
    required_settings=("phone_number_id",),
    required_secrets=("app_secret", "verify_token", "access_token"),
    validate=validate_settings,
)
