"""Customer 360 for agents: profiles, channel identities, duplicates and merges, notes about the
customer, history across channels.

Token scopes: reading needs ``conversations:read``, changing needs ``conversations:write`` (customer
records are part of the conversation work an agent does).

Customer records (profile, identities, duplicates, merge, notes about the customer, cases) are
shared by every agent, like a phone book: any agent may find and open any customer. What a
customer's history shows of their *conversations* follows the conversation rule in
``web/visibility.py``: an agent sees those of their queues, assigned to them or consulted on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from omniroute.cases.model import summarise_change
from omniroute.core.errors import NotFound
from omniroute.customers.model import MAX_NOTE, ChannelIdentity, Customer, CustomerNote
from omniroute.customers.service import NoteAuthor, Profile
from omniroute.identity.model import Principal, Role
from omniroute.web.schemas import ConversationOut, MessageOut, Strict
from omniroute.web.security import AgentRead, AgentWrite, ContainerDep
from omniroute.web.visibility import scope_of

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
#: A note in the timeline shows its beginning; the notes list has the whole text.
TITLE_CHARS = 200


class IdentityOut(BaseModel):
    id: str
    channel: str
    address: str

    @classmethod
    def of(cls, i: ChannelIdentity) -> IdentityOut:
        return cls(id=i.id, channel=i.channel, address=i.address)


class CustomerOut(BaseModel):
    id: str
    display_name: str
    email: str | None
    phone: str | None
    email_verified: bool
    phone_verified: bool
    created_at: datetime

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id,
            display_name=c.display_name,
            email=c.email,
            phone=c.phone,
            email_verified=c.email_verified,
            phone_verified=c.phone_verified,
            created_at=c.created_at,
        )


class ProfileOut(CustomerOut):
    identities: list[IdentityOut]
    merged_from: str | None = Field(
        default=None, description="the id asked for, when it was merged into this one"
    )

    @classmethod
    def of_profile(cls, p: Profile, asked: str) -> ProfileOut:
        base = CustomerOut.of(p.customer).model_dump()
        return cls(
            **base,
            identities=[IdentityOut.of(i) for i in p.identities],
            merged_from=asked if asked != p.customer.id else None,
        )


class CustomerIn(Strict):
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)


class CustomerPatch(Strict):
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)


class DuplicateOut(BaseModel):
    customer: CustomerOut
    score: float
    reasons: list[str]


class MergeIn(Strict):
    other_id: str = Field(description="the duplicate record; it is folded into this customer")


class NoteOut(BaseModel):
    id: str
    customer_id: str
    author_id: str | None
    author_name: str = Field(description="as it was when the note was written")
    text: str = Field(description="plain text: show it escaped, never as HTML")
    pinned: bool
    created_at: datetime
    updated_at: datetime
    edited: bool
    version: int = Field(description="send as expected_version when you change it")
    can_edit: bool = Field(description="whether the caller may change or delete it")

    @classmethod
    def of(cls, n: CustomerNote, who: Principal) -> NoteOut:
        return cls(
            id=n.id,
            customer_id=n.customer_id,
            author_id=n.author_id,
            author_name=n.author_name,
            text=n.text,
            pinned=n.pinned,
            created_at=n.created_at,
            updated_at=n.updated_at,
            edited=n.edited,
            version=n.version,
            can_edit=who.user.has_role(Role.SUPERVISOR) or n.author_id == who.user.id,
        )


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=MAX_NOTE)
    pinned: bool = False


class NotePatch(Strict):
    text: str | None = Field(default=None, min_length=1, max_length=MAX_NOTE)
    pinned: bool | None = None
    expected_version: int | None = Field(default=None, ge=1)


def note_author(who: Principal) -> NoteAuthor:
    return NoteAuthor(who.user.id, who.user.display_name, supervisor=who.user.has_role(Role.SUPERVISOR))


class TimelineEntry(BaseModel):
    at: datetime
    kind: str = Field(
        description="conversation (any channel, calls included), case, case_change, call or note"
    )
    ref_id: str
    title: str
    channel: str | None = None
    state: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


@router.get("", response_model=list[CustomerOut])
async def search(
    c: ContainerDep, who: AgentRead, q: Annotated[str, Query(min_length=2, max_length=200)]
) -> list[CustomerOut]:
    """Find customers by part of their name, email or phone number."""
    return [CustomerOut.of(x) for x in await c.customers.search(q)]


@router.post("", response_model=CustomerOut, status_code=201)
async def create(body: CustomerIn, c: ContainerDep, who: AgentWrite) -> CustomerOut:
    """Create a customer by hand (a caller nobody knew); typed contacts count as unverified."""
    return CustomerOut.of(
        await c.customers.create(
            who.user.id, display_name=body.display_name, email=body.email, phone=body.phone
        )
    )


@router.get("/{customer_id}", response_model=ProfileOut)
async def profile(customer_id: str, c: ContainerDep, who: AgentRead) -> ProfileOut:
    """A customer with every channel identity; a merged record's id answers with the survivor."""
    return ProfileOut.of_profile(await c.customers.profile(customer_id), customer_id)


