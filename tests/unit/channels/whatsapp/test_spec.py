"""Both Meta channels are discovered from their packages; the shared Meta code is not a channel."""

from __future__ import annotations

from omniroute.channels.catalog import installed_channels


def test_whatsapp_and_messenger_are_installed_and_meta_common_is_not() -> None:
    registry = installed_channels()
    whatsapp, messenger = registry.get("whatsapp"), registry.get("messenger")
    assert whatsapp is not None
    assert messenger is not None
    assert whatsapp.required_settings == ("phone_number_id",)
    assert messenger.required_settings == ("page_id",)
    for spec in (whatsapp, messenger):
        assert spec.required_secrets == ("app_secret", "verify_token", "access_token")
    assert registry.get("meta_common") is None
