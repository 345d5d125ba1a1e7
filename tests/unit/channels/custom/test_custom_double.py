"""The custom channel's double plays an integrator faithfully: it takes our replies only with a valid
signature, and what it sends is signed so that our own verifier accepts it."""

from __future__ import annotations

import json

import httpx

from omniroute.channels.custom.double import WEBHOOK_PATH, CustomChannelDouble
from omniroute.channels.custom.signing import HEADER, signature_header, verify
from omniroute.core.clock import ManualClock

INBOUND, OUTBOUND = "in-secret", "out-secret"


async def test_replies_are_kept_only_with_a_valid_signature() -> None:
    clock = ManualClock()
    double = CustomChannelDouble(INBOUND, OUTBOUND, clock.now)
    body = json.dumps({"type": "message", "id": "o-1", "to": "user-42", "text": "Hi"}).encode()
    now = int(clock.now().timestamp())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=double.app()), base_url="http://service"
    ) as http:
        forged = await http.post(
            WEBHOOK_PATH, content=body, headers={HEADER: signature_header("x", body, now)}
        )
        assert forged.status_code == 401
        missing = await http.post(WEBHOOK_PATH, content=body)
        assert missing.status_code == 401
        stale = signature_header(OUTBOUND, body, now - 301)
        assert (await http.post(WEBHOOK_PATH, content=body, headers={HEADER: stale})).status_code == 401
        double.refusals = 1
        signed = {HEADER: signature_header(OUTBOUND, body, now)}
        assert (await http.post(WEBHOOK_PATH, content=body, headers=signed)).status_code == 503
        ok = await http.post(WEBHOOK_PATH, content=body, headers=signed)
    assert ok.status_code == 200
    assert ok.json() == {"id": "ext-1"}
    assert double.rejected == [
        "signature does not match",
        "missing Omniroute-Signature header",
        "signature timestamp outside the 5-minute tolerance",
    ]
    assert double.sent_to("user-42") == [json.loads(body)]
    assert double.sent_to("someone-else") == []


def test_what_it_sends_verifies_with_the_inbound_secret() -> None:
    clock = ManualClock()
    double = CustomChannelDouble(INBOUND, OUTBOUND, clock.now)
    event = CustomChannelDouble.message("m-1", "user-42", "hello", name="Lee", reply_to="o-1")
    assert event == {
        "type": "message",
        "id": "m-1",
        "from": {"id": "user-42", "name": "Lee"},
        "text": "hello",
        "reply_to": "o-1",
    }
    body = json.dumps(event).encode()
    assert verify(INBOUND, body, double.sign(body), clock.now().timestamp()) is None
    assert verify(INBOUND, body, double.sign(body, "other"), clock.now().timestamp()) is not None
