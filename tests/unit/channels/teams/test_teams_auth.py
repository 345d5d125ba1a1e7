"""Bot Connector token validation against the Bot Framework double's key set (ASGI transport, no
sockets): key caching and refetching, the five-minute skew with the injected clock, endorsements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from omniroute.channels.port import SignatureError
from omniroute.channels.teams.auth import ChannelAuthenticator, KeySet
from omniroute.channels.teams.double import APP_ID, BotFrameworkDouble, new_key
from omniroute.core.clock import ManualClock

SERVICE = "https://smba.trafficmanager.net/emea/"
METADATA = "http://login.test/v1/.well-known/openidconfiguration"


@dataclass
class Rig:
    clock: ManualClock
    double: BotFrameworkDouble
    auth: ChannelAuthenticator


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = ManualClock()
    double = BotFrameworkDouble(now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app)) as http:
        keys = KeySet(http, clock, openid_metadata_url=METADATA, jwks_url=None)
        yield Rig(clock, double, ChannelAuthenticator(keys, clock, app_id=APP_ID))


async def test_a_genuine_token_verifies_and_the_key_set_is_cached(rig: Rig) -> None:
    for _ in range(3):
        verified = await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE)}")
        assert verified.claims["serviceurl"] == SERVICE
        ChannelAuthenticator.check_activity(verified, SERVICE, "msteams")
    assert (rig.double.metadata_fetches, rig.double.key_fetches) == (1, 1)
    await rig.clock.advance(24 * 3600)  # a day later the keys are fetched again
    await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE)}")
    assert rig.double.key_fetches == 2


async def test_the_lifetime_allows_five_minutes_of_skew_on_the_injected_clock(rig: Rig) -> None:
    await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE, lifetime=60, issued_ago=60 + 299)}")
    with pytest.raises(SignatureError, match="expired"):
        await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE, lifetime=60, issued_ago=60 + 301)}")
    await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE, issued_ago=-299)}")  # nbf just ahead
    with pytest.raises(SignatureError, match="not valid yet"):
        await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE, issued_ago=-301)}")


async def test_a_rotated_key_is_picked_up_but_unknown_kids_cannot_force_refetches(rig: Rig) -> None:
    await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE)}")
    rig.double.other_keys["bf-key-2026-02"] = (new_key(), ["msteams"])
    for _ in range(5):
        with pytest.raises(SignatureError, match="not in the Bot Framework key set"):
            await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE, kid='bf-key-2026-02')}")
    assert rig.double.key_fetches == 1  # inside the refetch interval: no new fetch
    await rig.clock.advance(300)
    await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE, kid='bf-key-2026-02')}")
    assert rig.double.key_fetches == 2


async def test_keys_that_cannot_be_fetched_answer_503_and_cached_keys_keep_working(rig: Rig) -> None:
    rig.double.keys_down = True
    with pytest.raises(SignatureError) as unavailable:
        await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE)}")
    assert unavailable.value.status == 503
    with pytest.raises(SignatureError) as again:  # not refetched on every request
        await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE)}")
    assert (again.value.status, rig.double.key_fetches) == (503, 1)
    rig.double.keys_down = False
    await rig.clock.advance(300)
    await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE)}")
    rig.double.keys_down = True
    await rig.clock.advance(24 * 3600)  # stale, the refresh fails: the cached keys still verify
    await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE)}")


async def test_the_jwks_url_setting_skips_the_metadata_document() -> None:
    clock = ManualClock()
    double = BotFrameworkDouble(now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app)) as http:
        keys = KeySet(
            http, clock, openid_metadata_url=METADATA, jwks_url="http://login.test/v1/.well-known/keys"
        )
        auth = ChannelAuthenticator(keys, clock, app_id=APP_ID)
        await auth.verify(f"Bearer {double.channel_token(SERVICE)}")
    assert (double.metadata_fetches, double.key_fetches) == (0, 1)


async def test_the_token_is_bound_to_the_activity(rig: Rig) -> None:
    verified = await rig.auth.verify(f"Bearer {rig.double.channel_token(SERVICE)}")
    ChannelAuthenticator.check_activity(verified, SERVICE.rstrip("/"), "msteams")  # trailing slash aside
    with pytest.raises(SignatureError, match="serviceurl claim") as other_service:
        ChannelAuthenticator.check_activity(verified, "https://evil.example/", "msteams")
    assert other_service.value.status == 401
    with pytest.raises(SignatureError, match="not endorsed") as not_endorsed:
        ChannelAuthenticator.check_activity(verified, SERVICE, "slack")
    assert not_endorsed.value.status == 403


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("Basic dXNlcjpwYXNz", "missing"),
        ("Bearer ", "missing"),
        ("Bearer abc.def", "not a JWT"),
    ],
)
async def test_headers_that_carry_no_token(rig: Rig, header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        await rig.auth.verify(header)
