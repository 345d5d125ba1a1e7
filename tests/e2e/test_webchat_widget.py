"""The complete chat widget's REST API: settings, config, pre-chat survey, masking, identity tokens."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import sqlalchemy as sa

from omniroute.routing import store as routing_store
from tests.e2e.conftest import Agent, LiveServer, routing_settled

Clients = dict[str, Any]
VISA = "4111 1111 1111 1111"

# -- steps shared with test_webchat_after_chat.py --------------------------------------------


async def widget_id(server: LiveServer) -> str:
    return (await server.container.webchat.widget(server.widget_key)).id


async def save_settings(admin: Agent, server: LiveServer, settings: dict[str, Any]) -> httpx.Response:
    return await admin.http.put(
        f"/api/v1/admin/widgets/{await widget_id(server)}/settings",
        json={"settings": settings},
        headers=admin.headers(),
    )


async def configure(clients: Clients, server: LiveServer, settings: dict[str, Any]) -> Agent:
    admin: Agent = await clients["agent"]("admin")
    r = await save_settings(admin, server, settings)
    assert r.status_code == 200, r.text
    return admin


def widget_url(server: LiveServer, path: str) -> str:
    return f"/api/webchat/v1/widgets/{server.widget_key}{path}"


async def start_chat(http: httpx.AsyncClient, server: LiveServer, **body: Any) -> httpx.Response:
    payload = {"name": "Lee", "email": "lee@example.com", "question": "Hello?", **body}
    return await http.post(
        widget_url(server, "/conversations"), json=payload, headers={"Origin": server.origin}
    )


def bearer(server: LiveServer, token: str) -> dict[str, str]:
    return {"Origin": server.origin, "Authorization": f"Bearer {token}"}


# -- administration ---------------------------------------------------------------------------


async def test_admins_edit_settings_supervisors_read_agents_cannot(
    server: LiveServer, clients: Clients
) -> None:
    ana, sam, ada = [await clients["agent"](n) for n in ("ana", "sam", "admin")]
    wid = await widget_id(server)
    url = f"/api/v1/admin/widgets/{wid}/settings"
    assert (await ana.http.get(url)).status_code == 403
    current = (await sam.http.get(url)).json()
    assert current["settings"]["theme"]["primary_color"] == "#0f766e"
    assert current["identity_secret_set"] is False
    body = {"settings": {"theme": {"primary_color": "#1d4ed8"}}}
    assert (await sam.http.put(url, json=body, headers=sam.headers())).status_code == 403
    r = await ada.http.put(url, json=body, headers=ada.headers())
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["theme"]["primary_color"] == "#1d4ed8"
    listed = (await sam.http.get("/api/v1/admin/widgets")).json()
    assert [w["public_key"] for w in listed] == [server.widget_key]
    assert (await ana.http.get("/api/v1/admin/widgets")).status_code == 403


async def test_bad_settings_get_422_with_every_reason(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    r = await save_settings(
        ada,
        server,
        {
            "theme": {"primary_color": "red", "logo_url": "http://insecure.example/logo.png"},
            "prechat": {"questions": [{"id": "q", "type": "choice", "label": "Pick"}]},
        },
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "theme.primary_color: 'red' is not a hex colour" in detail
    assert "theme.logo_url: logo_url must be an https:// URL" in detail
    assert "needs at least two options" in detail
    missing = await ada.http.put(
        "/api/v1/admin/widgets/nope/settings", json={"settings": {}}, headers=ada.headers()
    )
    assert missing.status_code == 404


async def test_admins_create_widgets(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/widgets", name="Help centre", allowed_origins=["https://help.example.com/"]
    )
    assert r.status_code == 201, r.text
    assert r.json()["allowed_origins"] == ["https://help.example.com"]
    assert r.json()["public_key"].startswith("pk_")


# -- what the widget is told ------------------------------------------------------------------


async def test_config_carries_theme_language_questions_and_invitations(
    server: LiveServer, clients: Clients
) -> None:
    await configure(
        clients,
        server,
        {
            "theme": {
                "primary_color": "#7c3aed",
                "title": {"en": "Help", "es": "Ayuda"},
                "position": "left",
                "logo_url": "/static/widget/demo-logo.svg",
            },
            "prechat": {
                "email": "required",
                "questions": [
                    {
                        "id": "order",
                        "type": "text",
                        "label": {"en": "Order", "es": "Pedido"},
                        "required": True,
                    }
                ],
            },
            "proactive": [
                {
                    "id": "help",
                    "message": {"en": "Need help?", "es": "¿Necesitas ayuda?"},
                    "min_seconds_on_page": 20,
                    "url_pattern": "/products/*",
                }
            ],
            "texts": {"es": {"start": "Empezar"}},
        },
    )
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        es = (await http.get(widget_url(server, "/config"), params={"lang": "es-ES,es;q=0.9"})).json()
        en = (await http.get(widget_url(server, "/config"), params={"lang": "fr"})).json()
    assert (es["language"], en["language"]) == ("es", "en")
    assert es["strings"]["start"] == "Empezar"
    assert es["strings"]["send"] == "Enviar"
    assert en["strings"]["send"] == "Send"
    assert es["theme"] == {
        "primary_color": "#7c3aed",
        "on_primary_color": "#ffffff",
        "background_color": "#ffffff",
        "title": "Ayuda",
        "logo_url": "/static/widget/demo-logo.svg",
        "position": "left",
    }
    assert es["prechat"]["email"] == "required"
    assert es["prechat"]["questions"][0]["label"] == "Pedido"
    assert es["proactive"] == [
        {
            "id": "help",
            "message": "¿Necesitas ayuda?",
            "min_seconds_on_page": 20,
            "url_pattern": "/products/*",
        }
    ]
    assert es["availability"] == {"open": True, "next_opening": None}
    assert es["transcript"] == {"download": True, "email": False}  # no email account yet
    assert es["identity"] == {"mode": "off"}


async def test_a_fixed_widget_language_beats_the_browser(server: LiveServer, clients: Clients) -> None:
    await configure(clients, server, {"language": "es"})
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        config = (await http.get(widget_url(server, "/config"), params={"lang": "en-US"})).json()
    assert config["language"] == "es"
    assert config["strings"]["launcher"] == "Chatea con nosotros"


# -- the pre-chat survey ----------------------------------------------------------------------

SURVEY = {
    "prechat": {
        "email": "required",
        "questions": [
            {
                "id": "topic",
                "type": "choice",
                "label": "Topic",
                "required": True,
                "options": [{"value": "returns", "label": "Returns"}, {"value": "buying", "label": "Buying"}],
            },
            {"id": "order", "type": "text", "label": "Order number"},
            {"id": "privacy", "type": "consent", "label": "I accept the privacy policy", "required": True},
        ],
    }
}
RETURNS_TO_SUPPORT = {
    "route_to_queue": [
        {
            "name": "returns",
            "when": {"field": "prechat.topic", "op": "eq", "value": "returns"},
            "queue": "Support",
        }
    ]
}


async def test_survey_answers_are_checked_stored_and_used_by_routing(
    server: LiveServer, clients: Clients
) -> None:
    admin = await configure(clients, server, SURVEY)
    r = await admin.http.put(
        "/api/v1/admin/routing-config", json={"config": RETURNS_TO_SUPPORT}, headers=admin.headers()
    )
    assert r.status_code == 200, r.text
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        bad = await start_chat(
            http, server, email=None, answers={"topic": "refunds", "privacy": False, "x": 1}
        )
        assert bad.status_code == 422
        for reason in (
            "answers.x: no such question",
            "answers.topic: 'refunds' is not one of the options",
            "answers.privacy: consent is required",
        ):
            assert reason in bad.json()["detail"]
        no_email = await start_chat(http, server, email=None, answers={"topic": "returns", "privacy": True})
        assert no_email.status_code == 422
        assert no_email.json()["detail"] == "email is required"
        r = await start_chat(
            http, server, answers={"topic": "returns", "order": " A-77 ", "privacy": True}, language="es"
        )
    assert r.status_code == 201, r.text
    conv = r.json()["conversation"]
    assert conv["prechat"] == {
        "name": "Lee",
        "email": "lee@example.com",
        "question": "Hello?",
        "queue": "Support",
        "topic": "returns",
        "order": "A-77",
        "privacy": "yes",
        "language": "es",
    }
    await routing_settled(server)
    async with server.container.db.read() as conn:
        item = await routing_store.get_work_item(conn, conv["id"])
    assert item is not None
    assert item.attributes["prechat"]["topic"] == "returns"
    assert item.attributes["widget"]["name"] == "Demo website"
    assert item.attributes["customer"]["authenticated"] is False
    assert any("returns" in step for step in item.trace)


# -- masking ----------------------------------------------------------------------------------


async def test_card_numbers_and_custom_patterns_are_masked_before_storage(
    server: LiveServer, clients: Clients
) -> None:
    await configure(
        clients,
        server,
        {"masking": {"patterns": [{"name": "pin", "pattern": r"(?i)pin\s*\d{4}", "replacement": "[pin]"}]}},
    )
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await start_chat(http, server, question=f"Charge {VISA} please")
        assert r.status_code == 201
        token, conversation_id = r.json()["token"], r.json()["conversation"]["id"]
        assert r.json()["conversation"]["subject"] == "Charge **** **** **** 1111 please"
        said = await http.post(
            widget_url(server, "/conversation/messages"),
            json={
                "text": "It is 4111-1111-1111-1111, PIN 1234, order 4111111111111112",
                "client_message_id": "k1",
            },
            headers=bearer(server, token),
        )
        assert said.status_code == 201, said.text
        assert said.json()["text"] == "It is ****-****-****-1111, [pin], order 4111111111111112"
        again = await http.post(
            widget_url(server, "/conversation/messages"),
            json={
                "text": "It is 4111-1111-1111-1111, PIN 1234, order 4111111111111112",
                "client_message_id": "k1",
            },
            headers=bearer(server, token),
        )
        assert again.status_code == 200  # a retry returns the stored (masked) message
    async with server.container.db.read() as conn:
        stored = (await conn.execute(sa.text("SELECT text FROM messages ORDER BY seq"))).scalars().all()
        prechat = (
            await conn.execute(
                sa.text("SELECT prechat FROM conversations WHERE id = :id"), {"id": conversation_id}
            )
        ).scalar_one()
    assert not any("4111 1111 1111 1111" in t or "4111-1111-1111-1111" in t for t in stored)
    assert "4111 1111 1111 1111" not in str(prechat)


# -- authenticated chat -----------------------------------------------------------------------


def identity_token(server: LiveServer, secret: str, **overrides: Any) -> str:
    now = int(server.clock.now().timestamp())
    claims = {
        "sub": "crm-1001",
        "name": "Lee Verified",
        "email": "lee.verified@example.com",
        "aud": server.widget_key,
        "iat": now,
        "exp": now + 300,
        **overrides,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


async def test_identity_tokens_link_chats_to_the_hosts_customer(server: LiveServer, clients: Clients) -> None:
    admin = await configure(clients, server, {"identity": {"mode": "required"}})
    wid = await widget_id(server)
    r = await admin.post(f"/api/v1/admin/widgets/{wid}/identity-secret")
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert len(secret) >= 32
    settings = (await admin.http.get(f"/api/v1/admin/widgets/{wid}/settings")).json()
    assert settings["identity_secret_set"] is True
    assert secret not in str(settings)
    short = await admin.post(f"/api/v1/admin/widgets/{wid}/identity-secret", secret="short")
    assert short.status_code == 422

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        anonymous = await start_chat(http, server)
        assert anonymous.status_code == 401
        assert anonymous.json()["detail"] == "this widget needs an identity token from the host site"
        forged = await start_chat(http, server, identity_token=identity_token(server, "x" * 40))
        assert (forged.status_code, forged.json()["detail"]) == (401, "identity token: bad signature")
        wrong_widget = await start_chat(
            http, server, identity_token=identity_token(server, secret, aud="pk_other")
        )
        assert wrong_widget.status_code == 401
        assert "aud" in wrong_widget.json()["detail"]
        now = int(server.clock.now().timestamp())
        expired = await start_chat(
            http, server, identity_token=identity_token(server, secret, iat=now - 600, exp=now - 60)
        )
        assert (expired.status_code, expired.json()["detail"]) == (401, "identity token: expired")

        first = await start_chat(
            http, server, name="", email=None, visitor_id="v1", identity_token=identity_token(server, secret)
        )
        second = await start_chat(
            http, server, name="Someone", visitor_id="v2", identity_token=identity_token(server, secret)
        )
    assert first.status_code == 201, first.text
    assert first.json()["authenticated"] is True
    assert first.json()["customer_name"] == "Lee Verified"
    conv = first.json()["conversation"]
    assert conv["prechat"]["email"] == "lee.verified@example.com"
    assert conv["prechat"]["customer_ref"] == "crm-1001"
    # Two browsers, one signed-in customer.
    assert second.json()["conversation"]["customer_id"] == conv["customer_id"]
