"""HTML mail bodies to plain text for the transcript.

Nothing of the markup survives: scripts, styles, head matter and embedded objects are dropped with
their content, tags become line breaks where they are blocks, and links keep their address next to
their text so an agent can see where a link really points. Quoted history inside ``<blockquote>`` or a
mail client's quote container is dropped too (the plain-text quote stripper handles the rest).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Elements whose content is never text for a reader (or is active content).
_DROPPED = frozenset(
    {"script", "style", "head", "title", "template", "noscript", "iframe", "object", "embed", "svg", "math"}
)
#: Elements that sit on lines of their own.
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "dd", "div", "dt", "fieldset", "figcaption", "figure",
        "footer", "form", "header", "hr", "li", "main", "nav", "section", "tr",
    }
)  # fmt: skip
#: Elements with space around them (a blank line in text).
_PARAGRAPHS = frozenset(
    {"blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"}
)
# Boundaries are marked first and resolved at the end, so nested blocks (Gmail wraps every line in
# a <div>) give one line break, not one per tag; a <br> is always a line break of its own.
_LINE = "\x00L"
_PARAGRAPH = "\x00P"
_BOUNDARIES = re.compile(r"(?: *\x00[LP])+ *")
#: Void elements have no end tag, so they never open a skipped region.
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
#: Containers mail clients put quoted history in (Gmail, Thunderbird, Yahoo, Proton).
_QUOTE_CLASSES = frozenset({"gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote"})
#: Outlook marks only where the quoted part starts; the history follows as siblings, so the rest of
#: the document is cut there.
_CUT_IDS = frozenset({"divrplyfwdmsg", "appendonsend"})
_SPACES = re.compile(r"[ \t\r\f\v\n\u00a0]+")


class _TextCollector(HTMLParser):
    def __init__(self, *, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._drop_quotes = drop_quotes
        self._skip_tag: str | None = None
        self._skip_depth = 0
        self._pre = 0
        self._links: list[tuple[str | None, int]] = []  # (href, where the link text starts)
        self._cut = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._drop_quotes and (dict(attrs).get("id") or "").lower() in _CUT_IDS:
            self._cut = True
        if self._cut:
            return
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth += 1
            return
        if tag not in _VOID and (tag in _DROPPED or (self._drop_quotes and _is_quote(tag, attrs))):
            self._skip_tag, self._skip_depth = tag, 1
            return
        self._boundary(tag)
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("- ")
        elif tag == "pre":
            self._pre += 1
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.parts)))
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._cut and self._skip_tag is None:
            self._boundary(tag)
            if tag == "br":
                self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._cut:
            return
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
            return
        self._boundary(tag)
        if tag == "pre":
            self._pre = max(self._pre - 1, 0)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(self.parts[start:])
            # Show where a link really goes unless its text already says so (phishing looks alike).
            if href and href.startswith(("http://", "https://")) and href not in label:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self._cut or self._skip_tag is not None:
            return
        data = data.replace("\x00", "")  # NUL is our boundary marker, and never text
        self.parts.append(data if self._pre else _SPACES.sub(" ", data))

    def _boundary(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self.parts.append(_PARAGRAPH)
        elif tag in _BLOCKS:
            self.parts.append(_LINE)


def _is_quote(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    if tag == "blockquote":
        return True
    classes = set((dict(attrs).get("class") or "").split())
    return bool(classes & _QUOTE_CLASSES)


def html_to_text(html: str, *, drop_quotes: bool = True) -> str:
    """The readable text of ``html``; without quoted history unless ``drop_quotes`` is False."""
    collector = _TextCollector(drop_quotes=drop_quotes)
    collector.feed(html)
    collector.close()
    text = _BOUNDARIES.sub(lambda m: "\n\n" if _PARAGRAPH in m.group() else "\n", "".join(collector.parts))
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
