"""Bots and people over HTTP: a transfer never leaves the bot and a person both answering (409,
then a supervisor takes the chat from the bot with its context), the widget learns who answers and
which quick replies the bot waits for, and supervisors read bot analytics per bot and per day.

The server is bootstrap's own app with the demo bot installed (lexical embedder: training takes
milliseconds) and placed on the web chat workstream, so chats start through the real widget API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.demo_bot import put_demo_bot_on_webchat
from tests.e2e.conftest import Agent, Customer, LiveServer, demo_server

GUARD = 10.0


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with demo_server(tmp_path, put_demo_bot_on_webchat) as server:
        yield server


async def person(live: LiveServer, name: str) -> Agent:
    return await Agent(
        live, f"{name}@demo.omniroute.dev", httpx.AsyncClient(base_url=live.base_url)
    ).sign_in()


async def chat(live: LiveServer, question: str) -> Customer:
    return await Customer(live, httpx.AsyncClient(base_url=live.base_url)).start(question=question)


async def lines(customer: Customer, count: int, kind: str = "bot") -> list[str]:
    """The customer's view of the ``kind`` messages, once there are ``count``."""
    async with asyncio.timeout(GUARD):
        while True:
            r = await customer.http.get(f"{customer.prefix}/conversation", headers=customer.headers())
            assert r.status_code == 200, r.text
            found = [m["text"] for m in r.json()["messages"] if m["sender_kind"] == kind]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)


async def bot_view(customer: Customer) -> dict[str, Any]:
    r = await customer.http.get(f"{customer.prefix}/conversation/bot", headers=customer.headers())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_transfer_of_a_bot_held_chat_is_refused_and_a_supervisor_takes_it_over(
    live: LiveServer,
) -> None:
    sam, ana = await person(live, "sam"), await person(live, "ana")
    lee = await chat(live, "What are your opening hours?")
    try:
        await lines(lee, 2)
        queues = {q["name"]: q["id"] for q in (await sam.http.get("/api/v1/queues")).json()}
        refused = await sam.post(
            f"/api/v1/conversations/{lee.conversation_id}/transfer", queue_id=queues["Sales"]
        )
        assert refused.status_code == 409, refused.text
        assert "still holds this conversation" in refused.json()["detail"]
        assert f"/api/v1/conversations/{lee.conversation_id}/bot/handoff" in refused.json()["detail"]
        consult = await sam.post(
            f"/api/v1/conversations/{lee.conversation_id}/consults", agent_id=ana.user_id
        )
        assert consult.status_code == 409, consult.text
        held = (await sam.http.get(f"/api/v1/conversations/{lee.conversation_id}/bot")).json()
        assert held["status"] == "active", "the refused transfer left the bot in charge"
        assert (await sam.http.get(f"/api/v1/conversations/{lee.conversation_id}")).json()[
            "state"
        ] == "active"

        # Nobody but a supervisor takes a chat from the bot, and only with the CSRF header.
        path = f"/api/v1/conversations/{lee.conversation_id}/bot/handoff"
        assert (await ana.post(path)).status_code in (403, 404)
        assert (await sam.http.post(path, json={})).status_code == 403
        bad_queue = await sam.post(path, queue="Nowhere")
        assert bad_queue.status_code == 422
        assert "Nowhere" in bad_queue.json()["detail"]

        await ana.presence("available")
        socket, _ = await ana.connect()
        taken = await sam.post(path, queue="Sales")
        assert taken.status_code == 200, taken.text
        session = taken.json()
        assert (session["status"], session["outcome"], session["reason"]) == (
            "handed_off",
            "escalated",
            "supervisor",
        )
        assert session["context"]["taken_over_by"] == sam.user_id
        assert session["context"]["reason_text"] == "a supervisor took the conversation from the bot"
        assert session["context"]["last_topic"] == "opening_hours"
        said = await lines(lee, 3)
        assert said[-1].startswith("A person from our team is taking over this chat.")
        assert not (await bot_view(lee))["holding"]
        again = await sam.post(path)
        assert again.status_code == 409, "the bot no longer holds it"

        offer = await socket.next("offer.created", conversation_id=lee.conversation_id)
        accepted = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
        assert accepted.status_code == 200, accepted.text
        conv = (await ana.http.get(f"/api/v1/conversations/{lee.conversation_id}")).json()
        assert conv["queue_id"] == queues["Sales"]
        # With a person holding it, transfers work as usual again.
        moved = await ana.post(
            f"/api/v1/conversations/{lee.conversation_id}/transfer", queue_id=queues["Sales"]
        )
        assert moved.status_code == 200, moved.text
        await socket.close()
    finally:
        for client in (sam.http, ana.http, lee.http):
            await client.aclose()


