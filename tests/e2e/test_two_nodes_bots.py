"""Bots on two Omniroute nodes (one PostgreSQL, one Redis): the scale path of issue 7.

A bot's turn runs on the node that stored the customer's message, and commits only if nobody saved
the bot session meanwhile (optimistic ``version``; see ``bots/service.py``). These tests drive the
demo bank's bot (lexical embedder: it trains in milliseconds) through the public REST API and the
widget socket while the customer's messages land on both nodes:

1. messages alternating between the nodes get exactly one answer each, in order, each turn runs
   on the node that stored its message, and the dialogue state carries from one node's turn to
   the other's; a widget retry through the other node is neither stored nor answered again;
2. two messages stored at the same moment on both nodes: both nodes' turns start from the same
   session version, one commit loses and starts over, and each message is answered once;
3. asking for a person on the follower hands off once, with the bot's context; an agent on the
   leader gets the offer and reads the bot's transcript; the customer writing again meanwhile
   wakes no bot;
4. two requests for a person at the same moment on both nodes: one hand-off, one offer.

Where a test must know where turns ran, or must make two turns overlap, it wraps the bot service's
``_commit`` / ``_unhandled`` on each node (``Turns``, ``BothRead``); the wrapped code runs as is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omniroute.bots import store as bot_store
from omniroute.bots.runtime.state import DialogueState
from omniroute.bots.service import BotService
from omniroute.conversations.store import Message
from omniroute.core.eventlog import events_table
from omniroute.routing.commands import routing_commands
from omniroute.routing.store import sessions as routing_sessions
from tests.demo_bot import put_demo_bot_on_webchat
from tests.e2e.conftest import Agent, Customer, LiveServer, Socket, routing_settled
from tests.e2e.nodes import leader_and_follower, two_nodes

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

GUARD = 20.0  # a hang guard (a loaded two-core machine is slow), never a timing assertion

GREETING = "Hi! I'm the bank's virtual assistant."
HOURS = "Our branches are open Monday to Friday, 9:00 to 17:00"
WHICH_CARD = "I'm sorry to hear that. Was it your debit card or your credit card?"
WHICH_ACCOUNT = "Which account, your current account or your savings?"
ARTICLE = "Here is what our help article “Reset your online banking password” says:"
PASSING = "I'm passing you to a person now."


def last_four(card: str) -> str:
    return f"What are the last 4 digits of the {card} card? They are on your statements."


@pytest.fixture
async def nodes(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """Node A (the routing leader) and node B, with the demo bot answering web chats first."""
    a, b = await two_nodes(postgres_url, redis_url, tmp_path)
    await put_demo_bot_on_webchat(a.server.container)
    async with leader_and_follower(a, b):
        yield a.server, b.server


@contextlib.asynccontextmanager
async def chat_on_both(a: LiveServer, b: LiveServer) -> AsyncIterator[tuple[Customer, Customer, Socket]]:
    """One web chat (no pre-chat question) started on node A, the customer's widget socket on A,
    and the same customer (same token) posting through node B; returns once the bot greeted."""
    async with (
        httpx.AsyncClient(base_url=a.base_url) as ha,
        httpx.AsyncClient(base_url=b.base_url) as hb,
    ):
        on_a = await Customer(a, ha).start(question="")
        on_b = Customer(b, hb, token=on_a.token, conversation_id=on_a.conversation_id)
        ws, _ = await on_a.connect()
        try:
            greeted = await ws.next("message.posted", conversation_id=on_a.conversation_id)
            assert greeted["message"]["sender_kind"] == "bot"
            assert greeted["message"]["text"].startswith(GREETING)
            yield on_a, on_b, ws
        finally:
            await ws.close()


async def transcript(customer: Customer) -> list[dict[str, Any]]:
    """The conversation as the customer's widget reads it over REST, on the customer's node."""
    r = await customer.http.get(f"{customer.prefix}/conversation", headers=customer.headers())
    assert r.status_code == 200, r.text
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


async def transcript_with(customer: Customer, count: int) -> list[dict[str, Any]]:
    """The transcript once it holds at least ``count`` messages (polled, with a hang guard)."""
    async with asyncio.timeout(GUARD):
        while True:
            found = await transcript(customer)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)


async def all_idle(*nodes: LiveServer) -> None:
    """No bot turn is running on any node (turns start in the storing request, before it answers)."""
    for node in nodes:
        await node.container.bots.idle()


def lines(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["sender_kind"], m["text"]) for m in messages]


async def say(customer: Customer, text: str, key: str | None = None) -> str:
    """Post as the customer's widget does; returns the stored message's id."""
    r = await customer.say(text, key)
    assert r.status_code == 201, r.text
    message_id: str = r.json()["id"]
    return message_id


async def bot_session(node: LiveServer, conversation_id: str) -> bot_store.SessionRow:
    async with node.container.db.read() as conn:
        found = await bot_store.session_for(conn, conversation_id)
    assert found is not None
    return found


async def handoffs(node: LiveServer, conversation_id: str) -> tuple[int, int, int, list[str]]:
    """(``bot.handed_off`` events, requeues for a bot hand-off, routing submissions, routing
    sessions (offers)) of a conversation, read from the store."""
    async with node.container.db.read() as conn:
        logged = (
            await conn.execute(
                sa.select(events_table.c.type, events_table.c.payload).where(
                    events_table.c.conversation_id == conversation_id
                )
            )
        ).all()
        submits = [
            row.payload
            for row in await conn.execute(
                sa.select(routing_commands.c.payload).where(routing_commands.c.kind == "submit")
            )
            if row.payload.get("conversation_id") == conversation_id
        ]
        offered = await conn.execute(
            sa.select(routing_sessions.c.id).where(routing_sessions.c.conversation_id == conversation_id)
        )
        offer_ids = [row.id for row in offered]
    handed_off = [t for t, _ in logged].count("bot.handed_off")
    requeued = [p["reason"] for t, p in logged if t == "conversation.state_changed"].count("bot_handoff")
    return handed_off, requeued, len(submits), offer_ids


class Turns:
    """Records, per node, each bot turn's commit (True: saved; False: the session changed
    meanwhile and the turn starts over), to show where turns ran. Test instrumentation only: the
    wrapped methods still do all the work."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        self.commits: list[tuple[str, bool]] = []

    def install(self, name: str, bots: BotService, monkeypatch: pytest.MonkeyPatch) -> None:
        commit: Callable[..., Awaitable[bool]] = bots._commit

        async def counted(session: bot_store.SessionRow, *args: Any, **kwargs: Any) -> bool:
            saved = await commit(session, *args, **kwargs)
            if session.conversation_id == self.conversation_id:
                self.commits.append((name, saved))
            return saved

        monkeypatch.setattr(bots, "_commit", counted)


