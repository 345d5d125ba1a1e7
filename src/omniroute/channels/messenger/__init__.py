"""Facebook Messenger (Meta Messenger Platform): one account per Facebook Page.
See docs/channels/messenger.md."""

from __future__ import annotations

from omniroute.channels.messenger.adapter import CHANNEL, MessengerAdapter
from omniroute.channels.messenger.window import validate_settings
from omniroute.channels.registry import ChannelSpec

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Facebook Messenger",
    factory=MessengerAdapter,
    required_settings=("page_id",),
    required_secrets=("app_secret", "verify_token", "access_token"),
    validate=validate_settings,
)
