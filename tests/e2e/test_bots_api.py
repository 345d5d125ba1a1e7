"""Bots over HTTP: a customer talks to the demo bot through the widget API, asks for a person, and
the agent gets the transcript and the context; admins edit flows (422 with lines); supervisors
read analytics.

Until bootstrap wires the bot service and ``BotGate`` (see docs/BOTS.md, "Where bots sit"), the
``bot_server`` fixture adds them to the live app itself, and ``start_chat`` opens the chat the
way web chat will once its ``start`` calls the gate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.bootstrap import create_app
from omniroute.bots.service import BotService
from omniroute.bots.understanding.lexical import LexicalEmbedder
from omniroute.channels.webchat.model import CHANNEL
from omniroute.conversations.model import SenderKind
from omniroute.core.clock import ManualClock
from omniroute.core.ids import hash_token, new_id, new_token
from omniroute.core.migrations import upgrade
from omniroute.core.secretbox import SecretBox
from omniroute.customers import service as customers
from omniroute.demo import load_demo
from omniroute.knowledge.demo_articles import load_demo_articles
from omniroute.web import api_bots
from tests.e2e.conftest import Agent, Customer, LiveServer, free_port, node_settings, serve

GUARD = 10.0
LEXICAL = LexicalEmbedder()
TRAINED: dict[str, Any] = {}


@dataclass
class BotServer:
    live: LiveServer
    bots: BotService


@pytest.fixture
async def bot_server(tmp_path: Path) -> AsyncIterator[BotServer]:
    port = free_port()
    settings = node_settings(tmp_path, port)
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    container = app.state.container
    wired = isinstance(getattr(app.state, "bots", None), BotService)
    if wired:
        bots: BotService = app.state.bots
    else:
        bots = BotService(
            db=container.db,
            publisher=container.publisher,
            conversations=container.conversations,
            routing=container.routing,
            knowledge=container.knowledge,
            secrets=SecretBox(settings.secret_key),
            public_url=settings.effective_public_url,
            embedders={"e5": LEXICAL, "lexical": LEXICAL},
            trained=TRAINED,
        )
        app.state.bots = bots
        app.include_router(api_bots.router)
    base = f"http://127.0.0.1:{port}"
    await load_demo(container, [base])
    await load_demo_articles(container.knowledge, None)
    await bots.admin.install_demo(embedder="lexical")
    await container.routing_configs.save(
        {"workstreams": [{"id": "chat", "name": "Chat", "channels": ["webchat"], "bot": "banking"}]},
        comment="the demo bot answers web chats first",
        user_id=None,
    )
    widget = (await container.webchat.list_widgets())[0]
    async with serve(app, port):
        if not wired:
            await bots.start()
        try:
            yield BotServer(
                LiveServer(base, f"ws://127.0.0.1:{port}", clock, container, widget.public_key), bots
            )
        finally:
            if not wired:
                await bots.stop()


async def start_chat(server: BotServer, customer: Customer, question: str) -> None:
    """Web chat's ``start`` with the bot gate in place (what bootstrap wiring will do)."""
    c = server.live.container
    widget = await c.webchat.widget(server.live.widget_key)
    token = new_token()
    async with c.publisher.unit_of_work() as uow:
        person = await customers.resolve_customer(uow, CHANNEL, f"{widget.id}:{new_id()}", "Lee", None)
        conversation_id = new_id()
        prechat = {"name": "Lee", "email": "", "question": question, "queue": ""}
        plan = await c.routing.plan_work(
            uow,
            item_id=conversation_id,
            channel=CHANNEL,
            attributes={"prechat": prechat, "customer": {"id": person.id, "name": "Lee"}},
            requested_queue=None,
            fallback_queue_id=widget.default_queue_id,
        )
        conv = await c.conversations.start(
            uow,
            channel=CHANNEL,
            customer_id=person.id,
            queue_id=plan.queue.id,
            subject=question,
            prechat=prechat,
            customer_token_hash=hash_token(token),
            conversation_id=conversation_id,
        )
        assert await server.bots.take(uow, conv, plan)
        conv = await c.conversations.load(uow, conv.id)
        await c.conversations.append(
            uow, conv, sender_kind=SenderKind.CUSTOMER, sender_id=person.id, sender_name="Lee", text=question
        )
    customer.token, customer.conversation_id = token, conversation_id


async def bot_lines(customer: Customer, count: int) -> list[str]:
    """The bot's messages as the customer's widget reads them, once there are ``count``."""
    async with asyncio.timeout(GUARD):
        while True:
            r = await customer.http.get(f"{customer.prefix}/conversation", headers=customer.headers())
            assert r.status_code == 200, r.text
            lines = [m["text"] for m in r.json()["messages"] if m["sender_kind"] == "bot"]
            if len(lines) >= count:
                return lines
            await asyncio.sleep(0.05)


async def sign_in(server: BotServer, name: str) -> Agent:
    return await Agent(
        server.live, f"{name}@demo.omniroute.dev", httpx.AsyncClient(base_url=server.live.base_url)
    ).sign_in()


