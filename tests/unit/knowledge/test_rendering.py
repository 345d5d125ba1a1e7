"""Markdown → safe HTML (XSS attempts), → plain text, excerpts, snippets and bot passages."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from omniroute.knowledge.chunks import chunk_article
from omniroute.knowledge.model import Content, new_article
from omniroute.knowledge.rendering import (
    ALLOWED_TAGS,
    MARK_END,
    MARK_START,
    blocks,
    excerpt,
    plain_text,
    render_html,
    sanitise,
    shorten,
)
from omniroute.knowledge.search import query_terms, snippet_html

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_markdown_renders_to_html() -> None:
    html = render_html("## Steps\n\n1. Open **Cards**\n2. Tap *Freeze*\n\n| a | b |\n|---|--:|\n| 1 | 2 |")
    assert "<h2>Steps</h2>" in html
    assert "<ol>\n<li>Open <strong>Cards</strong></li>" in html
    assert "<em>Freeze</em>" in html
    assert '<td style="text-align:right">2</td>' in html


def test_links_get_rel_noopener_noreferrer() -> None:
    html = render_html("[help](https://bank.example/help) and [article](/kb/lost-card)")
    assert '<a href="https://bank.example/help" rel="noopener noreferrer">help</a>' in html
    assert '<a href="/kb/lost-card" rel="noopener noreferrer">article</a>' in html


class Tags(HTMLParser):
    """Every tag and attribute in rendered HTML, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![x](javascript:alert(1))",
        '<iframe src="https://evil.example"></iframe>',
        "<svg onload=alert(1)>",
        '<div style="background:url(javascript:alert(1))">x</div>',
        "<style>body{display:none}</style>",
        '[x](https://ok.example "title\\" onmouseover=\\"alert(1)")',
        "<details open ontoggle=alert(1)>",
    ],
)
def test_script_injection_does_not_survive(attack: str) -> None:
    html = render_html(f"Before\n\n{attack}\n\nAfter")
    for tag, attrs in Tags(html).seen:
        assert tag in ALLOWED_TAGS
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name in {"href", "src", "title", "alt", "rel", "style", "start"}, (tag, name)
            if name in {"href", "src"}:
                assert urlsplit(value or "").scheme in {"", "http", "https", "mailto", "tel"}, value
            if name == "style":
                assert value is not None
                assert value.replace(" ", "").startswith("text-align:"), value
    assert html.startswith("<p>Before</p>")
    assert html.rstrip().endswith("<p>After</p>")


def test_the_sanitiser_alone_strips_what_markdown_would_never_emit() -> None:
    dirty = (
        '<p onclick="x()">ok<script>alert(1)</script></p><img src="javascript:alert(1)" onerror="y()">'
        '<a href="https://x.example" target="_blank" rel="opener">l</a><iframe src="/x"></iframe>'
        '<td style="position:fixed;text-align:left">c</td>'
    )
    clean = sanitise(dirty)
    assert clean.startswith("<p>ok</p><img>")
    assert '<a href="https://x.example" rel="noopener noreferrer">l</a>' in clean
    for gone in ("script", "alert", "onclick", "onerror", "iframe", "target", "position"):
        assert gone not in clean


def test_raw_html_is_shown_as_text_not_markup() -> None:
    html = render_html("<b>bold</b> & <i>x</i>")
    assert "<b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;x&lt;/i&gt;" in html


def test_plain_text_keeps_words_not_markup() -> None:
    md = "# Title\n\nA **bold** [link](https://x.example) `code` ![alt text](/i.png)\nnext\n\n- one\n- two\n"
    assert plain_text(md) == "Title\n\nA bold link code alt text next\n\none\n\ntwo"
    assert [b.heading_level for b in blocks(md)] == [1, 0, 0, 0]


def test_plain_text_flattens_tables_and_keeps_code() -> None:
    md = "| Type | Limit |\n|---|---|\n| Instant | £10,000 |\n\n```\nPIN 1234\n```"
    assert plain_text(md) == "Type | Limit\n\nInstant | £10,000\n\nPIN 1234"


def test_the_snippet_marks_cannot_be_forged_from_article_text() -> None:
    assert MARK_START not in plain_text(f"evil {MARK_START}x{MARK_END}")


def test_excerpts_skip_headings_and_cut_at_a_word() -> None:
    md = "## Freeze the card\n\nOpen the app and go to Cards. Choose the card and tap Freeze card."
    assert excerpt(md, 400) == "Open the app and go to Cards. Choose the card and tap Freeze card."
    assert excerpt(md, 30) == "Open the app and go to Cards…"
    assert shorten("short", 10) == "short"


def test_snippets_escape_text_and_mark_matches() -> None:
    raw = f"AT&T <b>not bold</b> {MARK_START}card{MARK_END}\n blocked"
    assert snippet_html(raw) == "AT&amp;T &lt;b&gt;not bold&lt;/b&gt; <mark>card</mark> blocked"


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("How do I reset my password?", ["reset", "password"]),
        ("¿Cómo cambio mi contraseña?", ["cambio", "contraseña"]),
        ('"card" OR lost* NEAR(x) -- \'; drop', ["card", "lost", "near", "drop"]),
        ("the of and", []),
        ("a 2 b", ["2"]),
        ("card CARD Card", ["card"]),
    ],
)
def test_query_terms_are_safe_words_without_stop_words(text: str, terms: list[str]) -> None:
    assert query_terms(text) == terms


def test_articles_are_cut_into_section_passages_for_bots() -> None:
    long_paragraph = " ".join(f"Sentence number {i} is here." for i in range(60))
    body = (
        "Intro text.\n\n## Freeze\n\nStep one.\n\nStep two.\n\n"
        f"### Details\n\n{long_paragraph}\n\n## Replace\n\nNew card."
    )
    article = new_article(
        "a1", "lost-card", Content("Lost card", body, summary="Freeze it.", language="en"), None, T0
    )
    chunks = chunk_article(article, max_words=50)
    assert [c.heading for c in chunks[:3]] == ["", "", "Freeze"]
    assert chunks[0].text == "Freeze it."
    assert chunks[1].text == "Intro text."
    assert chunks[2].text == "Step one.\nStep two."
    details = [c for c in chunks if c.heading == "Freeze › Details"]
    assert len(details) > 1
    assert all(len(c.text.split()) <= 50 for c in details)
    assert " ".join(c.text for c in details) == long_paragraph
    assert chunks[-1].heading == "Replace"
    assert chunks[-1].passage == "Lost card\nReplace\nNew card."
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].id == "a1:1:0"
    assert {c.public_path for c in chunks} == {"/kb/lost-card"}
