"""An email account's settings, read once from its channel account configuration.

Settings arrive as JSON from the admin API (or a form, where booleans come as strings), so every value
is read leniently but checked: a wrong port or an impossible TLS combination is refused when the
adapter is built, with the key named.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from omniroute.channels.email.authentication import parse_authserv_ids
from omniroute.channels.registry import AccountConfig

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
#: The transcript's per-message limit is 28 KB; this leaves room for attachment lines.
DEFAULT_MAX_TEXT_BYTES = 24 * 1024


@dataclass(frozen=True)
class EmailSettings:
    address: str
    display_name: str
    smtp_host: str
    smtp_port: int
    smtp_starttls: bool
    smtp_ssl: bool
    smtp_username: str
    smtp_password: str | None
    imap_host: str | None
    imap_port: int
    imap_ssl: bool
    imap_username: str
    imap_password: str | None
    mailbox: str
    tls_ca_file: str | None
    plus_address_replies: bool
    poll_seconds: float
    timeout_seconds: float
    max_text_bytes: int
    webhook_secret: str
    #: The receiving servers whose Authentication-Results verify a sender (authentication.py);
    #: empty: no sender is verified.
    authserv_ids: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: AccountConfig) -> EmailSettings:
        s, secrets = config.settings, config.secrets
        address = _address(s.get("address"))
        smtp_ssl = _bool(s, "smtp_ssl", default=False)
        smtp_starttls = _bool(s, "smtp_starttls", default=not smtp_ssl)
        if smtp_ssl and smtp_starttls:
            msg = "smtp_ssl (implicit TLS) and smtp_starttls exclude each other"
            raise ValueError(msg)
        imap_ssl = _bool(s, "imap_ssl", default=True)
        return cls(
            address=address,
            display_name=str(s.get("display_name") or config.name),
            smtp_host=_text(s, "smtp_host"),
            smtp_port=_int(s, "smtp_port", 465 if smtp_ssl else 587 if smtp_starttls else 25),
            smtp_starttls=smtp_starttls,
            smtp_ssl=smtp_ssl,
            smtp_username=str(s.get("smtp_username") or address),
            smtp_password=secrets.get("smtp_password") or None,
            imap_host=str(s["imap_host"]) if s.get("imap_host") else None,
            imap_port=_int(s, "imap_port", 993 if imap_ssl else 143),
            imap_ssl=imap_ssl,
            imap_username=str(s.get("imap_username") or address),
            imap_password=secrets.get("imap_password") or None,
            mailbox=str(s.get("mailbox") or "INBOX"),
            tls_ca_file=str(s["tls_ca_file"]) if s.get("tls_ca_file") else None,
            plus_address_replies=_bool(s, "plus_address_replies", default=False),
            poll_seconds=float(_int(s, "poll_seconds", 60, low=5)),
            timeout_seconds=float(_int(s, "timeout_seconds", 30, low=1)),
            max_text_bytes=_int(s, "max_text_bytes", DEFAULT_MAX_TEXT_BYTES, low=1024),
            webhook_secret=secrets["webhook_secret"],
            authserv_ids=parse_authserv_ids(s.get("authserv_id")),
        )

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name checks always on; a private CA can be trusted explicitly."""
        return ssl.create_default_context(cafile=self.tls_ca_file)


def validate_settings(settings: Mapping[str, Any], secrets: Mapping[str, str]) -> list[str]:
    """Problems an admin hears about when saving the account (``ChannelSpec.validate``)."""
    try:
        parse_authserv_ids(settings.get("authserv_id"))
    except ValueError as exc:
        return [str(exc)]
    return []


def _address(value: Any) -> str:
    _, address = parseaddr(str(value or ""))
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError) as exc:
        msg = f"address {value!r} is not an email address"
        raise ValueError(msg) from exc
    if not parsed.username or not parsed.domain:
        msg = f"address {value!r} is not an email address"
        raise ValueError(msg)
    # Domains are case-insensitive; the local part is kept as given (servers may distinguish it).
    return f"{parsed.username}@{parsed.domain.lower()}"


def _text(settings: Mapping[str, Any], key: str) -> str:
    value = str(settings.get(key) or "").strip()
    if not value:
        msg = f"{key} is required"
        raise ValueError(msg)
    return value


def _bool(settings: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = settings.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    msg = f"{key} must be true or false, not {value!r}"
    raise ValueError(msg)


def _int(settings: Mapping[str, Any], key: str, default: int, *, low: int = 1, high: int = 65535) -> int:
    value = settings.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        msg = f"{key} must be a whole number, not {value!r}"
        raise ValueError(msg) from exc
    if not low <= number <= high:
        msg = f"{key} must be between {low} and {high}"
        raise ValueError(msg)
    return number
