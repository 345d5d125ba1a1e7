"""Entity extraction: the value a slot asked for, read from what the customer typed. Pure.

Every extractor returns the value or None ("not understood": the slot re-prompts). English and
Spanish are read by all of them; dates are relative to ``today``, which the caller passes in (the
runtime takes it from the injected clock).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from omniroute.bots.flows.model import (
    ChoiceEntity,
    DateEntity,
    EmailEntity,
    Entity,
    NumberEntity,
    PhoneEntity,
    RegexEntity,
)
from omniroute.bots.understanding.lexical import words

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,20}\d(?!\w)")
_NUMBER = re.compile(r"(?<![\w.,])[-+]?\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d+)?(?![\w])|[-+]?\d+(?:[.,]\d+)?")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20,
    "cero": 0, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "veinte": 20,
}  # fmt: skip

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}  # fmt: skip

WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6,
}  # fmt: skip

#: Relative days, folded. "manana" alone is "tomorrow"; "por la manana" is "in the morning".
RELATIVE_DAYS = {
    "today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1, "hoy": 0, "ayer": -1, "manana": 1,
    "anteayer": -2,
}  # fmt: skip
_LAST = re.compile(r"\b(?:last|pasado|pasada)\b")


def extract(entity: Entity, text: str, *, language: str, today: date) -> Any:
    """The value ``entity`` finds in ``text``, or None."""
    match entity:
        case RegexEntity():
            return _regex(entity, text)
        case ChoiceEntity():
            return _choice(entity, text)
        case NumberEntity():
            return _number(entity, text)
        case DateEntity():
            day_first = entity.day_first if entity.day_first is not None else language != "en"
            found = parse_date(text, today=today, day_first=day_first)
            return found.isoformat() if found else None
        case EmailEntity():
            email = _EMAIL.search(text)
            return email.group(0).lower() if email else None
        case PhoneEntity():
            return _phone(text)
    msg = f"unknown entity {entity!r}"
    raise TypeError(msg)


def _regex(entity: RegexEntity, text: str) -> str | None:
    flags = 0 if entity.case_sensitive else re.IGNORECASE
    found = re.search(entity.pattern, text, flags)
    if found is None:
        return None
    if entity.group is not None:
        try:
            value = found.group(entity.group)
        except IndexError:  # no such group (numbered or named)
            return None
    else:
        value = found.group(1) if found.re.groups else found.group(0)
    return value.strip() if value else None


def _choice(entity: ChoiceEntity, text: str) -> str | None:
    said = words(text)
    if not said:
        return None
    if len(said) == 1 and said[0].isdigit() and 1 <= int(said[0]) <= len(entity.choices):
        return entity.choices[int(said[0]) - 1].value  # "2": the second option offered
    spans: list[tuple[int, int, str]] = []  # (first word, last word + 1, value)
    for choice in entity.choices:
        for label in (choice.value, *choice.synonyms):
            label_words = words(label)
            n = len(label_words)
            spans += [
                (i, i + n, choice.value)
                for i in range(len(said) - n + 1)
                if n and said[i : i + n] == label_words
            ]
    # A match inside a longer one ("card" in "credit card") is not a second answer.
    outer = [a for a in spans if not any(b != a and b[0] <= a[0] and a[1] <= b[1] for b in spans)]
    values = {value for _, _, value in outer}
    return values.pop() if len(values) == 1 else None


def _to_float(raw: str) -> float | None:
    cleaned = raw.replace(" ", "")
    if "," in cleaned and "." in cleaned:
        # The later separator is the decimal one: 1,234.50 or 1.234,50.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        cleaned = cleaned.replace(",", "") if len(tail) == 3 and head else cleaned.replace(",", ".")
    elif cleaned.count(".") > 1 or (cleaned.count(".") == 1 and len(cleaned.rpartition(".")[2]) == 3):
        # 1.234 is a thousand-separated integer in Spanish; an English writer would say 1.234 rarely.
        cleaned = cleaned.replace(".", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _number(entity: NumberEntity, text: str) -> float | int | None:
    value: float | None = None
    found = _NUMBER.search(text)
    if found is not None:
        value = _to_float(found.group(0))
    else:
        for word in words(text):
            if word in NUMBER_WORDS:
                value = float(NUMBER_WORDS[word])
                break
    if value is None:
        return None
    if entity.integer and value != int(value):
        return None
    if (entity.minimum is not None and value < entity.minimum) or (
        entity.maximum is not None and value > entity.maximum
    ):
        return None
    return int(value) if value == int(value) else value


def _phone(text: str) -> str | None:
    for found in _PHONE.finditer(text):
        raw = found.group(0)
        digits = re.sub(r"\D", "", raw)
        if 7 <= len(digits) <= 15:
            return ("+" if raw.lstrip().startswith("+") else "") + digits
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(raw: str | None, today: date) -> int:
    if not raw:
        return today.year
    value = int(raw)
    return value + 2000 if value < 100 else value


def parse_date(text: str, *, today: date, day_first: bool) -> date | None:
    """ISO, numeric (day or month first), "5 March"/"5 de marzo"/"March 5", relative words, weekdays."""
    iso = _ISO_DATE.search(text)
    if iso:
        return _safe_date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    numeric = _NUMERIC_DATE.search(text)
    if numeric:
        a, b = int(numeric.group(1)), int(numeric.group(2))
        day, month = (a, b) if day_first else (b, a)
        return _safe_date(_year(numeric.group(3), today), month, day)
    tokens = words(text)
    return _named_month(tokens, today) or _relative(tokens, today)


def _named_month(tokens: list[str], today: date) -> date | None:
    for i, token in enumerate(tokens):
        if token not in MONTHS:
            continue
        before = tokens[i - 1] if i > 0 else ""
        before2 = tokens[i - 2] if i > 1 else ""
        after = tokens[i + 1].rstrip("stndrh") if i + 1 < len(tokens) else ""  # "March 5th"
        if before.isdigit():
            day = before
        elif before == "de" and before2.isdigit():
            day = before2  # "5 de marzo"
        elif after.isdigit():
            day = after
        else:
            continue
        year = next((t for t in tokens[i + 1 : i + 4] if len(t) == 4 and t.isdigit()), None)
        return _safe_date(_year(year, today), MONTHS[token], int(day))
    return None


def _relative(tokens: list[str], today: date) -> date | None:
    folded = " ".join(tokens)
    if "pasado manana" in folded or "day after tomorrow" in folded:
        return today + timedelta(days=2)
    for i, word in enumerate(tokens):
        if word in RELATIVE_DAYS:
            if word == "manana" and i > 0 and tokens[i - 1] in ("la", "esta"):
                continue  # "por la mañana", "esta mañana": the morning, not tomorrow
            return today + timedelta(days=RELATIVE_DAYS[word])
    for word in tokens:
        if word in WEEKDAYS:
            delta = WEEKDAYS[word] - today.weekday()
            if _LAST.search(folded):
                return today + timedelta(days=delta - 7 if delta >= 0 else delta)
            return today + timedelta(days=delta if delta > 0 else delta + 7)
    return None
