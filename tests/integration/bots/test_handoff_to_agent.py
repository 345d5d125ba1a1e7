"""Hand-off end to end inside one node: the bot's context reaches routing, an agent is offered the
conversation, accepts, and finds the whole bot transcript and the context."""

from __future__ import annotations

import asyncio

from omniroute.conversations.model import ConversationState, SenderKind
from tests.integration.bots.conftest import GUARD, Harness, eventually


async def test_the_agent_receives_the_transcript_and_the_context(harness: Harness) -> None:
    c = harness.container
    c.timers.start()
    await c.routing.start()
    try:
        await asyncio.wait_for(c.routing.leading.wait(), GUARD)
        ana = await c.identity.get_user_by_email("ana@demo.omniroute.dev")
        assert ana is not None
        await c.routing.set_presence(ana.id, "available")

        cid = await harness.start_chat("I lost my debit card")
        await harness.say(cid, "4821")
        await harness.say(cid, "yes")

        async def offered() -> bool:
            return bool((await c.routing.agent_state(ana.id)).pending_offers)

        await eventually(offered)
        offers = (await c.routing.agent_state(ana.id)).pending_offers
        assert offers[0].conversation_id == cid
        conv = await c.routing.accept(ana.id, offers[0].id)
        assert conv.state is ConversationState.ACTIVE
        assert conv.agent_id == ana.id

        transcript = [(m.sender_kind, m.text) for m in await harness.messages(cid)]
        kinds = [kind for kind, _ in transcript]
        assert kinds.count(SenderKind.CUSTOMER) == 3
        assert kinds.count(SenderKind.BOT) >= 4
        assert (SenderKind.CUSTOMER, "I lost my debit card") in transcript
        assert (
            SenderKind.BOT,
            "I'm passing you to our card team now, with the card ending 4821. They can see our conversation.",
        ) in transcript

        session = await harness.bots.session(cid)
        assert session is not None
        assert session.status == "handed_off"
        assert session.context is not None
        assert session.context["reason"] == "card_replacement"
        assert session.context["variables"]["last4"] == "4821"
        assert session.context["summary"].startswith("Bank assistant handed off:")

        await c.conversations.post(cid, sender_kind=SenderKind.CUSTOMER, text="thanks!", idempotency_key=None)
        await harness.bots.idle()
        assert [m for m in await harness.messages(cid) if m.sender_kind is SenderKind.BOT][
            -1
        ].text.startswith("I'm passing you"), "the bot stays quiet once a person has the conversation"
    finally:
        await c.routing.stop()
        await c.timers.stop()
