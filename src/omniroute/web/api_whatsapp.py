"""WhatsApp template messages: the account's templates for administrators (edit, sync from Meta)
and, for agents, the templates of a conversation's account with its 24-hour window, and sending one.

Reading follows the conversation read rule (``visible``); sending speaks to the customer, so it is
for the holder (``holding``), like a reply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from omniroute.channels.whatsapp.template_service import (
    ConversationTemplates,
    SyncResult,
    WhatsAppTemplates,
)
from omniroute.channels.whatsapp.templates import Skipped, Template
from omniroute.identity.model import Principal, Role, Scope
from omniroute.web.schemas import MessageOut, Strict
from omniroute.web.security import AgentRead, AgentWrite, ContainerDep, require
from omniroute.web.visibility import holding, visible

agent = APIRouter(prefix="/api/v1/conversations", tags=["agents"])
admin = APIRouter(prefix="/api/v1/admin/channel-accounts", tags=["administration"])

Admin = Annotated[Principal, Depends(require(Role.ADMIN, Scope.ADMIN))]


def service(c: ContainerDep) -> WhatsAppTemplates:
    # A stateless facade over the channel service the container holds.
    return WhatsAppTemplates(c.channels)


Templates = Annotated[WhatsAppTemplates, Depends(service)]


class TemplateOut(BaseModel):
    name: str
    language: str = Field(description="WhatsApp language code, e.g. en_US, es_ES")
    category: str = Field(description="MARKETING, UTILITY or AUTHENTICATION")
    body: str = Field(description="the body text with {{1}}…{{n}} placeholders")
    header: str | None = None
    footer: str | None = None
    buttons: list[str] = Field(default_factory=list, description="quick-reply (and fixed) button titles")
    parameter_count: int = Field(description="how many parameters a send must give")

    @classmethod
    def of(cls, t: Template) -> TemplateOut:
        return cls(
            name=t.name,
            language=t.language,
            category=t.category,
            body=t.body,
            header=t.header,
            footer=t.footer,
            buttons=list(t.buttons),
            parameter_count=t.parameter_count,
        )


class WindowOut(BaseModel):
    open: bool = Field(description="free-form replies are accepted (24 hours from the customer's message)")
    last_customer_message_at: datetime | None
    closes_at: datetime | None = Field(description="when free-form replies stop being accepted")


class ConversationTemplatesOut(BaseModel):
    window: WindowOut
    templates: list[TemplateOut]

    @classmethod
    def of(cls, found: ConversationTemplates) -> ConversationTemplatesOut:
        w = found.window
        return cls(
            window=WindowOut(
                open=w.open, last_customer_message_at=w.last_customer_message_at, closes_at=w.closes_at
            ),
            templates=[TemplateOut.of(t) for t in found.templates],
        )


class SendTemplateIn(Strict):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=20)
    parameters: list[str] = Field(
        default_factory=list, max_length=100, description="the body's {{1}}…{{n}} values, in order"
    )
    client_message_id: str | None = Field(
        default=None,
        max_length=100,
        description="Idempotency key: retrying with the same id returns the stored message.",
    )


class TemplatesIn(Strict):
    templates: list[dict[str, Any]] = Field(
        description="each {name, language, category, body, header?, footer?, buttons?}"
    )


class SkippedOut(BaseModel):
    name: str
    language: str
    status: str
    reason: str

    @classmethod
    def of(cls, s: Skipped) -> SkippedOut:
        return cls(name=s.name, language=s.language, status=s.status, reason=s.reason)


class SyncOut(BaseModel):
    kept: list[TemplateOut] = Field(description="approved templates now on the account")
    skipped: list[SkippedOut] = Field(description="templates Meta listed that were not kept, and why")

    @classmethod
    def of(cls, r: SyncResult) -> SyncOut:
        return cls(kept=[TemplateOut.of(t) for t in r.kept], skipped=[SkippedOut.of(s) for s in r.skipped])


@agent.get(
    "/{conversation_id}/whatsapp/templates",
    response_model=ConversationTemplatesOut,
    summary="A WhatsApp conversation's templates and its 24-hour window",
)
async def conversation_templates(
    conversation_id: str, c: ContainerDep, who: AgentRead, wa: Templates
) -> ConversationTemplatesOut:
    """409 for a conversation that is not on WhatsApp."""
    conv = await visible(c, who, conversation_id)
    return ConversationTemplatesOut.of(await wa.for_conversation(conv))


@agent.post(
    "/{conversation_id}/whatsapp/template",
    response_model=MessageOut,
    status_code=201,
    summary="Send an approved WhatsApp template (allowed outside the 24-hour window)",
)
async def send_template(
    conversation_id: str,
    body: SendTemplateIn,
    response: Response,
    c: ContainerDep,
    who: AgentWrite,
    wa: Templates,
) -> MessageOut:
    """The message's text is the rendered template (what the customer sees); the template itself
    goes to WhatsApp. 422 for an unknown template or language or the wrong parameters (with the
    reason), 409 when the conversation is not a live WhatsApp one."""
    await holding(c, who, conversation_id)
    message, created = await wa.send(
        conversation_id,
        agent_id=who.user.id,
        agent_name=who.user.display_name,
        name=body.name,
        language=body.language,
        parameters=body.parameters,
        idempotency_key=body.client_message_id,
    )
    if not created:
        response.status_code = 200
    return MessageOut.of(message)


@admin.get("/{account_id}/whatsapp/templates", response_model=list[TemplateOut])
async def account_templates(account_id: str, who: Admin, wa: Templates) -> list[TemplateOut]:
    return [TemplateOut.of(t) for t in await wa.account_templates(account_id)]


@admin.put("/{account_id}/whatsapp/templates", response_model=list[TemplateOut])
async def save_templates(account_id: str, body: TemplatesIn, who: Admin, wa: Templates) -> list[TemplateOut]:
    """Replace the account's templates (the ``templates`` setting); 422 with the first problem."""
    return [TemplateOut.of(t) for t in await wa.save(account_id, list(body.templates), who.user.id)]


@admin.post("/{account_id}/whatsapp/templates/sync", response_model=SyncOut)
async def sync_templates(account_id: str, who: Admin, wa: Templates) -> SyncOut:
    """Read the templates from Meta (``GET /{waba_id}/message_templates`` through the account's
    Graph base) and keep the approved ones; 422 without a ``waba_id`` setting, 502 when Meta
    cannot be read (with its error)."""
    return SyncOut.of(await wa.sync(account_id, who.user.id))
