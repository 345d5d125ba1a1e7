"""Customers' names from Messenger's User Profile API, and the per-PSID memory of them. Pure.

Messenger webhooks carry only the customer's page-scoped id (PSID). Meta's User Profile API,
``GET /{psid}?fields=first_name,last_name,profile_pic`` with the Page token, answers
``{"first_name": "Peter", "last_name": "Chang", "profile_pic": "https://…", "id": "<PSID>"}`` when the
app has the profile feature and the person shared it; otherwise a Graph error (e.g. 2018218 "No
profile available for this user" for accounts made with a phone number).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FIELDS = "first_name,last_name,profile_pic"
#: PSIDs remembered per account (least recently used forgotten first): one call per new customer.
CACHE_SIZE = 10_000
#: A failed lookup (no permission, no profile, Meta unreachable) is tried again after this long, so
#: a missing permission costs one call per customer an hour, not one per message.
RETRY_FAILED_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Profile:
    first_name: str
    last_name: str
    #: Meta's expiring picture URL; not stored (customer records have no picture).
    picture: str | None = None

    @property
    def name(self) -> str | None:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or None


def parse(answer: Any) -> Profile | None:
    """The profile in Graph's answer; None when it names nobody."""
    if not isinstance(answer, dict):
        return None
    first, last = _text(answer.get("first_name")), _text(answer.get("last_name"))
    if not first and not last:
        return None
    picture = answer.get("profile_pic")
    ok_picture = isinstance(picture, str) and picture.startswith(("https://", "http://"))
    return Profile(first, last, picture if ok_picture else None)


def _text(value: Any) -> str:
    """One line, single spaces: a name is shown in lists and headings."""
    return " ".join(value.split()) if isinstance(value, str) else ""


class ProfileCache:
    """Names by PSID. A name is kept (Meta's profile rarely changes, and the customer record keeps
    it anyway); a failure is kept only for :data:`RETRY_FAILED_AFTER`."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        #: PSID → (name or None, when a failure expires; None for a name, which does not).
        self._entries: OrderedDict[str, tuple[str | None, datetime | None]] = OrderedDict()

    def cached(self, psid: str, now: datetime) -> tuple[bool, str | None]:
        """(known, name): ``known`` False means look it up."""
        entry = self._entries.get(psid)
        if entry is None:
            return False, None
        name, expires = entry
        if expires is not None and now >= expires:
            del self._entries[psid]
            return False, None
        self._entries.move_to_end(psid)
        return True, name

    def remember(self, psid: str, name: str | None, now: datetime) -> None:
        self._entries[psid] = (name, None if name else now + RETRY_FAILED_AFTER)
        self._entries.move_to_end(psid)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