async def test_the_widget_customer_gets_answers_then_a_person_with_the_context(bot_server: BotServer) -> None:
    ana = await sign_in(bot_server, "ana")
    customer = Customer(bot_server.live, httpx.AsyncClient(base_url=bot_server.live.base_url))
    try:
        await ana.presence("available")
        socket, _ = await ana.connect()
        await start_chat(bot_server, customer, "How do I reset my online banking password?")
        lines = await bot_lines(customer, 2)
        assert "virtual assistant" in lines[0]
        assert lines[1].startswith("Here is what our help article “Reset your online banking password” says:")
        assert f"{bot_server.live.base_url}/kb/" in lines[1]

        r = await customer.say("I'd like to talk to a person please", "k1")
        assert r.status_code == 201, r.text
        lines = await bot_lines(customer, 3)
        assert lines[2].startswith("I'm passing you to a person now.")

        offer = await socket.next("offer.created", conversation_id=customer.conversation_id)
        accepted = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
        assert accepted.status_code == 200, accepted.text
        transcript = (await ana.http.get(f"/api/v1/conversations/{customer.conversation_id}/messages")).json()
        assert [m["sender_kind"] for m in transcript][:5] == ["customer", "bot", "bot", "customer", "bot"]
        context = (await ana.http.get(f"/api/v1/conversations/{customer.conversation_id}/bot")).json()
        assert context["status"] == "handed_off"
        assert context["context"]["reason"] == "requested"
        assert context["context"]["last_phrases"][-1] == "I'd like to talk to a person please"
        sam = await sign_in(bot_server, "sam")
        trace = await sam.http.get(f"/api/v1/admin/conversations/{customer.conversation_id}/routing-trace")
        assert any("bot 'banking' answered first" in step for step in trace.json()["steps"])
        await sam.http.aclose()

        ben = await sign_in(bot_server, "ben")
        hidden = await ben.http.get(f"/api/v1/conversations/{customer.conversation_id}/bot")
        assert hidden.status_code == 404, "another agent cannot read the context"
        await ben.http.aclose()
    finally:
        await socket.close()
        await ana.http.aclose()
        await customer.http.aclose()


FLOW = """\
id: cards_fee_en
language: en
trigger:
  phrases: [card fee, how much does the card cost]
steps:
  - say: The debit card is free.
"""


async def test_admins_edit_flows_as_yaml_with_located_errors(bot_server: BotServer) -> None:
    admin = await sign_in(bot_server, "admin")
    sam = await sign_in(bot_server, "sam")
    ana = await sign_in(bot_server, "ana")
    path = "/api/v1/bots/banking/flows/cards_fee_en"
    yaml_headers = {**admin.headers(), "content-type": "application/yaml"}
    try:
        bad = await admin.http.put(path, content=FLOW.replace("  - say:", "  - sing:"), headers=yaml_headers)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["line"] == 6
        assert bad.json()["errors"][0]["path"] == "steps[0]"
        saved = await admin.http.put(path, content=FLOW, headers=yaml_headers, params={"expected_version": 0})
        assert saved.status_code == 200, saved.text
        assert saved.json()["version"] == 1
        stale = await admin.http.put(
            path, content=FLOW + "\n", headers=yaml_headers, params={"expected_version": 0}
        )
        assert stale.status_code == 409
        as_json = await admin.http.put(
            path, json={"source": FLOW + "# note\n", "expected_version": 1}, headers=admin.headers()
        )
        assert as_json.json()["version"] == 2
        raw = await sam.http.get(path, headers={"accept": "application/yaml"})
        assert raw.text == FLOW + "# note\n"
        check = await admin.http.post(
            f"{path}/validate", content="id: cards_fee_en\nlanguage: de\n", headers=yaml_headers
        )
        assert check.status_code == 422
        assert check.json()["errors"][0]["line"] == 2
        assert (
            await sam.http.put(
                path, content=FLOW, headers={**sam.headers(), "content-type": "application/yaml"}
            )
        ).status_code == 403
        assert (
            await admin.http.put(path, content=FLOW, headers={"content-type": "application/yaml"})
        ).status_code == 403, "CSRF"
        assert (await ana.http.get("/api/v1/bots")).status_code == 403
        listed = (await sam.http.get("/api/v1/bots")).json()
        assert [b["id"] for b in listed] == ["banking"]
        assert "cards_fee_en" in [f["flow_id"] for f in listed[0]["flows"]]
        settings = listed[0]["settings"]
        bad_settings = await admin.http.put(
            "/api/v1/bots/banking",
            json={"settings": {**settings, "default_language": "fr"}},
            headers=admin.headers(),
        )
        assert bad_settings.status_code == 422
        assert bad_settings.json()["errors"][0]["path"] == "default_language"
        removed = await admin.http.delete(path, headers=admin.headers())
        assert removed.status_code == 204
    finally:
        for person in (admin, sam, ana):
            await person.http.aclose()


async def test_supervisors_read_bot_analytics(bot_server: BotServer) -> None:
    sam = await sign_in(bot_server, "sam")
    customer = Customer(bot_server.live, httpx.AsyncClient(base_url=bot_server.live.base_url))
    try:
        await start_chat(bot_server, customer, "what are your opening hours")
        await bot_lines(customer, 2)
        await customer.say("thanks, that's all")
        await bot_lines(customer, 3)
        rated = await customer.http.post(
            f"{customer.prefix}/conversation/csat", json={"rating": 4}, headers=customer.headers()
        )
        assert rated.status_code == 201, rated.text
        figures = (await sam.http.get("/api/v1/bots/analytics", params={"bot_id": "banking"})).json()
        assert figures["sessions"] == 1
        assert figures["resolved"] == 1
        assert figures["containment_rate"] == 1.0
        assert (figures["csat_responses"], figures["csat_average"]) == (1, 4.0)
        sessions = (await sam.http.get("/api/v1/bots/sessions")).json()
        assert sessions[0]["outcome"] == "resolved"
        assert sessions[0]["topics"] == ["opening_hours", "goodbye"]
    finally:
        await sam.http.aclose()
        await customer.http.aclose()
