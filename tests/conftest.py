"""Shared fixtures: the external services tests need, and fresh migrated databases.

- ``redis_url``: a reachable Redis server (share it: use unique channel or key names per test).
- ``postgres_url``: a fresh, migrated PostgreSQL database for one test, dropped afterwards. It is
  cloned from a template migrated once per session, so a test costs one ``CREATE DATABASE``.
- ``sqlite_url``: a fresh, migrated SQLite file in ``tmp_path``.
- ``database_url``: parametrised over both, so one suite runs against every store.

A test that needs a service that is not running is skipped with the reason; when the ``CI``
environment variable is set it fails instead — CI must never pass by skipping. Point the tests
at other servers with ``OMNIROUTE_TEST_POSTGRES_URL`` (a maintenance database such as
``postgres``) and ``OMNIROUTE_TEST_REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from omniroute.core.migrations import upgrade, upgrade_async

POSTGRES_ADMIN_URL = os.environ.get(
    "OMNIROUTE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("OMNIROUTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_service(name: str, url: str, default_port: int) -> str:
    """Return ``url`` if something listens there; otherwise skip (or fail under CI)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return url
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc.strerror or exc})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run every test", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_service("Redis", REDIS_URL, 6379)


def _in_thread(fn: Callable[[], object]) -> None:
    """Run ``fn`` (which may start its own event loop) off this thread, leaving pytest-asyncio's
    loops alone; its exception is re-raised here."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(fn).result()


async def _admin(*statements: str) -> None:
    engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _database_url(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    """A database migrated once per session; each test clones it."""
    require_service("PostgreSQL", POSTGRES_ADMIN_URL, 5432)
    name = f"omniroute_template_{secrets.token_hex(6)}"
    _in_thread(lambda: asyncio.run(_admin(f'CREATE DATABASE "{name}"')))
    try:
        _in_thread(lambda: upgrade(_database_url(name)))
        yield name
    finally:
        _in_thread(lambda: asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


@pytest.fixture
async def postgres_url(_postgres_template: str) -> AsyncIterator[str]:
    name = f"omniroute_test_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template}"')
    try:
        yield _database_url(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/t.db"
    await upgrade_async(url)
    return url


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each store this project supports."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url
