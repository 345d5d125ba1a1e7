"""The external bot protocol, round trip: signed activities out, signed activities back, hand-off
with the bot's context, and a bot that is down or silent handing off at once."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from omniroute.bots import store as bot_store
from omniroute.channels.custom.signing import HEADER, signature_header, verify
from omniroute.conversations.model import ConversationState, SenderKind
from omniroute.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from tests.integration.bots.conftest import PUBLIC_URL, Harness, eventually

ENDPOINT = "https://bot.example/api/messages"


async def external_bot(h: Harness, **external: Any) -> str:
    await h.bots.admin.put_settings(
        "echo",
        {"name": "Echo bot", "display_name": "Echo", "kind": "external",
         "external": {"endpoint": ENDPOINT, **external}},
        actor_id=None,
    )  # fmt: skip
    secret = await h.bots.admin.set_secret("echo", None, actor_id=None)
    await h.use_workstream_bot("echo")
    return secret


def activities(h: Harness, secret: str) -> list[dict[str, Any]]:
    """What the bot's endpoint received, each signature checked as a bot would."""
    found = []
    for request in h.requests:
        assert str(request.url) == ENDPOINT
        assert verify(secret, request.content, request.headers.get(HEADER), h.clock.now().timestamp()) is None
        found.append(json.loads(request.content))
    return found


async def reply(
    h: Harness, secret: str, conversation_id: str, activity: dict[str, Any], bot: str = "echo"
) -> str:
    body = json.dumps(activity).encode()
    header = signature_header(secret, body, int(h.clock.now().timestamp()))
    result = await h.bots.receive_activity(bot, conversation_id, body, header)
    await h.bots.idle()
    return result


async def accept(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200)


async def test_a_round_trip_ends_in_a_hand_off_with_the_bots_context(harness: Harness) -> None:
    secret = await external_bot(harness)
    harness.handler = accept
    cid = await harness.start_chat("hello there")
    sent = activities(harness, secret)
    assert [a["type"] for a in sent] == ["conversationUpdate", "message"]
    first, message = sent
    assert first["membersAdded"][0]["role"] == "user"
    assert message["text"] == "hello there"
    assert message["conversation"] == {"id": cid}
    assert message["serviceUrl"] == f"{PUBLIC_URL}/api/v1/bots/echo/conversations/{cid}/activities"
    assert (message["from"]["role"], message["recipient"]["id"], message["locale"]) == ("user", "echo", "en")
    assert (await bot_store_session(harness, cid)).due_kind == "reply"

    assert (
        await reply(harness, secret, cid, {"type": "message", "id": "a1", "text": "Hi, I'm Echo."})
        == "accepted"
    )
    assert (
        await reply(harness, secret, cid, {"type": "message", "id": "a1", "text": "Hi, I'm Echo."})
        == "accepted"
    )
    assert await reply(harness, secret, cid, {"type": "typing"}) == "accepted"
    bot_messages = [m for m in await harness.messages(cid) if m.sender_kind is SenderKind.BOT]
    assert [(m.sender_name, m.text) for m in bot_messages] == [("Echo", "Hi, I'm Echo.")], (
        "a retry is deduped"
    )
    assert (await bot_store_session(harness, cid)).due_kind == "idle"

    await harness.say(cid, "I want to change plan")
    assert activities(harness, secret)[-1]["text"] == "I want to change plan"
    handoff = {
        "type": "event",
        "name": "handoff.initiate",
        "value": {"reason": "plan_change", "summary": "Wants the gold plan.", "variables": {"plan": "gold"},
                  "queue": "Support", "topic": "plans"},
    }  # fmt: skip
    assert await reply(harness, secret, cid, handoff) == "handed_off"
    conv = await harness.conversation(cid)
    queues = {q.name: q.id for q in await harness.container.routing.queues()}
    assert conv.state is ConversationState.OPEN
    assert conv.queue_id == queues["Support"]
    item, _ = await harness.container.routing.trace(cid)
    assert item is not None
    context = item.attributes["bot"]
    assert (context["reason"], context["summary"], context["last_topic"]) == (
        "plan_change",
        "Wants the gold plan.",
        "plans",
    )
    assert context["variables"] == {"plan": "gold"}
    assert context["last_phrases"] == ["hello there", "I want to change plan"]
    with pytest.raises(Conflict, match="no longer with the bot"):
        await reply(harness, secret, cid, {"type": "message", "id": "late", "text": "still there?"})


