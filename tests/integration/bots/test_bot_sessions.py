"""Bot sessions over a real store: the gate, turns, hand-off with context to routing, the end of a
session (by the bot, the customer or silence), HTTP actions, failures, knowledge answers."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from omniroute.bots import store as bot_store
from omniroute.bots.flows.bot import Knowledge
from omniroute.bots.flows.loader import FlowError
from omniroute.bots.runtime.effects import KnowledgeQuery
from omniroute.bots.understanding.e5 import E5Embedder
from omniroute.conversations.model import ConversationState, SenderKind
from omniroute.core.errors import Conflict
from omniroute.core.eventlog import read_events
from omniroute.routing.commands import routing_commands
from tests.integration.bots.conftest import Harness, eventually

E5 = E5Embedder()  # the model loads once, on first use


async def session_row(h: Harness, conversation_id: str) -> bot_store.SessionRow:
    async with h.container.db.read() as conn:
        found = await bot_store.session_for(conn, conversation_id)
    assert found is not None
    return found


async def still_active(h: Harness, conversation_id: str, *, expected: bool) -> bool:
    return ((await session_row(h, conversation_id)).status == "active") == expected


async def event_types(h: Harness, conversation_id: str) -> list[str]:
    async with h.container.db.read() as conn:
        return [e["type"] for e in await read_events(conn, conversation_id=conversation_id)]


async def test_a_workstream_bot_takes_new_chats_and_answers_first(harness: Harness) -> None:
    cid = await harness.start_chat("I lost my debit card")
    conv = await harness.conversation(cid)
    assert conv.state is ConversationState.ACTIVE
    assert conv.agent_id is None
    said = await harness.bot_said(cid)
    assert "virtual assistant" in said[0]
    assert said[1] == "What are the last 4 digits of the debit card? They are on your statements."
    messages = await harness.messages(cid)
    assert {m.sender_name for m in messages if m.sender_kind is SenderKind.BOT} == {"Assistant"}
    item, offers = await harness.container.routing.trace(cid)
    assert item is None, "routing does not see the conversation while the bot holds it"
    assert offers == []
    session = await session_row(harness, cid)
    assert (session.status, session.bot_id, session.turns) == ("active", "banking", 1)
    assert "bot.session_started" in await event_types(harness, cid)
    assert "bot.topic_entered" in await event_types(harness, cid)


async def test_without_a_bot_work_is_routed_as_before(harness: Harness) -> None:
    await harness.use_workstream_bot(None)
    cid = await harness.start_chat("hello")
    conv = await harness.conversation(cid)
    assert conv.state is ConversationState.OPEN
    assert await harness.bot_said(cid) == []
    item, _ = await harness.container.routing.trace(cid)
    assert item is not None


async def test_a_classification_rule_or_a_queue_chooses_the_bot(harness: Harness) -> None:
    keep_away = {
        "classification": [
            {
                "name": "staff",
                "rules": [
                    {"name": "no bot for staff", "when": {"field": "staff", "op": "eq", "value": True},
                     "set": {"attributes": {"use_bot": False}}},
                ],
            }
        ]
    }  # fmt: skip
    await harness.use_workstream_bot("banking", **keep_away)
    staff = await harness.start_chat("hi", attributes={"staff": True})
    assert (await harness.conversation(staff)).state is ConversationState.OPEN
    await harness.use_workstream_bot(None)
    view = await harness.bots.admin.get_bot("banking")
    document = {**view.settings.model_dump(mode="json"), "queues": ["Sales"]}
    await harness.bots.admin.put_settings("banking", document, actor_id=None)
    by_queue = await harness.start_chat("hi")
    assert (await harness.conversation(by_queue)).state is ConversationState.ACTIVE


async def test_asking_for_a_person_queues_the_chat_with_the_context_for_routing(harness: Harness) -> None:
    cid = await harness.start_chat("I lost my credit card")
    replies = await harness.say(cid, "can I talk to an agent please")
    assert len(replies) == 1
    assert replies[0].startswith("I'm passing you to a person now. They will see our conversation")
    conv = await harness.conversation(cid)
    assert conv.state is ConversationState.OPEN
    item, _ = await harness.container.routing.trace(cid)
    assert item is not None
    context = item.attributes["bot"]
    assert context["reason"] == "requested"
    assert context["last_topic"] == "card_lost"
    assert context["variables"] == {"card_type": "credit"}
    assert context["last_phrases"] == ["I lost my credit card", "can I talk to an agent please"]
    assert context["language"] == "en"
    assert "the customer asked for a person" in context["summary"]
    assert any("bot 'banking' answered first; handed off" in line for line in item.trace)
    async with harness.container.db.read() as conn:
        commands = (await conn.execute(sa.select(routing_commands.c.kind, routing_commands.c.payload))).all()
    assert ("submit", {"conversation_id": cid}) in [(k, p) for k, p in commands]
    session = await session_row(harness, cid)
    assert (session.status, session.outcome, session.reason) == ("handed_off", "escalated", "requested")
    view = await harness.bots.session(cid)
    assert view is not None
    assert view.context == context
    assert "bot.handed_off" in await event_types(harness, cid)
    assert await harness.say(cid, "hello?") == [], "after the hand-off the bot is silent"


async def test_route_rules_use_the_bot_context(harness: Harness) -> None:
    await harness.use_workstream_bot(
        "banking",
        route_to_queue=[
            {
                "name": "cards",
                "when": {"field": "bot.last_topic", "op": "eq", "value": "card_lost"},
                "queue": "Support",
            }
        ],
    )
    cid = await harness.start_chat("my card was stolen")
    sales = (await harness.conversation(cid)).queue_id
    await harness.say(cid, "credit")
    await harness.say(cid, "4821")
    assert await harness.say(cid, "yes") == [
        "I'm passing you to our card team now, with the card ending 4821. They can see our conversation."
    ]
    conv = await harness.conversation(cid)
    queues = {q.name: q.id for q in await harness.container.routing.queues()}
    assert sales == queues["Sales"]
    assert conv.queue_id == queues["Support"]
    item, _ = await harness.container.routing.trace(cid)
    assert item is not None
    assert item.attributes["bot"]["reason"] == "card_replacement"
    assert item.attributes["bot"]["variables"]["last4"] == "4821"


async def test_the_bot_ends_the_conversation_when_the_customer_is_done(harness: Harness) -> None:
    cid = await harness.start_chat("what are your opening hours")
    assert await harness.say(cid, "thanks, that's all") == ["Thanks for chatting with us. Goodbye!"]
    conv = await harness.conversation(cid)
    assert conv.state is ConversationState.CLOSED
    assert conv.ended_by is SenderKind.BOT
    session = await session_row(harness, cid)
    assert (session.status, session.outcome) == ("ended", "resolved")
    assert "bot.session_ended" in await event_types(harness, cid)


async def test_a_customer_who_leaves_mid_form_abandons_and_the_chat_closes(harness: Harness) -> None:
    cid = await harness.start_chat("I lost my card")
    await harness.container.conversations.end(cid, SenderKind.CUSTOMER, None, "Lee")
    await eventually(lambda: still_active(harness, cid, expected=False))
    assert (await harness.conversation(cid)).state is ConversationState.CLOSED
    session = await session_row(harness, cid)
    assert (session.outcome, session.reason) == ("abandoned", "customer_left")


async def test_a_quiet_customer_is_timed_out_by_the_injected_clock(harness: Harness) -> None:
    cid = await harness.start_chat("what are your opening hours")
    session = await session_row(harness, cid)
    assert session.due_kind == "idle"
    await harness.clock.advance(1801)
    await eventually(lambda: still_active(harness, cid, expected=False))
    said = await harness.bot_said(cid)
    assert said[-1] == "I'm closing this chat because it has been quiet for a while. Write again any time."
    assert (await session_row(harness, cid)).outcome == "abandoned"
    assert (await harness.conversation(cid)).state is ConversationState.CLOSED


HTTP_FLOW = """\
id: balance_en
language: en
trigger:
  intent: balance
  phrases: [what is my balance, how much money do I have]
