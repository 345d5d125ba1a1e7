"""The knowledge base over HTTP: who may write, optimistic concurrency, search, sharing, the public page.

The server fixture loads the demo articles, so searches here use words those articles do not contain.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from omniroute.identity.model import Scope
from omniroute.knowledge.demo_articles import DEMO_ARTICLES, load_demo_articles
from tests.e2e.conftest import Agent, LiveServer

Clients = dict[str, Any]
URL = "/api/v1/knowledge/articles"


async def create(author: Agent, **body: Any) -> dict[str, Any]:
    body.setdefault("body", "Some text.")
    r = await author.post(URL, **body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def publish(author: Agent, article: dict[str, Any]) -> dict[str, Any]:
    r = await author.post(f"{URL}/{article['id']}/publish", expected_version=article["version"])
    assert r.status_code == 200, r.text
    published: dict[str, Any] = r.json()
    return published


async def test_agents_read_published_articles_and_only_supervisors_write(
    server: LiveServer, clients: Clients
) -> None:
    ana, sam, ada = [await clients["agent"](n) for n in ("ana", "sam", "admin")]
    r = await ana.post(URL, title="Agent article", body="Agents cannot write.")
    assert r.status_code == 403
    assert "supervisor" in r.json()["detail"]

    draft = await create(
        sam, title="Lost card", body="## Freeze\n\nPress the **quokka** button.", tags=["cards"]
    )
    assert (draft["status"], draft["version"], draft["slug"]) == ("draft", 1, "lost-card")
    assert draft["public_path"] == "/kb/lost-card"
    assert (await ana.http.get(f"{URL}/{draft['id']}")).status_code == 404  # drafts are not probed
    assert (await ana.http.get(URL, params={"q": "quokka"})).json() == []
    r = await ana.http.get(URL, params={"q": "quokka", "status": "draft"})
    assert r.status_code == 403
    assert [a["title"] for a in (await sam.http.get(URL, params={"q": "quokka"})).json()] == ["Lost card"]

    r = await ana.post(f"{URL}/{draft['id']}/publish", expected_version=1)
    assert r.status_code == 403
    published = await publish(ada, draft)  # admins write too
    assert (published["status"], published["version"]) == ("published", 2)

    read = (await ana.http.get(f"{URL}/{draft['id']}")).json()
    assert read["html"] == "<h2>Freeze</h2>\n<p>Press the <strong>quokka</strong> button.</p>\n"
    assert read["body"] == "## Freeze\n\nPress the **quokka** button."
    assert (await ana.http.get(f"{URL}/by-slug/lost-card")).json()["id"] == draft["id"]
    [hit] = (await ana.http.get(URL, params={"q": "quokkas"})).json()
    assert hit["id"] == draft["id"]
    assert "<mark>" in hit["snippet_html"]
    assert hit["score"] > 0

    r = await ana.post(f"{URL}/{draft['id']}/archive", expected_version=2)
    assert r.status_code == 403
    r = await sam.post(f"{URL}/{draft['id']}/archive", expected_version=2)
    assert r.json()["status"] == "archived"
    assert (await ana.http.get(f"{URL}/{draft['id']}")).status_code == 404
    archived = await sam.http.get(URL, params={"q": "quokka", "status": "archived"})
    assert [a["id"] for a in archived.json()] == [draft["id"]]


async def test_a_stale_version_is_409_and_keeps_the_newer_edit(server: LiveServer, clients: Clients) -> None:
    sam, ada = await clients["agent"]("sam"), await clients["agent"]("admin")
    article = await create(sam, title="Transfer limits", body="Daily limit £25,000.")
    url = f"{URL}/{article['id']}"
    r = await sam.http.patch(
        url, json={"expected_version": 1, "body": "Daily limit £30,000."}, headers=sam.headers()
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    r = await ada.http.patch(url, json={"expected_version": 1, "title": "Limits"}, headers=ada.headers())
    assert r.status_code == 409
    assert "now version 2, you edited 1" in r.json()["detail"]
    r = await ada.post(f"{url}/publish", expected_version=1)
    assert r.status_code == 409
    current = (await sam.http.get(url)).json()
    assert (current["title"], current["body"], current["status"]) == (
        "Transfer limits",
        "Daily limit £30,000.",
        "draft",
    )
    r = await sam.http.patch(url, json={"title": "No version"}, headers=sam.headers())
    assert r.status_code == 422
    assert "expected_version" in r.json()["detail"]


async def test_unknown_articles_are_404(server: LiveServer, clients: Clients) -> None:
    ana, sam = await clients["agent"]("ana"), await clients["agent"]("sam")
    assert (await ana.http.get(f"{URL}/nope")).status_code == 404
    assert (await sam.http.get(f"{URL}/by-slug/nope")).status_code == 404
    r = await sam.http.patch(f"{URL}/nope", json={"expected_version": 1, "title": "x"}, headers=sam.headers())
    assert r.status_code == 404
    assert (await sam.post(f"{URL}/nope/publish")).status_code == 404
    assert (await ana.http.get(f"{URL}/nope/share")).status_code == 404
    assert (await ana.http.get("/kb/nope")).status_code == 404


async def test_bad_input_is_422_with_a_reason(server: LiveServer, clients: Clients) -> None:
    sam = await clients["agent"]("sam")
    r = await sam.post(URL, title="  ", body="x")
    assert r.status_code == 422
    assert r.json()["detail"] == "title must not be empty"
    r = await sam.post(URL, title="x", body="y", language="fr")
    assert r.status_code == 422
    assert "language" in r.json()["detail"]
    r = await sam.post(URL, title="x", body="y", slug="Not A Slug")
    assert r.status_code == 422
    assert "slug must be" in r.json()["detail"]
    r = await sam.post(URL, title="x", body="y", surprise=1)
    assert r.status_code == 422
    r = await sam.http.get(URL, params={"limit": 500})
    assert r.status_code == 422


async def test_a_title_match_ranks_above_a_body_match(server: LiveServer, clients: Clients) -> None:
    ana, sam = await clients["agent"]("ana"), await clients["agent"]("sam")
    body_only = await create(
        sam, title="Card delivery", body="Your zebra code arrives apart. Zebra letters, zebra."
    )
    in_title = await create(sam, title="Change your zebra code", body="Use any cash machine.")
    for article in (body_only, in_title):
        await publish(sam, article)
    hits = (await ana.http.get(URL, params={"q": "zebra"})).json()
    assert [h["id"] for h in hits] == [in_title["id"], body_only["id"]]
    assert hits[0]["score"] > hits[1]["score"]


async def test_writes_need_the_csrf_token_and_tokens_need_scopes(
    server: LiveServer, clients: Clients
) -> None:
    sam = await clients["agent"]("sam")
    r = await sam.http.post(URL, json={"title": "x", "body": "y"})
    assert r.status_code == 403
    assert "CSRF" in r.json()["detail"]
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get(URL)).status_code == 401
    token = await server.container.identity.create_api_token(
        sam.user_id, "reader", frozenset({Scope.CONVERSATIONS_READ})
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        assert (await api.get(URL)).status_code == 200
        r = await api.post(URL, json={"title": "x", "body": "y"})
        assert r.status_code == 403
        assert "admin scope" in r.json()["detail"]


async def test_sharing_into_a_chat_and_the_public_page(server: LiveServer, clients: Clients) -> None:
    ana, sam = await clients["agent"]("ana"), await clients["agent"]("sam")
    body = "Freeze the card in the app.\n\n[More](https://bank.example/help)\n\n<script>alert(1)</script>"
    public = await publish(sam, await create(sam, title="Lost card", body=body, visibility="public"))
    internal = await publish(sam, await create(sam, title="ID checks", body="Ask for the date of birth."))

    link = (await ana.http.get(f"{URL}/{public['id']}/share")).json()
    assert link == {
        "text": f"Lost card: {server.base_url}/kb/lost-card",
        "url": f"{server.base_url}/kb/lost-card",
    }
    excerpt = (await ana.http.get(f"{URL}/{public['id']}/share", params={"mode": "excerpt"})).json()
    assert excerpt["text"].startswith("Lost card\n\nFreeze the card in the app. More")
    r = await ana.http.get(f"{URL}/{internal['id']}/share")
    assert r.status_code == 409
    assert "send an excerpt" in r.json()["detail"]
    inside = (await ana.http.get(f"{URL}/{internal['id']}/share", params={"mode": "excerpt"})).json()
    assert inside == {"text": "ID checks\n\nAsk for the date of birth.", "url": None}

    async with httpx.AsyncClient(base_url=server.base_url) as customer:  # no sign-in
        page = await customer.get("/kb/lost-card")
        assert page.status_code == 200
        assert "<h1>Lost card</h1>" in page.text
        assert '<a href="https://bank.example/help" rel="noopener noreferrer">More</a>' in page.text
        assert "<script>" not in page.text
        assert "&lt;script&gt;" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert (await customer.get(f"/kb/{internal['slug']}")).status_code == 404


async def test_demo_articles_are_searchable_in_both_languages(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    admin = await server.container.identity.get_user_by_email("admin@demo.omniroute.dev")
    assert admin is not None
    await load_demo_articles(server.container.knowledge, admin.id)
    everything = (await ana.http.get(URL, params={"limit": 50})).json()
    assert len(everything) == len(DEMO_ARTICLES)
    es = (await ana.http.get(URL, params={"q": "olvidé mi contrasena", "language": "es"})).json()
    assert es[0]["slug"] == "restablecer-contrasena-banca-online"
    en = (await ana.http.get(URL, params={"q": "how much can I transfer per day"})).json()
    assert en[0]["slug"] == "transfer-limits"
    card = (await ana.http.get(URL, params={"q": "stolen card"})).json()
    assert card[0]["slug"] == "lost-or-stolen-card"
    page = (await ana.http.get(f"{URL}/by-slug/transfer-limits")).json()
    assert re.search(r'<td style="text-align:right">£10,000</td>', page["html"])
