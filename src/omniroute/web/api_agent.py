"""REST API for agents' desktops (the workspace uses it; integrators can build their own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from omniroute.conversations.model import SenderKind
from omniroute.core.errors import InvalidInput, NotFound
from omniroute.identity.model import Role
from omniroute.routing.model import Presence
from omniroute.web.schemas import (
    AgentOut,
    ConsultIn,
    ConsultOut,
    ConversationOut,
    LocaleIn,
    MeOut,
    MessageOut,
    NoteIn,
    NoteOut,
    OfferOut,
    PostMessageIn,
    PreferencesIn,
    PreferencesOut,
    PresenceIn,
    PresenceOut,
    PromoteOut,
    QueueOut,
    SessionOut,
    TransferIn,
    TypingIn,
)
from omniroute.web.security import AgentRead, AgentWrite, ContainerDep, PresenceWrite
from omniroute.web.visibility import holding, participating, visible

# The visibility rule lives in web/visibility.py; older route modules import it from here.
__all__ = ["holding", "router", "visible"]

router = APIRouter(prefix="/api/v1", tags=["agents"])


async def _name(c: ContainerDep, user_id: str) -> str:
    user = await c.identity.get_user(user_id)
    return user.display_name if user else "An agent"


@router.get("/me", response_model=MeOut)
async def me(c: ContainerDep, who: AgentRead) -> MeOut:
    state = await c.routing.agent_state(who.user.id)
    return MeOut(
        id=who.user.id,
        email=who.user.email,
        display_name=who.user.display_name,
        role=who.user.role.value,
        presence=state.presence,
        custom_presence=await c.routing.custom_presence(who.user.id),
        queues=[QueueOut(id=q.id, name=q.name, description=q.description) for q in state.queues],
        locale=who.user.locale,
        load=(load := await c.routing.load(who.user.id))[0],
        capacity_profile=load[1],
    )


@router.put("/me/locale", status_code=204)
async def set_locale(body: LocaleIn, c: ContainerDep, who: AgentWrite) -> Response:
    """The interface language for this user (en or es)."""
    await c.identity.set_locale(who.user.id, body.locale)
    return Response(status_code=204)


@router.get("/me/preferences", response_model=PreferencesOut)
async def preferences(c: ContainerDep, who: AgentRead) -> PreferencesOut:
    """The caller's workspace settings (offer sound, desktop notification, their templates)."""
    return PreferencesOut.of(await c.identity.preferences(who.user.id))


@router.put("/me/preferences", response_model=PreferencesOut)
async def set_preferences(body: PreferencesIn, c: ContainerDep, who: AgentWrite) -> PreferencesOut:
    """Replace the caller's workspace settings; they follow the user to every browser."""
    return PreferencesOut.of(
        await c.identity.set_preferences(who.user.id, body.model_dump(exclude_unset=True))
    )


@router.get("/agents", response_model=list[AgentOut])
async def agents(c: ContainerDep, who: AgentRead) -> list[AgentOut]:
    """Colleagues to transfer to or consult: active agents, supervisors and admins with their presence."""
    presences = await c.routing.presences()
    return [
        AgentOut(
            id=u.id,
            display_name=u.display_name,
            role=u.role.value,
            presence=presences.get(u.id, (Presence.OFFLINE, None))[0],
            custom_presence=presences.get(u.id, (Presence.OFFLINE, None))[1],
        )
        for u in await c.identity.list_users()
        if u.is_active and u.has_role(Role.AGENT)
    ]


@router.get("/session", response_model=SessionOut)
async def session(who: AgentRead) -> SessionOut:
    """The signed-in user and the CSRF token that cookie-authenticated writes must send."""
    return SessionOut(
        user_id=who.user.id,
        display_name=who.user.display_name,
        role=who.user.role.value,
        csrf_token=who.csrf_token,
    )


@router.put("/me/presence", response_model=PresenceOut)
async def set_presence(body: PresenceIn, c: ContainerDep, who: PresenceWrite) -> PresenceOut:
    base, custom = await c.routing.set_presence(who.user.id, body.presence)
    return PresenceOut(presence=base, custom_presence=custom)


