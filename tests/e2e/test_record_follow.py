"""Live record changes over the agent socket: a page follows the customers and cases it shows
and hears, without their content, when someone else changes one of them — so a note, a profile
edit or a case change made on another desk appears without a reload."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def new_customer(agent: Any, name: str) -> str:
    r = await agent.post("/api/v1/customers", display_name=name)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_followed_customer_or_case_changed_elsewhere_reaches_the_page(
    server: LiveServer, clients: Clients
) -> None:
    ana, sam = await clients["agent"]("ana"), await clients["agent"]("sam")
    shown, other = await new_customer(sam, "Fran Followed"), await new_customer(sam, "Otto Other")
    case = await sam.post("/api/v1/cases", title="Broken heater", customer_id=shown)
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]

    sock, _ = await ana.connect()
    await sock.send({"type": "follow", "customers": [shown], "cases": [case_id]})
    await sock.send({"type": "ping"})
    await sock.next("pong")  # the follow frame is in before anything changes

    # A note about someone Ana does not show is not sent; one about Fran is, without its text.
    assert (await sam.post(f"/api/v1/customers/{other}/notes", text="Not for Ana")).status_code == 201
    assert (await sam.post(f"/api/v1/customers/{shown}/notes", text="Secret plan")).status_code == 201
    frame = await sock.next("record.changed")
    assert frame == {
        "type": "record.changed",
        "event": "customer.note_added",
        "customer_id": shown,
        "actor_id": sam.user_id,
    }

    # A case change names the case and its customer.
    r = await sam.http.patch(f"/api/v1/cases/{case_id}", json={"priority": "high"}, headers=sam.headers())
    assert r.status_code == 200, r.text
    frame = await sock.next("record.changed", event="case.updated")
    assert (frame["case_id"], frame["customer_id"]) == (case_id, shown)
    assert "changes" not in frame

    # Following is a replacement: after following Otto only, Fran's changes stay away.
    await sock.send({"type": "follow", "customers": [other], "cases": []})
    await sock.send({"type": "ping"})
    await sock.next("pong")
    for customer, name in ((shown, "Fran F."), (other, "Otto O.")):
        r = await sam.http.patch(
            f"/api/v1/customers/{customer}", json={"display_name": name}, headers=sam.headers()
        )
        assert r.status_code == 200, r.text
    frame = await sock.next("record.changed")
    assert (frame["event"], frame["customer_id"]) == ("customer.updated", other)

    # A merge reaches whoever shows the record merged away, naming the survivor.
    r = await sam.post(f"/api/v1/customers/{shown}/merge", other_id=other)
    assert r.status_code == 200, r.text
    frame = await sock.next("record.changed", event="customers.merged")
    assert other in (frame["customer_id"], frame["merged_id"])


async def test_the_hello_carries_the_follows_and_bad_follows_are_refused(
    server: LiveServer, clients: Clients
) -> None:
    ana, sam = await clients["agent"]("ana"), await clients["agent"]("sam")
    shown = await new_customer(sam, "Hana Hello")
    sock, _ = await ana.connect(follow={"customers": [shown], "cases": []})
    assert (await sam.post(f"/api/v1/customers/{shown}/notes", text="Hi")).status_code == 201
    frame = await sock.next("record.changed")
    assert frame["customer_id"] == shown

    await sock.send({"type": "follow", "customers": "everyone"})
    assert "customers" in (await sock.next("error"))["detail"]
    await sock.send({"type": "follow", "customers": [f"c{i}" for i in range(201)], "cases": []})
    assert "at most" in (await sock.next("error"))["detail"]
