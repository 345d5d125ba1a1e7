"""Which adapter class serves which channel. Filled in by bootstrap (the one wiring point)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from omniroute.channels.port import ChannelAdapter
from omniroute.core.clock import Clock


@dataclass(frozen=True)
class AccountConfig:
    """One configured account as its adapter sees it: settings plus opened secrets."""

    id: str
    channel: str
    name: str
    settings: Mapping[str, Any]
    secrets: Mapping[str, str]
    webhook_url: str  # where the provider must send this account's webhooks


@dataclass(frozen=True)
class AdapterContext:
    config: AccountConfig
    http: httpx.AsyncClient
    clock: Clock


AdapterFactory = Callable[[AdapterContext], ChannelAdapter]


@dataclass(frozen=True)
class ChannelSpec:
    """A channel's adapter factory and the settings and secrets an account of it needs."""

    channel: str
    title: str
    factory: AdapterFactory
    required_settings: tuple[str, ...] = ()
    required_secrets: tuple[str, ...] = ()
    #: Checks beyond "these keys are present" (e.g. "from_number or messaging_service_sid");
    #: returns the problems, empty when the account is usable.
    validate: Callable[[Mapping[str, Any], Mapping[str, str]], list[str]] | None = None
    #: Work a channel runs beside the worker for as long as the application does (IMAP polling).
    background: Callable[[Any], Coroutine[Any, Any, None]] | None = None
    #: The largest webhook body this channel's provider sends (email carries attachments).
    max_webhook_bytes: int = 1024 * 1024


class ChannelRegistry:
    def __init__(self) -> None:
        self._specs: dict[str, ChannelSpec] = {}

    def register(self, spec: ChannelSpec) -> None:
        if spec.channel in self._specs:
            msg = f"channel {spec.channel!r} registered twice"
            raise ValueError(msg)
        self._specs[spec.channel] = spec

    def get(self, channel: str) -> ChannelSpec | None:
        return self._specs.get(channel)

    def channels(self) -> list[ChannelSpec]:
        return sorted(self._specs.values(), key=lambda s: s.channel)
