"""Conversation commands: start, post, type, end, close. Load → decide (model) → save → emit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.conversations import model, store
from omniroute.conversations.events import (
    ConversationCreated,
    ConversationQueued,
    ConversationStateChanged,
    MessageDeliveryChanged,
    MessagePosted,
    NoteAdded,
    TypingChanged,
)
from omniroute.conversations.model import (
    Conversation,
    ConversationState,
    Location,
    MessageAttachment,
    SenderKind,
)
from omniroute.conversations.ports import AssignmentHooks, AttachmentLinker, MessageHooks
from omniroute.conversations.store import Message, Note
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, NotFound
from omniroute.core.ids import new_id
from omniroute.core.uow import Publisher, UnitOfWork

S = ConversationState


class _AlreadyStored(Exception):
    """A retry of a stored message: leave the transaction without writing anything."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.id)
        self.message = message


class ConversationService:
    def __init__(self, db: Database, publisher: Publisher, max_message_bytes: int) -> None:
        self.db = db
        self.publisher = publisher
        self.max_message_bytes = max_message_bytes
        self._hooks: AssignmentHooks | None = None
        self._message_hooks: list[MessageHooks] = []
        self._attachments: AttachmentLinker | None = None

    def use_attachments(self, linker: AttachmentLinker) -> None:
        self._attachments = linker

    def use_assignment(self, hooks: AssignmentHooks) -> None:
        self._hooks = hooks

    def on_message_stored(self, hooks: MessageHooks) -> None:
        self._message_hooks.append(hooks)

    @property
    def hooks(self) -> AssignmentHooks:
        if self._hooks is None:
            msg = "no assignment hooks wired; bootstrap must call use_assignment()"
            raise RuntimeError(msg)
        return self._hooks

    # -- commands that run inside a caller's unit of work --------------------------------

    async def start(
        self,
        uow: UnitOfWork,
        *,
        channel: str,
        customer_id: str,
        queue_id: str,
        subject: str,
        prechat: dict[str, Any],
        customer_token_hash: str | None,
        conversation_id: str | None = None,
        channel_account_id: str | None = None,
        customer_address: str | None = None,
    ) -> Conversation:
        """Store a new conversation in state ``open``. The caller hands it to routing next."""
        now = uow.clock.now()
        conv = Conversation(
            id=conversation_id or new_id(),
            channel=channel,
            customer_id=customer_id,
            queue_id=queue_id,
            state=S.OPEN,
            created_at=now,
            updated_at=now,
            queued_at=now,
            subject=subject[:500],
            prechat=prechat,
            channel_account_id=channel_account_id,
            customer_address=customer_address,
        )
        await store.insert_conversation(uow.conn, conv, customer_token_hash)
        uow.emit(
            ConversationCreated(
                occurred_at=now,
                conversation_id=conv.id,
                channel=channel,
                customer_id=customer_id,
                queue_id=queue_id,
                prechat=prechat,
            )
        )
        uow.emit(ConversationQueued(occurred_at=now, conversation_id=conv.id, queue_id=queue_id))
        return conv

    async def load(self, uow: UnitOfWork, conversation_id: str) -> Conversation:
        conv = await store.get_conversation(uow.conn, conversation_id, for_update=True)
        if conv is None:
            msg = f"no conversation {conversation_id}"
            raise NotFound(msg)
        return conv

    async def append(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        *,
        sender_kind: SenderKind,
        sender_id: str | None,
        sender_name: str,
        text: str,
        idempotency_key: str | None = None,
        claimed_seq: int | None = None,
        attachment_ids: Sequence[str] = (),
        links: Sequence[MessageAttachment] = (),
        location: Location | None = None,
    ) -> tuple[Message, bool]:
        """Store a message with the next sequence number (or one already claimed).

        ``attachment_ids`` are stored files the sender uploaded to this conversation; ``links``
        are files known only by a provider's URL (channel media); ``location`` is a place the
        message shares (checked: :func:`model.check_location`). Returns (message, created).
        """
        if idempotency_key is not None and claimed_seq is None:
            existing = await store.find_message_by_key(uow.conn, conv.id, idempotency_key)
            if existing is not None:
                return existing, False
        if sender_kind in (SenderKind.CUSTOMER, SenderKind.AGENT):
            model.check_can_post(conv, sender_kind, sender_id)
        ids = list(dict.fromkeys(attachment_ids))
        body = model.check_body(
            text, self.max_message_bytes, len(ids) + len(links), located=location is not None
        )
        message_id = new_id()
        files: list[MessageAttachment] = list(links)
        if ids:
            if self._attachments is None:
                problem = "no attachment store wired; bootstrap must call use_attachments()"
                raise RuntimeError(problem)
            files = [*await self._attachments.attach(uow, conv, sender_kind, ids, message_id), *files]
        seq = claimed_seq if claimed_seq is not None else await store.allocate_seq(uow.conn, conv.id)
        now = uow.clock.now()
        msg = Message(
            id=message_id,
            conversation_id=conv.id,
            seq=seq,
            sender_kind=sender_kind,
            sender_id=sender_id,
            sender_name=sender_name,
            text=body,
            created_at=now,
            idempotency_key=idempotency_key,
            attachments=tuple(files),
            location=location,
        )
        await store.insert_message(uow.conn, msg)
        uow.emit(
            MessagePosted(
                occurred_at=now,
                conversation_id=conv.id,
                message_id=msg.id,
                seq=seq,
                sender_kind=sender_kind.value,
                sender_id=sender_id,
                sender_name=sender_name,
                text=body,
                created_at=now,
                agent_id=conv.agent_id,
                attachments=[a.as_dict() for a in files],
                location=location.as_dict() if location is not None else None,
            )
        )
        for hooks in self._message_hooks:
            await hooks.message_stored(uow, conv, msg)
        return msg, True

    async def set_delivery(
        self, uow: UnitOfWork, message_id: str, status: str, error: str | None
    ) -> Message | None:
        """Record an outbound message's delivery state and tell the agent's desktop."""
        msg = await store.set_delivery(uow.conn, message_id, status, error)
        if msg is None:
            return None
        conv = await self.load(uow, msg.conversation_id)
        uow.emit(
            MessageDeliveryChanged(
                occurred_at=uow.clock.now(),
                conversation_id=msg.conversation_id,
                message_id=msg.id,
                seq=msg.seq,
                status=status,
                error=error,
                agent_id=conv.agent_id,
            )
        )
        return msg

    async def last_customer_message(self, uow: UnitOfWork, conversation_id: str) -> Message | None:
        return await store.last_customer_message(uow.conn, conversation_id)

    async def last_customer_message_at(self, conversation_id: str) -> datetime | None:
        """When the customer last wrote (messaging windows such as WhatsApp's), read-only."""
        async with self.db.read() as conn:
            last = await store.last_customer_message(conn, conversation_id)
        return last.created_at if last is not None else None

    async def live_for_customer(
        self, uow: UnitOfWork, customer_id: str, channel_account_id: str
    ) -> Conversation | None:
        return await store.latest_live_for_customer(uow.conn, customer_id, channel_account_id)

    async def change_state(
        self, uow: UnitOfWork, before: Conversation, after: Conversation, reason: str
    ) -> Conversation:
        await store.save_conversation(uow.conn, after)
        uow.emit(
            ConversationStateChanged(
                occurred_at=uow.clock.now(),
                conversation_id=after.id,
                from_state=before.state.value,
                to_state=after.state.value,
                agent_id=after.agent_id or before.agent_id,
                reason=reason,
            )
        )
        return after

    async def end_in(
        self, uow: UnitOfWork, conv: Conversation, by: SenderKind, actor_name: str
    ) -> Conversation:
        if conv.state in (S.WRAP_UP, S.CLOSED):
            return conv  # ending twice is a no-op, so retries are safe
        now = uow.clock.now()
        ended = model.end(conv, by, now)
        who = "The customer" if by is SenderKind.CUSTOMER else actor_name
        await self.append(
            uow,
            conv,
            sender_kind=SenderKind.SYSTEM,
            sender_id=None,
            sender_name="Omniroute",
            text=f"{who} ended the conversation.",
        )
        ended = await self.change_state(uow, conv, ended, f"ended_by_{by.value}")
        await self.hooks.conversation_ended(uow, ended)
        if ended.state is S.CLOSED:
            await self.hooks.conversation_closed(uow, ended)
        return ended

    # -- commands with their own unit of work ---------------------------------------------

    async def post(
        self,
        conversation_id: str,
        *,
        sender_kind: SenderKind,
        text: str,
        idempotency_key: str | None,
        sender_id: str | None = None,
        sender_name: str | None = None,
        attachment_ids: Sequence[str] = (),
        location: Location | None = None,
    ) -> tuple[Message, bool]:
        """Store one message in its own transaction. Returns (message, created).

        Customers' id and name come from the conversation when not given. This is the hot path:
        one optional idempotency read, one UPDATE that locks the row and claims the sequence
        number, two INSERTs (message, event log).
        """
        # Size is checked before opening a write transaction: oversize input costs nothing.
        model.check_body(text, self.max_message_bytes, len(set(attachment_ids)), located=location is not None)
        try:
            return await self._post(
                conversation_id,
                sender_kind,
                text,
                idempotency_key,
                sender_id,
                sender_name,
                attachment_ids,
                location,
            )
        except _AlreadyStored as stored:
            return stored.message, False

    async def _post(
        self,
        conversation_id: str,
        sender_kind: SenderKind,
        text: str,
        idempotency_key: str | None,
        sender_id: str | None,
        sender_name: str | None,
        attachment_ids: Sequence[str] = (),
        location: Location | None = None,
    ) -> tuple[Message, bool]:
        async with self.publisher.unit_of_work() as uow:
            conv = await store.claim_next_seq(uow.conn, conversation_id)
            if conv is None:
                msg = f"no conversation {conversation_id}"
                raise NotFound(msg)
            if idempotency_key is not None:
                # Looked up under the row lock, so concurrent retries cannot both insert.
                existing = await store.find_message_by_key(uow.conn, conversation_id, idempotency_key)
                if existing is not None:
                    raise _AlreadyStored(existing)  # rolls the claimed number back
            if sender_kind is SenderKind.CUSTOMER:
                sender_id = sender_id or conv.customer_id
                sender_name = sender_name or str(conv.prechat.get("name") or "Customer")
            return await self.append(
                uow,
                conv,
                sender_kind=sender_kind,
                sender_id=sender_id,
                sender_name=sender_name or "",
                text=text,
                idempotency_key=idempotency_key,
                claimed_seq=conv.last_seq,
                attachment_ids=attachment_ids,
                location=location,
            )

    async def add_note(
        self,
        conversation_id: str,
        *,
        author_id: str,
        author_name: str,
        text: str,
        idempotency_key: str | None = None,
    ) -> tuple[Note, bool]:
        """An internal note for the agents on a conversation (never shown to the customer).

        Returns (note, created): a retry with the same idempotency key gets the first note back.
        """
        body = model.check_text(text, self.max_message_bytes)
        async with self.publisher.unit_of_work() as uow:
            conv = await self.load(uow, conversation_id)
            before = len(uow.events)
            note = await self.add_note_in(uow, conv, author_id, author_name, body, idempotency_key)
            return note, len(uow.events) > before

    async def add_note_in(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        author_id: str,
        author_name: str,
        text: str,
        idempotency_key: str | None = None,
    ) -> Note:
        note = Note(
            id=new_id(),
            conversation_id=conv.id,
            author_id=author_id,
            author_name=author_name,
            text=text,
            created_at=uow.clock.now(),
        )
        stored = await store.insert_note(uow.conn, note, idempotency_key)
        if stored.id == note.id:
            uow.emit(
                NoteAdded(
                    occurred_at=note.created_at,
                    conversation_id=conv.id,
                    note_id=note.id,
                    author_id=author_id,
                    author_name=author_name,
                    text=text,
                    created_at=note.created_at,
                    agent_id=conv.agent_id,
                )
            )
        return stored

    async def last_activity(self, conn: AsyncConnection, conv: Conversation) -> datetime:
        """When anyone last wrote in the conversation (its creation if nobody has)."""
        last = await store.list_messages(conn, conv.id, max(conv.last_seq - 1, 0), 1)
        return last[-1].created_at if last else conv.created_at

    async def customers_merged(self, uow: UnitOfWork, merged_id: str, survivor_id: str) -> None:
        """Two customer records became one: their conversations now belong to the survivor."""
        await store.move_customer(uow.conn, merged_id, survivor_id)

    async def customer_conversations(
        self, customer_id: str, limit: int = 50, before: datetime | None = None
    ) -> list[Conversation]:
        async with self.db.read() as conn:
            return await store.list_customer_conversations(conn, customer_id, limit, before)

    async def notes(self, conversation_id: str) -> list[Note]:
        async with self.db.read() as conn:
            return await store.list_notes(conn, conversation_id)

    async def typing(self, conversation_id: str, sender_kind: SenderKind, is_typing: bool) -> None:
        """Typing is a signal, not state: published, never stored."""
        conv = await self.get(conversation_id)
        if conv.state is S.CLOSED:
            return
        await self.publisher.publish(
            TypingChanged(
                occurred_at=self.publisher.clock.now(),
                conversation_id=conversation_id,
                sender_kind=sender_kind.value,
                is_typing=is_typing,
                agent_id=conv.agent_id,
            )
        )

    async def end(
        self, conversation_id: str, by: SenderKind, actor_id: str | None, actor_name: str
    ) -> Conversation:
        async with self.publisher.unit_of_work() as uow:
            conv = await self.load(uow, conversation_id)
            if by is SenderKind.AGENT and conv.agent_id != actor_id:
                raise Conflict("this conversation is assigned to another agent")
            return await self.end_in(uow, conv, by, actor_name)

    async def close(self, conversation_id: str, actor_id: str) -> Conversation:
        """Finish wrap-up. Closing an already closed conversation is a no-op."""
        async with self.publisher.unit_of_work() as uow:
            conv = await self.load(uow, conversation_id)
            if conv.agent_id != actor_id:
                raise Conflict("this conversation is assigned to another agent")
            if conv.state is S.CLOSED:
                return conv
            if conv.state is not S.WRAP_UP:
                raise Conflict("end the conversation before closing it")
            closed = await self.change_state(uow, conv, model.close(conv, uow.clock.now()), "closed_by_agent")
            await self.hooks.conversation_closed(uow, closed)
            return closed

    # -- queries ----------------------------------------------------------------------------

    async def get(self, conversation_id: str) -> Conversation:
        async with self.db.read() as conn:
            conv = await store.get_conversation(conn, conversation_id)
        if conv is None:
            msg = f"no conversation {conversation_id}"
            raise NotFound(msg)
        return conv

    async def get_in(self, conn: AsyncConnection, conversation_id: str) -> Conversation:
        conv = await store.get_conversation(conn, conversation_id)
        if conv is None:
            msg = f"no conversation {conversation_id}"
            raise NotFound(msg)
        return conv

    async def by_customer_token(self, token_hash: str) -> Conversation | None:
        async with self.db.read() as conn:
            return await store.get_conversation_by_customer_token(conn, token_hash)

    async def messages(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        async with self.db.read() as conn:
            return await store.list_messages(conn, conversation_id, after_seq, limit)

    async def agent_conversations(self, agent_id: str) -> list[Conversation]:
        async with self.db.read() as conn:
            return await store.list_agent_conversations(
                conn, agent_id, frozenset({S.ACTIVE, S.WAITING, S.WRAP_UP})
            )

    async def last_agent_for_customer(self, conn: AsyncConnection, customer_id: str) -> str | None:
        return await store.last_agent_for_customer(conn, customer_id)

    async def waiting_in(self, conn: AsyncConnection, queue_id: str) -> list[Conversation]:
        return await store.list_waiting_in(conn, queue_id)

    async def routable(self, conn: AsyncConnection) -> list[Conversation]:
        return await store.list_routable(conn)

    async def count_waiting(self, conn: AsyncConnection, queue_id: str) -> int:
        return await store.count_waiting(conn, queue_id)

    async def assign(self, uow: UnitOfWork, conv: Conversation, agent_id: str) -> Conversation:
        return await self.change_state(uow, conv, model.accept(conv, agent_id, uow.clock.now()), "accepted")

    async def move_to_queue(self, uow: UnitOfWork, conv: Conversation, queue_id: str) -> Conversation:
        """Waiting work moves to another queue (overflow, transfer); it waits there afresh."""
        now = uow.clock.now()
        moved = replace(conv, queue_id=queue_id, queued_at=now, updated_at=now)
        await store.save_conversation(uow.conn, moved)
        uow.emit(ConversationQueued(occurred_at=now, conversation_id=conv.id, queue_id=queue_id))
        return moved

    async def requeue(
        self, uow: UnitOfWork, conv: Conversation, queue_id: str, reason: str = "transferred"
    ) -> Conversation:
        """Back to waiting (a transfer): no agent, the given queue, queued again from now."""
        now = uow.clock.now()
        after = replace(model.transition(conv, S.OPEN, now), agent_id=None, queue_id=queue_id, queued_at=now)
        return await self.change_state(uow, conv, after, reason)