@router.patch("/{customer_id}", response_model=CustomerOut)
async def update(customer_id: str, body: CustomerPatch, c: ContainerDep, who: AgentWrite) -> CustomerOut:
    """Correct a profile; an edited email or phone counts as unverified until a channel proves it."""
    return CustomerOut.of(
        await c.customers.update(
            customer_id, who.user.id, display_name=body.display_name, email=body.email, phone=body.phone
        )
    )


@router.get("/{customer_id}/duplicates", response_model=list[DuplicateOut])
async def duplicates(customer_id: str, c: ContainerDep, who: AgentRead) -> list[DuplicateOut]:
    """Likely duplicates of this customer, best first, with the reasons (confirm before merging)."""
    out = []
    for found in await c.customers.duplicates(customer_id):
        other = (await c.customers.profile(found.customer_id)).customer
        out.append(
            DuplicateOut(customer=CustomerOut.of(other), score=found.score, reasons=list(found.reasons))
        )
    return out


@router.post("/{customer_id}/merge", response_model=ProfileOut)
async def merge(customer_id: str, body: MergeIn, c: ContainerDep, who: AgentWrite) -> ProfileOut:
    """Fold ``other_id`` into this customer: identities, conversations, cases move here."""
    await c.customers.merge(customer_id, body.other_id, who.user.id)
    return ProfileOut.of_profile(await c.customers.profile(customer_id), customer_id)


@router.get("/{customer_id}/conversations", response_model=list[ConversationOut])
async def conversations(
    customer_id: str,
    c: ContainerDep,
    who: AgentRead,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: datetime | None = None,
) -> list[ConversationOut]:
    """The customer's conversations on every channel, newest first (those the agent may see)."""
    survivor = (await c.customers.profile(customer_id)).customer.id
    scope = await scope_of(c, who)
    found = await c.conversations.customer_conversations(survivor, limit, before)
    return [ConversationOut.of(x) for x in found if scope.may_read(x)]


