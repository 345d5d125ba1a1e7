"""What the local doubles share: the HTTP client they post the provider's webhooks with."""

from __future__ import annotations

import httpx


class WebhookPoster:
    """A double's outgoing side: one client, made on first use (so a double built outside an event
    loop is fine), closed by :meth:`aclose`."""

    _http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
