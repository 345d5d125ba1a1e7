"""The CSAT queries behind the supervisors' report, on SQLite and PostgreSQL: the queue, agent and
widget filters, the period's ends, comments only, and the order ties are broken in."""

from __future__ import annotations

from datetime import timedelta

from omniroute.channels.webchat import store as webchat_store
from omniroute.channels.webchat.model import CsatResponse, Widget
from omniroute.conversations import store as conversations_store
from omniroute.conversations.model import Conversation, ConversationState
from omniroute.core.clock import ManualClock
from omniroute.core.db import Database
from omniroute.customers import store as customers_store
from omniroute.customers.model import Customer
from omniroute.routing import store as routing_store
from omniroute.routing.store import Queue

NOW = ManualClock().now()
#: conversation, widget, queue, agent, rating, comment, minutes after NOW
RATINGS = [
    ("c-1", "w-1", "q-1", "u-1", 5, "Great", 0),
    ("c-2", "w-1", "q-1", None, 3, "", 0),  # the same second as c-1
    ("c-3", "w-2", "q-2", "u-1", 2, "Slow", 30),
    ("c-4", "w-1", "q-2", "u-2", 4, "", 60),
]


async def fill(db: Database) -> None:
    async with db.write() as conn:
        await customers_store.insert_customer(conn, Customer("cu-1", "Lee", NOW))
        for queue in ("q-1", "q-2"):
            await routing_store.insert_queue(conn, Queue(queue, queue, "", is_default=queue == "q-1"), NOW)
        for widget in ("w-1", "w-2"):
            await webchat_store.insert_widget(conn, Widget(widget, widget, f"pk_{widget}", ("*",), None), NOW)
        for conv, widget, queue, agent, rating, comment, minutes in RATINGS:
            at = NOW + timedelta(minutes=minutes)
            closed = Conversation(conv, "webchat", "cu-1", queue, ConversationState.CLOSED, at, at)
            await conversations_store.insert_conversation(conn, closed, None)
            await webchat_store.insert_csat(
                conn, CsatResponse(conv, widget, queue, agent, rating, comment, at)
            )


async def test_filters_periods_comments_and_order(database_url: str) -> None:
    db = Database(database_url)
    try:
        await fill(db)
        everything = {"queue_id": None, "since": None, "until": None, "agent_id": None, "widget_id": None}
        async with db.read() as conn:
            listed = await webchat_store.list_csat(conn, **everything, limit=None)
            by_agent = await webchat_store.list_csat(conn, **{**everything, "agent_id": "u-1"}, limit=None)
            by_widget = await webchat_store.list_csat(conn, **{**everything, "widget_id": "w-2"}, limit=None)
            commented = await webchat_store.list_csat(conn, **everything, limit=1, with_comment=True)
            ratings = await webchat_store.csat_ratings(
                conn,
                **{**everything, "since": NOW, "until": NOW + timedelta(minutes=60), "queue_id": "q-2"},
            )
            summary = await webchat_store.summarise_csat(conn, **{**everything, "agent_id": "u-1"})
        # Newest first; c-1 and c-2 share a second, so the id decides, the same on both stores.
        assert [r.conversation_id for r in listed] == ["c-4", "c-3", "c-2", "c-1"]
        assert [r.conversation_id for r in by_agent] == ["c-3", "c-1"]
        assert [r.conversation_id for r in by_widget] == ["c-3"]
        assert [r.conversation_id for r in commented] == ["c-3"]
        assert ratings == [(NOW + timedelta(minutes=30), 2)]  # until is exclusive: c-4 is out
        assert [(s.queue_id, s.responses, s.average) for s in summary] == [("q-1", 1, 5.0), ("q-2", 1, 2.0)]
    finally:
        await db.dispose()
