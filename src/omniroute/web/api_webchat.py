"""The customer side of web chat: what the widget calls, from any allowed origin.

Every route sits under the widget's public key so that CORS preflights can be answered per widget.
The conversation token the widget receives at start is the customer's only credential.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from omniroute.channels.webchat.model import Widget
from omniroute.conversations.model import SenderKind
from omniroute.core.errors import Unauthorized
from omniroute.web.schemas import (
    ConversationOut,
    CustomerConversationOut,
    MessageOut,
    PositionOut,
    PostMessageIn,
    QueueOut,
    StartChatIn,
    StartChatOut,
    TypingIn,
    WidgetConfigOut,
)
from omniroute.web.security import ContainerDep

router = APIRouter(prefix="/api/webchat/v1/widgets/{public_key}", tags=["webchat"])


async def allowed_widget(public_key: str, request: Request, c: ContainerDep) -> Widget:
    origin = request.headers.get("origin")
    if origin is None and request.method in ("GET", "HEAD"):
        # Browsers omit Origin on same-origin reads and always send it cross-origin, so a read
        # without one is our own page (or not a browser, which CORS does not govern anyway).
        return await c.webchat.widget(public_key)
    return await c.webchat.widget_for_origin(public_key, origin)


async def customer_conversation(
    c: ContainerDep,
    widget: Annotated[Widget, Depends(allowed_widget)],
    authorization: Annotated[str, Header()] = "",
) -> str:
    """The id of the conversation the customer's bearer token opens."""
    if not authorization.lower().startswith("bearer "):
        raise Unauthorized("send the chat token as 'Authorization: Bearer …'")
    return await c.webchat.conversation_id_for_token(authorization[7:].strip())


WidgetDep = Annotated[Widget, Depends(allowed_widget)]
CustomerConversationId = Annotated[str, Depends(customer_conversation)]


@router.get("/config", response_model=WidgetConfigOut)
async def config(widget: WidgetDep, c: ContainerDep) -> WidgetConfigOut:
    return WidgetConfigOut(
        name=widget.name,
        queues=[QueueOut(id=q.id, name=q.name, description=q.description) for q in await c.routing.queues()],
    )


@router.post("/conversations", response_model=StartChatOut, status_code=201)
async def start(body: StartChatIn, widget: WidgetDep, c: ContainerDep) -> StartChatOut:
    started = await c.webchat.start(
        widget,
        visitor_id=body.visitor_id,
        name=body.name,
        email=body.email,
        question=body.question,
        queue=body.queue,
    )
    conv = await c.conversations.get(started.conversation.id)
    return StartChatOut(
        conversation=ConversationOut.of(conv),
        token=started.customer_token,
        customer_name=started.customer_name,
    )


@router.get("/conversation", response_model=CustomerConversationOut)
async def current(
    conversation_id: CustomerConversationId,
    c: ContainerDep,
    after_seq: Annotated[int, Query(ge=0)] = 0,
) -> CustomerConversationOut:
    conv = await c.conversations.get(conversation_id)
    msgs = await c.conversations.messages(conv.id, after_seq)
    return CustomerConversationOut(
        id=conv.id,
        state=conv.state.value,
        last_seq=conv.last_seq,
        customer_name=conv.prechat.get("name", ""),
        messages=[MessageOut.of(m) for m in msgs],
    )


@router.get("/conversation/position", response_model=PositionOut)
async def position(conversation_id: CustomerConversationId, c: ContainerDep) -> PositionOut:
    """Where the customer stands in the queue and how long they may wait (while waiting)."""
    return PositionOut.model_validate(await c.routing.position(conversation_id))


@router.post("/conversation/messages", response_model=MessageOut, status_code=201)
async def post_message(
    body: PostMessageIn, response: Response, conversation_id: CustomerConversationId, c: ContainerDep
) -> MessageOut:
    msg, created = await c.conversations.post(
        conversation_id,
        sender_kind=SenderKind.CUSTOMER,
        text=body.text,
        idempotency_key=body.client_message_id,
    )
    if not created:
        response.status_code = 200
    return MessageOut.of(msg)


@router.post("/conversation/typing", status_code=204)
async def typing(body: TypingIn, conversation_id: CustomerConversationId, c: ContainerDep) -> Response:
    await c.conversations.typing(conversation_id, SenderKind.CUSTOMER, body.is_typing)
    return Response(status_code=204)


@router.post("/conversation/end", response_model=CustomerConversationOut)
async def end(conversation_id: CustomerConversationId, c: ContainerDep) -> CustomerConversationOut:
    await c.conversations.end(conversation_id, SenderKind.CUSTOMER, None, "Customer")
    ended = await c.conversations.get(conversation_id)
    return CustomerConversationOut(
        id=ended.id,
        state=ended.state.value,
        last_seq=ended.last_seq,
        customer_name=str(ended.prechat.get("name", "")),
        messages=[],
    )
