"""Tables and queries for customers and channel identities."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime
from omniroute.customers.model import ChannelIdentity, Customer

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(254), nullable=True, index=True),
    sa.Column("phone", sa.String(40), nullable=True, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
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


def _customer(row: AnyRow) -> Customer:
    m = row._mapping
    return Customer(
        id=m["id"],
        display_name=m["display_name"],
        created_at=m["created_at"],
        email=m["email"],
        phone=m["phone"],
    )


async def insert_customer(conn: AsyncConnection, customer: Customer) -> None:
    await conn.execute(
        customers.insert().values(
            id=customer.id,
            display_name=customer.display_name,
            email=customer.email,
            phone=customer.phone,
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
