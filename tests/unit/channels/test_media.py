"""Channel media plumbing shared by every adapter: the capped download, receipts that carry bytes,
the transcript notes, and the inline/url attachments of the custom channel API."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from omniroute.channels import codec, media
from omniroute.channels.custom import signing
from omniroute.channels.custom.adapter import CustomChannelAdapter
from omniroute.channels.media import download, filename_for
from omniroute.channels.meta_common.graph import _same_digest
from omniroute.channels.port import (
    Attachment,
    InboundMessage,
    MalformedPayload,
    MediaFetchFailed,
    MediaTooLarge,
    WebhookRequest,
)
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.core.clock import ManualClock

DATA = bytes(range(256)) * 40  # 10 KiB


async def _chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _server(request: httpx.Request) -> httpx.Response:
    """A provider's file server: streams without Content-Length, redirects, fails on demand."""
    path = request.url.path
    if path == "/stream":
        return httpx.Response(200, content=_chunks(DATA), headers={"content-type": "image/png"})
    if path == "/declared":
        return httpx.Response(200, content=DATA, headers={"content-type": "application/pdf"})
    if path == "/moved":
        return httpx.Response(307, headers={"location": "https://cdn.example/auth"})
    if path == "/auth":
        seen = request.headers.get("authorization")
        return httpx.Response(200, content=(seen or "none").encode())
    return httpx.Response(int(path.strip("/")))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_server)) as client:
        yield client


async def test_a_streamed_file_is_read_up_to_the_limit(http: httpx.AsyncClient) -> None:
    got = await download(http, "https://files.example/stream", max_bytes=len(DATA))
    assert (got.data, got.content_type) == (DATA, "image/png")
    with pytest.raises(MediaTooLarge, match="more than"):
        await download(http, "https://files.example/stream", max_bytes=len(DATA) - 1)
    with pytest.raises(MediaTooLarge, match=f"{len(DATA)} bytes"):  # the header says so: not read
        await download(http, "https://files.example/declared", max_bytes=100)


async def test_redirects_are_followed_without_our_credentials(http: httpx.AsyncClient) -> None:
    got = await download(http, "https://api.example/moved", max_bytes=100, auth=("sid", "token"))
    assert got.data == b"none"  # the CDN on another host saw no Authorization header
    same_host = await download(http, "https://api.example/auth", max_bytes=100, auth=("sid", "token"))
    assert same_host.data.startswith(b"Basic ")


@pytest.mark.parametrize(
    ("status", "transient"), [(404, False), (401, False), (429, True), (500, True), (503, True)]
)
async def test_error_answers_say_whether_a_retry_may_help(
    http: httpx.AsyncClient, status: int, transient: bool
) -> None:
    with pytest.raises(MediaFetchFailed) as failed:
        await download(http, f"https://files.example/{status}", max_bytes=100)
    assert (failed.value.reason, failed.value.transient) == (f"HTTP {status}", transient)


async def test_only_http_urls_are_fetched_and_secrets_never_reach_the_reason() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(MediaFetchFailed) as failed:
            await download(
                client, "https://api.example/file/bot123:SECRET/x.jpg", max_bytes=1, redact="123:SECRET"
            )
        assert "SECRET" not in failed.value.reason
        assert failed.value.transient
        with pytest.raises(MediaFetchFailed) as local:
            await download(client, "file:///etc/passwd", max_bytes=1)
        assert not local.value.transient


def test_names_for_files_that_came_without_one() -> None:
    assert filename_for("image/jpeg", "1") == "image-1.jpg"
    assert filename_for("audio/ogg; codecs=opus", "2") == "audio-2.ogg"
    assert filename_for("application/x-unknown-thing", "3") == "file-3"


def test_receipts_carry_delivered_bytes_base64_encoded() -> None:
    message = InboundMessage(
        provider_message_id="m-1",
        sender_address="lee@example.com",
        text="see attached",
        attachments=(
            Attachment("email-attachment:sha256:ab", "text/csv", "a.csv", 4, content=b"a,b\n"),
            Attachment("https://files.example/x.png", "image/png", "x.png"),
        ),
    )
    kind, _, payload = codec.encode(message)
    decoded = codec.decode(kind, json.loads(json.dumps(payload)))
    assert isinstance(decoded, InboundMessage)
    assert [a.content for a in decoded.attachments] == [b"a,b\n", None]
    assert decoded.attachments == message.attachments


