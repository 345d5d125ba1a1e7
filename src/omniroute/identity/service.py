"""Identity commands: create users, sign in and out, issue and check API tokens."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, InvalidInput, Unauthorized
from omniroute.core.ids import hash_token, new_id, new_token
from omniroute.identity import store
from omniroute.identity.model import (
    Preferences,
    Principal,
    Role,
    Scope,
    User,
    check_password_strength,
    check_preferences,
    normalise_email,
)
from omniroute.identity.passwords import Passwords


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_token: str
    csrf_token: str


#: The interface languages with a translation catalogue.
SUPPORTED_LOCALES = ("en", "es")


class IdentityService:
    def __init__(self, db: Database, clock: Clock, passwords: Passwords, session_ttl: timedelta) -> None:
        self.db = db
        self.clock = clock
        self.passwords = passwords
        self.session_ttl = session_ttl

    async def create_user(
        self, email: str, display_name: str, role: Role, password: str, locale: str = "en"
    ) -> User:
        email = normalise_email(email)
        check_password_strength(password)
        name = display_name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("display name must have 1 to 200 characters")
        password_hash = await self.passwords.hash(password)
        user = User(
            id=new_id(),
            email=email,
            display_name=name,
            role=role,
            is_active=True,
            created_at=self.clock.now(),
            locale=locale,
        )
        msg = f"a user with email {email} already exists"
        try:
            async with self.db.write() as conn:
                if await store.email_exists(conn, email):
                    raise Conflict(msg)
                await store.insert_user(conn, user, password_hash)
        except IntegrityError as exc:
            # A concurrent sign-up won between our check and insert; the index decides.
            raise Conflict(msg) from exc
        return user

    async def sign_in(self, email: str, password: str) -> SignedIn:
        try:
            email = normalise_email(email)
        except InvalidInput:
            email = ""
        async with self.db.read() as conn:
            found = await store.get_user_with_hash_by_email(conn, email) if email else None
        user, stored_hash = found if found else (None, None)
        if not await self.passwords.verify(stored_hash, password) or user is None or not user.is_active:
            raise Unauthorized("wrong email or password")
        token, csrf = new_token(), secrets.token_urlsafe(32)
        now = self.clock.now()
        async with self.db.write() as conn:
            await store.insert_auth_session(
                conn, hash_token(token), user.id, csrf, now, now + self.session_ttl
            )
            if stored_hash and self.passwords.needs_rehash(stored_hash):
                await store.update_password_hash(conn, user.id, await self.passwords.hash(password))
        return SignedIn(user=user, session_token=token, csrf_token=csrf)

    async def sign_out(self, session_token: str) -> None:
        async with self.db.write() as conn:
            await store.delete_auth_session(conn, hash_token(session_token))

    async def principal_for_session(self, session_token: str) -> Principal | None:
        async with self.db.read() as conn:
            found = await store.get_auth_session(conn, hash_token(session_token), self.clock.now())
        if found is None:
            return None
        user, csrf = found
        return Principal(user=user, csrf_token=csrf)

    async def create_api_token(self, user_id: str, name: str, scopes: frozenset[Scope]) -> str:
        token = "omr_" + new_token()
        async with self.db.write() as conn:
            if await store.get_user(conn, user_id) is None:
                raise InvalidInput("unknown user")
            await store.insert_api_token(
                conn, new_id(), name, hash_token(token), user_id, scopes, self.clock.now()
            )
        return token

    async def principal_for_api_token(self, token: str) -> Principal | None:
        async with self.db.read() as conn:
            found = await store.get_api_token(conn, hash_token(token))
        if found is None:
            return None
        user, scopes = found
        return Principal(user=user, via_token=True, scopes=scopes)

    async def get_user(self, user_id: str) -> User | None:
        async with self.db.read() as conn:
            return await store.get_user(conn, user_id)

    async def set_locale(self, user_id: str, locale: str) -> None:
        """The user's interface language (en or es)."""
        if locale not in SUPPORTED_LOCALES:
            msg = f"supported languages: {', '.join(SUPPORTED_LOCALES)}"
            raise InvalidInput(msg)
        async with self.db.write() as conn:
            await store.set_locale(conn, user_id, locale)

    async def preferences(self, user_id: str) -> Preferences | None:
        """The user's workspace settings; None until they first save them."""
        async with self.db.read() as conn:
            return await store.get_preferences(conn, user_id)

    async def set_preferences(self, user_id: str, raw: Mapping[str, object]) -> Preferences:
        """Replace the user's workspace settings (see ``model.check_preferences``)."""
        preferences = check_preferences(raw)
        async with self.db.write() as conn:
            await store.set_preferences(conn, user_id, preferences)
        return preferences

    async def list_users(self) -> list[User]:
        async with self.db.read() as conn:
            return await store.list_users(conn)

    async def get_user_by_email(self, email: str) -> User | None:
        async with self.db.read() as conn:
            found = await store.get_user_with_hash_by_email(conn, normalise_email(email))
        return found[0] if found else None
