"""The Redis bus for several nodes: pub/sub fan-out, one JSON document per message.

Redis pub/sub is fire-and-forget: a subscriber that is disconnected misses whatever was published
meanwhile. So each subscription owns its own pub/sub connection and watches it; when the
connection is lost (killed, server restart, no reply to a ping) the subscription reconnects with a
bounded, jittered backoff, resubscribes, and only *then* yields :data:`RESET`. Everything published
after a ``RESET`` is delivered, so a consumer that resynchronises from the store when it sees one
cannot miss anything — resynchronising before the resubscribe would leave a gap.

redis-py's own reconnect-and-resubscribe is switched off for subscriptions (it would silently hide
the loss); we do it ourselves so the loss is always reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff, NoBackoff

from omniroute.core.bus import RESET, BusReset, Message

log = logging.getLogger(__name__)

#: How long the initial SUBSCRIBE (and each resubscribe) may take before it counts as failed.
SUBSCRIBE_TIMEOUT = 10.0
#: Socket timeout for publishing (connect and each reply); a publish is retried twice.
PUBLISH_TIMEOUT = 2.0
#: After this much silence a subscription pings; a second silent interval means the peer is gone.
PING_INTERVAL = 30.0
#: Reconnect delays grow from BACKOFF_BASE, doubling, up to BACKOFF_CAP seconds (with jitter).
BACKOFF_BASE = 0.05
BACKOFF_CAP = 5.0
#: A connection that stayed up this long resets the backoff to its base.
STABLE_AFTER = 30.0
#: A consumer this far behind is told to resynchronise instead of buffering without limit.
MAX_PENDING = 10_000


class SubscriptionLost(Exception):
    """The pub/sub connection stopped answering."""


class RedisSubscription:
    """One topic, one pub/sub connection, one reader task feeding a bounded buffer."""

    def __init__(self, bus: RedisBus, topic: str) -> None:
        self._bus = bus
        self.topic = topic
        self._channel = bus.channel(topic)
        self._queue: asyncio.Queue[Message | BusReset | None] = asyncio.Queue()
        self._pending = 0
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # -- consumer side ---------------------------------------------------------------------------

    async def __aiter__(self) -> AsyncIterator[Message | BusReset]:
        while True:
            item = await self._queue.get()
            if item is None:
                self._queue.put_nowait(None)  # let any other iterator end too
                return
            self._pending -= 1
            yield item

    async def close(self) -> None:
        """Stop receiving; the iteration ends after what was already buffered. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._bus._forget(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await self._drop_connection()  # also ends a read that the cancellation missed
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # close() itself is being cancelled
            except Exception:
                log.exception("redis bus: subscription to %s failed", self._channel)
        await self._drop_connection()
        self._queue.put_nowait(None)

    # -- connection side -------------------------------------------------------------------------

    async def _start(self) -> None:
        """Subscribe and wait for the server's confirmation, then start reading."""
        self._pubsub = await self._connect()
        self._task = asyncio.create_task(self._run(), name=f"omniroute-redis-bus:{self.topic}")

    async def _connect(self) -> PubSub:
        pubsub = self._bus._subscriber_client().pubsub()
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await pubsub.subscribe(self._channel)
                while True:
                    reply = await pubsub.get_message(timeout=None)
                    if reply is not None and reply["type"] == "subscribe":
                        return pubsub
        except BaseException:
            await _aclose(pubsub)
            raise

    async def _drop_connection(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await _aclose(pubsub)

    async def _run(self) -> None:
        # Wherever this loop catches errors it first checks whether it is being stopped: redis-py
        # (8.1) can turn a cancellation that lands during its connect handshake into a
        # ConnectionError, which must end the loop rather than start another reconnect.
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._closed:
            up_since = loop.time()
            try:
                await self._read()
            except Exception as exc:  # any failure of the connection means messages may be lost
                self._stop_if_stopping()
                log.warning("redis bus: lost subscription to %s (%r)", self._channel, exc)
            await self._drop_connection()
            if loop.time() - up_since >= STABLE_AFTER:
                attempt = 0
            while not self._closed:
                await asyncio.sleep(_backoff(attempt))
                attempt += 1
                try:
                    pubsub = await self._connect()
                except Exception as exc:
                    self._stop_if_stopping()
                    log.warning("redis bus: resubscribing to %s failed (%r)", self._channel, exc)
                    continue
                if self._closed:
                    await _aclose(pubsub)
                    return
                self._pubsub = pubsub
                self._deliver(RESET)
                break

    def _stop_if_stopping(self) -> None:
        task = asyncio.current_task()
        if self._closed or (task is not None and task.cancelling()):
            raise asyncio.CancelledError

    async def _read(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        awaiting_pong = False
        while not self._closed:
            reply = await pubsub.get_message(timeout=PING_INTERVAL)
            if reply is None:
                if awaiting_pong:
                    msg = f"no reply to PING within {PING_INTERVAL}s"
                    raise SubscriptionLost(msg)
                await pubsub.ping()
                awaiting_pong = True
                continue
            awaiting_pong = False
            if reply["type"] == "message":
                message = _decode(reply["data"])
                if message is not None:
                    self._deliver(message)

    def _deliver(self, item: Message | BusReset) -> None:
        if self._pending >= MAX_PENDING:
            # The consumer is too far behind: drop the backlog and make it resynchronise.
            log.warning("redis bus: consumer of %s fell behind; resetting", self._channel)
            while not self._queue.empty():
                self._queue.get_nowait()
            self._pending = 0
            item = RESET
        self._pending += 1
        self._queue.put_nowait(item)


class RedisBus:
    """Fan events out to every node through Redis pub/sub (see the module docstring)."""

    def __init__(self, url: str, *, channel_prefix: str = "omniroute:") -> None:
        self.url = url
        self.channel_prefix = channel_prefix
        self._publisher: Redis | None = None
        self._subscriber: Redis | None = None
        self._subscriptions: set[RedisSubscription] = set()

    def channel(self, topic: str) -> str:
        return self.channel_prefix + topic

    async def start(self) -> None:
        """Check that Redis answers, so a misconfigured node fails at start-up."""
        await self._publisher_client().ping()

    async def close(self) -> None:
        for sub in list(self._subscriptions):
            await sub.close()
        for client in (self._publisher, self._subscriber):
            if client is not None:
                await client.aclose()
        self._publisher = self._subscriber = None

    async def publish(self, topic: str, message: Message) -> None:
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        await self._publisher_client().publish(self.channel(topic), data)

    async def subscribe(self, topic: str) -> RedisSubscription:
        sub = RedisSubscription(self, topic)
        await sub._start()
        self._subscriptions.add(sub)
        return sub

    def _forget(self, sub: RedisSubscription) -> None:
        self._subscriptions.discard(sub)

    def _publisher_client(self) -> Redis:
        if self._publisher is None:
            # Publishing happens after a commit, on the caller's path: fail within seconds, not a
            # minute (options in the URL's query string override these).
            self._publisher = Redis.from_url(
                self.url,
                socket_connect_timeout=PUBLISH_TIMEOUT,
                socket_timeout=PUBLISH_TIMEOUT,
                retry=Retry(EqualJitterBackoff(cap=0.5, base=0.05), 2),
            )
        return self._publisher

    def _subscriber_client(self) -> Redis:
        if self._subscriber is None:
            # No built-in retries: a lost pub/sub connection must surface (see the module docstring).
            self._subscriber = Redis.from_url(self.url, retry=Retry(NoBackoff(), 0, supported_errors=()))
        return self._subscriber


async def _aclose(pubsub: PubSub) -> None:
    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose untyped


def _backoff(attempt: int) -> float:
    if attempt == 0:
        return 0.0
    delay: float = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def _decode(data: Any) -> Message | None:
    try:
        message = json.loads(data)
    except (TypeError, ValueError):
        log.warning("redis bus: dropped a message that is not JSON")
        return None
    if not isinstance(message, dict):
        log.warning("redis bus: dropped a message that is not a JSON object")
        return None
    return message
