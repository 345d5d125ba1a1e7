"""The voice adapter port: what every CCaaS vendor adapter implements.

An adapter only translates. ``verify`` checks that a webhook really comes from the provider (over
the raw bytes, before anything is parsed or stored) and ``parse`` turns the vendor's payload into
normalised :class:`~omniroute.voice.model.CallEvent` values. Adapters hold no state and do no I/O,
so the web layer calls them with what arrived — the URL the vendor called, the headers, the body
bytes — and hands the events to the voice service, which dedupes on ``CallEvent.key`` (provider +
the vendor-derived event id) before applying them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from omniroute.core.errors import DomainError
from omniroute.voice.model import CallEvent


@dataclass(frozen=True)
class VoiceRequest:
    """Exactly what arrived. ``url`` is the public URL the vendor was told to call (query string
    included): a proxy in front of us may rewrite the one the app sees, and Twilio signs the URL.
    The form of a form-encoded webhook is read from ``body`` by the adapter, never passed in
    separately, so the signature is checked over exactly the bytes that are then parsed (and a
    dict would lose repeated names, which Twilio signs)."""

    url: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @classmethod
    def of(
        cls, url: str, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes
    ) -> VoiceRequest:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        return cls(url=url, headers={k.lower(): v for k, v in pairs}, body=body)


class SignatureRejected(DomainError):
    """The webhook is not provably from the provider: 401 when the credential is missing or
    unreadable, 403 when it is present but wrong or outside the replay window."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.status = status


class MalformedCallEvent(DomainError):
    """Authentic, but not a payload this adapter understands (400, with the reason)."""

    status = 400


class VoiceAdapter(Protocol):
    kind: str  # "twilio_voice", "amazon_connect", "generic"
    provider: str  # the configured provider this adapter instance serves; CallEvent.provider

    def verify(self, request: VoiceRequest, secret: str) -> None:
        """Return when the request is the provider's; raise :class:`SignatureRejected` otherwise."""
        ...

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CallEvent]:
        """The call events the payload carries (none for notifications Omniroute does not use);
        raise :class:`MalformedCallEvent` for a payload that is not the vendor's."""
        ...


def read_events(adapter: VoiceAdapter, request: VoiceRequest, secret: str) -> list[CallEvent]:
    """Verify first, then parse: nothing unverified is ever read."""
    adapter.verify(request, secret)
    return adapter.parse(request.body, request.headers)


def json_document(body: bytes) -> Any:
    """The body as JSON, or a 400 that says why not."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"the body is not JSON: {exc}"
        raise MalformedCallEvent(msg) from exc
