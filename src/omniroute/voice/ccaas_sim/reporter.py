"""Deliver the simulator's call events to Omniroute through the generic adapter's webhook.

Each batch is signed exactly as the generic adapter verifies it (``X-Omniroute-Signature:
t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``, real HMAC with the provider's webhook secret) and
re-signed on every retry, so a retry never falls outside the replay window. Batches go one at a
time in the order the switchboard produced them. Network errors and 5xx/429 are retried with a
growing pause; any other refusal (a wrong secret, a malformed event) is recorded for the console
and dropped, since sending it again would be refused again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from omniroute.core.clock import Clock
from omniroute.voice.adapters.generic import signing
from omniroute.voice.adapters.generic.schema import MAX_EVENTS

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=1)
LAST_RETRY = timedelta(seconds=30)
KEPT_OUTCOMES = 30


def signed_request(
    secret: str, events: Sequence[dict[str, Any]], now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one webhook call carrying ``events``."""
    body = json.dumps({"events": list(events)}, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Omniroute-Signature": signing.signature_header(secret, body, int(now.timestamp())),
    }
    return body, headers


@dataclass(frozen=True)
class Outcome:
    at: datetime
    events: int
    status: int  # 0: the request did not reach Omniroute
    detail: str

    def view(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "events": self.events,
            "status": self.status,
            "detail": self.detail,
        }


class Reporter:
    def __init__(self, *, url: str, secret: str, clock: Clock, client: httpx.AsyncClient) -> None:
        self.url = url
        self._secret = secret
        self._clock = clock
        self._client = client
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.outcomes: deque[Outcome] = deque(maxlen=KEPT_OUTCOMES)

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        self._pending.extend(events)
        self._idle.clear()
        self._wake.set()

    async def drained(self) -> None:
        """Return once everything handed over so far was delivered or refused (tests, shutdown)."""
        await self._idle.wait()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ccaas-sim-reporter")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def status(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "pending": len(self._pending),
            "delivered": self.delivered,
            "recent": [o.view() for o in reversed(self.outcomes)],
        }

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._pending[i] for i in range(min(MAX_EVENTS, len(self._pending)))]
            await self._deliver(batch)
            for _ in batch:
                self._pending.popleft()

    async def _deliver(self, batch: list[dict[str, Any]]) -> None:
        pause = FIRST_RETRY
        while True:
            now = self._clock.now()
            body, headers = signed_request(self._secret, batch, now)
            try:
                response = await self._client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                self.outcomes.append(Outcome(now, len(batch), 0, f"not delivered: {exc!r}"))
            else:
                detail = _detail(response)
                self.outcomes.append(Outcome(now, len(batch), response.status_code, detail))
                if response.is_success:
                    self.delivered += len(batch)
                    return
                if response.status_code < 500 and response.status_code != 429:
                    log.warning(
                        "Omniroute refused %d call events (%d): %s", len(batch), response.status_code, detail
                    )
                    return
            await self._clock.sleep_until(self._clock.now() + pause, asyncio.Event())
            pause = min(pause * 2, LAST_RETRY)


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])[:300]
    return json.dumps(data)[:300]
