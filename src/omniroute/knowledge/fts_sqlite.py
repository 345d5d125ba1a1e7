"""Article search on SQLite: an FTS5 table ranked with bm25().

The tokenizer is ``porter unicode61 remove_diacritics 2``: case and accents folded, then the Porter
(English) stemmer for every language. SQLite ships no Spanish stemmer; Porter on Spanish text only
folds plurals in -s ("tarjetas" → "tarjeta") and otherwise leaves words alone, consistently for
articles and queries. PostgreSQL stems Spanish properly (see ``fts_postgres``).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.knowledge.model import Article, Visibility
from omniroute.knowledge.rendering import MARK_END, MARK_START
from omniroute.knowledge.search import SearchHit, SearchQuery, snippet_html

FTS_TABLE = "knowledge_articles_fts"
#: Column weights for bm25(): article_id (unindexed), title, summary, tags, body.
WEIGHTS = (0.0, 10.0, 4.0, 6.0, 1.0)
SNIPPET_TOKENS = 32


def fts_rowid(article_id: str) -> int:
    """A fixed FTS row per article, so re-indexing is a lookup, not a scan of the FTS table.

    63 bits of a hash: a collision (about 1 in 10^7 at a million articles) fails the write with a
    constraint error rather than mixing two articles.
    """
    return int.from_bytes(hashlib.sha256(article_id.encode()).digest()[:8], "big") >> 1


_DELETE = sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :rowid")  # noqa: S608 - constant name
_INSERT = sa.text(
    f"INSERT INTO {FTS_TABLE} (rowid, article_id, title, summary, tags, body) "  # noqa: S608
    "VALUES (:rowid, :article_id, :title, :summary, :tags, :body)"
)
_WEIGHTS_SQL = ", ".join(str(w) for w in WEIGHTS)


class SqliteArticleSearch:
    async def index(self, conn: AsyncConnection, article: Article, body_text: str) -> None:
        rowid = fts_rowid(article.id)
        await conn.execute(_DELETE, {"rowid": rowid})
        await conn.execute(
            _INSERT,
            {
                "rowid": rowid,
                "article_id": article.id,
                "title": article.title,
                "summary": article.content.summary,
                "tags": " ".join(article.content.tags),
                "body": body_text,
            },
        )

    async def search(self, conn: AsyncConnection, query: SearchQuery) -> list[SearchHit]:
        if not query.terms:
            return []
        where = [f"{FTS_TABLE} MATCH :match", "a.status IN :statuses"]
        params: dict[str, object] = {
            # Terms are word characters only (search.query_terms), so quoting them is safe;
            # OR: an article matching more of the words ranks higher, one matching some still shows.
            "match": " OR ".join(f'"{term}"' for term in query.terms),
            "statuses": [s.value for s in query.statuses],
            "start": MARK_START,
            "end": MARK_END,
            "limit": query.limit,
            "offset": query.offset,
        }
        if query.language is not None:
            where.append("a.language = :language")
            params["language"] = query.language
        if query.public_only:
            where.append("a.visibility = :public")
            params["public"] = Visibility.PUBLIC.value
        # bm25() is negative, smaller is better: negated so that higher is better on every engine.
        statement = sa.text(
            f"SELECT a.id AS id, -bm25({FTS_TABLE}, {_WEIGHTS_SQL}) AS score, "  # noqa: S608
            f"snippet({FTS_TABLE}, 4, :start, :end, '…', {SNIPPET_TOKENS}) AS snippet "
            f"FROM {FTS_TABLE} JOIN knowledge_articles AS a ON a.id = {FTS_TABLE}.article_id "
            f"WHERE {' AND '.join(where)} "
            "ORDER BY score DESC, a.id LIMIT :limit OFFSET :offset"
        ).bindparams(sa.bindparam("statuses", expanding=True))
        rows = await conn.execute(statement, params)
        return [SearchHit(row.id, float(row.score), snippet_html(row.snippet)) for row in rows]
