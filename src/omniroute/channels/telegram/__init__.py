"""Telegram Bot API channel: webhook updates in, ``sendMessage`` out (see README.md)."""

from __future__ import annotations

from omniroute.channels.registry import N_, ChannelSpec, Field, FieldKind
from omniroute.channels.telegram.adapter import CHANNEL, TelegramAdapter
from omniroute.channels.telegram.bot_api import DEFAULT_API_BASE

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Telegram Bot API",
    factory=TelegramAdapter,
    required_secrets=("bot_token", "secret_token"),
    settings=(
        Field(
            "api_base",
            N_("Bot API base URL"),
            FieldKind.URL,
            default=DEFAULT_API_BASE,
            help=N_("Change only for a local Bot API server or a test double."),
            advanced=True,
        ),
    ),
    secrets=(
        Field("bot_token", N_("Bot token"), help=N_("The token @BotFather gave you (123456789:AA…).")),
        Field(
            "secret_token",
            N_("Webhook secret token"),
            help=N_(
                "A random string you choose (1–256 characters of A-Z a-z 0-9 _ -); register the webhook "
                "with the same secret_token."
            ),
        ),
    ),
)
