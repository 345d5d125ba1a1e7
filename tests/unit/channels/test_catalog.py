from omniroute.channels.catalog import discover


def test_every_shipped_channel_package_imports() -> None:
    _, failures = discover()
    assert failures == {}


def test_channel_packages_are_found_by_their_spec() -> None:
    registry, _ = discover()
    custom = registry.get("custom")
    assert custom is not None
    assert custom.required_secrets == ("inbound_secret", "outbound_secret")
    assert registry.get("webchat") is None  # web chat is built in: no adapter, no account


def test_a_channel_can_refuse_an_unusable_account() -> None:
    registry, _ = discover()
    sms = registry.get("sms_twilio")
    assert sms is not None
    assert sms.validate is not None
    assert sms.validate({"account_sid": "AC1"}, {"auth_token": "t"}) == [
        "sms_twilio accounts need from_number or messaging_service_sid"
    ]
    assert sms.validate({"account_sid": "AC1", "from_number": "+15005550006"}, {"auth_token": "t"}) == []
