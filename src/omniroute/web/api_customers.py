"""Customer 360 for agents: profiles, channel identities, duplicates and merges, history across channels.

Token scopes: reading needs ``conversations:read``, changing needs ``conversations:write`` (customer
records are part of the conversation work an agent does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from omniroute.conversations.model import Conversation
from omniroute.core.errors import NotFound
from omniroute.customers.model import ChannelIdentity, Customer
from omniroute.customers.service import Profile
from omniroute.identity.model import Principal, Role
from omniroute.web.schemas import ConversationOut, MessageOut, Strict
from omniroute.web.security import AgentRead, AgentWrite, ContainerDep

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


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


class TimelineEntry(BaseModel):
    at: datetime
    kind: str = Field(description="conversation (any channel, calls included) or case")
    ref_id: str
    title: str
    channel: str | None = None
    state: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


async def _my_queue_ids(c: ContainerDep, who: Principal) -> set[str] | None:
    """None: sees every conversation (supervisors and admins)."""
    if who.user.has_role(Role.SUPERVISOR):
        return None
    return {q.id for q in (await c.routing.agent_state(who.user.id)).queues}


def _may_see(conv: Conversation, who: Principal, queues: set[str] | None) -> bool:
    return queues is None or conv.agent_id == who.user.id or conv.queue_id in queues


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
    queues = await _my_queue_ids(c, who)
    found = await c.conversations.customer_conversations(survivor, limit, before)
    return [ConversationOut.of(x) for x in found if _may_see(x, who, queues)]


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
    if conv.customer_id != survivor or not _may_see(conv, who, await _my_queue_ids(c, who)):
        msg = f"no conversation {conversation_id} for this customer"
        raise NotFound(msg)
    return [MessageOut.of(m) for m in await c.conversations.messages(conversation_id, after_seq, limit)]


@router.get("/{customer_id}/timeline", response_model=list[TimelineEntry])
async def timeline(
    customer_id: str,
    c: ContainerDep,
    who: AgentRead,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[TimelineEntry]:
    """Everything that happened with this customer, newest first: conversations on every channel
    (calls from the CCaaS are voice conversations) and cases."""
    survivor = (await c.customers.profile(customer_id)).customer.id
    queues = await _my_queue_ids(c, who)
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
        if _may_see(conv, who, queues)
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
    entries.sort(key=lambda e: (e.at, e.ref_id), reverse=True)
    return entries[:limit]
