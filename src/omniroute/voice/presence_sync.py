"""Presence from Omniroute to the providers: signed webhooks through a durable outbox.

When an agent's presence changes (``presence.changed``, committed by the routing leader), one
outbox row per provider that syncs presence and knows the agent is written; a worker sends each
as JSON signed like the generic adapter's webhooks (``X-Omniroute-Signature: t=…,v1=…``,
HMAC-SHA256 with the provider's webhook secret), retrying with backoff while the provider is
down. Presence is state, so a newer change supersedes an older one still waiting to be sent.

The rows are written by an after-commit listener on the node that committed the change; a node
that crashes between that commit and the outbox write loses nothing either, because every
worker, when it starts, catches up from the event log (rows are unique per provider and event).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.events import DomainEvent, parse_event
from omniroute.core.ids import new_id
from omniroute.core.secretbox import SecretBox, SecretUnavailable
from omniroute.core.uow import Publisher
from omniroute.routing.events import AgentPresenceChanged
from omniroute.voice import store
from omniroute.voice.adapters.generic import signing
from omniroute.voice.store import PresenceDelivery

log = logging.getLogger(__name__)

EVENT_HEADER = "X-Omniroute-Event"
DELIVERY_HEADER = "X-Omniroute-Delivery"
SIGNATURE_HEADER = "X-Omniroute-Signature"
#: Retries back off from 2 s, doubling, to at most 5 minutes; after a day a change is dropped
#: (a presence that old says nothing true any more).
RETRY_BASE_SECONDS = 2.0
RETRY_CAP_SECONDS = 300.0
GIVE_UP_AFTER = timedelta(hours=24)
#: A claimed send that has not reported back within this lease is tried again.
SEND_LEASE = timedelta(seconds=60)
#: How far back a starting worker looks in the event log for changes nobody queued.
CATCH_UP = timedelta(minutes=30)
BATCH = 50
RETRYABLE = frozenset({408, 425, 429})


def retry_delay(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return float(min(max(retry_after, RETRY_BASE_SECONDS), RETRY_CAP_SECONDS))
    return float(min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_CAP_SECONDS))


def body_of(delivery: PresenceDelivery) -> bytes:
    """The exact bytes sent (and signed): compact JSON with sorted keys."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    with contextlib.suppress(TypeError, ValueError):
        return max((parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    return None


class PresenceSync:
    def __init__(
        self,
        *,
        db: Database,
        publisher: Publisher,
        clock: Clock,
        secrets: SecretBox,
        http_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
    ) -> None:
        self.db = db
        self.clock = clock
        self.secrets = secrets
        self._http_factory = http_factory
        self._http: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[int]] = set()
        #: Other writers of this outbox (reservation notices) catch up when the worker starts.
        self.catch_ups: list[Callable[[], Awaitable[int]]] = []
        publisher.add_listener(self._after_commit)

    # -- queueing -------------------------------------------------------------------------------

    def _after_commit(self, events: Sequence[DomainEvent]) -> None:
        changes = [e for e in events if isinstance(e, AgentPresenceChanged)]
        if not changes:
            return
        task = asyncio.get_running_loop().create_task(self._queue_logged(changes))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def wake(self) -> None:
        """Rows were queued by someone else (reservation notices): send them now."""
        self._wake.set()

    async def _queue_logged(self, changes: Sequence[AgentPresenceChanged]) -> int:
        try:
            return await self.queue(changes)
        except Exception:
            # The change is in the event log: the next worker start catches it up.
            log.exception("queueing presence changes for voice providers failed")
            return 0

    async def queue(self, changes: Sequence[AgentPresenceChanged]) -> int:
        """One outbox row per (provider that syncs presence and knows the agent, change)."""
        now = self.clock.now()
        queued = 0
        async with self.db.write() as conn:
            for provider in await store.list_providers(conn, enabled_only=True):
                if not provider.syncs_presence:
                    continue
                linked = {
                    link.user_id: link.external_id
                    for link in await store.links(conn, provider_id=provider.id)
                }
                for change in changes:
                    external = linked.get(change.agent_id) or (
                        change.agent_id if provider.agents_by_user_id else None
                    )
                    # A provider added later is not told about presence from before it existed.
                    if external is None or change.occurred_at < provider.created_at:
                        continue
                    queued += await store.queue_delivery(
                        conn,
                        PresenceDelivery(
                            id=new_id(),
                            provider_id=provider.id,
                            event_id=change.event_id,
                            user_id=change.agent_id,
                            occurred_at=change.occurred_at,
                            payload={
                                "type": "presence.changed",
                                "event_id": change.event_id,
                                "occurred_at": change.occurred_at.isoformat(),
                                "provider_id": provider.id,
                                "agent_id": external,
                                "user_id": change.agent_id,
                                "presence": change.presence,
                                "previous": change.previous,
                                "custom_presence": change.custom_presence,
                            },
                            status="queued",
                            attempts=0,
                            due_at=now,
                            last_status=None,
                            last_error=None,
                            created_at=now,
                        ),
                    )
        if queued:
            self._wake.set()
        return queued

    async def catch_up(self) -> int:
        """Queue recent presence changes that no row was written for (a crash after commit)."""
        since = self.clock.now() - CATCH_UP
        async with self.db.read() as conn:
            envelopes = await store.recent_presence_events(conn, since, limit=10_000)
        changes = []
        for envelope in envelopes:
            event = parse_event(envelope)
            if isinstance(event, AgentPresenceChanged):
                changes.append(event)
        return await self.queue(changes) if changes else 0

    async def settle(self) -> None:
        """Wait for after-commit queueing started so far (tests, shutdown)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # -- sending --------------------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self._http_factory(timeout=httpx.Timeout(10.0, connect=5.0))
        return self._http

    async def deliver_due(self) -> int:
        """Claim due rows, send them, record the outcome. Returns how many were attempted."""
        now = self.clock.now()
        async with self.db.write() as conn:
            due = await store.claim_due_deliveries(
                conn, now, now + SEND_LEASE, BATCH, skip_locked=not self.db.is_sqlite
            )
        for delivery in due:
            await self._send(delivery)
        return len(due)

    async def _send(self, delivery: PresenceDelivery) -> None:
        async with self.db.read() as conn:
            provider = await store.get_provider(conn, delivery.provider_id)
        kind = str(delivery.payload.get("type") or "presence.changed")
        listens = provider is not None and (
            provider.syncs_presence if kind == "presence.changed" else provider.hears_routing
        )
        if provider is None or not listens or provider.presence_url is None:
            what = "syncs presence" if kind == "presence.changed" else "lets Omniroute route its calls"
            await self._record(delivery, status="failed", error=f"the provider no longer {what}")
            return
        try:
            secret = self.secrets.open(provider.webhook_secret)
        except SecretUnavailable as exc:
            await self._retry(delivery, None, f"cannot read the webhook secret: {exc}", None)
            return
        body = body_of(delivery)
        now = self.clock.now()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signing.signature_header(secret, body, int(now.timestamp())),
            EVENT_HEADER: kind,
            DELIVERY_HEADER: delivery.id,
        }
        try:
            response = await self.http.post(provider.presence_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            await self._retry(delivery, None, f"network: {exc!r}", None)
            return
        code = response.status_code
        if 200 <= code < 300:
            await self._record(delivery, status="sent", code=code)
        elif code >= 500 or code in RETRYABLE:
            await self._retry(
                delivery, code, f"HTTP {code}: {response.text[:200]}", _retry_after(response, now)
            )
        else:
            # The provider refuses this request as such: sending it again cannot help.
            await self._record(
                delivery, status="failed", code=code, error=f"HTTP {code}: {response.text[:200]}"
            )

    async def _retry(
        self, delivery: PresenceDelivery, code: int | None, error: str, after: float | None
    ) -> None:
        now = self.clock.now()
        attempts = delivery.attempts + 1
        if now - delivery.created_at > GIVE_UP_AFTER:
            await self._record(
                delivery, status="failed", code=code, error=f"gave up after {attempts} attempts: {error}"
            )
            return
        async with self.db.write() as conn:
            if await store.has_newer_delivery(conn, delivery):
                status, due = "superseded", None
            else:
                status, due = "queued", now + timedelta(seconds=retry_delay(attempts, after))
            await store.finish_delivery(
                conn,
                delivery.id,
                now,
                status=status,
                attempts=attempts,
                due_at=due,
                last_status=code,
                last_error=error[:1000],
            )

    async def _record(
        self, delivery: PresenceDelivery, *, status: str, code: int | None = None, error: str | None = None
    ) -> None:
        async with self.db.write() as conn:
            await store.finish_delivery(
                conn,
                delivery.id,
                self.clock.now(),
                status=status,
                attempts=delivery.attempts + 1,
                due_at=None,
                last_status=code,
                last_error=error[:1000] if error else None,
            )

    # -- the worker ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="omniroute-voice-presence")

    async def stop(self) -> None:
        await self.settle()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _run(self) -> None:
        for catch_up in (self.catch_up, *self.catch_ups):
            try:
                await catch_up()
            except Exception:
                log.exception("catching up notices for voice providers failed")
        while True:
            self._wake.clear()
            try:
                attempted = await self.deliver_due()
            except Exception:
                log.exception("voice presence delivery pass failed")
                attempted = 0
            if attempted:
                continue
            async with self.db.read() as conn:
                next_due = await store.next_delivery_due(conn)
            await self.clock.sleep_until(next_due or self.clock.now() + timedelta(minutes=5), self._wake)
