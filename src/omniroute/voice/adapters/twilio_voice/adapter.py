"""Twilio Voice: call, conference, recording and transcription callbacks, verified with
``X-Twilio-Signature`` (the scheme shared with the SMS channel: ``core/twilio_signature.py``).

The secret is the account's auth token. Twilio's scheme has no timestamp, so a captured callback
can be replayed; each one maps to the same event ids every time, and ingress dedupes on them.
"""

from __future__ import annotations

from collections.abc import Mapping

from omniroute.core import twilio_signature
from omniroute.core.clock import Clock
from omniroute.voice.adapters.port import MalformedCallEvent, SignatureRejected, VoiceRequest
from omniroute.voice.adapters.twilio_voice import mapping
from omniroute.voice.model import CallEvent

KIND = "twilio_voice"


class TwilioVoiceAdapter:
    kind = KIND

    def __init__(
        self,
        *,
        provider: str = KIND,
        clock: Clock,
        account_sid: str | None = None,
        webhook_url: str | None = None,
    ) -> None:
        """``webhook_url``: the public URL configured in Twilio, when a proxy rewrites what the app
        sees; ``account_sid``: refuse callbacks about another Twilio account."""
        self.provider = provider
        self._clock = clock
        self._account_sid = account_sid
        self._webhook_url = webhook_url

    def verify(self, request: VoiceRequest, secret: str) -> None:
        header = request.headers.get(twilio_signature.HEADER)
        if not header:
            raise SignatureRejected("missing X-Twilio-Signature header", status=401)
        if request.headers.get(twilio_signature.RULE_SETTINGS_HEADER):
            raise SignatureRejected(
                "signed with a Twilio Webhooks Rule shared key, which this adapter does not take; "
                "remove the rule so Twilio signs with the auth token"
            )
        url = (
            twilio_signature.signed_url(self._webhook_url, request.url) if self._webhook_url else request.url
        )
        problem = twilio_signature.verify(secret, url, mapping.form_pairs(request.body, strict=False), header)
        if problem:
            raise SignatureRejected(problem)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CallEvent]:
        content_type = headers.get("content-type", "application/x-www-form-urlencoded")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            msg = f"Twilio Voice callbacks are form-encoded, not {content_type}"
            raise MalformedCallEvent(msg)
        pairs = mapping.form_pairs(body, strict=True)
        account = next((value for name, value in pairs if name == "AccountSid"), None)
        if self._account_sid and account != self._account_sid:
            msg = f"AccountSid {account!r} is not this provider's ({self._account_sid})"
            raise MalformedCallEvent(msg)
        return mapping.read(pairs, provider=self.provider, received_at=self._clock.now())
