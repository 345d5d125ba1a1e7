"""Teams customers' files: inline images with the bot's token (Microsoft's hosts and the configured
Bot Framework only), SharePoint download links without it, and the media SSRF guard for the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from omniroute.channels import media
from omniroute.channels.port import Attachment, MediaFetchFailed
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.teams import SPEC
from omniroute.channels.teams.adapter import TeamsAdapter, _microsoft_host
from omniroute.channels.teams.double import APP_ID, APP_PASSWORD, BotFrameworkDouble, SharePointDouble
from omniroute.core.clock import ManualClock

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
PDF = b"%PDF-1.7\n%%EOF\n"
#: Public addresses the fake resolver gives Microsoft's and SharePoint's names; one private name.
DNS = {
    "smba.trafficmanager.net": ["52.114.132.14"],
    "eu-api.asm.skype.com": ["52.113.194.132"],
    "contoso-my.sharepoint.com": ["13.107.136.9"],
    "files.intranet.example": ["10.20.0.7"],
}


@dataclass
class Rig:
    double: BotFrameworkDouble
    sharepoint: SharePointDouble
    http: httpx.AsyncClient
    clock: ManualClock
    resolved: list[str]

    def adapter(self, password: str = APP_PASSWORD, **settings: object) -> TeamsAdapter:
        config = AccountConfig(
            id="acc-1",
            channel="teams",
            name="IT help desk",
            settings={"app_id": APP_ID, "token_url": "http://login.test/botframework.com/oauth2/v2.0/token"}
            | settings,
            secrets={"app_password": password},
            webhook_url="https://omniroute.test/webhooks/acc-1",
        )
        adapter = SPEC.factory(AdapterContext(config=config, http=self.http, clock=self.clock))
        assert isinstance(adapter, TeamsAdapter)
        return adapter


@pytest.fixture
async def rig(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    clock = ManualClock()
    double = BotFrameworkDouble(now=clock.now)
    sharepoint = SharePointDouble()
    resolved: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return DNS[host]

    monkeypatch.setattr(media, "system_resolve", resolve)
    both = Starlette(routes=[*double.app.routes, *sharepoint.app.routes])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=both)) as http:
        yield Rig(double, sharepoint, http, clock, resolved)


async def test_inline_images_on_microsofts_hosts_are_fetched_with_the_bots_token(rig: Rig) -> None:
    rig.double.attachments["0-weu-d3-4f1a"] = ("image/png", PNG)
    url = "https://smba.trafficmanager.net/emea/v3/attachments/0-weu-d3-4f1a/views/original"
    got = await rig.adapter().fetch_media(Attachment(url, "image/*"), 10_000)
    assert (got.data, got.content_type) == (PNG, "image/png")
    assert rig.double.attachment_requests == [f"Bearer {rig.double.issued[0].token}"]
    assert rig.resolved == ["smba.trafficmanager.net"]  # a Microsoft host still passes the guard


async def test_the_configured_bot_framework_is_trusted_without_resolving(rig: Rig) -> None:
    rig.double.attachments["att-7"] = ("image/jpeg", PNG)
    adapter = rig.adapter(default_service_url="http://connector.test/emea/")
    got = await adapter.fetch_media(
        Attachment("http://connector.test/emea/v3/attachments/att-7/views/original", "image/*"), 10_000
    )
    assert got.content_type == "image/jpeg"
    assert rig.double.attachment_requests == [f"Bearer {rig.double.issued[0].token}"]
    assert rig.resolved == []


async def test_sharepoint_links_get_no_token_and_private_hosts_are_refused(rig: Rig) -> None:
    url = rig.sharepoint.add("https://contoso-my.sharepoint.com", "8f1c2d3e", "application/pdf", PDF)
    adapter = rig.adapter()
    got = await adapter.fetch_media(Attachment(url, "application/pdf", "vpn-log.pdf"), 10_000)
    assert (got.data, got.filename) == (PDF, "vpn-log.pdf")
    assert rig.sharepoint.requests == [None]
    assert rig.double.issued == []  # no token was even requested

    private = rig.sharepoint.add("https://files.intranet.example", "9a9a", "application/pdf", PDF)
    with pytest.raises(MediaFetchFailed, match="private address") as refused:
        await adapter.fetch_media(Attachment(private, "application/pdf"), 10_000)
    assert refused.value.transient is False
    assert len(rig.sharepoint.requests) == 1
    opted_in = rig.adapter(allow_private_media_hosts=True)
    assert (await opted_in.fetch_media(Attachment(private, "application/pdf"), 10_000)).data == PDF


async def test_a_refused_bot_password_fails_the_download_for_good(rig: Rig) -> None:
    url = "https://eu-api.asm.skype.com/v1/objects/0-weu-d3-4f1a/views/imgo"
    with pytest.raises(MediaFetchFailed, match="no bot token") as failed:
        await rig.adapter(password="wrong").fetch_media(Attachment(url, "image/*"), 10_000)
    assert failed.value.transient is False
    assert rig.double.attachment_requests == []


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("https://smba.trafficmanager.net/amer/v3/attachments/x/views/original", True),
        ("https://eu-api.asm.skype.com/v1/objects/x/views/imgo", True),
        ("https://smba.infra.gcc.teams.microsoft.com/teams/v3/attachments/x", True),
        ("http://smba.trafficmanager.net/amer/v3/attachments/x", False),  # not over TLS
        ("https://smba.trafficmanager.net.evil.example/v3/attachments/x", False),
        ("https://evil.example/?next=.botframework.com", False),
        ("https://notbotframework.com/x", False),
        ("https://contoso-my.sharepoint.com/personal/x/_layouts/15/download.aspx", False),
    ],
)
def test_which_hosts_get_the_bots_token(url: str, token: bool) -> None:
    assert _microsoft_host(url) is token