@router.get("/{customer_id}/conversations/{conversation_id}/messages", response_model=list[MessageOut])
async def transcript(
    customer_id: str,
    conversation_id: str,
    c: ContainerDep,
    who: AgentRead,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[MessageOut]:
    """A past conversation's transcript, read from the customer's history."""
    survivor = (await c.customers.profile(customer_id)).customer.id
    conv = await c.conversations.get(conversation_id)
    if conv.customer_id != survivor or not (await scope_of(c, who)).may_read(conv):
        msg = f"no conversation {conversation_id} for this customer"
        raise NotFound(msg)
    return [MessageOut.of(m) for m in await c.conversations.messages(conversation_id, after_seq, limit)]


@router.get("/{customer_id}/notes", response_model=list[NoteOut])
async def notes(
    customer_id: str, c: ContainerDep, who: AgentRead, limit: Annotated[int, Query(ge=1, le=200)] = 100
) -> list[NoteOut]:
    """Notes about the customer (not a conversation's internal notes), pinned first, then newest."""
    return [NoteOut.of(n, who) for n in await c.customers.notes(customer_id, limit)]


@router.post("/{customer_id}/notes", response_model=NoteOut, status_code=201)
async def add_note(customer_id: str, body: NoteIn, c: ContainerDep, who: AgentWrite) -> NoteOut:
    """Write a note about the customer; every agent who opens the customer reads it."""
    note = await c.customers.add_note(
        customer_id, author=note_author(who), text=body.text, pinned=body.pinned
    )
    return NoteOut.of(note, who)


@router.patch("/{customer_id}/notes/{note_id}", response_model=NoteOut)
async def update_note(
    customer_id: str, note_id: str, body: NotePatch, c: ContainerDep, who: AgentWrite
) -> NoteOut:
    """Change a note's text or pin: its author, or a supervisor or admin."""
    note = await c.customers.update_note(
        customer_id,
        note_id,
        author=note_author(who),
        text=body.text,
        pinned=body.pinned,
        expected_version=body.expected_version,
    )
    return NoteOut.of(note, who)


@router.delete("/{customer_id}/notes/{note_id}", status_code=204)
async def delete_note(customer_id: str, note_id: str, c: ContainerDep, who: AgentWrite) -> Response:
    """Delete a note: its author, or a supervisor or admin."""
    await c.customers.delete_note(customer_id, note_id, author=note_author(who))
    return Response(status_code=204)


@router.get("/{customer_id}/timeline", response_model=list[TimelineEntry])
async def timeline(
    customer_id: str,
    c: ContainerDep,
    who: AgentRead,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[TimelineEntry]:
    """Everything that happened with this customer, newest first: conversations on every channel
    (calls from the CCaaS are voice conversations), cases, case changes (``case_change``: status,
    resolution, priority, owner…), calls as the CCaaS reported them (``call``) and notes about the
    customer."""
    survivor = (await c.customers.profile(customer_id)).customer.id
    scope = await scope_of(c, who)
    entries = [
        TimelineEntry(
            at=conv.created_at,
            kind="conversation",
            ref_id=conv.id,
            title=conv.subject or f"{conv.channel} conversation",
            channel=conv.channel,
            state=conv.state.value,
            details={
                "agent_id": conv.agent_id,
                "ended_at": conv.ended_at.isoformat() if conv.ended_at else None,
            },
        )
        for conv in await c.conversations.customer_conversations(survivor, limit)
        if scope.may_read(conv)
    ]
    entries += [
        TimelineEntry(
            at=case.created_at,
            kind="case",
            ref_id=case.id,
            title=f"{case.reference} {case.title}",
            state=case.status.value,
            details={"priority": case.priority.value, "owner_id": case.owner_id},
        )
        for case in await c.cases.for_customer(survivor)
    ]
    entries += [
        TimelineEntry(
            at=note.created_at,
            kind="note",
            ref_id=note.id,
            title=note.text if len(note.text) <= TITLE_CHARS else note.text[: TITLE_CHARS - 1] + "…",
            details={"author_name": note.author_name, "pinned": note.pinned},
        )
        for note in await c.customers.notes(survivor, limit)
    ]
    # Case changes (status, resolution, priority, owner…) from the case history the cases slice
    # keeps; user and queue ids are named.
    activity = await c.cases.customer_activity(survivor, limit=limit)
    names = {q.id: q.name for q in await c.routing.queues()} if activity else {}
    for user_id in {
        str(v)
        for a in activity
        for change in (a.payload.get("changes") or {}).values()
        if isinstance(change, dict)
        for v in (change.get("from"), change.get("to"))
        if v and str(v) not in names
    }:
        user = await c.identity.get_user(user_id)
        if user is not None:
            names[user_id] = user.display_name
    # A case made from a conversation is linked in the same moment: its creation says so already.
    made_from = {
        (a.case_id, a.payload.get("conversation_id"), a.occurred_at)
        for a in activity
        if a.type == "case.created"
    }
    for a in activity:
        if (
            a.type == "case.linked"
            and (a.case_id, a.payload.get("conversation_id"), a.occurred_at) in made_from
        ):
            continue
        summary = summarise_change(a.type, a.payload, names)
        if summary is not None:
            entries.append(
                TimelineEntry(
                    at=a.occurred_at,
                    kind="case_change",
                    ref_id=a.case_id,
                    title=summary.text,
                    state=summary.status,
                    details={
                        "event_id": a.event_id,
                        "type": a.type,
                        "number": a.payload.get("number"),
                        "actor_id": a.actor_id,
                        "changes": a.payload.get("changes", {}),
                        "conversation_id": a.payload.get("conversation_id"),
                    },
                )
            )
    # Calls from the CCaaS as the voice slice stored them (the fold of the provider's call events):
    # the caller sees a call they took, or whose conversation they may read.
    for call in await c.voice.calls_of_customer(survivor, limit):
        if not (
            scope.queue_ids is None
            or call.agent_user_id == who.user.id
            or (call.conversation_id and scope.may_read(await c.conversations.get(call.conversation_id)))
        ):
            continue
        outbound = call.direction == "outbound"
        number = (call.to_number if outbound else call.from_number) or "an unknown number"
        entries.append(
            TimelineEntry(
                at=call.offered_at or call.created_at,
                kind="call",
                ref_id=call.id,
                title=f"{'Outbound call to' if outbound else 'Inbound call from'} {number}",
                state=call.outcome or call.state,
                details={
                    "call_id": call.call_id,
                    "provider_id": call.provider_id,
                    "direction": call.direction,
                    "call_state": call.state,
                    "outcome": call.outcome,
                    "conversation_id": call.conversation_id,
                    "agent_id": call.agent_user_id,
                    "queue": call.queue,
                    "answered_at": call.answered_at.isoformat() if call.answered_at else None,
                    "ended_at": call.ended_at.isoformat() if call.ended_at else None,
                    "durations": call.durations,
                    "hold_count": call.hold_count,
                    "transfer_count": call.transfer_count,
                    "disposition": call.disposition,
                    "end_reason": call.end_reason,
                },
            )
        )
    # At the same moment a case's changes come after its creation (the sort keeps the history's
    # newest-first order among them).
    entries.sort(key=lambda e: (e.at, e.kind == "case_change", e.ref_id), reverse=True)
    return entries[:limit]
