"""``conversation.start`` on the custom channel: what the adapter accepts and refuses, and the
receipt it becomes (stored once per event id, in the sender's lane, read back unchanged)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from omniroute.channels import codec
from omniroute.channels.custom import SPEC
from omniroute.channels.custom.double import CustomChannelDouble
from omniroute.channels.port import ConversationStart, InboundMessage, MalformedPayload, WebhookRequest
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.service import receipt_lane
from omniroute.channels.store import Receipt
from omniroute.core.clock import ManualClock

INBOUND, OUTBOUND = "in-secret", "out-secret"


async def parse(document: dict[str, Any]) -> list[Any]:
    clock = ManualClock()
    double = CustomChannelDouble(INBOUND, OUTBOUND, clock.now)
    config = AccountConfig(
        "acc-1",
        "custom",
        "Acme",
        {"outbound_url": "https://service.test/omniroute"},
        {"inbound_secret": INBOUND, "outbound_secret": OUTBOUND},
        "https://omniroute.test/webhooks/acc-1",
    )
    async with httpx.AsyncClient() as http:
        adapter = SPEC.factory(AdapterContext(config=config, http=http, clock=clock))
        body = json.dumps(document).encode()
        headers = {"omniroute-signature": double.sign(body)}
        result = await adapter.handle_webhook(WebhookRequest("POST", config.webhook_url, headers, {}, body))
    assert result.response_body == b'{"ok":true}'
    return list(result.items)


async def test_a_start_carries_the_user_the_context_and_the_queue() -> None:
    event = CustomChannelDouble.start(
        "s-1",
        "user-7",
        name=" Kim Lee ",
        email="kim@example.com",
        phone="+34600000000",
        context={"order": " A-4521 ", "vip": True, "items": 3, "total": 12.5, "note": None},
        queue="Support",
    )
    assert event["user"] == {
        "id": "user-7",
        "name": " Kim Lee ",
        "email": "kim@example.com",
        "phone": "+34600000000",
    }
    [start] = await parse(event)
    assert start == ConversationStart(
        provider_event_id="s-1",
        sender_address="user-7",
        sender_name="Kim Lee",
        email="kim@example.com",
        phone="+34600000000",
        context={"order": "A-4521", "vip": True, "items": 3, "total": 12.5},
        queue="Support",
    )


async def test_the_smallest_start_names_an_event_and_a_user_and_from_works_too() -> None:
    [minimal] = await parse({"type": "conversation.start", "id": 12, "user": {"id": 42}})
    assert minimal == ConversationStart(provider_event_id="12", sender_address="42")
    [aliased] = await parse({"type": "conversation.start", "id": "s", "from": {"id": "u", "name": "Lee"}})
    assert (aliased.sender_address, aliased.sender_name) == ("u", "Lee")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "conversation.start", "user": {"id": "u"}}, "needs 'id' and 'user.id'"),
        ({"type": "conversation.start", "id": "s", "user": {"id": ""}}, "needs 'id' and 'user.id'"),
        ({"type": "conversation.start", "id": "s", "user": {"id": True}}, "needs 'id' and 'user.id'"),
        ({"type": "conversation.start", "id": "s", "user": {"id": "u", "email": "nope"}}, "not an email"),
        (
            {"type": "conversation.start", "id": "s", "user": {"id": "u", "name": 7}},
            "'user.name' must be text",
        ),
        (
            {"type": "conversation.start", "id": "s", "user": {"id": "u"}, "queue": ["a"]},
            "'queue' must be text",
        ),
        ({"type": "conversation.start", "id": "s", "user": {"id": "u"}, "context": []}, "must be an object"),
        (CustomChannelDouble.start("s", "u", context={"queue": "VIP"}), "'queue' is reserved"),
        (CustomChannelDouble.start("s", "u", context={"tags": ["a"]}), "must be text, a number or a boolean"),
        (
            CustomChannelDouble.start("s", "u", context={"total": float("nan")}),
            "must be text, a number or a boolean",
        ),
        (CustomChannelDouble.start("s", "u", context={"x" * 65: "v"}), "keys are 1 to 64 characters"),
        (CustomChannelDouble.start("s", "u", context={"k": "v" * 1001}), "longer than 1000 characters"),
        (CustomChannelDouble.start("s", "u", context={f"k{i}": i for i in range(51)}), "more than 50 keys"),
    ],
)
async def test_a_malformed_start_is_refused_with_the_reason(event: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedPayload) as refused:
        await parse(event)
    assert reason in str(refused.value)


def test_a_start_is_stored_once_per_event_id_in_the_users_lane() -> None:
    start = ConversationStart(
        provider_event_id="s-1",
        sender_address="user-7",
        sender_name="Kim",
        context={"order": "A-1", "vip": False},
        queue="Support",
    )
    kind, key, payload = codec.encode(start)
    assert (kind, key) == ("start", "start:s-1")  # never the same key as a message "s-1"
    assert codec.encode(InboundMessage("s-1", "user-7", "hi"))[1] == "msg:s-1"
    stored = json.loads(json.dumps(payload))  # what the receipt's JSON column gives back
    assert codec.decode(kind, stored) == start

    def receipt(kind: str, payload: dict[str, Any]) -> Receipt:
        return Receipt("r", "acc-1", "k", kind, payload, ManualClock().now(), 0)

    message = codec.encode(InboundMessage("m-1", "user-7", "hi"))
    # The start and the user's first message are handled in order, never side by side.
    assert receipt_lane(receipt(kind, stored)) == receipt_lane(receipt(message[0], message[2]))
