"""People who sign in, their roles, and what each role may do. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omniroute.core.errors import InvalidInput


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


#: Supervisors can do what agents do (take work, watch); admins can do everything.
ROLE_RANK = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


class Scope(StrEnum):
    """What an API token may do; a token holds a subset of its owner's rights."""

    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    PRESENCE_WRITE = "presence:write"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    id: str
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    locale: str = "en"

    def has_role(self, minimum: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user through a browser session or through a scoped API token."""

    user: User
    via_token: bool = False
    scopes: frozenset[Scope] = frozenset()
    csrf_token: str | None = None

    def allows(self, scope: Scope) -> bool:
        return not self.via_token or scope in self.scopes or Scope.ADMIN in self.scopes


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        msg = f"not a valid email address: {email!r}"
        raise InvalidInput(msg)
    return value


def check_password_strength(password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters")


# -- the workspace's notification preferences --------------------------------------------------------

#: When an offer plays a sound or shows a desktop notification: never, always, or only while the
#: workspace is not the window in front.
NOTIFY_MODES = ("never", "always", "background")
#: The settings dialog's limits; a notification longer than this is cut by the system anyway.
MAX_TITLE_TEMPLATE = 200
MAX_BODY_TEMPLATE = 400


@dataclass(frozen=True)
class Preferences:
    """The agent's own workspace settings, kept on the user so they follow them to every browser.
    An empty template means "the translated default" (the page knows it in the agent's language)."""

    sound: str = "background"
    desktop: str = "background"
    title_template: str = ""
    body_template: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "sound": self.sound,
            "desktop": self.desktop,
            "title_template": self.title_template,
            "body_template": self.body_template,
        }


_TEMPLATE_LIMITS = {"title_template": MAX_TITLE_TEMPLATE, "body_template": MAX_BODY_TEMPLATE}
PREFERENCE_KEYS = ("sound", "desktop", *_TEMPLATE_LIMITS)


def _mode(key: str, value: object) -> str:
    if value not in NOTIFY_MODES:
        msg = f"{key} must be one of {', '.join(NOTIFY_MODES)}"
        raise InvalidInput(msg)
    return str(value)


def _template(key: str, value: object) -> str:
    if not isinstance(value, str):
        msg = f"{key} must be text"
        raise InvalidInput(msg)
    text = value.strip()
    if len(text) > _TEMPLATE_LIMITS[key]:
        msg = f"{key} has more than {_TEMPLATE_LIMITS[key]} characters"
        raise InvalidInput(msg)
    # A notification title or text is one line; control characters would only garble it.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        msg = f"{key} must be one line of text without control characters"
        raise InvalidInput(msg)
    return text


def check_preferences(raw: Mapping[str, object]) -> Preferences:
    """Preferences from what a client sent: known keys only, modes from the fixed set, templates
    one line and length-limited. A key left out takes its default (the document is replaced)."""
    unknown = sorted(set(raw) - set(PREFERENCE_KEYS))
    if unknown:
        msg = f"unknown preference {', '.join(unknown)}; known: {', '.join(PREFERENCE_KEYS)}"
        raise InvalidInput(msg)
    checked = {
        key: _mode(key, raw[key]) if key in ("sound", "desktop") else _template(key, raw[key])
        for key in PREFERENCE_KEYS
        if key in raw
    }
    return Preferences(**checked)


def stored_preferences(raw: object) -> Preferences | None:
    """What the store holds, read leniently: None when never saved; a value a later release no
    longer knows falls back to its default instead of breaking the page."""
    if not isinstance(raw, Mapping):
        return None
    kept: dict[str, object] = {}
    for key in PREFERENCE_KEYS:
        if key not in raw:
            continue
        try:
            check_preferences({key: raw[key]})
        except InvalidInput:
            continue
        kept[key] = raw[key]
    return check_preferences(kept)
