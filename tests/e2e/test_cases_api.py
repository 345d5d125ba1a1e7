"""Cases over HTTP: create from a conversation, list with filters, edit with versions, resolve,
links, notes, history, and who may do what."""

from __future__ import annotations

from typing import Any

import httpx

from omniroute.identity.model import Scope
from tests.e2e.conftest import Agent, Customer, LiveServer

Clients = dict[str, Any]


async def chat_with(agent: Agent, customer: Customer, question: str) -> str:
    ws, _ = await agent.connect()
    await agent.presence("available")
    await customer.start(question=question)
    offer = await ws.next("offer.created", conversation_id=customer.conversation_id)
    r = await agent.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert r.status_code == 200, r.text
    return customer.conversation_id


async def new_case(agent: Agent, customer_id: str, **body: Any) -> dict[str, Any]:
    r = await agent.post("/api/v1/cases", **{"title": "Parcel lost", "customer_id": customer_id, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_create_a_case_from_a_chat_and_resolve_it(server: LiveServer, clients: Clients) -> None:
    ana, lee = await clients["agent"]("ana"), clients["customer"]()
    conv_id = await chat_with(ana, lee, "  My parcel never arrived ")
    assert (await lee.say("Order 42, due Monday")).status_code == 201

    r = await ana.post(f"/api/v1/conversations/{conv_id}/cases", client_request_id="make-case-1")
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["number"] == "CAS-000001"
    assert case["title"] == "My parcel never arrived"
    assert case["description"] == "My parcel never arrived\n\nOrder 42, due Monday"
    assert (case["status"], case["priority"], case["owner_id"]) == ("new", "normal", ana.user_id)
    assert case["sla_state"] == "running"
    assert case["next_statuses"] == ["active", "on_hold", "resolved", "cancelled"]
    again = await ana.post(f"/api/v1/conversations/{conv_id}/cases", client_request_id="make-case-1")
    assert again.status_code == 200
    assert again.json()["id"] == case["id"]

    linked = (await ana.http.get(f"/api/v1/conversations/{conv_id}/cases")).json()
    assert [x["id"] for x in linked] == [case["id"]]
    mine = (await ana.http.get(f"/api/v1/customers/{case['customer_id']}/cases")).json()
    assert [x["number"] for x in mine] == ["CAS-000001"]

    r = await ana.http.patch(
        "/api/v1/cases/CAS-000001",
        json={"status": "active", "priority": "high", "expected_version": 1},
        headers=ana.headers(),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["version"]) == ("active", 2)
    r = await ana.post(
        f"/api/v1/cases/{case['id']}/resolve",
        resolution="Sent a replacement",
        resolution_type="solved",
        expected_version=2,
    )
    assert r.status_code == 200, r.text
    resolved = r.json()
    assert (resolved["status"], resolved["sla_state"], resolved["next_statuses"]) == (
        "resolved",
        "met",
        ["active"],
    )
    history = (await ana.http.get(f"/api/v1/cases/{case['id']}/history")).json()
    assert [h["type"] for h in history] == ["case.created", "case.linked", "case.updated", "case.resolved"]
    assert history[2]["details"]["changes"]["status"] == {"from": "new", "to": "active"}


async def test_stale_versions_and_illegal_transitions_are_409(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    customer_id = await customer_of_a_chat(clients)
    case = await new_case(ana, customer_id)
    url = f"/api/v1/cases/{case['id']}"

    assert (await ana.http.patch(url, json={"title": "v2"}, headers=ana.headers())).status_code == 200
    stale = await ana.http.patch(url, json={"title": "v3", "expected_version": 1}, headers=ana.headers())
    assert stale.status_code == 409
    assert "changed meanwhile (now version 2" in stale.json()["detail"]

    assert (await ana.post(f"{url}/cancel", reason="duplicate")).status_code == 200
    r = await ana.post(f"{url}/reopen")
    assert r.status_code == 409
    assert "cancelled case cannot change" in r.json()["detail"]
    r = await ana.http.patch(url, json={"status": "active"}, headers=ana.headers())
    assert r.status_code == 409
    other = await new_case(ana, customer_id)
    r = await ana.post(f"/api/v1/cases/{other['id']}/reopen")
    assert r.status_code == 409
    assert "only a resolved case can be reopened" in r.json()["detail"]


async def customer_of_a_chat(clients: Clients) -> str:
    """A customer exists once they start a chat (nobody needs to answer it)."""
    lee = await clients["customer"]().start()
    ana = await clients["agent"]("sam")  # a supervisor sees every conversation
    r = await ana.http.get(f"/api/v1/conversations/{lee.conversation_id}")
    assert r.status_code == 200, r.text
    return str(r.json()["customer_id"])


async def test_who_may_edit(server: LiveServer, clients: Clients) -> None:
    ana, ben, sam = (
        await clients["agent"]("ana"),
        await clients["agent"]("ben"),
        await clients["agent"]("sam"),
    )
    customer_id = await customer_of_a_chat(clients)
    anas = await new_case(ana, customer_id)
    url = f"/api/v1/cases/{anas['id']}"

    # Everyone reads; Ben may not change Ana's case, the supervisor may.
    assert (await ben.http.get(url)).status_code == 200
    r = await ben.http.patch(url, json={"priority": "urgent"}, headers=ben.headers())
    assert r.status_code == 403
    assert "agents may edit cases they own" in r.json()["detail"]
    assert (await ben.post(f"{url}/notes", text="+1")).status_code == 403
    assert (await ben.post(f"{url}/resolve", resolution="x", resolution_type="solved")).status_code == 403
    r = await sam.http.patch(url, json={"owner_id": None}, headers=sam.headers())
    assert r.status_code == 200
    assert r.json()["owner_id"] is None
    # Unowned now: any agent may pick it up.
    r = await ben.http.patch(url, json={"owner_id": ben.user_id}, headers=ben.headers())
    assert r.status_code == 200
    assert r.json()["owner_id"] == ben.user_id

    # Ben cannot make a case from, or link a case to, a conversation he does not hold.
    lee = clients["customer"]()
    conv_id = await chat_with(ana, lee, "hello")
    assert (await ben.post(f"/api/v1/conversations/{conv_id}/cases")).status_code == 404
    assert (await ben.http.get(f"/api/v1/conversations/{conv_id}/cases")).status_code == 404
    r = await ben.http.put(f"{url}/conversations/{conv_id}", headers=ben.headers())
    assert r.status_code == 404
    # Ana links Ben's case to her chat: now she may work on it too. Linking twice changes nothing.
    r = await ana.http.put(f"{url}/conversations/{conv_id}", headers=ana.headers())
    assert (r.status_code, r.json()["changed"]) == (200, True)
    r = await ana.http.put(f"{url}/conversations/{conv_id}", headers=ana.headers())
    assert (r.status_code, r.json()["changed"]) == (200, False)
    assert (await ana.post(f"{url}/notes", text="customer called again")).status_code == 201
    notes = (await ben.http.get(f"{url}/notes")).json()
    assert [(n["author_name"], n["text"]) for n in notes] == [("Ana García", "customer called again")]
    links = (await ben.http.get(f"{url}/conversations")).json()
    assert links == []  # a Sales chat: links show only conversations the caller may read
    links = (await ana.http.get(f"{url}/conversations")).json()
    assert [x["conversation_id"] for x in links] == [conv_id]
    r = await ana.http.delete(f"{url}/conversations/{conv_id}", headers=ana.headers())
    assert (r.status_code, r.json()["changed"]) == (200, True)
    r = await ana.http.delete(f"{url}/conversations/{conv_id}", headers=ana.headers())
    assert (r.status_code, r.json()["changed"]) == (200, False)


async def test_authentication_csrf_and_scopes(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    customer_id = await customer_of_a_chat(clients)
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get("/api/v1/cases")).status_code == 401
        r = await anonymous.post("/api/v1/cases", json={"title": "x", "customer_id": customer_id})
        assert r.status_code == 401
    r = await ana.http.post("/api/v1/cases", json={"title": "x", "customer_id": customer_id})
    assert r.status_code == 403  # the session cookie alone is not enough for a write
    token = await server.container.identity.create_api_token(
        ana.user_id, "read-only", frozenset({Scope.CONVERSATIONS_READ})
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        assert (await api.get("/api/v1/cases")).status_code == 200
        r = await api.post("/api/v1/cases", json={"title": "x", "customer_id": customer_id})
        assert r.status_code == 403
        assert "conversations:write" in r.json()["detail"]


async def test_bad_input_is_422_with_a_reason(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    customer_id = await customer_of_a_chat(clients)

    async def refused(r: httpx.Response, words: str) -> None:
        assert r.status_code == 422, r.text
        assert words in r.json()["detail"]

    await refused(await ana.post("/api/v1/cases", title="", customer_id=customer_id), "title")
    await refused(await ana.post("/api/v1/cases", title="   ", customer_id=customer_id), "needs a title")
    await refused(await ana.post("/api/v1/cases", title="x", customer_id="nobody"), "no customer nobody")
    await refused(
        await ana.post("/api/v1/cases", title="x", customer_id=customer_id, priority="asap"), "priority"
    )
    await refused(
        await ana.post("/api/v1/cases", title="x", customer_id=customer_id, owner_id="ghost"), "ghost"
    )
    await refused(await ana.post("/api/v1/cases", title="x", customer_id=customer_id, colour="red"), "colour")
    case = await new_case(ana, customer_id)
    url = f"/api/v1/cases/{case['id']}"
    await refused(await ana.http.patch(url, json={"status": "resolved"}, headers=ana.headers()), "status")
    await refused(await ana.post(f"{url}/resolve", resolution="", resolution_type="solved"), "resolution")
    await refused(
        await ana.post(f"{url}/resolve", resolution="ok", resolution_type="magic"), "resolution_type"
    )
    await refused(await ana.post(f"{url}/notes", text=""), "text")
    await refused(
        await ana.http.get("/api/v1/cases", params={"created_from": "2026-01-01T00:00:00"}), "timezone"
    )
    await refused(await ana.http.get("/api/v1/cases", params={"cursor": "garbage"}), "cursor")
    await refused(await ana.http.get("/api/v1/cases", params={"limit": 0}), "limit")
    await refused(await ana.http.get("/api/v1/cases", params={"status": "open"}), "status")
    await refused(
        await ana.http.get(
            "/api/v1/cases",
            params={"created_from": "2026-02-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"},
        ),
        "before created_to",
    )
    assert (await ana.http.get("/api/v1/cases/CAS-999999")).status_code == 404
    assert (await ana.http.get("/api/v1/cases/nope/history")).status_code == 404
    assert (await ana.http.get("/api/v1/customers/nobody/cases")).status_code == 404


async def test_the_case_list_filters_sorts_and_pages(server: LiveServer, clients: Clients) -> None:
    ana, ben = await clients["agent"]("ana"), await clients["agent"]("ben")
    customer_id = await customer_of_a_chat(clients)
    urgent = await new_case(ana, customer_id, priority="urgent")
    mine_low = await new_case(ana, customer_id, priority="low", title="Refund question")
    bens = await new_case(ben, customer_id)
    unowned = await new_case(ana, customer_id, owner_id=None, title="Refund, again")
    await ben.http.patch(f"/api/v1/cases/{bens['id']}", json={"status": "on_hold"}, headers=ben.headers())

    async def numbers(**params: Any) -> list[str]:
        r = await ana.http.get("/api/v1/cases", params=params)
        assert r.status_code == 200, r.text
        return [x["number"] for x in r.json()["items"]]

    n = {k: v["number"] for k, v in (("u", urgent), ("m", mine_low), ("b", bens), ("o", unowned))}
    assert await numbers() == [n["o"], n["b"], n["m"], n["u"]]
    assert await numbers(owner="me") == [n["m"], n["u"]]
    assert await numbers(owner="none") == [n["o"]]
    assert await numbers(status=["on_hold", "active"]) == [n["b"]]
    assert await numbers(q="refund", sort="number", order="asc") == [n["m"], n["o"]]
    assert await numbers(sort="priority", order="desc", priority=["urgent", "low"]) == [n["u"], n["m"]]
    assert await numbers(customer_id=customer_id, created_from="2020-01-01T00:00:00+00:00") == [
        n["o"],
        n["b"],
        n["m"],
        n["u"],
    ]

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3, "sort": "sla_due_at", "order": "asc"}
    while True:
        page = (await ana.http.get("/api/v1/cases", params=params)).json()
        seen += [x["number"] for x in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [n["u"], n["b"], n["o"], n["m"]]  # urgent 4 h, normal 24 h (in creation order), low 72 h
