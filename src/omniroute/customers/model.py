"""Customers and the addresses they reach us from. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Customer:
    id: str
    display_name: str
    created_at: datetime
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ChannelIdentity:
    """One address on one channel (a web visitor id, a phone number, a WhatsApp id, an email)."""

    id: str
    customer_id: str
    channel: str
    address: str
