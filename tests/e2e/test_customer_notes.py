"""Notes about a customer (Customer 360) over HTTP: write, pin, edit and delete (own notes; any for
supervisors), shown on the timeline, escaped as plain text, carried over by a merge."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def customer_of(agent: Any, conversation_id: str) -> str:
    return str((await agent.http.get(f"/api/v1/conversations/{conversation_id}")).json()["customer_id"])


async def test_agents_write_notes_and_change_only_their_own(server: LiveServer, clients: Clients) -> None:
    ana, ben, sam = [await clients["agent"](name) for name in ("ana", "ben", "sam")]
    lee = await clients["customer"]().start(name="Lee García", visitor_id="notes-1")
    customer = await customer_of(sam, lee.conversation_id)
    base = f"/api/v1/customers/{customer}/notes"

    r = await ana.post(base, text="Prefers Spanish.\n<b>VIP</b> since 2019")
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["author_name"], first["pinned"], first["can_edit"], first["version"]) == (
        "Ana García",
        False,
        True,
        1,
    )
    assert first["text"] == "Prefers Spanish.\n<b>VIP</b> since 2019"  # stored as typed: the page escapes it
    r = await ben.post(base, text="Call back after 5 pm", pinned=True)
    assert r.status_code == 201, r.text
    second = r.json()

    listed = (await ana.http.get(base)).json()
    assert [n["id"] for n in listed] == [second["id"], first["id"]]  # pinned first
    assert [n["can_edit"] for n in listed] == [False, True]

    # Ben cannot change Ana's note; Ana can; Sam (supervisor) can change anyone's.
    denied = await ben.http.patch(f"{base}/{first['id']}", json={"text": "x"}, headers=ben.headers())
    assert denied.status_code == 403
    assert "author" in denied.json()["detail"]
    assert (await ben.http.delete(f"{base}/{first['id']}", headers=ben.headers())).status_code == 403
    edited = await ana.http.patch(
        f"{base}/{first['id']}",
        json={"text": "Prefers Spanish.", "expected_version": 1},
        headers=ana.headers(),
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["edited"]) == (2, True)
    stale = await ana.http.patch(
        f"{base}/{first['id']}", json={"pinned": True, "expected_version": 1}, headers=ana.headers()
    )
    assert stale.status_code == 409
    pinned = await sam.http.patch(f"{base}/{first['id']}", json={"pinned": True}, headers=sam.headers())
    assert pinned.json()["pinned"] is True
    assert (await sam.http.delete(f"{base}/{second['id']}", headers=sam.headers())).status_code == 204
    assert [n["id"] for n in (await ben.http.get(base)).json()] == [first["id"]]

    timeline = (await ana.http.get(f"/api/v1/customers/{customer}/timeline")).json()
    notes = [e for e in timeline if e["kind"] == "note"]
    assert [(e["ref_id"], e["title"], e["details"]["author_name"]) for e in notes] == [
        (first["id"], "Prefers Spanish.", "Ana García")
    ]


async def test_bad_input_csrf_and_unknown_notes(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    lee = await clients["customer"]().start(name="Lee García", visitor_id="notes-2")
    sam = await clients["agent"]("sam")
    customer = await customer_of(sam, lee.conversation_id)
    base = f"/api/v1/customers/{customer}/notes"
    assert (await ana.post(base, text="   ")).status_code == 422
    assert (await ana.post(base, text="x" * 4001)).status_code == 422
    assert (await ana.post(base, text="ok", extra="no")).status_code == 422
    assert (await ana.http.post(base, json={"text": "no csrf"})).status_code == 403
    assert (await ana.post("/api/v1/customers/nobody/notes", text="hello")).status_code == 404
    missing = await ana.http.patch(f"{base}/nope", json={"text": "x"}, headers=ana.headers())
    assert missing.status_code == 404
    assert (await ana.http.delete(f"{base}/nope", headers=ana.headers())).status_code == 204  # already gone
    assert (await ana.http.get(base)).json() == []


async def test_a_merge_carries_the_notes_to_the_survivor(server: LiveServer, clients: Clients) -> None:
    sam = await clients["agent"]("sam")
    first = await clients["customer"]().start(name="Lee García", visitor_id="notes-3")
    second = await clients["customer"]().start(name="Lee Garcia", visitor_id="notes-4")
    survivor = await customer_of(sam, first.conversation_id)
    other = await customer_of(sam, second.conversation_id)
    kept = (await sam.post(f"/api/v1/customers/{survivor}/notes", text="Survivor's note")).json()
    moved = (await sam.post(f"/api/v1/customers/{other}/notes", text="Duplicate's note", pinned=True)).json()

    r = await sam.post(f"/api/v1/customers/{survivor}/merge", other_id=other)
    assert r.status_code == 200, r.text
    notes = (await sam.http.get(f"/api/v1/customers/{survivor}/notes")).json()
    assert [(n["id"], n["customer_id"]) for n in notes] == [(moved["id"], survivor), (kept["id"], survivor)]
    # The merged record's id answers with the survivor's notes, and its notes are editable there.
    assert [n["id"] for n in (await sam.http.get(f"/api/v1/customers/{other}/notes")).json()] == [
        moved["id"],
        kept["id"],
    ]
    r = await sam.http.patch(
        f"/api/v1/customers/{survivor}/notes/{moved['id']}", json={"pinned": False}, headers=sam.headers()
    )
    assert r.status_code == 200, r.text
