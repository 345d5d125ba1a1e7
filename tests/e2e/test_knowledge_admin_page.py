"""The knowledge authors' page (/admin/knowledge) and its preview endpoint: who gets in, in which
language, and the preview rendering Markdown exactly as a saved article, sanitised (the browser
test drives the page itself: tests/browser/test_knowledge_admin_page.py)."""

from __future__ import annotations

from typing import Any

import httpx

from omniroute.identity.model import Scope
from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]
PREVIEW = "/api/v1/knowledge/preview"
ARTICLES = "/api/v1/knowledge/articles"


async def test_who_may_open_the_page_and_in_which_language(server: LiveServer, clients: Clients) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        r = await anonymous.get("/admin/knowledge")
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/admin/knowledge")

    ana = await clients["agent"]("ana")
    r = await ana.http.get("/admin/knowledge")
    assert r.status_code == 403
    assert 'data-testid="admin-forbidden"' in r.text
    assert "Knowledge articles are written by supervisors and admins" in r.text
    assert "admin-knowledge.js" not in r.text
    assert "csrf-token" not in r.text
    workspace = await ana.http.get("/workspace")
    assert 'href="/admin/knowledge"' not in workspace.text  # the link is for authors only

    sam = await clients["agent"]("sam")
    r = await sam.http.get("/admin/knowledge")
    assert r.status_code == 200
    assert "admin-knowledge.js" in r.text
    assert "admin-common.js" in r.text
    assert 'id="i18n-catalogue"' in r.text
    assert r.headers["content-language"] == "en"
    spanish = await sam.http.get("/admin/knowledge?lang=es")
    assert spanish.headers["content-language"] == "es"
    assert '<html lang="es">' in spanish.text
    assert "Artículos de conocimiento" in spanish.text
    assert "Vista previa actualizada." in spanish.text  # the script's catalogue, in Spanish

    for page in ("/workspace", "/admin"):
        assert 'href="/admin/knowledge"' in (await sam.http.get(page)).text


async def test_the_preview_renders_like_a_saved_article_and_is_for_authors(
    server: LiveServer, clients: Clients
) -> None:
    sam, ana = await clients["agent"]("sam"), await clients["agent"]("ana")
    markdown = (
        "# Lost card\n\nPress **Quokka**.\n\n<script>alert(1)</script>\n\n"
        "[Help](https://bank.example/help) [bad](javascript:alert(1))\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n"
    )
    r = await sam.post(PREVIEW, body=markdown)
    assert r.status_code == 200, r.text
    html = r.json()["html"]
    assert "<h1>Lost card</h1>" in html
    assert "<strong>Quokka</strong>" in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html  # raw HTML is shown as text
    assert 'href="javascript' not in html  # refused as a link, left as text
    assert 'rel="noopener noreferrer"' in html
    assert '<td style="text-align:right">2</td>' in html

    # The same rendering as the article once saved.
    created = await sam.post(ARTICLES, title="Preview twin", body=markdown)
    assert created.status_code == 201, created.text
    assert created.json()["html"] == html
    assert (await sam.http.get(f"{ARTICLES}/by-slug/preview-twin")).json()["html"] == html
    assert (await sam.post(PREVIEW, body="")).json() == {"html": ""}

    # Only authors, with the CSRF token; nothing is stored.
    r = await ana.post(PREVIEW, body="x")
    assert r.status_code == 403
    assert "supervisor" in r.json()["detail"]
    r = await sam.http.post(PREVIEW, json={"body": "x"})
    assert (r.status_code, r.json()["detail"]) == (403, "missing or wrong CSRF token")
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.post(PREVIEW, json={"body": "x"})).status_code == 401
    token = await server.container.identity.create_api_token(
        sam.user_id, "reader", frozenset({Scope.CONVERSATIONS_READ})
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        r = await api.post(PREVIEW, json={"body": "x"})
        assert r.status_code == 403
        assert "admin scope" in r.json()["detail"]

    # Bad input: a 422 with the reason, never a half-rendered answer.
    r = await sam.post(PREVIEW, body="x" * 100_001)
    assert r.status_code == 422
    assert "100000" in r.text
    r = await sam.post(PREVIEW, markdown="x")
    assert r.status_code == 422
    found = (await sam.http.get(ARTICLES, params={"q": "quokka"})).json()
    assert [a["title"] for a in found] == ["Preview twin"]  # previews stored nothing
