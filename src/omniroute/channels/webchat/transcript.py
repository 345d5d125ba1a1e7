"""A conversation's transcript as a file the customer keeps: plain text or a standalone HTML page.

Pure. Every message is escaped in the HTML version (customers' and agents' text is never markup),
and the page carries no script, so opening a downloaded transcript is safe.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from omniroute.conversations.model import MessageAttachment, SenderKind
from omniroute.conversations.store import Message


@dataclass(frozen=True)
class TranscriptFile:
    filename: str
    media_type: str
    body: str


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


#: Makes a download link for a stored attachment (signed and expiring), given its id.
Linker = Callable[[str], str]


def _href(a: MessageAttachment, link: Linker | None) -> str | None:
    if a.id is not None:
        return link(a.id) if link is not None else None
    return a.url


def _line(m: Message, link: Linker | None = None) -> str:
    who = "" if m.sender_kind is SenderKind.SYSTEM else f"{m.sender_name}: "
    parts = [m.text] if m.text else []
    for a in m.attachments:
        href = _href(a, link)
        parts.append(f"[file: {a.filename}]" + (f" {href}" if href else ""))
    if m.location is not None:
        parts.append(f"{m.location.line()} {m.location.map_url}")
    return f"[{_when(m.created_at)}] {who}" + "\n".join(parts)


def as_text(
    title: str,
    started: str,
    subject_time: datetime,
    messages: Sequence[Message],
    link: Linker | None = None,
) -> str:
    lines = [title, f"{started}: {_when(subject_time)}", ""]
    lines += [_line(m, link) for m in messages]
    return "\n".join(lines) + "\n"


def _files_html(m: Message, link: Linker | None) -> str:
    items = []
    for a in m.attachments:
        href = _href(a, link)
        name = html.escape(a.filename)
        items.append(
            f'<li><a href="{html.escape(href)}" rel="noopener noreferrer">{name}</a></li>'
            if href and href.startswith(("http://", "https://"))
            else f"<li>{name}</li>"
        )
    return f'<ul class="files">{"".join(items)}</ul>' if items else ""


def _location_html(m: Message) -> str:
    if m.location is None:
        return ""
    place = m.location
    return (
        f'<p class="place"><a href="{html.escape(place.map_url)}" rel="noopener noreferrer">'
        f"{html.escape(place.line())}</a></p>"
    )


STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2937}h1{font-size:1.3rem}ol{list-style:none;padding:0}li{margin:.6rem 0}"
    ".meta{color:#6b7280;font-size:.8rem}.system{color:#6b7280;font-style:italic}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}"
)


def as_html(
    title: str,
    started: str,
    subject_time: datetime,
    messages: Sequence[Message],
    language: str,
    link: Linker | None = None,
) -> str:
    items = []
    for m in messages:
        css = "system" if m.sender_kind is SenderKind.SYSTEM else m.sender_kind.value
        who = "" if m.sender_kind is SenderKind.SYSTEM else f"{html.escape(m.sender_name)} · "
        items.append(
            f'<li class="{css}"><div class="meta">{who}{_when(m.created_at)}</div>'
            f'<p class="text">{html.escape(m.text)}</p>{_files_html(m, link)}{_location_html(m)}</li>'
        )
    return (
        f'<!doctype html>\n<html lang="{html.escape(language)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">{html.escape(started)}: '
        f"{_when(subject_time)}</p><ol>{''.join(items)}</ol></body></html>\n"
    )


def transcript_file(
    fmt: str,
    *,
    title: str,
    started: str,
    conversation_id: str,
    created_at: datetime,
    messages: Sequence[Message],
    language: str,
    link: Linker | None = None,
) -> TranscriptFile:
    stem = f"chat-transcript-{created_at.strftime('%Y%m%d')}-{conversation_id[-8:]}"
    if fmt == "html":
        body = as_html(title, started, created_at, messages, language, link)
        return TranscriptFile(f"{stem}.html", "text/html; charset=utf-8", body)
    return TranscriptFile(
        f"{stem}.txt", "text/plain; charset=utf-8", as_text(title, started, created_at, messages, link)
    )