@router.get("/queues", response_model=list[QueueOut])
async def queues(c: ContainerDep, who: AgentRead) -> list[QueueOut]:
    return [QueueOut(id=q.id, name=q.name, description=q.description) for q in await c.routing.queues()]


@router.get("/queues/{queue_id}/waiting", response_model=list[ConversationOut])
async def waiting(queue_id: str, c: ContainerDep, who: AgentRead) -> list[ConversationOut]:
    """Work waiting in a queue (members and supervisors): the pick list."""
    state = await c.routing.agent_state(who.user.id)
    if queue_id not in {q.id for q in state.queues} and not who.user.has_role(Role.SUPERVISOR):
        raise NotFound(f"no queue {queue_id}")
    return [ConversationOut.of(x) for x in await c.routing.waiting_in(queue_id)]


@router.post("/conversations/{conversation_id}/pick", response_model=ConversationOut)
async def pick(conversation_id: str, c: ContainerDep, who: AgentWrite) -> ConversationOut:
    """Take waiting work yourself (pick-mode workstreams, or from the queue view)."""
    await visible(c, who, conversation_id)  # another queue's work answers 404
    return ConversationOut.of(await c.routing.pick(who.user.id, conversation_id))


@router.post("/conversations/{conversation_id}/transfer", response_model=ConversationOut)
async def transfer(
    conversation_id: str, body: TransferIn, c: ContainerDep, who: AgentWrite
) -> ConversationOut:
    """Hand the conversation to a queue, or to a colleague (who gets an offer and may decline)."""
    await participating(c, who, conversation_id)
    if body.queue_id is None and body.agent_id is None:
        raise InvalidInput("name a queue_id, an agent_id, or both")
    return ConversationOut.of(
        await c.routing.transfer(
            who.user.id,
            conversation_id,
            queue_id=body.queue_id,
            agent_id=body.agent_id,
            note=body.note,
            supervisor=who.user.has_role(Role.SUPERVISOR),
        )
    )


@router.get("/offers", response_model=list[OfferOut])
async def offers(c: ContainerDep, who: AgentRead) -> list[OfferOut]:
    state = await c.routing.agent_state(who.user.id)
    return [OfferOut.of(await c.routing.offer_view(s)) for s in state.pending_offers]


@router.post("/offers/{session_id}/accept", response_model=ConversationOut)
async def accept(session_id: str, c: ContainerDep, who: AgentWrite) -> ConversationOut:
    conv = await c.routing.accept(who.user.id, session_id)
    return ConversationOut.of(conv)


@router.post("/offers/{session_id}/reject", status_code=204)
async def reject(session_id: str, c: ContainerDep, who: AgentWrite) -> Response:
    await c.routing.reject(who.user.id, session_id)
    return Response(status_code=204)


@router.get("/conversations", response_model=list[ConversationOut])
async def my_conversations(c: ContainerDep, who: AgentRead) -> list[ConversationOut]:
    return [ConversationOut.of(x) for x in await c.conversations.agent_conversations(who.user.id)]


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
async def conversation(conversation_id: str, c: ContainerDep, who: AgentRead) -> ConversationOut:
    return ConversationOut.of(await visible(c, who, conversation_id))


