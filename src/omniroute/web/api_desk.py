"""The agent's desk over REST: quick replies (shared and personal, with ``{slugs}`` filled in for a
conversation) and disposition codes (per queue for supervisors; chosen per conversation at wrap-up).

Token scopes: reading needs ``conversations:read``, writing ``conversations:write``; configuring a
queue's codes needs the supervisor role and, for tokens, the ``admin`` scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from omniroute.desk.model import (
    MAX_CODES,
    MAX_NOTES,
    MAX_TAGS,
    Author,
    Disposition,
    DispositionCode,
    QueueDispositions,
    QuickReply,
    ReplyContent,
)
from omniroute.identity.model import Principal, Role, Scope
from omniroute.web.api_agent import holding, visible
from omniroute.web.schemas import Strict
from omniroute.web.security import AgentRead, AgentWrite, ContainerDep, require

router = APIRouter(prefix="/api/v1", tags=["desk"])

Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Scope.ADMIN))]


def author(who: Principal) -> Author:
    return Author(who.user.id, supervisor=who.user.has_role(Role.SUPERVISOR))


# -- quick replies ----------------------------------------------------------------------------------


class QuickReplyOut(BaseModel):
    id: str
    title: str
    text: str = Field(description="may hold {slugs}; see GET …/rendered for a conversation's values")
    language: str | None = Field(description="null: offered in every language")
    tags: list[str]
    shared: bool = Field(description="true: written by a supervisor or admin for everybody")
    owner_id: str | None = Field(description="whose personal reply it is (null when shared)")
    can_edit: bool = Field(description="whether the caller may change or delete it")
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="send as expected_version when you change it")

    @classmethod
    def of(cls, r: QuickReply, who: Principal) -> QuickReplyOut:
        me = author(who)
        return cls(
            id=r.id,
            title=r.content.title,
            text=r.content.text,
            language=r.content.language,
            tags=list(r.content.tags),
            shared=r.shared,
            owner_id=r.owner_id,
            can_edit=(me.supervisor if r.shared else r.owner_id == me.user_id),
            created_at=r.created_at,
            updated_at=r.updated_at,
            version=r.version,
        )


class QuickReplyIn(Strict):
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4000)
    language: str | None = Field(default=None, description="en, es, or null for any language")
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    shared: bool = Field(default=False, description="for everybody (supervisors and admins only)")


class QuickReplyPatch(Strict):
    title: str | None = Field(default=None, max_length=120)
    text: str | None = Field(default=None, max_length=4000)
    language: str | None = Field(default=None, description='"" for any language; absent: unchanged')
    tags: list[str] | None = Field(default=None, max_length=MAX_TAGS)
    expected_version: int | None = Field(default=None, ge=1)


class RenderedOut(BaseModel):
    text: str
    missing: list[str] = Field(
        description="slugs this conversation has no value for; they are left in the text as typed"
    )


@router.get("/quick-replies", response_model=list[QuickReplyOut])
async def quick_replies(
    c: ContainerDep,
    who: AgentRead,
    q: Annotated[str, Query(max_length=200)] = "",
    language: Annotated[str | None, Query(max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[QuickReplyOut]:
    """Shared replies and the caller's own matching ``q`` (title, tags, text), best first; with a
    language, those in it and those for any language."""
    found = await c.desk.quick_replies(who.user.id, text=q, language=language or None, limit=limit)
    return [QuickReplyOut.of(r, who) for r in found]


@router.post("/quick-replies", response_model=QuickReplyOut, status_code=201)
async def create_quick_reply(body: QuickReplyIn, c: ContainerDep, who: AgentWrite) -> QuickReplyOut:
    content = ReplyContent(body.title, body.text, body.language, tuple(body.tags))
    return QuickReplyOut.of(
        await c.desk.create_quick_reply(content, shared=body.shared, author=author(who)), who
    )


@router.get("/admin/quick-replies", response_model=list[QuickReplyOut])
async def manageable_quick_replies(c: ContainerDep, who: Supervisor) -> list[QuickReplyOut]:
    """For the desk administration screen: every shared reply and the caller's own personal ones
    (other people's personal replies stay theirs), shared first, then by title."""
    return [QuickReplyOut.of(r, who) for r in await c.desk.manageable_quick_replies(who.user.id)]


@router.get("/me/quick-replies", response_model=list[QuickReplyOut])
async def own_quick_replies(c: ContainerDep, who: AgentRead) -> list[QuickReplyOut]:
    """The caller's personal replies by title (create them with ``POST /quick-replies`` without
    ``shared``, delete them with ``DELETE /quick-replies/{id}``)."""
    return [QuickReplyOut.of(r, who) for r in await c.desk.own_quick_replies(who.user.id)]


@router.get("/quick-replies/{reply_id}", response_model=QuickReplyOut)
async def quick_reply(reply_id: str, c: ContainerDep, who: AgentRead) -> QuickReplyOut:
    return QuickReplyOut.of(await c.desk.quick_reply(reply_id, who.user.id), who)


@router.patch("/quick-replies/{reply_id}", response_model=QuickReplyOut)
async def update_quick_reply(
    reply_id: str, body: QuickReplyPatch, c: ContainerDep, who: AgentWrite
) -> QuickReplyOut:
    updated = await c.desk.update_quick_reply(
        reply_id,
        author=author(who),
        expected_version=body.expected_version,
        title=body.title,
        text=body.text,
        language=body.language,
        tags=body.tags,
    )
    return QuickReplyOut.of(updated, who)


@router.delete("/quick-replies/{reply_id}", status_code=204)
async def delete_quick_reply(reply_id: str, c: ContainerDep, who: AgentWrite) -> Response:
    await c.desk.delete_quick_reply(reply_id, author=author(who))
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/quick-replies/{reply_id}/rendered", response_model=RenderedOut)
async def rendered_quick_reply(
    conversation_id: str, reply_id: str, c: ContainerDep, who: AgentRead
) -> RenderedOut:
    """The reply ready to send in this conversation: {customerName}, {agentName}, {queue},
    {channel} and every pre-chat answer by its name ({email}, or {prechat.email})."""
    conv = await visible(c, who, conversation_id)
    done = await c.desk.render_quick_reply(
        reply_id, conversation=conv, user_id=who.user.id, agent_name=who.user.display_name
    )
    return RenderedOut(text=done.text, missing=list(done.missing))


# -- disposition codes ------------------------------------------------------------------------------


class CodeBody(Strict):
    code: str = Field(min_length=1, max_length=40, description="lower-case letters, digits, - and _")
    label: str = Field(min_length=1, max_length=120, description="what agents see")


class DispositionCodesOut(BaseModel):
    queue_id: str
    required: bool = Field(description="a conversation of this queue closes only with a code chosen")
    codes: list[CodeBody]
    version: int = Field(description="0 until configured; send as expected_version when you change it")

    @classmethod
    def of(cls, d: QueueDispositions) -> DispositionCodesOut:
        return cls(
            queue_id=d.queue_id,
            required=d.required,
            codes=[CodeBody(code=x.code, label=x.label) for x in d.codes],
            version=d.version,
        )


class DispositionCodesIn(Strict):
    required: bool = False
    codes: list[CodeBody] = Field(default_factory=list, max_length=MAX_CODES)
    expected_version: int | None = Field(
        default=None, ge=0, description="the version you edited; a different current version gives 409"
    )


class DispositionOut(BaseModel):
    conversation_id: str
    queue_id: str
    code: str
    label: str = Field(description="the code's label when it was chosen")
    notes: str
    agent_id: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, d: Disposition) -> DispositionOut:
        return cls(
            conversation_id=d.conversation_id,
            queue_id=d.queue_id,
            code=d.code,
            label=d.label,
            notes=d.notes,
            agent_id=d.agent_id,
            recorded_at=d.recorded_at,
        )


