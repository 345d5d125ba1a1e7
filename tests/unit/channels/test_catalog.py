from omniroute.channels.catalog import installed_channels


def test_channel_packages_are_found_by_their_spec() -> None:
    registry = installed_channels()
    custom = registry.get("custom")
    assert custom is not None
    assert custom.required_secrets == ("inbound_secret", "outbound_secret")
    assert registry.get("webchat") is None  # web chat is built in: no adapter, no account
