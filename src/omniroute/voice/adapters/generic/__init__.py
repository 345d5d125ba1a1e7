"""Generic voice adapter: Omniroute's normalised call events as JSON, signed with HMAC-SHA256."""

from __future__ import annotations

from omniroute.voice.adapters.generic.adapter import KIND, GenericVoiceAdapter

__all__ = ["KIND", "GenericVoiceAdapter"]
