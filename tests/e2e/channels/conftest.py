"""Fixtures the channel end-to-end suites share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.e2e.conftest import LiveServer


@pytest.fixture
async def meta(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The provider's side of the webhooks: a client that posts to the Omniroute under test."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        yield http
