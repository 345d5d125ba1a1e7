"""Tables and queries for users, browser sessions and API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime
from omniroute.identity.model import Preferences, Role, Scope, User, stored_preferences

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("locale", sa.String(10), nullable=False, server_default="en"),
    # The workspace settings (identity.model.Preferences); NULL until the user first saves them,
    # which is how the page knows to bring over what the browser kept before they moved here.
    sa.Column("preferences", sa.JSON(), nullable=True),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

auth_sessions = sa.Table(
    "auth_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scopes", sa.JSON(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)


def _user(row: AnyRow) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        email=m["email"],
        display_name=m["display_name"],
        role=Role(m["role"]),
        is_active=bool(m["is_active"]),
        created_at=m["created_at"],
        locale=m["locale"],
    )


_USER_COLS = [
    users.c.id,
    users.c.email,
    users.c.display_name,
    users.c.role,
    users.c.is_active,
    users.c.created_at,
    users.c.locale,
]


async def insert_user(conn: AsyncConnection, user: User, password_hash: str) -> None:
    await conn.execute(
        users.insert().values(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role.value,
            password_hash=password_hash,
            locale=user.locale,
            is_active=user.is_active,
            created_at=user.created_at,
        )
    )


async def get_user(conn: AsyncConnection, user_id: str) -> User | None:
    row = (await conn.execute(sa.select(*_USER_COLS).where(users.c.id == user_id))).first()
    return _user(row) if row else None


async def get_user_with_hash_by_email(conn: AsyncConnection, email: str) -> tuple[User, str] | None:
    row = (
        await conn.execute(sa.select(*_USER_COLS, users.c.password_hash).where(users.c.email == email))
    ).first()
    return (_user(row), row._mapping["password_hash"]) if row else None


async def email_exists(conn: AsyncConnection, email: str) -> bool:
    return (await conn.execute(sa.select(users.c.id).where(users.c.email == email))).first() is not None


async def update_password_hash(conn: AsyncConnection, user_id: str, password_hash: str) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))


async def list_users(conn: AsyncConnection) -> list[User]:
    result = await conn.execute(sa.select(*_USER_COLS).order_by(users.c.display_name))
    return [_user(r) for r in result]


async def insert_auth_session(
    conn: AsyncConnection,
    token_hash: str,
    user_id: str,
    csrf_token: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        auth_sessions.insert().values(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


async def get_auth_session(conn: AsyncConnection, token_hash: str, now: datetime) -> tuple[User, str] | None:
    query = (
        sa.select(*_USER_COLS, auth_sessions.c.csrf_token)
        .join_from(auth_sessions, users, auth_sessions.c.user_id == users.c.id)
        .where(
            auth_sessions.c.token_hash == token_hash,
            auth_sessions.c.expires_at > now,
            users.c.is_active.is_(True),
        )
    )
    row = (await conn.execute(query)).first()
    return (_user(row), row._mapping["csrf_token"]) if row else None


async def delete_auth_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(auth_sessions.delete().where(auth_sessions.c.token_hash == token_hash))


async def insert_api_token(
    conn: AsyncConnection,
    token_id: str,
    name: str,
    token_hash: str,
    user_id: str,
    scopes: frozenset[Scope],
    created_at: datetime,
) -> None:
    await conn.execute(
        api_tokens.insert().values(
            id=token_id,
            name=name,
            token_hash=token_hash,
            user_id=user_id,
            scopes=sorted(s.value for s in scopes),
            created_at=created_at,
        )
    )


async def get_api_token(conn: AsyncConnection, token_hash: str) -> tuple[User, frozenset[Scope]] | None:
    query = (
        sa.select(*_USER_COLS, api_tokens.c.scopes)
        .join_from(api_tokens, users, api_tokens.c.user_id == users.c.id)
        .where(
            api_tokens.c.token_hash == token_hash,
            api_tokens.c.revoked_at.is_(None),
            users.c.is_active.is_(True),
        )
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return _user(row), frozenset(Scope(s) for s in row._mapping["scopes"])


async def set_locale(conn: AsyncConnection, user_id: str, locale: str) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(locale=locale))


async def get_preferences(conn: AsyncConnection, user_id: str) -> Preferences | None:
    raw = (await conn.execute(sa.select(users.c.preferences).where(users.c.id == user_id))).scalar()
    return stored_preferences(raw)


async def set_preferences(conn: AsyncConnection, user_id: str, preferences: Preferences) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(preferences=preferences.as_dict()))