class ConversationDispositionOut(BaseModel):
    required: bool
    codes: list[CodeBody] = Field(description="the codes of the conversation's queue now")
    chosen: DispositionOut | None


class DispositionIn(Strict):
    code: str = Field(min_length=1, max_length=40)
    notes: str = Field(default="", max_length=MAX_NOTES)


@router.get("/admin/queues/{queue_id}/disposition-codes", response_model=DispositionCodesOut)
async def disposition_codes(queue_id: str, c: ContainerDep, who: Supervisor) -> DispositionCodesOut:
    return DispositionCodesOut.of(await c.desk.disposition_codes(queue_id))


@router.put("/admin/queues/{queue_id}/disposition-codes", response_model=DispositionCodesOut)
async def set_disposition_codes(
    queue_id: str, body: DispositionCodesIn, c: ContainerDep, who: Supervisor
) -> DispositionCodesOut:
    """Replace the queue's codes (in the order agents see them) and say whether one is required."""
    saved = await c.desk.set_disposition_codes(
        queue_id,
        required=body.required,
        codes=[DispositionCode(x.code, x.label) for x in body.codes],
        expected_version=body.expected_version,
        actor_id=who.user.id,
    )
    return DispositionCodesOut.of(saved)


@router.get("/conversations/{conversation_id}/disposition", response_model=ConversationDispositionOut)
async def conversation_disposition(
    conversation_id: str, c: ContainerDep, who: AgentRead
) -> ConversationDispositionOut:
    """The codes the agent chooses from at wrap-up, whether one is required, and the choice so far."""
    state = await c.desk.disposition_of(await visible(c, who, conversation_id))
    return ConversationDispositionOut(
        required=state.config.required,
        codes=[CodeBody(code=x.code, label=x.label) for x in state.config.codes],
        chosen=DispositionOut.of(state.chosen) if state.chosen else None,
    )


@router.put("/conversations/{conversation_id}/disposition", response_model=DispositionOut)
async def record_disposition(
    conversation_id: str, body: DispositionIn, c: ContainerDep, who: AgentWrite
) -> DispositionOut:
    """Choose the conversation's code (the holder, before it closes; choosing again replaces it)."""
    await holding(c, who, conversation_id)
    chosen = await c.desk.record_disposition(
        conversation_id, code=body.code, notes=body.notes, agent_id=who.user.id
    )
    return DispositionOut.of(chosen)