steps:
  - http:
      url: https://core.bank.example/balance/{{customer.id}}
      timeout_seconds: 2
      save_as: result
      on_error:
        - say: Sorry, I can't reach the balance service ({{result.error}}).
  - say: You have {{result.body.amount}} EUR.
"""


async def test_http_actions_succeed_and_time_out(harness: Harness) -> None:
    await harness.bots.admin.put_flow("banking", "balance_en", HTTP_FLOW, actor_id=None)

    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"amount": 1234.5})

    harness.handler = answer
    cid = await harness.start_chat("what is my balance")
    assert (await harness.bot_said(cid))[-1] == "You have 1234.5 EUR."
    assert harness.requests[-1].url.host == "core.bank.example"

    async def too_slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    harness.handler = too_slow
    assert await harness.say(cid, "how much money do I have") == [
        "Sorry, I can't reach the balance service (timeout).",
        "You have  EUR.",
    ]


async def test_a_bot_that_fails_hands_off_at_once(harness: Harness) -> None:
    await harness.bots.admin.put_flow("banking", "balance_en", HTTP_FLOW, actor_id=None)

    async def broken(request: httpx.Request) -> httpx.Response:
        msg = "the bot's own bug"
        raise RuntimeError(msg)

    harness.handler = broken
    cid = await harness.start_chat("what is my balance")
    said = await harness.bot_said(cid)
    assert said[-1] == "Sorry, the assistant is not available right now. I'm passing you to a person."
    assert (await harness.conversation(cid)).state is ConversationState.OPEN
    assert (await session_row(harness, cid)).reason == "bot_error"


async def test_knowledge_answers_quote_and_link_and_misses_offer_a_person(harness: Harness) -> None:
    cid = await harness.start_chat()
    answer = await harness.say(cid, "how do I reset my online banking password")
    assert len(answer) == 1
    assert answer[0].startswith("Here is what our help article “Reset your online banking password” says:")
    assert "Read it all: https://bank.example/kb/" in answer[0]
    miss = await harness.say(cid, "do you sell car insurance for vans")
    assert miss == [
        "I couldn't find an answer to that in our help articles. Would you like to talk to a person?"
    ]
    await harness.say(cid, "yes")
    assert (await session_row(harness, cid)).reason == "no_answer"
    types = await event_types(harness, cid)
    assert types.count("bot.knowledge_used") == 2
    assert "bot.fallback" in types


async def test_spanish_chats_get_spanish_answers(harness: Harness) -> None:
    cid = await harness.start_chat("he perdido mi tarjeta de débito")
    said = await harness.bot_said(cid)
    assert said[0].startswith("¡Hola! Soy el asistente virtual")
    assert said[1].startswith("¿Cuáles son los 4 últimos dígitos de la tarjeta de débito?")
    assert (await session_row(harness, cid)).language == "es"


async def test_messages_left_while_the_bot_was_down_are_answered_on_start(harness: Harness) -> None:
    cid = await harness.start_chat()
    await harness.bots.stop()
    await harness.container.conversations.post(
        cid, sender_kind=SenderKind.CUSTOMER, text="what are your opening hours", idempotency_key="k1"
    )
    await harness.bots.idle()
    assert len(await harness.bot_said(cid)) == 1, "only the greeting so far"
    await harness.bots.start()
    await harness.bots.idle()
    assert (await harness.bot_said(cid))[-1].startswith("Our branches are open")


async def test_editing_flows_validates_with_lines_and_takes_effect(harness: Harness) -> None:
    with pytest.raises(FlowError) as caught:
        await harness.bots.admin.put_flow(
            "banking", "hours_extra", "id: hours_extra\nlanguage: fr\n", actor_id=None
        )
    assert caught.value.problems[0].line == 2
    with pytest.raises(FlowError, match="saved as"):
        await harness.bots.admin.put_flow(
            "banking", "other", "id: hours_extra\nlanguage: en\n", actor_id=None
        )
    source = (
        "id: opening_hours_en\nlanguage: en\n"
        "trigger: {intent: opening_hours, phrases: [opening hours]}\nsteps: [{say: Always open.}]\n"
    )
    before = await harness.bots.admin.get_bot("banking")
    flow = await harness.bots.admin.put_flow(
        "banking", "opening_hours_en", source, actor_id=None, expected_version=1
    )
    assert flow.version == 2
    assert (await harness.bots.admin.get_bot("banking")).version == before.version + 1
    with pytest.raises(Conflict):
        await harness.bots.admin.put_flow(
            "banking", "opening_hours_en", source + "\n", actor_id=None, expected_version=1
        )
    cid = await harness.start_chat("opening hours")
    assert (await harness.bot_said(cid))[-1] == "Always open."
    jumper = "id: jumper\nlanguage: en\ntrigger: {phrases: [jump]}\nsteps: [{jump: goodbye_en}]\n"
    await harness.bots.admin.put_flow("banking", "jumper", jumper, actor_id=None)
    with pytest.raises(Conflict, match="jump to unknown flow 'goodbye_en'"):
        await harness.bots.admin.delete_flow("banking", "goodbye_en", actor_id=None)
    await harness.bots.admin.delete_flow("banking", "jumper", actor_id=None)


async def test_analytics_count_containment_escalations_abandons_and_bot_only_csat(harness: Harness) -> None:
    widget = (await harness.container.webchat.list_widgets())[0]
    resolved = await harness.start_chat("what are your opening hours")
    await harness.say(resolved, "thanks, that's all")
    await harness.container.webchat.submit_csat(widget, resolved, 5, "")
    escalated = await harness.start_chat("agent")
    await harness.container.webchat.submit_csat(widget, escalated, 1, "") if False else None
    abandoned = await harness.start_chat("I lost my card")
    await harness.container.conversations.end(abandoned, SenderKind.CUSTOMER, None, "Lee")
    await harness.start_chat("hello")  # still with the bot
    await eventually(lambda: still_active(harness, abandoned, expected=False))
    figures = await harness.bots.analytics(bot_id="banking", since=None, until=None)
    assert (figures.sessions, figures.active, figures.resolved, figures.escalated, figures.abandoned) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert figures.containment_rate == pytest.approx(1 / 3, abs=1e-3)
    assert figures.escalation_reasons == {"requested": 1}
    assert (figures.csat_responses, figures.csat_average) == (1, 5.0)
    assert (await harness.bots.analytics(bot_id="other", since=None, until=None)).sessions == 0
    assert escalated


@pytest.mark.parametrize(
    ("question", "language", "title"),
    [
        ("how do I reset my online banking password", "en", "Reset your online banking password"),
        ("what is the daily transfer limit", "en", "Daily and monthly transfer limits"),
        (
            "¿cómo cambio la contraseña de la banca online?",
            "es",
            "Restablecer la contraseña de la banca online",
        ),
        ("do you sell car insurance", "en", None),
        ("¿tenéis hipotecas para una segunda vivienda?", "es", None),
    ],
)
async def test_hybrid_retrieval_with_the_multilingual_model(
    harness: Harness, question: str, language: str, title: str | None
) -> None:
    result = await harness.bots.answers.answer(KnowledgeQuery(question, language), E5, Knowledge())
    if title is None:
        assert result.answer is None, result
    else:
        assert result.answer is not None, result
        assert result.answer.title.startswith(title)
        assert result.answer.url.startswith("https://bank.example/kb/")
