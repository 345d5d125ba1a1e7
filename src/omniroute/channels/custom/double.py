"""A local messaging service on the other end of the custom channel API, for development and tests.

It plays an integrator's side of docs/channels/custom.md exactly as a real service would:

- its webhook (``POST /omniroute``, the account's ``outbound_url``) receives our replies, checks
  ``Omniroute-Signature`` with the ``outbound_secret`` (``signing.verify``: HMAC and the 5-minute
  tolerance) before anything is kept, keeps each reply and answers ``{"id": "ext-<n>"}``, the id
  later ``status`` events name; it can simulate an outage (503);
- its file server (``GET /files/{name}``) is what an ``attachments[].url`` it sends points at;
- :meth:`CustomChannelDouble.deliver` posts events (a ``conversation.start``, a customer's
  ``message``, a ``status``, ``typing``, ``end``) to the account's webhook URL, signed with the
  ``inbound_secret``.

Served on 127.0.0.1 by the e2e tests and by ``omniroute demo`` (under ``/__doubles/custom``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omniroute.channels.custom.signing import HEADER, signature_header, verify
from omniroute.channels.webhook_poster import WebhookPoster

#: Where the double takes our replies (its ``outbound_url`` is the served address plus this).
WEBHOOK_PATH = "/omniroute"


@dataclass
class CustomChannelDouble(WebhookPoster):
    inbound_secret: str
    outbound_secret: str
    now: Callable[[], datetime]
    #: Every reply whose signature verified, as the JSON document we sent.
    received: list[dict[str, Any]] = field(default_factory=list)
    #: Why each refused delivery was refused (a bad or missing signature).
    rejected: list[str] = field(default_factory=list)
    refusals: int = 0  # answer this many replies with 503 first (an outage)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    #: The service's own files by name: (content type, bytes).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    file_requests: int = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(WEBHOOK_PATH, self._webhook, methods=["POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
            ]
        )

    # -- what Omniroute sends to the service ------------------------------------------------------

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.body()
        problem = verify(self.outbound_secret, body, request.headers.get(HEADER), self.now().timestamp())
        if problem:
            self.rejected.append(problem)
            return JSONResponse({"error": problem}, status_code=401)
        if self.refusals > 0:
            self.refusals -= 1
            return JSONResponse({"error": "maintenance"}, status_code=503)
        try:
            message = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(message, dict):
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        self.received.append(message)
        self.arrived.set()
        return JSONResponse({"id": f"ext-{len(self.received)}"})

    async def _file(self, request: Request) -> Response:
        self.file_requests += 1
        found = self.files.get(request.path_params["name"])
        if found is None:
            return Response(status_code=404)
        return Response(found[1], media_type=found[0])

    def sent_to(self, user_id: str) -> list[dict[str, Any]]:
        """The replies addressed to one of the service's users, in the order they arrived."""
        return [m for m in self.received if m.get("to") == user_id]

    # -- what the service sends to Omniroute ------------------------------------------------------

    @staticmethod
    def message(
        event_id: str, user_id: str, text: str, *, name: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A customer's ``message`` event (``extra``: ``attachments``, ``reply_to``, ``sent_at``)."""
        sender: dict[str, Any] = {"id": user_id}
        if name:
            sender["name"] = name
        return {"type": "message", "id": event_id, "from": sender, "text": text, **extra}

    @staticmethod
    def start(
        event_id: str,
        user_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        context: dict[str, Any] | None = None,
        queue: str | None = None,
    ) -> dict[str, Any]:
        """A ``conversation.start`` event: the user asked for help before writing anything
        (``context``: what the service already knows, shown to the agent as pre-chat answers)."""
        user: dict[str, Any] = {"id": user_id}
        user.update({k: v for k, v in (("name", name), ("email", email), ("phone", phone)) if v})
        event: dict[str, Any] = {"type": "conversation.start", "id": event_id, "user": user}
        if context:
            event["context"] = context
        if queue:
            event["queue"] = queue
        return event

    def sign(self, body: bytes, secret: str | None = None) -> str:
        return signature_header(secret or self.inbound_secret, body, int(self.now().timestamp()))

    async def deliver(
        self, url: str, document: dict[str, Any], *, secret: str | None = None
    ) -> httpx.Response:
        """POST one event or ``{"events": [...]}`` to the account's webhook URL, signed."""
        body = json.dumps(document).encode()
        return await self.http.post(
            url, content=body, headers={"content-type": "application/json", HEADER: self.sign(body, secret)}
        )
