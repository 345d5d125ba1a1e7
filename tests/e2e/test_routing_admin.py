"""Routing configuration through the admin API: validated, versioned, applied to new work."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer, routing_settled

Clients = dict[str, Any]

CONFIG: dict[str, Any] = {
    "skills": [{"id": "refunds", "name": "Refunds"}],
    "classification": [
        {
            "name": "topic",
            "rules": [
                {
                    "name": "refund questions",
                    "when": {"field": "prechat.question", "op": "contains", "value": "refund"},
                    "set": {"skills": {"refunds": 4}, "priority": 7},
                }
            ],
        }
    ],
    "route_to_queue": [
        {
            "name": "refunds to support",
            "when": {"field": "prechat.question", "op": "contains", "value": "refund"},
            "queue": "Support",
        }
    ],
}


async def test_roles_on_the_admin_api(server: LiveServer, clients: Clients) -> None:
    ana, sam, ada = [await clients["agent"](n) for n in ("ana", "sam", "admin")]
    url = "/api/v1/admin/routing-config"
    assert (await ana.http.get(url)).status_code == 403
    current = (await sam.http.get(url)).json()
    assert current["version"] is None
    assert current["config"]["route_to_queue"] == []
    body = {"config": CONFIG, "comment": "refunds"}
    r = await sam.http.put(url, json=body, headers=sam.headers())
    assert r.status_code == 403  # supervisors read; admins change
    r = await ada.http.put(url, json=body, headers=ada.headers())
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1


async def test_config_is_validated_versioned_and_restorable(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    url = "/api/v1/admin/routing-config"
    bad = {"config": {**CONFIG, "route_to_queue": [{"name": "x", "queue": "Nowhere"}]}}
    r = await ada.http.put(url, json=bad, headers=ada.headers())
    assert r.status_code == 422
    assert "unknown queue(s) ['Nowhere']" in r.json()["detail"]
    worse = {"config": {**CONFIG, "skills": []}}
    r = await ada.http.put(url, json=worse, headers=ada.headers())
    assert r.status_code == 422
    assert "unknown skill(s) ['refunds']" in r.json()["detail"]
    assert (await ada.http.get(url)).json()["version"] is None  # nothing was stored

    first = await ada.http.put(url, json={"config": CONFIG, "comment": "v1"}, headers=ada.headers())
    assert first.json()["version"] == 1
    second = await ada.http.put(
        url, json={"config": {}, "comment": "v2", "expected_version": 1}, headers=ada.headers()
    )
    assert second.json()["version"] == 2
    stale = await ada.http.put(url, json={"config": CONFIG, "expected_version": 1}, headers=ada.headers())
    assert stale.status_code == 409
    assert "now version 2" in stale.json()["detail"]

    versions = (await ada.http.get(f"{url}/versions")).json()
    assert [(v["version"], v["comment"]) for v in versions] == [(2, "v2"), (1, "v1")]
    restored = await ada.http.post(f"{url}/versions/1/restore", headers=ada.headers())
    assert restored.json()["version"] == 3
    current = (await ada.http.get(url)).json()
    assert current["version"] == 3
    assert current["config"]["route_to_queue"][0]["queue"] == "Support"
    assert (await ada.http.get(f"{url}/versions/99")).status_code == 404


async def test_rules_route_new_work_and_the_trace_explains_it(server: LiveServer, clients: Clients) -> None:
    ada, sam = await clients["agent"]("admin"), await clients["agent"]("sam")
    r = await ada.http.put("/api/v1/admin/routing-config", json={"config": CONFIG}, headers=ada.headers())
    assert r.status_code == 200
    ben = await clients["agent"]("ben")  # Support only
    ben_ws, _ = await ben.connect()
    await ben.presence("available")
    lee = await clients["customer"]().start(question="I need a refund please")  # widget queue: Sales
    # The work needs the refunds skill, which nobody has yet: it waits, and the trace says why.
    await routing_settled(server)
    waiting = (await sam.http.get(f"/api/v1/admin/conversations/{lee.conversation_id}/routing-trace")).json()
    assert any("waiting: nobody with room has the required skills" in step for step in waiting["steps"])
    skills = await sam.http.put(
        f"/api/v1/admin/agents/{ben.user_id}/skills", json={"skills": {"refunds": 5}}, headers=sam.headers()
    )
    assert skills.status_code == 200
    offer = await ben_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["queue_name"] == "Support"

    trace = (await sam.http.get(f"/api/v1/admin/conversations/{lee.conversation_id}/routing-trace")).json()
    assert trace["required_skills"] == {"refunds": 4}
    assert trace["priority"] == 7
    assert trace["config_version"] == 1
    steps = [step.split(" ", 1)[1] for step in trace["steps"]]  # without the timestamps
    assert steps[:4] == [
        "prior: routing configuration version 1",
        "prior: ruleset 'topic': rule 'refund questions' matched",
        "prior: route rule 'refunds to support' sent it to 'Support'",
        "prior: queued in 'Support'",
    ]
    assert "waiting: nobody with room has the required skills" in steps
    assert steps[-1].startswith(f"offered {ben.user_id}:")
    rejected = await ben.post(f"/api/v1/offers/{offer['session_id']}/reject")
    assert rejected.status_code == 204, rejected.text
    await routing_settled(server)
    trace = (await sam.http.get(f"/api/v1/admin/conversations/{lee.conversation_id}/routing-trace")).json()
    assert any(step.split(" ", 1)[1].startswith(f"rejected {ben.user_id}") for step in trace["steps"])
    # Ben is the only one with the skill: the next attempt is his again (up to the decline limit).
    assert [(s["agent_id"], s["closure_reason"]) for s in trace["sessions"]] == [
        (ben.user_id, "rejected"),
        (ben.user_id, None),
    ]
    r = await ben.http.get(f"/api/v1/admin/conversations/{lee.conversation_id}/routing-trace")
    assert r.status_code == 403


async def test_queues_members_and_skills(server: LiveServer, clients: Clients) -> None:
    ada, sam = await clients["agent"]("admin"), await clients["agent"]("sam")
    chloe = await clients["agent"]("chloe")
    r = await ada.post("/api/v1/admin/queues", name="Returns", description="Sending things back")
    assert r.status_code == 201
    queue_id = r.json()["id"]
    assert (await ada.post("/api/v1/admin/queues", name="Returns")).status_code == 409
    assert (await sam.post("/api/v1/admin/queues", name="Other")).status_code == 403

    # A customer waits in the new queue; adding Chloé as a member offers it to her at once.
    chloe_ws, _ = await chloe.connect()
    await chloe.presence("available")
    lee = await clients["customer"]().start(queue="Returns")
    r = await sam.http.put(
        f"/api/v1/admin/queues/{queue_id}/members", json={"user_ids": [chloe.user_id]}, headers=sam.headers()
    )
    assert r.json()["user_ids"] == [chloe.user_id]
    offer = await chloe_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["queue_name"] == "Returns"

    skills_url = f"/api/v1/admin/agents/{chloe.user_id}/skills"
    r = await sam.http.put(skills_url, json={"skills": {"refunds": 5}}, headers=sam.headers())
    assert r.status_code == 422  # not a configured skill yet
    await ada.http.put("/api/v1/admin/routing-config", json={"config": CONFIG}, headers=ada.headers())
    r = await sam.http.put(skills_url, json={"skills": {"refunds": 11}}, headers=sam.headers())
    assert r.status_code == 422
    r = await sam.http.put(skills_url, json={"skills": {"refunds": 5}}, headers=sam.headers())
    assert r.json() == {"user_id": chloe.user_id, "skills": {"refunds": 5}}
    assert (await sam.http.get(skills_url)).json()["skills"] == {"refunds": 5}


async def test_supervisors_list_users(server: LiveServer, clients: Clients) -> None:
    sam, ana = await clients["agent"]("sam"), await clients["agent"]("ana")
    people = (await sam.http.get("/api/v1/admin/users")).json()
    assert {p["email"] for p in people} >= {"ana@demo.omniroute.dev", "admin@demo.omniroute.dev"}
    assert all(set(p) == {"id", "display_name", "email", "role"} for p in people)
    assert (await ana.http.get("/api/v1/admin/users")).status_code == 403


async def test_out_of_hours_overflow_ends_with_a_message(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    closed_now = {  # the test clock says Monday 09:00 UTC
        "queues": [
            {
                "queue": "Sales",
                "operating_hours": {
                    "timezone": "UTC",
                    "weekly": {"mon": [{"start": "10:00", "end": "17:00"}]},
                },
                "overflow": [
                    {
                        "when": "out_of_hours",
                        "action": "end_with_message",
                        "message": "We are closed. We open at 10:00.",
                    }
                ],
            }
        ],
    }
    r = await ada.http.put("/api/v1/admin/routing-config", json={"config": closed_now}, headers=ada.headers())
    assert r.status_code == 200, r.text
    lee = await clients["customer"]().start(question="Anyone?")
    history = (await lee.http.get(f"{lee.prefix}/conversation", headers=lee.headers())).json()
    assert history["state"] == "closed"
    assert [m["text"] for m in history["messages"]][:2] == ["Anyone?", "We are closed. We open at 10:00."]

    await server.clock.advance(3600)  # 10:00: open
    bob = await clients["customer"]().start(question="Now?")
    history = (await bob.http.get(f"{bob.prefix}/conversation", headers=bob.headers())).json()
    assert history["state"] == "open"


async def test_busy_queue_overflows_to_another(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    config = {
        "queues": [
            {
                "queue": "Sales",
                "overflow": [
                    {"when": "waiting_over", "count": 1, "action": "transfer_to_queue", "queue": "Support"}
                ],
            }
        ]
    }
    await ada.http.put("/api/v1/admin/routing-config", json={"config": config}, headers=ada.headers())
    first = await clients["customer"]().start(name="One")
    second = await clients["customer"]().start(name="Two")
    third = await clients["customer"]().start(name="Three")  # two already wait in Sales
    queues = {
        c.conversation_id: (await server.container.conversations.get(c.conversation_id)).queue_id
        for c in (first, second, third)
    }
    names = {q.id: q.name for q in await server.container.routing.queues()}
    assert [names[queues[c.conversation_id]] for c in (first, second, third)] == ["Sales", "Sales", "Support"]


async def test_waiting_too_long_moves_work_to_another_queue(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    config = {
        "queues": [
            {
                "queue": "Sales",
                "overflow": [
                    {
                        "when": "waited_longer_than",
                        "seconds": 120,
                        "action": "transfer_to_queue",
                        "queue": "Support",
                    }
                ],
            }
        ]
    }
    assert (
        await ada.http.put("/api/v1/admin/routing-config", json={"config": config}, headers=ada.headers())
    ).status_code == 200
    ben = await clients["agent"]("ben")  # Support only: nobody in Sales is signed in
    ben_ws, _ = await ben.connect()
    await ben.presence("available")
    lee = await clients["customer"]().start()
    await routing_settled(server)
    assert (await ben.http.get("/api/v1/offers")).json() == []
    await server.clock.advance(121)
    offer = await ben_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["queue_name"] == "Support"
    sam = await clients["agent"]("sam")
    trace = (await sam.http.get(f"/api/v1/admin/conversations/{lee.conversation_id}/routing-trace")).json()
    assert any("waited longer than 120 s in its queue: transfer_to_queue" in step for step in trace["steps"])


async def test_waiting_too_long_can_end_with_a_message(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    config = {
        "queues": [
            {
                "queue": "Sales",
                "overflow": [
                    {
                        "when": "waited_longer_than",
                        "seconds": 60,
                        "action": "end_with_message",
                        "message": "Sorry, everyone is busy. Please try again later.",
                    }
                ],
            }
        ]
    }
    assert (
        await ada.http.put("/api/v1/admin/routing-config", json={"config": config}, headers=ada.headers())
    ).status_code == 200
    lee = await clients["customer"]().start()
    customer_ws, _ = await lee.connect()
    await routing_settled(server)
    await server.clock.advance(61)
    sorry = await customer_ws.next("message.posted", seq=2)
    assert sorry["message"]["text"] == "Sorry, everyone is busy. Please try again later."
    state = await customer_ws.next("conversation.state_changed")
    assert state["state"] == "closed"
