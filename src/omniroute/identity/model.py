"""People who sign in, their roles, and what each role may do. Pure."""

from __future__ import annotations

import re
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
