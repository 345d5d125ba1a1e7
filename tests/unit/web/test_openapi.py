"""The OpenAPI document builds (warnings are errors here) and documents what integrators use."""

from __future__ import annotations

import re
from pathlib import Path

from omniroute.bootstrap import create_app
from omniroute.settings import Settings
from omniroute.web.pages import STATIC_DIR, api_endpoints


def test_openapi_lists_the_agent_customer_and_channel_routes(tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/o.db", data_dir=tmp_path, environment="test")
    )
    spec = app.openapi()
    paths = spec["paths"]
    for path in (
        "/api/v1/conversations/{conversation_id}/consults",
        "/api/v1/conversations/{conversation_id}/notes",
        "/api/v1/customers/{customer_id}/merge",
        "/api/v1/agents",
        "/webhooks/{account_id}",
    ):
        assert path in paths, path
    ids = [op["operationId"] for item in paths.values() for op in item.values() if "operationId" in op]
    assert len(ids) == len(set(ids))


def test_openapi_documents_the_voice_routes_their_bearer_token_and_the_webhook(tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/o.db", data_dir=tmp_path, environment="test")
    )
    spec = app.openapi()
    paths = spec["paths"]
    for path in (
        "/webhooks/voice/{provider_id}",
        "/api/v1/admin/voice-providers",
        "/api/v1/admin/voice-providers/{provider_id}",
        "/api/v1/admin/voice-providers/{provider_id}/api-token",
        "/api/v1/voice/providers",
        "/api/v1/voice/lookup",
        "/api/v1/voice/agents/{user_id}/presence",
        "/api/v1/voice/providers/{provider_id}/calls/{call_id}/route",
        "/api/v1/voice/providers/{provider_id}/calls/{call_id}/reservation/reject",
    ):
        assert path in paths, path

    # The provider back end's token is an HTTP bearer scheme, on exactly the provider API routes.
    scheme = spec["components"]["securitySchemes"]["VoiceProviderToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    secured = sorted(
        f"{method} {path}"
        for path, item in paths.items()
        for method, op in item.items()
        if {"VoiceProviderToken": []} in op.get("security", [])
    )
    assert secured == [
        "get /api/v1/voice/providers/{provider_id}/calls/{call_id}/route",
        "post /api/v1/voice/providers/{provider_id}/calls/{call_id}/reservation/reject",
        "post /api/v1/voice/providers/{provider_id}/calls/{call_id}/route",
        "put /api/v1/voice/agents/{user_id}/presence",
    ]

    # The webhook: its signature headers, the generic body (one event or a batch), its refusals.
    webhook = paths["/webhooks/voice/{provider_id}"]["post"]
    headers = {p["name"] for p in webhook["parameters"] if p["in"] == "header"}
    assert {"X-Omniroute-Signature", "X-Twilio-Signature", "X-Omniroute-Api-Key"} <= headers
    assert {p["name"] for p in webhook["parameters"] if p["in"] == "path"} == {"provider_id"}
    body = webhook["requestBody"]["content"]["application/json"]["schema"]
    one, batch = body["anyOf"]
    assert {"event_id", "call_id", "kind", "occurred_at"} <= set(one["required"])
    assert "from" in one["properties"]
    assert batch["properties"]["events"]["items"]["required"] == one["required"]
    assert "$ref" not in str(body)  # written out: nothing points at $defs the document lacks
    assert "application/x-www-form-urlencoded" in webhook["requestBody"]["content"]
    assert {"413", "503", "401", "403"} <= set(webhook["responses"])


def test_every_api_route_and_every_route_the_workspace_uses_is_documented(tmp_path: Path) -> None:
    """Integrators can build their own desktop: whatever the workspace page calls is in OpenAPI."""
    app = create_app(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/o.db", data_dir=tmp_path, environment="test")
    )
    documented = {
        f"{method} {re.sub(r'{[^}]+}', '{}', path)}"
        for path, item in app.openapi()["paths"].items()
        for method in item
    }
    served = {re.sub(r"{[^}]+}", "{}", e) for e in api_endpoints(app) if not e.startswith("head ")}
    assert served - documented == set()
    features = (STATIC_DIR / "js" / "workspace" / "features.js").read_text()
    used = {
        f"{m} {p}" for m, p in re.findall(r"\['(get|post|put|patch|delete)', '(/api/v1/[^']+)'\]", features)
    }
    assert len(used) > 30  # the table was read
    assert used - documented == set()