def test_the_transcript_notes_files_that_were_not_stored() -> None:
    message = InboundMessage(
        provider_message_id="m-1",
        sender_address="+15558675310",
        text="photos",
        attachments=(
            Attachment("https://api.twilio.com/a", "image/jpeg"),
            Attachment("https://api.twilio.com/b", "image/png"),
            Attachment("telegram-file:XYZ", "application/pdf", "x.pdf"),
        ),
    )
    assert codec.as_text(message, {0: None, 1: "too large", 2: "fetch failed"}) == (
        "photos\n"
        "[attachment not stored: too large: image/png] https://api.twilio.com/b\n"
        "[attachment not stored: fetch failed: x.pdf]"  # a file id is no link: none shown
    )
    only_files = InboundMessage("m-2", "+15558675310", "", attachments=message.attachments[:1])
    assert codec.as_text(only_files, {0: None}) == ""
    assert codec.as_text(only_files) == "[attachment: image/jpeg] https://api.twilio.com/a"


def test_meta_announces_sha256_in_hex_or_base64() -> None:
    digest = hashlib.sha256(DATA)
    assert _same_digest(hashlib.sha256(DATA), digest.hexdigest().upper())
    assert _same_digest(hashlib.sha256(DATA), base64.b64encode(digest.digest()).decode())
    assert not _same_digest(hashlib.sha256(DATA), hashlib.sha256(b"other").hexdigest())
    assert not _same_digest(hashlib.sha256(DATA), "not a digest")


def _custom_request(event: dict[str, object], clock: ManualClock) -> WebhookRequest:
    body = json.dumps(event).encode()
    header = signing.signature_header("in", body, int(clock.now().timestamp()))
    return WebhookRequest("POST", "https://x/webhooks/a", {signing.HEADER: header}, {}, body)


async def test_the_custom_api_takes_files_by_url_or_inline_base64() -> None:
    clock = ManualClock()
    config = AccountConfig(
        id="a",
        channel="custom",
        name="Acme",
        settings={"outbound_url": "https://acme.example/out"},
        secrets={"inbound_secret": "in", "outbound_secret": "out"},
        webhook_url="https://x/webhooks/a",
    )
    async with httpx.AsyncClient() as client:
        adapter = CustomChannelAdapter(AdapterContext(config=config, http=client, clock=clock))
        event: dict[str, object] = {
            "type": "message",
            "id": "m-1",
            "from": {"id": "u-1"},
            "attachments": [
                {
                    "data": base64.b64encode(b"hello").decode(),
                    "filename": "hi.txt",
                    "content_type": "text/plain",
                },
                {"url": "https://acme.example/f/1", "size": 12},
            ],
        }
        result = await adapter.handle_webhook(_custom_request(event, clock))
        [message] = result.items
        assert isinstance(message, InboundMessage)
        inline, linked = message.attachments
        assert (inline.content, inline.size, inline.filename) == (b"hello", 5, "hi.txt")
        assert inline.url == "inline:sha256:" + hashlib.sha256(b"hello").hexdigest()
        assert (linked.url, linked.size, linked.content) == ("https://acme.example/f/1", 12, None)
        for bad, reason in (
            ({"data": "%%%"}, "base64"),
            ({"url": "ftp://acme.example/f"}, "http"),
            ({"filename": "x"}, "'url' or base64 'data'"),
        ):
            event["attachments"] = [bad]
            with pytest.raises(MalformedPayload, match=reason):
                await adapter.handle_webhook(_custom_request(event, clock))


