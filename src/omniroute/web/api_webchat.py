"""The customer side of web chat: what the widget calls, from any allowed origin.

Every route sits under the widget's public key so that CORS preflights can be answered per widget.
The conversation token the widget receives at start is the customer's only credential.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from omniroute.channels.webchat.model import CsatResponse, Widget
from omniroute.channels.webchat.public_config import PublicAttachments, PublicConfig
from omniroute.conversations.model import SenderKind
from omniroute.core.errors import Unauthorized
from omniroute.web.schemas import (
    ConversationOut,
    CustomerConversationOut,
    MessageOut,
    PositionOut,
    PostMessageIn,
    StartChatIn,
    StartChatOut,
    Strict,
    TypingIn,
)
from omniroute.web.security import ContainerDep

router = APIRouter(prefix="/api/webchat/v1/widgets/{public_key}", tags=["webchat"])

Language = Annotated[str | None, Field(default=None, max_length=35, description="e.g. es or es-MX")]


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


class StartWidgetChatIn(StartChatIn):
    answers: dict[str, Any] = Field(
        default_factory=dict,
        description="pre-chat survey answers by question id (text, choice value, or true/false for consent)",
    )
    language: Language = None
    identity_token: str | None = Field(
        default=None, max_length=8192, description="the host site's signed JWT for a signed-in customer"
    )


class StartWidgetChatOut(StartChatOut):
    authenticated: bool = Field(description="true when an identity token linked the chat to a customer")


class CsatIn(Strict):
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class CsatOut(BaseModel):
    conversation_id: str
    rating: int
    comment: str
    submitted_at: datetime

    @classmethod
    def of(cls, r: CsatResponse) -> CsatOut:
        return cls(
            conversation_id=r.conversation_id, rating=r.rating, comment=r.comment, submitted_at=r.submitted_at
        )


class TranscriptEmailIn(Strict):
    email: str | None = Field(default=None, max_length=254, description="default: the pre-chat email")
    language: Language = None


class TranscriptEmailOut(BaseModel):
    email: str


class OfflineMessageIn(Strict):
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    message: str = Field(max_length=4000)
    visitor_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    language: Language = None


class OfflineMessageOut(BaseModel):
    reference: str = Field(description="the conversation id the message was filed under")


@router.get("/config", response_model=PublicConfig)
async def config(
    widget: WidgetDep,
    c: ContainerDep,
    lang: Annotated[str | None, Query(max_length=200, description="the browser's language(s)")] = None,
) -> PublicConfig:
    """Everything the widget shows: texts in the visitor's language, theme, pre-chat questions,
    invitations, and whether chat is open right now."""
    cfg = await c.webchat.client_config(widget, lang, c.channels)
    files = widget.settings.attachments
    limits = c.attachments.limits.narrowed(files.max_bytes)
    return cfg.model_copy(
        update={
            "attachments": PublicAttachments(
                enabled=files.enabled,
                max_bytes=limits.max_bytes,
                blocked_extensions=sorted(limits.blocked_extensions),
            )
        }
    )


@router.post("/conversations", response_model=StartWidgetChatOut, status_code=201)
async def start(body: StartWidgetChatIn, widget: WidgetDep, c: ContainerDep) -> StartWidgetChatOut:
    started = await c.webchat.start(
        widget,
        visitor_id=body.visitor_id,
        name=body.name,
        email=body.email,
        question=body.question,
        queue=body.queue,
        answers=body.answers,
        language=body.language,
        identity_token=body.identity_token,
        secrets=c.channels.secrets,
    )
    conv = await c.conversations.get(started.conversation.id)
    return StartWidgetChatOut(
        conversation=ConversationOut.of(conv),
        token=started.customer_token,
        customer_name=started.customer_name,
        authenticated=started.authenticated,
    )


@router.post("/offline-messages", response_model=OfflineMessageOut, status_code=201)
async def offline_message(body: OfflineMessageIn, widget: WidgetDep, c: ContainerDep) -> OfflineMessageOut:
    """While chat is closed: leave a message for follow-up by email."""
    conv = await c.webchat.leave_offline_message(
        widget,
        visitor_id=body.visitor_id,
        name=body.name,
        email=body.email,
        message=body.message,
        language=body.language,
    )
    return OfflineMessageOut(reference=conv.id)


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
    body: PostMessageIn,
    response: Response,
    conversation_id: CustomerConversationId,
    widget: WidgetDep,
    c: ContainerDep,
) -> MessageOut:
    """Card numbers (and the widget's own patterns) are masked before the message is stored."""
    msg, created = await c.webchat.post_customer_message(
        widget, conversation_id, body.text, body.client_message_id, body.attachment_ids
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


@router.post("/conversation/csat", response_model=CsatOut, status_code=201)
async def csat(
    body: CsatIn,
    response: Response,
    conversation_id: CustomerConversationId,
    widget: WidgetDep,
    c: ContainerDep,
) -> CsatOut:
    """Rate an ended chat, once: a repeat answers 200 with the rating first given."""
    stored, created = await c.webchat.submit_csat(widget, conversation_id, body.rating, body.comment)
    if not created:
        response.status_code = 200
    return CsatOut.of(stored)


@router.get("/conversation/transcript", response_class=Response)
async def transcript(
    conversation_id: CustomerConversationId,
    widget: WidgetDep,
    c: ContainerDep,
    fmt: Annotated[Literal["text", "html"], Query(alias="format")] = "text",
    lang: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The conversation so far as a file: plain text or a standalone HTML page."""
    file = await c.webchat.transcript(widget, conversation_id, fmt, lang)
    return Response(
        content=file.body,
        media_type=file.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/conversation/transcript/email", response_model=TranscriptEmailOut, status_code=202)
async def email_transcript(
    body: TranscriptEmailIn, conversation_id: CustomerConversationId, widget: WidgetDep, c: ContainerDep
) -> TranscriptEmailOut:
    """Queue the transcript for sending by the email channel (409 when no email account exists)."""
    sent_to = await c.webchat.email_transcript(widget, conversation_id, body.email, body.language, c.channels)
    return TranscriptEmailOut(email=sent_to)
