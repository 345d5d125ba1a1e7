"""Slot values read from what customers type, in English and Spanish."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter

from omniroute.bots.flows.entities import extract, parse_date
from omniroute.bots.flows.model import Entity

TODAY = date(2026, 1, 5)  # a Monday
ENTITY: TypeAdapter[Any] = TypeAdapter(Entity)


def read(spec: dict[str, Any], text: str, language: str = "en") -> Any:
    return extract(ENTITY.validate_python(spec), text, language=language, today=TODAY)


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        ({"type": "regex", "pattern": r"(?<!\d)(\d{4})(?!\d)"}, "it ends in 4821 I think", "4821"),
        ({"type": "regex", "pattern": r"(?<!\d)(\d{4})(?!\d)"}, "no idea", None),
        ({"type": "regex", "pattern": r"ref-(?P<code>[a-z]+)", "group": "code"}, "REF-abc", "abc"),
        ({"type": "regex", "pattern": r"ref-(?P<code>[a-z]+)", "group": "other"}, "ref-abc", None),
        ({"type": "regex", "pattern": r"ABC", "case_sensitive": True}, "abc", None),
    ],
)
def test_regex(spec: dict[str, Any], text: str, expected: Any) -> None:
    assert read(spec, text) == expected


CARDS = {
    "type": "choice",
    "choices": [{"value": "debit", "synonyms": ["débito"]}, {"value": "credit", "synonyms": ["credit card"]}],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Debit", "debit"),
        ("mi tarjeta de DEBITO", "debit"),  # accents and case folded
        ("the credit card please", "credit"),
        ("2", "credit"),  # the second option offered
        ("debit or credit, not sure", None),  # ambiguous
        ("my card", None),
        ("creditworthy", None),  # whole words only
    ],
)
def test_choice(text: str, expected: str | None) -> None:
    assert read(CARDS, text) == expected


def test_a_match_inside_a_longer_one_is_not_ambiguous() -> None:
    spec = {
        "type": "choice",
        "choices": [
            {"value": "debit", "synonyms": ["card"]},
            {"value": "credit", "synonyms": ["credit card"]},
        ],
    }
    assert read(spec, "the credit card") == "credit"
    assert read(spec, "the card") == "debit"


def test_plain_string_choices() -> None:
    assert read({"type": "choice", "choices": ["yes", "no"]}, "no thanks") == "no"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'd like 250 please", 250),
        ("1,234.50", 1234.5),
        ("1.234,50", 1234.5),  # Spanish separators
        ("3,5", 3.5),
        ("cinco", 5),
        ("twelve", 12),
        ("none at all", None),
    ],
)
def test_number(text: str, expected: float | None) -> None:
    assert read({"type": "number"}, text) == expected


def test_number_bounds_and_integers() -> None:
    assert read({"type": "number", "minimum": 1, "maximum": 10}, "11") is None
    assert read({"type": "number", "integer": True}, "2.5") is None
    assert read({"type": "number", "integer": True}, "7") == 7


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("on 2026-03-14", "en", date(2026, 3, 14)),
        ("03/04", "en", date(2026, 3, 4)),  # month first in English
        ("03/04", "es", date(2026, 4, 3)),  # day first in Spanish
        ("5/6/27", "es", date(2027, 6, 5)),
        ("5 March", "en", date(2026, 3, 5)),
        ("March 5th 2027", "en", date(2027, 3, 5)),
        ("el 5 de marzo", "es", date(2026, 3, 5)),
        ("today", "en", TODAY),
        ("tomorrow", "en", date(2026, 1, 6)),
        ("yesterday", "en", date(2026, 1, 4)),
        ("ayer", "es", date(2026, 1, 4)),
        ("mañana", "es", date(2026, 1, 6)),
        ("pasado mañana", "es", date(2026, 1, 7)),
        ("el viernes", "es", date(2026, 1, 9)),
        ("last friday", "en", date(2026, 1, 2)),
        ("on monday", "en", date(2026, 1, 12)),  # the next Monday, not today
        ("31/02/2026", "es", None),
        ("sometime", "en", None),
    ],
)
def test_dates(text: str, language: str, expected: date | None) -> None:
    found = read({"type": "date"}, text, language)
    assert found == (expected.isoformat() if expected else None)


def test_morning_is_not_tomorrow() -> None:
    assert parse_date("esta mañana", today=TODAY, day_first=True) is None


def test_email_and_phone() -> None:
    assert read({"type": "email"}, "write to Ana.Garcia@Example.ES thanks") == "ana.garcia@example.es"
    assert read({"type": "email"}, "ana at example") is None
    assert read({"type": "phone"}, "call me on +34 612 345 678") == "+34612345678"
    assert read({"type": "phone"}, "(020) 7946-0000") == "02079460000"
    assert read({"type": "phone"}, "room 12") is None


def test_entity_shorthand_in_slots() -> None:
    from omniroute.bots.flows.model import EmailEntity, Slot

    slot = Slot.model_validate({"name": "mail", "entity": "email", "prompt": "Your email?"})
    assert isinstance(slot.entity, EmailEntity)
