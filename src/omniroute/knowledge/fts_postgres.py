"""Article search on PostgreSQL: a weighted ``search_vector`` tsvector column (GIN index) ranked with
ts_rank_cd, snippets from ts_headline.

Migration 0007 creates three text search configurations, each mapping words through ``unaccent``
before the stemmer: ``omniroute_english`` (Snowball English), ``omniroute_spanish`` (Snowball
Spanish) and ``omniroute_simple`` (no stemming, for a language without a stemmer). Each article is
indexed with its language's configuration and each query is parsed once per configuration, so an
article only ever meets a query analysed the same way it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.knowledge.model import Article, Visibility
from omniroute.knowledge.rendering import MARK_END, MARK_START
from omniroute.knowledge.search import SearchHit, SearchQuery, snippet_html

CONFIGS = {"en": "omniroute_english", "es": "omniroute_spanish"}
FALLBACK_CONFIG = "omniroute_simple"
#: ts_rank_cd weights for D (body), C (unused), B (summary, tags), A (title).
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
#: Rank divided by the mean harmonic distance between matched extents: the words of a query found
#: close together count more. Measured best of 0, 1, 2 and 4 by bench/knowledge_search.py (ADR 9).
RANK_NORMALISATION = 4
#: One passage around the best match, like FTS5's snippet(). (Fragment mode cuts short articles off
#: right after the match.) The parser drops tag-like text ("<b>") from headlines.
HEADLINE_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=32, MinWords=16'


def _config_of(column: str) -> str:
    """SQL for the text search configuration of the article whose language is in ``column``."""
    cases = " ".join(f"WHEN '{lang}' THEN '{cfg}'::regconfig" for lang, cfg in CONFIGS.items())
    return f"CASE {column} {cases} ELSE '{FALLBACK_CONFIG}'::regconfig END"


_CONFIG_SQL = _config_of("language")

_REINDEX = sa.text(
    "UPDATE knowledge_articles SET search_vector = "  # noqa: S608 - fragments are constants
    f"setweight(to_tsvector({_CONFIG_SQL}, title), 'A') || "
    f"setweight(to_tsvector({_CONFIG_SQL}, summary), 'B') || "
    f"setweight(to_tsvector({_CONFIG_SQL}, :tags), 'B') || "
    f"setweight(to_tsvector({_CONFIG_SQL}, body_text), 'D') "
    "WHERE id = :id"
)

# Exact: each article meets the query as analysed by its own language's configuration.
_EXACT_SQL = " OR ".join(
    [
        f"(a.language = '{lang}' AND a.search_vector @@ to_tsquery('{cfg}', :tq))"
        for lang, cfg in CONFIGS.items()
    ]
    + [
        f"(a.language NOT IN ({', '.join(repr(lang) for lang in CONFIGS)}) "
        f"AND a.search_vector @@ to_tsquery('{FALLBACK_CONFIG}', :tq))"
    ]
)
# The planner does not turn the OR of ANDs above into a GIN bitmap scan; this single condition
# (a superset: any configuration's reading of the query) is the one the index answers.
_INDEXED_SQL = (
    "a.search_vector @@ ("
    + " || ".join(f"to_tsquery('{cfg}', :tq)" for cfg in (*CONFIGS.values(), FALLBACK_CONFIG))
    + ")"
)
_MATCH_SQL = f"{_INDEXED_SQL} AND ({_EXACT_SQL})"


class PostgresArticleSearch:
    async def index(self, conn: AsyncConnection, article: Article, body_text: str) -> None:
        # The vector is computed from the row just written (same transaction); tags are the one
        # value not stored as text.
        await conn.execute(_REINDEX, {"id": article.id, "tags": " ".join(article.content.tags)})

    async def search(self, conn: AsyncConnection, query: SearchQuery) -> list[SearchHit]:
        if not query.terms:
            return []
        where = [f"({_MATCH_SQL})", "a.status IN :statuses"]
        params: dict[str, object] = {
            # Terms are word characters only (search.query_terms), so quoting them is safe;
            # OR: an article matching more of the words ranks higher, one matching some still shows.
            "tq": " | ".join(f"'{term}'" for term in query.terms),
            "statuses": [s.value for s in query.statuses],
            "options": HEADLINE_OPTIONS,
            "limit": query.limit,
            "offset": query.offset,
        }
        if query.language is not None:
            where.append("a.language = :language")
            params["language"] = query.language
        if query.public_only:
            where.append("a.visibility = :public")
            params["public"] = Visibility.PUBLIC.value
        config = _config_of("a.language")
        # ts_headline re-parses the text, so it runs only on the page of results (outer query).
        statement = sa.text(
            "SELECT r.id, r.score, ts_headline(r.cfg, r.body_text, r.q, :options) AS snippet FROM ("  # noqa: S608
            f"SELECT a.id, a.body_text, {config} AS cfg, to_tsquery({config}, :tq) AS q, "
            f"ts_rank_cd('{RANK_WEIGHTS}'::float4[], a.search_vector, to_tsquery({config}, :tq), "
            f"{RANK_NORMALISATION}) AS score "
            f"FROM knowledge_articles AS a WHERE {' AND '.join(where)} "
            "ORDER BY score DESC, a.id LIMIT :limit OFFSET :offset"
            ") AS r ORDER BY r.score DESC, r.id"
        ).bindparams(sa.bindparam("statuses", expanding=True))
        rows = await conn.execute(statement, params)
        return [SearchHit(row.id, float(row.score), snippet_html(row.snippet)) for row in rows]
