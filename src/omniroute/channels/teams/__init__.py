"""Microsoft Teams through the Bot Framework: verified activities in, Bot Connector replies out
(see README.md)."""

from __future__ import annotations

from omniroute.channels.registry import ChannelSpec
from omniroute.channels.teams.adapter import CHANNEL, TeamsAdapter

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Microsoft Teams (Bot Framework)",
    factory=TeamsAdapter,
    required_settings=("app_id",),
    required_secrets=("app_password",),
)
