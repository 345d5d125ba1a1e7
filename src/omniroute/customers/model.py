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
#: Channels whose address is an email the customer sent from. Anyone can write any From address, so
#: it proves the email only when the receiving server authenticated the sender (DMARC or aligned
#: DKIM, ``channels/email/authentication.py``); see :func:`identity_channel` for the others.
EMAIL_CHANNELS = frozenset({"email"})
#: Added to the channel of an email identity that was not authenticated (``email-unverified``).
UNVERIFIED_SUFFIX = "-unverified"

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


def proven_contact(
    channel: str, address: str, *, authenticated: bool = False
) -> tuple[ContactKind, str] | None:
    """The phone or email an address on this channel proves, if any. A phone channel's address is
    proven by delivery; an email sender only when ``authenticated`` (the From address can be forged)."""
    if channel in PHONE_CHANNELS:
        phone = normalise_phone(address)
        return (ContactKind.PHONE, phone) if phone else None
    if channel in EMAIL_CHANNELS and authenticated:
        email = normalise_email(address)
        return (ContactKind.EMAIL, email) if email else None
    return None


def identity_channel(channel: str, *, authenticated: bool) -> str:
    """The channel an address is filed under. Unauthenticated email senders are filed apart
    (``email-unverified``), so mail with a forged From never joins the record of whoever proved that
    address, and a record built from forgeable mail never becomes the verified one; an agent sees
    the two as likely duplicates and decides."""
    if channel in EMAIL_CHANNELS and not authenticated:
        return channel + UNVERIFIED_SUFFIX
    return channel


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


# -- notes about the customer ------------------------------------------------------------------------

#: A note is a few paragraphs an agent wants the next colleague to read ("prefers Spanish",
#: "VIP: escalate billing issues"), not a document.
MAX_NOTE = 4000


@dataclass(frozen=True)
class CustomerNote:
    """A note about the customer (not about one conversation: those are conversation notes).
    Plain text, shown escaped; pinned notes are shown first."""

    id: str
    customer_id: str
    author_id: str | None
    author_name: str
    text: str
    pinned: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def edited(self) -> bool:
        return self.version > 1


def clean_note_text(text: str) -> str:
    """Line endings normalised, outer blank space removed; empty or oversize text is refused."""
    clean = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not clean:
        raise ValueError("a note needs some text")
    if len(clean) > MAX_NOTE:
        msg = f"a note has at most {MAX_NOTE} characters"
        raise ValueError(msg)
    return clean


def may_change_note(note: CustomerNote, user_id: str, *, supervisor: bool) -> bool:
    """Authors change their own notes; supervisors and admins any note."""
    return supervisor or note.author_id == user_id


def edit_note(note: CustomerNote, *, text: str | None, pinned: bool | None, now: datetime) -> CustomerNote:
    """The edited note, or the same one when nothing changed (no new version for a no-op)."""
    new_text = note.text if text is None else clean_note_text(text)
    new_pinned = note.pinned if pinned is None else pinned
    if (new_text, new_pinned) == (note.text, note.pinned):
        return note
    return CustomerNote(
        id=note.id,
        customer_id=note.customer_id,
        author_id=note.author_id,
        author_name=note.author_name,
        text=new_text,
        pinned=new_pinned,
        created_at=note.created_at,
        updated_at=now,
        version=note.version + 1,
    )
