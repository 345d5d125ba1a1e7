"""Account settings are read leniently (forms send strings) but checked, with the key named."""

from typing import Any

import pytest

from omniroute.channels.email.settings import EmailSettings, validate_settings
from omniroute.channels.registry import AccountConfig


def read(settings: dict[str, Any], **secrets: str) -> EmailSettings:
    config = AccountConfig("a", "email", "Acme Support", settings, {"webhook_secret": "s", **secrets}, "u")
    return EmailSettings.from_config(config)


def test_defaults_follow_the_tls_mode() -> None:
    s = read({"address": "Acme <Support@Acme.test>", "smtp_host": "smtp.acme.test"})
    assert (s.address, s.display_name, s.domain) == ("Support@acme.test", "Acme Support", "acme.test")
    assert (s.smtp_starttls, s.smtp_ssl, s.smtp_port, s.smtp_username) == (True, False, 587, s.address)
    assert (s.imap_host, s.imap_ssl, s.imap_port, s.mailbox) == (None, True, 993, "INBOX")
    assert s.smtp_password is None
    implicit = read({"address": "a@b.c", "smtp_host": "h", "smtp_ssl": "true"}, smtp_password="p")
    assert (implicit.smtp_ssl, implicit.smtp_starttls, implicit.smtp_port) == (True, False, 465)
    assert implicit.smtp_password == "p"
    plain = read({"address": "a@b.c", "smtp_host": "h", "smtp_starttls": "off", "imap_ssl": False})
    assert (plain.smtp_port, plain.imap_port) == (25, 143)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"address": "not an address", "smtp_host": "h"}, "address"),
        ({"address": "a@b.c", "smtp_host": " "}, "smtp_host"),
        ({"address": "a@b.c", "smtp_host": "h", "smtp_port": "smtp"}, "smtp_port"),
        ({"address": "a@b.c", "smtp_host": "h", "smtp_port": 70000}, "smtp_port"),
        ({"address": "a@b.c", "smtp_host": "h", "imap_ssl": "maybe"}, "imap_ssl"),
        ({"address": "a@b.c", "smtp_host": "h", "smtp_ssl": True, "smtp_starttls": True}, "exclude"),
        ({"address": "a@b.c", "smtp_host": "h", "authserv_id": "mx; dmarc=pass"}, "authserv_id"),
    ],
)
def test_bad_settings_are_refused_by_name(settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        read(settings)


def test_the_receiving_servers_to_trust_default_to_none() -> None:
    assert read({"address": "a@b.c", "smtp_host": "h"}).authserv_ids == frozenset()
    s = read({"address": "a@b.c", "smtp_host": "h", "authserv_id": "MX.Google.com, mx.acme.test"})
    assert s.authserv_ids == {"mx.google.com", "mx.acme.test"}
    assert read({"address": "a@b.c", "smtp_host": "h", "authserv_id": ["mx.acme.test"]}).authserv_ids == {
        "mx.acme.test"
    }


def test_saving_an_account_checks_the_authserv_id() -> None:
    assert validate_settings({"authserv_id": "mx.google.com"}, {}) == []
    assert validate_settings({}, {}) == []
    [problem] = validate_settings({"authserv_id": 5}, {})
    assert "authserv_id" in problem
