"""The workspace's notification settings on the user record over HTTP: read and replaced through
``/api/v1/me/preferences``, the same in every session of the user and only theirs, carried by the
workspace page, with the authorisation failures (401, CSRF, token scope) and the 422 reasons."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from omniroute.identity.model import Scope
from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]
PATH = "/api/v1/me/preferences"
DEFAULTS = {
    "sound": "background",
    "desktop": "background",
    "title_template": "",
    "body_template": "",
    "saved": False,
}
CHOSEN = {
    "sound": "never",
    "desktop": "always",
    "title_template": "{customerName} · {queue}",
    "body_template": "{preview}",
}


def workspace_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="workspace-data">(.*?)</script>', html, re.S)
    assert found, "the workspace page embeds its data"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


async def test_signed_out_callers_get_401(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anon:
        assert (await anon.get(PATH)).status_code == 401
        assert (await anon.put(PATH, json=CHOSEN)).status_code == 401


async def test_preferences_follow_the_user_to_a_new_session(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    r = await ana.http.get(PATH)
    assert (r.status_code, r.json()) == (200, DEFAULTS)
    assert workspace_data((await ana.http.get("/workspace")).text)["preferences"] is None

    r = await ana.http.put(
        PATH, json={**CHOSEN, "title_template": "  {customerName} · {queue} "}, headers=ana.headers()
    )
    assert r.status_code == 200, r.text
    assert r.json() == {**CHOSEN, "saved": True}

    # Another sign-in (another browser) reads the same; the page carries them too.
    again = await clients["agent"]("ana")
    assert (await again.http.get(PATH)).json() == {**CHOSEN, "saved": True}
    assert workspace_data((await again.http.get("/workspace")).text)["preferences"] == CHOSEN

    # They are Ana's own.
    ben = await clients["agent"]("ben")
    assert (await ben.http.get(PATH)).json() == DEFAULTS

    # PUT replaces the document: keys left out go back to their defaults.
    r = await ana.http.put(PATH, json={"sound": "always"}, headers=ana.headers())
    assert r.json() == {**DEFAULTS, "sound": "always", "saved": True}


async def test_bad_preferences_get_422_with_the_reason(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    for body, reason in (
        ({"volume": 11}, "volume"),
        ({"sound": "loud"}, "sound"),
        ({"desktop": True}, "desktop"),
        ({"title_template": "x" * 201}, "title_template"),
        ({"body_template": "x" * 401}, "body_template"),
        ({"body_template": "two\nlines"}, "one line of text"),
    ):
        r = await ana.http.put(PATH, json=body, headers=ana.headers())
        assert r.status_code == 422, (body, r.text)
        assert reason in r.json()["detail"], (body, r.json())
    assert (await ana.http.get(PATH)).json() == DEFAULTS  # nothing was stored


async def test_writes_need_the_csrf_token_and_the_write_scope(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    assert (await ana.http.put(PATH, json=CHOSEN)).status_code == 403
    r = await ana.http.put(PATH, json=CHOSEN, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    token = await server.container.identity.create_api_token(
        ana.user_id, "read-only", frozenset({Scope.CONVERSATIONS_READ})
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        assert (await api.get(PATH)).status_code == 200
        r = await api.put(PATH, json=CHOSEN)
        assert r.status_code == 403
        assert "conversations:write" in r.json()["detail"]
    assert (await ana.http.get(PATH)).json() == DEFAULTS
