"""Attachments over real HTTP: agent and customer upload, send, receive live and download; access
across conversations; limits; CSRF; the signed public link a provider fetches outbound media from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from omniroute.channels.port import InboundMessage, Outbound, Sent, WebhookRequest, WebhookResult
from omniroute.channels.registry import AdapterContext, ChannelSpec
from tests.e2e.conftest import Agent, Customer, LiveServer, Socket

Clients = dict[str, Any]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


async def chat(clients: Clients) -> tuple[Agent, Socket, Customer, Socket]:
    """A web chat that Ana has accepted, with both sides' sockets open."""
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    customer_ws, _ = await lee.connect()
    offer = await agent_ws.next("offer.created", conversation_id=lee.conversation_id)
    accepted = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    await agent_ws.messages_until(lee.conversation_id, 2)
    await customer_ws.messages_until(lee.conversation_id, 2)
    return ana, agent_ws, lee, customer_ws


async def agent_upload(ana: Agent, conversation_id: str, name: str, data: bytes, **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", ana.headers())
    return await ana.http.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        files={"file": (name, data, kw.pop("content_type", "application/octet-stream"))},
        headers=headers,
    )


async def customer_upload(lee: Customer, name: str, data: bytes, content_type: str) -> httpx.Response:
    return await lee.http.post(
        f"{lee.prefix}/conversation/attachments",
        files={"file": (name, data, content_type)},
        headers=lee.headers(),
    )


