"""After the chat and outside hours: CSAT, transcripts (download and email), the offline form, and
the widget tables on both stores."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from omniroute.channels.webchat import store as webchat_store
from omniroute.channels.webchat.model import CsatResponse, Widget
from omniroute.conversations import store as conversations_store
from omniroute.conversations.model import Conversation, ConversationState
from omniroute.core.clock import ManualClock
from omniroute.core.db import Database
from omniroute.core.eventlog import read_events
from omniroute.core.migrations import upgrade_async
from omniroute.customers import store as customers_store
from omniroute.customers.model import Customer
from omniroute.routing import store as routing_store
from omniroute.routing.store import Queue
from tests.e2e.channels.email.conftest import (
    WEBHOOK_SECRET,
    SmtpPeer,
    SmtpSink,
    account_settings,
    smtp_controller,
)
from tests.e2e.conftest import LiveServer, routing_settled
from tests.e2e.test_webchat_widget import bearer, configure, start_chat, widget_url

Clients = dict[str, Any]


async def ended_chat(http: httpx.AsyncClient, server: LiveServer, **body: Any) -> tuple[str, str]:
    """A chat the customer started and ended (the queue had no agent): (token, conversation id)."""
    r = await start_chat(http, server, **body)
    assert r.status_code == 201, r.text
    token, conversation_id = r.json()["token"], r.json()["conversation"]["id"]
    ended = await http.post(widget_url(server, "/conversation/end"), headers=bearer(server, token))
    assert ended.json()["state"] == "closed"
    return token, conversation_id


# -- CSAT -------------------------------------------------------------------------------------


async def test_csat_once_per_ended_chat_and_reported_per_queue(server: LiveServer, clients: Clients) -> None:
    sam, ana = await clients["agent"]("sam"), await clients["agent"]("ana")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        live = await start_chat(http, server)
        live_token = live.json()["token"]
        early = await http.post(
            widget_url(server, "/conversation/csat"), json={"rating": 5}, headers=bearer(server, live_token)
        )
        assert (early.status_code, early.json()["detail"]) == (409, "a chat is rated once it has ended")

        token, first_id = await ended_chat(http, server)
        out_of_range = await http.post(
            widget_url(server, "/conversation/csat"), json={"rating": 6}, headers=bearer(server, token)
        )
        assert out_of_range.status_code == 422
        rated = await http.post(
            widget_url(server, "/conversation/csat"),
            json={"rating": 4, "comment": "Quick, thanks. Card 4111111111111111"},
            headers=bearer(server, token),
        )
        assert rated.status_code == 201, rated.text
        assert rated.json()["comment"] == "Quick, thanks. Card ************1111"
        again = await http.post(
            widget_url(server, "/conversation/csat"), json={"rating": 1}, headers=bearer(server, token)
        )
        assert again.status_code == 200
        assert again.json()["rating"] == 4  # the first answer stands

        await server.clock.advance(3600)
        token2, _ = await ended_chat(http, server, queue="Support")
        r = await http.post(
            widget_url(server, "/conversation/csat"), json={"rating": 2}, headers=bearer(server, token2)
        )
        assert r.status_code == 201
        token3, _ = await ended_chat(http, server)
        r = await http.post(
            widget_url(server, "/conversation/csat"), json={"rating": 5}, headers=bearer(server, token3)
        )
        assert r.status_code == 201

    async with server.container.db.read() as conn:
        events = await read_events(conn, conversation_id=first_id)
    submitted = [e for e in events if e["type"] == "webchat.csat_submitted"]
    assert len(submitted) == 1
    assert (submitted[0]["rating"], submitted[0]["queue_id"]) == (
        4,
        rated.json() and submitted[0]["queue_id"],
    )

    assert (await ana.http.get("/api/v1/admin/csat")).status_code == 403
    listed = (await sam.http.get("/api/v1/admin/csat")).json()
    assert [r["rating"] for r in listed] == [5, 2, 4]  # newest first
    summary = (await sam.http.get("/api/v1/admin/csat/summary")).json()
    assert (summary["responses"], summary["average"]) == (3, 3.67)
    by_name = {q["queue_name"]: q for q in summary["queues"]}
    assert by_name["Sales"]["responses"] == 2
    assert by_name["Sales"]["average"] == 4.5
    assert by_name["Sales"]["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert by_name["Support"]["average"] == 2.0
    assert submitted[0]["queue_id"] == by_name["Sales"]["queue_id"]

    # A period: only the answers from the last half hour.
    since = (server.clock.now() - timedelta(minutes=30)).isoformat()
    recent = (await sam.http.get("/api/v1/admin/csat/summary", params={"since": since})).json()
    assert recent["responses"] == 2
    sales_id = by_name["Sales"]["queue_id"]
    only_sales = (
        await sam.http.get("/api/v1/admin/csat", params={"queue_id": sales_id, "since": since})
    ).json()
    assert [r["rating"] for r in only_sales] == [5]
    naive = await sam.http.get("/api/v1/admin/csat/summary", params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422


async def test_csat_can_be_turned_off(server: LiveServer, clients: Clients) -> None:
    await configure(clients, server, {"csat": {"enabled": False}})
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        token, _ = await ended_chat(http, server)
        r = await http.post(
            widget_url(server, "/conversation/csat"), json={"rating": 3}, headers=bearer(server, token)
        )
    assert (r.status_code, r.json()["detail"]) == (409, "this widget does not ask for ratings")


# -- transcripts ------------------------------------------------------------------------------


async def test_transcript_downloads_as_text_and_html(server: LiveServer, clients: Clients) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await start_chat(http, server, question="<b>Is this bold?</b>")
        token = r.json()["token"]
        text = await http.get(widget_url(server, "/conversation/transcript"), headers=bearer(server, token))
        page = await http.get(
            widget_url(server, "/conversation/transcript"),
            params={"format": "html", "lang": "es"},
            headers=bearer(server, token),
        )
        bad = await http.get(
            widget_url(server, "/conversation/transcript"),
            params={"format": "pdf"},
            headers=bearer(server, token),
        )
        anonymous = await http.get(
            widget_url(server, "/conversation/transcript"), headers={"Origin": server.origin}
        )
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert text.headers["content-disposition"].startswith('attachment; filename="chat-transcript-')
    assert "Lee: <b>Is this bold?</b>" in text.text
    assert text.text.startswith("Chat transcript\n")
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Transcripción del chat</h1>" in page.text
    assert "&lt;b&gt;Is this bold?&lt;/b&gt;" in page.text
    assert bad.status_code == 422
    assert anonymous.status_code == 401


async def test_transcript_email_needs_an_email_account(server: LiveServer, clients: Clients) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        token = (await start_chat(http, server)).json()["token"]
        r = await http.post(
            widget_url(server, "/conversation/transcript/email"), json={}, headers=bearer(server, token)
        )
    assert r.status_code == 409
    assert r.json()["detail"] == "transcripts cannot be emailed: no email account is configured"


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    yield from smtp_controller(SmtpSink())


async def test_transcript_email_goes_through_the_email_outbox(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    admin = await clients["agent"]("admin")
    account = await admin.post(
        "/api/v1/admin/channel-accounts",
        channel="email",
        name="Transcripts",
        settings=account_settings(smtp.port),
        secrets={"webhook_secret": WEBHOOK_SECRET},
    )
    assert account.status_code == 201, account.text
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        config = (await http.get(widget_url(server, "/config"))).json()
        assert config["transcript"]["email"] is True
        token, _ = await ended_chat(http, server, question="Where is order 1042?")
        bad = await http.post(
            widget_url(server, "/conversation/transcript/email"),
            json={"email": "nope"},
            headers=bearer(server, token),
        )
        assert bad.status_code == 422
        sent = await http.post(
            widget_url(server, "/conversation/transcript/email"), json={}, headers=bearer(server, token)
        )
        assert sent.status_code == 202, sent.text
        assert sent.json() == {"email": "lee@example.com"}
        repeat = await http.post(
            widget_url(server, "/conversation/transcript/email"), json={}, headers=bearer(server, token)
        )
        assert repeat.status_code == 202
        async with asyncio.timeout(10):  # a hang guard, not a timing assertion
            while not smtp.sink.messages:
                await server.container.channels.run_once()
                await asyncio.sleep(0.05)
        conversation = (
            await http.get(widget_url(server, "/conversation"), headers=bearer(server, token))
        ).json()
    assert len(smtp.sink.messages) == 1  # the repeat (nothing new said) queued nothing
    mail = smtp.sink.parsed()
    assert mail["To"] == "lee@example.com"
    assert "Chat transcript" in str(mail["Subject"])
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Lee: Where is order 1042?" in body.get_content()
    notes = [m for m in conversation["messages"] if m["text"].startswith("We are sending the transcript")]
    assert len(notes) == 1
    await routing_settled(server)


# -- the offline form -------------------------------------------------------------------------

CLOSED_TODAY = {  # the live server's clock starts on Monday 2026-01-05
    "queues": [
        {
            "queue": "Sales",
            "operating_hours": {"timezone": "UTC", "weekly": {"sat": [{"start": "09:00", "end": "13:00"}]}},
        }
    ]
}


async def test_closed_queue_means_offline_form_and_a_follow_up_conversation(
    server: LiveServer, clients: Clients
) -> None:
    admin = await clients["agent"]("admin")
    r = await admin.http.put(
        "/api/v1/admin/routing-config", json={"config": CLOSED_TODAY}, headers=admin.headers()
    )
    assert r.status_code == 200, r.text
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        config = (await http.get(widget_url(server, "/config"))).json()
        assert config["availability"] == {"open": False, "next_opening": "2026-01-10T09:00:00Z"}
        assert config["offline"] == {"enabled": True}
        bad = await http.post(
            widget_url(server, "/offline-messages"),
            json={"name": "", "email": "x", "message": ""},
            headers={"Origin": server.origin},
        )
        assert bad.status_code == 422
        assert bad.json()["detail"] == "name is required; email is not valid; message is required"
        r = await http.post(
            widget_url(server, "/offline-messages"),
            json={
                "name": "Lee",
                "email": "Lee@Example.com",
                "message": "Call me about 4111111111111111",
                "visitor_id": "v-9",
                "language": "es",
            },
            headers={"Origin": server.origin},
        )
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]
    conv = await server.container.conversations.get(reference)
    assert conv.state.value == "open"  # waiting in the queue for follow-up, not ended by overflow
    assert conv.prechat["offline"] == "yes"
    assert conv.prechat["email"] == "lee@example.com"
    assert conv.prechat["language"] == "es"
    messages = await server.container.conversations.messages(reference)
    assert [m.text for m in messages] == ["Call me about ************1111"]
    await routing_settled(server)
    async with server.container.db.read() as conn:
        events = await read_events(conn, conversation_id=reference)
    assert "webchat.offline_message_left" in [e["type"] for e in events]

    await configure(clients, server, {"offline": {"enabled": False}})
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        off = await http.post(
            widget_url(server, "/offline-messages"),
            json={"name": "Lee", "email": "lee@example.com", "message": "hi"},
            headers={"Origin": server.origin},
        )
    assert off.status_code == 409


# -- the tables on SQLite and PostgreSQL --------------------------------------------------------


async def test_widget_settings_and_csat_tables_on_both_stores(database_url: str) -> None:
    await upgrade_async(database_url)
    db = Database(database_url)
    now = ManualClock().now()
    widget = Widget("w-1", "Site", "pk_store_test", ("*",), None)
    try:
        async with db.write() as conn:
            await webchat_store.insert_widget(conn, widget, now)
            await webchat_store.save_settings(conn, widget.id, now, None, document={"language": "es"})
            await webchat_store.save_settings(conn, widget.id, now, None, identity_secret="sealed")
        async with db.read() as conn:
            found = await webchat_store.get_widget_by_key(conn, "pk_store_test")
            summary = await webchat_store.summarise_csat(conn, queue_id=None, since=None, until=None)
        assert found is not None
        assert (found.settings.language, found.identity_secret) == ("es", "sealed")
        assert summary == []
        async with db.write() as conn:
            await routing_store.insert_queue(conn, Queue("q-1", "Q", "", is_default=True), now)
            await customers_store.insert_customer(conn, Customer("cu-1", "Lee", now))
            conv = Conversation("c-1", "webchat", "cu-1", "q-1", ConversationState.CLOSED, now, now)
            await conversations_store.insert_conversation(conn, conv, None)
            await webchat_store.insert_csat(conn, CsatResponse("c-1", "w-1", "q-1", None, 4, "", now))
        async with db.read() as conn:
            summary = await webchat_store.summarise_csat(conn, queue_id="q-1", since=now, until=None)
            before = await webchat_store.list_csat(conn, queue_id=None, since=None, until=now, limit=10)
            stored = await webchat_store.get_csat(conn, "c-1")
        assert [(s.responses, s.average, s.distribution[4]) for s in summary] == [(1, 4.0, 1)]
        assert before == []  # until is exclusive
        assert stored is not None
        assert stored.rating == 4
    finally:
        await db.dispose()