class BothRead(Turns):
    """Also holds each node's first turn, right after it read the bot session and the messages,
    until the other node's turn has read them too: both turns then start from the same session
    version, so exactly one commit wins and the other must start over. Without the hold the
    interleaving would be luck; with it the retry path runs every time."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(conversation_id)
        self.arrived: set[str] = set()
        self.both = asyncio.Event()

    def install(self, name: str, bots: BotService, monkeypatch: pytest.MonkeyPatch) -> None:
        super().install(name, bots, monkeypatch)
        unhandled: Callable[[str, int], Awaitable[list[Message]]] = bots._unhandled

        async def held(conversation_id: str, after: int) -> list[Message]:
            found = await unhandled(conversation_id, after)
            if conversation_id == self.conversation_id and name not in self.arrived:
                self.arrived.add(name)
                if len(self.arrived) == 2:
                    self.both.set()
                await asyncio.wait_for(self.both.wait(), GUARD)
            return found

        monkeypatch.setattr(bots, "_unhandled", held)


async def test_messages_alternating_between_nodes_get_one_answer_each_in_order(
    nodes: tuple[LiveServer, LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = nodes
    # Each message is answered by one bot line; the answers to "credit" and "debit" depend on the
    # state the other node's turn saved just before.
    script = [
        ("what are your opening hours", HOURS),
        ("I lost my card", WHICH_CARD),
        ("credit", last_four("credit")),
        ("what is my balance", WHICH_ACCOUNT),
        ("I lost my card", WHICH_CARD),
        ("debit", last_four("debit")),
    ]
    async with chat_on_both(a, b) as (on_a, on_b, ws):
        await all_idle(a, b)
        turns = Turns(on_a.conversation_id)
        turns.install("A", a.container.bots, monkeypatch)
        turns.install("B", b.container.bots, monkeypatch)
        for index, (said, _) in enumerate(script):
            # B, A, B, A, …; the next message waits for the answer to this one.
            last_id = await say(on_b if index % 2 == 0 else on_a, said, f"m{index}")
            await transcript_with(on_a if index % 2 == 0 else on_b, 1 + 2 * (index + 1))
            await all_idle(a, b)
        # The widget retries its last post (same client message id) through the other node: the
        # message is not stored again, so the bot does not answer it again.
        retried = await on_b.say(script[-1][0], f"m{len(script) - 1}")
        assert (retried.status_code, retried.json()["id"]) == (200, last_id)
        await all_idle(a, b)

        stored = await transcript(on_b)
        got = lines(stored)
        assert got[0][0] == "bot"
        assert got[0][1].startswith(GREETING)
        answered = got[1:]
        assert len(answered) == 2 * len(script), got  # exactly one answer per message
        for (said, answer), sent, replied in zip(script, answered[0::2], answered[1::2], strict=True):
            assert sent == ("customer", said)
            assert replied[0] == "bot"
            assert replied[1].startswith(answer), (said, replied)
        seqs = [m["seq"] for m in stored]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gaps, no repeats
        assert stored == await transcript(on_a)  # both nodes read the same conversation

        # The widget socket on node A saw every message once, in order, whichever node stored it.
        # (``chat_on_both`` already took the greeting's frame.)
        frames = await ws.messages_until(on_a.conversation_id, seqs[-1])
        seen = [(f["seq"], f["message"]["sender_kind"], f["message"]["text"]) for f in frames]
        assert seen == [(m["seq"], m["sender_kind"], m["text"]) for m in stored[1:]]

        # Each turn ran on the node that stored its message, one after the other, with no conflict.
        assert turns.commits == [("B", True), ("A", True)] * (len(script) // 2)
        session = await bot_session(a, on_a.conversation_id)
        assert (session.status, session.turns) == ("active", len(script))


async def test_messages_stored_at_once_on_both_nodes_are_each_answered_once(
    nodes: tuple[LiveServer, LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = nodes
    expected = {"what are your opening hours": HOURS, "How do I reset my online banking password?": ARTICLE}
    async with chat_on_both(a, b) as (on_a, on_b, ws):
        await all_idle(a, b)
        before = await bot_session(a, on_a.conversation_id)
        race = BothRead(on_a.conversation_id)
        race.install("A", a.container.bots, monkeypatch)
        race.install("B", b.container.bots, monkeypatch)

        first, second = expected
        await asyncio.gather(say(on_a, first), say(on_b, second))
        await transcript_with(on_a, 5)
        await all_idle(a, b)

        stored = await transcript(on_b)
        said = [m for m in stored if m["sender_kind"] == "customer"]
        answers = [m for m in stored if m["sender_kind"] == "bot"][1:]  # after the greeting
        assert sorted(m["text"] for m in said) == sorted(expected)
        assert len(stored) == 5, lines(stored)  # greeting, two messages, one answer to each
        for message, answer in zip(said, answers, strict=True):  # answered in the order stored
            assert answer["text"].startswith(expected[message["text"]]), lines(stored)
            assert answer["seq"] > message["seq"]
        frames = await ws.messages_until(on_a.conversation_id, stored[-1]["seq"])
        assert [f["seq"] for f in frames] == [m["seq"] for m in stored[1:]]

        # Both nodes took a turn from the same version; one commit lost and its node started over
        # (answering what the winner had not seen, or finding nothing left to answer).
        assert race.arrived == {"A", "B"}
        assert [saved for _, saved in race.commits].count(False) == 1, race.commits
        assert [saved for _, saved in race.commits].count(True) in (1, 2), race.commits

        session = await bot_session(b, on_a.conversation_id)
        state = DialogueState.from_json(session.state)
        assert session.status == "active"
        assert session.turns == state.turns == 2
        assert session.version == before.version + [saved for _, saved in race.commits].count(True)
        assert session.last_seq >= max(m["seq"] for m in said)
        assert sorted(state.phrases[-2:]) == sorted(expected)  # each message read once
        assert state.phrases.count(first) == state.phrases.count(second) == 1


async def test_asking_for_a_person_on_the_follower_hands_off_once_to_an_agent_on_the_leader(
    nodes: tuple[LiveServer, LiveServer],
) -> None:
    a, b = nodes
    ask = "I'd like to talk to a real person"
    async with httpx.AsyncClient(base_url=a.base_url) as h:
        ana = await Agent(a, "ana@demo.omniroute.dev", h).sign_in()
        agent_ws, _ = await ana.connect()
        try:
            await ana.presence("available")
            async with chat_on_both(a, b) as (on_a, on_b, _):
                conversation_id = on_a.conversation_id
                await say(on_b, ask)
                offer = await agent_ws.next("offer.created", conversation_id=conversation_id)
                # Still waiting for the agent: the customer writes again, on the other node.
                await say(on_a, "hello? is anyone there?")
                await all_idle(a, b)
                await routing_settled(a)

                stored = lines(await transcript(on_a))
                assert [kind for kind, _ in stored] == ["bot", "customer", "bot", "customer"], stored
                assert stored[2][1].startswith(PASSING)  # and nothing from the bot after it

                # Queued once, handed off once, offered once.
                assert await handoffs(a, conversation_id) == (1, 1, 1, [offer["session_id"]])
                item, _ = await a.container.routing.trace(conversation_id)
                assert item is not None
                context_planned = item.attributes["bot"]  # what routing rules saw: ``bot.*``
                assert isinstance(context_planned, dict)
                assert context_planned["reason"] == "requested"

                accepted = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
                assert accepted.status_code == 200, accepted.text
                seen = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
                assert [(m["sender_kind"], m["text"]) for m in seen][:4] == stored
                context = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/bot")).json()
                assert (context["status"], context["context"]["reason"]) == ("handed_off", "requested")
                assert context["context"]["last_phrases"][-1] == ask
        finally:
            await agent_ws.close()


async def test_two_requests_for_a_person_at_once_on_both_nodes_hand_off_once(
    nodes: tuple[LiveServer, LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = nodes
    asks = ["I'd like to talk to a real person", "put me through to a human"]
    async with httpx.AsyncClient(base_url=a.base_url) as h:
        ana = await Agent(a, "ana@demo.omniroute.dev", h).sign_in()
        agent_ws, _ = await ana.connect()
        try:
            await ana.presence("available")
            async with chat_on_both(a, b) as (on_a, on_b, _):
                conversation_id = on_a.conversation_id
                await all_idle(a, b)
                race = BothRead(conversation_id)
                race.install("A", a.container.bots, monkeypatch)
                race.install("B", b.container.bots, monkeypatch)
                await asyncio.gather(say(on_a, asks[0]), say(on_b, asks[1]))
                offer = await agent_ws.next("offer.created", conversation_id=conversation_id)
                await all_idle(a, b)
                await routing_settled(a)

                assert [saved for _, saved in race.commits].count(False) == 1, race.commits
                stored = lines(await transcript(on_b))
                assert sorted(text for kind, text in stored if kind == "customer") == sorted(asks)
                passing = [text for kind, text in stored[1:] if kind == "bot"]
                assert len(passing) == 1, stored  # one "passing you to a person", not two
                assert passing[0].startswith(PASSING)
                assert await handoffs(a, conversation_id) == (1, 1, 1, [offer["session_id"]])
                assert (await bot_session(b, conversation_id)).status == "handed_off"
        finally:
            await agent_ws.close()
