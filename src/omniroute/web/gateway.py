"""The real-time gateway: one bus subscription per node, fanned out to this node's sockets.

Messages carry a per-conversation sequence number. Each socket remembers, per conversation, the
last sequence it delivered; a live event that skips ahead makes the socket fill the gap from the
store, and one it already delivered is dropped. So a client that reconnects with its cursors gets
exactly what it missed, in order, once (DESIGN.md §6). Everything else is state: the socket starts
with a snapshot taken after it subscribed, and a bus reset makes it ask the client to resnapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from omniroute.conversations.model import Location
from omniroute.conversations.service import ConversationService
from omniroute.core.bus import BusReset, EventBus, Message
from omniroute.core.uow import EVENTS_TOPIC
from omniroute.web.schemas import LocationOut

log = logging.getLogger(__name__)

INBOX_LIMIT = 2000
CLOSE_TRY_AGAIN = 1013

CONVERSATION_EVENTS = frozenset(
    {"message.posted", "typing.changed", "conversation.state_changed", "message.delivery_changed"}
)
AGENT_EVENTS = frozenset(
    {
        "offer.created",
        "offer.closed",
        "conversation.assigned",
        "session.closed",
        "presence.changed",
        "voice.call_changed",  # the agent's call moved (ringing, answered, held, ended…)
    }
)
#: Agent-only events about a conversation: its holder and whoever watches it (consultants).
NOTE_EVENTS = frozenset({"note.added"})
#: A consult concerns two agents: the consultant and the holder.
CONSULT_EVENTS = frozenset({"consult.started", "consult.ended"})
#: Changes to customers and cases reach the agent sockets that follow those records (the pages
#: showing them), as a thin ``record.changed`` frame without the content: the page reads the
#: record again through the REST API, which applies the reader's rights.
RECORD_EVENT_PREFIXES = ("case.", "customer.", "customers.")
#: How many records one socket may follow (ten sessions, each a customer and a few cases).
MAX_FOLLOWED = 200


def record_keys(event: Message) -> list[str]:
    """The follow keys a customer or case event concerns: ``case:<id>``, ``customer:<id>``."""
    keys: list[str] = []
    if event.get("case_id"):
        keys.append(f"case:{event['case_id']}")
    if event.get("customer_id"):
        keys.append(f"customer:{event['customer_id']}")
    if event.get("merged_id"):  # the record merged away: whoever shows it moves to the survivor
        keys.append(f"customer:{event['merged_id']}")
    return keys


def record_frame(event: Message) -> Message:
    frame: Message = {"type": "record.changed", "event": event["type"]}
    for field in ("case_id", "customer_id", "merged_id", "conversation_id", "actor_id"):
        if event.get(field):
            frame[field] = event[field]
    return frame


def message_location(event: Message) -> dict[str, Any] | None:
    """A message.posted event's place as the REST API shows it (with its map link), or None."""
    found = Location.of(event.get("location"))
    return LocationOut.of(found).model_dump() if found is not None else None


def customer_view(event: Message) -> Message | None:
    """What a customer may see of an event: no agent ids, no internal fields."""
    kind = event["type"]
    if kind == "message.posted":
        return {
            "type": kind,
            "conversation_id": event["conversation_id"],
            "seq": event["seq"],
            "message": {
                "id": event["message_id"],
                "seq": event["seq"],
                "sender_kind": event["sender_kind"],
                "sender_name": event["sender_name"],
                "text": event["text"],
                "created_at": event["created_at"],
                "attachments": event.get("attachments") or [],
                "location": message_location(event),
            },
        }
    if kind == "typing.changed":
        if event["sender_kind"] == "customer":
            return None
        return {
            "type": kind,
            "conversation_id": event["conversation_id"],
            "sender_kind": event["sender_kind"],
            "is_typing": event["is_typing"],
        }
    if kind == "conversation.state_changed":
        return {
            "type": kind,
            "conversation_id": event["conversation_id"],
            "state": event["to_state"],
        }
    return None


def agent_view(event: Message) -> Message | None:
    kind = event["type"]
    if kind == "message.posted":
        out = dict(event)
        out["message"] = {
            "id": event["message_id"],
            "seq": event["seq"],
            "sender_kind": event["sender_kind"],
            "sender_name": event["sender_name"],
            "text": event["text"],
            "created_at": event["created_at"],
            "attachments": event.get("attachments") or [],
            "location": message_location(event),
        }
        return out
    if kind == "typing.changed" and event["sender_kind"] == "agent":
        return None
    if kind.startswith(RECORD_EVENT_PREFIXES):
        return record_frame(event)
    return dict(event)


