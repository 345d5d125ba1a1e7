"""Voice vendor adapters, one package each, behind the port in ``port.py``.

``create_adapter`` builds one from a provider's stored settings, so the provider registry and
the web layer never import a vendor package directly.
"""

from __future__ import annotations

from collections.abc import Mapping

from omniroute.core.clock import Clock
from omniroute.core.errors import InvalidInput
from omniroute.voice.adapters.amazon_connect import AmazonConnectAdapter
from omniroute.voice.adapters.amazon_connect.adapter import DEFAULT_API_KEY_HEADER
from omniroute.voice.adapters.generic import GenericVoiceAdapter
from omniroute.voice.adapters.port import VoiceAdapter
from omniroute.voice.adapters.twilio_voice import TwilioVoiceAdapter

#: Adapter kind → the optional settings it reads (all strings).
SETTINGS: Mapping[str, frozenset[str]] = {
    TwilioVoiceAdapter.kind: frozenset({"account_sid", "webhook_url"}),
    AmazonConnectAdapter.kind: frozenset({"instance_arn", "api_key_header"}),
    GenericVoiceAdapter.kind: frozenset(),
}
KINDS = tuple(SETTINGS)


def create_adapter(
    kind: str, *, provider: str, clock: Clock, settings: Mapping[str, str] | None = None
) -> VoiceAdapter:
    """The adapter of ``kind`` for the configured provider ``provider``; 422 for an unknown kind or
    a setting the kind does not take (a typo would otherwise silently switch a check off)."""
    if kind not in SETTINGS:
        msg = f"unknown voice adapter {kind!r}; expected one of {', '.join(KINDS)}"
        raise InvalidInput(msg)
    values = {k: v for k, v in (settings or {}).items() if v}
    unknown = sorted(set(values) - SETTINGS[kind])
    if unknown:
        msg = f"the {kind} adapter does not take {', '.join(unknown)}"
        raise InvalidInput(msg)
    if kind == TwilioVoiceAdapter.kind:
        return TwilioVoiceAdapter(
            provider=provider,
            clock=clock,
            account_sid=values.get("account_sid"),
            webhook_url=values.get("webhook_url"),
        )
    if kind == AmazonConnectAdapter.kind:
        return AmazonConnectAdapter(
            provider=provider,
            clock=clock,
            instance_arn=values.get("instance_arn"),
            api_key_header=values.get("api_key_header", DEFAULT_API_KEY_HEADER),
        )
    return GenericVoiceAdapter(provider=provider, clock=clock)
