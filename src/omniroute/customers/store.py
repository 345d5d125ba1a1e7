"""Tables and queries for customers and channel identities."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime
from omniroute.customers.model import ChannelIdentity, ContactKind, Customer, CustomerNote

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(254), nullable=True, index=True),
    sa.Column("phone", sa.String(40), nullable=True, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # Verified: a channel proved it (SMS/WhatsApp/voice for phones, email for emails) or a signed
    # identity token said so. Only verified contacts merge records automatically.
    sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("phone_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    # A merged record stays as a tombstone pointing at the survivor, so old links still resolve.
    sa.Column("merged_into", sa.String(36), nullable=True, index=True),
)

channel_identities = sa.Table(
    "channel_identities",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "customer_id",
        sa.String(36),
        sa.ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("channel", "address"),
)

#: Notes about a customer (Customer 360), written by agents; a merge moves them to the survivor.
customer_notes = sa.Table(
    "customer_notes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "customer_id",
        sa.String(36),
        sa.ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("author_id", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    # The author's name when they wrote it: the note stays readable if the account goes.
    sa.Column("author_name", sa.String(200), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
)


def _customer(row: AnyRow) -> Customer:
    m = row._mapping
    return Customer(
        id=m["id"],
        display_name=m["display_name"],
        created_at=m["created_at"],
        email=m["email"],
        phone=m["phone"],
        email_verified=bool(m["email_verified"]),
        phone_verified=bool(m["phone_verified"]),
        merged_into=m["merged_into"],
        updated_at=m["updated_at"],
    )


async def insert_customer(conn: AsyncConnection, customer: Customer) -> None:
    await conn.execute(
        customers.insert().values(
            id=customer.id,
            display_name=customer.display_name,
            email=customer.email,
            phone=customer.phone,
            email_verified=customer.email_verified,
            phone_verified=customer.phone_verified,
            created_at=customer.created_at,
            updated_at=customer.created_at,
        )
    )


async def get_customer(conn: AsyncConnection, customer_id: str) -> Customer | None:
    row = (await conn.execute(sa.select(customers).where(customers.c.id == customer_id))).first()
    return _customer(row) if row else None


async def find_identity(conn: AsyncConnection, channel: str, address: str) -> ChannelIdentity | None:
    row = (
        await conn.execute(
            sa.select(channel_identities).where(
                channel_identities.c.channel == channel, channel_identities.c.address == address
            )
        )
    ).first()
    if row is None:
        return None
    m = row._mapping
    return ChannelIdentity(
        id=m["id"], customer_id=m["customer_id"], channel=m["channel"], address=m["address"]
    )


async def insert_identity(conn: AsyncConnection, identity: ChannelIdentity, created_at: object) -> None:
    await conn.execute(
        channel_identities.insert().values(
            id=identity.id,
            customer_id=identity.customer_id,
            channel=identity.channel,
            address=identity.address,
            created_at=created_at,
        )
    )


async def update_contact(
    conn: AsyncConnection, customer_id: str, display_name: str, email: str | None, now: object
) -> None:
    values: dict[str, object] = {"display_name": display_name, "updated_at": now}
    if email:
        values["email"] = email
    await conn.execute(customers.update().where(customers.c.id == customer_id).values(**values))


def _identity(row: AnyRow) -> ChannelIdentity:
    m = row._mapping
    return ChannelIdentity(
        id=m["id"], customer_id=m["customer_id"], channel=m["channel"], address=m["address"]
    )


async def get_customer_for_update(conn: AsyncConnection, customer_id: str) -> Customer | None:
    query = sa.select(customers).where(customers.c.id == customer_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _customer(row) if row else None


async def find_verified(conn: AsyncConnection, kind: ContactKind, value: str) -> Customer | None:
    """The live (not merged) customer who proved this phone or email, oldest first."""
    column, flag = (
        (customers.c.phone, customers.c.phone_verified)
        if kind is ContactKind.PHONE
        else (customers.c.email, customers.c.email_verified)
    )
    row = (
        await conn.execute(
            sa.select(customers)
            .where(column == value, flag.is_(True), customers.c.merged_into.is_(None))
            .order_by(customers.c.created_at, customers.c.id)
            .limit(1)
        )
    ).first()
    return _customer(row) if row else None


async def set_contact(
    conn: AsyncConnection,
    customer_id: str,
    now: object,
    *,
    display_name: str | None = None,
    email: str | None = None,
    email_verified: bool | None = None,
    phone: str | None = None,
    phone_verified: bool | None = None,
) -> None:
    values: dict[str, object] = {"updated_at": now}
    for key, value in (
        ("display_name", display_name),
        ("email", email),
        ("email_verified", email_verified),
        ("phone", phone),
        ("phone_verified", phone_verified),
    ):
        if value is not None:
            values[key] = value
    await conn.execute(customers.update().where(customers.c.id == customer_id).values(**values))


async def identities_of(conn: AsyncConnection, customer_id: str) -> list[ChannelIdentity]:
    rows = await conn.execute(
        sa.select(channel_identities)
        .where(channel_identities.c.customer_id == customer_id)
        .order_by(channel_identities.c.created_at, channel_identities.c.id)
    )
    return [_identity(r) for r in rows]


async def move_identities(conn: AsyncConnection, from_id: str, to_id: str) -> None:
    await conn.execute(
        channel_identities.update()
        .where(channel_identities.c.customer_id == from_id)
        .values(customer_id=to_id)
    )


async def mark_merged(conn: AsyncConnection, customer_id: str, into: str, now: object) -> None:
    await conn.execute(
        customers.update().where(customers.c.id == customer_id).values(merged_into=into, updated_at=now)
    )


async def candidates(conn: AsyncConnection, me: Customer, limit: int = 50) -> list[Customer]:
    """Other live customers sharing an email, a phone or a name with ``me`` (scored by the model)."""
    alike = [sa.func.lower(customers.c.display_name) == me.display_name.strip().lower()]
    if me.email:
        alike.append(customers.c.email == me.email)
    if me.phone:
        alike.append(customers.c.phone == me.phone)
    rows = await conn.execute(
        sa.select(customers)
        .where(sa.or_(*alike), customers.c.id != me.id, customers.c.merged_into.is_(None))
        .order_by(customers.c.created_at)
        .limit(limit)
    )
    return [_customer(r) for r in rows]


async def search(conn: AsyncConnection, text: str, limit: int = 50) -> list[Customer]:
    """Live customers whose name, email or phone contains ``text`` (case-insensitive)."""
    plain = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    needle = f"%{plain}%"
    digits = "".join(ch for ch in text if ch.isdigit())
    matches = [
        sa.func.lower(customers.c.display_name).like(needle, escape="\\"),
        sa.func.lower(customers.c.email).like(needle, escape="\\"),
    ]
    if len(digits) >= 4:
        matches.append(customers.c.phone.like(f"%{digits}%"))
    rows = await conn.execute(
        sa.select(customers)
        .where(sa.or_(*matches), customers.c.merged_into.is_(None))
        .order_by(customers.c.display_name, customers.c.id)
        .limit(limit)
    )
    return [_customer(r) for r in rows]


# -- notes -------------------------------------------------------------------------------------------


def _note(row: AnyRow) -> CustomerNote:
    m = row._mapping
    return CustomerNote(
        id=m["id"],
        customer_id=m["customer_id"],
        author_id=m["author_id"],
        author_name=m["author_name"],
        text=m["text"],
        pinned=bool(m["pinned"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        version=m["version"],
    )


async def insert_note(conn: AsyncConnection, note: CustomerNote) -> None:
    await conn.execute(
        customer_notes.insert().values(
            id=note.id,
            customer_id=note.customer_id,
            author_id=note.author_id,
            author_name=note.author_name,
            text=note.text,
            pinned=note.pinned,
            created_at=note.created_at,
            updated_at=note.updated_at,
            version=note.version,
        )
    )


async def update_note(conn: AsyncConnection, note: CustomerNote) -> None:
    await conn.execute(
        customer_notes.update()
        .where(customer_notes.c.id == note.id)
        .values(text=note.text, pinned=note.pinned, updated_at=note.updated_at, version=note.version)
    )


async def delete_note(conn: AsyncConnection, note_id: str) -> None:
    await conn.execute(customer_notes.delete().where(customer_notes.c.id == note_id))


async def get_note(conn: AsyncConnection, note_id: str, *, for_update: bool = False) -> CustomerNote | None:
    query = sa.select(customer_notes).where(customer_notes.c.id == note_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _note(row) if row else None


async def notes_of(conn: AsyncConnection, customer_id: str, limit: int) -> list[CustomerNote]:
    """Pinned first, then newest first."""
    rows = await conn.execute(
        sa.select(customer_notes)
        .where(customer_notes.c.customer_id == customer_id)
        .order_by(customer_notes.c.pinned.desc(), customer_notes.c.created_at.desc(), customer_notes.c.id)
        .limit(limit)
    )
    return [_note(r) for r in rows]


async def move_notes(conn: AsyncConnection, from_id: str, to_id: str) -> None:
    await conn.execute(
        customer_notes.update().where(customer_notes.c.customer_id == from_id).values(customer_id=to_id)
    )
