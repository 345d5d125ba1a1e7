"""Masking sensitive data in what customers type, before it is stored. Pure.

Card numbers are found as 13 to 19 digits, optionally grouped by single spaces or hyphens, and
masked only when they pass the Luhn check (so order numbers and phone numbers stay readable). All
but the last four digits become ``*``; separators stay, so the agent still sees the shape.
Custom patterns (admin-configured regular expressions) then replace whole matches with a fixed
text: replacements are literal, never back-references, so a pattern cannot copy what it masks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Starts and ends on a digit, no letters or digits glued on either side (so "A4111…" is an id).
_CARD_CANDIDATE = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
KEEP_LAST = 4


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) checksum that every payment card number satisfies."""
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = re.sub(r"\D", "", found)
    if not luhn_valid(digits):
        return found
    to_hide = len(digits) - KEEP_LAST
    out = []
    for char in found:
        if char.isdigit() and to_hide > 0:
            out.append("*")
            to_hide -= 1
        else:
            out.append(char)
    return "".join(out)


def mask_card_numbers(text: str) -> str:
    return _CARD_CANDIDATE.sub(_mask_card, text)


@dataclass(frozen=True)
class Redaction:
    pattern: re.Pattern[str]
    replacement: str

    def literal(self, _match: re.Match[str]) -> str:
        """A function replacement, so ``\\1`` or ``\\g<0>`` in it are not back-references."""
        return self.replacement


@dataclass(frozen=True)
class MaskingRules:
    card_numbers: bool = True
    redactions: tuple[Redaction, ...] = ()

    @classmethod
    def of(cls, card_numbers: bool, patterns: Sequence[tuple[str, str]]) -> MaskingRules:
        return cls(card_numbers, tuple(Redaction(re.compile(p), r) for p, r in patterns))

    def apply(self, text: str) -> str:
        masked = mask_card_numbers(text) if self.card_numbers else text
        for redaction in self.redactions:
            masked = redaction.pattern.sub(redaction.literal, masked)
        return masked
