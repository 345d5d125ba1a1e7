"""The webhook verification handshake Meta performs when a callback URL is saved:
``GET <url>?hub.mode=subscribe&hub.verify_token=<yours>&hub.challenge=<number>``; the endpoint
proves it is ours by echoing the challenge, and only when the verify token matches."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from omniroute.channels.port import MalformedPayload, SignatureError, WebhookResult

#: Meta's challenge is a short number; anything long is not Meta and is not echoed back.
MAX_CHALLENGE_CHARS = 256


def answer(query: Mapping[str, str], verify_token: str) -> WebhookResult:
    mode = query.get("hub.mode")
    token = query.get("hub.verify_token")
    challenge = query.get("hub.challenge")
    if mode != "subscribe" or token is None or not challenge:
        msg = "a verification request needs hub.mode=subscribe, hub.verify_token and hub.challenge"
        raise MalformedPayload(msg)
    if len(challenge) > MAX_CHALLENGE_CHARS:
        raise MalformedPayload("hub.challenge is too long")
    # Constant time, so the token cannot be guessed a character at a time from response timings.
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        raise SignatureError("hub.verify_token does not match this account's verify_token", status=403)
    return WebhookResult(response_body=challenge.encode(), response_type="text/plain")
