"""Customers, the addresses they reach us from, and how records of one person are recognised. Pure."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Customer:
    id: str
    display_name: str
    created_at: datetime
    email: str | None = None
    phone: str | None = None
    email_verified: bool = False
    phone_verified: bool = False
    merged_into: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ChannelIdentity:
    """One address on one channel (a web visitor id, a phone number, a WhatsApp id, an email)."""

    id: str
    customer_id: str
    channel: str
    address: str


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"


#: Channels whose address proves the customer controls a phone number (the provider delivered it).
PHONE_CHANNELS = frozenset({"sms_twilio", "whatsapp", "voice"})
#: Channels whose address is an email the customer sent from.
EMAIL_CHANNELS = frozenset({"email"})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(value: str | None) -> str | None:
    if value is None:
        return None
    email = value.strip().lower()
    return email if _EMAIL.match(email) else None


def normalise_phone(value: str | None) -> str | None:
    """E.164-like: a plus and 8 to 15 digits. WhatsApp ids are the same digits without the plus."""
    if value is None:
        return None
    raw = value.strip()
    for prefix in ("whatsapp:", "tel:", "sip:"):
        raw = raw.removeprefix(prefix)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    digits = re.sub(r"[\s().\-]", "", raw).lstrip("+")
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        return None
    return "+" + digits


def proven_contact(channel: str, address: str) -> tuple[ContactKind, str] | None:
    """The phone or email an address on this channel proves, if any."""
    if channel in PHONE_CHANNELS:
        phone = normalise_phone(address)
        return (ContactKind.PHONE, phone) if phone else None
    if channel in EMAIL_CHANNELS:
        email = normalise_email(address)
        return (ContactKind.EMAIL, email) if email else None
    return None


def fold_name(name: str) -> str:
    """Case, accents and spacing do not make two names different (García = garcia)."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().split())


@dataclass(frozen=True)
class Likeness:
    """Why another customer record may be the same person, and how sure we are (0 to 1)."""

    customer_id: str
    score: float
    reasons: tuple[str, ...]


def likeness(me: Customer, other: Customer) -> Likeness | None:
    """How likely ``other`` is the same person as ``me``: suggested to agents, never merged alone.

    A shared email or phone is strong (one side is not verified, or they would have merged);
    the same full name is weak on its own and only adds to a contact match or an email domain
    plus name match.
    """
    if other.id == me.id or other.merged_into is not None:
        return None
    reasons: list[str] = []
    score = 0.0
    if me.email and other.email and me.email == other.email:
        reasons.append("same email")
        score += 0.6
    if me.phone and other.phone and me.phone == other.phone:
        reasons.append("same phone")
        score += 0.6
    same_name = fold_name(me.display_name) == fold_name(other.display_name) and " " in me.display_name.strip()
    if same_name:
        reasons.append("same full name")
        score += 0.3
        domains = {e.split("@", 1)[1] for e in (me.email, other.email) if e}
        if len(domains) == 1 and me.email and other.email:
            reasons.append("same email domain")
            score += 0.1
    if not reasons or (reasons == ["same full name"]):
        return None
    return Likeness(other.id, min(score, 1.0), tuple(reasons))
