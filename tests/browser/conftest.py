"""Browser tests: the real app served by uvicorn in a thread, driven by Debian's Chromium.

Chromium is found at /usr/bin/chromium. Without it the tests are skipped locally, but they fail
in CI (the ``CI`` environment variable is set) so a broken image cannot pass silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from omniroute.bootstrap import build_container, create_app
from omniroute.core.migrations import upgrade
from omniroute.demo import load_demo
from omniroute.settings import Settings
from omniroute.web.container import Container

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 20.0
#: Fills a fresh database before the server starts: ``(container, the server's origin)``.
Prepare = Callable[[Container, str], Awaitable[None]]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def demo_data(container: Container, origin: str) -> None:
    """The demo data, with ``origin`` allowed for the demo widget."""
    await load_demo(container, [origin])


async def _prepare(settings: Settings, origin: str, prepare: Prepare) -> None:
    container = build_container(settings)
    try:
        await prepare(container, origin)
    finally:
        await container.db.dispose()


@contextlib.contextmanager
def serve_app(tmp_path: Path, prepare: Prepare = demo_data) -> Iterator[str]:
    """The whole app on a free port over a migrated database that ``prepare`` filled (the demo
    data unless told otherwise), served by uvicorn in a thread; yields its base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        port=port,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
    )
    upgrade(settings.effective_database_url)
    asyncio.run(_prepare(settings, base_url, prepare))

    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        loop="asyncio",
        http="h11",
        ws="websockets-sansio",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="omniroute-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("the app server did not start")
        time.sleep(0.02)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """The whole app on a free port, with demo data; yields its base URL."""
    with serve_app(tmp_path) as base_url:
        yield base_url


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's chromium at {CHROMIUM}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def screenshot_dir() -> Path | None:
    """Set OMNIROUTE_SCREENSHOTS to a directory to keep screenshots of the flow for review."""
    value = os.environ.get("OMNIROUTE_SCREENSHOTS")
    if not value:
        return None
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path
