"""A customer's slow media download holds back only that customer's later messages: other
senders' receipts in the same batch are handled meanwhile, and each sender's stay in order (on
both stores)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa

from omniroute.channels.port import Attachment, InboundMessage
from omniroute.conversations.store import messages
from omniroute.core.clock import ManualClock
from omniroute.web.container import Container
from tests.integration.support import add_default_queue, store_container

#: A hang guard only: every wait below ends as soon as its condition holds.
WAIT = 20.0
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@asynccontextmanager
async def held_media_server() -> AsyncIterator[tuple[str, asyncio.Event, asyncio.Event]]:
    """A loopback HTTP server whose one file is sent only once ``release`` is set; ``asked`` is
    set when a download has started."""
    asked, release = asyncio.Event(), asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        asked.set()
        await release.wait()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {len(PHOTO)}\r\n"
        writer.write(head.encode() + b"Connection: close\r\n\r\n" + PHOTO)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/photo.png", asked, release
    finally:
        release.set()
        server.close()
        await server.wait_closed()


async def texts(c: Container) -> set[str]:
    async with c.db.read() as conn:
        return set((await conn.execute(sa.select(messages.c.text))).scalars())


async def test_a_slow_download_holds_back_only_its_sender(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    async with (
        store_container(database_url, tmp_path, clock) as c,
        held_media_server() as (url, asked, release),
    ):
        await add_default_queue(c, clock.now())
        account = await c.channels.create_account(
            channel="custom",
            name="lanes",
            settings={"outbound_url": "http://127.0.0.1:9/x", "allow_private_media_hosts": True},
            secrets={"inbound_secret": "a", "outbound_secret": "b"},
            default_queue_id=None,
        )
        photo = Attachment(url=url, content_type="image/png", filename="photo.png")
        batch = [
            InboundMessage(
                provider_message_id="a-1",
                sender_address="ann",
                text="Here is the photo",
                attachments=(photo,),
            ),
            InboundMessage(provider_message_id="a-2", sender_address="ann", text="Did it arrive?"),
            InboundMessage(provider_message_id="b-1", sender_address="bob", text="Hello from Bob"),
        ]
        assert await c.channels.ingest(account.id, batch) == 3

        passing = asyncio.create_task(c.channels.process_receipts())
        await asyncio.wait_for(asked.wait(), WAIT)
        async with asyncio.timeout(WAIT):  # a hang guard: Bob's message must not wait for Ann's download
            while True:
                if "Hello from Bob" in await texts(c):
                    break
                await asyncio.sleep(0.02)
        # Ann's own messages wait for her photo, in order.
        assert not {"Here is the photo", "Did it arrive?"} & await texts(c)
        assert not passing.done()

        release.set()
        assert await asyncio.wait_for(passing, WAIT) == 3
        async with c.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(messages.c.text, messages.c.seq).where(
                        messages.c.text.in_(["Here is the photo", "Did it arrive?"])
                    )
                )
            ).all()
        assert [text for text, _ in sorted(rows, key=lambda r: r.seq)] == [
            "Here is the photo",
            "Did it arrive?",
        ]
