"""The inbound webhook's signature: the custom channel's scheme, so one relay script serves both.

``Omniroute-Signature: t=<unix seconds>,v1=<hex>``, where v1 is HMAC-SHA256 over ``"<t>." + body``
keyed by the account's ``webhook_secret``. The timestamp bounds replays to five minutes.
"""

from __future__ import annotations

from omniroute.channels.custom.signing import HEADER, TOLERANCE_SECONDS, signature_header, verify

__all__ = ["HEADER", "TOLERANCE_SECONDS", "signature_header", "verify"]