# -- the SSRF guard -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.5", "private"),
        ("192.168.1.20", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "private"),  # the cloud metadata service (link-local, private in Python)
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "private"),  # noqa: S104 - an address to refuse, not one to bind
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
        ("::1", "loopback"),
        ("fe80::1", "private"),
        ("fd00::7", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("2002:a00:5::1", "private"),  # 6to4 around 10.0.0.5
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_which_addresses_a_media_download_may_reach(address: str, why: str | None) -> None:
    assert media.refusal(ipaddress.ip_address(address)) == why


class Seen:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/hop":
            return httpx.Response(302, headers={"location": "http://internal.example/secret"})
        if request.url.path == "/same":
            return httpx.Response(302, headers={"location": "/file"})
        seen = request.headers.get("authorization") or "none"
        return httpx.Response(200, content=seen.encode(), headers={"content-type": "text/plain"})


def resolver(table: dict[str, list[str]]) -> media.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


PUBLIC = {"files.example": ["93.184.215.14"], "internal.example": ["10.0.0.5"]}


async def test_a_guarded_download_connects_to_the_address_it_checked() -> None:
    seen = Seen()
    guard = media.HostGuard(resolve=resolver(PUBLIC))
    async with httpx.AsyncClient(transport=httpx.MockTransport(seen.handler)) as client:
        got = await media.download(client, "https://files.example/file?sig=1", max_bytes=100, guard=guard)
    assert got.data == b"none"
    [request] = seen.requests
    # Pinned: the connection goes to the checked address, the name stays in Host and TLS (SNI).
    assert (request.url.host, request.url.query) == ("93.184.215.14", b"sig=1")
    assert request.headers["host"] == "files.example"
    assert request.extensions["sni_hostname"] == "files.example"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "https://internal.example/file",  # a public-looking name that resolves to 10.0.0.5
    ],
)
async def test_private_hosts_are_refused_before_any_connection(url: str) -> None:
    seen = Seen()
    guard = media.HostGuard(resolve=resolver(PUBLIC))
    async with httpx.AsyncClient(transport=httpx.MockTransport(seen.handler)) as client:
        with pytest.raises(MediaFetchFailed, match="allow_private_media_hosts") as refused:
            await media.download(client, url, max_bytes=100, guard=guard)
    assert refused.value.transient is False
    assert seen.requests == []


async def test_every_redirect_is_checked_and_credentials_stay_on_their_origin() -> None:
    seen = Seen()
    guard = media.HostGuard(resolve=resolver(PUBLIC))
    async with httpx.AsyncClient(transport=httpx.MockTransport(seen.handler)) as client:
        with pytest.raises(MediaFetchFailed, match=r"internal\.example resolves to a private"):
            await media.download(client, "https://files.example/hop", max_bytes=100, guard=guard)
        assert len(seen.requests) == 1  # the redirect target was never contacted
        same = await media.download(
            client, "https://files.example/same", max_bytes=100, auth=("sid", "tok"), guard=guard
        )
    assert same.data.startswith(b"Basic ")  # same origin: the credentials followed


async def test_the_opt_in_allows_private_hosts_and_unknown_names_may_heal() -> None:
    seen = Seen()
    opted_in = media.HostGuard.for_settings({media.ALLOW_PRIVATE_SETTING: True})
    assert media.HostGuard.for_settings({media.ALLOW_PRIVATE_SETTING: "yes"}).allow_private is False
    async with httpx.AsyncClient(transport=httpx.MockTransport(seen.handler)) as client:
        got = await media.download(client, "http://127.0.0.1:8000/file", max_bytes=100, guard=opted_in)
        assert got.data == b"none"
        guard = media.HostGuard(resolve=resolver(PUBLIC))
        with pytest.raises(MediaFetchFailed, match="cannot resolve") as unknown:
            await media.download(client, "https://nowhere.example/f", max_bytes=100, guard=guard)
    assert unknown.value.transient is True  # DNS may answer on a later try


async def test_the_custom_channel_refuses_private_urls_unless_the_account_opts_in() -> None:
    seen = Seen()
    clock = ManualClock()
    attachment = Attachment("http://10.0.0.5/files/box.png", "image/png", "box.png")

    def adapter(settings: dict[str, object], client: httpx.AsyncClient) -> CustomChannelAdapter:
        config = AccountConfig(
            id="acc-1",
            channel="custom",
            name="Acme",
            settings={"outbound_url": "https://acme.example/out", **settings},
            secrets={"inbound_secret": "in", "outbound_secret": "out"},
            webhook_url="https://omniroute.test/webhooks/acc-1",
        )
        return CustomChannelAdapter(AdapterContext(config=config, http=client, clock=clock))

    async with httpx.AsyncClient(transport=httpx.MockTransport(seen.handler)) as client:
        with pytest.raises(MediaFetchFailed, match=r"10\.0\.0\.5 resolves to a private address"):
            await adapter({}, client).fetch_media(attachment, 100)
        assert seen.requests == []
        got = await adapter({"allow_private_media_hosts": True}, client).fetch_media(attachment, 100)
    assert (got.data, got.filename) == (b"none", "box.png")