class Connection:
    """One socket: an inbox of events, delivered in order by its own task."""

    def __init__(
        self,
        ws: WebSocket,
        conversations: ConversationService,
        view: Callable[[Message], Message | None],
    ) -> None:
        self.ws = ws
        self.conversations = conversations
        self.view = view
        self.inbox: asyncio.Queue[Message | BusReset] = asyncio.Queue(maxsize=INBOX_LIMIT)
        self.cursors: dict[str, int] = {}
        self.following: frozenset[str] = frozenset()
        self.closed = False

    def offer(self, event: Message | BusReset) -> None:
        try:
            self.inbox.put_nowait(event)
        except asyncio.QueueFull:
            # A client this far behind reconnects and resumes from its cursors instead.
            self.closed = True

    async def send(self, frame: Message) -> None:
        if self.ws.client_state is WebSocketState.CONNECTED:
            await self.ws.send_json(frame)

    async def track(self, conversation_id: str, after_seq: int) -> None:
        """Start (or restart) delivering a conversation's messages after ``after_seq``."""
        self.cursors[conversation_id] = after_seq
        await self._fill(conversation_id)

    async def _fill(self, conversation_id: str) -> None:
        after = self.cursors[conversation_id]
        while True:
            batch = await self.conversations.messages(conversation_id, after, 500)
            for m in batch:
                frame = self.view(
                    {
                        "type": "message.posted",
                        "conversation_id": conversation_id,
                        "message_id": m.id,
                        "seq": m.seq,
                        "sender_kind": m.sender_kind.value,
                        "sender_id": m.sender_id,
                        "sender_name": m.sender_name,
                        "text": m.text,
                        "created_at": m.created_at.isoformat(),
                        "agent_id": None,
                        "attachments": [a.as_dict() for a in m.attachments],
                        "location": m.location.as_dict() if m.location is not None else None,
                    }
                )
                if frame is not None:
                    await self.send(frame)
                after = m.seq
            self.cursors[conversation_id] = after
            if len(batch) < 500:
                return

    async def pump(self, on_event: Callable[[Connection, Message], Awaitable[None]]) -> None:
        while not self.closed:
            item = await self.inbox.get()
            if isinstance(item, BusReset):
                await self.send({"type": "resync", "reason": "event stream interrupted"})
                continue
            await on_event(self, item)
        with contextlib.suppress(Exception):
            await self.ws.close(code=CLOSE_TRY_AGAIN)

    async def deliver_message(self, event: Message) -> None:
        conv_id, seq = event["conversation_id"], int(event["seq"])
        last = self.cursors.get(conv_id)
        if last is None:
            return
        if seq <= last:
            return  # already delivered (by a resume or gap fill)
        if seq == last + 1:
            frame = self.view(event)
            if frame is not None:
                await self.send(frame)
            self.cursors[conv_id] = seq
            return
        await self._fill(conv_id)  # something is missing in between: the store has it


class Gateway:
    def __init__(self, bus: EventBus, conversations: ConversationService) -> None:
        self.bus = bus
        self.conversations = conversations
        self.agents: dict[str, set[Connection]] = {}
        self.customers: dict[str, set[Connection]] = {}
        #: Agent sockets following a conversation they do not hold (consults), by conversation id.
        self.watchers: dict[str, set[Connection]] = {}
        #: Agent sockets following customers and cases, by ``customer:<id>`` / ``case:<id>``.
        self.records: dict[str, set[Connection]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        subscription = await self.bus.subscribe(EVENTS_TOPIC)

        async def consume() -> None:
            async for item in subscription:
                self.route(item)

        self._subscription = subscription
        self._task = asyncio.create_task(consume(), name="omniroute-gateway")

    async def stop(self) -> None:
        if self._task is not None:
            await self._subscription.close()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def route(self, item: Message | BusReset) -> None:
        if isinstance(item, BusReset):
            for conns in (*self.agents.values(), *self.customers.values()):
                for conn in conns:
                    conn.offer(item)
            return
        for conn in self.targets(item):
            conn.offer(item)

    def targets(self, item: Message) -> set[Connection]:
        """The sockets an event goes to."""
        kind = item.get("type")
        targets: set[Connection] = set()
        if kind in CONVERSATION_EVENTS:
            targets |= self.customers.get(item["conversation_id"], set())
            targets |= self.watchers.get(item["conversation_id"], set())
            if item.get("agent_id"):
                targets |= self.agents.get(item["agent_id"], set())
        elif kind in NOTE_EVENTS:
            targets |= self.watchers.get(item["conversation_id"], set())
            if item.get("agent_id"):
                targets |= self.agents.get(item["agent_id"], set())
        elif kind in CONSULT_EVENTS:
            targets |= self.agents.get(item["agent_id"], set())
            if item.get("holder_id"):
                targets |= self.agents.get(item["holder_id"], set())
        elif kind in AGENT_EVENTS and item.get("agent_id"):
            targets |= self.agents.get(item["agent_id"], set())
        elif isinstance(kind, str) and kind.startswith(RECORD_EVENT_PREFIXES):
            for key in record_keys(item):
                targets |= self.records.get(key, set())
        return targets

    def register(self, index: dict[str, set[Connection]], key: str, conn: Connection) -> None:
        index.setdefault(key, set()).add(conn)

    def follow(self, conn: Connection, keys: frozenset[str]) -> None:
        """The records ``conn`` follows are now ``keys`` (a replacement, not an addition)."""
        for key in conn.following - keys:
            self.unregister(self.records, key, conn)
        for key in keys - conn.following:
            self.register(self.records, key, conn)
        conn.following = keys

    def forget(self, conn: Connection) -> None:
        """A socket closed: stop every watch it held."""
        for conversation_id in [k for k, conns in self.watchers.items() if conn in conns]:
            self.unregister(self.watchers, conversation_id, conn)
        self.follow(conn, frozenset())

    def unregister(self, index: dict[str, set[Connection]], key: str, conn: Connection) -> None:
        conns = index.get(key)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del index[key]


async def receive_json(ws: WebSocket) -> Any:
    try:
        return await ws.receive_json()
    except (WebSocketDisconnect, RuntimeError):
        return None
    except ValueError:
        return {"type": "invalid"}
