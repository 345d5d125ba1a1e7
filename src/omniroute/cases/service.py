"""Case commands and queries. Load → decide (model) → save → record the event, in one unit of work.

Every change is a case event, emitted through the Publisher (event log, then the bus after
commit) and written to the case's activity history in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol, TypedDict

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.cases import model, store
from omniroute.cases.events import (
    CaseCancelled,
    CaseCreated,
    CaseEvent,
    CaseLinked,
    CaseNoteAdded,
    CaseReopened,
    CaseResolved,
    CaseUnlinked,
    CaseUpdated,
)
from omniroute.cases.model import (
    PREFILL_MESSAGES,
    Actor,
    Case,
    CaseEdit,
    CaseQuery,
    FromConversation,
    Keep,
    NewCase,
    Page,
    ResolutionType,
    SlaPolicy,
    SlaState,
)
from omniroute.cases.store import Activity, Link, Note
from omniroute.conversations.model import Conversation, SenderKind
from omniroute.conversations.service import ConversationService
from omniroute.conversations.store import Message
from omniroute.core.db import Database
from omniroute.core.errors import Forbidden, InvalidInput, NotFound
from omniroute.core.ids import new_id
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.customers import service as customers
from omniroute.identity.model import User

#: How many messages one read takes when gathering a conversation's customer messages.
MESSAGE_PAGE = 200


class Users(Protocol):
    async def get_user(self, user_id: str) -> User | None: ...


class HasId(Protocol):
    @property
    def id(self) -> str: ...


class Queues(Protocol):
    async def queues(self) -> Sequence[HasId]: ...


class CaseService:
    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        conversations: ConversationService,
        users: Users,
        queues: Queues,
        sla: SlaPolicy,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.conversations = conversations
        self.users = users
        self.queues = queues
        self.sla = sla

    # -- create --------------------------------------------------------------------------------

    async def create(
        self,
        draft: NewCase,
        actor: Actor,
        *,
        conversation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Case, bool]:
        """Open a case (linked to ``conversation_id`` if given). Returns (case, created).

        A retry with the same ``idempotency_key`` by the same user returns the first case.
        """
        await self._check_references(
            owner_id=None if isinstance(draft.owner_id, Keep) else draft.owner_id, queue_id=draft.queue_id
        )
        try:
            return await self._create(draft, actor, conversation_id, idempotency_key)
        except IntegrityError:
            if idempotency_key is None:
                raise
            # A concurrent retry with the same key committed first: answer with its case.
            async with self.db.read() as conn:
                existing = await store.find_by_key(conn, actor.user_id, idempotency_key)
            if existing is None:
                raise
            return existing, False

    async def _create(
        self, draft: NewCase, actor: Actor, conversation_id: str | None, idempotency_key: str | None
    ) -> tuple[Case, bool]:
        async with self.publisher.unit_of_work() as uow:
            if idempotency_key is not None:
                existing = await store.find_by_key(uow.conn, actor.user_id, idempotency_key)
                if existing is not None:
                    return existing, False
            if await customers.get_customer(uow.conn, draft.customer_id) is None:
                msg = f"no customer {draft.customer_id}"
                raise InvalidInput(msg)
            if conversation_id is not None:
                await self._linkable(uow, conversation_id, actor)
            now = uow.clock.now()
            case = model.open_case(
                draft,
                case_id=new_id(),
                number=await store.next_number(uow.conn),
                created_by=actor.user_id,
                now=now,
                sla=self.sla,
            )
            await store.insert_case(uow.conn, case, idempotency_key)
            await self._record(
                uow,
                CaseCreated(
                    **_about(case, actor, now),
                    title=case.title,
                    status=case.status.value,
                    priority=case.priority.value,
                    owner_id=case.owner_id,
                    queue_id=case.queue_id,
                    sla_due_at=case.sla_due_at.isoformat(),
                    conversation_id=conversation_id,
                ),
            )
            if conversation_id is not None:
                await store.link(uow.conn, case.id, conversation_id, actor.user_id, now)
                await self._record(
                    uow, CaseLinked(**_about(case, actor, now), conversation_id=conversation_id)
                )
            return case, True

    async def create_from_conversation(
        self,
        conversation_id: str,
        actor: Actor,
        given: FromConversation | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[Case, bool]:
        """A case prefilled from the conversation (customer, title, description, queue), linked to it."""
        conv = await self.conversations.get(conversation_id)
        draft = model.draft_from_conversation(
            given or FromConversation(),
            customer_id=conv.customer_id,
            queue_id=conv.queue_id,
            subject=conv.subject,
            channel=conv.channel,
            customer_texts=await self._customer_texts(conv),
        )
        return await self.create(draft, actor, conversation_id=conv.id, idempotency_key=idempotency_key)

    async def _customer_texts(self, conv: Conversation) -> list[str]:
        """The customer's messages at the start and the last few, without reading all of a long
        conversation (messages come in sequence order through the conversation service)."""

        def customer(batch: Sequence[Message]) -> list[str]:
            return [m.text for m in batch if m.sender_kind is SenderKind.CUSTOMER]

        head = customer(await self.conversations.messages(conv.id, 0, MESSAGE_PAGE))
        tail: list[str] = []
        upper = conv.last_seq
        while upper > MESSAGE_PAGE and len(tail) < PREFILL_MESSAGES:
            lower = max(MESSAGE_PAGE, upper - MESSAGE_PAGE)
            tail = customer(await self.conversations.messages(conv.id, lower, upper - lower)) + tail
            upper = lower
        return head + tail

    # -- edit ----------------------------------------------------------------------------------

    async def update(
        self, case_id: str, change: CaseEdit, actor: Actor, *, expected_version: int | None = None
    ) -> Case:
        await self._check_references(
            owner_id=None if isinstance(change.owner_id, Keep) else change.owner_id,
            queue_id=None if isinstance(change.queue_id, Keep) else change.queue_id,
        )
        async with self.publisher.unit_of_work() as uow:
            case = await self._editable(uow, case_id, actor, expected_version)
            now = uow.clock.now()
            after, changes = model.edit(case, change, now, self.sla)
            if not changes:
                return case  # nothing to do: a repeated edit changes nothing and records nothing
            await self._save(uow, case, after)
            await self._record(
                uow,
                CaseUpdated(
                    **_about(after, actor, now),
                    changes={k: {"from": a, "to": b} for k, (a, b) in changes.items()},
                    version=after.version,
                ),
            )
            return after

    async def resolve(
        self,
        case_id: str,
        resolution: str,
        resolution_type: ResolutionType,
        actor: Actor,
        *,
        expected_version: int | None = None,
    ) -> Case:
        async with self.publisher.unit_of_work() as uow:
            case = await self._editable(uow, case_id, actor, expected_version)
            now = uow.clock.now()
            after = model.resolve(case, resolution, resolution_type, now, self.sla)
            await self._save(uow, case, after)
            await self._record(
                uow,
                CaseResolved(
                    **_about(after, actor, now),
                    resolution=after.resolution or "",
                    resolution_type=resolution_type.value,
                    sla_met=model.sla_state(after, now, self.sla) is SlaState.MET,
                    version=after.version,
                ),
            )
            return after

    async def cancel(
        self, case_id: str, actor: Actor, *, reason: str = "", expected_version: int | None = None
    ) -> Case:
        why = model.clean_text(reason, model.RESOLUTION_MAX, "the reason")
        async with self.publisher.unit_of_work() as uow:
            case = await self._editable(uow, case_id, actor, expected_version)
            now = uow.clock.now()
            after = model.cancel(case, now, self.sla)
            await self._save(uow, case, after)
            await self._record(
                uow, CaseCancelled(**_about(after, actor, now), reason=why, version=after.version)
            )
            return after

    async def reopen(self, case_id: str, actor: Actor, *, expected_version: int | None = None) -> Case:
        async with self.publisher.unit_of_work() as uow:
            case = await self._editable(uow, case_id, actor, expected_version)
            now = uow.clock.now()
            after = model.reopen(case, now, self.sla)
            await self._save(uow, case, after)
            await self._record(
                uow,
                CaseReopened(
                    **_about(after, actor, now), previous_resolution=case.resolution, version=after.version
                ),
            )
            return after

    # -- links and notes -----------------------------------------------------------------------

    async def link(self, case_id: str, conversation_id: str, actor: Actor) -> tuple[Case, bool]:
        """Link a conversation to a case; linking twice is a no-op. Returns (case, whether this call
        linked it)."""
        async with self.publisher.unit_of_work() as uow:
            case = await self._load(uow, case_id)
            await self._linkable(uow, conversation_id, actor)
            now = uow.clock.now()
            if not await store.link(uow.conn, case.id, conversation_id, actor.user_id, now):
                return case, False
            await store.touch(uow.conn, case.id, now)
            await self._record(uow, CaseLinked(**_about(case, actor, now), conversation_id=conversation_id))
            return case, True

    async def unlink(self, case_id: str, conversation_id: str, actor: Actor) -> tuple[Case, bool]:
        """Remove a link; removing one that is not there is a no-op. Returns (case, whether this
        call removed it).

        The conversation's agent, or whoever may edit the case, may unlink.
        """
        async with self.publisher.unit_of_work() as uow:
            case = await self._load(uow, case_id)
            if conversation_id not in {
                x.conversation_id for x in await store.links_of_case(uow.conn, case.id)
            }:
                return case, False
            conv = await self.conversations.get_in(uow.conn, conversation_id)
            if not model.may_link(actor, conv.agent_id):
                await self._check_may_edit(uow, case, actor)
            now = uow.clock.now()
            await store.unlink(uow.conn, case.id, conversation_id)
            await store.touch(uow.conn, case.id, now)
            await self._record(uow, CaseUnlinked(**_about(case, actor, now), conversation_id=conversation_id))
            return case, True

    async def add_note(
        self, case_id: str, text: str, actor: Actor, *, idempotency_key: str | None = None
    ) -> tuple[Note, bool]:
        """An internal note (also on resolved and cancelled cases). Returns (note, created)."""
        body = model.clean_text(text, model.NOTE_MAX, "the note", required=True)
        try:
            return await self._add_note(case_id, body, actor, idempotency_key)
        except IntegrityError:
            if idempotency_key is None:
                raise
            case = await self.get(case_id)
            async with self.db.read() as conn:
                existing = await store.find_note_by_key(conn, case.id, idempotency_key)
            if existing is None:
                raise
            return existing, False

    async def _add_note(
        self, case_id: str, body: str, actor: Actor, idempotency_key: str | None
    ) -> tuple[Note, bool]:
        async with self.publisher.unit_of_work() as uow:
            case = await self._load(uow, case_id)
            await self._check_may_edit(uow, case, actor)
            if idempotency_key is not None:
                existing = await store.find_note_by_key(uow.conn, case.id, idempotency_key)
                if existing is not None:
                    return existing, False
            now = uow.clock.now()
            note = Note(
                id=new_id(),
                case_id=case.id,
                author_id=actor.user_id,
                author_name=actor.name,
                text=body,
                created_at=now,
            )
            await store.insert_note(uow.conn, note, idempotency_key)
            await store.touch(uow.conn, case.id, now)
            await self._record(
                uow,
                CaseNoteAdded(**_about(case, actor, now), note_id=note.id, author_name=actor.name, text=body),
            )
            return note, True

    async def customers_merged(self, uow: UnitOfWork, merged_id: str, survivor_id: str) -> None:
        """Customers' merge hook: the duplicate's cases belong to the survivor now."""
        await self.move_customer(uow, merged_id, survivor_id)

    async def move_customer(self, uow: UnitOfWork, from_customer: str, to_customer: str) -> list[Case]:
        """Give one customer's cases to another (merging duplicates), in the caller's unit of work."""
        now = uow.clock.now()
        moved = [
            replace(case, customer_id=to_customer)
            for case in await store.move_customer(uow.conn, from_customer, to_customer)
        ]
        for case in moved:
            await self._record(
                uow,
                CaseUpdated(
                    case_id=case.id,
                    number=case.reference,
                    customer_id=to_customer,
                    actor_id=None,
                    occurred_at=now,
                    changes={"customer_id": {"from": from_customer, "to": to_customer}},
                    version=case.version,
                ),
            )
        return moved

    # -- queries -------------------------------------------------------------------------------

    async def get(self, case_id_or_number: str) -> Case:
        """By id, or by its number (``CAS-000123``)."""
        number = model.parse_number(case_id_or_number)
        async with self.db.read() as conn:
            if number is not None:
                case = await store.get_case_by_number(conn, number)
            else:
                case = await store.get_case(conn, case_id_or_number)
        if case is None:
            msg = f"no case {case_id_or_number}"
            raise NotFound(msg)
        return case

    async def search(self, query: CaseQuery) -> Page:
        async with self.db.read() as conn:
            return await store.list_cases(conn, query)

    async def for_customer(self, customer_id: str, *, open_only: bool = False) -> list[Case]:
        """A customer's cases, newest first (Customer 360)."""
        statuses = model.OPEN_STATUSES if open_only else frozenset()
        async with self.db.read() as conn:
            if await customers.get_customer(conn, customer_id) is None:
                msg = f"no customer {customer_id}"
                raise NotFound(msg)
            page = await store.list_cases(
                conn, CaseQuery(customer_id=customer_id, statuses=statuses, limit=500)
            )
        return page.items

    async def for_conversation(self, conversation_id: str) -> list[Case]:
        page = await self.search(CaseQuery(conversation_id=conversation_id, limit=500))
        return page.items

    async def links(self, case_ref: str) -> list[Link]:
        case = await self.get(case_ref)
        async with self.db.read() as conn:
            return await store.links_of_case(conn, case.id)

    async def notes(self, case_ref: str) -> list[Note]:
        case = await self.get(case_ref)
        async with self.db.read() as conn:
            return await store.notes_of_case(conn, case.id)

    async def history(self, case_ref: str) -> list[Activity]:
        """Every change of the case, oldest first."""
        case = await self.get(case_ref)
        async with self.db.read() as conn:
            return await store.activity_of_case(conn, case.id)

    async def customer_activity(
        self, customer_id: str, *, since: datetime | None = None, limit: int = 200
    ) -> list[Activity]:
        """Case changes of one customer, newest first (the customer's timeline)."""
        async with self.db.read() as conn:
            return await store.activity_of_customer(conn, customer_id, since, limit)

    async def may_edit(self, case: Case, actor: Actor) -> bool:
        async with self.db.read() as conn:
            return model.may_edit(case, actor, await self._agents_of_links(conn, case.id))

    def sla_state(self, case: Case) -> SlaState:
        return model.sla_state(case, self.publisher.clock.now(), self.sla)

    # -- helpers -------------------------------------------------------------------------------

    async def _load(self, uow: UnitOfWork, case_ref: str) -> Case:
        """The case by id or number, locked for this unit of work."""
        number = model.parse_number(case_ref)
        if number is not None:
            case = await store.get_case_by_number(uow.conn, number, for_update=True)
        else:
            case = await store.get_case(uow.conn, case_ref, for_update=True)
        if case is None:
            msg = f"no case {case_ref}"
            raise NotFound(msg)
        return case

    async def _editable(
        self, uow: UnitOfWork, case_id: str, actor: Actor, expected_version: int | None
    ) -> Case:
        case = await self._load(uow, case_id)
        await self._check_may_edit(uow, case, actor)
        model.check_version(case, expected_version)
        return case

    async def _check_may_edit(self, uow: UnitOfWork, case: Case, actor: Actor) -> None:
        if model.may_edit(case, actor, frozenset()):
            return
        if not model.may_edit(case, actor, await self._agents_of_links(uow.conn, case.id)):
            msg = (
                f"case {case.reference} belongs to someone else; agents may edit cases they own, "
                "unowned cases and cases linked to their conversations"
            )
            raise Forbidden(msg)

    async def _agents_of_links(self, conn: AsyncConnection, case_id: str) -> frozenset[str]:
        agents = set()
        for link in await store.links_of_case(conn, case_id):
            conv = await self.conversations.get_in(conn, link.conversation_id)
            if conv.agent_id is not None:
                agents.add(conv.agent_id)
        return frozenset(agents)

    async def _linkable(self, uow: UnitOfWork, conversation_id: str, actor: Actor) -> Conversation:
        """The conversation, if ``actor`` may link cases to it; unseen ones do not exist (404)."""
        conv = await self.conversations.get_in(uow.conn, conversation_id)
        if not model.may_link(actor, conv.agent_id):
            msg = f"no conversation {conversation_id}"
            raise NotFound(msg)
        return conv

    async def _check_references(self, *, owner_id: str | None, queue_id: str | None) -> None:
        """Owner and queue must exist, checked before the write transaction starts."""
        if owner_id is not None:
            user = await self.users.get_user(owner_id)
            if user is None or not user.is_active:
                msg = f"no active user {owner_id} to own the case"
                raise InvalidInput(msg)
        if queue_id is not None and queue_id not in {q.id for q in await self.queues.queues()}:
            msg = f"no queue {queue_id}"
            raise InvalidInput(msg)

    async def _save(self, uow: UnitOfWork, before: Case, after: Case) -> None:
        saved = await store.save_case(uow.conn, before, after)
        assert saved, "the row is locked by _load, so its version cannot move under us"

    async def _record(self, uow: UnitOfWork, event: CaseEvent) -> None:
        uow.emit(event)
        await store.insert_activity(uow.conn, event)


class _About(TypedDict):
    case_id: str
    number: str
    customer_id: str
    actor_id: str | None
    occurred_at: datetime


def _about(case: Case, actor: Actor, now: datetime) -> _About:
    """The fields every case event carries."""
    return _About(
        case_id=case.id,
        number=case.reference,
        customer_id=case.customer_id,
        actor_id=actor.user_id,
        occurred_at=now,
    )
