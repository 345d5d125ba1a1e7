"""A flows bot stuck past ``turn_timeout_seconds``: the customer gets the apology at once and the
conversation goes to routing (reason ``bot_timeout``), without the half-done turn's replies."""

from __future__ import annotations

import asyncio

import httpx

from omniroute.bots import store as bot_store
from omniroute.conversations.model import ConversationState
from omniroute.core.eventlog import read_events
from tests.integration.bots.conftest import Harness

#: The HTTP action's own timeout (30 s) is far longer than the turn's, so only the turn timeout
#: can end this turn; the first step says something that must not reach the customer.
SLOW_FLOW = """\
id: balance_en
language: en
trigger:
  intent: balance
  phrases: [what is my balance, how much money do I have]
steps:
  - say: Let me look that up.
  - http:
      url: https://core.bank.example/balance/{{customer.id}}
      timeout_seconds: 30
      save_as: result
      on_error:
        - say: Sorry, I can't reach the balance service.
  - say: You have {{result.body.amount}} EUR.
"""


async def test_a_turn_past_its_timeout_apologises_and_hands_off_to_routing(harness: Harness) -> None:
    bot = await harness.bots.admin.get_bot("banking")
    settings = bot.settings.model_dump(mode="json")
    # Short, yet far above a lexical turn's own work: the stuck HTTP call is what runs it out.
    settings["turn_timeout_seconds"] = 1.0
    settings["understanding"] = {"embedder": "lexical"}
    await harness.bots.admin.put_settings("banking", settings, actor_id=None)
    await harness.bots.admin.put_flow("banking", "balance_en", SLOW_FLOW, actor_id=None)
    never = asyncio.Event()  # the balance service never answers: the turn is stuck

    async def stuck(request: httpx.Request) -> httpx.Response:
        await never.wait()
        return httpx.Response(200, json={"amount": 1})

    harness.handler = stuck
    cid = await harness.start_chat("what is my balance")

    assert harness.requests, "the turn reached the HTTP action before it was stopped"
    assert await harness.bot_said(cid) == [
        "Sorry, the assistant is not available right now. I'm passing you to a person."
    ], "only the apology: nothing of the half-done turn"
    conv = await harness.conversation(cid)
    assert conv.state is ConversationState.OPEN
    assert conv.agent_id is None
    item, _ = await harness.container.routing.trace(cid)
    assert item is not None, "the conversation waits in routing"
    assert item.attributes["bot"]["reason"] == "bot_timeout"
    async with harness.container.db.read() as conn:
        session = await bot_store.session_for(conn, cid)
        events = [e["type"] for e in await read_events(conn, conversation_id=cid)]
    assert session is not None
    assert (session.status, session.outcome, session.reason) == ("handed_off", "escalated", "bot_timeout")
    assert "bot.handed_off" in events
