"""The email channel: inbound by signed raw-MIME webhook or IMAP polling, outbound by SMTP."""

from __future__ import annotations

from omniroute.channels.email.adapter import CHANNEL, EmailAdapter
from omniroute.channels.email.poller import run_imap_pollers
from omniroute.channels.registry import ChannelSpec

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Email (IMAP/SMTP or inbound webhook)",
    factory=EmailAdapter,
    required_settings=("address", "smtp_host"),
    required_secrets=("webhook_secret",),
    background=run_imap_pollers,
    max_webhook_bytes=25 * 1024 * 1024,
)
