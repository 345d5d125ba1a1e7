"""Customer commands. Called by channels inside their unit of work."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.ids import new_id
from omniroute.core.uow import UnitOfWork
from omniroute.customers import store
from omniroute.customers.model import ChannelIdentity, Customer


async def resolve_customer(
    uow: UnitOfWork, channel: str, address: str, display_name: str, email: str | None = None
) -> Customer:
    """The customer behind ``address`` on ``channel``, created on first contact.

    Cross-channel matching and merging (same verified email or phone) belongs to the channels issue.
    """
    now = uow.clock.now()
    identity = await store.find_identity(uow.conn, channel, address)
    if identity is not None:
        await store.update_contact(uow.conn, identity.customer_id, display_name, email, now)
        customer = await store.get_customer(uow.conn, identity.customer_id)
        assert customer is not None  # guarded by the foreign key
        return customer
    customer = Customer(id=new_id(), display_name=display_name, created_at=now, email=email)
    try:
        async with uow.conn.begin_nested():
            await store.insert_customer(uow.conn, customer)
            await store.insert_identity(
                uow.conn, ChannelIdentity(new_id(), customer.id, channel, address), now
            )
    except IntegrityError:
        # The same address arrived twice at once; the unique index picked the first customer.
        return await resolve_customer(uow, channel, address, display_name, email)
    return customer


async def get_customer(conn: AsyncConnection, customer_id: str) -> Customer | None:
    return await store.get_customer(conn, customer_id)
