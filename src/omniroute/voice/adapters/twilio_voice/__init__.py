"""Twilio Voice adapter: status, conference, recording and transcription callbacks."""

from __future__ import annotations

from omniroute.voice.adapters.twilio_voice.adapter import KIND, TwilioVoiceAdapter

__all__ = ["KIND", "TwilioVoiceAdapter"]
