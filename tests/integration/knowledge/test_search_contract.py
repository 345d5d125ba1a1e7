"""One contract for article search and storage, run on SQLite (FTS5) and PostgreSQL (tsvector).

Only behaviour both engines promise is asserted here; engine-specific ranking figures are not.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from omniroute.bootstrap import make_article_search
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.clock import ManualClock
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniroute.core.eventlog import read_events
from omniroute.core.ids import new_id
from omniroute.core.uow import Publisher
from omniroute.knowledge import store
from omniroute.knowledge.demo_articles import DEMO_ARTICLES, load_demo_articles
from omniroute.knowledge.model import Article, ArticleStatus, Content, Visibility, new_article
from omniroute.knowledge.rendering import plain_text
from omniroute.knowledge.service import KnowledgeService, ShareMode


@dataclass
class Kb:
    service: KnowledgeService
    db: Database
    clock: ManualClock

    async def article(
        self,
        title: str,
        body: str,
        *,
        language: str = "en",
        tags: tuple[str, ...] = (),
        summary: str = "",
        visibility: Visibility = Visibility.PUBLIC,
        publish: bool = True,
    ) -> Article:
        content = Content(title, body, summary, language, tags, visibility)
        created = await self.service.create(content, author_id=None)
        if not publish:
            return created
        return await self.service.publish(created.id, expected_version=1, by=None)

    async def titles(self, text: str, **options: object) -> list[str]:
        options.setdefault("is_author", False)
        found = await self.service.search(text, **options)  # type: ignore[arg-type]
        return [f.article.title for f in found]


@pytest.fixture
async def kb(database_url: str) -> AsyncIterator[Kb]:
    db = Database(database_url)
    clock = ManualClock()
    service = KnowledgeService(db, Publisher(db, MemoryBus(), clock), make_article_search(db))
    try:
        yield Kb(service, db, clock)
    finally:
        await db.dispose()


async def test_a_title_match_ranks_above_a_body_match(kb: Kb) -> None:
    await kb.article("Card delivery times", "A password is never sent by post. Password, password.")
    await kb.article("Password reset", "Use the link on the sign-in page.")
    await kb.article("Opening hours", "Branches open at nine.")
    assert await kb.titles("password") == ["Password reset", "Card delivery times"]


async def test_tags_rank_above_the_body(kb: Kb) -> None:
    await kb.article("Branch visits", "Bring a mortgage statement if you have one.")
    await kb.article("Buying a home", "Talk to an adviser first.", tags=("mortgage",))
    assert await kb.titles("mortgage") == ["Buying a home", "Branch visits"]


async def test_more_matched_words_rank_higher_and_any_word_matches(kb: Kb) -> None:
    await kb.article("International payments", "Send money abroad with SWIFT.")
    await kb.article("Transfer limits", "Each transfer has a daily limit.")
    await kb.article("Scheduled transfers", "Set a transfer for a later date.")
    titles = await kb.titles("transfer limit")
    assert titles[0] == "Transfer limits"
    assert set(titles) == {"Transfer limits", "Scheduled transfers"}


async def test_search_ignores_case_and_accents_both_ways(kb: Kb) -> None:
    await kb.article("Restablecer la contraseña", "Pulse en la aplicación.", language="es")
    await kb.article("Codigo de seguridad", "Sin tilde en el titulo.", language="es")
    assert await kb.titles("CONTRASENA") == ["Restablecer la contraseña"]
    assert await kb.titles("aplicacion") == ["Restablecer la contraseña"]
    assert await kb.titles("código") == ["Codigo de seguridad"]


async def test_english_inflections_and_plurals_match(kb: Kb) -> None:
    await kb.article("Blocking a card", "Customers who lost their cards can block them.")
    for query in ("card", "cards", "blocked", "block", "customer"):
        assert await kb.titles(query) == ["Blocking a card"], query


async def test_spanish_plurals_match(kb: Kb) -> None:
    await kb.article("Tarjeta bloqueada", "La tarjeta queda bloqueada.", language="es")
    assert await kb.titles("tarjetas") == ["Tarjeta bloqueada"]


async def test_stop_words_alone_find_nothing_and_add_nothing(kb: Kb) -> None:
    await kb.article("Reset your password", "Use the link.")
    await kb.article("Opening hours", "Branches are open from nine to five.")
    assert await kb.titles("the and of") == []
    assert await kb.titles("how do I reset my password") == ["Reset your password"]


async def test_query_syntax_is_never_interpreted(kb: Kb) -> None:
    await kb.article("Lost card", "Freeze it in the app.")
    for hostile in ('"lost', "lost*", "card NEAR(x", "lost OR", "'; DROP TABLE x; --", "a:b & | !c", "\\"):
        await kb.service.search(hostile, is_author=False)  # no syntax error from either engine
    assert await kb.titles('"lost" -card') == ["Lost card"]


async def test_agents_search_published_only_authors_see_drafts_and_ask_for_archived(kb: Kb) -> None:
    await kb.article("Savings rates published", "Savings rates for this year.")
    await kb.article("Savings rates draft", "Savings rates for next year.", publish=False)
    archived = await kb.article("Savings rates archived", "Savings rates for last year.")
    await kb.service.archive(archived.id, expected_version=archived.version, by=None)
    assert await kb.titles("savings") == ["Savings rates published"]
    assert sorted(await kb.titles("savings", is_author=True)) == [
        "Savings rates draft",
        "Savings rates published",
    ]
    assert await kb.titles("savings", is_author=True, status=ArticleStatus.ARCHIVED) == [
        "Savings rates archived"
    ]
    with pytest.raises(Forbidden):
        await kb.service.search("savings", is_author=False, status=ArticleStatus.DRAFT)


async def test_language_and_public_filters(kb: Kb) -> None:
    await kb.article("Card limits", "Card limits explained.", language="en")
    await kb.article("Límites de la tarjeta", "Límites de card explicados.", language="es")
    await kb.article("Card checks", "Card checks for agents.", visibility=Visibility.INTERNAL)
    assert sorted(await kb.titles("card")) == ["Card checks", "Card limits", "Límites de la tarjeta"]
    assert sorted(await kb.titles("card", language="en")) == ["Card checks", "Card limits"]
    assert await kb.titles("card", language="es") == ["Límites de la tarjeta"]
    assert sorted(await kb.titles("card", public_only=True)) == ["Card limits", "Límites de la tarjeta"]
    with pytest.raises(InvalidInput):
        await kb.titles("card", language="fr")


async def test_snippets_come_from_the_body_escaped_with_marks(kb: Kb) -> None:
    await kb.article("Fees", "Fees at AT&T <shops> differ.\n\nThe **overdraft** fee is £5 per day.")
    [found] = await kb.service.search("overdraft", is_author=False)
    assert "<mark>overdraft</mark> fee is £5 per day" in found.snippet_html
    assert "AT&amp;T" in found.snippet_html
    # Tag-like text is escaped (SQLite) or left out (PostgreSQL's parser drops it): never markup.
    assert "<" not in re.sub("</?mark>", "", found.snippet_html)
    assert found.score is not None
    assert found.score > 0


async def test_browsing_without_text_lists_recent_articles_first(kb: Kb) -> None:
    await kb.article("Older", "x", summary="Old <b>one</b>")
    await kb.clock.advance(60)
    await kb.article("Newer", "y")
    await kb.article("Hidden draft", "z", publish=False)
    found = await kb.service.search(None, is_author=False)
    assert [f.article.title for f in found] == ["Newer", "Older"]
    assert found[1].snippet_html == "Old &lt;b&gt;one&lt;/b&gt;"
    assert [f.score for f in found] == [None, None]
    page = await kb.service.search("", is_author=False, limit=1, offset=1)
    assert [f.article.title for f in page] == ["Older"]


async def test_the_index_follows_every_edit(kb: Kb) -> None:
    article = await kb.article("Overdrafts", "An arranged overdraft costs nothing.")
    edited = await kb.service.update(
        article.id, expected_version=article.version, by=None, body="Interest applies to loans."
    )
    assert edited.version == article.version + 1
    assert await kb.titles("arranged") == []
    assert await kb.titles("interest") == ["Overdrafts"]
    await kb.service.update(article.id, expected_version=edited.version, by=None, title="Loans")
    assert await kb.titles("overdrafts") == []
    assert await kb.titles("loans") == ["Loans"]


async def test_a_rolled_back_write_leaves_no_index_entry(kb: Kb) -> None:
    article = new_article(new_id(), "ghost", Content("Ghost", "Phantom"), None, kb.clock.now())

    async def write_then_fail() -> None:
        async with kb.service.publisher.unit_of_work() as uow:
            await store.insert_article(uow.conn, article, plain_text("Phantom"))
            await kb.service.search_index.index(uow.conn, article, "Phantom")
            raise RuntimeError("fail after indexing")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    assert await kb.titles("phantom", is_author=True) == []
    # The same id indexes cleanly afterwards: nothing of the failed attempt was left behind.
    async with kb.service.publisher.unit_of_work() as uow:
        await store.insert_article(uow.conn, article, "Phantom")
        await kb.service.search_index.index(uow.conn, article, "Phantom")
    assert await kb.titles("phantom", is_author=True) == ["Ghost"]


async def test_a_stale_version_is_a_conflict_and_changes_nothing(kb: Kb) -> None:
    article = await kb.article("Cheques", "Paying in cheques.")
    await kb.service.update(article.id, expected_version=article.version, by=None, summary="new")
    with pytest.raises(Conflict, match="changed meanwhile"):
        await kb.service.update(article.id, expected_version=article.version, by=None, body="lost edit")
    with pytest.raises(Conflict):
        await kb.service.archive(article.id, expected_version=article.version, by=None)
    current = await kb.service.get(article.id, is_author=True)
    assert (current.content.body, current.status) == ("Paying in cheques.", ArticleStatus.PUBLISHED)


async def test_concurrent_edits_of_one_version_let_exactly_one_win(kb: Kb) -> None:
    article = await kb.article("Standing orders", "Set them up in the app.")

    async def edit(n: int) -> str:
        try:
            await kb.service.update(article.id, expected_version=article.version, by=None, body=f"Edit {n}")
        except Conflict:
            return "conflict"
        return "saved"

    outcomes = await asyncio.wait_for(asyncio.gather(*(edit(n) for n in range(5))), 30)
    assert sorted(outcomes) == ["conflict"] * 4 + ["saved"]
    current = await kb.service.get(article.id, is_author=True)
    assert current.version == article.version + 1


async def test_slugs_are_unique_and_stable(kb: Kb) -> None:
    first = await kb.article("Lost card", "One.")
    second = await kb.article("Lost card", "Two.")
    assert (first.slug, second.slug) == ("lost-card", "lost-card-2")
    renamed = await kb.service.update(first.id, expected_version=first.version, by=None, title="Stolen card")
    assert renamed.slug == "lost-card"
    assert (await kb.service.get_by_slug("lost-card", is_author=False)).id == first.id
    with pytest.raises(Conflict, match="already used"):
        await kb.service.create(Content("Other", "x"), author_id=None, slug="lost-card-2")


async def test_agents_cannot_read_drafts_and_unknown_ids_are_not_found(kb: Kb) -> None:
    draft = await kb.article("Draft", "Not yet.", publish=False)
    with pytest.raises(NotFound):
        await kb.service.get(draft.id, is_author=False)
    assert (await kb.service.get(draft.id, is_author=True)).id == draft.id
    with pytest.raises(NotFound):
        await kb.service.get("no-such-id", is_author=True)
    with pytest.raises(NotFound):
        await kb.service.update("no-such-id", expected_version=1, by=None, title="x")


async def test_every_change_is_an_event_in_the_log(kb: Kb) -> None:
    article = await kb.article("Events", "Body.", publish=False)
    await kb.service.update(article.id, expected_version=1, by=None, tags=["x"], body="New body.")
    await kb.service.update(article.id, expected_version=2, by=None, tags=["x"])  # no change: no event
    await kb.service.publish(article.id, expected_version=2, by=None)
    await kb.service.publish(article.id, expected_version=None, by=None)  # already: no event
    await kb.service.archive(article.id, expected_version=3, by=None)
    async with kb.db.read() as conn:
        events = await read_events(conn)
    kinds = [(e["type"], e["version"]) for e in events if e.get("article_id") == article.id]
    assert kinds == [
        ("knowledge.article_created", 1),
        ("knowledge.article_updated", 2),
        ("knowledge.article_published", 3),
        ("knowledge.article_archived", 4),
    ]
    updated = next(e for e in events if e["type"] == "knowledge.article_updated")
    assert updated["changed"] == ["body", "tags"]


async def test_sharing_a_link_needs_a_public_article(kb: Kb) -> None:
    public = await kb.article("Lost card", "## Freeze\n\nFreeze the card in the app.")
    internal = await kb.article("ID checks", "Ask for the date of birth.", visibility=Visibility.INTERNAL)
    link = await kb.service.share(public.id, ShareMode.LINK, is_author=False, base_url="https://cc.example/")
    assert link.text == "Lost card: https://cc.example/kb/lost-card"
    excerpt = await kb.service.share(
        public.id, ShareMode.EXCERPT, is_author=False, base_url="https://cc.example"
    )
    assert excerpt.text == "Lost card\n\nFreeze the card in the app.\n\nhttps://cc.example/kb/lost-card"
    with pytest.raises(Conflict, match="not public"):
        await kb.service.share(internal.id, ShareMode.LINK, is_author=False, base_url="https://cc.example")
    inside = await kb.service.share(internal.id, ShareMode.EXCERPT, is_author=False, base_url="https://x")
    assert (inside.text, inside.url) == ("ID checks\n\nAsk for the date of birth.", None)
    with pytest.raises(NotFound):
        await kb.service.public_article(internal.slug)


async def test_bots_get_passages_of_published_public_articles_only(kb: Kb) -> None:
    public = await kb.article("Lost card", "## Freeze\n\nFreeze it.", summary="What to do.")
    await kb.article("ID checks", "Internal.", visibility=Visibility.INTERNAL)
    await kb.article("Draft", "Not yet.", publish=False)
    chunks = await kb.service.published_chunks()
    assert [(c.article_id, c.heading, c.text) for c in chunks] == [
        (public.id, "", "What to do."),
        (public.id, "Freeze", "Freeze it."),
    ]
    assert len(await kb.service.published_chunks(public_only=False)) == 3
    assert await kb.service.published_chunks(language="es") == []
    assert [c.id for c in await kb.service.article_chunks(public.id)] == [c.id for c in chunks]
    await kb.service.archive(public.id, expected_version=None, by=None)
    assert await kb.service.article_chunks(public.id) == []


async def test_demo_articles_load_once_and_are_searchable(kb: Kb) -> None:
    loaded = await load_demo_articles(kb.service, author_id=None)
    again = await load_demo_articles(kb.service, author_id=None)
    assert [a.id for a in again] == [a.id for a in loaded]
    assert len(loaded) == len(DEMO_ARTICLES) >= 8
    assert {a.language for a in loaded} == {"en", "es"}
    assert all(a.status is ArticleStatus.PUBLISHED for a in loaded)
    assert (await kb.titles("stolen card"))[0] == "Report a lost or stolen card"
    assert (await kb.titles("olvidé la contrasena", language="es"))[0] == (
        "Restablecer la contraseña de la banca online"
    )
    assert (await kb.titles("transfer limit", language="en"))[0] == "Daily and monthly transfer limits"