@router.get("/conversations/{conversation_id}/messages", response_model=list[MessageOut])
async def messages(
    conversation_id: str,
    c: ContainerDep,
    who: AgentRead,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[MessageOut]:
    await visible(c, who, conversation_id)
    return [MessageOut.of(m) for m in await c.conversations.messages(conversation_id, after_seq, limit)]


@router.post("/conversations/{conversation_id}/messages", response_model=MessageOut, status_code=201)
async def post_message(
    conversation_id: str, body: PostMessageIn, response: Response, c: ContainerDep, who: AgentWrite
) -> MessageOut:
    await holding(c, who, conversation_id)
    msg, created = await c.conversations.post(
        conversation_id,
        sender_kind=SenderKind.AGENT,
        sender_id=who.user.id,
        sender_name=who.user.display_name,
        text=body.text,
        idempotency_key=body.client_message_id,
        attachment_ids=body.attachment_ids,
        location=body.location.checked() if body.location is not None else None,
    )
    if not created:
        response.status_code = 200
    return MessageOut.of(msg)


@router.post("/conversations/{conversation_id}/typing", status_code=204)
async def typing(conversation_id: str, body: TypingIn, c: ContainerDep, who: AgentWrite) -> Response:
    conv = await holding(c, who, conversation_id)
    await c.conversations.typing(conv.id, SenderKind.AGENT, body.is_typing)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/end", response_model=ConversationOut)
async def end(conversation_id: str, c: ContainerDep, who: AgentWrite) -> ConversationOut:
    await participating(c, who, conversation_id)
    return ConversationOut.of(
        await c.conversations.end(conversation_id, SenderKind.AGENT, who.user.id, who.user.display_name)
    )


@router.post("/conversations/{conversation_id}/close", response_model=ConversationOut)
async def close(conversation_id: str, c: ContainerDep, who: AgentWrite) -> ConversationOut:
    """Finish wrap-up; 409 when the queue requires a disposition code and none was chosen."""
    conv = await participating(c, who, conversation_id)
    await c.desk.check_can_close(conv)
    return ConversationOut.of(await c.conversations.close(conversation_id, who.user.id))


@router.get("/conversations/{conversation_id}/consults", response_model=list[ConsultOut])
async def consults(conversation_id: str, c: ContainerDep, who: AgentRead) -> list[ConsultOut]:
    await visible(c, who, conversation_id)
    return [
        ConsultOut.of(s, await _name(c, s.agent_id)) for s in await c.routing.consultants(conversation_id)
    ]


@router.post("/conversations/{conversation_id}/consults", response_model=list[ConsultOut], status_code=201)
async def start_consult(
    conversation_id: str, body: ConsultIn, c: ContainerDep, who: AgentWrite
) -> list[ConsultOut]:
    """Bring a colleague in to help: they see the conversation live, read-only, using no capacity."""
    await participating(c, who, conversation_id)
    sessions = await c.routing.consult(
        who.user.id, conversation_id, body.agent_id, supervisor=who.user.has_role(Role.SUPERVISOR)
    )
    return [ConsultOut.of(s, await _name(c, s.agent_id)) for s in sessions]


@router.delete("/conversations/{conversation_id}/consults/{agent_id}", status_code=204)
async def end_consult(conversation_id: str, agent_id: str, c: ContainerDep, who: AgentWrite) -> Response:
    """The consultant leaves, or the holder (or a supervisor) ends the consult."""
    await participating(c, who, conversation_id)
    await c.routing.end_consult(
        who.user.id, conversation_id, agent_id, supervisor=who.user.has_role(Role.SUPERVISOR)
    )
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/consults/{agent_id}/promote", response_model=PromoteOut)
async def promote(conversation_id: str, agent_id: str, c: ContainerDep, who: AgentWrite) -> PromoteOut:
    """Hand the conversation to the consultant; it is theirs at once if they have free capacity."""
    await participating(c, who, conversation_id)
    conv, assigned = await c.routing.promote(
        who.user.id, conversation_id, agent_id, supervisor=who.user.has_role(Role.SUPERVISOR)
    )
    return PromoteOut(conversation=ConversationOut.of(conv), assigned=assigned)


@router.get("/conversations/{conversation_id}/notes", response_model=list[NoteOut])
async def notes(conversation_id: str, c: ContainerDep, who: AgentRead) -> list[NoteOut]:
    await visible(c, who, conversation_id)
    return [NoteOut.of(n) for n in await c.conversations.notes(conversation_id)]


@router.post("/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=201)
async def add_note(
    conversation_id: str, body: NoteIn, response: Response, c: ContainerDep, who: AgentWrite
) -> NoteOut:
    """An internal note: the agents on the conversation see it, the customer and channels never do."""
    await participating(c, who, conversation_id)
    note, created = await c.conversations.add_note(
        conversation_id,
        author_id=who.user.id,
        author_name=who.user.display_name,
        text=body.text,
        idempotency_key=body.client_note_id,
    )
    if not created:
        response.status_code = 200
    return NoteOut.of(note)
