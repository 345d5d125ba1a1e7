"""WebSocket endpoints: agents (cookie or API token) and web chat customers (conversation token)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket

from omniroute.channels.webchat.model import check_origin
from omniroute.conversations.model import SenderKind
from omniroute.core.bus import Message
from omniroute.core.errors import DomainError
from omniroute.identity.model import Principal, Role
from omniroute.web.container import Container
from omniroute.web.gateway import (
    CONSULT_EVENTS,
    MAX_FOLLOWED,
    Connection,
    Gateway,
    agent_view,
    customer_view,
    receive_json,
)
from omniroute.web.schemas import ConversationOut, OfferOut
from omniroute.web.visibility import holds

router = APIRouter()

HELLO_TIMEOUT = 10.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


def _container(ws: WebSocket) -> Container:
    value = ws.app.state.container
    assert isinstance(value, Container)
    return value


def _gateway(ws: WebSocket) -> Gateway:
    value = ws.app.state.gateway
    assert isinstance(value, Gateway)
    return value


def same_origin(ws: WebSocket) -> bool:
    """Cookie-authenticated sockets must come from our own pages (no cross-site hijacking)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser; cookies alone are not how non-browsers authenticate
    host = ws.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


async def _agent_principal(ws: WebSocket, c: Container) -> Principal | None:
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return await c.identity.principal_for_api_token(auth[7:].strip())
    cookie = ws.cookies.get(c.settings.session_cookie_name)
    if cookie and same_origin(ws):
        return await c.identity.principal_for_session(cookie)
    return None


async def _hello(ws: WebSocket) -> dict[str, Any]:
    try:
        frame = await asyncio.wait_for(receive_json(ws), timeout=HELLO_TIMEOUT)
    except TimeoutError:
        return {}
    return frame if isinstance(frame, dict) and frame.get("type") == "hello" else {}


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    c, gateway = _container(ws), _gateway(ws)
    who = await _agent_principal(ws, c)
    await ws.accept()  # accept first so the browser sees our close code, not a bare 1006
    if who is None or not who.user.has_role(Role.AGENT):
        await ws.close(code=CLOSE_UNAUTHORIZED, reason="sign in first")
        return
    agent_id = who.user.id
    conn = Connection(ws, c.conversations, agent_view)
    gateway.register(gateway.agents, agent_id, conn)  # subscribe before the snapshot
    pump: asyncio.Task[None] | None = None
    try:
        hello = await _hello(ws)
        follows = follow_keys(hello.get("follow") or {})
        if isinstance(follows, frozenset):
            gateway.follow(conn, follows)
        raw = hello.get("cursors")
        cursors: dict[str, Any] = raw if isinstance(raw, dict) else {}
        state = await c.routing.agent_state(agent_id)
        convs = await c.conversations.agent_conversations(agent_id)
        consulting = await c.routing.consulting(agent_id)
        for conv in consulting:
            gateway.register(gateway.watchers, conv.id, conn)
        offers = [OfferOut.of(await c.routing.offer_view(s)) for s in state.pending_offers]
        await conn.send(
            {
                "type": "snapshot",
                "user": {
                    "id": agent_id,
                    "display_name": who.user.display_name,
                    "role": who.user.role.value,
                },
                "presence": state.presence.value,
                "custom_presence": await c.routing.custom_presence(agent_id),
                "queues": [{"id": q.id, "name": q.name} for q in state.queues],
                "offers": [o.model_dump(mode="json") for o in offers],
                "conversations": [ConversationOut.of(x).model_dump(mode="json") for x in convs],
                "consulting": [ConversationOut.of(x).model_dump(mode="json") for x in consulting],
            }
        )
        for conv in [*convs, *consulting]:
            cursor = cursors.get(conv.id, 0)
            await conn.track(conv.id, cursor if isinstance(cursor, int) and cursor >= 0 else 0)

        async def on_event(conn: Connection, event: Message) -> None:
            kind = event["type"]
            if kind == "message.posted":
                await conn.deliver_message(event)
                return
            frame = agent_view(event)
            if frame is not None:
                await conn.send(frame)
            if kind == "conversation.assigned" and event["conversation_id"] not in conn.cursors:
                await conn.track(event["conversation_id"], 0)
            if kind in CONSULT_EVENTS and event["agent_id"] == agent_id:
                await _follow_consult(gateway, conn, event)

        pump = asyncio.create_task(conn.pump(on_event))
        while True:
            frame = await receive_json(ws)
            if frame is None:
                break
            await _agent_frame(c, gateway, who, conn, frame)
    finally:
        gateway.unregister(gateway.agents, agent_id, conn)
        gateway.forget(conn)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump


