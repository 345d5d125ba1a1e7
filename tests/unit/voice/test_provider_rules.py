"""What makes a provider's configuration valid: URLs, the trusted origin, features."""

from __future__ import annotations

import pytest

from omniroute.core.errors import InvalidInput
from omniroute.voice.providers import (
    Feature,
    check_features,
    check_origin,
    check_presence_target,
    check_url,
    origin_of,
)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://softphone.example.com/panel?x=1", "https://softphone.example.com"),
        ("https://Softphone.Example.com:443/", "https://softphone.example.com"),
        ("https://softphone.example.com:8443/a", "https://softphone.example.com:8443"),
        ("http://127.0.0.1:8765/softphone", "http://127.0.0.1:8765"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
    ],
)
def test_the_origin_is_what_browsers_put_in_message_events(url: str, origin: str) -> None:
    assert origin_of(check_url(url, "softphone URL")) == origin
    assert check_origin(None, url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "http://softphone.example.com/",  # plain http off this machine
        "ftp://softphone.example.com/",
        "softphone.example.com/panel",
        "https://user:pw@softphone.example.com/",
        "https://",
    ],
)
def test_urls_must_be_https_or_loopback(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_url(url, "softphone URL")


def test_an_explicit_origin_is_an_origin_not_a_page() -> None:
    assert check_origin("https://frames.example.net/", "https://softphone.example.com/p") == (
        "https://frames.example.net"
    )
    with pytest.raises(InvalidInput, match="without a path"):
        check_origin("https://frames.example.net/phone", "https://softphone.example.com/p")


def test_features_are_known_and_presence_sync_needs_a_target() -> None:
    chosen = check_features(["presence_sync", "screen_pop"])
    assert chosen == {Feature.PRESENCE_SYNC, Feature.SCREEN_POP}
    with pytest.raises(InvalidInput, match="unknown features fax"):
        check_features(["fax"])
    with pytest.raises(InvalidInput, match="presence_url"):
        check_presence_target(chosen, None)
    assert check_presence_target(frozenset(), "https://ccaas.example.com/presence") == (
        "https://ccaas.example.com/presence"
    )
