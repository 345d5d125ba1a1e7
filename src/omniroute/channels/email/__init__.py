"""The email channel: inbound by signed raw-MIME webhook or IMAP polling, outbound by SMTP."""

from __future__ import annotations

from omniroute.channels.email.adapter import CHANNEL, EmailAdapter
from omniroute.channels.registry import ChannelSpec

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Email (IMAP/SMTP or inbound webhook)",
    factory=EmailAdapter,
    required_settings=("address", "smtp_host"),
    required_secrets=("webhook_secret",),
)
