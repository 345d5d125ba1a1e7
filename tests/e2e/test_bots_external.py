"""An external bot over real HTTP: a Bot Framework-style double on 127.0.0.1 receives signed
activities, answers through the activities endpoint, and hands the chat to a person with its
context, which the agent then reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from omniroute.channels.custom.signing import HEADER, signature_header, verify
from omniroute.core.clock import ManualClock
from tests.e2e.conftest import Customer, free_port, serve
from tests.e2e.test_bots_api import BotServer, bot_lines, sign_in, start_chat
from tests.e2e.test_bots_api import bot_server as shared_bot_server

bot_server = shared_bot_server  # the fixture, shared with test_bots_api

GUARD = 10.0


@dataclass
class EchoBot:
    """Answers "Echo: <text>"; "agent" makes it hand off with its context."""

    clock: ManualClock
    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/messages")
        async def messages(request: Request) -> Response:
            body = await request.body()
            if (
                verify(self.secret, body, request.headers.get(HEADER), self.clock.now().timestamp())
                is not None
            ):
                self.refused += 1
                return Response(status_code=401)
            activity = json.loads(body)
            self.received.append(activity)
            if activity["type"] == "message":
                task = asyncio.get_running_loop().create_task(self.answer(activity))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            return Response(status_code=200)

        return app

    async def send(self, service_url: str, activity: dict[str, Any]) -> httpx.Response:
        body = json.dumps(activity).encode()
        headers = {HEADER: signature_header(self.secret, body, int(self.clock.now().timestamp()))}
        async with httpx.AsyncClient() as client:
            return await client.post(
                service_url, content=body, headers={**headers, "content-type": "application/json"}
            )

    async def answer(self, activity: dict[str, Any]) -> None:
        text = activity["text"]
        url = activity["serviceUrl"]
        await self.send(url, {"type": "typing"})
        if "agent" in text.lower():
            await self.send(
                url, {"type": "message", "id": f"r-{activity['id']}", "text": "Let me find a colleague."}
            )
            context = {
                "reason": "customer_asked",
                "summary": "Asked about roaming fees.",
                "topic": "roaming",
                "variables": {"country": "FR"},
            }
            await self.send(url, {"type": "event", "name": "handoff.initiate", "value": context})
        else:
            await self.send(url, {"type": "message", "id": f"r-{activity['id']}", "text": f"Echo: {text}"})


@pytest.fixture
async def echo(bot_server: BotServer) -> AsyncIterator[tuple[EchoBot, str]]:
    bot = EchoBot(bot_server.live.clock)
    port = free_port()
    async with serve(bot.app(), port):
        yield bot, f"http://127.0.0.1:{port}/api/messages"
        await asyncio.gather(*bot.tasks, return_exceptions=True)


async def test_an_external_bot_answers_and_hands_off_over_http(
    bot_server: BotServer, echo: tuple[EchoBot, str]
) -> None:
    bot, endpoint = echo
    admin = await sign_in(bot_server, "admin")
    ana = await sign_in(bot_server, "ana")
    customer = Customer(bot_server.live, httpx.AsyncClient(base_url=bot_server.live.base_url))
    try:
        settings = {
            "name": "Echo",
            "display_name": "Echo",
            "kind": "external",
            "queues": ["Sales"],
            "external": {"endpoint": endpoint},
        }
        created = await admin.http.put(
            "/api/v1/bots/echo", json={"settings": settings}, headers=admin.headers()
        )
        assert created.status_code == 200, created.text
        secret = await admin.http.put("/api/v1/bots/echo/secret", json={}, headers=admin.headers())
        bot.secret = secret.json()["secret"]
        routing = await admin.http.put(
            "/api/v1/admin/routing-config", json={"config": {}}, headers=admin.headers()
        )
        assert routing.status_code == 200, routing.text  # no workstream bot: the queue decides (Sales → echo)

        await ana.presence("available")
        socket, _ = await ana.connect()
        await start_chat(bot_server, customer, "hello")
        assert await bot_lines(customer, 1) == ["Echo: hello"]
        assert [a["type"] for a in bot.received] == ["conversationUpdate", "message"]

        widget, _ = await customer.connect()  # the customer's widget socket
        await customer.say("I need an agent")
        typing = await widget.next("typing.changed", sender_kind="bot")
        assert (typing["conversation_id"], typing["is_typing"]) == (customer.conversation_id, True), (
            "the external bot's typing activity reaches the customer"
        )
        assert await bot_lines(customer, 2) == ["Echo: hello", "Let me find a colleague."]
        offer = await socket.next("offer.created", conversation_id=customer.conversation_id)
        accepted = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
        assert accepted.status_code == 200, accepted.text
        seen = (await ana.http.get(f"/api/v1/conversations/{customer.conversation_id}/bot")).json()
        assert seen["bot_id"] == "echo"
        assert (seen["context"]["reason"], seen["context"]["summary"]) == (
            "customer_asked",
            "Asked about roaming fees.",
        )
        assert seen["context"]["variables"] == {"country": "FR"}

        late = await bot.send(
            f"{bot_server.live.base_url}/api/v1/bots/echo/conversations/{customer.conversation_id}/activities",
            {"type": "message", "text": "still here"},
        )
        assert late.status_code == 409
        forged = await customer.http.post(
            f"/api/v1/bots/echo/conversations/{customer.conversation_id}/activities",
            json={"type": "message", "text": "forged"},
        )
        assert forged.status_code == 401
        assert bot.refused == 0
    finally:
        await socket.close()
        for opened in customer.sockets:
            await opened.close()
        for client in (admin.http, ana.http, customer.http):
            await client.aclose()
