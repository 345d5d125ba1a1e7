"""Knowledge commands and queries: write articles (supervisors, admins), read and search them
(agents, bots), and hand passages to the bots' retrieval.

Every write is one unit of work: the article row, its full-text index entry and its event commit
together, so a search never finds an article that is not there, nor misses a committed edit.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError

from omniroute.core.db import Database
from omniroute.core.errors import Conflict, InvalidInput, NotFound
from omniroute.core.events import DomainEvent
from omniroute.core.ids import new_id
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.knowledge import model, store
from omniroute.knowledge.chunks import DEFAULT_MAX_WORDS, Chunk, chunk_article
from omniroute.knowledge.events import ArticleArchived, ArticleCreated, ArticlePublished, ArticleUpdated
from omniroute.knowledge.model import Article, ArticleStatus, Content, Visibility
from omniroute.knowledge.rendering import excerpt, plain_text
from omniroute.knowledge.search import ArticleSearch, SearchQuery, query_terms

MAX_PAGE = 50
SLUG_ATTEMPTS = 3
SHARE_EXCERPT_CHARS = 500


class ShareMode(StrEnum):
    LINK = "link"
    EXCERPT = "excerpt"


@dataclass(frozen=True)
class Found:
    article: Article
    score: float | None
    """None when browsing without search text."""
    snippet_html: str
    """HTML-escaped text with ``<mark>`` around matched words; the summary when browsing."""


@dataclass(frozen=True)
class Shared:
    text: str
    """Ready to post into a conversation."""
    url: str | None
    """The public link, when the article may be shown to customers."""


def _changed(old: Content, new: Content) -> list[str]:
    return [f.name for f in fields(Content) if getattr(old, f.name) != getattr(new, f.name)]


class KnowledgeService:
    def __init__(self, db: Database, publisher: Publisher, search: ArticleSearch) -> None:
        self.db = db
        self.publisher = publisher
        self.search_index = search

    # -- writing --------------------------------------------------------------------------------

    async def create(self, content: Content, *, author_id: str | None, slug: str | None = None) -> Article:
        checked = model.check_content(content)
        wanted = model.check_slug(slug) if slug is not None else None
        body_text = plain_text(checked.body)
        for _ in range(SLUG_ATTEMPTS):
            try:
                async with self.publisher.unit_of_work() as uow:
                    taken = await store.slugs_starting(uow.conn, wanted or model.slugify(checked.title))
                    if wanted is not None and wanted in taken:
                        msg = f"slug {wanted!r} is already used by another article"
                        raise Conflict(msg)
                    chosen = wanted or model.slug_candidates(model.slugify(checked.title), taken)
                    article = model.new_article(new_id(), chosen, checked, author_id, uow.clock.now())
                    await store.insert_article(uow.conn, article, body_text)
                    await self.search_index.index(uow.conn, article, body_text)
                    uow.emit(
                        ArticleCreated(
                            occurred_at=article.created_at,
                            article_id=article.id,
                            slug=article.slug,
                            title=article.title,
                            language=article.language,
                            visibility=article.content.visibility.value,
                            version=article.version,
                            actor_id=author_id,
                        )
                    )
                return article
            except IntegrityError:
                # Two articles with the same title created at once (PostgreSQL): pick again.
                if wanted is not None:
                    msg = f"slug {wanted!r} is already used by another article"
                    raise Conflict(msg) from None
        raise Conflict("could not find a free slug for this title; pass one explicitly")

    async def update(
        self,
        article_id: str,
        *,
        expected_version: int,
        by: str | None,
        title: str | None = None,
        body: str | None = None,
        summary: str | None = None,
        language: str | None = None,
        tags: list[str] | None = None,
        visibility: Visibility | None = None,
    ) -> Article:
        """Change the given fields (the others stay). ``expected_version`` is the version edited."""
        async with self.publisher.unit_of_work() as uow:
            current = await self._load(uow, article_id)
            was = current.content
            content = Content(
                title=was.title if title is None else title,
                body=was.body if body is None else body,
                summary=was.summary if summary is None else summary,
                language=was.language if language is None else language,
                tags=was.tags if tags is None else tuple(tags),
                visibility=was.visibility if visibility is None else visibility,
            )
            edited = model.edit(current, content, expected_version, by, uow.clock.now())
            if edited is current:
                return current
            await self._save(uow, current, edited)
            uow.emit(
                ArticleUpdated(
                    occurred_at=edited.updated_at,
                    article_id=edited.id,
                    title=edited.title,
                    status=edited.status.value,
                    version=edited.version,
                    changed=_changed(current.content, edited.content),
                    actor_id=by,
                )
            )
        return edited

    async def publish(self, article_id: str, *, expected_version: int | None, by: str | None) -> Article:
        return await self._transition(
            article_id,
            lambda current, now: model.publish(current, expected_version, by, now),
            lambda published: ArticlePublished(
                occurred_at=published.updated_at,
                article_id=published.id,
                slug=published.slug,
                title=published.title,
                language=published.language,
                visibility=published.content.visibility.value,
                version=published.version,
                actor_id=by,
            ),
        )

    async def archive(self, article_id: str, *, expected_version: int | None, by: str | None) -> Article:
        return await self._transition(
            article_id,
            lambda current, now: model.archive(current, expected_version, by, now),
            lambda archived: ArticleArchived(
                occurred_at=archived.updated_at,
                article_id=archived.id,
                version=archived.version,
                actor_id=by,
            ),
        )

    async def _transition(
        self,
        article_id: str,
        change: Callable[[Article, datetime], Article],
        event: Callable[[Article], DomainEvent],
    ) -> Article:
        """Load for update, apply a status change, save it with its event; a no-op saves nothing."""
        async with self.publisher.unit_of_work() as uow:
            current = await self._load(uow, article_id)
            changed = change(current, uow.clock.now())
            if changed is current:
                return current
            await self._save(uow, current, changed)
            uow.emit(event(changed))
        return changed

    async def _load(self, uow: UnitOfWork, article_id: str) -> Article:
        found = await store.get_article(uow.conn, article_id, for_update=True)
        if found is None:
            msg = f"no article {article_id}"
            raise NotFound(msg)
        return found

    async def _save(self, uow: UnitOfWork, current: Article, changed: Article) -> None:
        body_text = plain_text(changed.content.body)
        if not await store.update_article(uow.conn, changed, current.version, body_text):
            # Unreachable while the row lock / SQLite's single writer hold; kept as the last guard.
            msg = f"article {current.id} changed meanwhile; reload and retry"
            raise Conflict(msg)
        await self.search_index.index(uow.conn, changed, body_text)

    # -- reading --------------------------------------------------------------------------------

    async def get(self, article_id: str, *, is_author: bool) -> Article:
        async with self.db.read() as conn:
            found = await store.get_article(conn, article_id)
        return self._readable(found, article_id, is_author)

    async def get_by_slug(self, slug: str, *, is_author: bool) -> Article:
        async with self.db.read() as conn:
            found = await store.get_by_slug(conn, slug)
        return self._readable(found, slug, is_author)

    async def public_article(self, slug: str) -> Article:
        """The article behind a shared link: published and public, else not found."""
        async with self.db.read() as conn:
            found = await store.get_by_slug(conn, slug)
        if found is None or not found.is_public:
            msg = f"no article {slug}"
            raise NotFound(msg)
        return found

    @staticmethod
    def _readable(found: Article | None, key: str, is_author: bool) -> Article:
        # Agents asking for a draft get the same 404 as for nothing: drafts are not probed.
        if found is None or not model.can_read(found, is_author):
            msg = f"no article {key}"
            raise NotFound(msg)
        return found

    async def search(
        self,
        text: str | None,
        *,
        is_author: bool,
        status: ArticleStatus | None = None,
        language: str | None = None,
        public_only: bool = False,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Found]:
        """Ranked full-text search; without search text, the most recently updated articles."""
        statuses = model.readable_statuses(is_author, status)
        if language is not None and language not in model.LANGUAGES:
            msg = f"language must be one of {list(model.LANGUAGES)}"
            raise InvalidInput(msg)
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            msg = f"limit must be 1 to {MAX_PAGE} and offset not negative"
            raise InvalidInput(msg)
        async with self.db.read() as conn:
            if not (text or "").strip():
                listed = await store.list_articles(
                    conn, statuses, language=language, public_only=public_only, limit=limit, offset=offset
                )
                return [Found(a, None, html.escape(a.content.summary, quote=False)) for a in listed]
            query = SearchQuery(
                terms=tuple(query_terms(text or "")),
                statuses=statuses,
                language=language,
                public_only=public_only,
                limit=limit,
                offset=offset,
            )
            hits = await self.search_index.search(conn, query)
            by_id = await store.get_many(conn, [h.article_id for h in hits])
        return [Found(by_id[h.article_id], h.score, h.snippet_html) for h in hits if h.article_id in by_id]

    async def share(self, article_id: str, mode: ShareMode, *, is_author: bool, base_url: str) -> Shared:
        """What an agent sends into a chat: the title and link, or an excerpt (and the link if public).

        Internal articles have no link to send: customers could not open it.
        """
        article = await self.get(article_id, is_author=is_author)
        url = f"{base_url.rstrip('/')}{article.public_path}" if article.is_public else None
        if mode is ShareMode.LINK:
            if url is None:
                msg = "this article is not public (or not published): send an excerpt instead"
                raise Conflict(msg)
            return Shared(f"{article.title}: {url}", url)
        text = f"{article.title}\n\n{excerpt(article.content.body, SHARE_EXCERPT_CHARS)}"
        return Shared(f"{text}\n\n{url}" if url else text, url)

    # -- for the bots ---------------------------------------------------------------------------

    async def published_chunks(
        self, *, language: str | None = None, public_only: bool = True, max_words: int = DEFAULT_MAX_WORDS
    ) -> list[Chunk]:
        """Every published article cut into passages, for building the bots' retrieval index.

        ``public_only`` (the default) leaves internal articles out: bots answer customers.
        Refresh on ``knowledge.*`` events (or use ``article_chunks`` for the one article named).
        """
        async with self.db.read() as conn:
            articles = await store.list_articles(
                conn, (ArticleStatus.PUBLISHED,), language=language, public_only=public_only, limit=None
            )
        return [chunk for article in articles for chunk in chunk_article(article, max_words)]

    async def article_chunks(
        self, article_id: str, *, public_only: bool = True, max_words: int = DEFAULT_MAX_WORDS
    ) -> list[Chunk]:
        """The passages of one article; empty when it is not (or no longer) available to bots."""
        async with self.db.read() as conn:
            article = await store.get_article(conn, article_id)
        if article is None or article.status is not ArticleStatus.PUBLISHED:
            return []
        if public_only and not article.is_public:
            return []
        return chunk_article(article, max_words)
