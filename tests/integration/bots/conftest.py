"""A bot service over a real store (SQLite and PostgreSQL), the demo data, a manual clock, and an
HTTP transport the tests script (flows' HTTP actions, external bots' endpoints)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.bootstrap import build_container
from omniroute.bots.runtime.understand import Understanding
from omniroute.bots.service import BotService
from omniroute.bots.understanding.lexical import LexicalEmbedder
from omniroute.conversations.model import Conversation, SenderKind
from omniroute.conversations.store import Message
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.clock import ManualClock
from omniroute.core.ids import new_id
from omniroute.core.secretbox import SecretBox
from omniroute.customers import service as customers
from omniroute.demo import load_demo
from omniroute.knowledge.demo_articles import load_demo_articles
from omniroute.settings import Settings
from omniroute.web.container import Container

PUBLIC_URL = "https://bank.example"
LEXICAL = LexicalEmbedder()
#: Trained intent classifiers shared by every test's service: training is the slow part.
TRAINED: dict[str, Understanding] = {}

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]
GUARD = 10.0  # a hang guard, never a timing assertion


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait for work another task does (timers, listeners) until ``check`` holds."""
    async with asyncio.timeout(GUARD):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)


@dataclass
class Harness:
    container: Container
    bots: BotService
    clock: ManualClock
    requests: list[httpx.Request] = field(default_factory=list)
    handler: Handler | None = None

    async def transport(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.handler is None:
            return httpx.Response(404)
        return await self.handler(request)

    async def start_chat(
        self, question: str = "", *, attributes: dict[str, Any] | None = None, language: str | None = None
    ) -> str:
        """What web chat does for a new chat, with the bot gate where routing's callers put it."""
        c = self.container
        async with c.publisher.unit_of_work() as uow:
            customer = await customers.resolve_customer(uow, "webchat", f"test:{new_id()}", "Lee", None)
            conversation_id = new_id()
            prechat: dict[str, Any] = {"name": "Lee", "question": question}
            if language:
                prechat["language"] = language
            plan = await c.routing.plan_work(
                uow,
                item_id=conversation_id,
                channel="webchat",
                attributes={
                    "prechat": prechat,
                    "customer": {"id": customer.id, "name": "Lee"},
                    **(attributes or {}),
                },
                requested_queue=None,
                fallback_queue_id=None,
            )
            conv = await c.conversations.start(
                uow,
                channel="webchat",
                customer_id=customer.id,
                queue_id=plan.queue.id,
                subject=question,
                prechat=prechat,
                customer_token_hash=None,
                conversation_id=conversation_id,
            )
            if not await self.bots.take(uow, conv, plan):
                await c.routing.enqueue(uow, conv, plan)
            if question:
                conv = await c.conversations.load(uow, conv.id)
                await c.conversations.append(
                    uow,
                    conv,
                    sender_kind=SenderKind.CUSTOMER,
                    sender_id=customer.id,
                    sender_name="Lee",
                    text=question,
                    idempotency_key="prechat-question",
                )
        await self.bots.idle()
        return conversation_id

    async def say(self, conversation_id: str, text: str) -> list[str]:
        """The customer's message; returns what the bot answered to it."""
        before = (await self.conversation(conversation_id)).last_seq
        await self.container.conversations.post(
            conversation_id, sender_kind=SenderKind.CUSTOMER, text=text, idempotency_key=None
        )
        await self.bots.idle()
        return [
            m.text
            for m in await self.messages(conversation_id, before + 1)
            if m.sender_kind is SenderKind.BOT
        ]

    async def messages(self, conversation_id: str, after: int = 0) -> list[Message]:
        return await self.container.conversations.messages(conversation_id, after)

    async def bot_said(self, conversation_id: str) -> list[str]:
        return [m.text for m in await self.messages(conversation_id) if m.sender_kind is SenderKind.BOT]

    async def conversation(self, conversation_id: str) -> Conversation:
        return await self.container.conversations.get(conversation_id)

    async def use_workstream_bot(self, bot_id: str | None, **config: Any) -> None:
        document = {
            "workstreams": [{"id": "chat", "name": "Chat", "channels": ["webchat"], "bot": bot_id}],
            **config,
        }
        await self.container.routing_configs.save(document, comment="test", user_id=None)


@pytest.fixture
async def harness(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
    )
    clock = ManualClock()
    container = build_container(settings, clock=clock, bus=MemoryBus())
    await container.bus.start()
    await load_demo(container, ["http://127.0.0.1"])
    await load_demo_articles(container.knowledge, None)
    holder: list[Harness] = []

    async def transport(request: httpx.Request) -> httpx.Response:
        return await holder[0].transport(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(transport))
    bots = BotService(
        db=container.db,
        publisher=container.publisher,
        conversations=container.conversations,
        routing=container.routing,
        knowledge=container.knowledge,
        secrets=SecretBox(settings.secret_key),
        public_url=PUBLIC_URL,
        embedders={"e5": LEXICAL, "lexical": LEXICAL},  # no model in these tests: fast and deterministic
        http=http,
        trained=TRAINED,
    )
    holder.append(Harness(container, bots, clock))
    await bots.admin.install_demo()
    await holder[0].use_workstream_bot("banking")
    await bots.start()
    try:
        yield holder[0]
    finally:
        await bots.stop()
        await http.aclose()
        await container.bus.close()
        await container.db.dispose()
