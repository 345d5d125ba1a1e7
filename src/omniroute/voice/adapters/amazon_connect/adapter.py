"""Amazon Connect contact events, delivered by an EventBridge rule to an API destination.

EventBridge does not sign what it sends. An API destination's *connection* adds a credential of
ours to every request instead: this adapter expects an API-key connection whose header (by default
``X-Omniroute-Api-Key``) carries the provider's webhook secret, compared in constant time. That
proves the sender knows the secret; it does not bind the body (TLS protects it in transit) and has
no timestamp, so a captured request can be replayed — harmlessly, because every contact event maps
to ids derived from the EventBridge event id and ingress dedupes on them.

Where that is not enough, put a relay (a Lambda target) in between that signs each event with the
generic adapter's ``X-Omniroute-Signature`` (HMAC-SHA256 over timestamp + body, 5-minute window):
when that header is present it is verified instead of the API key.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from omniroute.core.clock import Clock
from omniroute.voice.adapters.amazon_connect import mapping
from omniroute.voice.adapters.generic import signing
from omniroute.voice.adapters.port import SignatureRejected, VoiceRequest, json_document
from omniroute.voice.model import CallEvent

KIND = "amazon_connect"
DEFAULT_API_KEY_HEADER = "X-Omniroute-Api-Key"


class AmazonConnectAdapter:
    kind = KIND

    def __init__(
        self,
        *,
        provider: str = KIND,
        clock: Clock,
        instance_arn: str | None = None,
        api_key_header: str = DEFAULT_API_KEY_HEADER,
    ) -> None:
        """``instance_arn``: refuse events from another Connect instance; ``api_key_header``: the
        header name given to the EventBridge connection."""
        self.provider = provider
        self._clock = clock
        self._instance_arn = instance_arn
        self._api_key_header = api_key_header.lower()

    def verify(self, request: VoiceRequest, secret: str) -> None:
        signature = request.headers.get(signing.HEADER)
        if signature is not None:
            signing.verify(secret, request.body, signature, self._clock.now())
            return
        key = request.headers.get(self._api_key_header)
        if not key:
            msg = f"missing {self._api_key_header} header (the EventBridge connection's API key)"
            raise SignatureRejected(msg, status=401)
        if not hmac.compare_digest(key.strip().encode(), secret.encode()):
            msg = f"{self._api_key_header} is not this provider's webhook secret"
            raise SignatureRejected(msg)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CallEvent]:
        return mapping.read(json_document(body), provider=self.provider, instance_arn=self._instance_arn)
