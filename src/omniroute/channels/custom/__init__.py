"""The custom channel API (a signed JSON webhook pair for any messaging service)."""

from __future__ import annotations

from omniroute.channels import fields
from omniroute.channels.custom.adapter import CHANNEL, CustomChannelAdapter
from omniroute.channels.registry import N_, ChannelSpec, Field, FieldKind

SPEC = ChannelSpec(
    channel=CHANNEL,
    title="Custom channel API",
    factory=CustomChannelAdapter,
    required_settings=("outbound_url",),
    required_secrets=("inbound_secret", "outbound_secret"),
    settings=(
        Field(
            "outbound_url",
            N_("Outbound URL"),
            FieldKind.URL,
            help=N_("Where Omniroute POSTs agents' replies (signed with the outbound secret)."),
        ),
        fields.ALLOW_PRIVATE_MEDIA_HOSTS,
    ),
    secrets=(
        Field("inbound_secret", N_("Inbound secret"), help=N_("Signs what your service sends to Omniroute.")),
        Field(
            "outbound_secret", N_("Outbound secret"), help=N_("Signs what Omniroute sends to your service.")
        ),
    ),
)
