"""Channel events that are not about one conversation."""

from __future__ import annotations

from typing import Literal

from omniroute.core.events import DomainEvent


class ChannelAccountChanged(DomainEvent):
    """An administrator changed a channel account: every node drops its cached adapter for it."""

    type: Literal["channel_account.changed"] = "channel_account.changed"
    account_id: str
    channel: str
    changed: list[str]
    actor_id: str | None
