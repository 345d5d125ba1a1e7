"""Desk commands and queries: quick replies (write, search, fill in for a conversation) and
disposition codes (configure per queue, choose at wrap-up, enforce before closing)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from omniroute.conversations.model import Conversation
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, InvalidInput, NotFound
from omniroute.core.ids import new_id
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.desk import model, store
from omniroute.desk.events import (
    DispositionCodesChanged,
    DispositionRecorded,
    QuickReplyCreated,
    QuickReplyDeleted,
    QuickReplyUpdated,
)
from omniroute.desk.model import (
    Author,
    Disposition,
    DispositionCode,
    QueueDispositions,
    QuickReply,
    Rendered,
    ReplyContent,
)
from omniroute.desk.ports import Conversations, Customers, Queues

MAX_RESULTS = 50


@dataclass(frozen=True)
class DispositionState:
    """What an agent needs at wrap-up: the queue's codes, whether one is required, the choice so far."""

    config: QueueDispositions
    chosen: Disposition | None


class DeskService:
    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        *,
        conversations: Conversations,
        routing: Queues,
        customers: Customers,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.conversations = conversations
        self.routing = routing
        self.customers = customers

    # -- quick replies ------------------------------------------------------------------------------

    async def quick_replies(
        self, user_id: str, *, text: str = "", language: str | None = None, limit: int = 20
    ) -> list[QuickReply]:
        """The shared replies and the user's own that match ``text``, best first.

        Matching happens here rather than in SQL: a contact centre has hundreds of replies, not
        millions, and ranking by title/tag/text is simpler to keep identical on both stores."""
        if not 1 <= limit <= MAX_RESULTS:
            msg = f"limit must be 1 to {MAX_RESULTS}"
            raise InvalidInput(msg)
        wanted = model.check_language(language)
        async with self.db.read() as conn:
            replies = await store.visible_replies(conn, user_id)
        return model.search(replies, text, wanted, limit)

    async def manageable_quick_replies(self, user_id: str) -> list[QuickReply]:
        """Every shared reply and the user's own, shared first, then by title: the admin screen's
        list (unranked and unlimited, unlike the composer's search)."""
        async with self.db.read() as conn:
            replies = await store.visible_replies(conn, user_id)
        return sorted(replies, key=lambda r: (not r.shared, model.fold(r.content.title), r.id))

    async def own_quick_replies(self, user_id: str) -> list[QuickReply]:
        """The user's personal replies by title: what the workspace lets them tidy up (the shared
        ones are managed on the desk administration page)."""
        async with self.db.read() as conn:
            replies = await store.own_replies(conn, user_id)
        return sorted(replies, key=lambda r: (model.fold(r.content.title), r.id))

    async def quick_reply(self, reply_id: str, user_id: str) -> QuickReply:
        async with self.db.read() as conn:
            found = await store.get_reply(conn, reply_id)
        if found is None or not model.can_see(found, user_id):
            msg = f"no quick reply {reply_id}"
            raise NotFound(msg)
        return found

    async def create_quick_reply(self, content: ReplyContent, *, shared: bool, author: Author) -> QuickReply:
        async with self.publisher.unit_of_work() as uow:
            reply = model.new_reply(new_id(), content, shared=shared, author=author, now=uow.clock.now())
            await store.insert_reply(uow.conn, reply)
            uow.emit(
                QuickReplyCreated(
                    occurred_at=reply.created_at,
                    reply_id=reply.id,
                    title=reply.content.title,
                    shared=reply.shared,
                    owner_id=reply.owner_id,
                    actor_id=author.user_id,
                )
            )
        return reply

    async def update_quick_reply(
        self,
        reply_id: str,
        *,
        author: Author,
        expected_version: int | None = None,
        title: str | None = None,
        text: str | None = None,
        language: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> QuickReply:
        """Change the given fields; ``language=""`` means "any language", None leaves it."""
        async with self.publisher.unit_of_work() as uow:
            current = await self._load_reply(uow, reply_id, author.user_id)
            was = current.content
            content = ReplyContent(
                title=was.title if title is None else title,
                text=was.text if text is None else text,
                language=was.language if language is None else language,
                tags=was.tags if tags is None else tuple(tags),
            )
            edited = model.edit(current, content, expected_version, author, uow.clock.now())
            if edited is current:
                return current
            await store.update_reply(uow.conn, edited)
            uow.emit(
                QuickReplyUpdated(
                    occurred_at=edited.updated_at,
                    reply_id=edited.id,
                    title=edited.content.title,
                    version=edited.version,
                    actor_id=author.user_id,
                )
            )
        return edited

    async def delete_quick_reply(self, reply_id: str, *, author: Author) -> None:
        """Deleting twice is fine: the second time there is nothing left to delete."""
        async with self.publisher.unit_of_work() as uow:
            current = await store.get_reply(uow.conn, reply_id, for_update=True)
            if current is None:
                return
            model.check_can_change(current, author)
            await store.delete_reply(uow.conn, reply_id)
            uow.emit(
                QuickReplyDeleted(occurred_at=uow.clock.now(), reply_id=reply_id, actor_id=author.user_id)
            )

    async def render_quick_reply(
        self, reply_id: str, *, conversation: Conversation, user_id: str, agent_name: str
    ) -> Rendered:
        """The reply's text with the conversation's slugs filled in; unknown ones stay as typed."""
        reply = await self.quick_reply(reply_id, user_id)
        queue = next((q.name for q in await self.routing.queues() if q.id == conversation.queue_id), "")
        name = str(conversation.prechat.get("name") or "").strip()
        if not name:
            try:
                name = (await self.customers.profile(conversation.customer_id)).customer.display_name
            except NotFound:
                name = ""
        values = model.slug_values(
            customer_name=name,
            agent_name=agent_name,
            queue=queue,
            channel=conversation.channel,
            prechat=conversation.prechat,
        )
        return model.render(reply.content.text, values)

    async def _load_reply(self, uow: UnitOfWork, reply_id: str, user_id: str) -> QuickReply:
        found = await store.get_reply(uow.conn, reply_id, for_update=True)
        if found is None or not model.can_see(found, user_id):
            msg = f"no quick reply {reply_id}"
            raise NotFound(msg)
        return found

    # -- disposition codes --------------------------------------------------------------------------

    async def _check_queue(self, queue_id: str) -> None:
        if queue_id not in {q.id for q in await self.routing.queues()}:
            msg = f"no queue {queue_id}"
            raise NotFound(msg)

    async def disposition_codes(self, queue_id: str) -> QueueDispositions:
        await self._check_queue(queue_id)
        async with self.db.read() as conn:
            return await store.get_queue_dispositions(conn, queue_id) or model.unset(queue_id)

    async def set_disposition_codes(
        self,
        queue_id: str,
        *,
        required: bool,
        codes: Iterable[DispositionCode],
        expected_version: int | None,
        actor_id: str | None,
    ) -> QueueDispositions:
        await self._check_queue(queue_id)
        try:
            async with self.publisher.unit_of_work() as uow:
                stored = await store.get_queue_dispositions(uow.conn, queue_id, for_update=True)
                current = stored or model.unset(queue_id)
                changed = model.configure(
                    current,
                    required=required,
                    codes=codes,
                    expected_version=expected_version,
                    by=actor_id,
                    now=uow.clock.now(),
                )
                if changed is current:
                    return current
                await store.save_queue_dispositions(uow.conn, changed, existed=stored is not None)
                uow.emit(
                    DispositionCodesChanged(
                        occurred_at=uow.clock.now(),
                        queue_id=queue_id,
                        required=changed.required,
                        codes=[c.code for c in changed.codes],
                        version=changed.version,
                        actor_id=actor_id,
                    )
                )
        except IntegrityError:
            # Two first saves for one queue at once (PostgreSQL): the other one won.
            raise Conflict("the codes of this queue changed meanwhile; reload and retry") from None
        return changed

    async def disposition_of(self, conversation: Conversation) -> DispositionState:
        async with self.db.read() as conn:
            config = await store.get_queue_dispositions(conn, conversation.queue_id)
            chosen = await store.get_disposition(conn, conversation.id)
        return DispositionState(config or model.unset(conversation.queue_id), chosen)

    async def record_disposition(
        self, conversation_id: str, *, code: str, notes: str = "", agent_id: str | None
    ) -> Disposition:
        """Choose the conversation's code (again: the last choice counts). Repeating the same
        choice changes nothing, so a retried request records one event."""
        async with self.publisher.unit_of_work() as uow:
            # Locking the conversation serialises choices with each other and with its close.
            conv = await self.conversations.load(uow, conversation_id)
            config = await store.get_queue_dispositions(uow.conn, conv.queue_id) or model.unset(conv.queue_id)
            previous = await store.get_disposition(uow.conn, conv.id)
            chosen = model.choose(
                config,
                conversation_id=conv.id,
                state=conv.state.value,
                code=code,
                notes=notes,
                agent_id=agent_id,
                now=uow.clock.now(),
            )
            if previous is not None and (previous.queue_id, previous.code, previous.notes) == (
                chosen.queue_id,
                chosen.code,
                chosen.notes,
            ):
                return previous
            await store.save_disposition(uow.conn, chosen, existed=previous is not None)
            uow.emit(
                DispositionRecorded(
                    occurred_at=chosen.recorded_at,
                    conversation_id=conv.id,
                    queue_id=chosen.queue_id,
                    code=chosen.code,
                    agent_id=agent_id,
                )
            )
        return chosen

    async def check_can_close(self, conversation: Conversation) -> None:
        """Raise Conflict (409) when the conversation's queue requires a code and none was chosen.
        Call it in the close route before closing."""
        state = await self.disposition_of(conversation)
        model.check_can_close(conversation.state.value, state.config, state.chosen)
