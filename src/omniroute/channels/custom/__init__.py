"""The custom channel API (a signed JSON webhook pair for any messaging service)."""

from __future__ import annotations

from omniroute.channels.custom.adapter import CHANNEL, CustomChannelAdapter
from omniroute.channels.registry import ChannelSpec

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Custom channel API",
    factory=CustomChannelAdapter,
    required_settings=("outbound_url",),
    required_secrets=("inbound_secret", "outbound_secret"),
)
