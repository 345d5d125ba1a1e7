"""WhatsApp templates end to end, over HTTP against the Graph double: templates synced from Meta
(approved ones only), the 24-hour window as the workspace sees it, a free-form reply failing once
it closed, a template delivered with the Cloud API's payload, 422s for bad input, Meta's own
refusal of a template it does not know, and who may list or send them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from omniroute.channels.meta_common.double import GraphDouble
from tests.e2e.channels.support import served
from tests.e2e.channels.whatsapp.test_whatsapp_channel import (
    ACCESS_TOKEN,
    APP_SECRET,
    CUSTOMER,
    NUMBER,
    VERIFY_TOKEN,
    fixture,
)
from tests.e2e.conftest import Agent, LiveServer, Socket

Clients = dict[str, Any]
WABA = "102290129340398"
ORDER_BODY = "Hi {{1}}, your order {{2}} has shipped."
DAY = 24 * 3600


@pytest.fixture
async def graph(server: LiveServer) -> AsyncIterator[tuple[GraphDouble, str]]:
    double = GraphDouble(access_token=ACCESS_TOKEN, app_secret=APP_SECRET, now=server.clock.now)
    double.add_template(
        WABA, "order_update", "en_US", ORDER_BODY, header="Order update", buttons=("Track it",)
    )
    double.add_template(WABA, "order_update", "es_ES", "Hola {{1}}, tu pedido {{2}} está en camino.")
    double.add_template(WABA, "spring_sale", "en_US", "20% off until {{1}}", status="REJECTED")
    async with served(double.app()) as base:
        yield double, base


async def create_account(admin: Agent, graph_base: str, name: str = "Acme WhatsApp", **settings: Any) -> str:
    r = await admin.post(
        "/api/v1/admin/channel-accounts",
        channel="whatsapp",
        name=name,
        settings={"phone_number_id": NUMBER, "graph_base": graph_base, "waba_id": WABA} | settings,
        secrets={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def customer_writes_and_ana_accepts(
    clients: Clients, double: GraphDouble, meta: httpx.AsyncClient, account_id: str
) -> tuple[Agent, Socket, str]:
    ana = await clients["agent"]("ana")
    ws, _ = await ana.connect()
    await ana.presence("available")
    await double.deliver(meta, f"/webhooks/{account_id}", fixture("text_message.json"))
    offer = await ws.next("offer.created")
    r = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert r.status_code == 200, r.text
    return ana, ws, str(offer["conversation_id"])


async def a_day_later(server: LiveServer, clients: Clients, name: str) -> tuple[Agent, Socket]:
    """25 hours pass (the window closes; browser sessions last 12 hours, so sign in again)."""
    await server.clock.advance(DAY + 3600)
    agent = await clients["agent"](name)
    ws, _ = await agent.connect()
    return agent, ws


async def test_sync_keeps_only_approved_templates(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str]
) -> None:
    double, base = graph
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base)
    prefix = f"/api/v1/admin/channel-accounts/{account_id}/whatsapp/templates"
    assert (await ada.http.get(prefix)).json() == []

    r = await ada.post(f"{prefix}/sync")
    assert r.status_code == 200, r.text
    synced = r.json()
    assert [(t["name"], t["language"]) for t in synced["kept"]] == [
        ("order_update", "en_US"),
        ("order_update", "es_ES"),
    ]
    assert synced["kept"][0] == {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "body": ORDER_BODY,
        "header": "Order update",
        "footer": None,
        "buttons": ["Track it"],
        "parameter_count": 2,
    }
    assert synced["skipped"] == [
        {
            "name": "spring_sale",
            "language": "en_US",
            "status": "REJECTED",
            "reason": "status REJECTED: only approved templates can be sent",
        }
    ]
    assert (await ada.http.get(prefix)).json() == synced["kept"]
    # Stored in the account's settings, beside the rest.
    [account] = [
        a for a in (await ada.http.get("/api/v1/admin/channel-accounts")).json() if a["id"] == account_id
    ]
    assert [t["name"] for t in account["settings"]["templates"]] == ["order_update", "order_update"]
    assert account["settings"]["phone_number_id"] == NUMBER
    [listing] = double.template_requests
    assert listing["fields"] == "name,language,status,category,parameter_format,components"

    # A WABA Meta does not know: 502 with Graph's reason, and the list stays as it was.
    r = await ada.http.patch(
        f"/api/v1/admin/channel-accounts/{account_id}",
        json={"settings": account["settings"] | {"waba_id": "404404"}},
        headers=ada.headers(),
    )
    assert r.status_code == 200, r.text
    failed = await ada.post(f"{prefix}/sync")
    assert failed.status_code == 502
    assert "Graph error 100/33" in failed.json()["detail"]
    assert len((await ada.http.get(prefix)).json()) == 2
    # Without a waba_id there is nothing to sync from.
    bare = await create_account(ada, base, "Acme WhatsApp 2", waba_id=None)
    refused = await ada.post(f"/api/v1/admin/channel-accounts/{bare}/whatsapp/templates/sync")
    assert refused.status_code == 422
    assert "waba_id" in refused.json()["detail"]
    # Agents cannot manage templates.
    ana = await clients["agent"]("ana")
    assert (await ana.post(f"{prefix}/sync")).status_code == 403


async def test_outside_the_window_a_reply_fails_and_a_template_is_delivered(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base)
    assert (await ada.post(f"/api/v1/admin/channel-accounts/{account_id}/whatsapp/templates/sync")).is_success
    ana, _, conversation_id = await customer_writes_and_ana_accepts(clients, double, meta, account_id)
    conv = f"/api/v1/conversations/{conversation_id}"

    inside = (await ana.http.get(f"{conv}/whatsapp/templates")).json()
    assert inside["window"]["open"] is True
    wrote = datetime.fromisoformat(inside["window"]["last_customer_message_at"])
    assert datetime.fromisoformat(inside["window"]["closes_at"]) == wrote + timedelta(hours=24)
    assert [t["language"] for t in inside["templates"]] == ["en_US", "es_ES"]

    ana, ws = await a_day_later(server, clients, "ana")
    outside = (await ana.http.get(f"{conv}/whatsapp/templates")).json()
    assert outside["window"]["open"] is False

    # A free-form reply fails at once, before calling Meta, asking for a template.
    r = await ana.post(f"{conv}/messages", text="Are you still there?")
    failed = await ws.next("message.delivery_changed", message_id=r.json()["id"], status="failed")
    assert "24-hour customer-service window" in failed["error"]
    assert "template" in failed["error"]
    assert double.requests == []

    # Bad input: 422 with the reason, nothing stored.
    for body, reason in [
        (
            {"name": "order_update", "language": "en_US", "parameters": ["Kerry"]},
            "takes 2 parameter(s), 1 given",
        ),
        ({"name": "welcome", "language": "en_US"}, "no template 'welcome'"),
        ({"name": "order_update", "language": "fr_FR", "parameters": ["a", "b"]}, "has no fr_FR version"),
        ({"name": "order_update", "language": "en_US", "parameters": ["Kerry\nF", "#1"]}, "line break"),
    ]:
        refused = await ana.post(f"{conv}/whatsapp/template", **body)
        assert refused.status_code == 422, refused.text
        assert reason in refused.json()["detail"]

    # The template goes out: the transcript shows what the customer gets.
    sent = await ana.post(
        f"{conv}/whatsapp/template",
        name="order_update",
        language="en_US",
        parameters=["Kerry", "#4417"],
        client_message_id="tpl-4417",
    )
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["text"] == "Order update\n\nHi Kerry, your order #4417 has shipped.\n\n[Track it]"
    assert message["sender_kind"] == "agent"
    await ws.next("message.delivery_changed", message_id=message["id"], status="sent")
    [call] = double.requests
    assert call.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Kerry"}, {"type": "text", "text": "#4417"}],
                }
            ],
        },
    }
    # A retry with the same id is the same message, sent once.
    again = await ana.post(
        f"{conv}/whatsapp/template",
        name="order_update",
        language="en_US",
        parameters=["Kerry", "#4417"],
        client_message_id="tpl-4417",
    )
    assert (again.status_code, again.json()["id"]) == (200, message["id"])
    await server.container.channels.run_once()
    assert len(double.accepted) == 1
    history = (await ana.http.get(f"{conv}/messages")).json()
    assert [m["delivery_status"] for m in history if m["sender_kind"] == "agent"] == ["failed", "sent"]


async def test_meta_refuses_a_template_it_does_not_know(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base)
    prefix = f"/api/v1/admin/channel-accounts/{account_id}/whatsapp/templates"
    welcome = {"name": "welcome_back", "language": "en_US", "category": "MARKETING", "body": "Welcome back!"}
    bad = await ada.http.put(
        prefix, json={"templates": [welcome | {"body": "Hi {{2}}"}]}, headers=ada.headers()
    )
    assert bad.status_code == 422
    assert "{{1}} to {{2}} without gaps" in bad.json()["detail"]
    saved = await ada.http.put(prefix, json={"templates": [welcome]}, headers=ada.headers())
    assert saved.status_code == 200, saved.text
    ana, ws, conversation_id = await customer_writes_and_ana_accepts(clients, double, meta, account_id)

    r = await ana.post(
        f"/api/v1/conversations/{conversation_id}/whatsapp/template", name="welcome_back", language="en_US"
    )
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "Welcome back!"
    failed = await ws.next("message.delivery_changed", message_id=r.json()["id"], status="failed")
    assert "Graph error 132001" in failed["error"]
    assert "sync the account's templates" in failed["error"]
    assert len(double.requests) == 1  # permanent: not retried
    assert double.accepted == {}


async def test_who_may_list_and_send_templates(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base)
    assert (await ada.post(f"/api/v1/admin/channel-accounts/{account_id}/whatsapp/templates/sync")).is_success
    _, _, conversation_id = await customer_writes_and_ana_accepts(clients, double, meta, account_id)
    conv = f"/api/v1/conversations/{conversation_id}"
    body = {"name": "order_update", "language": "es_ES", "parameters": ["Kerry", "#4417"]}
    queue_id = (await ada.http.get(conv)).json()["queue_id"]
    queues = {q["id"]: q["name"] for q in (await ada.http.get("/api/v1/queues")).json()}
    assert queues[queue_id] == "Sales"  # the demo's default for new channel conversations

    # Chloé works Sales: she reads the templates, but only the holder speaks to the customer.
    chloe = await clients["agent"]("chloe")
    assert (await chloe.http.get(f"{conv}/whatsapp/templates")).status_code == 200
    refused = await chloe.post(f"{conv}/whatsapp/template", **body)
    assert refused.status_code == 403
    assert "not assigned to you" in refused.json()["detail"]
    # Ben works Support only: the conversation does not exist for him.
    ben = await clients["agent"]("ben")
    assert (await ben.http.get(f"{conv}/whatsapp/templates")).status_code == 404
    assert (await ben.post(f"{conv}/whatsapp/template", **body)).status_code == 404
    # Nobody signed in; a cookie write without its CSRF token.
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get(f"{conv}/whatsapp/templates")).status_code == 401
    no_csrf = await chloe.http.post(f"{conv}/whatsapp/template", json=body)
    assert (no_csrf.status_code, no_csrf.json()["detail"]) == (403, "missing or wrong CSRF token")

    # A web chat conversation has no WhatsApp templates: 409 with the reason.
    lee = await clients["customer"]().start(name="Lee", queue="Support")
    webchat = f"/api/v1/conversations/{lee.conversation_id}/whatsapp/templates"
    r = await ben.http.get(webchat)
    assert r.status_code == 409
    assert "WhatsApp conversations" in r.json()["detail"]
