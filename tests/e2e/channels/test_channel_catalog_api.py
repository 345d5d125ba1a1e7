"""The channel catalog over HTTP (what the admin page builds its form from) and the account changes
the page makes: a default queue, edits that keep what the form does not show, refusals with a reason."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Agent

Clients = dict[str, Any]
BASE = "/api/v1/admin/channel-accounts"
SMS_SECRETS = {"auth_token": "twilio-token"}
WA_SECRETS = {
    "app_secret": "app-secret",
    "verify_token": "verify-me",
    "access_token": "env:WA_TOKEN_FOR_TESTS",
}
TEMPLATE = {"name": "order_update", "language": "en_US", "category": "UTILITY", "body": "Order {{1}} shipped"}


def by_key(fields: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in fields}


async def queue_id(admin: Agent, name: str) -> str:
    queues = (await admin.http.get("/api/v1/queues")).json()
    return str(next(q["id"] for q in queues if q["name"] == name))


async def test_the_catalog_describes_every_setting_and_secret_for_admins_only(clients: Clients) -> None:
    admin = await clients["agent"]("admin")
    r = await admin.http.get(f"{BASE}/channels")
    assert r.status_code == 200, r.text
    catalog = {c["channel"]: c for c in r.json()}
    assert set(catalog) >= {"custom", "email", "messenger", "sms_twilio", "teams", "telegram", "whatsapp"}
    for entry in catalog.values():
        for field in (*entry["settings"], *entry["secrets"]):
            assert set(field) == {
                "key",
                "label",
                "type",
                "required",
                "default",
                "help",
                "choices",
                "advanced",
            }
            assert field["type"] in {"text", "number", "boolean", "url", "email", "choice"}
        # The old lists stay, and say the same as the fields' `required`.
        assert entry["required_settings"] == [f["key"] for f in entry["settings"] if f["required"]]
        assert entry["required_secrets"] == [f["key"] for f in entry["secrets"] if f["required"]]

    sms = by_key(catalog["sms_twilio"]["settings"])
    assert sms["account_sid"]["required"] is True
    assert (sms["from_number"]["required"], sms["from_number"]["type"]) == (False, "text")
    assert "messaging_service_sid" in sms
    assert (sms["api_base"]["type"], sms["api_base"]["advanced"]) == ("url", True)
    assert sms["api_base"]["default"] == "https://api.twilio.com"
    assert by_key(catalog["sms_twilio"]["secrets"])["auth_token"]["required"] is True

    whatsapp = catalog["whatsapp"]
    assert "waba_id" in by_key(whatsapp["settings"])
    assert whatsapp["managed_settings"] == ["templates"]
    email = by_key(catalog["email"]["settings"])
    assert (email["address"]["type"], email["smtp_port"]["type"]) == ("email", "number")
    assert (email["imap_ssl"]["type"], email["imap_ssl"]["default"]) == ("boolean", True)
    assert email["smtp_starttls"]["default"] is None  # it follows smtp_ssl
    assert {"imap_password", "smtp_password"} <= set(by_key(catalog["email"]["secrets"]))
    messenger = by_key(catalog["messenger"]["settings"])
    assert (messenger["human_agent_tag"]["type"], messenger["human_agent_tag"]["default"]) == (
        "boolean",
        False,
    )
    assert "allow_private_media_hosts" in messenger
    assert by_key(catalog["teams"]["settings"])["jwks_url"]["type"] == "url"

    for who in ("sam", "ana"):  # a supervisor and an agent
        person = await clients["agent"](who)
        assert (await person.http.get(f"{BASE}/channels")).status_code == 403


async def test_an_account_gets_a_default_queue_and_an_unknown_queue_is_refused(clients: Clients) -> None:
    admin = await clients["agent"]("admin")
    sales, support = await queue_id(admin, "Sales"), await queue_id(admin, "Support")
    body = {
        "channel": "sms_twilio",
        "name": "Support SMS",
        "settings": {"account_sid": "AC123", "from_number": "+15005550006"},
        "secrets": SMS_SECRETS,
    }
    refused = await admin.post(BASE, **body, default_queue_id="no-such-queue")
    assert (refused.status_code, refused.json()["detail"]) == (422, "unknown queue 'no-such-queue'")
    no_sender = await admin.post(BASE, **{**body, "settings": {"account_sid": "AC123"}})
    assert no_sender.status_code == 422
    assert no_sender.json()["detail"] == "sms_twilio accounts need from_number or messaging_service_sid"

    created = await admin.post(BASE, **body, default_queue_id=sales)
    assert created.status_code == 201, created.text
    account = created.json()
    assert (account["default_queue_id"], account["settings"]["from_number"]) == (sales, "+15005550006")
    path = f"{BASE}/{account['id']}"
    moved = await admin.http.patch(path, json={"default_queue_id": support}, headers=admin.headers())
    assert moved.json()["default_queue_id"] == support
    wrong = await admin.http.patch(path, json={"default_queue_id": "nope"}, headers=admin.headers())
    assert (wrong.status_code, wrong.json()["detail"]) == (422, "unknown queue 'nope'")
    cleared = await admin.http.patch(path, json={"clear_default_queue": True}, headers=admin.headers())
    assert cleared.json()["default_queue_id"] is None


async def test_an_edit_sends_the_whole_settings_and_a_bad_value_is_refused_with_the_reason(
    clients: Clients, monkeypatch: Any
) -> None:
    """What the page's edit does: the account's settings with the form's fields changed (templates,
    which the form does not show, go back as they were); secrets left empty are not sent."""
    monkeypatch.setenv("WA_TOKEN_FOR_TESTS", "graph-token")
    admin = await clients["agent"]("admin")
    created = await admin.post(
        BASE,
        channel="whatsapp",
        name="Support WhatsApp",
        settings={"phone_number_id": "106540352242922", "templates": [TEMPLATE]},
        secrets=WA_SECRETS,
    )
    assert created.status_code == 201, created.text
    account = created.json()
    path = f"{BASE}/{account['id']}"

    edited = {**account["settings"], "waba_id": "102290129340398"}
    r = await admin.http.patch(path, json={"settings": edited, "secrets": {}}, headers=admin.headers())
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["waba_id"] == "102290129340398"
    assert r.json()["settings"]["templates"] == account["settings"]["templates"]
    assert r.json()["secrets_set"] == ["access_token", "app_secret", "verify_token"]

    bad = {**edited, "waba_id": "not digits"}
    refused = await admin.http.patch(path, json={"settings": bad}, headers=admin.headers())
    assert refused.status_code == 422
    assert refused.json()["detail"] == "waba_id must be the WhatsApp Business Account ID (digits)"
    listed = {a["id"]: a for a in (await admin.http.get(BASE)).json()}
    assert listed[account["id"]]["settings"]["waba_id"] == "102290129340398"  # nothing half-written
