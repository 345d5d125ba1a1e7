"""Who may see and who may act on a conversation: the one rule every agent-facing route applies.

**Read** (transcript, notes, consults, attachments, cases of the conversation, the customer's
history): supervisors and admins see every conversation; an agent sees a conversation that is
assigned to them, that they consult on, or whose queue is one of theirs (waiting, held by a
colleague or finished).

**Write** needs more than reading: speaking to the customer (reply, typing, attachments,
disposition) is for the holder or a supervisor (``holding``); the other commands (end, close,
transfer, consult, notes, create a case…) are for the people *on* the conversation, i.e. the holder,
a consultant or a supervisor (``participating``), and the service then applies its own rule (only
the holder ends or closes, a consultant only writes notes or leaves).

Refusals: a conversation the caller may not read answers 404, exactly like one that does not
exist, so nobody probes for other queues' work. One the caller may read but not change answers 403
with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.conversations.model import Conversation
from omniroute.core.errors import Forbidden, NotFound
from omniroute.identity.model import Principal, Role
from omniroute.web.security import ContainerDep


def sees_everything(who: Principal) -> bool:
    return who.user.has_role(Role.SUPERVISOR)


def holds(conv: Conversation, who: Principal) -> bool:
    """The caller may speak to the customer: the conversation is assigned to them (or a supervisor)."""
    return conv.agent_id == who.user.id or sees_everything(who)


@dataclass(frozen=True)
class Scope:
    """What one caller may read, loaded once for filtering lists (the customer's history, a
    case's links). ``queue_ids`` is None for supervisors and admins: every conversation."""

    user_id: str
    queue_ids: frozenset[str] | None
    consulting: frozenset[str]

    def may_read(self, conv: Conversation) -> bool:
        return (
            self.queue_ids is None
            or conv.agent_id == self.user_id
            or conv.queue_id in self.queue_ids
            or conv.id in self.consulting
        )


async def scope_of(c: ContainerDep, who: Principal) -> Scope:
    if sees_everything(who):
        return Scope(who.user.id, None, frozenset())
    state = await c.routing.agent_state(who.user.id)
    return Scope(
        who.user.id,
        frozenset(q.id for q in state.queues),
        frozenset(x.id for x in await c.routing.consulting(who.user.id)),
    )


def _missing(conversation_id: str) -> NotFound:
    # Not 403: do not reveal that another queue's conversation exists.
    return NotFound(f"no conversation {conversation_id}")


async def visible(c: ContainerDep, who: Principal, conversation_id: str) -> Conversation:
    """The conversation if the caller may read it, else 404 (as if it did not exist)."""
    conv = await c.conversations.get(conversation_id)
    if holds(conv, who) or await c.routing.is_consulting(who.user.id, conversation_id):
        return conv
    queues = {q.id for q in (await c.routing.agent_state(who.user.id)).queues}
    if conv.queue_id not in queues:
        raise _missing(conversation_id)
    return conv


async def participating(c: ContainerDep, who: Principal, conversation_id: str) -> Conversation:
    """For commands on the conversation: the holder, a consultant or a supervisor. Others who may
    read it (colleagues of the queue) get 403; those who may not get 404."""
    conv = await visible(c, who, conversation_id)
    if holds(conv, who) or await c.routing.is_consulting(who.user.id, conversation_id):
        return conv
    raise Forbidden("you are not on this conversation: pick it or ask its holder to consult you")


async def holding(c: ContainerDep, who: Principal, conversation_id: str) -> Conversation:
    """Speaking to the customer is for the agent holding the conversation (or a supervisor)."""
    conv = await visible(c, who, conversation_id)
    if holds(conv, who):
        return conv
    if await c.routing.is_consulting(who.user.id, conversation_id):
        raise Forbidden("consultants add internal notes; ask to be promoted to reply")
    raise Forbidden("this conversation is not assigned to you")
