"""Telegram Bot API channel: webhook updates in, ``sendMessage`` out (see README.md)."""

from __future__ import annotations

from omniroute.channels.registry import ChannelSpec
from omniroute.channels.telegram.adapter import CHANNEL, TelegramAdapter

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Telegram Bot API",
    factory=TelegramAdapter,
    required_secrets=("bot_token", "secret_token"),
)
