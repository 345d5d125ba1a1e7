"""One contract for every EventBus implementation (in-memory and Redis).

Timeouts below only guard against hangs; nothing asserts on how long a delivery takes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis

from omniroute.core.bus import RESET, BusReset, EventBus, Message, Subscription
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.bus.redis import RedisBus

HANG_GUARD = 10.0

Item = Message | BusReset


def unique(prefix: str) -> str:
    """Topic and prefix names no other test (or concurrent test run) uses: Redis is shared."""
    return f"{prefix}-{secrets.token_hex(6)}"


def with_client_name(url: str, name: str) -> str:
    """Name this bus's Redis connections so a test can find (and kill) exactly its own."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({"client_name": name})) if q)
    return urlunsplit(parts._replace(query=query))


@pytest.fixture(params=[pytest.param("memory"), pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    impl: EventBus
    if request.param == "memory":
        impl = MemoryBus()
    else:
        impl = RedisBus(request.getfixturevalue("redis_url"), channel_prefix=unique("omniroute-test") + ":")
    await impl.start()
    try:
        yield impl
    finally:
        await impl.close()


class Reader:
    """Pull items from one subscription, one at a time, with a hang guard."""

    def __init__(self, sub: Subscription) -> None:
        self.sub = sub
        self._items = aiter(sub)

    async def next(self) -> Item:
        return await asyncio.wait_for(anext(self._items), HANG_GUARD)

    async def take(self, n: int) -> list[Item]:
        return [await self.next() for _ in range(n)]

    async def assert_ended(self) -> None:
        with pytest.raises(StopAsyncIteration):
            await self.next()


async def subscribe(bus: EventBus, topic: str) -> Reader:
    return Reader(await bus.subscribe(topic))


async def test_publish_after_subscribe_is_delivered(bus: EventBus) -> None:
    topic = unique("delivered")
    reader = await subscribe(bus, topic)

    await bus.publish(topic, {"type": "hello", "n": 1})

    assert await reader.next() == {"type": "hello", "n": 1}
    await reader.sub.close()


async def test_order_is_preserved_per_publisher(bus: EventBus) -> None:
    topic = unique("order")
    reader = await subscribe(bus, topic)

    for i in range(200):
        await bus.publish(topic, {"i": i})

    assert await reader.take(200) == [{"i": i} for i in range(200)]
    await reader.sub.close()


async def test_every_subscriber_gets_a_copy(bus: EventBus) -> None:
    topic = unique("fanout")
    readers = [await subscribe(bus, topic) for _ in range(3)]

    await bus.publish(topic, {"n": 1})
    await bus.publish(topic, {"n": 2})

    for reader in readers:
        assert await reader.take(2) == [{"n": 1}, {"n": 2}]
        await reader.sub.close()


async def test_topics_are_isolated(bus: EventBus) -> None:
    topic_a, topic_b = unique("topic-a"), unique("topic-b")
    reader_a = await subscribe(bus, topic_a)
    reader_b = await subscribe(bus, topic_b)

    await bus.publish(topic_b, {"for": "b"})
    await bus.publish(topic_a, {"for": "a"})
    await bus.publish(unique("nobody-listens"), {"for": "nobody"})
    await bus.publish(topic_b, {"for": "b", "last": True})

    # b's first message was published before a's: had it leaked, it would come first.
    assert await reader_a.next() == {"for": "a"}
    assert await reader_b.take(2) == [{"for": "b"}, {"for": "b", "last": True}]
    await reader_a.sub.close()
    await reader_b.sub.close()


async def test_closed_subscription_ends_and_gets_nothing_more(bus: EventBus) -> None:
    topic = unique("closing")
    closing = await subscribe(bus, topic)
    staying = await subscribe(bus, topic)
    await bus.publish(topic, {"n": 1})
    assert await closing.next() == {"n": 1}

    await closing.sub.close()
    await closing.sub.close()  # closing twice is harmless
    await bus.publish(topic, {"n": 2})

    # Once the open subscription has message 2, the closed one would have had it too.
    assert await staying.take(2) == [{"n": 1}, {"n": 2}]
    await closing.assert_ended()
    await closing.assert_ended()  # and stays ended
    await staying.sub.close()
    await staying.assert_ended()


async def test_close_wakes_a_waiting_consumer(bus: EventBus) -> None:
    reader = await subscribe(bus, unique("waiting"))
    waiting = asyncio.create_task(reader.take(1))
    await asyncio.sleep(0)  # let the consumer block on the empty subscription

    await reader.sub.close()

    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, HANG_GUARD)


async def test_delivered_message_is_an_equal_but_independent_dict(bus: EventBus) -> None:
    topic = unique("copies")
    first, second = await subscribe(bus, topic), await subscribe(bus, topic)
    original: Message = {"type": "x", "nested": {"items": [1, 2]}, "text": "García ✓"}
    snapshot = {"type": "x", "nested": {"items": [1, 2]}, "text": "García ✓"}

    await bus.publish(topic, original)
    original["nested"]["items"].append(3)  # the publisher changes its dict afterwards
    got_first, got_second = await first.next(), await second.next()

    assert got_first == snapshot
    assert got_second == snapshot
    assert isinstance(got_first, dict)
    assert isinstance(got_second, dict)
    assert got_first is not got_second
    got_first["nested"]["items"].append(4)  # one subscriber changes what it got
    assert got_second == snapshot
    await first.sub.close()
    await second.sub.close()


async def test_bus_close_ends_every_subscription(bus: EventBus) -> None:
    readers = [await subscribe(bus, unique("bus-close")) for _ in range(2)]

    await bus.close()

    for reader in readers:
        await reader.assert_ended()


# -- Redis only: pub/sub is fire-and-forget, so a lost connection must be reported ------------


@pytest.mark.redis
async def test_redis_lost_connection_yields_reset_then_delivery_resumes(redis_url: str) -> None:
    name = unique("omniroute-test")
    bus = RedisBus(with_client_name(redis_url, name), channel_prefix=name + ":")
    admin = Redis.from_url(redis_url)
    await bus.start()
    try:
        topic = unique("reset")
        reader = await subscribe(bus, topic)
        await bus.publish(topic, {"n": 1})
        assert await reader.next() == {"n": 1}

        for n in (2, 3):  # twice: the resubscribed connection is watched like the first
            mine = [c for c in await admin.client_list(_type="pubsub") if c["name"] == name]
            assert len(mine) == 1, mine
            await admin.client_kill_filter(_id=mine[0]["id"])

            assert await reader.next() is RESET
            # After RESET the subscription is live again: a later publish is delivered.
            await bus.publish(topic, {"n": n})
            assert await reader.next() == {"n": n}
        await reader.sub.close()
        await reader.assert_ended()
    finally:
        await admin.aclose()
        await bus.close()


class CuttableProxy:
    """A TCP proxy in front of Redis. ``cut()`` drops every connection and, until ``restore()``,
    accepts new ones only to close them at once (counted in ``refused``): a Redis outage."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._up = True
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._refused = asyncio.Condition()
        self.refused = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"redis://127.0.0.1:{port}/0"

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self._up = False
        for writer in list(self._writers):
            writer.close()

    def restore(self) -> None:
        self._up = True

    async def until_refused(self, n: int) -> None:
        async with self._refused:
            await asyncio.wait_for(self._refused.wait_for(lambda: self.refused >= n), HANG_GUARD)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if not self._up:
            client_w.close()
            async with self._refused:
                self.refused += 1
                self._refused.notify_all()
            return
        server_r, server_w = await asyncio.open_connection(*self._target)
        self._writers |= {client_w, server_w}
        try:
            await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))
        finally:
            self._writers -= {client_w, server_w}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(redis_url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.mark.redis
async def test_redis_outage_is_retried_with_backoff_then_reset(proxy: CuttableProxy) -> None:
    bus = RedisBus(proxy.url, channel_prefix=unique("omniroute-test") + ":")
    await bus.start()
    try:
        topic = unique("outage")
        reader = await subscribe(bus, topic)

        proxy.cut()
        await proxy.until_refused(3)  # the subscription keeps trying while Redis is away
        proxy.restore()

        assert await reader.next() is RESET
        await bus.publish(topic, {"after": "outage"})
        assert await reader.next() == {"after": "outage"}
    finally:
        await bus.close()


@pytest.mark.redis
async def test_redis_close_during_an_outage_ends_the_iteration(proxy: CuttableProxy) -> None:
    bus = RedisBus(proxy.url, channel_prefix=unique("omniroute-test") + ":")
    await bus.start()
    try:
        reader = await subscribe(bus, unique("outage-close"))
        proxy.cut()
        await proxy.until_refused(1)

        await reader.sub.close()

        await reader.assert_ended()
    finally:
        await bus.close()
