"""Calls over HTTP: a call joins the timeline of the customer who texted from the same number,
transcript turns are stored once, agents record dispositions, and screen pop finds the caller."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx

from omniroute.core.twilio_signature import compute_signature
from tests.e2e.channels.sms_twilio.golden import ACCOUNT_SID, TWILIO_NUMBER
from tests.e2e.channels.sms_twilio.golden import body as sms_body
from tests.e2e.conftest import Agent, LiveServer
from tests.e2e.voice_support import create_provider, eventually, post_generic
from tests.unit.voice.adapters.generic import golden as generic

Clients = dict[str, Any]
CALLER = "+15558675310"
SMS_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


async def text_us(ada: Agent) -> None:
    """The customer texts the support number first (Twilio SMS, signed like Twilio does)."""
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="sms_twilio",
        name="Support SMS",
        settings={"account_sid": ACCOUNT_SID, "from_number": TWILIO_NUMBER, "api_base": "http://127.0.0.1:9"},
        secrets={"auth_token": SMS_TOKEN},
    )
    assert r.status_code == 201, r.text
    url, raw = r.json()["webhook_url"], sms_body("inbound_sms.txt")
    signature = compute_signature(SMS_TOKEN, url, parse_qsl(raw, keep_blank_values=True))
    async with httpx.AsyncClient() as http:
        sent = await http.post(
            url,
            content=raw.encode(),
            headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature},
        )
    assert sent.status_code == 200, sent.text


async def customers_with(sam: Agent, number: str) -> list[dict[str, Any]]:
    r = await sam.http.get("/api/v1/customers", params={"q": number})
    assert r.status_code == 200, r.text
    return [c for c in r.json() if c["phone"] == number]


async def test_a_call_joins_the_timeline_of_the_customer_who_texted(
    server: LiveServer, clients: Clients
) -> None:
    ada, sam = await clients["agent"]("admin"), await clients["agent"]("sam")
    await text_us(ada)

    async def texted() -> bool:
        return bool(await customers_with(sam, CALLER))

    await eventually(texted)
    [customer] = await customers_with(sam, CALLER)
    provider = await create_provider(ada, features=["transcripts", "recordings", "screen_pop"])
    assert (await post_generic(server, provider, generic.document("full_call.json"))).status_code == 200

    timeline = (await sam.http.get(f"/api/v1/customers/{customer['id']}/timeline")).json()
    channels = sorted(e["channel"] for e in timeline if e["kind"] == "conversation")
    assert channels == ["sms_twilio", "voice"]
    [call_entry] = [e for e in timeline if e.get("channel") == "voice"]
    assert call_entry["title"] == f"Call from {CALLER}"
    conversation_id = call_entry["ref_id"]
    call = (await sam.http.get(f"/api/v1/voice/conversations/{conversation_id}/call")).json()
    assert call["customer_id"] == customer["id"]
    assert call["state"] == "closed"
    assert call["ivr_data"]["account_number"] == "4521"
    assert call["recording_url"] == "https://ccaas.example.com/recordings/sim-call-0001.wav"
    assert (call["disposition"], call["notes"]) == ("resolved", "Reshipped order 4521.")

    # The vendor sends the transcript again, longer: each turn is stored once.
    longer = {
        "event_id": "sim-evt-0010",
        "call_id": "sim-call-0001",
        "kind": "transcript_available",
        "occurred_at": "2026-01-06T09:05:40Z",
        "transcript": [
            {"speaker": "agent", "text": "Let me check that for you.", "start": 4.4, "end": 6.0},
            {"speaker": "customer", "text": "Thanks, it is urgent.", "start": 6.5, "end": 8.0},
        ],
    }
    assert (await post_generic(server, provider, longer)).json()["new"] == 1
    assert (await post_generic(server, provider, longer)).json()["new"] == 0
    messages = (
        await sam.http.get(f"/api/v1/customers/{customer['id']}/conversations/{conversation_id}/messages")
    ).json()
    texts = [m["text"] for m in messages]
    for turn in ("My order 4521 has not arrived.", "Let me check that for you.", "Thanks, it is urgent."):
        assert texts.count(turn) == 1, turn
    assert texts.count("Call recording: https://ccaas.example.com/recordings/sim-call-0001.wav") == 1
    spoken = {m["text"]: m["sender_name"] for m in messages}
    assert spoken["Thanks, it is urgent."] == f"{CALLER} (transcript)"

    # A supervisor corrects the disposition; the provider's redelivered wrap-up does not undo it.
    r = await sam.http.put(
        f"/api/v1/voice/calls/{call['id']}/disposition",
        json={"disposition": "callback_needed", "notes": "Call back tomorrow."},
        headers=sam.headers(),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["disposition"], r.json()["disposition_by"]) == ("callback_needed", sam.user_id)
    await post_generic(server, provider, generic.document("full_call.json"))
    again = (await sam.http.get(f"/api/v1/voice/calls/{call['id']}")).json()
    assert (again["disposition"], again["notes"]) == ("callback_needed", "Call back tomorrow.")
    # The provider's own call id (what its softphone knows) finds the same call.
    by_provider = await sam.http.get(f"/api/v1/voice/providers/{provider.id}/calls/sim-call-0001")
    assert by_provider.status_code == 200, by_provider.text
    assert (by_provider.json()["id"], by_provider.json()["conversation_id"]) == (call["id"], conversation_id)
    unknown = await sam.http.get(f"/api/v1/voice/providers/{provider.id}/calls/no-such-call")
    assert unknown.status_code == 404

    # An agent who was not on the call does not see it.
    ben = await clients["agent"]("ben")
    assert (await ben.http.get(f"/api/v1/voice/calls/{call['id']}")).status_code == 404
    by_id = f"/api/v1/voice/providers/{provider.id}/calls/sim-call-0001"
    assert (await ben.http.get(by_id)).status_code == 404
    hidden = await ben.http.put(
        f"/api/v1/voice/calls/{call['id']}/disposition", json={"disposition": "x"}, headers=ben.headers()
    )
    assert hidden.status_code == 404


async def test_screen_pop_finds_none_one_or_several_customers(server: LiveServer, clients: Clients) -> None:
    ada, ana, sam = (
        await clients["agent"]("admin"),
        await clients["agent"]("ana"),
        await clients["agent"]("sam"),
    )
    nobody = (await ana.http.get("/api/v1/voice/lookup", params={"phone": "+44 20 7946 0958"})).json()
    assert nobody["action"] == "quick_create"
    assert nobody["matches"] == []
    assert nobody["quick_create"] == {"phone": "+442079460958", "display_name": "+442079460958"}

    await text_us(ada)

    async def texted() -> bool:
        return bool(await customers_with(sam, CALLER))

    await eventually(texted)
    one = (await ana.http.get("/api/v1/voice/lookup", params={"phone": "tel:+1-555-867-5310"})).json()
    assert one["action"] == "open"
    assert one["customer"]["phone"] == CALLER

    # Someone else was given the same number by hand: the agent chooses from a list.
    twin = await clients["customer"]().start(name="Lee Twin")
    twin_id = (await sam.http.get(f"/api/v1/conversations/{twin.conversation_id}")).json()["customer_id"]
    r = await sam.http.patch(f"/api/v1/customers/{twin_id}", json={"phone": CALLER}, headers=sam.headers())
    assert r.status_code == 200, r.text
    many = (await ana.http.get("/api/v1/voice/lookup", params={"phone": CALLER})).json()
    assert many["action"] == "search"
    assert many["customer"] is None
    assert twin_id in {c["id"] for c in many["matches"]}
    assert len(many["matches"]) == 2

    bad = await ana.http.get("/api/v1/voice/lookup", params={"phone": "5558675310"})
    assert bad.status_code == 422
