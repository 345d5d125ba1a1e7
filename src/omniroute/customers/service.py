"""Customer commands and queries: identity resolution across channels, profiles, duplicates, merges."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import Database
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniroute.core.ids import new_id
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.customers import store
from omniroute.customers.events import (
    CustomerIdentityLinked,
    CustomerNoteAdded,
    CustomerNoteChanged,
    CustomerNoteDeleted,
    CustomersMerged,
    CustomerUpdated,
)
from omniroute.customers.model import (
    ChannelIdentity,
    ContactKind,
    Customer,
    CustomerNote,
    Likeness,
    clean_note_text,
    edit_note,
    identity_channel,
    likeness,
    may_change_note,
    normalise_email,
    normalise_phone,
    proven_contact,
)
from omniroute.customers.ports import MergeHooks

MAX_NAME = 200


async def resolve_customer(
    uow: UnitOfWork,
    channel: str,
    address: str,
    display_name: str,
    email: str | None = None,
    *,
    email_verified: bool = False,
    sender_authenticated: bool = False,
) -> Customer:
    """The customer behind ``address`` on ``channel``, created on first contact.

    A new address that proves a phone or email (an SMS or WhatsApp number, an authenticated email
    sender, a signed identity token's email) joins the customer who already proved the same one:
    that is the automatic, exact merge. Anything weaker is only suggested to agents
    (``duplicates``). ``sender_authenticated``: the email channel's receiving server authenticated
    the From address; without it the sender is filed apart, unverified (``identity_channel``).
    """
    now = uow.clock.now()
    name = display_name.strip()[:MAX_NAME] or address[:MAX_NAME]
    clean_email = normalise_email(email)
    proven = proven_contact(channel, address, authenticated=sender_authenticated)
    if clean_email and email_verified and proven is None:
        proven = (ContactKind.EMAIL, clean_email)
    filed_under = identity_channel(channel, authenticated=sender_authenticated)
    identity = await store.find_identity(uow.conn, filed_under, address)
    if identity is not None:
        customer = await store.get_customer(uow.conn, identity.customer_id)
        assert customer is not None  # guarded by the foreign key
        await _learn(uow, customer, name if name != address else None, clean_email, proven)
        return await _fresh(uow.conn, customer.id)
    if proven is not None:
        owner = await store.find_verified(uow.conn, proven[0], proven[1])
        if owner is not None:
            linked = await _link(uow, owner, filed_under, address, f"same verified {proven[0].value}")
            if linked is not None:
                if _placeholder(linked.display_name) and not _placeholder(name):
                    await store.set_contact(uow.conn, linked.id, now, display_name=name)
                return await _fresh(uow.conn, linked.id)
    customer = Customer(
        id=new_id(),
        display_name=name,
        created_at=now,
        email=clean_email or (proven[1] if proven and proven[0] is ContactKind.EMAIL else None),
        phone=proven[1] if proven and proven[0] is ContactKind.PHONE else None,
        email_verified=bool(proven and proven[0] is ContactKind.EMAIL),
        phone_verified=bool(proven and proven[0] is ContactKind.PHONE),
    )
    try:
        async with uow.conn.begin_nested():
            await store.insert_customer(uow.conn, customer)
            await store.insert_identity(
                uow.conn, ChannelIdentity(new_id(), customer.id, filed_under, address), now
            )
    except IntegrityError:
        # The same address arrived twice at once; the unique index picked the first customer.
        return await resolve_customer(
            uow,
            channel,
            address,
            display_name,
            email,
            email_verified=email_verified,
            sender_authenticated=sender_authenticated,
        )
    return customer


def _placeholder(name: str) -> bool:
    """A name that is only an address (what SMS and email give us before anyone says their name)."""
    return normalise_phone(name) is not None or normalise_email(name) is not None


async def _link(uow: UnitOfWork, owner: Customer, channel: str, address: str, reason: str) -> Customer | None:
    try:
        async with uow.conn.begin_nested():
            await store.insert_identity(
                uow.conn, ChannelIdentity(new_id(), owner.id, channel, address), uow.clock.now()
            )
    except IntegrityError:
        return None  # raced with another first contact from this address: resolve again
    uow.emit(
        CustomerIdentityLinked(
            occurred_at=uow.clock.now(), customer_id=owner.id, channel=channel, address=address, reason=reason
        )
    )
    return owner


async def _learn(
    uow: UnitOfWork,
    customer: Customer,
    name: str | None,
    email: str | None,
    proven: tuple[ContactKind, str] | None,
) -> None:
    """Keep what a returning customer tells us, without overwriting what was verified."""
    new_email = email if email and not customer.email_verified else None
    phone = proven[1] if proven and proven[0] is ContactKind.PHONE and not customer.phone_verified else None
    if proven and proven[0] is ContactKind.EMAIL and not customer.email_verified:
        new_email = proven[1]
    if name == customer.display_name:
        name = None
    if name is None and new_email is None and phone is None and proven is None:
        return
    await store.set_contact(
        uow.conn,
        customer.id,
        uow.clock.now(),
        display_name=name,
        email=new_email,
        email_verified=True if proven and proven[0] is ContactKind.EMAIL else None,
        phone=phone,
        phone_verified=True if phone else None,
    )


async def _fresh(conn: AsyncConnection, customer_id: str) -> Customer:
    customer = await store.get_customer(conn, customer_id)
    assert customer is not None
    return customer


async def get_customer(conn: AsyncConnection, customer_id: str) -> Customer | None:
    return await store.get_customer(conn, customer_id)


@dataclass(frozen=True)
class Profile:
    customer: Customer
    identities: list[ChannelIdentity]


class CustomerService:
    """What agents do with customer records: look them up, correct them, merge duplicates."""

    def __init__(self, db: Database, publisher: Publisher) -> None:
        self.db = db
        self.publisher = publisher
        self._merge_hooks: list[MergeHooks] = []

    def on_merge(self, hooks: MergeHooks) -> None:
        self._merge_hooks.append(hooks)

    async def profile(self, customer_id: str) -> Profile:
        """A customer and their channel identities; a merged id answers with its survivor."""
        async with self.db.read() as conn:
            customer = await store.get_customer(conn, customer_id)
            for _ in range(10):  # merged records point on; a chain is short
                if customer is None or customer.merged_into is None:
                    break
                customer = await store.get_customer(conn, customer.merged_into)
            if customer is None:
                msg = f"no customer {customer_id}"
                raise NotFound(msg)
            return Profile(customer, await store.identities_of(conn, customer.id))

    async def search(self, text: str, limit: int = 50) -> list[Customer]:
        if len(text.strip()) < 2:
            raise InvalidInput("search for at least two characters")
        async with self.db.read() as conn:
            return await store.search(conn, text, limit)

    async def create(
        self, actor_id: str, *, display_name: str, email: str | None = None, phone: str | None = None
    ) -> Customer:
        """An agent creates a customer by hand (e.g. the caller a screen pop did not find).
        Typed contacts are not verified: if they duplicate a record, it is suggested, not merged."""
        name = display_name.strip()
        if not 1 <= len(name) <= MAX_NAME:
            msg = f"the name must have 1 to {MAX_NAME} characters"
            raise InvalidInput(msg)
        clean_email = normalise_email(email) if email else None
        if email and clean_email is None:
            raise InvalidInput("that is not an email address")
        clean_phone = normalise_phone(phone) if phone else None
        if phone and clean_phone is None:
            raise InvalidInput("a phone number has 8 to 15 digits, with its country code")
        async with self.publisher.unit_of_work() as uow:
            customer = Customer(
                id=new_id(),
                display_name=name,
                created_at=uow.clock.now(),
                email=clean_email,
                phone=clean_phone,
            )
            await store.insert_customer(uow.conn, customer)
            uow.emit(
                CustomerUpdated(
                    occurred_at=customer.created_at,
                    customer_id=customer.id,
                    changed=["created"],
                    actor_id=actor_id,
                )
            )
            return customer

    async def update(
        self,
        customer_id: str,
        actor_id: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> Customer:
        """An agent corrects a profile. What they type is not verified; a changed contact loses its proof."""
        name = display_name.strip() if display_name is not None else None
        if name is not None and not 1 <= len(name) <= MAX_NAME:
            msg = f"the name must have 1 to {MAX_NAME} characters"
            raise InvalidInput(msg)
        clean_email = normalise_email(email) if email else None
        if email and clean_email is None:
            raise InvalidInput("that is not an email address")
        clean_phone = normalise_phone(phone) if phone else None
        if phone and clean_phone is None:
            raise InvalidInput("a phone number has 8 to 15 digits, with its country code")
        async with self.publisher.unit_of_work() as uow:
            customer = await store.get_customer_for_update(uow.conn, customer_id)
            if customer is None or customer.merged_into is not None:
                msg = f"no customer {customer_id}"
                raise NotFound(msg)
            changed = []
            if name is not None and name != customer.display_name:
                changed.append("display_name")
            if clean_email is not None and clean_email != customer.email:
                changed.append("email")
            if clean_phone is not None and clean_phone != customer.phone:
                changed.append("phone")
            if changed:
                await store.set_contact(
                    uow.conn,
                    customer.id,
                    uow.clock.now(),
                    display_name=name if "display_name" in changed else None,
                    email=clean_email if "email" in changed else None,
                    email_verified=False if "email" in changed else None,
                    phone=clean_phone if "phone" in changed else None,
                    phone_verified=False if "phone" in changed else None,
                )
                uow.emit(
                    CustomerUpdated(
                        occurred_at=uow.clock.now(),
                        customer_id=customer.id,
                        changed=changed,
                        actor_id=actor_id,
                    )
                )
            return await _fresh(uow.conn, customer.id)

    async def duplicates(self, customer_id: str) -> list[Likeness]:
        """Records that are likely the same person, best first (for an agent to confirm)."""
        me = (await self.profile(customer_id)).customer
        async with self.db.read() as conn:
            found = [likeness(me, other) for other in await store.candidates(conn, me)]
        return sorted((f for f in found if f is not None), key=lambda f: (-f.score, f.customer_id))

    async def merge(self, survivor_id: str, merged_id: str, actor_id: str | None) -> Customer:
        """Make two records one: identities, notes, conversations, cases and preferences move to the survivor.

        Idempotent: merging a record already merged into the survivor returns the survivor.
        """
        if survivor_id == merged_id:
            raise InvalidInput("a customer cannot be merged into itself")
        async with self.publisher.unit_of_work() as uow:
            first, second = sorted((survivor_id, merged_id))  # one lock order for every merge
            rows = {cid: await store.get_customer_for_update(uow.conn, cid) for cid in (first, second)}
            survivor, merged = rows[survivor_id], rows[merged_id]
            if survivor is None or merged is None:
                raise NotFound("no such customer")
            if merged.merged_into == survivor.id:
                return survivor
            if survivor.merged_into is not None or merged.merged_into is not None:
                raise Conflict("one of these records was already merged into another customer")
            now = uow.clock.now()
            await store.move_identities(uow.conn, merged.id, survivor.id)
            await store.move_notes(uow.conn, merged.id, survivor.id)
            # The survivor keeps its own contact details; it takes the other's where it has none,
            # and a verified one wins over an unverified one.
            take_email = merged.email and (
                not survivor.email or (merged.email_verified and not survivor.email_verified)
            )
            take_phone = merged.phone and (
                not survivor.phone or (merged.phone_verified and not survivor.phone_verified)
            )
            await store.set_contact(
                uow.conn,
                survivor.id,
                now,
                email=merged.email if take_email else None,
                email_verified=merged.email_verified if take_email else None,
                phone=merged.phone if take_phone else None,
                phone_verified=merged.phone_verified if take_phone else None,
            )
            for hooks in self._merge_hooks:
                await hooks.customers_merged(uow, merged.id, survivor.id)
            await store.mark_merged(uow.conn, merged.id, survivor.id, now)
            uow.emit(
                CustomersMerged(
                    occurred_at=now, customer_id=survivor.id, merged_id=merged.id, actor_id=actor_id
                )
            )
            return await _fresh(uow.conn, survivor.id)

    # -- notes about the customer -----------------------------------------------------------------

    async def notes(self, customer_id: str, limit: int = 100) -> list[CustomerNote]:
        """Notes about the customer (a merged id: its survivor's), pinned first, then newest."""
        survivor = (await self.profile(customer_id)).customer.id
        async with self.db.read() as conn:
            return await store.notes_of(conn, survivor, limit)

    async def add_note(
        self, customer_id: str, *, author: NoteAuthor, text: str, pinned: bool = False
    ) -> CustomerNote:
        clean = _note_text(text)
        survivor = (await self.profile(customer_id)).customer.id
        async with self.publisher.unit_of_work() as uow:
            # Locked, so a note cannot land on a record a concurrent merge is folding away.
            live = await store.get_customer_for_update(uow.conn, survivor)
            if live is None or live.merged_into is not None:
                raise Conflict("this customer was merged meanwhile; reload and add the note again")
            now = uow.clock.now()
            note = CustomerNote(
                id=new_id(),
                customer_id=survivor,
                author_id=author.user_id,
                author_name=author.name[:MAX_NAME],
                text=clean,
                pinned=pinned,
                created_at=now,
                updated_at=now,
                version=1,
            )
            await store.insert_note(uow.conn, note)
            uow.emit(
                CustomerNoteAdded(
                    occurred_at=now,
                    customer_id=survivor,
                    note_id=note.id,
                    pinned=pinned,
                    actor_id=author.user_id,
                )
            )
        return note

    async def update_note(
        self,
        customer_id: str,
        note_id: str,
        *,
        author: NoteAuthor,
        text: str | None = None,
        pinned: bool | None = None,
        expected_version: int | None = None,
    ) -> CustomerNote:
        """Change a note's text or pin. Authors change their own; supervisors and admins any."""
        survivor = (await self.profile(customer_id)).customer.id
        async with self.publisher.unit_of_work() as uow:
            note = await self._note(uow, survivor, note_id)
            if not may_change_note(note, author.user_id, supervisor=author.supervisor):
                raise Forbidden("only its author, a supervisor or an admin changes a note")
            if expected_version is not None and expected_version != note.version:
                msg = f"the note changed meanwhile (now version {note.version}); reload and retry"
                raise Conflict(msg)
            try:
                edited = edit_note(note, text=text, pinned=pinned, now=uow.clock.now())
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
            if edited is note:
                return note
            await store.update_note(uow.conn, edited)
            changed = [
                f
                for f, a, b in (("text", note.text, edited.text), ("pinned", note.pinned, edited.pinned))
                if a != b
            ]
            uow.emit(
                CustomerNoteChanged(
                    occurred_at=edited.updated_at,
                    customer_id=survivor,
                    note_id=note.id,
                    changed=changed,
                    version=edited.version,
                    actor_id=author.user_id,
                )
            )
        return edited

    async def delete_note(self, customer_id: str, note_id: str, *, author: NoteAuthor) -> None:
        """Deleting twice is fine: the second time there is nothing left to delete."""
        survivor = (await self.profile(customer_id)).customer.id
        async with self.publisher.unit_of_work() as uow:
            note = await store.get_note(uow.conn, note_id, for_update=True)
            if note is None:
                return
            if note.customer_id != survivor:
                raise NotFound(f"no note {note_id} for this customer")
            if not may_change_note(note, author.user_id, supervisor=author.supervisor):
                raise Forbidden("only its author, a supervisor or an admin deletes a note")
            await store.delete_note(uow.conn, note_id)
            uow.emit(
                CustomerNoteDeleted(
                    occurred_at=uow.clock.now(),
                    customer_id=survivor,
                    note_id=note_id,
                    actor_id=author.user_id,
                )
            )

    async def _note(self, uow: UnitOfWork, customer_id: str, note_id: str) -> CustomerNote:
        note = await store.get_note(uow.conn, note_id, for_update=True)
        if note is None or note.customer_id != customer_id:
            msg = f"no note {note_id} for this customer"
            raise NotFound(msg)
        return note


@dataclass(frozen=True)
class NoteAuthor:
    """Who writes or changes a customer note."""

    user_id: str
    name: str
    supervisor: bool


def _note_text(text: str) -> str:
    try:
        return clean_note_text(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