async def test_agent_sends_an_image_customer_sends_a_pdf_both_download(
    server: LiveServer, clients: Clients
) -> None:
    ana, agent_ws, lee, customer_ws = await chat(clients)
    cid = lee.conversation_id

    up = await agent_upload(ana, cid, "../photo.png", PNG, content_type="application/pdf")
    assert up.status_code == 201, up.text
    image = up.json()
    assert (image["filename"], image["content_type"], image["size"]) == ("photo.png", "image/png", len(PNG))
    again = await agent_upload(ana, cid, "../photo.png", PNG)
    assert (again.status_code, again.json()["id"]) == (200, image["id"])  # the same file is reused

    # Before it is sent, the customer cannot fetch the agent's upload.
    hidden = await lee.http.get(f"{lee.prefix}/conversation/attachments/{image['id']}", headers=lee.headers())
    assert hidden.status_code == 404

    sent = await ana.post(
        f"/api/v1/conversations/{cid}/messages", text="", attachment_ids=[image["id"]], client_message_id="m1"
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["attachments"][0]["id"] == image["id"]
    retry = await ana.post(
        f"/api/v1/conversations/{cid}/messages", text="", attachment_ids=[image["id"]], client_message_id="m1"
    )
    assert (retry.status_code, retry.json()["id"]) == (200, sent.json()["id"])

    live = await customer_ws.next("message.posted", conversation_id=cid)
    assert live["message"]["attachments"] == [
        {
            "id": image["id"],
            "filename": "photo.png",
            "content_type": "image/png",
            "size": len(PNG),
            "url": None,
        }
    ]
    assert "sender_id" not in live["message"]
    agent_live = await agent_ws.next("message.posted", conversation_id=cid)
    assert agent_live["attachments"][0]["id"] == image["id"]

    got = await lee.http.get(f"{lee.prefix}/conversation/attachments/{image['id']}", headers=lee.headers())
    assert got.status_code == 200
    assert got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("inline;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"] == "sandbox"

    # The customer answers with a PDF, attachment only.
    pdf = await customer_upload(lee, "contract.pdf", PDF, "image/png")
    assert pdf.status_code == 201, pdf.text
    assert pdf.json()["content_type"] == "application/pdf"
    said = await lee.http.post(
        f"{lee.prefix}/conversation/messages",
        json={"text": "", "attachment_ids": [pdf.json()["id"]], "client_message_id": "c1"},
        headers=lee.headers(),
    )
    assert said.status_code == 201, said.text
    seen = await agent_ws.next("message.posted", conversation_id=cid, sender_kind="customer")
    assert seen["message"]["attachments"][0]["filename"] == "contract.pdf"

    down = await ana.http.get(f"/api/v1/conversations/{cid}/attachments/{pdf.json()['id']}")
    assert down.status_code == 200
    assert down.content == PDF
    assert down.headers["content-disposition"] == (
        "attachment; filename=\"contract.pdf\"; filename*=UTF-8''contract.pdf"
    )
    assert down.headers["content-security-policy"] == "sandbox"

    # History (REST) and reconnect snapshots carry the files too.
    history = (await lee.http.get(f"{lee.prefix}/conversation", headers=lee.headers())).json()
    assert [m["attachments"][0]["id"] for m in history["messages"] if m["attachments"]] == [
        image["id"],
        pdf.json()["id"],
    ]
    fresh, _ = await ana.connect({cid: 0})
    replayed = await fresh.messages_until(cid, seen["seq"])
    assert replayed[-1]["message"]["attachments"][0]["id"] == pdf.json()["id"]

    # The transcript links the files with signed links that work without any credentials.
    text = (await lee.http.get(f"{lee.prefix}/conversation/transcript", headers=lee.headers())).text
    link = next(line.split(" ")[-1] for line in text.splitlines() if "[file: contract.pdf]" in line)
    async with httpx.AsyncClient() as anyone:
        fetched = await anyone.get(link)
    assert (fetched.status_code, fetched.content) == (200, PDF)


async def test_files_stay_in_their_conversation(server: LiveServer, clients: Clients) -> None:
    ana, _, lee, _ = await chat(clients)
    ben = await clients["agent"]("ben")
    kim = await clients["customer"]().start(name="Kim")
    mine = (await customer_upload(lee, "a.pdf", PDF, "application/pdf")).json()

    # Another customer's token, another agent, or another conversation's path: never found.
    other = await kim.http.get(f"{kim.prefix}/conversation/attachments/{mine['id']}", headers=kim.headers())
    assert other.status_code == 404
    assert (
        await ben.http.get(f"/api/v1/conversations/{lee.conversation_id}/attachments/{mine['id']}")
    ).status_code == 404
    wrong_path = await ana.http.get(f"/api/v1/conversations/{kim.conversation_id}/attachments/{mine['id']}")
    assert wrong_path.status_code == 404
    no_token = await lee.http.get(
        f"{lee.prefix}/conversation/attachments/{mine['id']}", headers={"Origin": server.origin}
    )
    assert no_token.status_code == 401
    # Ben cannot upload into Ana's conversation either, and a customer cannot send Kim's file.
    assert (await agent_upload(ben, lee.conversation_id, "x.pdf", PDF)).status_code == 404
    theirs = (await customer_upload(kim, "k.pdf", PDF, "application/pdf")).json()
    refused = await lee.http.post(
        f"{lee.prefix}/conversation/messages",
        json={"text": "look", "attachment_ids": [theirs["id"]]},
        headers=lee.headers(),
    )
    assert refused.status_code == 422
    assert "unknown attachment" in refused.json()["detail"]
    # Ana cannot send the customer's file as her own message.
    as_agent = await ana.post(
        f"/api/v1/conversations/{lee.conversation_id}/messages", text="x", attachment_ids=[mine["id"]]
    )
    assert as_agent.status_code == 422


async def test_limits_and_csrf(server: LiveServer, clients: Clients) -> None:
    ana, _, lee, _ = await chat(clients)
    cid = lee.conversation_id
    limit = server.container.attachments.limits.max_bytes
    big = await agent_upload(ana, cid, "big.pdf", b"%PDF-" + b"0" * limit)
    assert big.status_code == 413
    assert "limit" in big.json()["detail"]
    blocked = await agent_upload(ana, cid, "setup.exe", b"hello")
    assert blocked.status_code == 415
    assert ".exe" in blocked.json()["detail"]
    disguised = await customer_upload(lee, "invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf")
    assert disguised.status_code == 415
    empty = await customer_upload(lee, "empty.txt", b"", "text/plain")
    assert empty.status_code == 422
    not_multipart = await ana.post(f"/api/v1/conversations/{cid}/attachments", file="nope")
    assert not_multipart.status_code == 422
    no_csrf = await agent_upload(ana, cid, "a.pdf", PDF, headers={})
    assert no_csrf.status_code == 403
    # The CSRF token may also travel as a form field of the multipart body.
    in_form = await ana.http.post(
        f"/api/v1/conversations/{cid}/attachments",
        files={"file": ("a.pdf", PDF, "application/pdf")},
        data={"csrf_token": ana.csrf},
    )
    assert in_form.status_code == 201, in_form.text
    # The text limit is unchanged for messages with files.
    too_long = await ana.post(
        f"/api/v1/conversations/{cid}/messages",
        text="x" * (28 * 1024 + 1),
        attachment_ids=[in_form.json()["id"]],
    )
    assert too_long.status_code == 413
    # A widget can set a lower limit; its config tells the widget.
    config = (await lee.http.get(f"{lee.prefix}/config", headers={"Origin": server.origin})).json()
    assert config["attachments"]["max_bytes"] == limit
    assert "exe" in config["attachments"]["blocked_extensions"]


@dataclass
class Recorder:
    """A channel adapter double at the port: what the channel service hands an adapter to send."""

    sent: list[Outbound] = field(default_factory=list)

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        body = json.loads(request.body)
        return WebhookResult(items=[InboundMessage(body["id"], body["from"], body["text"])])

    async def send(self, message: Outbound) -> Sent:
        self.sent.append(message)
        return Sent(f"p-{len(self.sent)}")

    async def aclose(self) -> None:
        return None


async def test_channel_replies_carry_signed_expiring_links(server: LiveServer, clients: Clients) -> None:
    recorder = Recorder()

    def factory(ctx: AdapterContext) -> Recorder:
        return recorder

    server.container.channels.registry.register(
        ChannelSpec(channel="recorder", title="Recorder", factory=factory)
    )
    admin = await clients["agent"]("admin")
    account = await admin.post(
        "/api/v1/admin/channel-accounts", channel="recorder", name="Rec", settings={}, secrets={}
    )
    assert account.status_code == 201, account.text
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        hook = await http.post(
            f"/webhooks/{account.json()['id']}", json={"id": "in-1", "from": "+34600000001", "text": "hi"}
        )
    assert hook.status_code == 200
    offer = await agent_ws.next("offer.created")
    cid = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    up = (await agent_upload(ana, cid, "label.pdf", PDF)).json()
    r = await ana.post(f"/api/v1/conversations/{cid}/messages", text="your label", attachment_ids=[up["id"]])
    assert r.status_code == 201, r.text
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")

    outbound = recorder.sent[-1]
    assert outbound.text == "your label"
    [file] = outbound.attachments
    assert (file.filename, file.content_type, file.size) == ("label.pdf", "application/pdf", len(PDF))
    assert file.url.startswith(f"{server.base_url}/files/{up['id']}?exp=")
    async with httpx.AsyncClient() as provider:  # no cookie, no token: the signature is the key
        fetched = await provider.get(file.url)
        assert (fetched.status_code, fetched.content) == (200, PDF)
        assert fetched.headers["content-security-policy"] == "sandbox"
        forged = await provider.get(file.url[:-2] + ("AA" if not file.url.endswith("AA") else "BB"))
        assert forged.status_code == 403
        moved = await provider.get(file.url.replace(up["id"], r.json()["id"]))
        assert moved.status_code == 403
    await server.clock.advance(server.container.settings.attachment_link_ttl_seconds + 1)
    async with httpx.AsyncClient() as provider:
        assert (await provider.get(file.url)).status_code == 403
