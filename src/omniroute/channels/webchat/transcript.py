"""A conversation's transcript as a file the customer keeps: plain text or a standalone HTML page.

Pure. Every message is escaped in the HTML version (customers' and agents' text is never markup),
and the page carries no script, so opening a downloaded transcript is safe.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from omniroute.conversations.model import SenderKind
from omniroute.conversations.store import Message


@dataclass(frozen=True)
class TranscriptFile:
    filename: str
    media_type: str
    body: str


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _line(m: Message) -> str:
    who = "" if m.sender_kind is SenderKind.SYSTEM else f"{m.sender_name}: "
    return f"[{_when(m.created_at)}] {who}{m.text}"


def as_text(title: str, started: str, subject_time: datetime, messages: Sequence[Message]) -> str:
    lines = [title, f"{started}: {_when(subject_time)}", ""]
    lines += [_line(m) for m in messages]
    return "\n".join(lines) + "\n"


STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2937}h1{font-size:1.3rem}ol{list-style:none;padding:0}li{margin:.6rem 0}"
    ".meta{color:#6b7280;font-size:.8rem}.system{color:#6b7280;font-style:italic}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}"
)


def as_html(
    title: str, started: str, subject_time: datetime, messages: Sequence[Message], language: str
) -> str:
    items = []
    for m in messages:
        css = "system" if m.sender_kind is SenderKind.SYSTEM else m.sender_kind.value
        who = "" if m.sender_kind is SenderKind.SYSTEM else f"{html.escape(m.sender_name)} · "
        items.append(
            f'<li class="{css}"><div class="meta">{who}{_when(m.created_at)}</div>'
            f'<p class="text">{html.escape(m.text)}</p></li>'
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
) -> TranscriptFile:
    stem = f"chat-transcript-{created_at.strftime('%Y%m%d')}-{conversation_id[-8:]}"
    if fmt == "html":
        body = as_html(title, started, created_at, messages, language)
        return TranscriptFile(f"{stem}.html", "text/html; charset=utf-8", body)
    return TranscriptFile(
        f"{stem}.txt", "text/plain; charset=utf-8", as_text(title, started, created_at, messages)
    )
