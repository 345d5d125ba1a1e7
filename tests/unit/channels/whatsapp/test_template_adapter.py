"""Templates through the WhatsApp adapter against the Graph double: sent outside the window with
Meta's payload, refused as Meta refuses them, and listed page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.port import Outbound, PermanentSendError
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.whatsapp import adapter as whatsapp_adapter
from omniroute.channels.whatsapp import templates
from omniroute.channels.whatsapp.adapter import WhatsAppAdapter
from omniroute.core.clock import ManualClock

CUSTOMER = "16505551234"
WABA = "102290129340398"

Fixture = tuple[WhatsAppAdapter, GraphDouble, ManualClock]


@pytest.fixture
async def adapter() -> AsyncIterator[Fixture]:
    clock = ManualClock()
    double = GraphDouble(access_token="wa-token", app_secret="app-secret", now=clock.now)
    double.add_template(WABA, "order_update", "en_US", "Hi {{1}}, your order {{2}} has shipped.")
    config = AccountConfig(
        id="acc-1",
        channel="whatsapp",
        name="Acme",
        settings={"phone_number_id": "106540352242922", "graph_base": "http://graph.test", "waba_id": WABA},
        secrets={"app_secret": "app-secret", "verify_token": "verify", "access_token": "wa-token"},
        webhook_url="http://omniroute.test/webhooks/acc-1",
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        yield WhatsAppAdapter(AdapterContext(config=config, http=http, clock=clock)), double, clock


def template_message(name: str, language: str, *parameters: str, last_wrote_hours: float = 30) -> Outbound:
    return Outbound(
        "o1",
        "c1",
        CUSTOMER,
        "the rendered text",
        customer_last_message_at=ManualClock().now() - timedelta(hours=last_wrote_hours),
        template={"name": name, "language": language, "parameters": list(parameters)},
    )


async def test_a_template_goes_out_after_the_window_closed(adapter: Fixture) -> None:
    whatsapp, double, _ = adapter
    sent = await whatsapp.send(template_message("order_update", "en_US", "Kerry", "#4417"))
    assert sent.provider_message_id in double.accepted
    [call] = double.requests
    assert call.body["type"] == "template"
    assert call.body["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Kerry"}, {"type": "text", "text": "#4417"}],
            }
        ],
    }
    # Free text with the same stale window still fails before calling Meta.
    with pytest.raises(PermanentSendError, match="24-hour"):
        await whatsapp.send(
            Outbound(
                "o2", "c1", CUSTOMER, "Hi", customer_last_message_at=ManualClock().now() - timedelta(hours=30)
            )
        )
    assert len(double.requests) == 1


async def test_meta_refuses_unknown_templates_and_wrong_parameters(adapter: Fixture) -> None:
    whatsapp, double, _ = adapter
    double.add_template(WABA, "draft_offer", "en_US", "Soon", status="PENDING")
    for message, code, words in [
        (template_message("welcome", "en_US"), "132001", "sync the account's templates"),
        (template_message("order_update", "es_ES", "a", "b"), "132001", "does not exist in es_ES"),
        (template_message("draft_offer", "en_US"), "132001", "does not exist"),
        (template_message("order_update", "en_US", "Kerry"), "132000", "number of localizable_params (1)"),
        (template_message("order_update", "en_US", "Kerry\nFisher", "#1"), "132018", "new-line"),
    ]:
        with pytest.raises(PermanentSendError) as refused:
            await whatsapp.send(message)
        assert f"Graph error {code}" in str(refused.value)
        assert words in str(refused.value)
    assert double.accepted == {}


async def test_the_template_list_is_read_page_by_page(
    adapter: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp, double, _ = adapter
    for i in range(6):
        double.add_template(
            WABA, f"note_{i}", "es_ES", f"Nota {i}: {{{{1}}}}", status="REJECTED" if i else "APPROVED"
        )
    monkeypatch.setattr(whatsapp_adapter, "TEMPLATE_PAGE_SIZE", 3)
    listed = await whatsapp.message_templates(WABA)
    assert [item["name"] for item in listed] == ["order_update", *(f"note_{i}" for i in range(6))]
    assert len(double.template_requests) == 3
    first, second, _ = double.template_requests
    assert "after" not in first
    assert second["after"]
    assert first["fields"] == whatsapp_adapter.TEMPLATE_FIELDS
    kept = [t for t in map(templates.from_graph, listed) if isinstance(t, templates.Template)]
    assert [t.name for t in kept] == ["order_update", "note_0"]

    with pytest.raises(templates.TemplateListFailed, match="Graph error 100/33: Unsupported get request"):
        await whatsapp.message_templates("999")
    monkeypatch.setattr(whatsapp_adapter, "TEMPLATE_PAGES", 2)
    with pytest.raises(templates.TemplateListFailed, match="more than 6 templates"):
        await whatsapp.message_templates(WABA)


async def test_the_double_lists_templates_in_metas_shape_with_field_selection(adapter: Fixture) -> None:
    _, double, _ = adapter
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        r = await http.get(
            f"http://graph.test/v23.0/{WABA}/message_templates",
            params={"fields": "name,status", "limit": "1"},
            headers={"Authorization": "Bearer wa-token"},
        )
        assert r.status_code == 200
        body = r.json()
        assert body["data"] == [{"name": "order_update", "status": "APPROVED", "id": body["data"][0]["id"]}]
        assert set(body["paging"]["cursors"]) == {"before", "after"}
        assert "next" not in body["paging"]  # one template: no next page
        wrong = await http.get(
            f"http://graph.test/v23.0/{WABA}/message_templates", headers={"Authorization": "Bearer other"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == 190
