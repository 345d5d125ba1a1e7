"""Tables and queries for knowledge articles.

The full-text index is not on this metadata: it is dialect-specific (an FTS5 table on SQLite, a
``search_vector`` tsvector column on PostgreSQL), created by migration 0007 and maintained by
``knowledge.search`` in the same transaction as each write here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime
from omniroute.knowledge.model import Article, ArticleStatus, Content, Visibility

articles = sa.Table(
    "knowledge_articles",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    # Derived from the body (Markdown → text) at write time: what is indexed and quoted in snippets.
    sa.Column("body_text", sa.Text(), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("tags", sa.JSON(), nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("author_id", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("updated_by", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("published_at", UTCDateTime(), nullable=True),
    sa.Column("archived_at", UTCDateTime(), nullable=True),
)


def _article(row: AnyRow) -> Article:
    m = row._mapping
    return Article(
        id=m["id"],
        slug=m["slug"],
        content=Content(
            title=m["title"],
            body=m["body"],
            summary=m["summary"],
            language=m["language"],
            tags=tuple(m["tags"]),
            visibility=Visibility(m["visibility"]),
        ),
        status=ArticleStatus(m["status"]),
        version=m["version"],
        author_id=m["author_id"],
        updated_by=m["updated_by"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        published_at=m["published_at"],
        archived_at=m["archived_at"],
    )


def _values(article: Article, body_text: str) -> dict[str, object]:
    c = article.content
    return {
        "slug": article.slug,
        "title": c.title,
        "summary": c.summary,
        "body": c.body,
        "body_text": body_text,
        "language": c.language,
        "tags": list(c.tags),
        "visibility": c.visibility.value,
        "status": article.status.value,
        "version": article.version,
        "author_id": article.author_id,
        "updated_by": article.updated_by,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "published_at": article.published_at,
        "archived_at": article.archived_at,
    }


_COLUMNS = [c for c in articles.c if c.name != "body_text"]


async def insert_article(conn: AsyncConnection, article: Article, body_text: str) -> None:
    await conn.execute(articles.insert().values(id=article.id, **_values(article, body_text)))


async def update_article(
    conn: AsyncConnection, article: Article, previous_version: int, body_text: str
) -> bool:
    """Write ``article`` if the stored one is still at ``previous_version`` (the optimistic guard)."""
    result = await conn.execute(
        articles.update()
        .where(articles.c.id == article.id, articles.c.version == previous_version)
        .values(**_values(article, body_text))
    )
    return result.rowcount == 1


async def get_article(conn: AsyncConnection, article_id: str, *, for_update: bool = False) -> Article | None:
    query = sa.select(*_COLUMNS).where(articles.c.id == article_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _article(row) if row else None


async def get_by_slug(conn: AsyncConnection, slug: str) -> Article | None:
    row = (await conn.execute(sa.select(*_COLUMNS).where(articles.c.slug == slug))).first()
    return _article(row) if row else None


async def get_many(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, Article]:
    if not ids:
        return {}
    rows = await conn.execute(sa.select(*_COLUMNS).where(articles.c.id.in_(list(ids))))
    return {row.id: _article(row) for row in rows}


async def slugs_starting(conn: AsyncConnection, base: str) -> list[str]:
    rows = await conn.execute(
        sa.select(articles.c.slug).where(
            sa.or_(articles.c.slug == base, articles.c.slug.like(f"{base}-%", escape="\\"))
        )
    )
    return [row.slug for row in rows]


async def list_articles(
    conn: AsyncConnection,
    statuses: Sequence[ArticleStatus],
    *,
    language: str | None = None,
    public_only: bool = False,
    limit: int | None = 20,
    offset: int = 0,
) -> list[Article]:
    """Most recently updated first (the browse view when there is no search text); ``limit=None``
    for all of them (the bots' passage index)."""
    query = sa.select(*_COLUMNS).where(articles.c.status.in_([s.value for s in statuses]))
    if language is not None:
        query = query.where(articles.c.language == language)
    if public_only:
        query = query.where(articles.c.visibility == Visibility.PUBLIC.value)
    query = query.order_by(articles.c.updated_at.desc(), articles.c.id).limit(limit).offset(offset)
    return [_article(row) for row in await conn.execute(query)]
