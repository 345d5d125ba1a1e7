"""Who may do what in the workspace API: one table, every agent-facing route, three callers.

The rule (``web/visibility.py``, docs/API.md "Authorisation"): an agent reads a conversation of one
of their queues, assigned to them or consulted on; supervisors read all. Commands need the caller
on the conversation (holder, consultant, supervisor) and speaking to the customer needs the holder.
A conversation the caller may not read answers 404 like a missing one; one they may read but not
change answers 403. Customer records and cases are shared by all agents; the conversations they
list are filtered by the same rule.

Demo queues: Ben works Support only, Chloé Sales only, Ana both, Sam supervises both. Every chat
here lands in Support, so Ben is the right agent, Chloé the agent of another queue and Ana a
colleague of the same queue who is not on the conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.conftest import Agent, LiveServer, Socket

Clients = dict[str, Any]
Check = Callable[[Any], bool]


@dataclass(frozen=True)
class Row:
    """One route: what the right agent gets, and what an agent of another queue gets (None: the
    route is about the caller's own data or a shared record that any agent may change)."""

    method: str
    path: str
    right: int
    other: int | None = 404
    body: dict[str, Any] | None = None
    #: For routes that answer another queue's agent with 200: what they must (not) see.
    other_sees: Check | None = None
    right_sees: Check | None = None
    right_first: bool = False


async def call(http: httpx.AsyncClient, row: Row, headers: dict[str, str]) -> httpx.Response:
    return await http.request(row.method, row.path, json=row.body, headers=headers)


async def offered(ws: Socket, conversation_id: str) -> str:
    return str((await ws.next("offer.created", conversation_id=conversation_id))["session_id"])


async def held_by(agent: Agent, ws: Socket, customer: Any) -> str:
    session = await offered(ws, customer.conversation_id)
    r = await agent.post(f"/api/v1/offers/{session}/accept")
    assert r.status_code == 200, r.text
    return str(customer.conversation_id)


async def check(server: LiveServer, right: Agent, other: Agent, table: list[Row], wrong: list[str]) -> None:
    """Run each row as nobody, as ``other`` (another queue) and as ``right``; note what differs.
    Rows marked ``right_first`` let the right agent act before the other is refused."""
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        for row in table:
            label = f"{row.method} {row.path}"
            r = await call(anonymous, row, {"Origin": server.origin})
            if r.status_code != 401:
                wrong.append(f"{label}: no credentials gave {r.status_code}")
            callers = [
                (other, row.other, row.other_sees, "another queue's agent"),
                (right, row.right, row.right_sees, "the right agent"),
            ]
            for who, status, sees, name in reversed(callers) if row.right_first else callers:
                if status is None:
                    continue
                r = await call(who.http, row, who.headers())
                if r.status_code != status:
                    wrong.append(f"{label}: {name} got {r.status_code} {r.text[:120]}")
                elif sees is not None and not sees(r.json()):
                    wrong.append(f"{label}: {name} saw {r.text[:200]}")


async def test_every_workspace_route_refuses_outsiders(server: LiveServer, clients: Clients) -> None:
    ben, chloe, sam = [await clients["agent"](n) for n in ("ben", "chloe", "sam")]
    ben_ws, _ = await ben.connect()
    await ben.presence("available")
    await sam.presence("busy")  # a consultant must be signed in, not offline
    queues = {q["name"]: q["id"] for q in (await ben.http.get("/api/v1/queues")).json()}
    start = clients["customer"]

    # C: Lee's chat, held by Ben (read, write, consult, end, close). D: a second one (promote).
    conv = await held_by(ben, ben_ws, await start().start(name="Lee García", queue="Support"))
    second = await held_by(ben, ben_ws, await start().start(name="Kim Lo", queue="Support"))
    customer = (await ben.http.get(f"/api/v1/conversations/{conv}")).json()["customer_id"]
    r = await ben.post("/api/v1/cases", title="Grey blanket", customer_id=customer, conversation_id=conv)
    assert r.status_code == 201, r.text
    case = r.json()["number"]
    c, d = f"/api/v1/conversations/{conv}", f"/api/v1/conversations/{second}"

    def lists_conv(found: Any) -> bool:
        ids = {x.get("id") or x.get("ref_id") or x.get("conversation_id") for x in found}
        return conv in ids

    def not_listing_conv(found: Any) -> bool:
        return not lists_conv(found)

    wrong: list[str] = []
    await check(
        server,
        ben,
        chloe,
        [
            # Reading a conversation.
            Row("GET", c, 200),
            Row("GET", f"{c}/messages", 200),
            Row("GET", f"{c}/notes", 200),
            Row("GET", f"{c}/consults", 200),
            Row("GET", f"{c}/cases", 200),
            Row("GET", f"{c}/attachments", 200),
            Row("GET", f"{c}/disposition", 200),
            # Acting on it.
            Row("POST", f"{c}/messages", 201, body={"text": "Here is the grey one."}),
            Row("POST", f"{c}/typing", 204, body={"is_typing": True}),
            Row("POST", f"{c}/notes", 201, body={"text": "Wants it by Friday."}),
            Row("POST", f"{c}/cases", 201, body={}),
            Row("POST", f"{c}/consults", 201, body={"agent_id": sam.user_id}),
            Row("DELETE", f"{c}/consults/{sam.user_id}", 204),
            Row("POST", f"{d}/consults", 201, body={"agent_id": sam.user_id}),
            Row("POST", f"{d}/consults/{sam.user_id}/promote", 200),
            Row("POST", f"{c}/end", 200),
            Row("POST", f"{c}/close", 200),
            # A queue's pick list: its members (and supervisors) only.
            Row("GET", f"/api/v1/queues/{queues['Support']}/waiting", 200),
            # A case: shared (any agent reads it); its links show only conversations the caller
            # may read.
            Row("GET", f"/api/v1/cases/{case}", 200, other=200),
            Row("GET", f"/api/v1/cases/{case}/notes", 200, other=200),
            Row("GET", f"/api/v1/cases/{case}/history", 200, other=200),
            Row("GET", f"/api/v1/customers/{customer}/cases", 200, other=200),
            Row(
                "GET",
                f"/api/v1/cases/{case}/conversations",
                200,
                other=200,
                other_sees=not_listing_conv,
                right_sees=lists_conv,
            ),
            # The caller's own settings.
            Row("PUT", "/api/v1/me/locale", 204, other=None, body={"locale": "es"}),
        ],
        wrong,
    )

    # Transfer: a new chat Ben holds goes to the Sales queue.
    moved = await held_by(ben, ben_ws, await start().start(name="Ines", queue="Support"))
    body = {"queue_id": queues["Sales"]}
    await check(
        server, ben, chloe, [Row("POST", f"/api/v1/conversations/{moved}/transfer", 200, body=body)], wrong
    )

    # Pick: Ben is busy, so "Lee Garcia" (the same person from another browser) waits; he picks it.
    await ben.presence("busy")
    waiting = await start().start(name="Lee Garcia", visitor_id="other-browser", queue="Support")
    await check(
        server, ben, chloe, [Row("POST", f"/api/v1/conversations/{waiting.conversation_id}/pick", 200)], wrong
    )
    duplicate = (await ben.http.get(f"/api/v1/conversations/{waiting.conversation_id}")).json()["customer_id"]

    # The customer: a shared record; the conversations it shows follow the rule.
    customer_rows = [
        Row("GET", f"/api/v1/customers/{customer}", 200, other=200),
        Row("GET", f"/api/v1/customers/{customer}/notes", 200, other=200),
        Row("GET", f"/api/v1/customers/{customer}/duplicates", 200, other=200),
        Row(
            "GET",
            f"/api/v1/customers/{customer}/timeline",
            200,
            other=200,
            other_sees=not_listing_conv,
            right_sees=lists_conv,
        ),
        Row(
            "GET",
            f"/api/v1/customers/{customer}/conversations",
            200,
            other=200,
            other_sees=not_listing_conv,
            right_sees=lists_conv,
        ),
        Row("GET", f"/api/v1/customers/{customer}/conversations/{conv}/messages", 200),
        Row("POST", f"/api/v1/customers/{customer}/merge", 200, other=None, body={"other_id": duplicate}),
        # Writing to the shared record: any agent (and nobody without credentials).
        Row("PATCH", f"/api/v1/customers/{customer}", 200, other=200, body={"display_name": "Lee García"}),
        Row("POST", f"/api/v1/customers/{customer}/notes", 201, other=201, body={"text": "Prefers chat."}),
    ]
    await check(server, ben, chloe, customer_rows, wrong)

    # An offer is personal: Ben rejects his; another agent is told it was not made to her (403,
    # the routing engine's answer, after Ben's turn: a refused routing command is the last one).
    await ben.presence("available")
    offered_to_ben = await start().start(name="Noor", queue="Support")
    session = await offered(ben_ws, offered_to_ben.conversation_id)
    await check(
        server,
        ben,
        chloe,
        [Row("POST", f"/api/v1/offers/{session}/reject", 204, other=403, right_first=True)],
        wrong,
    )
    # Nor may she accept Ben's offer; he may.
    offered_again = await start().start(name="Omar", queue="Support")
    session = await offered(ben_ws, offered_again.conversation_id)
    await check(server, ben, chloe, [Row("POST", f"/api/v1/offers/{session}/accept", 200, other=403)], wrong)
    assert wrong == [], "\n".join(wrong)

    # The language is stored on the user, and only supported ones are accepted.
    assert (await ben.http.get("/api/v1/me")).json()["locale"] == "es"
    r = await ben.http.put("/api/v1/me/locale", json={"locale": "xx"}, headers=ben.headers())
    assert r.status_code == 422, r.text
    assert (await ben.http.get("/api/v1/me")).json()["locale"] == "es"


async def test_colleagues_read_and_consultants_only_write_notes(server: LiveServer, clients: Clients) -> None:
    ben, ana, sam = [await clients["agent"](n) for n in ("ben", "ana", "sam")]
    ben_ws, _ = await ben.connect()
    await ben.presence("available")
    conv = await held_by(ben, ben_ws, await clients["customer"]().start(name="Lee", queue="Support"))
    c = f"/api/v1/conversations/{conv}"

    # Ana works Support too: she may read Ben's chat, not act on it (403: she can see it exists).
    assert (await ana.http.get(c)).status_code == 200
    assert (await ana.http.get(f"{c}/messages")).status_code == 200
    for path, body in (
        ("messages", {"text": "Hi"}),
        ("typing", {"is_typing": True}),
        ("notes", {"text": "FYI"}),
        ("end", None),
    ):
        r = await ana.http.post(f"{c}/{path}", json=body, headers=ana.headers())
        assert r.status_code == 403, (path, r.text)
    # Waiting work of her queue is hers to read (the pick list shows it; opening it works too).
    waiting = await clients["customer"]().start(name="Kim", queue="Support")
    listed = (
        await ana.http.get(f"/api/v1/queues/{(await ben.http.get(c)).json()['queue_id']}/waiting")
    ).json()
    assert waiting.conversation_id in {x["id"] for x in listed}
    assert (await ana.http.get(f"/api/v1/conversations/{waiting.conversation_id}")).status_code == 200

    # Ben asks Ana to consult: she reads and writes notes, but neither types nor replies.
    await ana.presence("busy")
    assert (await ben.post(f"{c}/consults", agent_id=ana.user_id)).status_code == 201
    assert (await ana.post(f"{c}/notes", text="Offer free delivery.")).status_code == 201
    r = await ana.post(f"{c}/typing", is_typing=True)
    assert r.status_code == 403, r.text
    assert "consultants" in r.json()["detail"]
    assert (await ana.post(f"{c}/messages", text="Hi")).status_code == 403
    ana_ws, snapshot = await ana.connect()
    assert conv in {x["id"] for x in snapshot["consulting"]}
    await ana_ws.send({"type": "typing", "conversation_id": conv, "is_typing": True})
    refused = await ana_ws.next("error")
    assert "holder" in refused["detail"]
    # A supervisor is never refused: Sam may type and reply without being on it.
    assert (await sam.post(f"{c}/typing", is_typing=True)).status_code == 204