async def _follow_consult(gateway: Gateway, conn: Connection, event: Message) -> None:
    """A consultant's socket follows the conversation while the consult lasts."""
    conversation_id = event["conversation_id"]
    if event["type"] == "consult.started":
        gateway.register(gateway.watchers, conversation_id, conn)
        await conn.track(conversation_id, 0)
        return
    gateway.unregister(gateway.watchers, conversation_id, conn)
    if event.get("reason") != "promoted":  # a promoted consultant keeps it as its holder
        conn.cursors.pop(conversation_id, None)


def follow_keys(raw: Any) -> frozenset[str] | str:
    """``{"customers": [ids], "cases": [ids]}`` → the gateway's follow keys, or why it is refused."""
    if not isinstance(raw, dict):
        return "follow needs {customers: [ids], cases: [ids]}"
    keys: set[str] = set()
    for field, prefix in (("customers", "customer"), ("cases", "case")):
        ids = raw.get(field, [])
        if not isinstance(ids, list) or not all(isinstance(i, str) and 0 < len(i) <= 64 for i in ids):
            return f"follow.{field} must be a list of ids"
        keys.update(f"{prefix}:{i}" for i in ids)
    if len(keys) > MAX_FOLLOWED:
        return f"follow at most {MAX_FOLLOWED} records"
    return frozenset(keys)


async def _agent_frame(c: Container, gateway: Gateway, who: Principal, conn: Connection, frame: Any) -> None:
    if not isinstance(frame, dict):
        await conn.send({"type": "error", "detail": "frames are JSON objects"})
        return
    kind = frame.get("type")
    if kind == "ping":
        await conn.send({"type": "pong"})
    elif kind == "typing":
        conv_id = frame.get("conversation_id")
        if not isinstance(conv_id, str) or conv_id not in conn.cursors:
            await conn.send({"type": "error", "detail": "unknown conversation"})
            return
        if not holds(await c.conversations.get(conv_id), who):  # consultants are read-only
            await conn.send({"type": "error", "detail": "only the holder types to the customer"})
            return
        await c.conversations.typing(conv_id, SenderKind.AGENT, bool(frame.get("is_typing")))
    elif kind == "follow":
        keys = follow_keys(frame)
        if isinstance(keys, str):
            await conn.send({"type": "error", "detail": keys})
            return
        gateway.follow(conn, keys)
    elif kind == "resume":
        conv_id, after = frame.get("conversation_id"), frame.get("after_seq", 0)
        if isinstance(conv_id, str) and conv_id in conn.cursors and isinstance(after, int):
            await conn.track(conv_id, max(after, 0))
    else:
        await conn.send({"type": "error", "detail": f"unknown frame type {kind!r}"})


@router.websocket("/ws/webchat/{public_key}")
async def customer_socket(ws: WebSocket, public_key: str) -> None:
    c, gateway = _container(ws), _gateway(ws)
    try:
        widget = await c.webchat.widget(public_key)
        check_origin(widget, ws.headers.get("origin"))
    except DomainError:
        await ws.close(code=CLOSE_FORBIDDEN)
        return
    await ws.accept()
    hello = await _hello(ws)
    token = hello.get("token")
    try:
        conv = await c.webchat.conversation_for_token(token if isinstance(token, str) else "")
    except DomainError:
        await ws.send_json({"type": "error", "detail": "unknown or expired chat token"})
        await ws.close(code=CLOSE_UNAUTHORIZED)
        return
    conn = Connection(ws, c.conversations, customer_view)
    gateway.register(gateway.customers, conv.id, conn)
    pump: asyncio.Task[None] | None = None
    try:
        conv = await c.conversations.get(conv.id)  # fresh state, read after subscribing
        await conn.send(
            {
                "type": "snapshot",
                "conversation": {
                    "id": conv.id,
                    "state": conv.state.value,
                    "last_seq": conv.last_seq,
                },
            }
        )
        last_seq = hello.get("last_seq", 0)
        await conn.track(conv.id, last_seq if isinstance(last_seq, int) and last_seq >= 0 else 0)

        async def on_event(conn: Connection, event: Message) -> None:
            if event["type"] == "message.posted":
                await conn.deliver_message(event)
                return
            frame = customer_view(event)
            if frame is not None:
                await conn.send(frame)

        pump = asyncio.create_task(conn.pump(on_event))
        while True:
            frame = await receive_json(ws)
            if frame is None:
                break
            if isinstance(frame, dict) and frame.get("type") == "typing":
                await c.conversations.typing(conv.id, SenderKind.CUSTOMER, bool(frame.get("is_typing")))
            elif isinstance(frame, dict) and frame.get("type") == "ping":
                await conn.send({"type": "pong"})
    finally:
        gateway.unregister(gateway.customers, conv.id, conn)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
