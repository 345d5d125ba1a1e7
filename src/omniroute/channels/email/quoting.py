"""Strip the quoted history a reply drags along, so the transcript shows what the customer wrote.

The agent already has the earlier messages in the conversation; repeating them in every reply only
buries the new text. Recognised: the attribution line of common clients ("On … wrote:", in English,
Spanish, French, German and Portuguese, also when the client wrapped it over two lines), Outlook's
"-----Original Message-----" and "From: / Sent:" header blocks, and ``>``-quoted lines. Forwarded
messages are kept: there the quoted part is the point. When stripping would leave nothing, the whole
text is kept — losing a customer's words is worse than showing a quote twice.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^(?:"
    r"On\s.{1,300}\swrote:"  # Gmail, Apple Mail, Thunderbird
    r"|El\s.{1,300}\sescribi[oó]:"
    r"|Le\s.{1,300}\sa\s[ée]crit\s?:"
    r"|Am\s.{1,300}\sschrieb\s.{0,200}:"
    r"|Em\s.{1,300}\sescreveu:"
    r")\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:Original Message|Mensaje original|Message d'origine|Ursprüngliche Nachricht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^_{10,}\s*$")  # Outlook's line above its quoted header block
_HEADER_FIELD = re.compile(
    r"^\*?(?:From|De|Von|Sent|Enviado|Envoyé|Gesendet|Date|Fecha|To|Para|À|An|Subject|Asunto|Objet|Betreff|Cc)\s?:",
    re.IGNORECASE,
)
_FROM_FIELD = re.compile(r"^\*?(?:From|De|Von)\s?:", re.IGNORECASE)


def strip_quoted(text: str) -> str:
    lines = text.splitlines()
    cut = _quote_start(lines)
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    stripped = "\n".join(kept).strip()
    return stripped or text.strip()


def _quote_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        current = line.strip()
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        # Clients wrap a long attribution over two lines; a complete one on the next line is not that.
        wrapped = bool(following) and not _ATTRIBUTION.match(following)
        if (
            _ATTRIBUTION.match(current)
            or (wrapped and _ATTRIBUTION.match(f"{current} {following}"))
            or _ORIGINAL_MESSAGE.match(current)
        ):
            return i
        if _RULE.match(current) and _header_block_at(lines, i + 1):
            return i
        if _FROM_FIELD.match(current) and _header_block_at(lines, i):
            return i
    return len(lines)


def _header_block_at(lines: list[str], start: int) -> bool:
    """An Outlook-style quoted header: From: followed by at least two more header fields."""
    block = [line.strip() for line in lines[start : start + 5] if line.strip()]
    if not block or not _FROM_FIELD.match(block[0]):
        return False
    return sum(1 for line in block[1:] if _HEADER_FIELD.match(line)) >= 2
