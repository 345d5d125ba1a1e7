"""The provider registry's rules: what a configured CCaaS provider is and what makes one valid. Pure.

A provider is one external contact centre (a Twilio account, an Amazon Connect instance, anything
speaking the generic JSON) whose softphone runs in a panel of the agent workspace and whose back
end reports calls to ``/webhooks/voice/{id}``. See docs/VOICE.md ("Provider registry").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from omniroute.core.errors import InvalidInput


class Feature(StrEnum):
    CLICK_TO_DIAL = "click_to_dial"  # agents click a number in the workspace; the softphone dials
    SCREEN_POP = "screen_pop"  # the softphone asks the workspace to open the caller's record
    PRESENCE_SYNC = "presence_sync"  # Omniroute presence changes are pushed to the provider
    RECORDINGS = "recordings"  # recording links are attached to calls
    TRANSCRIPTS = "transcripts"  # transcript turns become messages of the call's conversation
    ROUTES_CALLS = "routes_calls"  # Omniroute chooses the agent for queued calls


#: Hosts a softphone or presence webhook may use over plain HTTP: a developer's own machine.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
MAX_NAME = 120
MAX_URL = 2000
MAX_SORT = 10_000
#: The custom parameters' size as compact JSON (UTF-8): settings for a softphone, not a data store.
MAX_CUSTOM_PARAMETERS_BYTES = 8 * 1024


@dataclass(frozen=True)
class Provider:
    """A configured provider as stored (the webhook secret sealed, the API token only hashed)."""

    id: str
    name: str
    kind: str
    settings: dict[str, str]
    softphone_url: str
    trusted_origin: str
    features: frozenset[Feature]
    presence_url: str | None
    agents_by_user_id: bool  # the provider sends Omniroute user ids as agent ids (no mapping table)
    sort_order: int
    enabled: bool
    webhook_secret: str  # sealed by core.secretbox
    api_token_hash: str
    created_at: datetime
    updated_at: datetime
    #: Handed to the softphone by the SDK's getEnvironment (``provider.custom_parameters``).
    custom_parameters: Mapping[str, Any] = field(default_factory=dict)

    def has(self, feature: Feature) -> bool:
        return feature in self.features

    @property
    def hears_routing(self) -> bool:
        """Omniroute routes this provider's calls and pushes reservation notices to it (to the
        same signed webhook endpoint as presence)."""
        return self.enabled and Feature.ROUTES_CALLS in self.features and self.presence_url is not None

    @property
    def syncs_presence(self) -> bool:
        return self.enabled and Feature.PRESENCE_SYNC in self.features and self.presence_url is not None


def check_name(name: str) -> str:
    clean = name.strip()
    if not 1 <= len(clean) <= MAX_NAME:
        msg = f"a provider name has 1 to {MAX_NAME} characters"
        raise InvalidInput(msg)
    return clean


def check_url(url: str, what: str) -> str:
    """An https URL, or plain http on this machine (development and local doubles)."""
    clean = url.strip()
    if len(clean) > MAX_URL:
        msg = f"the {what} is longer than {MAX_URL} characters"
        raise InvalidInput(msg)
    parts = urlsplit(clean)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        msg = f"the {what} must be an absolute https URL, got {url!r}"
        raise InvalidInput(msg)
    if parts.username or parts.password:
        msg = f"the {what} must not carry credentials"
        raise InvalidInput(msg)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        msg = f"the {what} must use https (plain http is allowed only on 127.0.0.1 or localhost)"
        raise InvalidInput(msg)
    return clean


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as browsers write it in ``MessageEvent.origin``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literals keep their brackets in an origin
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port is not None and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def check_origin(origin: str | None, softphone_url: str) -> str:
    """The origin the workspace accepts postMessage from: the softphone's own unless set explicitly
    (a softphone page that loads its frame from another host). An explicit one must be an origin,
    not a URL with a path, so a typo cannot widen or break the check silently."""
    if origin is None or not origin.strip():
        return origin_of(softphone_url)
    clean = check_url(origin, "trusted origin")
    parts = urlsplit(clean)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        msg = f"the trusted origin must be scheme://host[:port] without a path, got {origin!r}"
        raise InvalidInput(msg)
    return origin_of(clean)


def check_features(names: Iterable[str]) -> frozenset[Feature]:
    known = {f.value for f in Feature}
    unknown = sorted(set(names) - known)
    if unknown:
        msg = f"unknown features {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
        raise InvalidInput(msg)
    return frozenset(Feature(n) for n in names)


def check_custom_parameters(value: object) -> dict[str, Any]:
    """A JSON object of at most 8 KB: what the provider's softphone gets in getEnvironment."""
    if not isinstance(value, dict):
        raise InvalidInput("custom_parameters must be a JSON object")
    try:
        encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput("custom_parameters must be plain JSON (no NaN or infinity)") from exc
    if len(encoded) > MAX_CUSTOM_PARAMETERS_BYTES:
        msg = f"custom_parameters is {len(encoded)} bytes as JSON; the limit is {MAX_CUSTOM_PARAMETERS_BYTES}"
        raise InvalidInput(msg)
    loaded: dict[str, Any] = json.loads(encoded)
    return loaded


def check_sort_order(value: int) -> int:
    if not 0 <= value <= MAX_SORT:
        msg = f"sort_order must be between 0 and {MAX_SORT}"
        raise InvalidInput(msg)
    return value


def check_presence_target(features: frozenset[Feature], presence_url: str | None) -> str | None:
    """Presence sync needs somewhere to send to; a URL without the feature is kept but unused."""
    url = check_url(presence_url, "presence webhook URL") if presence_url else None
    if Feature.PRESENCE_SYNC in features and url is None:
        raise InvalidInput("presence_sync needs a presence_url to send presence changes to")
    return url


#: Adapter kinds whose webhook secret is the vendor's own credential: it cannot be generated here.
VENDOR_SECRET_KINDS = frozenset({"twilio_voice"})