async def test_the_widget_learns_the_bot_name_and_its_quick_replies(live: LiveServer) -> None:
    lee = await chat(live, "I lost my card")
    other = await chat(live, "hello")
    try:
        said = await lines(lee, 2)
        assert said[-1].endswith("Was it your debit card or your credit card?")
        view = await bot_view(lee)
        assert view == {"holding": True, "name": "Assistant", "choices": ["debit", "credit"]}
        r = await lee.say("credit", "k1")
        assert r.status_code == 201, r.text
        await lines(lee, 3)
        assert (await bot_view(lee))["choices"] == [], "the last 4 digits are free text"
        # The token decides whose chat it is: the other customer's bot offered a person.
        assert (await lines(other, 2))[-1].endswith("Would you like to talk to a person?")
        assert (await bot_view(other))["choices"] == ["Yes", "No"]
        assert (await other.say("Yes", "k2")).status_code == 201, "a tapped quick reply is a message"
        async with asyncio.timeout(GUARD):
            while True:
                if not (await bot_view(other))["holding"]:
                    break
                await asyncio.sleep(0.05)
        session = await live.container.bots.session(other.conversation_id)
        assert session is not None
        assert (session.status, session.reason) == ("handed_off", "no_answer")
        anonymous = await lee.http.get(f"{lee.prefix}/conversation/bot", headers={"Origin": live.origin})
        assert anonymous.status_code == 401
    finally:
        await lee.http.aclose()
        await other.http.aclose()


async def test_supervisors_read_bot_analytics_per_bot_and_per_day(live: LiveServer) -> None:
    day_one = live.clock.now()
    resolved = await chat(live, "what are your opening hours")
    escalated: Customer | None = None
    people: list[Agent] = []
    try:
        await lines(resolved, 2)
        await resolved.say("thanks, that's all")
        await lines(resolved, 3)
        rated = await resolved.http.post(
            f"{resolved.prefix}/conversation/csat", json={"rating": 5}, headers=resolved.headers()
        )
        assert rated.status_code == 201, rated.text
        await live.clock.advance(timedelta(days=1).total_seconds())
        day_two = live.clock.now()
        sam, ana = await person(live, "sam"), await person(live, "ana")  # signed in after a day
        people += [sam, ana]
        escalated = await chat(live, "I want to talk to an agent")
        await lines(escalated, 1)
        async with asyncio.timeout(GUARD):
            while True:
                r = await sam.http.get(f"/api/v1/conversations/{escalated.conversation_id}/bot")
                assert r.status_code == 200, r.text
                if r.json()["status"] != "active":
                    break
                await asyncio.sleep(0.05)

        every = (await sam.http.get("/api/v1/bots/analytics")).json()
        assert (every["sessions"], every["resolved"], every["escalated"], every["active"]) == (2, 1, 1, 0)
        assert every["containment_rate"] == 0.5
        assert every["escalation_reasons"] == {"requested": 1}
        assert (every["csat_responses"], every["csat_average"]) == (1, 5.0)
        assert list(every["by_bot"]) == ["banking"]
        assert every["by_bot"]["banking"]["sessions"] == 2
        days = every["by_day"]
        assert list(days) == [day_one.date().isoformat(), day_two.date().isoformat()]
        assert (
            days[day_one.date().isoformat()]["resolved"],
            days[day_two.date().isoformat()]["escalated"],
        ) == (1, 1)

        second = (await sam.http.get("/api/v1/bots/analytics", params={"since": day_two.isoformat()})).json()
        assert (second["sessions"], second["escalated"], second["csat_responses"]) == (1, 1, 0)
        first = (await sam.http.get("/api/v1/bots/analytics", params={"until": day_two.isoformat()})).json()
        assert (first["sessions"], first["resolved"], first["containment_rate"]) == (1, 1, 1.0)
        other = (await sam.http.get("/api/v1/bots/analytics", params={"bot_id": "other"})).json()
        assert (other["sessions"], other["by_bot"], other["containment_rate"]) == (0, {}, None)
        backwards = await sam.http.get(
            "/api/v1/bots/analytics", params={"since": day_two.isoformat(), "until": day_one.isoformat()}
        )
        assert backwards.status_code == 422
        assert (await ana.http.get("/api/v1/bots/analytics")).status_code == 403
    finally:
        for client in (resolved.http, *(p.http for p in people), *((escalated.http,) if escalated else ())):
            await client.aclose()