async def bot_store_session(h: Harness, cid: str) -> bot_store.SessionRow:
    async with h.container.db.read() as conn:
        found = await bot_store.session_for(conn, cid)
    assert found is not None
    return found


async def test_bad_activities_are_refused(harness: Harness) -> None:
    secret = await external_bot(harness)
    harness.handler = accept
    cid = await harness.start_chat("hello")
    with pytest.raises(Unauthorized, match="does not match"):
        await reply(harness, "x" * 40, cid, {"type": "message", "text": "forged"})
    with pytest.raises(NotFound):
        await reply(harness, secret, cid, {"type": "message", "text": "hi"}, bot="banking")
    with pytest.raises(NotFound):
        await reply(harness, secret, "no-such-conversation", {"type": "message", "text": "hi"})
    with pytest.raises(InvalidInput, match="needs text"):
        await reply(harness, secret, cid, {"type": "message", "text": " "})
    with pytest.raises(InvalidInput, match="unknown event"):
        await reply(harness, secret, cid, {"type": "event", "name": "dance"})
    with pytest.raises(InvalidInput, match="not an activity"):
        await reply(harness, secret, cid, {"type": "invoke"})
    assert [m for m in await harness.messages(cid) if m.sender_kind is SenderKind.BOT] == []


async def test_an_end_of_conversation_closes_the_chat(harness: Harness) -> None:
    secret = await external_bot(harness)
    harness.handler = accept
    cid = await harness.start_chat("bye")
    assert await reply(harness, secret, cid, {"type": "endOfConversation", "text": "Goodbye!"}) == "ended"
    conv = await harness.conversation(cid)
    assert conv.state is ConversationState.CLOSED
    assert (await bot_store_session(harness, cid)).outcome == "resolved"
    assert (await harness.bot_said(cid)) == ["Goodbye!"]


async def test_a_bot_that_is_down_hands_off_at_once(harness: Harness) -> None:
    await external_bot(harness)

    async def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    harness.handler = down
    cid = await harness.start_chat("hello")
    assert (await harness.conversation(cid)).state is ConversationState.OPEN
    assert await harness.bot_said(cid) == [
        "Sorry, the assistant is not available right now. I'm passing you to a person."
    ]
    assert (await bot_store_session(harness, cid)).reason == "bot_error"


async def test_a_silent_bot_hands_off_after_the_reply_timeout(harness: Harness) -> None:
    await external_bot(harness, reply_timeout_seconds=30)
    harness.handler = accept
    cid = await harness.start_chat("hello")
    await harness.clock.advance(29)
    assert (await harness.conversation(cid)).state is ConversationState.ACTIVE
    await harness.clock.advance(2)

    async def handed_off() -> bool:
        return (await harness.conversation(cid)).state is not ConversationState.ACTIVE

    await eventually(handed_off)
    assert (await bot_store_session(harness, cid)).reason == "bot_timeout"


async def test_customer_typing_is_forwarded(harness: Harness) -> None:
    secret = await external_bot(harness)
    harness.handler = accept
    cid = await harness.start_chat("hello")
    await harness.container.conversations.typing(cid, SenderKind.CUSTOMER, True)

    async def forwarded() -> bool:
        return len(harness.requests) >= 3

    await eventually(forwarded)
    assert activities(harness, secret)[-1]["type"] == "typing"
