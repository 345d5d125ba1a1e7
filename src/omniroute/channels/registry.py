"""Which adapter class serves which channel. Filled in by bootstrap (the one wiring point)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
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


def N_(text: str) -> str:  # noqa: N802 - gettext's conventional "mark only" name, which pybabel extracts
    """Mark ``text`` for the gettext catalogue without translating it here: field labels and help
    stay English in the API, and the admin page translates them in the browser (``t(label)``)."""
    return text


class FieldKind(StrEnum):
    """How the admin page asks for a value, and the JSON type it sends."""

    TEXT = "text"
    NUMBER = "number"  # a whole number
    BOOLEAN = "boolean"  # JSON true/false
    URL = "url"
    EMAIL = "email"
    CHOICE = "choice"  # one of ``choices``


@dataclass(frozen=True)
class Field:
    """One setting or secret an account of a channel takes: what the admin page shows and the catalog
    endpoint serves. A description only; the spec's ``required_*`` and ``validate`` stay the rules the
    API applies, so describing a key never changes what an account may hold."""

    key: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    #: What the adapter uses when the key is absent (None: nothing, or it depends; ``help`` says).
    default: str | int | bool | None = None
    help: str = ""
    choices: tuple[str, ...] = ()
    #: Rarely changed (provider API bases for sovereign clouds, local doubles): folded away on the page.
    advanced: bool = False


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
    #: Every setting and secret an account takes, described for the admin page (required ones too).
    settings: tuple[Field, ...] = ()
    secrets: tuple[Field, ...] = ()
    #: Settings kept in the account but managed elsewhere (WhatsApp's ``templates``, by the template
    #: sync): not in the form, and an edit from the page leaves them as they are.
    managed_settings: tuple[str, ...] = ()

    def setting_fields(self) -> tuple[Field, ...]:
        return _with_required(self.settings, self.required_settings)

    def secret_fields(self) -> tuple[Field, ...]:
        return _with_required(self.secrets, self.required_secrets)


def _with_required(described: tuple[Field, ...], required: tuple[str, ...]) -> tuple[Field, ...]:
    """The described fields, each marked required when the spec requires it, then a plain text field
    for any required key left undescribed (a third-party channel that names only its required keys
    still gets a usable form)."""
    keys = {f.key for f in described}
    marked = tuple(replace(f, required=True) if f.key in required else f for f in described)
    bare = tuple(Field(key, key.replace("_", " "), required=True) for key in required if key not in keys)
    return marked + bare


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
