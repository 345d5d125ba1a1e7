"""Articles cut into passages for the bots' retrieval (embeddings + BM25 over passages). Pure.

A passage keeps to one section (it never spans a heading) and to about ``max_words`` words, split at
paragraph, then sentence, then word boundaries. Its id carries the article version, so an embedding
cache keyed by chunk id is invalidated by any edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from omniroute.knowledge.model import Article
from omniroute.knowledge.rendering import blocks

DEFAULT_MAX_WORDS = 120
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    article_version: int
    index: int
    title: str
    heading: str
    """The section's heading path ("Before you call › Documents"), empty before the first heading."""
    text: str
    language: str
    public_path: str

    @property
    def passage(self) -> str:
        """Title, section and text in one string: the thing to embed or score."""
        return "\n".join(part for part in (self.title, self.heading, self.text) if part)


def _pieces(text: str, max_words: int) -> list[str]:
    """``text`` in pieces of at most ``max_words`` words, preferring sentence boundaries."""
    if len(text.split()) <= max_words:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        while len(words) > max_words:  # a run-on sentence: cut by words
            if current:
                pieces.append(" ".join(current))
                current = []
            pieces.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if current and len(current) + len(words) > max_words:
            pieces.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk_article(article: Article, max_words: int = DEFAULT_MAX_WORDS) -> list[Chunk]:
    sections: list[tuple[str, list[str]]] = []  # (heading path, texts)
    if article.content.summary:
        sections.append(("", [article.content.summary]))
    path: list[tuple[int, str]] = []
    texts: list[str] = []
    for block in blocks(article.content.body):
        if block.heading_level:
            if texts:
                sections.append((" › ".join(t for _, t in path), texts))
                texts = []
            path = [(level, t) for level, t in path if level < block.heading_level]
            path.append((block.heading_level, block.text))
        else:
            texts.append(block.text)
    if texts:
        sections.append((" › ".join(t for _, t in path), texts))

    passages: list[tuple[str, str]] = []
    for heading, section_texts in sections:
        current: list[str] = []
        size = 0
        for text in section_texts:
            for piece in _pieces(text, max_words):
                words = len(piece.split())
                if current and size + words > max_words:
                    passages.append((heading, "\n".join(current)))
                    current, size = [], 0
                current.append(piece)
                size += words
        if current:
            passages.append((heading, "\n".join(current)))

    return [
        Chunk(
            id=f"{article.id}:{article.version}:{index}",
            article_id=article.id,
            article_version=article.version,
            index=index,
            title=article.title,
            heading=heading,
            text=text,
            language=article.language,
            public_path=article.public_path,
        )
        for index, (heading, text) in enumerate(passages)
    ]
