"""The ranked full-text search port, and what both implementations share (query terms, snippets).

Implementations: ``fts_sqlite.SqliteArticleSearch`` (FTS5, bm25) and
``fts_postgres.PostgresArticleSearch`` (tsvector, ts_rank_cd). Both take the caller's connection:
``index`` runs inside the transaction that writes the article, so the index can never disagree with
the committed articles (see docs/adr/0009-knowledge-search.md).

Semantics common to both (the contract suite in tests/integration/knowledge checks them):
any-term matching ranked by relevance, title and tags weighing more than the body, case and accent
insensitive, English inflections and plurals matched; stop words ignored; snippets from the body
with matched words in ``<mark>``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.knowledge.model import Article, ArticleStatus, fold
from omniroute.knowledge.rendering import MARK_END, MARK_START

MAX_TERMS = 12
MAX_QUERY = 200  # characters; a search box, not a document

#: Words too common to say anything about an article, English and Spanish (accents folded).
STOP_WORDS = frozenset(
    {
        # English
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from", "how",
        "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "so",
        "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "we", "what", "when",
        "where", "which", "who", "why", "will", "with", "you", "your",
        # Spanish
        "al", "como", "con", "cual", "cuando", "de", "del", "donde", "el", "ella", "ellos", "en", "es",
        "esta", "este", "esto", "hay", "la", "las", "le", "lo", "los", "mas", "mi", "mis", "muy", "o",
        "para", "pero", "por", "que", "se", "si", "sin", "su", "sus", "te", "tu", "un", "una", "uno",
        "unos", "y", "ya", "yo",
    }
)  # fmt: skip

_WORD = re.compile(r"\w+")


def query_terms(text: str) -> list[str]:
    """The distinct meaningful words of a search, in order; empty when there is nothing to look for.

    Only word characters survive, so a term can be quoted safely in either engine's query syntax.
    """
    terms: list[str] = []
    for word in _WORD.findall(text[:MAX_QUERY].lower()):
        if (len(word) < 2 and not word.isdigit()) or fold(word) in STOP_WORDS or word in terms:
            continue
        terms.append(word)
    return terms[:MAX_TERMS]


def snippet_html(marked: str) -> str:
    """Engine output with private-use marks around matches → HTML-escaped text with ``<mark>``."""
    escaped = html.escape(" ".join(marked.split()), quote=False)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


@dataclass(frozen=True)
class SearchQuery:
    terms: tuple[str, ...]
    statuses: tuple[ArticleStatus, ...]
    language: str | None = None
    public_only: bool = False
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class SearchHit:
    article_id: str
    score: float
    """Higher is better. Comparable within one result list only, not across engines or queries."""
    snippet_html: str


class ArticleSearch(Protocol):
    async def index(self, conn: AsyncConnection, article: Article, body_text: str) -> None:
        """(Re)index ``article`` inside the caller's transaction."""
        ...

    async def search(self, conn: AsyncConnection, query: SearchQuery) -> list[SearchHit]:
        """Matching articles, best first."""
        ...
