"""Markdown to safe HTML, and to plain text (for the search index, excerpts and bot passages).

Two independent guards against script injection: markdown-it runs with raw HTML disabled (it
escapes ``<script>`` and refuses ``javascript:`` links), and its output then goes through nh3
(ammonia) with a short allow-list of tags, attributes and URL schemes. Either alone would do
today; both together survive a future change of Markdown options.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

#: Private-use characters that mark highlighted words in search snippets; never kept in indexed text.
MARK_START = "\ue000"
MARK_END = "\ue001"

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code",
        "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
LINK_REL = "noopener noreferrer"


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
        filter_style_properties={"text-align"},  # table column alignment, nothing else
    )


def sanitise(html: str) -> str:
    """The allow-list alone, whatever produced ``html``."""
    return _cleaner().clean(html)


def render_html(markdown: str) -> str:
    return sanitise(_markdown().render(markdown))


@dataclass(frozen=True)
class Block:
    """One block of an article as plain text: a heading (with its level) or a paragraph-like block."""

    text: str
    heading_level: int = 0


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)  # the alt text
    return " ".join(_unmarked("".join(parts)).split())


def blocks(markdown: str) -> list[Block]:
    """The article's text in reading order, one entry per heading, paragraph, list item, row or code."""
    found: list[Block] = []
    heading = 0
    row: list[str] | None = None
    for token in _markdown().parse(markdown):
        if token.type == "heading_open":
            heading = int(token.tag[1:])
        elif token.type == "heading_close":
            heading = 0
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            found.append(Block(" | ".join(cell for cell in row if cell)))
            row = None
        elif token.type == "inline":
            text = _inline_text(token)
            if row is not None:
                row.append(text)
            elif text:
                found.append(Block(text, heading))
        elif token.type in {"fence", "code_block"} and _unmarked(token.content).strip():
            found.append(Block(_unmarked(token.content).strip()))
    return found


def _unmarked(text: str) -> str:
    return text.replace(MARK_START, "").replace(MARK_END, "")


def plain_text(markdown: str) -> str:
    return "\n\n".join(block.text for block in blocks(markdown))


def shorten(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    if text[len(cut)] != " " and " " in cut:  # the cut fell inside a word: drop that word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def excerpt(markdown: str, max_chars: int = 400) -> str:
    """The opening text of the body (headings skipped): what an agent sends into a chat."""
    body = " ".join(b.text for b in blocks(markdown) if not b.heading_level)
    return shorten(body, max_chars)
